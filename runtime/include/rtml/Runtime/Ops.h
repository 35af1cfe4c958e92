//===- Ops.h - The op library emitted models call -------------------------===//
//
// One function per rtml dialect op, with the op's attributes as arguments in
// the order the dialect declares them. Each is differentiable through
// LibTorch's autograd and has PyTorch's semantics (the report's models are
// PyTorch models: outputs must agree to float rounding).
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_OPS_H
#define RTML_RUNTIME_OPS_H

#include <ATen/core/Tensor.h>
#include <c10/util/ArrayRef.h>

namespace rtml::ops {

/// nn.Conv2d; BIAS may be undefined (no bias).
at::Tensor conv2d(const at::Tensor &input, const at::Tensor &weight,
                  const at::Tensor &bias, c10::IntArrayRef stride,
                  c10::IntArrayRef padding, c10::IntArrayRef dilation,
                  int64_t groups);

at::Tensor relu(const at::Tensor &input);

/// nn.LocalResponseNorm: x / (k + alpha/size * sum_{window} x^2)^beta over
/// SIZE neighbouring channels (PyTorch's and Caffe's convention).
at::Tensor lrn(const at::Tensor &input, int64_t size, double alpha,
               double beta, double k);

at::Tensor maxPool2d(const at::Tensor &input, c10::IntArrayRef kernel,
                     c10::IntArrayRef stride, c10::IntArrayRef padding,
                     bool ceilMode);

at::Tensor adaptiveAvgPool2d(const at::Tensor &input,
                             c10::IntArrayRef outputSize);

/// Flattens every dimension after the batch dimension.
at::Tensor flatten(const at::Tensor &input);

/// nn.Dropout: active only when TRAINING.
at::Tensor dropout(const at::Tensor &input, double p, bool training);

/// nn.Linear; BIAS may be undefined.
at::Tensor linear(const at::Tensor &input, const at::Tensor &weight,
                  const at::Tensor &bias);

/// nn.AvgPool2d (ceil_mode and count_include_pad as in PyTorch).
at::Tensor avgPool2d(const at::Tensor &input, c10::IntArrayRef kernel,
                     c10::IntArrayRef stride, c10::IntArrayRef padding,
                     bool ceilMode, bool countIncludePad);

/// nn.BatchNorm2d: in training, normalizes with the batch statistics and
/// updates RUNNINGMEAN/RUNNINGVAR in place (PyTorch's momentum and unbiased
/// variance) and adds one to NUMBATCHESTRACKED; otherwise uses the running
/// statistics.
at::Tensor batchNorm(const at::Tensor &input, const at::Tensor &weight,
                     const at::Tensor &bias, const at::Tensor &runningMean,
                     const at::Tensor &runningVar,
                     const at::Tensor &numBatchesTracked, bool training,
                     double momentum, double eps);

/// torch.cat along the channel dimension.
at::Tensor concat(c10::ArrayRef<at::Tensor> inputs);

/// Elementwise sum of tensors of one shape.
at::Tensor add(c10::ArrayRef<at::Tensor> inputs);

/// rtml.transfer: INPUT, produced on logical device FROM, on the physical
/// device of logical device TO (DeviceMap.h). Asynchronous and ordered by
/// an event after FROM's stream when a DeviceStreams scope is active;
/// differentiable; counted in transferBytes().
at::Tensor toDevice(const at::Tensor &input, int64_t to, int64_t from);

} // namespace rtml::ops

#endif // RTML_RUNTIME_OPS_H
