// Compile-only stand-in for CUDA LibTorch's c10/cuda/CUDAGuard.h (see
// CUDAStream.h here).
#pragma once
#include <c10/core/Device.h>
#include <c10/cuda/CUDAStream.h>

namespace c10::cuda {
struct CUDAGuard {
  explicit CUDAGuard(c10::Device device);
  explicit CUDAGuard(c10::DeviceIndex device_index);
  ~CUDAGuard();
};
struct CUDAStreamGuard {
  explicit CUDAStreamGuard(CUDAStream stream);
  ~CUDAStreamGuard();
};
} // namespace c10::cuda
