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

#define GET_OP_CLASSES
#include "rtml/Dialect/RtmlOps.h.inc"

namespace rtml {
/// Module attribute names: the training set-up and the model's identity.
constexpr llvm::StringLiteral kModelNameAttr = "rtml.name";
constexpr llvm::StringLiteral kClassesAttr = "rtml.classes";
constexpr llvm::StringLiteral kTrainAttr = "rtml.train";
constexpr llvm::StringLiteral kDataAttr = "rtml.data";
} // namespace rtml

#endif // RTML_DIALECT_RTMLOPS_H
