//===- InitRtml.h - Everything a tool registers ---------------------------===//
#ifndef RTML_INITRTML_H
#define RTML_INITRTML_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "rtml/Dialect/RtmlDialect.h"
#include "rtml/Transforms/Passes.h"

namespace rtml {
/// The dialects an rtml module uses.
inline void registerRtmlDialects(mlir::DialectRegistry &registry) {
  registry.insert<RtmlDialect, mlir::func::FuncDialect>();
}
} // namespace rtml

#endif // RTML_INITRTML_H
