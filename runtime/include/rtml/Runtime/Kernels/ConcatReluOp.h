//===- ConcatReluOp.h - LibTorch autograd glue for the concat of ReLUs ----===//
//
// What a model's emitted kernels.cpp calls for each fused concat of ReLUs:
//
//   at::Tensor rtml_concat_relu_0(const std::vector<at::Tensor> &inputs,
//       const std::vector<at::Tensor> &bnParams, bool training) {
//     return rtml::kernels::concatRelu<ConcatReluConfig_0>(inputs, bnParams,
//                                                          training);
//   }
//
// A custom autograd function runs the CPU twin (parallel over output rows)
// on CPU tensors and, when built with RTML_WITH_CUDA (the model's kernels.cu
// is compiled and linked), the CUDA kernels on the current stream for CUDA
// tensors; each in its bf16 variant for bfloat16 inputs and in its NHWC
// form for channels_last ones (independent choices). For plain ReLUs
// it saves only the output (the ReLU mask); an input with a batch norm also
// saves that input and its statistics. The batch norm's per-channel
// statistics and gradient sums are ATen reductions, on either device.
// Included by every emitted kernels.cpp, so it pulls in only the
// autograd-function and per-op headers, not <torch/torch.h>.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_CONCATRELUOP_H
#define RTML_RUNTIME_KERNELS_CONCATRELUOP_H

#include "rtml/Runtime/Kernels/BatchNormSums.h"
#include "rtml/Runtime/Kernels/ConcatRelu.h"
#include "rtml/Runtime/Kernels/PixelStride.h"

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/batch_norm_update_stats.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/native_batch_norm_backward.h>
#include <ATen/ops/rsqrt.h>
#include <ATen/ops/zeros_like.h>
#include <ATen/record_function.h>
#include <c10/core/GradMode.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/custom_function.h>

#include <tuple>
#include <vector>

#ifdef RTML_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace rtml::kernels {

namespace detail {

/// Checks INPUTS against CONFIG (count, dtype, device, channels, equal batch
/// and spatial sizes) and returns the output's sizes and (n, hw).
struct ConcatReluShape {
  std::vector<int64_t> outputSizes;
  int64_t n, hw;
};

template <class Config>
ConcatReluShape concatReluShape(at::TensorList inputs) {
  using T = ConcatReluTraits<Config>;
  TORCH_CHECK(static_cast<int64_t>(inputs.size()) == T::kInputs,
              "rtml concat+ReLU: expected ", T::kInputs,
              " inputs (the config's kInputs), got ", inputs.size());
  const at::Tensor &first = inputs[0];
  for (int i = 0; i < T::kInputs; ++i) {
    const at::Tensor &x = inputs[i];
    TORCH_CHECK(x.defined(), "rtml concat+ReLU: input ", i, " is undefined");
    TORCH_CHECK(x.dim() >= 2,
                "rtml concat+ReLU: expected input ", i,
                " with at least 2 dimensions [N, C, ...], got ", x.sizes());
    TORCH_CHECK(x.scalar_type() == at::kFloat ||
                    x.scalar_type() == at::kBFloat16,
                "rtml concat+ReLU: only float32 and bfloat16 are supported, "
                "input ",
                i, " is ", x.scalar_type());
    TORCH_CHECK(x.scalar_type() == first.scalar_type(),
                "rtml concat+ReLU: input ", i, " is ", x.scalar_type(),
                " but input 0 is ", first.scalar_type());
#ifdef RTML_WITH_CUDA
    TORCH_CHECK(x.is_cpu() || x.is_cuda(),
                "rtml concat+ReLU: unsupported device ", x.device());
#else
    TORCH_CHECK(x.is_cpu(), "rtml concat+ReLU: input ", i, " on ",
                x.device(),
                " but this model's kernels were built without CUDA "
                "(configure with RTML_ENABLE_CUDA=ON on a machine with nvcc)");
#endif
    TORCH_CHECK(x.device() == first.device(), "rtml concat+ReLU: input ", i,
                " on ", x.device(), " but input 0 on ", first.device());
    TORCH_CHECK(x.size(1) == Config::kChannels[i],
                "rtml concat+ReLU: input ", i, " has ", x.size(1),
                " channels, the config expects ", Config::kChannels[i],
                " (sizes ", x.sizes(), ")");
    TORCH_CHECK(x.dim() == first.dim(), "rtml concat+ReLU: input ", i,
                " has ", x.dim(), " dimensions, input 0 has ", first.dim());
    for (int64_t d = 0; d < x.dim(); ++d)
      TORCH_CHECK(d == 1 || x.size(d) == first.size(d),
                  "rtml concat+ReLU: input ", i, " has sizes ", x.sizes(),
                  ", input 0 has ", first.sizes(),
                  ": all but the channels must be equal");
  }
  ConcatReluShape s;
  s.outputSizes = first.sizes().vec();
  s.outputSizes[1] = T::kTotalChannels;
  s.n = first.size(0);
  s.hw = 1;
  for (int64_t d = 2; d < first.dim(); ++d)
    s.hw *= first.size(d);
  return s;
}

/// Checks BNPARAMS against CONFIG: weight, bias, running_mean and
/// running_var (float32 [C_i]) and num_batches_tracked (int64 scalar) for
/// each input with a batch norm, in input order, on the inputs' device.
template <class Config>
void concatReluCheckBatchNormParams(at::TensorList inputs,
                                    at::TensorList bnParams) {
  using T = ConcatReluTraits<Config>;
  TORCH_CHECK(static_cast<int64_t>(bnParams.size()) == 5 * T::kBatchNorms,
              "rtml concat+ReLU: expected ", 5 * T::kBatchNorms,
              " batch norm parameters (5 per batch norm), got ",
              bnParams.size());
  int64_t param = 0;
  for (int i = 0; i < T::kInputs; ++i) {
    if (!T::batchNorm(i))
      continue;
    for (int k = 0; k < 5; ++k, ++param) {
      const at::Tensor &p = bnParams[param];
      const bool counter = k == 4;
      TORCH_CHECK(
          p.defined() && p.device() == inputs[0].device() &&
              p.scalar_type() == (counter ? at::kLong : at::kFloat) &&
              (counter ? p.dim() == 0
                       : p.dim() == 1 && p.size(0) == Config::kChannels[i]),
          "rtml concat+ReLU: batch norm parameter ", k, " of input ", i,
          " must be ", counter ? "an int64 scalar" : "float32 [channels]",
          " on ", inputs[0].device());
    }
  }
}

/// BIASES is empty or has one per input; a defined one belongs to an input
/// the config lets add a bias (kBias) and is float32 [channels] on the
/// inputs' device.
template <class Config>
void concatReluCheckBiases(at::TensorList inputs, at::TensorList biases) {
  using T = ConcatReluTraits<Config>;
  TORCH_CHECK(biases.empty() ||
                  static_cast<int64_t>(biases.size()) == T::kInputs,
              "rtml concat+ReLU: expected no biases or ", T::kInputs,
              " (one per input, undefined for none), got ", biases.size());
  for (size_t i = 0; i < biases.size(); ++i) {
    const at::Tensor &b = biases[i];
    if (!b.defined())
      continue;
    TORCH_CHECK(static_cast<int64_t>(inputs.size()) == T::kInputs,
                "rtml concat+ReLU: expected ", T::kInputs, " inputs, got ",
                inputs.size());
    TORCH_CHECK(T::bias(static_cast<int>(i)), "rtml concat+ReLU: input ", i,
                " has a bias, but this config adds none there (kBias)");
    TORCH_CHECK(b.device() == inputs[0].device() &&
                    b.scalar_type() == at::kFloat && b.dim() == 1 &&
                    b.size(0) == Config::kChannels[i],
                "rtml concat+ReLU: the bias of input ", i, " must be float32 [",
                Config::kChannels[i], "] on ", inputs[0].device(), ", got ",
                b.scalar_type(), " ", b.sizes(), " on ", b.device());
  }
}

/// Output rows per at::parallel_for chunk: about 32K floats per chunk.
inline int64_t concatReluGrain(int64_t hw) {
  int64_t grain = 32768 / (hw > 0 ? hw : 1);
  return grain < 1 ? 1 : grain;
}

/// Whether the kernels run in NHWC: every input is NHWC pixel by pixel
/// (nhwcPixelStride: dense channels_last, or a channel slice of it) and
/// not all are also contiguous NCHW (1x1 images are both, and take NCHW). A
/// mixed set is made contiguous, as any other layout.
inline bool concatReluChannelsLast(at::TensorList inputs) {
  bool allNchw = true;
  for (const at::Tensor &x : inputs) {
    if (nhwcPixelStride(x) == 0)
      return false;
    allNchw = allNchw && x.is_contiguous();
  }
  return !allNchw;
}

inline at::MemoryFormat concatReluMemoryFormat(bool channelsLast) {
  return channelsLast ? at::MemoryFormat::ChannelsLast
                      : at::MemoryFormat::Contiguous;
}

/// T's data as the kernels' Elem (float, or Bf16: c10::BFloat16's bits).
template <class Elem> Elem *concatReluData(const at::Tensor &t) {
  if constexpr (std::is_same_v<Elem, Bf16>) {
    static_assert(sizeof(c10::BFloat16) == sizeof(Bf16));
    return reinterpret_cast<Bf16 *>(t.data_ptr<c10::BFloat16>());
  } else {
    return t.data_ptr<float>();
  }
}

/// Calls FN with a null Elem pointer of X's element type (float or Bf16).
template <class Fn> void concatReluDispatch(const at::Tensor &x, Fn &&fn) {
  if (x.scalar_type() == at::kBFloat16)
    fn(static_cast<Bf16 *>(nullptr));
  else
    fn(static_cast<float *>(nullptr));
}

#ifdef RTML_WITH_CUDA
inline void *concatReluCurrentStream(const at::Tensor &x) {
  return static_cast<void *>(
      c10::cuda::getCurrentCUDAStream(x.device().index()).stream());
}
#endif

} // namespace detail

/// The autograd function behind concatRelu<Config>.
template <class Config>
struct ConcatReluFunction
    : torch::autograd::Function<ConcatReluFunction<Config>> {
  using T = ConcatReluTraits<Config>;
  // Saved per input with a batch norm, after the output.
  enum SavedNorm { kInput, kMean, kInvstd, kWeight, kSavedPerNorm };
  // The names `bench --profile` shows for the two directions: the kernels
  // run outside ATen's dispatcher, which names only the ops it runs (here
  // the batch norms' reductions, nested inside).
  static constexpr const char *kForwardName =
      T::kBatchNorms > 0 ? "rtml::concat_bn_relu" : "rtml::concat_relu";
  static constexpr const char *kBackwardName =
      T::kBatchNorms > 0 ? "rtml::concat_bn_relu_backward"
                         : "rtml::concat_relu_backward";

  /// BIASES: the biases of the inputs whose bit is set in BIASED, in input
  /// order (autograd takes no undefined tensor in a list). The tensor
  /// arguments come first, so that their gradients' slots are also their
  /// needs_input_grad indices.
  static at::Tensor forward(torch::autograd::AutogradContext *ctx,
                            at::TensorList inputs, at::TensorList bnParams,
                            at::TensorList biases, bool training,
                            int64_t biased) {
    RECORD_USER_SCOPE(kForwardName);
    const detail::ConcatReluShape s = detail::concatReluShape<Config>(inputs);
    detail::concatReluCheckBatchNormParams<Config>(inputs, bnParams);
    const bool nhwc = detail::concatReluChannelsLast(inputs);
    const at::MemoryFormat format = detail::concatReluMemoryFormat(nhwc);
    // In NHWC a ReLU input is read where it is, also when it is a channel
    // slice (ops::siblingConv2d's results); the rest are made dense.
    std::vector<at::Tensor> xs;
    xs.reserve(T::kInputs);
    int64_t pixelStrides[T::kInputs];
    for (int i = 0; i < T::kInputs; ++i) {
      pixelStrides[i] = Config::kChannels[i];
      const int64_t slice =
          nhwc && !T::batchNorm(i) ? detail::nhwcPixelStride(inputs[i]) : 0;
      if (slice > 0) {
        xs.push_back(inputs[i]);
        pixelStrides[i] = slice;
      } else {
        xs.push_back(inputs[i].contiguous(format));
      }
    }
    // Each batch norm's per-channel constants (kept alive until the kernel
    // ran) and what its backward needs.
    ConcatReluNorms<T::kInputs> norms{};
    std::vector<at::Tensor> keep, saved;
    const int64_t perChannel = s.n * s.hw;
    for (int i = 0, param = 0; i < T::kInputs; ++i) {
      if (!T::batchNorm(i))
        continue;
      at::Tensor weight = bnParams[param].detach(), bias = bnParams[param + 1],
                 runningMean = bnParams[param + 2],
                 runningVar = bnParams[param + 3],
                 numBatchesTracked = bnParams[param + 4];
      param += 5;
      at::Tensor mean, invstd;
      if (training) {
        TORCH_CHECK(perChannel > 1, "rtml concat+ReLU: batch norm of input ", i,
                    " needs more than 1 value per channel in training, "
                    "got sizes ",
                    xs[i].sizes());
        // Statistics in float. On the CPU, and of a float input, by
        // at::batch_norm's own reduction (at::var_mean over N, H, W is 4x
        // slower on the CPU; a bf16 input is read from a float copy, which
        // beats the summation tree's scalar loops there), which also updates
        // the running statistics as at::batch_norm does: running = (1 - m) *
        // running + m * batch, with the unbiased variance. Counted as
        // runtime ops::batchNorm does.
        c10::NoGradGuard noGrad;
        at::Tensor var;
        if (xs[i].scalar_type() == at::kBFloat16 && xs[i].is_cuda()) {
          // On CUDA straight from the bf16 data (BatchNormSums.h): the mean,
          // then the biased variance about it; the running statistics as
          // above.
          const double count = static_cast<double>(perChannel);
          const double m = T::momentum(i);
          mean =
              batchNormSums(kernels::BatchNormSum::Mean, xs[i], {}, {}, nhwc)[0]
                  .div(count);
          var = batchNormSums(kernels::BatchNormSum::CenteredSquares, xs[i], {},
                              mean, nhwc)[0]
                    .div(count);
          runningMean.mul_(1 - m).add_(mean, m);
          runningVar.mul_(1 - m).add_(var, m * count / (count - 1));
        } else {
          std::tie(mean, var) = at::batch_norm_update_stats(
              xs[i].to(at::kFloat), runningMean, runningVar, T::momentum(i));
        }
        invstd = at::rsqrt(var.add(T::eps(i)));
        numBatchesTracked.add_(1);
      } else {
        mean = runningMean.detach().clone();
        invstd = at::rsqrt(runningVar.detach().add(T::eps(i)));
      }
      at::Tensor scale = weight.mul(invstd).contiguous();
      at::Tensor beta = bias.detach().contiguous();
      norms.mean[i] = mean.data_ptr<float>();
      norms.scale[i] = scale.data_ptr<float>();
      norms.beta[i] = beta.data_ptr<float>();
      keep.insert(keep.end(), {scale, beta});
      saved.insert(saved.end(), {xs[i], mean, invstd, weight});
    }
    // The convolution biases the plain ReLU inputs add first.
    for (int i = 0, next = 0; i < T::kInputs; ++i)
      if (biased >> i & 1) {
        at::Tensor bias = biases[next++].detach().contiguous();
        norms.bias[i] = bias.data_ptr<float>();
        keep.push_back(bias);
      }
    at::Tensor y =
        at::empty(s.outputSizes, xs[0].options().memory_format(format));
    // The element type and the layout are independent choices: each Elem
    // has both the NCHW and the NHWC kernels.
    detail::concatReluDispatch(y, [&](auto *elem) {
      using Elem = std::remove_pointer_t<decltype(elem)>;
      const Elem *xd[T::kInputs];
      for (int i = 0; i < T::kInputs; ++i)
        xd[i] = detail::concatReluData<Elem>(xs[i]);
      Elem *yd = detail::concatReluData<Elem>(y);
      if (y.is_cpu() && nhwc) {
        at::parallel_for(
            0, s.n * s.hw, detail::concatReluGrain(T::kTotalChannels),
            [&](int64_t begin, int64_t end) {
              concatReluForwardNhwcCpu<Config>(xd, yd, s.n, s.hw, begin, end,
                                               &norms, pixelStrides);
            });
      } else if (y.is_cpu()) {
        at::parallel_for(0, s.n * T::kTotalChannels,
                         detail::concatReluGrain(s.hw),
                         [&](int64_t begin, int64_t end) {
                           concatReluForwardCpu<Config>(xd, yd, s.n, s.hw,
                                                        begin, end, &norms);
                         });
      } else {
#ifdef RTML_WITH_CUDA
        c10::cuda::CUDAGuard guard(y.device());
        if (nhwc)
          concatReluForwardNhwcCuda<Config>(xd, yd, s.n, s.hw, norms,
                                            pixelStrides,
                                            detail::concatReluCurrentStream(y));
        else
          concatReluForwardCuda<Config>(xd, yd, s.n, s.hw, norms,
                                        detail::concatReluCurrentStream(y));
        // The stream may still read the constants: the caching allocator
        // hands their memory out again only in stream order.
#endif
      }
    });
    // The output (the ReLU mask) and, per batch norm, its input and
    // statistics are the whole state of the backward; the inputs' sizes come
    // back from them and the config.
    bool anyGrad = false;
    for (const at::Tensor &x : inputs)
      anyGrad = anyGrad || x.requires_grad();
    for (const at::Tensor &p : bnParams)
      anyGrad = anyGrad || p.requires_grad();
    for (const at::Tensor &b : biases)
      anyGrad = anyGrad || b.requires_grad();
    if (anyGrad) {
      saved.insert(saved.begin(), y);
      ctx->save_for_backward(saved);
      ctx->saved_data["training"] = training;
      ctx->saved_data["nhwc"] = nhwc;
      ctx->saved_data["biased"] = biased;
    }
    return y;
  }

  static torch::autograd::variable_list
  backward(torch::autograd::AutogradContext *ctx,
           torch::autograd::variable_list gradOutputs) {
    RECORD_USER_SCOPE(kBackwardName);
    torch::autograd::variable_list saved = ctx->get_saved_variables();
    const at::Tensor &y = saved[0];
    // Inputs, then 5 per batch norm, one per bias, then the training flag
    // and the bias mask.
    constexpr int kFirstBias = T::kInputs + 5 * T::kBatchNorms;
    const int64_t biased = ctx->saved_data["biased"].toInt();
    int biasSlot[T::kInputs];
    int biases = 0;
    for (int i = 0; i < T::kInputs; ++i)
      biasSlot[i] = biased >> i & 1 ? kFirstBias + biases++ : -1;
    torch::autograd::variable_list grads(kFirstBias + biases + 2);
    if (!gradOutputs[0].defined())
      return grads;
    auto biasWanted = [&](int i) {
      return biasSlot[i] >= 0 && ctx->needs_input_grad(biasSlot[i]);
    };
    const bool nhwc = ctx->saved_data["nhwc"].toBool();
    const at::MemoryFormat format = detail::concatReluMemoryFormat(nhwc);
    // The gradient arrives in the output's type (autograd casts it back).
    at::Tensor gy = gradOutputs[0].to(y.scalar_type()).contiguous(format);
    const int64_t n = y.size(0);
    int64_t hw = 1;
    for (int64_t d = 2; d < y.dim(); ++d)
      hw *= y.size(d);
    // First pass: each wanted input's slice of the gradient, masked (dz). A
    // batch norm needs dz for its weight and bias gradients too.
    std::vector<int64_t> sizes = y.sizes().vec();
    for (int i = 0, norm = 0; i < T::kInputs; ++i) {
      bool wanted = ctx->needs_input_grad(i) || biasWanted(i);
      if (T::batchNorm(i)) {
        const int param = T::kInputs + 5 * norm++;
        wanted = wanted || ctx->needs_input_grad(param) ||
                 ctx->needs_input_grad(param + 1);
      }
      if (!wanted)
        continue;
      sizes[1] = Config::kChannels[i];
      grads[i] = at::empty(sizes, y.options().memory_format(format));
    }
    detail::concatReluDispatch(y, [&](auto *elem) {
      using Elem = std::remove_pointer_t<decltype(elem)>;
      Elem *gxd[T::kInputs];
      for (int i = 0; i < T::kInputs; ++i)
        gxd[i] = grads[i].defined() ? detail::concatReluData<Elem>(grads[i])
                                    : nullptr;
      const Elem *gyd = detail::concatReluData<Elem>(gy),
                 *yd = detail::concatReluData<Elem>(y);
      if (y.is_cpu() && nhwc) {
        at::parallel_for(0, n * hw, detail::concatReluGrain(T::kTotalChannels),
                         [&](int64_t begin, int64_t end) {
                           concatReluBackwardNhwcCpu<Config>(gyd, yd, gxd, n,
                                                             hw, begin, end);
                         });
      } else if (y.is_cpu()) {
        at::parallel_for(0, n * T::kTotalChannels,
                         detail::concatReluGrain(hw),
                         [&](int64_t begin, int64_t end) {
                           concatReluBackwardCpu<Config>(gyd, yd, gxd, n, hw,
                                                         begin, end);
                         });
      } else {
#ifdef RTML_WITH_CUDA
        c10::cuda::CUDAGuard guard(y.device());
        if (nhwc)
          concatReluBackwardNhwcCuda<Config>(
              gyd, yd, gxd, n, hw, detail::concatReluCurrentStream(y));
        else
          concatReluBackwardCuda<Config>(gyd, yd, gxd, n, hw,
                                         detail::concatReluCurrentStream(y));
#endif
      }
    });
    // A bias's gradient: its input's, summed over the batch and positions,
    // in float (as the convolution's backward would have).
    for (int i = 0; i < T::kInputs; ++i) {
      if (!biasWanted(i))
        continue;
      std::vector<int64_t> dims = {0};
      for (int64_t d = 2; d < y.dim(); ++d)
        dims.push_back(d);
      grads[biasSlot[i]] =
          at::sum(grads[i], dims, /*keepdim=*/false, at::kFloat);
      if (!ctx->needs_input_grad(i))
        grads[i] = at::Tensor();
    }
    if constexpr (T::kBatchNorms > 0) {
      const bool training = ctx->saved_data["training"].toBool();
      for (int i = 0, norm = 0; i < T::kInputs; ++i) {
        if (!T::batchNorm(i))
          continue;
        const int param = T::kInputs + 5 * norm;
        const size_t first = 1 + kSavedPerNorm * norm++;
        if (!grads[i].defined())
          continue;
        backwardBatchNorm(grads[i], saved[first + kInput], saved[first + kMean],
                          saved[first + kInvstd], saved[first + kWeight],
                          training, nhwc, grads[param], grads[param + 1]);
        if (!ctx->needs_input_grad(param))
          grads[param] = at::Tensor();
        if (!ctx->needs_input_grad(param + 1))
          grads[param + 1] = at::Tensor();
        if (!ctx->needs_input_grad(i))
          grads[i] = at::Tensor();
      }
    }
    return grads;
  }

private:
#ifdef RTML_WITH_CUDA
  /// [sums, C] float: KIND's per-channel sums of the bf16 CUDA tensor X
  /// (and DZ, for Gradient) about MEAN (not for Mean), all dense, NHWC when
  /// NHWC (BatchNormSums.h's kernels).
  static at::Tensor batchNormSums(kernels::BatchNormSum kind,
                                  const at::Tensor &x, const at::Tensor &dz,
                                  const at::Tensor &mean, bool nhwc) {
    const int64_t n = x.size(0), channels = x.size(1);
    kernels::BatchNormSumsArgs a{};
    a.kind = kind;
    a.x = detail::concatReluData<Bf16>(x);
    a.dz = dz.defined() ? detail::concatReluData<Bf16>(dz) : nullptr;
    at::Tensor m = mean.defined() ? mean.contiguous() : at::Tensor();
    a.mean = m.defined() ? m.data_ptr<float>() : nullptr;
    a.n = n;
    a.channels = channels;
    a.pixels = n * channels == 0 ? 0 : x.numel() / (n * channels);
    a.nhwc = nhwc;
    const at::TensorOptions options = x.options().dtype(at::kFloat);
    at::Tensor sums =
        at::empty({kernels::batchNormSumCount(kind), channels}, options);
    at::Tensor scratch = at::empty({kernels::batchNormSumsScratch(a)}, options);
    a.sums = sums.data_ptr<float>();
    a.scratch = scratch.data_ptr<float>();
    c10::cuda::CUDAGuard guard(x.device());
    kernels::batchNormSumsCuda(a, detail::concatReluCurrentStream(x));
    return sums;
  }
#else
  static at::Tensor batchNormSums(kernels::BatchNormSum, const at::Tensor &,
                                  const at::Tensor &, const at::Tensor &,
                                  bool) {
    // Unreachable: without CUDA every input was checked to be on the CPU.
    TORCH_CHECK(false, "rtml concat+ReLU: this runtime was built without CUDA");
    return at::Tensor();
  }
#endif

  /// Turns GRAD (dz, [n, C, ...], laid out as X: NHWC when NHWC) into the
  /// batch norm's input gradient in place, and sets GRADWEIGHT = sum(dz *
  /// xhat) and GRADBIAS = sum(dz).
  static void backwardBatchNorm(at::Tensor &grad, const at::Tensor &x,
                                const at::Tensor &mean,
                                const at::Tensor &invstd,
                                const at::Tensor &weight, bool training,
                                bool nhwc, at::Tensor &gradWeight,
                                at::Tensor &gradBias) {
    // GRADBIAS = sum(dz), GRADWEIGHT = sum(dz * (x - mean)) * invstd, in
    // float, in one pass over dz and x. Given MEAN and INVSTD (train), the
    // same sums serve the eval mode's constant statistics.
    if (grad.scalar_type() == at::kBFloat16 && grad.is_cuda()) {
      // On CUDA straight from the bf16 data (BatchNormSums.h).
      at::Tensor sums =
          batchNormSums(kernels::BatchNormSum::Gradient, x, grad, mean, nhwc);
      gradBias = sums[0];
      gradWeight = sums[1].mul(invstd);
    } else {
      // By at::batch_norm's backward reduction alone (no input gradient),
      // over float data (a float tensor is used as is: the fp32 results
      // keep its bits; on the CPU the float copies of bf16 data and ATen's
      // vector loops beat the tree's scalar ones).
      std::tie(std::ignore, gradWeight, gradBias) =
          at::native_batch_norm_backward(
              grad.to(at::kFloat), x.to(at::kFloat), weight,
              /*running_mean=*/{}, /*running_var=*/{}, mean, invstd,
              /*train=*/true, /*eps=*/0.0, {false, true, true});
    }
    at::Tensor scale = weight.mul(invstd).contiguous();
    at::Tensor meanDz, xhatCoef;
    if (training) {
      const double count = static_cast<double>(x.numel() / x.size(1));
      meanDz = gradBias.div(count).contiguous();
      xhatCoef = invstd.mul(gradWeight).div(count).contiguous();
    } else {
      // The statistics are constants: dx = dz * gamma * invstd.
      meanDz = at::zeros_like(scale);
      xhatCoef = at::zeros_like(scale);
    }
    const int64_t n = x.size(0), channels = x.size(1);
    const int64_t hw = channels ? x.numel() / (n * channels) : 0;
    const float *m = mean.data_ptr<float>(), *sc = scale.data_ptr<float>(),
                *md = meanDz.data_ptr<float>(),
                *xc = xhatCoef.data_ptr<float>();
    detail::concatReluDispatch(grad, [&](auto *elem) {
      using Elem = std::remove_pointer_t<decltype(elem)>;
      Elem *g = detail::concatReluData<Elem>(grad);
      const Elem *xd = detail::concatReluData<Elem>(x);
      if (grad.is_cpu() && nhwc) {
        at::parallel_for(0, n * hw, detail::concatReluGrain(channels),
                         [&](int64_t begin, int64_t end) {
                           concatBnReluInputGradNhwcCpu(g, xd, m, sc, md, xc,
                                                        channels, begin, end);
                         });
      } else if (grad.is_cpu()) {
        at::parallel_for(0, n * channels, detail::concatReluGrain(hw),
                         [&](int64_t begin, int64_t end) {
                           concatBnReluInputGradCpu(g, xd, m, sc, md, xc,
                                                    channels, hw, begin, end);
                         });
      } else {
#ifdef RTML_WITH_CUDA
        c10::cuda::CUDAGuard guard(grad.device());
        if (nhwc)
          concatBnReluInputGradNhwcCuda<Config>(
              g, xd, m, sc, md, xc, n, channels, hw,
              detail::concatReluCurrentStream(grad));
        else
          concatBnReluInputGradCuda<Config>(
              g, xd, m, sc, md, xc, n, channels, hw,
              detail::concatReluCurrentStream(grad));
#endif
      }
    });
  }
};

/// at::cat({epilogue_0(inputs[0]), epilogue_1(inputs[1]), ...}, 1) in one
/// pass, each epilogue written straight into its channel slice,
/// differentiable once (the backward splits the gradient and applies each
/// ReLU's mask in one pass, then each batch norm's backward). An epilogue is
/// relu(x), or, where Config::kBatchNorm[i], relu(batch_norm(x)) as
/// at::batch_norm with BNPARAMS' weight, bias, running_mean, running_var
/// (updated in TRAINING) and num_batches_tracked (counted in TRAINING), five
/// per such input in input order.
/// INPUTS: Config::kInputs float32 tensors, or all bfloat16 (the bf16
/// variant: float arithmetic and batch norm statistics inside, bf16 out),
/// [N, Config::kChannels[i], ...] with equal N and trailing sizes, on the CPU
/// or (with RTML_WITH_CUDA) one CUDA device. Channels_last inputs run the
/// NHWC kernels (of either element type) and give a channels_last result;
/// any other layout is made contiguous.
/// BIASES: none, or one per input: where defined (only for an input with
/// Config::kBias[i]), input i's epilogue is relu(x + bias[c]), a float32
/// [C_i] on the inputs' device (its convolution's bias, left out of the
/// convolution: rtml-bias-epilogue).
template <class Config>
at::Tensor concatRelu(const std::vector<at::Tensor> &inputs,
                      const std::vector<at::Tensor> &bnParams = {},
                      bool training = false,
                      const std::vector<at::Tensor> &biases = {}) {
  static_assert(ConcatReluTraits<Config>::kInputs < 64,
                "the biased inputs are a 64-bit mask");
  detail::concatReluCheckBiases<Config>(inputs, biases);
  int64_t biased = 0;
  std::vector<at::Tensor> defined;
  for (size_t i = 0; i < biases.size(); ++i)
    if (biases[i].defined()) {
      biased |= int64_t(1) << i;
      defined.push_back(biases[i]);
    }
  return ConcatReluFunction<Config>::apply(
      at::TensorList(inputs), at::TensorList(bnParams), at::TensorList(defined),
      training, biased);
}

} // namespace rtml::kernels

#endif // RTML_RUNTIME_KERNELS_CONCATRELUOP_H
