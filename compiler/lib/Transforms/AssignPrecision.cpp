//===- AssignPrecision.cpp - precision setting -> per-op compute types ----===//
//
// Logical devices are mapped onto CPUs or CUDA GPUs only when the trainer
// starts, so the decision is made for both kinds and the emitted code picks
// the entry of the device each op runs on.
//
//===----------------------------------------------------------------------===//
#include "rtml/Dialect/PrecisionAttr.h"
#include "rtml/Dialect/RtmlOps.h"
#include "rtml/Dialect/SettingsAttr.h"
#include "rtml/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/TypeSwitch.h"

namespace rtml {
#define GEN_PASS_DEF_ASSIGNPRECISION
#include "rtml/Transforms/Passes.h.inc"
} // namespace rtml

using namespace mlir;
using namespace rtml;

namespace {

/// How an op's math follows the device kind's.
enum class OpClass {
  Untouched, ///< runs in its input's type (ReLU, pooling, concat, ...)
  Matmul,    ///< convolution, linear: the device kind's math
  Kernel,    ///< the fused LRN / concat kernels: bf16 data, f32 sums
  Reduction, ///< batch norm: f32 statistics
  Loss,      ///< the returned logits: the loss and its softmax in f32
};

OpClass classify(Operation *op) {
  return llvm::TypeSwitch<Operation *, OpClass>(op)
      .Case<Conv2dOp, SiblingConv2dOp, LinearOp>(
          [](auto) { return OpClass::Matmul; })
      .Case<LrnOp, ReluLrnOp, ConcatReluOp>(
          [](auto) { return OpClass::Kernel; })
      .Case<BatchNormOp>([](auto) { return OpClass::Reduction; })
      .Case<func::ReturnOp>([](auto) { return OpClass::Loss; })
      .Default([](Operation *) { return OpClass::Untouched; });
}

/// The element type of an op of class KIND where the device's math is MATH.
Math opMath(OpClass kind, Math math) {
  switch (kind) {
  case OpClass::Matmul:
    return math;
  case OpClass::Kernel:
    return math == Math::Bf16 ? Math::Bf16 : Math::Fp32;
  case OpClass::Untouched:
  case OpClass::Reduction:
  case OpClass::Loss:
    break;
  }
  return Math::Fp32;
}

struct AssignPrecisionPass
    : rtml::impl::AssignPrecisionBase<AssignPrecisionPass> {
  using AssignPrecisionBase::AssignPrecisionBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<Precision> requested = requestedMode(module);
    if (!requested)
      return signalPassFailure();
    Builder b(&getContext());
    SmallVector<Math> policy;
    for (DeviceKind kind : kDeviceKinds)
      policy.push_back(resolvePrecision(*requested, kind));
    module->setAttr(kPrecisionAttr, precisionPolicyAttr(b, policy));

    module.walk([&](Operation *op) {
      OpClass kind = classify(op);
      if (kind == OpClass::Untouched)
        return;
      SmallVector<Type> types;
      for (Math math : policy)
        types.push_back(mathType(&getContext(), opMath(kind, math)));
      op->setAttr(kComputeTypeAttr, computeTypeAttr(b, types));
      if (kind == OpClass::Kernel)
        op->setAttr(kAccumulateTypeAttr, TypeAttr::get(b.getF32Type()));
    });
  }

  /// The mode option, written into rtml.train, else rtml.train's setting,
  /// else the setting's default.
  std::optional<Precision> requestedMode(ModuleOp module) {
    const settings::SettingInfo &info =
        *settings::findTrainSetting("precision");
    auto train = module->getAttrOfType<DictionaryAttr>(kTrainAttr);
    if (mode.empty())
      return trainSettingsOf(train).precision;
    int64_t index = settings::enumIndex(settings::kPrecisionInfo, mode);
    if (index < 0) {
      module.emitError() << "unknown precision '" << mode << "' ("
                         << settings::enumChoices(settings::kPrecisionInfo)
                         << ")";
      return std::nullopt;
    }
    if (train) {
      // The trainer's summary and checkpoints record the mode it was built
      // with.
      NamedAttrList entries(train);
      Builder b(&getContext());
      entries.set(info.key, settingAttr(b, info, settings::Value(index)));
      module->setAttr(kTrainAttr, entries.getDictionary(&getContext()));
    }
    return static_cast<Precision>(index);
  }
};

} // namespace
