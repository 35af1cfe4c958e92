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

namespace rtml::ops {

/// rtml.transfer: INPUT, produced on logical device FROM, on the physical
/// device of logical device TO (DeviceMap.h). Asynchronous and ordered by
/// an event after FROM's stream when a DeviceStreams scope is active;
/// differentiable; counted in transferBytes().
at::Tensor toDevice(const at::Tensor &input, int64_t to, int64_t from);

} // namespace rtml::ops

#endif // RTML_RUNTIME_OPS_H
