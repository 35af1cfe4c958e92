//===- BiasReluOp.cpp - rtml.bias_relu and the bias its convolution keeps -===//
//
// Where rtml-bias-epilogue moves a convolution's bias into the ReLU that
// reads it, per device kind (Ops.h, BiasAdd): there the convolution runs
// without its bias (convBias) and biasRelu adds it in the ReLU's pass (the
// kernel of Kernels/BiasRelu.h: its CPU twin, or its CUDA kernel on the
// current stream). Its backward writes the input's gradient and sums the
// bias's in one pass (the same header's backward). Elsewhere the two are
// conv2d and relu as before, so those results keep their bits.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Kernels/BiasRelu.h"
#include "rtml/Runtime/Kernels/PixelStride.h"
#include "rtml/Runtime/Ops.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/csrc/autograd/custom_function.h>

#ifdef RTML_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace rtml::ops {

namespace {

BiasAdd placementOn(const at::Tensor &t, BiasAdd onCpu, BiasAdd onCuda) {
  return t.is_cuda() ? onCuda : onCpu;
}

/// The kernel's view of INPUT, which is read in place where its layout
/// allows (NCHW with each image's block dense, or NHWC pixel by pixel,
/// channel slices included), else from a dense copy (COPY).
kernels::BiasReluArgs argsFor(const at::Tensor &input, at::Tensor &copy) {
  const int64_t n = input.size(0), c = input.size(1);
  const int64_t pixels = n * c == 0 ? 0 : input.numel() / (n * c);
  kernels::BiasReluArgs a{};
  a.n = n;
  a.channels = c;
  a.pixels = pixels;
  a.bf16 = input.scalar_type() == at::kBFloat16;
  const int64_t pixelStride = kernels::detail::nhwcPixelStride(input);
  // Dense NCHW (a 1x1 image is both) takes the NCHW kernel.
  a.nhwc = pixelStride != 0 && !input.is_contiguous();
  copy = input;
  if (a.nhwc) {
    a.pixelStride = pixelStride;
    a.imageStride = pixels * pixelStride;
  } else {
    // Each image's [c, pixels] block must be dense; the image stride is free
    // (a channel slice of a wider NCHW tensor).
    bool blockDense = n == 0 || input.select(0, 0).is_contiguous();
    if (!blockDense)
      copy = input.contiguous();
    a.pixelStride = 1;
    a.imageStride = n > 1 ? copy.stride(0) : c * pixels;
  }
  a.in = copy.data_ptr();
  return a;
}

struct BiasReluFunction : torch::autograd::Function<BiasReluFunction> {
  // The names `bench --profile` shows: the kernel runs outside ATen's
  // dispatcher, which names only the ops it runs.
  static at::Tensor forward(torch::autograd::AutogradContext *ctx,
                            const at::Tensor &input, const at::Tensor &bias) {
    RECORD_USER_SCOPE("rtml::bias_relu");
    at::Tensor copy;
    kernels::BiasReluArgs a = argsFor(input, copy);
    at::Tensor b = bias.contiguous();
    a.bias = b.data_ptr<float>();
    at::Tensor out = at::empty(
        input.sizes(),
        input.options().memory_format(a.nhwc ? at::MemoryFormat::ChannelsLast
                                             : at::MemoryFormat::Contiguous));
    a.out = out.data_ptr();
    if (input.is_cuda()) {
#ifdef RTML_WITH_CUDA
      c10::cuda::CUDAGuard guard(input.device());
      kernels::biasReluCuda(
          a, c10::cuda::getCurrentCUDAStream(input.device().index()).stream());
#endif
    } else {
      const int64_t run = a.nhwc ? a.channels : a.pixels;
      at::parallel_for(0, kernels::biasReluRows(a),
                       std::max<int64_t>(1, 32768 / std::max<int64_t>(1, run)),
                       [&](int64_t begin, int64_t end) {
                         kernels::biasReluCpu(a, begin, end);
                       });
    }
    ctx->save_for_backward({out});
    ctx->saved_data["nhwc"] = a.nhwc;
    return out;
  }

  static torch::autograd::variable_list
  backward(torch::autograd::AutogradContext *ctx,
           torch::autograd::variable_list gradOutputs) {
    RECORD_USER_SCOPE("rtml::bias_relu_backward");
    const at::Tensor out = ctx->get_saved_variables()[0];
    const bool nhwc = ctx->saved_data["nhwc"].toBool();
    // The kernel reads the upstream gradient dense in the output's layout
    // and type (autograd hands it over in the output's type, mostly so).
    const at::Tensor gradOut =
        gradOutputs[0]
            .to(out.scalar_type())
            .contiguous(nhwc ? at::MemoryFormat::ChannelsLast
                             : at::MemoryFormat::Contiguous);
    at::Tensor gradInput = at::empty_like(out);
    at::Tensor gradBias =
        at::empty({out.size(1)}, out.options().dtype(at::kFloat));
    kernels::BiasReluBackwardArgs a{};
    a.gradOut = gradOut.data_ptr();
    a.out = out.data_ptr();
    a.gradIn = gradInput.data_ptr();
    a.gradBias = gradBias.data_ptr<float>();
    a.n = out.size(0);
    a.channels = out.size(1);
    a.pixels = a.n * a.channels == 0 ? 0 : out.numel() / (a.n * a.channels);
    a.bf16 = out.scalar_type() == at::kBFloat16;
    a.nhwc = nhwc;
    at::Tensor scratch =
        at::empty({kernels::biasReluBackwardScratch(a)}, gradBias.options());
    a.scratch = scratch.data_ptr<float>();
    if (out.is_cuda()) {
#ifdef RTML_WITH_CUDA
      c10::cuda::CUDAGuard guard(out.device());
      kernels::biasReluBackwardCuda(
          a, c10::cuda::getCurrentCUDAStream(out.device().index()).stream());
#endif
    } else {
      kernels::biasReluBackwardCpu(
          a, [](int64_t count, int64_t grain, const auto &fn) {
            at::parallel_for(0, count, grain, fn);
          });
    }
    return {gradInput, gradBias};
  }
};

} // namespace

at::Tensor convBias(const at::Tensor &bias, BiasAdd onCpu, BiasAdd onCuda) {
  if (!bias.defined() || placementOn(bias, onCpu, onCuda) == BiasAdd::InConv)
    return bias;
  return at::Tensor();
}

at::Tensor epilogueBias(const at::Tensor &bias, BiasAdd onCpu, BiasAdd onCuda) {
  if (!bias.defined() ||
      placementOn(bias, onCpu, onCuda) == BiasAdd::InEpilogue)
    return bias;
  return at::Tensor();
}

at::Tensor biasRelu(const at::Tensor &input, const at::Tensor &bias,
                    BiasAdd onCpu, BiasAdd onCuda) {
  if (placementOn(input, onCpu, onCuda) == BiasAdd::InConv)
    return at::relu(input);
  TORCH_CHECK(input.dim() >= 2,
              "bias_relu: expected an input [N, C, ...], got ", input.sizes());
  TORCH_CHECK(input.scalar_type() == at::kFloat ||
                  input.scalar_type() == at::kBFloat16,
              "bias_relu: only float32 and bfloat16 inputs are supported, got ",
              input.scalar_type());
  TORCH_CHECK(bias.dim() == 1 && bias.size(0) == input.size(1) &&
                  bias.scalar_type() == at::kFloat,
              "bias_relu: expected a float32 bias of ", input.size(1),
              " channels, got ", bias.scalar_type(), " ", bias.sizes());
  TORCH_CHECK(bias.device() == input.device(), "bias_relu: input on ",
              input.device(), " but bias on ", bias.device());
#ifndef RTML_WITH_CUDA
  TORCH_CHECK(!input.is_cuda(),
              "bias_relu: this runtime was built without CUDA");
#endif
  TORCH_CHECK(input.is_cpu() || input.is_cuda(),
              "bias_relu: unsupported device ", input.device());
  return BiasReluFunction::apply(input, bias);
}

} // namespace rtml::ops
