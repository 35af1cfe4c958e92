//===- DeviceKernelsConfigs.h - Kernel configs of the GPU kernel check ----===//
//
// Shared by DeviceKernelsCheck.cpp (g++, torch) and DeviceKernelsCheck.cu
// (nvcc, no torch), as a model's kernels.h is by its kernels.cpp and .cu.
// RTML_DEVICE_LRN_CONFIGS(X) applies X to every config, so that the .cu
// instantiates exactly the configs the .cpp checks.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_TEST_DEVICE_DEVICEKERNELSCONFIGS_H
#define RTML_TEST_DEVICE_DEVICEKERNELSCONFIGS_H

#include "rtml/Runtime/Kernels/Lrn.h"

// The seed's constants (AlexNet, GoogLeNet), then large alphas where the
// window term dominates, each special-cased beta, the generic pow, even
// windows and a window wider than most channel counts.
RTML_LRN_CONFIG(SeedRelu, 5, 1.0e-4f, 0.75f, 2.0f, true)
RTML_LRN_CONFIG(Seed, 5, 1.0e-4f, 0.75f, 2.0f, false)
RTML_LRN_CONFIG(Size1Relu, 1, 0.5f, 0.5f, 1.0f, true)
RTML_LRN_CONFIG(Size2, 2, 0.3f, 1.0f, 1.0f, false)
RTML_LRN_CONFIG(Size4Relu, 4, 0.7f, 0.6f, 1.0f, true)
RTML_LRN_CONFIG(Size5Relu, 5, 2.0f, 0.75f, 1.0f, true)
RTML_LRN_CONFIG(Size7Relu, 7, 0.8f, 0.75f, 2.0f, true)
RTML_LRN_CONFIG(Size11, 11, 0.9f, 0.7f, 1.0f, false)

#define RTML_DEVICE_LRN_CONFIGS(X)                                           \
  X(SeedRelu)                                                                \
  X(Seed)                                                                    \
  X(Size1Relu)                                                               \
  X(Size2)                                                                   \
  X(Size4Relu)                                                               \
  X(Size5Relu)                                                               \
  X(Size7Relu)                                                               \
  X(Size11)

#endif // RTML_TEST_DEVICE_DEVICEKERNELSCONFIGS_H
