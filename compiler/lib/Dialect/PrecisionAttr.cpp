//===- PrecisionAttr.cpp - The precision decision as IR attributes --------===//
#include "rtml/Dialect/PrecisionAttr.h"
#include "rtml/Dialect/RtmlOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;

namespace rtml {

StringRef deviceKindName(DeviceKind kind) {
  return kind == DeviceKind::Cuda ? "cuda" : "cpu";
}

Math resolvePrecision(Precision mode, DeviceKind kind) {
  switch (mode) {
  case Precision::Auto:
    return kind == DeviceKind::Cuda ? Math::Bf16 : Math::Fp32;
  case Precision::Tf32:
    return kind == DeviceKind::Cuda ? Math::Tf32 : Math::Fp32;
  case Precision::Fp32:
  case Precision::Bf16:
    break;
  }
  return mode;
}

Type mathType(MLIRContext *context, Math math) {
  Builder b(context);
  switch (math) {
  case Math::Tf32:
    return b.getTF32Type();
  case Math::Bf16:
    return b.getBF16Type();
  case Math::Auto:
  case Math::Fp32:
    break;
  }
  return b.getF32Type();
}

std::optional<Math> mathOfType(Type type) {
  if (type.isF32())
    return Math::Fp32;
  if (type.isTF32())
    return Math::Tf32;
  if (type.isBF16())
    return Math::Bf16;
  return std::nullopt;
}

/// The spelling of MATH in rtml.precision: the setting's ("fp32").
static const char *mathName(Math math) {
  return settings::kPrecisionInfo.names[static_cast<int>(math)];
}

DictionaryAttr precisionPolicyAttr(Builder &b, ArrayRef<Math> perKind) {
  SmallVector<NamedAttribute> entries;
  for (auto [kind, math] : llvm::zip_equal(kDeviceKinds, perKind))
    entries.push_back(
        b.getNamedAttr(deviceKindName(kind), b.getStringAttr(mathName(math))));
  return b.getDictionaryAttr(entries);
}

DictionaryAttr computeTypeAttr(Builder &b, ArrayRef<Type> perKind) {
  SmallVector<NamedAttribute> entries;
  for (auto [kind, type] : llvm::zip_equal(kDeviceKinds, perKind))
    entries.push_back(
        b.getNamedAttr(deviceKindName(kind), TypeAttr::get(type)));
  return b.getDictionaryAttr(entries);
}

/// The math of one entry: a name in rtml.precision, a type in
/// rtml.compute_type.
static std::optional<Math> entryMath(Attribute entry) {
  if (auto type = dyn_cast_or_null<TypeAttr>(entry))
    return mathOfType(type.getValue());
  if (auto name = dyn_cast_or_null<StringAttr>(entry)) {
    int64_t index = settings::enumIndex(settings::kPrecisionInfo, name.str());
    if (index > 0) // not auto: a policy is resolved
      return static_cast<Math>(index);
  }
  return std::nullopt;
}

SmallVector<Math> policyOf(DictionaryAttr attr) {
  SmallVector<Math> out;
  for (DeviceKind kind : kDeviceKinds)
    out.push_back(
        entryMath(attr.get(deviceKindName(kind))).value_or(Math::Fp32));
  return out;
}

/// The math OP's rtml.compute_type names for KIND; Fp32 where OP has none
/// (or an unverified one: ParamOp's verifier asks its reader's).
static Math computeMathOf(Operation *op, DeviceKind kind) {
  auto computeType = op->getAttrOfType<DictionaryAttr>(kComputeTypeAttr);
  return computeType ? policyOf(computeType)[static_cast<int>(kind)]
                     : Math::Fp32;
}

bool hasOneBf16Reader(Value param, DeviceKind kind) {
  if (!param.hasOneUse())
    return false;
  Operation *reader = *param.getUsers().begin();
  return isa<Conv2dOp, SiblingConv2dOp, LinearOp>(reader) &&
         computeMathOf(reader, kind) == Math::Bf16;
}

/// Checks a per-device-kind dictionary: exactly the device kinds, each
/// entry a math (WHAT describes one).
static LogicalResult verifyPerKind(Operation *op, NamedAttribute attr,
                                   StringRef what) {
  StringRef name = attr.getName().getValue();
  auto dict = dyn_cast<DictionaryAttr>(attr.getValue());
  auto fail = [&]() {
    return op->emitOpError() << "'" << name
                             << "' must be a dictionary {cpu = ..., cuda = "
                                "...} of "
                             << what;
  };
  if (!dict || dict.size() != std::size(kDeviceKinds))
    return fail();
  for (DeviceKind kind : kDeviceKinds) {
    Attribute entry = dict.get(deviceKindName(kind));
    bool typed = name == kComputeTypeAttr;
    if (!entry || typed != isa<TypeAttr>(entry) || !entryMath(entry))
      return fail();
    if (kind == DeviceKind::Cpu && entryMath(entry) == Math::Tf32)
      return op->emitOpError() << "'" << name
                               << "' asks for TF32 on the CPU, which has "
                                  "none";
  }
  return success();
}

LogicalResult verifyPrecisionAttr(Operation *op, NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  if (name == kPrecisionAttr) {
    if (!isa<ModuleOp>(op))
      return op->emitOpError() << "'" << name << "' is a module attribute";
    return verifyPerKind(op, attr, "fp32, tf32 or bf16");
  }
  if (name == kComputeTypeAttr)
    return verifyPerKind(op, attr, "f32, tf32 or bf16");
  // rtml.accumulate_type: the fused kernels sum in f32 only.
  auto type = dyn_cast<TypeAttr>(attr.getValue());
  if (!type || !type.getValue().isF32())
    return op->emitOpError()
           << "'" << name << "' must be f32 (the kernels sum in f32)";
  return success();
}

} // namespace rtml
