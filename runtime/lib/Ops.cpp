//===- Ops.cpp - The op library emitted models call -----------------------===//
//
// Thin wrappers over ATen with PyTorch's nn semantics, so autograd gives every
// backward for free. lrn follows torch.nn.functional.local_response_norm op by
// op (square, pad, avg_pool3d, scale, pow, divide) so that results agree with
// PyTorch bit for bit, not just to rounding.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Ops.h"

#include "MaxPoolCpu.h"

#include <ATen/ATen.h>

namespace rtml::ops {

at::Tensor conv2d(const at::Tensor &input, const at::Tensor &weight,
                  const at::Tensor &bias, c10::IntArrayRef stride,
                  c10::IntArrayRef padding, c10::IntArrayRef dilation,
                  int64_t groups) {
  return at::conv2d(input, weight, bias, stride, padding, dilation, groups);
}

std::vector<at::Tensor>
siblingConv2d(const at::Tensor &input, at::TensorList weights,
              at::TensorList biases, c10::IntArrayRef stride,
              c10::IntArrayRef padding, c10::IntArrayRef dilation) {
  TORCH_CHECK(!weights.empty(), "sibling_conv2d: no weights");
  TORCH_CHECK(biases.empty() || biases.size() == weights.size(),
              "sibling_conv2d: ", biases.size(), " biases for ", weights.size(),
              " weights");
  std::vector<int64_t> channels;
  for (const at::Tensor &weight : weights)
    channels.push_back(weight.size(0));
  // The convolution adds the biases when every result has one; where only
  // some have (the others' are added by their rtml.bias_relu), it runs
  // without, and those are added to their results alone.
  size_t defined = 0;
  for (const at::Tensor &bias : biases)
    defined += bias.defined();
  bool allBiased = !biases.empty() && defined == biases.size();
  at::Tensor output = at::conv2d(input, at::cat(weights),
                                 allBiased ? at::cat(biases) : at::Tensor(),
                                 stride, padding, dilation, /*groups=*/1);
  // Views, no copy. In NCHW each image's slice is one dense block. In
  // channels_last a slice is a run of channels per pixel, dense in neither
  // layout: a ReLU and the fused concat read it as it is, and batchNorm (and
  // the concat's batch norm inputs) copy it dense themselves, so that a
  // slice is copied only where that is needed.
  std::vector<at::Tensor> results =
      output.split_with_sizes(channels, /*dim=*/1);
  if (!allBiased && defined > 0)
    for (size_t i = 0; i < results.size(); ++i)
      if (biases[i].defined())
        results[i] = results[i] + biases[i].view({1, -1, 1, 1});
  return results;
}

at::Tensor relu(const at::Tensor &input) { return at::relu(input); }

at::Tensor tanh(const at::Tensor &input) { return at::tanh(input); }

at::Tensor sigmoid(const at::Tensor &input) { return at::sigmoid(input); }

at::Tensor leakyRelu(const at::Tensor &input, double negativeSlope) {
  return at::leaky_relu(input, negativeSlope);
}

at::Tensor lrn(const at::Tensor &input, int64_t size, double alpha, double beta,
               double k) {
  TORCH_CHECK(input.dim() >= 3,
              "lrn: expected an input with at least 3 "
              "dimensions [N, C, ...], got ",
              input.sizes());
  TORCH_CHECK(size >= 1, "lrn: size must be positive, got ", size);
  auto sizes = input.sizes();
  // [N, 1, C, H, W*...]: the channel window becomes a depth window of a 3-D
  // average pool, zero padded size/2 before and (size-1)/2 after.
  at::Tensor div = input.mul(input).unsqueeze(1).reshape(
      {sizes[0], 1, sizes[1], input.dim() > 2 ? sizes[2] : 1, -1});
  div = at::constant_pad_nd(div, {0, 0, 0, 0, size / 2, (size - 1) / 2}, 0);
  div = at::avg_pool3d(div, {size, 1, 1}, /*stride=*/{1, 1, 1}).squeeze(1);
  div = div.view(sizes);
  div = div.mul(alpha).add(k).pow(beta);
  return input / div;
}

at::Tensor maxPool2d(const at::Tensor &input, c10::IntArrayRef kernel,
                     c10::IntArrayRef stride, c10::IntArrayRef padding,
                     bool ceilMode) {
  if (kernel.size() == 2 && stride.size() == 2 && padding.size() == 2)
    if (std::optional<at::Tensor> lanes = detail::maxPool2dCpu(
            input, {kernel[0], kernel[1], stride[0], stride[1], padding[0],
                    padding[1], ceilMode}))
      return *lanes;
  return at::max_pool2d(input, kernel, stride, padding, /*dilation=*/{1, 1},
                        ceilMode);
}

at::Tensor adaptiveAvgPool2d(const at::Tensor &input,
                             c10::IntArrayRef outputSize) {
  return at::adaptive_avg_pool2d(input, outputSize);
}

at::Tensor flatten(const at::Tensor &input) { return input.flatten(1); }

at::Tensor dropout(const at::Tensor &input, double p, bool training) {
  return at::dropout(input, p, training);
}

at::Tensor linear(const at::Tensor &input, const at::Tensor &weight,
                  const at::Tensor &bias) {
  // at::linear as is: with OpenBLAS (which setup installs) its products use
  // every thread; slicing them by hand over threads, as rtml once did for
  // Debian's single-threaded reference BLAS, measured slower.
  return at::linear(input, weight, bias);
}

at::Tensor avgPool2d(const at::Tensor &input, c10::IntArrayRef kernel,
                     c10::IntArrayRef stride, c10::IntArrayRef padding,
                     bool ceilMode, bool countIncludePad) {
  return at::avg_pool2d(input, kernel, stride, padding, ceilMode,
                        countIncludePad);
}

at::Tensor batchNorm(const at::Tensor &input, const at::Tensor &weight,
                     const at::Tensor &bias, const at::Tensor &runningMean,
                     const at::Tensor &runningVar,
                     const at::Tensor &numBatchesTracked, double eps,
                     double momentum, bool training) {
  if (training) {
    c10::NoGradGuard noGrad;
    numBatchesTracked.add_(1);
  }
  // A channel slice (siblingConv2d's results) is copied dense in its layout
  // once, here: ATen's batch norm would copy an NCHW one itself and take a
  // slow path on a channels_last one, which is dense in neither layout.
  return at::batch_norm(input.contiguous(input.suggest_memory_format()), weight,
                        bias, runningMean, runningVar, training, momentum, eps,
                        /*cudnn_enabled=*/true);
}

at::Tensor concat(c10::ArrayRef<at::Tensor> inputs) {
  return at::cat(inputs, /*dim=*/1);
}

at::Tensor add(c10::ArrayRef<at::Tensor> inputs) {
  at::Tensor sum = inputs.front();
  for (size_t i = 1; i < inputs.size(); ++i)
    sum = sum + inputs[i];
  return sum;
}

at::Tensor toLayout(const at::Tensor &input, Layout onCpu, Layout onCuda) {
  Layout layout = input.is_cuda() ? onCuda : onCpu;
  return input.contiguous(layout == Layout::Nhwc
                              ? at::MemoryFormat::ChannelsLast
                              : at::MemoryFormat::Contiguous);
}

} // namespace rtml::ops
