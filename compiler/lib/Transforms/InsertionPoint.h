//===- InsertionPoint.h - Where the passes put a value's conversion -------===//
#ifndef RTML_LIB_TRANSFORMS_INSERTIONPOINT_H
#define RTML_LIB_TRANSFORMS_INSERTIONPOINT_H

#include "mlir/IR/Builders.h"

namespace rtml {

/// Sets BUILDER to insert right after VALUE's producer, or at the start of
/// BODY when VALUE is one of its arguments: where a transfer or a layout
/// conversion of VALUE goes, so that every later user can read it.
inline void setInsertionPointAfterValue(mlir::OpBuilder &builder,
                                        mlir::Value value, mlir::Block &body) {
  if (mlir::Operation *producer = value.getDefiningOp())
    builder.setInsertionPointAfter(producer);
  else
    builder.setInsertionPointToStart(&body);
}

} // namespace rtml

#endif // RTML_LIB_TRANSFORMS_INSERTIONPOINT_H
