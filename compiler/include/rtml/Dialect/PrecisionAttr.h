//===- PrecisionAttr.h - The precision decision as IR attributes ----------===//
//
// rtml-assign-precision resolves the model's `precision` setting (rtml.train)
// into attributes that say, per kind of physical device (logical devices are
// mapped onto CPUs or CUDA GPUs only at run time), what each op computes in:
//
//   module attributes {rtml.precision = {cpu = "fp32", cuda = "bf16"}}
//   rtml.conv2d ... {rtml.compute_type = {cpu = f32, cuda = bf16}}
//   rtml.relu_lrn ... {rtml.accumulate_type = f32,
//                      rtml.compute_type = {cpu = f32, cuda = bf16}}
//
// rtml.precision: the math of each device kind (fp32, tf32 or bf16); the
// emitter turns TF32 on or off for CUDA from it, for the whole step.
// rtml.compute_type: the element type an op's tensor operands are cast to,
// and that it computes in and returns, on each device kind: f32, tf32 (f32
// data, TF32 math) or bf16. An op without one takes its operands as they
// come. rtml.accumulate_type: the type a fused kernel sums in (f32).
//
//===----------------------------------------------------------------------===//
#ifndef RTML_DIALECT_PRECISIONATTR_H
#define RTML_DIALECT_PRECISIONATTR_H

#include "rtml/Support/TrainSettings.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Operation.h"

namespace rtml {

constexpr llvm::StringLiteral kPrecisionAttr = "rtml.precision";
constexpr llvm::StringLiteral kComputeTypeAttr = "rtml.compute_type";
constexpr llvm::StringLiteral kAccumulateTypeAttr = "rtml.accumulate_type";

/// The kinds of physical device, as keyed in the attributes above.
enum class DeviceKind { Cpu, Cuda };
constexpr DeviceKind kDeviceKinds[] = {DeviceKind::Cpu, DeviceKind::Cuda};
llvm::StringRef deviceKindName(DeviceKind kind);

/// The math of one device kind: Fp32, Tf32 or Bf16 (never Auto).
using Math = Precision;

/// What MODE means on KIND: Auto is bf16 on CUDA and fp32 on the CPU, and
/// the CPU has no TF32.
Math resolvePrecision(Precision mode, DeviceKind kind);

/// The element type of MATH: f32, tf32 or bf16.
mlir::Type mathType(mlir::MLIRContext *context, Math math);
/// The math of TYPE (f32, tf32 or bf16), if it is one.
std::optional<Math> mathOfType(mlir::Type type);

/// {cpu = "fp32", cuda = "bf16"} and back.
mlir::DictionaryAttr precisionPolicyAttr(mlir::Builder &b,
                                         llvm::ArrayRef<Math> perKind);
/// {cpu = f32, cuda = bf16} from one type per device kind.
mlir::DictionaryAttr computeTypeAttr(mlir::Builder &b,
                                     llvm::ArrayRef<mlir::Type> perKind);

/// The math each device kind's entry of a verified rtml.precision or
/// rtml.compute_type names, in kDeviceKinds order.
llvm::SmallVector<Math> policyOf(mlir::DictionaryAttr attr);

/// Whether PARAM (an rtml.param's result) has one reader and that reader
/// casts it to bf16 on KIND: a convolution or linear layer computing in
/// bf16 there. Batch norm computes in f32 and a fused concat updates its
/// batch norm's tensors in place. Where this holds, the trainer may read
/// the parameter from a bf16 copy (rtml.param's read_as; decided by
/// rtml-bf16-weight-copies, checked by the verifier).
bool hasOneBf16Reader(mlir::Value param, DeviceKind kind);

/// The dialect verifier's checks of the three attributes on OP.
mlir::LogicalResult verifyPrecisionAttr(mlir::Operation *op,
                                        mlir::NamedAttribute attr);

} // namespace rtml

#endif // RTML_DIALECT_PRECISIONATTR_H
