//===- RtmlDialect.cpp - Dialect registration and module attributes -------===//
#include "rtml/Dialect/RtmlDialect.h"
#include "rtml/Dialect/RtmlOps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"

using namespace mlir;
using namespace rtml;

#include "rtml/Dialect/RtmlDialect.cpp.inc"

void RtmlDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "rtml/Dialect/RtmlOps.cpp.inc"
      >();
}

namespace {
enum class EntryKind {
  NonNegativeInt,
  PositiveInt,
  AnyInt,
  NonNegativeFloat,
  Bool,
  FloatArray,
  String,
  TransformList
};
struct EntrySchema {
  llvm::StringLiteral name;
  EntryKind kind;
};
} // namespace

// The keys the emitter reads; the runtime's TrainConfig and DataConfig.
static const EntrySchema kTrainEntries[] = {
    {"epochs", EntryKind::PositiveInt},
    {"batch_size", EntryKind::PositiveInt},
    {"lr", EntryKind::NonNegativeFloat},
    {"momentum", EntryKind::NonNegativeFloat},
    {"weight_decay", EntryKind::NonNegativeFloat},
    {"seed", EntryKind::AnyInt},
    {"nesterov", EntryKind::Bool},
    {"lr_schedule", EntryKind::String},
    {"step_size", EntryKind::NonNegativeInt},
    {"gamma", EntryKind::NonNegativeFloat},
    {"eta_min", EntryKind::NonNegativeFloat},
    {"t_max", EntryKind::NonNegativeInt}};
static const EntrySchema kDataEntries[] = {
    {"resize", EntryKind::NonNegativeInt},
    {"random_horizontal_flip", EntryKind::Bool},
    {"mean", EntryKind::FloatArray},
    {"std", EntryKind::FloatArray},
    {"split_train", EntryKind::NonNegativeInt},
    {"split_val", EntryKind::NonNegativeInt},
    {"split_seed", EntryKind::AnyInt},
    {"train_transforms", EntryKind::TransformList},
    {"eval_transforms", EntryKind::TransformList}};

static LogicalResult verifyEntry(Operation *op, StringRef dictName,
                                 const EntrySchema &schema, Attribute value) {
  auto fail = [&](StringRef expected) {
    return op->emitOpError() << "'" << dictName << "' entry '" << schema.name
                             << "' must be " << expected;
  };
  switch (schema.kind) {
  case EntryKind::NonNegativeInt:
  case EntryKind::PositiveInt:
  case EntryKind::AnyInt: {
    auto i = dyn_cast<IntegerAttr>(value);
    if (!i || !i.getType().isInteger(64))
      return fail("an i64");
    if (schema.kind == EntryKind::PositiveInt && i.getInt() <= 0)
      return fail("positive");
    if (schema.kind == EntryKind::NonNegativeInt && i.getInt() < 0)
      return fail("non-negative");
    return success();
  }
  case EntryKind::NonNegativeFloat: {
    auto f = dyn_cast<FloatAttr>(value);
    if (!f || !f.getType().isF64() || f.getValueAsDouble() < 0)
      return fail("a non-negative f64");
    return success();
  }
  case EntryKind::Bool:
    return isa<BoolAttr>(value) ? success() : fail("a bool");
  case EntryKind::FloatArray:
    return isa<DenseF64ArrayAttr>(value) ? success() : fail("array<f64>");
  case EntryKind::String:
    return isa<StringAttr>(value) ? success() : fail("a string");
  case EntryKind::TransformList: {
    auto list = dyn_cast<ArrayAttr>(value);
    if (!list)
      return fail("an array of transforms");
    for (Attribute t : list) {
      auto dict = dyn_cast<DictionaryAttr>(t);
      if (!dict || !dict.getAs<StringAttr>("kind"))
        return fail("an array of dictionaries with a 'kind'");
    }
    return success();
  }
  }
  return success();
}

static LogicalResult verifyDictionary(Operation *op, NamedAttribute attr,
                                      ArrayRef<EntrySchema> schema) {
  auto dict = dyn_cast<DictionaryAttr>(attr.getValue());
  if (!dict)
    return op->emitOpError() << "'" << attr.getName().getValue()
                             << "' must be a dictionary";
  for (NamedAttribute entry : dict) {
    const EntrySchema *found = nullptr;
    for (const EntrySchema &s : schema)
      if (s.name == entry.getName().getValue())
        found = &s;
    if (!found)
      return op->emitOpError()
             << "unknown entry '" << entry.getName().getValue() << "' in '"
             << attr.getName().getValue() << "'";
    if (failed(verifyEntry(op, attr.getName().getValue(), *found,
                           entry.getValue())))
      return failure();
  }
  return success();
}

LogicalResult RtmlDialect::verifyOperationAttribute(Operation *op,
                                                    NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  if (name == kDeviceAttr) {
    auto device = dyn_cast<StringAttr>(attr.getValue());
    if (!device || device.getValue().empty())
      return op->emitOpError() << "'" << name
                               << "' must be a non-empty device name";
    auto module = op->getParentOfType<ModuleOp>();
    auto devices =
        module ? module->getAttrOfType<ArrayAttr>(kDevicesAttr) : ArrayAttr();
    if (devices && !llvm::is_contained(devices.getValue(), device))
      return op->emitOpError() << "is placed on unknown device '"
                               << device.getValue() << "'";
    return success();
  }
  if (!isa<ModuleOp>(op))
    return op->emitOpError() << "'" << name
                             << "' is a module attribute";
  if (name == kModelNameAttr) {
    if (!isa<StringAttr>(attr.getValue()))
      return op->emitOpError() << "'" << name << "' must be a string";
    return success();
  }
  if (name == kClassesAttr) {
    auto i = dyn_cast<IntegerAttr>(attr.getValue());
    if (!i || i.getInt() <= 0)
      return op->emitOpError() << "'" << name << "' must be a positive integer";
    return success();
  }
  if (name == kDevicesAttr) {
    auto devices = dyn_cast<ArrayAttr>(attr.getValue());
    if (!devices || devices.empty() ||
        !llvm::all_of(devices, [](Attribute a) { return isa<StringAttr>(a); }))
      return op->emitOpError() << "'" << name
                               << "' must be a non-empty array of names";
    return success();
  }
  if (name == kTrainAttr) {
    if (failed(verifyDictionary(op, attr, kTrainEntries)))
      return failure();
    auto schedule =
        cast<DictionaryAttr>(attr.getValue()).getAs<StringAttr>("lr_schedule");
    if (schedule && !llvm::is_contained({"constant", "step", "cosine"},
                                        schedule.getValue()))
      return op->emitOpError() << "unknown lr_schedule '"
                               << schedule.getValue() << "'";
    return success();
  }
  if (name == kHeadsAttr) {
    auto heads = dyn_cast<ArrayAttr>(attr.getValue());
    if (!heads || heads.empty())
      return op->emitOpError() << "'" << name
                               << "' must be a non-empty array of heads";
    for (Attribute h : heads) {
      auto dict = dyn_cast<DictionaryAttr>(h);
      auto weight = dict ? dict.getAs<FloatAttr>("loss_weight") : FloatAttr();
      if (!dict || !dict.getAs<StringAttr>("name") || !weight ||
          weight.getValueAsDouble() < 0)
        return op->emitOpError()
               << "'" << name
               << "' entries need a name and a non-negative loss_weight";
    }
    return success();
  }
  if (name == kDataAttr) {
    if (failed(verifyDictionary(op, attr, kDataEntries)))
      return failure();
    auto dict = cast<DictionaryAttr>(attr.getValue());
    auto mean = dict.getAs<DenseF64ArrayAttr>("mean");
    auto std = dict.getAs<DenseF64ArrayAttr>("std");
    if (!mean != !std || (mean && mean.size() != std.size()))
      return op->emitOpError()
             << "'" << name << "' needs 'mean' and 'std' of equal length";
    if (std && llvm::any_of(std.asArrayRef(), [](double s) { return s <= 0; }))
      return op->emitOpError() << "'" << name << "' std must be positive";
    return success();
  }
  return op->emitOpError() << "unknown rtml attribute '" << name << "'";
}
