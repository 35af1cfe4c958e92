//===- BatchNormGradCuda.cu - The batch norm gradient sums' launcher ------===//
//
// Compiled by nvcc into a CUDA runtime build (RTML_ENABLE_CUDA, or
// scripts/device-check.sh --prepare), and by the
// KernelsBatchNormGradCudaCompiles test.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Kernels/BatchNormGrad.cuh"

namespace rtml::kernels {

void batchNormGradCuda(const BatchNormGradArgs &a, void *stream) {
  launchBatchNormGradCuda(a, stream);
}

} // namespace rtml::kernels
