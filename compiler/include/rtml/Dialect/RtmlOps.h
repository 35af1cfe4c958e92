//===- RtmlOps.h - rtml dialect operations --------------------------------===//
#ifndef RTML_DIALECT_RTMLOPS_H
#define RTML_DIALECT_RTMLOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "rtml/Dialect/RtmlDialect.h"

#include "rtml/Dialect/RtmlEnums.h.inc"

namespace rtml {
/// Runs the op's shape inference at its own location (see RtmlOps.td).
template <typename ConcreteType>
class ShapeChecked : public mlir::OpTrait::TraitBase<ConcreteType, ShapeChecked> {
public:
  static mlir::LogicalResult verifyTrait(mlir::Operation *op) {
    llvm::SmallVector<mlir::Type, 1> types;
    if (mlir::failed(ConcreteType::inferReturnTypes(
            op->getContext(), op->getLoc(), op->getOperands(),
            op->getAttrDictionary(), op->getPropertiesStorage(),
            op->getRegions(), types)))
      return mlir::failure();
    if (mlir::TypeRange(types) != op->getResultTypes())
      return op->emitOpError("result type ")
             << op->getResultTypes() << " does not match the inferred "
             << mlir::TypeRange(types);
    return mlir::success();
  }
};
} // namespace rtml

#define GET_OP_CLASSES
#include "rtml/Dialect/RtmlOps.h.inc"

namespace rtml {
/// Module attribute names: the training set-up and the model's identity.
constexpr llvm::StringLiteral kModelNameAttr = "rtml.name";
constexpr llvm::StringLiteral kClassesAttr = "rtml.classes";
constexpr llvm::StringLiteral kTrainAttr = "rtml.train";
constexpr llvm::StringLiteral kDataAttr = "rtml.data";
/// Module: the logical devices, an array of names; the first is the default.
constexpr llvm::StringLiteral kDevicesAttr = "rtml.devices";
/// Module: the classifier heads, main first, as [{name, loss_weight}]; one
/// per result of the forward function.
constexpr llvm::StringLiteral kHeadsAttr = "rtml.heads";
/// Module: the memory layout of convolution stacks per device kind, as
/// {cpu = "nchw", cuda = "nhwc"} (what --rtml-assign-layout chose).
constexpr llvm::StringLiteral kLayoutAttr = "rtml.layout";
/// Any op: the logical device it runs on (absent: the default device).
constexpr llvm::StringLiteral kDeviceAttr = "rtml.device";

/// The logical device OP is placed on, or "" when it carries none.
inline llvm::StringRef deviceOf(mlir::Operation *op) {
  if (auto device = op->getAttrOfType<mlir::StringAttr>(kDeviceAttr))
    return device.getValue();
  return "";
}

/// The bias of the convolution that computes VALUE (an rtml.conv2d's
/// result, or one of an rtml.sibling_conv2d's), or null: not a
/// convolution's output, or one without a bias.
mlir::Value convolutionBias(mlir::Value value);
} // namespace rtml

#endif // RTML_DIALECT_RTMLOPS_H
