//===- BatchNormSumsCuda.cu - The batch norm sums' launcher (nvcc) --------===//
//
// Compiled by nvcc into a CUDA runtime build (RTML_ENABLE_CUDA, or
// scripts/device-check.sh --prepare), and by the
// KernelsBatchNormSumsCudaCompiles test.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Kernels/BatchNormSums.cuh"

namespace rtml::kernels {

void batchNormSumsCuda(const BatchNormSumsArgs &a, void *stream) {
  launchBatchNormSumsCuda(a, stream);
}

} // namespace rtml::kernels
