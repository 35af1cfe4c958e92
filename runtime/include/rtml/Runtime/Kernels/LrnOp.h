//===- LrnOp.h - LibTorch autograd glue for the LRN kernels ---------------===//
//
// What a model's emitted kernels.cpp calls for each rtml.lrn / rtml.relu_lrn:
//
//   at::Tensor rtml_lrn_0(const at::Tensor &x) {
//     return rtml::kernels::localResponseNorm<LrnConfig_0>(x);
//   }
//
// A custom autograd function runs the CPU twin (parallel over pixels) on CPU
// tensors and, when built with RTML_WITH_CUDA (the model's kernels.cu is
// compiled and linked), the CUDA kernels on the current stream for CUDA
// tensors; each in its bf16 variant for a bfloat16 input and in its NHWC
// form for a channels_last one (the two choices are independent). Included
// by every emitted kernels.cpp, so it pulls in only the autograd-function
// header, not <torch/torch.h>.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_LRNOP_H
#define RTML_RUNTIME_KERNELS_LRNOP_H

#include "rtml/Runtime/Kernels/Lrn.h"

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/record_function.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/custom_function.h>

#ifdef RTML_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace rtml::kernels {

namespace detail {

/// (n, c, hw) of an [N, C, ...] tensor: the trailing dimensions are flattened
/// into pixels, as torch's local_response_norm does.
struct LrnShape {
  int64_t n, c, hw;
};

inline LrnShape lrnShape(const at::Tensor &x) {
  TORCH_CHECK(x.dim() >= 3,
              "rtml LRN: expected an input with at least 3 dimensions "
              "[N, C, ...], got ",
              x.sizes());
  TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16,
              "rtml LRN: only float32 and bfloat16 are supported, got ",
              x.scalar_type());
  int64_t n = x.size(0), c = x.size(1);
  return {n, c, n * c == 0 ? 0 : x.numel() / (n * c)};
}

/// Positions per at::parallel_for chunk: enough channels * pixels that a
/// chunk is worth a thread, and whole tiles of the CPU twin.
inline int64_t lrnGrain(int64_t c) {
  int64_t grain = 32768 / (c > 0 ? c : 1);
  return grain < 16 ? 16 : grain;
}

inline void lrnCheckDevice(const at::Tensor &x) {
#ifdef RTML_WITH_CUDA
  TORCH_CHECK(x.is_cpu() || x.is_cuda(), "rtml LRN: unsupported device ",
              x.device());
#else
  TORCH_CHECK(x.is_cpu(), "rtml LRN: input on ", x.device(),
              " but this model's kernels were built without CUDA (configure "
              "with RTML_ENABLE_CUDA=ON on a machine with nvcc)");
#endif
}

/// Whether X is NHWC (channels_last) and not also contiguous NCHW (a 1x1
/// image or a single channel is both, and takes the NCHW kernels): the
/// layout the kernels then run in, so that no copy is hidden here.
inline bool lrnChannelsLast(const at::Tensor &x) {
  return x.dim() == 4 && !x.is_contiguous() &&
         x.is_contiguous(at::MemoryFormat::ChannelsLast);
}

inline at::MemoryFormat lrnMemoryFormat(bool channelsLast) {
  return channelsLast ? at::MemoryFormat::ChannelsLast
                      : at::MemoryFormat::Contiguous;
}

#ifdef RTML_WITH_CUDA
inline void *lrnCurrentStream(const at::Tensor &x) {
  return static_cast<void *>(
      c10::cuda::getCurrentCUDAStream(x.device().index()).stream());
}
#endif

/// T's data as the kernels' Elem (float, or Bf16: c10::BFloat16's bits).
template <class Elem> Elem *lrnData(const at::Tensor &t) {
  if constexpr (std::is_same_v<Elem, Bf16>) {
    static_assert(sizeof(c10::BFloat16) == sizeof(Bf16));
    return reinterpret_cast<Bf16 *>(t.data_ptr<c10::BFloat16>());
  } else {
    return t.data_ptr<float>();
  }
}

} // namespace detail

/// The autograd function behind localResponseNorm<Config>.
template <class Config>
struct LrnFunction : torch::autograd::Function<LrnFunction<Config>> {
  // The names `bench --profile` shows for the two directions: the kernels
  // run outside ATen's dispatcher, which names only the ops it runs.
  static constexpr const char *kForwardName =
      Config::kRelu ? "rtml::relu_lrn" : "rtml::lrn";
  static constexpr const char *kBackwardName =
      Config::kRelu ? "rtml::relu_lrn_backward" : "rtml::lrn_backward";

  static at::Tensor forward(torch::autograd::AutogradContext *ctx,
                            const at::Tensor &input) {
    RECORD_USER_SCOPE(kForwardName);
    detail::lrnCheckDevice(input);
    const detail::LrnShape s = detail::lrnShape(input);
    const bool nhwc = detail::lrnChannelsLast(input);
    const at::MemoryFormat format = detail::lrnMemoryFormat(nhwc);
    at::Tensor x = input.contiguous(format);
    at::Tensor y = at::empty_like(x, format);
    if (x.scalar_type() == at::kBFloat16)
      runForward(x, detail::lrnData<Bf16>(x), detail::lrnData<Bf16>(y), s,
                 nhwc);
    else
      runForward(x, detail::lrnData<float>(x), detail::lrnData<float>(y), s,
                 nhwc);
    // The backward recomputes everything else from the input.
    if (input.requires_grad()) {
      ctx->save_for_backward({x});
      ctx->saved_data["nhwc"] = nhwc;
    }
    return y;
  }

  /// The forward in element type Elem, in NHWC or NCHW.
  template <class Elem>
  static void runForward(const at::Tensor &x, const Elem *xd, Elem *yd,
                         const detail::LrnShape &s, bool nhwc) {
    if (x.is_cpu()) {
      at::parallel_for(
          0, s.n * s.hw, detail::lrnGrain(s.c),
          [&](int64_t begin, int64_t end) {
            if (nhwc)
              lrnForwardNhwcCpu<Config>(xd, yd, s.n, s.c, s.hw, begin, end);
            else
              lrnForwardCpu<Config>(xd, yd, s.n, s.c, s.hw, begin, end);
          });
    } else {
#ifdef RTML_WITH_CUDA
      c10::cuda::CUDAGuard guard(x.device());
      if (nhwc)
        lrnForwardNhwcCuda<Config>(xd, yd, s.n, s.c, s.hw,
                                   detail::lrnCurrentStream(x));
      else
        lrnForwardCuda<Config>(xd, yd, s.n, s.c, s.hw,
                               detail::lrnCurrentStream(x));
#endif
    }
  }

  static torch::autograd::variable_list
  backward(torch::autograd::AutogradContext *ctx,
           torch::autograd::variable_list gradOutputs) {
    RECORD_USER_SCOPE(kBackwardName);
    torch::autograd::variable_list saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0];
    const detail::LrnShape s = detail::lrnShape(x);
    const bool nhwc = ctx->saved_data["nhwc"].toBool();
    const at::MemoryFormat format = detail::lrnMemoryFormat(nhwc);
    // The gradient arrives in the output's type (autograd casts it back).
    at::Tensor gy = gradOutputs[0].to(x.scalar_type()).contiguous(format);
    at::Tensor gx = at::empty_like(x, format);
    if (x.scalar_type() == at::kBFloat16)
      runBackward(x, detail::lrnData<Bf16>(x), detail::lrnData<Bf16>(gy),
                  detail::lrnData<Bf16>(gx), s, nhwc);
    else
      runBackward(x, detail::lrnData<float>(x), detail::lrnData<float>(gy),
                  detail::lrnData<float>(gx), s, nhwc);
    return {gx};
  }

  /// The backward in element type Elem, in NHWC or NCHW.
  template <class Elem>
  static void runBackward(const at::Tensor &x, const Elem *xd, const Elem *gyd,
                          Elem *gxd, const detail::LrnShape &s, bool nhwc) {
    if (x.is_cpu()) {
      at::parallel_for(0, s.n * s.hw, detail::lrnGrain(s.c),
                       [&](int64_t begin, int64_t end) {
                         if (nhwc)
                           lrnBackwardNhwcCpu<Config>(xd, gyd, gxd, s.n, s.c,
                                                      s.hw, begin, end);
                         else
                           lrnBackwardCpu<Config>(xd, gyd, gxd, s.n, s.c, s.hw,
                                                  begin, end);
                       });
    } else {
#ifdef RTML_WITH_CUDA
      c10::cuda::CUDAGuard guard(x.device());
      if (nhwc)
        lrnBackwardNhwcCuda<Config>(xd, gyd, gxd, s.n, s.c, s.hw,
                                    detail::lrnCurrentStream(x));
      else
        lrnBackwardCuda<Config>(xd, gyd, gxd, s.n, s.c, s.hw,
                                detail::lrnCurrentStream(x));
#endif
    }
  }
};

/// y = lrn(relu(x)) if Config::kRelu, else lrn(x), with PyTorch's
/// local_response_norm semantics (size Config::kSize, alpha/size, beta, k),
/// differentiable once. X: float32 or bfloat16 (the bf16 variant: float
/// arithmetic inside, bf16 out), [N, C, ...], on the CPU or (with
/// RTML_WITH_CUDA) a CUDA device. A channels_last X runs the NHWC kernels
/// and gives a channels_last result; any other layout is made contiguous.
template <class Config> at::Tensor localResponseNorm(const at::Tensor &x) {
  return LrnFunction<Config>::apply(x);
}

} // namespace rtml::kernels

#endif // RTML_RUNTIME_KERNELS_LRNOP_H
