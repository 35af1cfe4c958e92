//===- PreprocessCuda.cu - The fused preprocessing launcher (nvcc) --------===//
//
// Compiled by nvcc into a CUDA runtime build (RTML_ENABLE_CUDA, or
// scripts/device-check.sh --prepare), and by the
// KernelsPreprocessCudaCompiles test.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Kernels/Preprocess.cuh"

namespace rtml::kernels {

void preprocessCuda(const PreprocessArgs &a, void *stream) {
  launchPreprocessCuda(a, stream);
}

} // namespace rtml::kernels
