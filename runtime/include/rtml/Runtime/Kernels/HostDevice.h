//===- HostDevice.h - Functions the CPU twins and CUDA kernels share ------===//
//
// RTML_HOST_DEVICE marks an element function that both the CPU twin
// (plain C++17) and the CUDA kernels (nvcc) call.
//
// RTML_KERNEL_CODE is defined where the CUDA kernels themselves are being
// compiled: by nvcc, or as host code under test/unit/Kernels/CudaEmulation
// (which defines it, and RTML_LAUNCH, before including any kernel), so that
// the suite runs every kernel on the CPU too.
//
// RTML_LAUNCH(GRID, BLOCK, STREAM, KERNEL)(ARGS...) launches KERNEL (a
// __global__ function, template arguments and all) as
// KERNEL<<<GRID, BLOCK, 0, STREAM>>>(ARGS...); every launch goes through
// it, so that the emulation can run it.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_HOSTDEVICE_H
#define RTML_RUNTIME_KERNELS_HOSTDEVICE_H

#if defined(__CUDACC__)
#define RTML_HOST_DEVICE __host__ __device__
#ifndef RTML_KERNEL_CODE
#define RTML_KERNEL_CODE 1
#endif
#else
#define RTML_HOST_DEVICE
#endif

#ifndef RTML_LAUNCH
#define RTML_LAUNCH(GRID, BLOCK, STREAM, ...)                                  \
  __VA_ARGS__<<<(GRID), (BLOCK), 0, (STREAM)>>>
#endif

#endif // RTML_RUNTIME_KERNELS_HOSTDEVICE_H
