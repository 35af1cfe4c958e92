//===- SgdCuda.cu - The runtime's multi-tensor SGD launcher (nvcc) --------===//
//
// Compiled by nvcc into a CUDA runtime build (RTML_ENABLE_CUDA, or
// scripts/device-check.sh --prepare), and by the KernelsSgdCudaCompiles test.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Kernels/Sgd.cuh"

namespace rtml::kernels {

void sgdMultiTensorCuda(const SgdTensorList &list, const SgdConstants &c,
                        const float *learningRate, void *stream) {
  launchSgdMultiTensorCuda(list, c, learningRate, stream);
}

} // namespace rtml::kernels
