//===- DeviceKernelsConfigs.h - Kernel configs of the GPU kernel check ----===//
//
// Shared by DeviceKernelsCheck.cpp (g++, torch) and DeviceKernelsCheck.cu
// (nvcc, no torch), as a model's kernels.h is by its kernels.cpp and .cu.
// RTML_DEVICE_LRN_CONFIGS(X) and RTML_DEVICE_CONCAT_RELU_CONFIGS(X) apply X
// to every config, so that the .cu instantiates exactly the configs the .cpp
// checks.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_TEST_DEVICE_DEVICEKERNELSCONFIGS_H
#define RTML_TEST_DEVICE_DEVICEKERNELSCONFIGS_H

#include "rtml/Runtime/Kernels/ConcatRelu.h"
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

// Fused concat configs, written as the emitter writes them into kernels.h:
// plain ReLUs with odd channel counts (one input of a single channel) and
// GoogLeNet's inception 3a concat; batch norm + ReLU inputs mixed with plain
// ReLUs (momentum 0 and 1 included), all batch norms, and biases.
struct ConcatOdd {
  static constexpr int kInputs = 4;
  static constexpr int64_t kChannels[kInputs] = {3, 1, 13, 7};
  static constexpr int64_t kTotalChannels = 24;
};
struct ConcatInception3a {
  static constexpr int kInputs = 4;
  static constexpr int64_t kChannels[kInputs] = {64, 128, 32, 32};
  static constexpr int64_t kTotalChannels = 256;
};
struct ConcatBnMixed {
  static constexpr int kInputs = 5;
  static constexpr int64_t kChannels[kInputs] = {7, 1, 9, 2, 5};
  static constexpr int64_t kTotalChannels = 24;
  static constexpr bool kBatchNorm[kInputs] = {false, true, true, false, true};
  static constexpr double kEps[kInputs] = {0, 1e-5, 1e-3, 0, 1e-2};
  static constexpr double kMomentum[kInputs] = {0, 1.0, 0.1, 0, 0.0};
};
struct ConcatBnAll {
  static constexpr int kInputs = 2;
  static constexpr int64_t kChannels[kInputs] = {32, 5};
  static constexpr int64_t kTotalChannels = 37;
  static constexpr bool kBatchNorm[kInputs] = {true, true};
  static constexpr double kEps[kInputs] = {1e-5, 1e-3};
  static constexpr double kMomentum[kInputs] = {0.1, 0.3};
};

// Convolution biases on plain ReLU inputs (rtml-bias-epilogue), next to a
// batch norm and a ReLU without one, with channel counts that are multiples
// of 4 (float4 in NHWC) and not.
struct ConcatBiasMixed {
  static constexpr int kInputs = 4;
  static constexpr int64_t kChannels[kInputs] = {8, 3, 5, 4};
  static constexpr int64_t kTotalChannels = 20;
  static constexpr bool kBatchNorm[kInputs] = {false, false, true, false};
  static constexpr double kEps[kInputs] = {0, 0, 1e-3, 0};
  static constexpr double kMomentum[kInputs] = {0, 0, 0.1, 0};
  static constexpr bool kBias[kInputs] = {true, true, false, false};
};

#define RTML_DEVICE_CONCAT_RELU_CONFIGS(X)                                     \
  X(ConcatOdd)                                                                 \
  X(ConcatInception3a)                                                         \
  X(ConcatBnMixed)                                                             \
  X(ConcatBnAll)                                                               \
  X(ConcatBiasMixed)

#endif // RTML_TEST_DEVICE_DEVICEKERNELSCONFIGS_H
