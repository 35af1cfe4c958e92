//===- Sgd.cuh - The multi-tensor SGD kernel ------------------------------===//
//
// Included by runtime/lib/SgdCuda.cu (nvcc, no torch header), which defines
// the launcher declared in Sgd.h. One launch updates every tensor of a list:
// each thread strides over the list's elements as one range and finds its
// tensor by binary search in the offsets (a few compares against the
// kernel's parameters, which sit in constant memory), so small tensors
// (biases) cost no launch of their own. The arithmetic is sgdElement's, the
// CPU pass's: bit for bit torch.optim.SGD's.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_SGD_CUH
#define RTML_RUNTIME_KERNELS_SGD_CUH

#include "rtml/Runtime/Kernels/Sgd.h"

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace rtml::kernels {
namespace cuda_detail {

constexpr int kSgdThreads = 256;
/// Enough blocks to fill an H200 (132 SMs) several times over; the grid
/// stride covers the rest.
constexpr int64_t kSgdMaxBlocks = 132 * 8;

/// nvcc contracts a * b + c into an FMA unless told not to: these never do.
struct DeviceArith {
  __device__ static float fma(float a, float b, float c) {
    return __fmaf_rn(a, b, c);
  }
  __device__ static float mul(float a, float b) { return __fmul_rn(a, b); }
  __device__ static float add(float a, float b) { return __fadd_rn(a, b); }
};

/// The tensor of LIST that holds element I (I < offsets[count]).
__device__ __forceinline__ int sgdTensorOf(const SgdTensorList &list,
                                           int64_t i) {
  int lo = 0, hi = list.count - 1;
  while (lo < hi) {
    int mid = (lo + hi + 1) / 2;
    if (list.offsets[mid] <= i)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

__global__ void sgdMultiTensorKernel(const SgdTensorList list, SgdConstants c,
                                     const float *__restrict__ learningRate) {
  const float lr = *learningRate;
  const int64_t total = list.offsets[list.count];
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += stride) {
    int t = sgdTensorOf(list, i);
    int64_t j = i - list.offsets[t];
    bool init = (list.initBuffers >> t) & 1;
    float *buffer = list.buffers[t];
    float old = buffer && !init ? buffer[j] : 0.0f;
    const float *grad = list.grads[t];
    float g = grad ? grad[j] : kernelLoad(list.bf16Grads[t][j]);
    SgdElement e =
        sgdElement<DeviceArith>(list.params[t][j], g, old, init, c, lr);
    list.params[t][j] = e.param;
    if (buffer)
      buffer[j] = e.buffer;
    if (Bf16 *copy = list.copies[t])
      copy[j] = kernelStore<Bf16>(e.param);
  }
}

} // namespace cuda_detail

/// The body of sgdMultiTensorCuda (see Sgd.h).
inline void launchSgdMultiTensorCuda(const SgdTensorList &list,
                                     const SgdConstants &c,
                                     const float *learningRate, void *stream) {
  using namespace cuda_detail;
  int64_t total = list.count > 0 ? list.offsets[list.count] : 0;
  if (total == 0)
    return;
  int64_t blocks = (total + kSgdThreads - 1) / kSgdThreads;
  if (blocks > kSgdMaxBlocks)
    blocks = kSgdMaxBlocks;
  RTML_LAUNCH(unsigned(blocks), kSgdThreads, static_cast<cudaStream_t>(stream),
              sgdMultiTensorKernel)
  (list, c, learningRate);
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    throw std::runtime_error(std::string("rtml SGD: kernel launch failed: ") +
                             cudaGetErrorString(err));
}

} // namespace rtml::kernels

#endif // RTML_RUNTIME_KERNELS_SGD_CUH
