// Compile-only stand-in for CUDA LibTorch's c10/cuda/CUDAStream.h, so that
// the development machine (CPU-only LibTorch) type-checks the RTML_WITH_CUDA
// code of rtml/Runtime/Kernels/*Op.h, DeviceKernelsCheck.cpp and the runtime.
// Declares only what they use; nothing built with it is ever linked.
#pragma once
#include <c10/core/Device.h>
#include <c10/core/Stream.h>

struct CUstream_st;
using cudaStream_t = CUstream_st *;

namespace c10::cuda {
class CUDAStream {
public:
  cudaStream_t stream() const;
  c10::DeviceIndex device_index() const;
  void synchronize() const;
  bool operator==(const CUDAStream &other) const noexcept;
  bool operator!=(const CUDAStream &other) const noexcept;
  operator c10::Stream() const;
};
CUDAStream getCurrentCUDAStream(c10::DeviceIndex device_index = -1);
CUDAStream getStreamFromPool(const bool isHighPriority = false,
                             c10::DeviceIndex device = -1);
void setCurrentCUDAStream(CUDAStream stream);
} // namespace c10::cuda
