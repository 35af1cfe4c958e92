//===- HostDevice.h - Functions the CPU twins and CUDA kernels share ------===//
//
// RTML_HOST_DEVICE marks an element function that both the CPU twin
// (plain C++17) and the CUDA kernels (nvcc) call.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_HOSTDEVICE_H
#define RTML_RUNTIME_KERNELS_HOSTDEVICE_H

#if defined(__CUDACC__)
#define RTML_HOST_DEVICE __host__ __device__
#else
#define RTML_HOST_DEVICE
#endif

#endif // RTML_RUNTIME_KERNELS_HOSTDEVICE_H
