//===- Ops.h - The op library emitted models call -------------------------===//
//
// One function per rtml dialect op, with the op's attributes as arguments in
// the order the dialect declares them: the declarations are generated from
// RtmlOps.td (OpDecls.h), so a call the emitter writes always fits. Each is
// differentiable through LibTorch's autograd and has PyTorch's semantics
// (the report's models are PyTorch models: outputs must agree to float
// rounding); the definitions are in runtime/lib/Ops.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_OPS_H
#define RTML_RUNTIME_OPS_H

#include "rtml/Runtime/OpDecls.h"
#include "rtml/Support/TrainSettings.h"

namespace rtml::ops {

/// rtml.transfer: INPUT, produced on logical device FROM, on the physical
/// device of logical device TO (DeviceMap.h). Asynchronous and ordered by
/// an event after FROM's stream when a DeviceStreams scope is active;
/// differentiable; counted in transferBytes().
at::Tensor toDevice(const at::Tensor &input, int64_t to, int64_t from);

/// rtml.sibling_conv2d: conv2d(INPUT, WEIGHTS[i], BIASES[i]) for every i,
/// computed as one convolution by the weights concatenated along their
/// output channels (BIASES empty: none has a bias; an undefined one: that
/// result's bias is added by its rtml.bias_relu, see convBias). The results
/// are that convolution's output split by channels, one per weight, in
/// order: views of it, in its layout; where only some results have a
/// defined bias, theirs is added to them alone. Differentiable.
std::vector<at::Tensor>
siblingConv2d(const at::Tensor &input, at::TensorList weights,
              at::TensorList biases, c10::IntArrayRef stride,
              c10::IntArrayRef padding, c10::IntArrayRef dilation);

/// Where a convolution's bias is added on one kind of device
/// (rtml.bias_relu, decided by rtml-bias-epilogue): by the convolution, or
/// by the ReLU that reads its output, in the same pass.
enum class BiasAdd { InConv, InEpilogue };

/// The bias operand of a convolution whose output an rtml.bias_relu reads:
/// BIAS where its device kind adds it InConv, else none (undefined).
at::Tensor convBias(const at::Tensor &bias, BiasAdd onCpu, BiasAdd onCuda);

/// A fused concat's operand for an input that adds its convolution's bias:
/// BIAS where its device kind adds it InEpilogue, else none (undefined), the
/// complement of convBias.
at::Tensor epilogueBias(const at::Tensor &bias, BiasAdd onCpu, BiasAdd onCuda);

/// rtml.bias_relu: relu(INPUT + BIAS[c]) where INPUT's device kind adds the
/// bias InEpilogue (INPUT is then its convolution's output without it; one
/// kernel), else relu(INPUT) (the convolution added it). INPUT is [N, C,
/// ...], float or bf16, dense or a channel slice in NCHW or NHWC; BIAS is
/// float [C]; the result is dense in INPUT's layout. Differentiable, the
/// bias's gradient in float.
at::Tensor biasRelu(const at::Tensor &input, const at::Tensor &bias,
                    BiasAdd onCpu, BiasAdd onCuda);

/// The memory layout of an [N, C, H, W] tensor: contiguous, or PyTorch's
/// channels_last.
enum class Layout { Nchw, Nhwc };

/// rtml.to_layout: INPUT in layout ON_CPU if it is a CPU tensor, ON_CUDA if
/// a CUDA one (the layout is chosen per device kind, since the physical
/// device is known only here). No copy when INPUT is in it already;
/// differentiable (the gradient comes back in INPUT's layout).
at::Tensor toLayout(const at::Tensor &input, Layout onCpu, Layout onCuda);

/// An operand of an op with an rtml.compute_type: T in the type of the
/// precision of T's device kind (CPU or CUDA), bf16 for Bf16, float
/// otherwise; T itself (no copy) when it already is, or is not a floating
/// tensor. Differentiable: the gradient of a cast parameter reaches its f32
/// master copy.
at::Tensor inPrecision(const at::Tensor &t, Precision cpu, Precision cuda);

/// The module's rtml.precision, applied before the first op of a step on
/// INPUT's device: on CUDA, TF32 convolutions and matmuls on for Tf32, off
/// otherwise (the backward runs under the same setting); nothing on the CPU.
void usePrecision(const at::Tensor &input, Precision cpu, Precision cuda);

} // namespace rtml::ops

#endif // RTML_RUNTIME_OPS_H
