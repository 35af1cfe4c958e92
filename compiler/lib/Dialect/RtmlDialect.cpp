//===- RtmlDialect.cpp - Dialect registration and module attributes -------===//
#include "rtml/Dialect/RtmlDialect.h"
#include "rtml/Dialect/PrecisionAttr.h"
#include "rtml/Dialect/RtmlOps.h"
#include "rtml/Dialect/SettingsAttr.h"

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

static LogicalResult verifyDictionary(Operation *op, NamedAttribute attr,
                                      LogicalResult (*verify)(Operation *,
                                                              DictionaryAttr)) {
  auto dict = dyn_cast<DictionaryAttr>(attr.getValue());
  if (!dict)
    return op->emitOpError() << "'" << attr.getName().getValue()
                             << "' must be a dictionary";
  return verify(op, dict);
}

/// rtml.layout: {cpu = LAYOUT, cuda = LAYOUT}, nothing else.
static LogicalResult verifyLayoutAttr(Operation *op, DictionaryAttr policy) {
  for (NamedAttribute entry : policy) {
    auto layout = dyn_cast<StringAttr>(entry.getValue());
    if ((entry.getName() != "cpu" && entry.getName() != "cuda") || !layout ||
        !symbolizeLayout(layout.getValue()))
      return op->emitOpError()
             << "'" << kLayoutAttr
             << "' maps 'cpu' and 'cuda' to \"nchw\" or \"nhwc\", got "
             << policy;
  }
  if (!policy.get("cpu") || !policy.get("cuda"))
    return op->emitOpError() << "'" << kLayoutAttr
                             << "' needs both 'cpu' and 'cuda', got " << policy;
  return success();
}

LogicalResult RtmlDialect::verifyOperationAttribute(Operation *op,
                                                    NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  if (name == kPrecisionAttr || name == kComputeTypeAttr ||
      name == kAccumulateTypeAttr)
    return verifyPrecisionAttr(op, attr);
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
  if (name == kTrainAttr)
    return verifyDictionary(op, attr, verifyTrainAttr);
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
  if (name == kDataAttr)
    return verifyDictionary(op, attr, verifyDataAttr);
  if (name == kLayoutAttr)
    return verifyDictionary(op, attr, verifyLayoutAttr);
  return op->emitOpError() << "unknown rtml attribute '" << name << "'";
}
