//===- ConcatReluCuda.cu - The concat+ReLU CUDA kernels compile -----------===//
//
// Compiled by nvcc in the test suite (KernelsConcatReluCudaCompiles), as a
// model's kernels.cu is: no torch header, configs in the emitter's form.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Kernels/ConcatRelu.cuh"

// GoogLeNet's inception 3a, one input, and odd channel counts.
struct Inception3a {
  static constexpr int kInputs = 4;
  static constexpr int64_t kChannels[kInputs] = {64, 128, 32, 32};
  static constexpr int64_t kTotalChannels = 256;
};
struct Single {
  static constexpr int kInputs = 1;
  static constexpr int64_t kChannels[kInputs] = {7};
  static constexpr int64_t kTotalChannels = 7;
};
struct Odd5 {
  static constexpr int kInputs = 5;
  static constexpr int64_t kChannels[kInputs] = {3, 1, 5, 13, 2};
  static constexpr int64_t kTotalChannels = 24;
};

// googlenet_bn's inception: batch norm epilogues, mixed with a plain ReLU.
struct MixedBatchNorm {
  static constexpr int kInputs = 3;
  static constexpr int64_t kChannels[kInputs] = {64, 3, 32};
  static constexpr int64_t kTotalChannels = 99;
  static constexpr bool kBatchNorm[kInputs] = {true, false, true};
  static constexpr double kEps[kInputs] = {0.001, 0, 0.001};
  static constexpr double kMomentum[kInputs] = {0.1, 0, 0.1};
};

RTML_INSTANTIATE_CONCAT_RELU_CUDA(Inception3a)
RTML_INSTANTIATE_CONCAT_RELU_CUDA(Single)
RTML_INSTANTIATE_CONCAT_RELU_CUDA(Odd5)
RTML_INSTANTIATE_CONCAT_RELU_CUDA(MixedBatchNorm)
