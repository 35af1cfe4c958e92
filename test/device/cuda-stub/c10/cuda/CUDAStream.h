// Compile-only stand-in for CUDA LibTorch's c10/cuda/CUDAStream.h, so that
// the development machine (CPU-only LibTorch) type-checks the RTML_WITH_CUDA
// code of rtml/Runtime/Kernels/*Op.h and DeviceKernelsCheck.cpp. Declares
// only what they use; nothing built with it is ever linked.
#pragma once
#include <c10/core/Device.h>

struct CUstream_st;
using cudaStream_t = CUstream_st *;

namespace c10::cuda {
class CUDAStream {
public:
  cudaStream_t stream() const;
  void synchronize() const;
};
CUDAStream getCurrentCUDAStream(c10::DeviceIndex device_index = -1);
CUDAStream getStreamFromPool(const bool isHighPriority = false,
                             c10::DeviceIndex device = -1);
} // namespace c10::cuda
