//===- BiasReluOp.cpp - rtml.bias_relu and the bias its convolution keeps -===//
//
// Where rtml-bias-epilogue moves a convolution's bias into the ReLU that
// reads it, per device kind (Ops.h, BiasAdd): there the convolution runs
// without its bias (convBias) and biasRelu adds it in the ReLU's pass (the
// kernel of Kernels/BiasRelu.h: its CPU twin, or its CUDA kernel on the
// current stream). Elsewhere the two are conv2d and relu as before, so
// those results keep their bits.
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
    return out;
  }

  static torch::autograd::variable_list
  backward(torch::autograd::AutogradContext *ctx,
           torch::autograd::variable_list gradOutputs) {
    RECORD_USER_SCOPE("rtml::bias_relu_backward");
    const at::Tensor out = ctx->get_saved_variables()[0];
    // As at::relu's backward; the bias's gradient is the sum over the
    // batch and the pixels that the convolution's backward would have
    // taken, in float.
    at::Tensor gradInput = at::threshold_backward(gradOutputs[0], out, 0);
    std::vector<int64_t> dims = {0};
    for (int64_t d = 2; d < out.dim(); ++d)
      dims.push_back(d);
    at::Tensor gradBias =
        at::sum(gradInput, dims, /*keepdim=*/false, at::kFloat);
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
