//===- ConcatReluOp.h - LibTorch autograd glue for the concat of ReLUs ----===//
//
// What a model's emitted kernels.cpp calls for each fused concat of ReLUs:
//
//   at::Tensor rtml_concat_relu_0(const std::vector<at::Tensor> &inputs) {
//     return rtml::kernels::concatRelu<ConcatReluConfig_0>(inputs);
//   }
//
// A custom autograd function runs the CPU twin (parallel over output rows)
// on CPU tensors and, when built with RTML_WITH_CUDA (the model's kernels.cu
// is compiled and linked), the CUDA kernels on the current stream for CUDA
// tensors. It saves only the output (the ReLU mask). Included by every
// emitted kernels.cpp, so it pulls in only the autograd-function header, not
// <torch/torch.h>.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_CONCATRELUOP_H
#define RTML_RUNTIME_KERNELS_CONCATRELUOP_H

#include "rtml/Runtime/Kernels/ConcatRelu.h"

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/custom_function.h>

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
    TORCH_CHECK(x.scalar_type() == at::kFloat,
                "rtml concat+ReLU: only float32 is supported, input ", i,
                " is ", x.scalar_type());
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

/// Output rows per at::parallel_for chunk: about 32K floats per chunk.
inline int64_t concatReluGrain(int64_t hw) {
  int64_t grain = 32768 / (hw > 0 ? hw : 1);
  return grain < 1 ? 1 : grain;
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

  static at::Tensor forward(torch::autograd::AutogradContext *ctx,
                            at::TensorList inputs) {
    const detail::ConcatReluShape s = detail::concatReluShape<Config>(inputs);
    std::vector<at::Tensor> xs;
    xs.reserve(T::kInputs);
    const float *xd[T::kInputs];
    for (int i = 0; i < T::kInputs; ++i) {
      xs.push_back(inputs[i].contiguous());
      xd[i] = xs.back().data_ptr<float>();
    }
    at::Tensor y = at::empty(s.outputSizes, xs[0].options());
    float *yd = y.data_ptr<float>();
    if (y.is_cpu()) {
      at::parallel_for(0, s.n * T::kTotalChannels,
                       detail::concatReluGrain(s.hw),
                       [&](int64_t begin, int64_t end) {
                         concatReluForwardCpu<Config>(xd, yd, s.n, s.hw,
                                                      begin, end);
                       });
    } else {
#ifdef RTML_WITH_CUDA
      c10::cuda::CUDAGuard guard(y.device());
      concatReluForwardCuda<Config>(xd, yd, s.n, s.hw,
                                    detail::concatReluCurrentStream(y));
#endif
    }
    // The output is the whole state of the backward (the ReLU mask); the
    // inputs' sizes come back from it and the config.
    bool anyGrad = false;
    for (const at::Tensor &x : inputs)
      anyGrad = anyGrad || x.requires_grad();
    if (anyGrad)
      ctx->save_for_backward({y});
    return y;
  }

  static torch::autograd::variable_list
  backward(torch::autograd::AutogradContext *ctx,
           torch::autograd::variable_list gradOutputs) {
    torch::autograd::variable_list saved = ctx->get_saved_variables();
    const at::Tensor &y = saved[0];
    torch::autograd::variable_list gradInputs(T::kInputs);
    if (!gradOutputs[0].defined())
      return gradInputs;
    at::Tensor gy = gradOutputs[0].contiguous();
    const int64_t n = y.size(0);
    int64_t hw = 1;
    for (int64_t d = 2; d < y.dim(); ++d)
      hw *= y.size(d);
    float *gxd[T::kInputs];
    std::vector<int64_t> sizes = y.sizes().vec();
    for (int i = 0; i < T::kInputs; ++i) {
      gxd[i] = nullptr;
      if (!ctx->needs_input_grad(i))
        continue;
      sizes[1] = Config::kChannels[i];
      gradInputs[i] = at::empty(sizes, y.options());
      gxd[i] = gradInputs[i].data_ptr<float>();
    }
    const float *gyd = gy.data_ptr<float>(), *yd = y.data_ptr<float>();
    if (y.is_cpu()) {
      at::parallel_for(0, n * T::kTotalChannels, detail::concatReluGrain(hw),
                       [&](int64_t begin, int64_t end) {
                         concatReluBackwardCpu<Config>(gyd, yd, gxd, n, hw,
                                                       begin, end);
                       });
    } else {
#ifdef RTML_WITH_CUDA
      c10::cuda::CUDAGuard guard(y.device());
      concatReluBackwardCuda<Config>(gyd, yd, gxd, n, hw,
                                     detail::concatReluCurrentStream(y));
#endif
    }
    return gradInputs;
  }
};

/// at::cat({relu(inputs[0]), relu(inputs[1]), ...}, 1) in one pass, each
/// ReLU written straight into its channel slice, differentiable once (the
/// backward splits the gradient and applies each ReLU's mask in one pass).
/// INPUTS: Config::kInputs float32 tensors [N, Config::kChannels[i], ...]
/// with equal N and trailing sizes, on the CPU or (with RTML_WITH_CUDA) one
/// CUDA device; any layout (made contiguous).
template <class Config>
at::Tensor concatRelu(const std::vector<at::Tensor> &inputs) {
  return ConcatReluFunction<Config>::apply(at::TensorList(inputs));
}

} // namespace rtml::kernels

#endif // RTML_RUNTIME_KERNELS_CONCATRELUOP_H
