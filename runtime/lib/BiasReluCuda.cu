//===- BiasReluCuda.cu - The bias + ReLU epilogue's launchers (nvcc) ------===//
//
// Compiled by nvcc into a CUDA runtime build (RTML_ENABLE_CUDA, or
// scripts/device-check.sh --prepare), and by the KernelsBiasReluCudaCompiles
// test.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Kernels/BiasRelu.cuh"

namespace rtml::kernels {

void biasReluCuda(const BiasReluArgs &a, void *stream) {
  launchBiasReluCuda(a, stream);
}

void biasReluBackwardCuda(const BiasReluBackwardArgs &a, void *stream) {
  launchBiasReluBackwardCuda(a, stream);
}

} // namespace rtml::kernels
