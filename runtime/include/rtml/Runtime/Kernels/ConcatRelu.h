//===- ConcatRelu.h - Channel concat of ReLUs, without the concat copy ----===//
//
// The kernel half of the inception concat elimination (--rtml-fuse-concat):
// concat(relu(a), relu(b), ...) along the channels, each ReLU with no other
// user, becomes one op specialized per model by a config struct the emitter
// writes into the model's kernels.h:
//
//   struct ConcatReluConfig_0 {
//     static constexpr int kInputs = 3;
//     static constexpr int64_t kChannels[kInputs] = {64, 128, 32};
//     static constexpr int64_t kTotalChannels = 224;
//   };
//
// Input i is [N, C_i, spatial...] (the same N and spatial sizes for all);
// the output is [N, sum C_i, spatial...] with, for off_i = C_0 + ... + C_i-1,
//
//   y[:, off_i : off_i + C_i] = relu(x_i)       (written straight into the
//                                                slice: no concat copy)
//   dL/dx_i = dL/dy[:, off_i : off_i + C_i], zeroed where y <= 0
//                                               (read straight from the
//                                                slice: no split copy)
//
// The mask comes from the saved output (PyTorch's threshold_backward tests
// relu(x) > 0, which is the same set), so the backward needs no input.
//
// An input may instead go through a batch norm before its ReLU (the config
// then also has kBatchNorm, kEps and kMomentum, one entry per input; a
// config without them is all plain ReLUs):
//
//   y[:, off_i : off_i + C_i] = relu((x_i - mean) * gamma * invstd + beta)
//
// per channel, with the batch's statistics in training and the running ones
// in evaluation (ConcatReluOp.h computes them, and the per-channel sums of
// the backward, with ATen reductions). The backward first splits and masks
// the gradient as above (dz), then turns dz into the batch norm's input
// gradient in place, in a second pass per such input:
//
//   dx = gamma * invstd * (dz - mean(dz) - xhat * mean(dz * xhat))
//
// (the means over the batch and spatial positions of each channel; both are
// 0 in evaluation, where the statistics are constants).
//
// In both directions, for one image, channels [l, C_i) of input i and
// channels [off_i + l, off_i + C_i) of the output are each one contiguous
// block of floats (hw = product of the spatial sizes per channel): the CPU
// twin walks such blocks as flat vector loops, whatever hw is (1x1 included).
//
// This header is torch-free: it is compiled as plain C++17 (the CPU twin,
// through ConcatReluOp.h) and by nvcc (through ConcatRelu.cuh). Both call the
// same element functions below. A plain ReLU is exact (a select, no
// arithmetic), so the CPU twin and the CUDA kernels agree bit for bit there;
// a batch norm's arithmetic may round differently (nvcc contracts to FMAs).
//
// A plain ReLU input may also add its convolution's bias first (the config
// then has kBias, one entry per input; --rtml-bias-epilogue decides where,
// and the op passes the bias only on the kinds of device where the
// convolution left it out):
//
//   y[:, off_i : off_i + C_i] = relu(x_i + bias_i[c])
//
// The backward's mask is the output's, as above; the bias's gradient is
// the sum of dL/dx_i over the batch and positions (ConcatReluOp.h).
//
// Each kernel has a float and a bf16 variant (Elem = float or Bf16): the
// bf16 one reads and writes the inputs, the output and their gradients in
// bf16 and computes in float (the batch norm's constants and statistics are
// float, computed from the input in float by ConcatReluOp.h); a plain ReLU
// stays exact.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_CONCATRELU_H
#define RTML_RUNTIME_KERNELS_CONCATRELU_H

#include "rtml/Runtime/Kernels/Bf16.h"
#include "rtml/Runtime/Kernels/CpuLanes.h"

#include <cstdint>
#include <type_traits>

namespace rtml::kernels {

//===----------------------------------------------------------------------===//
// Element functions, shared by the CPU twin and the CUDA kernels
//===----------------------------------------------------------------------===//

// Templates over V, a float (the CUDA kernels, the CPU twin's scalar tail)
// or CpuLanes.h's F4 (the CPU twin's lanes). The plain ReLU is CpuLanes.h's
// reluOf (NaN stays NaN, as at::relu); its gradient from the output Y is
// zeroWhereNonPositive(y, grad) (threshold_backward(grad, y, 0)).

/// relu(batch_norm(x)) of one element of a channel with MEAN, SCALE (gamma *
/// invstd) and BETA.
template <class V>
RTML_HOST_DEVICE inline V concatBnReluActivate(V x, V mean, V scale, V beta) {
  return reluOf((x - mean) * scale + beta);
}

/// relu(x + BIAS), a plain ReLU input's element with its channel's
/// convolution bias.
template <class V>
RTML_HOST_DEVICE inline V concatBiasReluActivate(V x, V bias) {
  return reluOf(x + bias);
}

/// The batch norm's input gradient of one element from DZ, its gradient
/// after the ReLU mask: SCALE * (dz - MEANDZ - (x - MEAN) * XHATCOEF), with
/// MEANDZ = mean(dz) and XHATCOEF = invstd * mean(dz * xhat) over the
/// channel (both 0 in evaluation).
template <class V>
RTML_HOST_DEVICE inline V concatBnReluInputGrad(V dz, V x, V mean, V scale,
                                                V meanDz, V xhatCoef) {
  return scale * (dz - meanDz - (x - mean) * xhatCoef);
}

//===----------------------------------------------------------------------===//
// Compile-time layout of a config
//===----------------------------------------------------------------------===//

/// The channel layout of a config as plain values: an aggregate that device
/// code can take by value (reading Config::kChannels, a static constexpr
/// array, from a kernel would need its definition in device memory).
template <int kInputs> struct ConcatReluLayout {
  int64_t channels[kInputs];
  int64_t offsets[kInputs]; // first output channel of each input
};

/// Each input's per-channel constants for the forward: a batch norm's
/// (null for an input with a plain ReLU), or a plain ReLU input's
/// convolution bias (null: none).
template <int kInputs> struct ConcatReluNorms {
  const float *mean[kInputs];
  const float *scale[kInputs]; // gamma * invstd
  const float *beta[kInputs];
  const float *bias[kInputs];
};

namespace detail {
/// A config's epilogues: all plain ReLUs unless it has kBatchNorm.
template <class Config, class = void> struct ConcatReluEpilogues {
  static constexpr bool batchNorm(int) { return false; }
  static constexpr double eps(int) { return 0.0; }
  static constexpr double momentum(int) { return 0.0; }
};
template <class Config>
struct ConcatReluEpilogues<Config, std::void_t<decltype(Config::kBatchNorm)>> {
  static constexpr bool batchNorm(int i) { return Config::kBatchNorm[i]; }
  static constexpr double eps(int i) { return Config::kEps[i]; }
  static constexpr double momentum(int i) { return Config::kMomentum[i]; }
};
/// Which inputs may add a convolution bias: none unless it has kBias.
template <class Config, class = void> struct ConcatReluBiases {
  static constexpr bool bias(int) { return false; }
};
template <class Config>
struct ConcatReluBiases<Config, std::void_t<decltype(Config::kBias)>> {
  static constexpr bool bias(int i) { return Config::kBias[i]; }
};
} // namespace detail

template <class Config> struct ConcatReluTraits {
  static_assert(Config::kInputs >= 1, "concat of ReLUs needs an input");
  static constexpr int kInputs = Config::kInputs;

  static constexpr ConcatReluLayout<kInputs> layout() {
    ConcatReluLayout<kInputs> l{};
    int64_t offset = 0;
    for (int i = 0; i < kInputs; ++i) {
      l.channels[i] = Config::kChannels[i];
      l.offsets[i] = offset;
      offset += Config::kChannels[i];
    }
    return l;
  }

  static constexpr int64_t sumChannels() {
    int64_t sum = 0;
    for (int i = 0; i < kInputs; ++i)
      sum += Config::kChannels[i];
    return sum;
  }

  static constexpr bool channelsPositive() {
    for (int i = 0; i < kInputs; ++i)
      if (Config::kChannels[i] <= 0)
        return false;
    return true;
  }

  using Epilogues = detail::ConcatReluEpilogues<Config>;
  static constexpr bool batchNorm(int i) { return Epilogues::batchNorm(i); }
  static constexpr double eps(int i) { return Epilogues::eps(i); }
  static constexpr double momentum(int i) { return Epilogues::momentum(i); }

  static constexpr int countBatchNorms() {
    int count = 0;
    for (int i = 0; i < kInputs; ++i)
      count += batchNorm(i) ? 1 : 0;
    return count;
  }
  /// Inputs with a batch norm epilogue.
  static constexpr int kBatchNorms = countBatchNorms();

  static constexpr bool bias(int i) {
    return detail::ConcatReluBiases<Config>::bias(i);
  }
  static constexpr int countBiases() {
    int count = 0;
    for (int i = 0; i < kInputs; ++i)
      count += bias(i) ? 1 : 0;
    return count;
  }
  /// Inputs that may add a convolution bias before their ReLU.
  static constexpr int kBiases = countBiases();
  static constexpr bool biasesOnPlainRelus() {
    for (int i = 0; i < kInputs; ++i)
      if (bias(i) && batchNorm(i))
        return false;
    return true;
  }

  static constexpr bool constantsValid() {
    for (int i = 0; i < kInputs; ++i)
      if (batchNorm(i) && !(eps(i) > 0 && momentum(i) >= 0 && momentum(i) <= 1))
        return false;
    return true;
  }

  static_assert(channelsPositive(), "every input must have channels");
  static_assert(constantsValid(),
                "a batch norm needs eps > 0 and momentum in [0, 1]");
  static_assert(biasesOnPlainRelus(),
                "a convolution bias is added before a plain ReLU only");
  static_assert(sumChannels() == Config::kTotalChannels,
                "kTotalChannels must be the sum of kChannels");
  static constexpr int64_t kTotalChannels = Config::kTotalChannels;
};

//===----------------------------------------------------------------------===//
// CPU twin
//===----------------------------------------------------------------------===//

namespace detail {

/// Calls FN(input, image, firstChannel, channels) for each run of output
/// channels in the flat (image, output channel) row range [begin, end) of
/// [0, n * totalChannels) that lies in one input: channels
/// [firstChannel, firstChannel + channels) of that input, which are one
/// contiguous block of the input and of the output.
template <class Config, class Fn>
inline void concatReluForEachRun(int64_t begin, int64_t end, Fn &&fn) {
  using T = ConcatReluTraits<Config>;
  static constexpr ConcatReluLayout<T::kInputs> layout = T::layout();
  for (int64_t row = begin; row < end;) {
    const int64_t image = row / T::kTotalChannels;
    const int64_t ch = row - image * T::kTotalChannels;
    int input = 0;
    while (input + 1 < T::kInputs && ch >= layout.offsets[input + 1])
      ++input;
    const int64_t first = ch - layout.offsets[input];
    int64_t count = layout.channels[input] - first;
    if (count > end - row)
      count = end - row;
    fn(input, image, first, count);
    row += count;
  }
}

} // namespace detail

/// Forward of the CPU twin on contiguous float or bf16 data: INPUTS[i] is
/// input i, [n, Config::kChannels[i], hw] (hw = product of the spatial
/// sizes), OUTPUT is [n, Config::kTotalChannels, hw]. Writes the (image,
/// output channel) rows [begin, end) of [0, n * kTotalChannels) of OUTPUT;
/// disjoint ranges may run in parallel. NORMS holds the batch norm constants
/// of the inputs that have one (null: all plain ReLUs).
template <class Config, class Elem>
void concatReluForwardCpu(
    const Elem *const *inputs, Elem *output, int64_t n, int64_t hw,
    int64_t begin, int64_t end,
    const ConcatReluNorms<ConcatReluTraits<Config>::kInputs> *norms = nullptr) {
  using T = ConcatReluTraits<Config>;
  static constexpr ConcatReluLayout<T::kInputs> layout = T::layout();
  (void)n;
  if (begin >= end || hw <= 0)
    return;
  detail::concatReluForEachRun<Config>(
      begin, end, [&](int input, int64_t image, int64_t first, int64_t count) {
        const Elem *x =
            inputs[input] + (image * layout.channels[input] + first) * hw;
        Elem *y =
            output +
            (image * T::kTotalChannels + layout.offsets[input] + first) * hw;
        if (norms && norms->mean[input]) {
          const float *mean = norms->mean[input] + first,
                      *scale = norms->scale[input] + first,
                      *beta = norms->beta[input] + first;
          for (int64_t c = 0; c < count; ++c, x += hw, y += hw)
            forEachLane(hw, [&](auto lanes, int64_t l) {
              using L = decltype(lanes);
              using V = decltype(L::load(x));
              L::store(y + l, concatBnReluActivate(L::load(x + l), V(mean[c]),
                                                   V(scale[c]), V(beta[c])));
            });
          return;
        }
        if (norms && norms->bias[input]) {
          const float *bias = norms->bias[input] + first;
          for (int64_t c = 0; c < count; ++c, x += hw, y += hw)
            forEachLane(hw, [&](auto lanes, int64_t l) {
              using L = decltype(lanes);
              using V = decltype(L::load(x));
              L::store(y + l,
                       concatBiasReluActivate(L::load(x + l), V(bias[c])));
            });
          return;
        }
        forEachLane(count * hw, [&](auto lanes, int64_t l) {
          using L = decltype(lanes);
          L::store(y + l, reluOf(L::load(x + l)));
        });
      });
}

/// Backward of the CPU twin: GRADINPUTS[i] (laid out as input i) from the
/// forward's OUTPUT and GRADOUTPUT (both [n, kTotalChannels, hw]), for the
/// output rows [begin, end) as the forward. A null GRADINPUTS[i] (no
/// gradient wanted for input i) is skipped.
template <class Config, class Elem>
void concatReluBackwardCpu(const Elem *gradOutput, const Elem *output,
                           Elem *const *gradInputs, int64_t n, int64_t hw,
                           int64_t begin, int64_t end) {
  using T = ConcatReluTraits<Config>;
  static constexpr ConcatReluLayout<T::kInputs> layout = T::layout();
  (void)n;
  if (begin >= end || hw <= 0)
    return;
  detail::concatReluForEachRun<Config>(
      begin, end, [&](int input, int64_t image, int64_t first, int64_t count) {
        if (!gradInputs[input])
          return;
        const int64_t at =
            (image * T::kTotalChannels + layout.offsets[input] + first) * hw;
        const Elem *g = gradOutput + at, *y = output + at;
        Elem *gx =
            gradInputs[input] + (image * layout.channels[input] + first) * hw;
        forEachLane(count * hw, [&](auto lanes, int64_t l) {
          using L = decltype(lanes);
          L::store(gx + l,
                   zeroWhereNonPositive(L::load(y + l), L::load(g + l)));
        });
      });
}

/// The second backward pass of an input with a batch norm, in place on the
/// CPU: GRAD ([n, channels, hw], dz from the first pass) becomes dx, from
/// the input X and the per-channel MEAN, SCALE, MEANDZ and XHATCOEF (see
/// concatBnReluInputGrad), for the (image, channel) rows [begin, end) of
/// [0, n * channels).
template <class Elem>
inline void concatBnReluInputGradCpu(Elem *grad, const Elem *x,
                                     const float *mean, const float *scale,
                                     const float *meanDz, const float *xhatCoef,
                                     int64_t channels, int64_t hw,
                                     int64_t begin, int64_t end) {
  for (int64_t row = begin; row < end; ++row) {
    const int64_t c = row % channels;
    Elem *g = grad + row * hw;
    const Elem *xr = x + row * hw;
    forEachLane(hw, [&](auto lanes, int64_t l) {
      using L = decltype(lanes);
      using V = decltype(L::load(xr));
      L::store(g + l, concatBnReluInputGrad(L::load(g + l), L::load(xr + l),
                                            V(mean[c]), V(scale[c]),
                                            V(meanDz[c]), V(xhatCoef[c])));
    });
  }
}

//===----------------------------------------------------------------------===//
// CPU twin, NHWC (channels_last)
//===----------------------------------------------------------------------===//
//
// In NHWC each pixel's channels are one contiguous run: input i's run of C_i
// channels goes into its slice [off_i, off_i + C_i) of the output pixel's
// run of kTotalChannels, and the backward reads the slice back. Positions are
// the flat (image, pixel) indices of [0, n * hw); the element functions (and
// the bf16 loads and stores) are the NCHW twin's, so both layouts give the
// same bits, in either element type.

/// Forward on NHWC float or bf16 data (input i [n, hw, C_i], the output
/// [n, hw, kTotalChannels] in memory) for the positions [begin, end);
/// otherwise as concatReluForwardCpu. PIXELSTRIDES (null: C_i each), one
/// per input, are the elements from one position's channels of an input to
/// the next's: an input may be a channel slice of a wider NHWC tensor (the
/// merged 1x1 convolutions' output), read where it is instead of copied.
template <class Config, class Elem>
void concatReluForwardNhwcCpu(
    const Elem *const *inputs, Elem *output, int64_t n, int64_t hw,
    int64_t begin, int64_t end,
    const ConcatReluNorms<ConcatReluTraits<Config>::kInputs> *norms = nullptr,
    const int64_t *pixelStrides = nullptr) {
  using T = ConcatReluTraits<Config>;
  static constexpr ConcatReluLayout<T::kInputs> layout = T::layout();
  (void)n;
  (void)hw;
  for (int64_t pos = begin; pos < end; ++pos) {
    for (int input = 0; input < T::kInputs; ++input) {
      const int64_t channels = layout.channels[input];
      const Elem *x =
          inputs[input] + pos * (pixelStrides ? pixelStrides[input] : channels);
      Elem *y = output + pos * T::kTotalChannels + layout.offsets[input];
      if (norms && norms->mean[input]) {
        const float *mean = norms->mean[input], *scale = norms->scale[input],
                    *beta = norms->beta[input];
        forEachLane(channels, [&](auto lanes, int64_t c) {
          using L = decltype(lanes);
          L::store(y + c,
                   concatBnReluActivate(L::load(x + c), L::load(mean + c),
                                        L::load(scale + c), L::load(beta + c)));
        });
        continue;
      }
      if (norms && norms->bias[input]) {
        const float *bias = norms->bias[input];
        forEachLane(channels, [&](auto lanes, int64_t c) {
          using L = decltype(lanes);
          L::store(y + c,
                   concatBiasReluActivate(L::load(x + c), L::load(bias + c)));
        });
        continue;
      }
      forEachLane(channels, [&](auto lanes, int64_t c) {
        using L = decltype(lanes);
        L::store(y + c, reluOf(L::load(x + c)));
      });
    }
  }
}

/// Backward on NHWC data for the positions [begin, end); otherwise as
/// concatReluBackwardCpu.
template <class Config, class Elem>
void concatReluBackwardNhwcCpu(const Elem *gradOutput, const Elem *output,
                               Elem *const *gradInputs, int64_t n, int64_t hw,
                               int64_t begin, int64_t end) {
  using T = ConcatReluTraits<Config>;
  static constexpr ConcatReluLayout<T::kInputs> layout = T::layout();
  (void)n;
  (void)hw;
  for (int64_t pos = begin; pos < end; ++pos) {
    for (int input = 0; input < T::kInputs; ++input) {
      if (!gradInputs[input])
        continue;
      const int64_t channels = layout.channels[input];
      const int64_t at = pos * T::kTotalChannels + layout.offsets[input];
      const Elem *g = gradOutput + at, *y = output + at;
      Elem *gx = gradInputs[input] + pos * channels;
      forEachLane(channels, [&](auto lanes, int64_t c) {
        using L = decltype(lanes);
        L::store(gx + c, zeroWhereNonPositive(L::load(y + c), L::load(g + c)));
      });
    }
  }
}

/// The batch norm's second backward pass on NHWC data ([n, hw, channels] in
/// memory), in place, for the positions [begin, end) of [0, n * hw);
/// otherwise as concatBnReluInputGradCpu.
template <class Elem>
inline void
concatBnReluInputGradNhwcCpu(Elem *grad, const Elem *x, const float *mean,
                             const float *scale, const float *meanDz,
                             const float *xhatCoef, int64_t channels,
                             int64_t begin, int64_t end) {
  for (int64_t pos = begin; pos < end; ++pos) {
    Elem *g = grad + pos * channels;
    const Elem *xp = x + pos * channels;
    forEachLane(channels, [&](auto lanes, int64_t c) {
      using L = decltype(lanes);
      L::store(g + c, concatBnReluInputGrad(
                          L::load(g + c), L::load(xp + c), L::load(mean + c),
                          L::load(scale + c), L::load(meanDz + c),
                          L::load(xhatCoef + c)));
    });
  }
}

//===----------------------------------------------------------------------===//
// CUDA launchers (defined in ConcatRelu.cuh, instantiated per config in a
// model's kernels.cu by RTML_INSTANTIATE_CONCAT_RELU_CUDA)
//===----------------------------------------------------------------------===//

/// Forward on device pointers (layouts as the CPU twin; INPUTS is a host
/// array of Config::kInputs device pointers; NORMS, by value, holds device
/// pointers) on STREAM (a cudaStream_t). Throws std::runtime_error if the
/// launch fails.
template <class Config, class Elem>
void concatReluForwardCuda(
    const Elem *const *inputs, Elem *output, int64_t n, int64_t hw,
    const ConcatReluNorms<ConcatReluTraits<Config>::kInputs> &norms,
    void *stream);

/// Backward on device pointers: GRADINPUTS (a host array of kInputs device
/// pointers; a null one is skipped) from the forward's OUTPUT and
/// GRADOUTPUT.
template <class Config, class Elem>
void concatReluBackwardCuda(const Elem *gradOutput, const Elem *output,
                            Elem *const *gradInputs, int64_t n, int64_t hw,
                            void *stream);

/// The second backward pass of an input with a batch norm on device
/// pointers, in place (as concatBnReluInputGradCpu, over all n * channels
/// rows). A template only so that each model's kernels.cu instantiates it.
template <class Config, class Elem>
void concatBnReluInputGradCuda(Elem *grad, const Elem *x, const float *mean,
                               const float *scale, const float *meanDz,
                               const float *xhatCoef, int64_t n,
                               int64_t channels, int64_t hw, void *stream);

/// The NHWC forms of the three launchers: data as the NHWC CPU twin's,
/// arguments (and element types) as the NCHW launchers', and the forward's
/// PIXELSTRIDES (a host array of kInputs, or null) as the twin's.
template <class Config, class Elem>
void concatReluForwardNhwcCuda(
    const Elem *const *inputs, Elem *output, int64_t n, int64_t hw,
    const ConcatReluNorms<ConcatReluTraits<Config>::kInputs> &norms,
    const int64_t *pixelStrides, void *stream);
template <class Config, class Elem>
void concatReluBackwardNhwcCuda(const Elem *gradOutput, const Elem *output,
                                Elem *const *gradInputs, int64_t n, int64_t hw,
                                void *stream);
template <class Config, class Elem>
void concatBnReluInputGradNhwcCuda(Elem *grad, const Elem *x, const float *mean,
                                   const float *scale, const float *meanDz,
                                   const float *xhatCoef, int64_t n,
                                   int64_t channels, int64_t hw, void *stream);

} // namespace rtml::kernels

#endif // RTML_RUNTIME_KERNELS_CONCATRELU_H
