//===- ApplyPatterns.h - The rewrite driver the fusion passes share -------===//
#ifndef RTML_LIB_TRANSFORMS_APPLYPATTERNS_H
#define RTML_LIB_TRANSFORMS_APPLYPATTERNS_H

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace rtml {

/// Applies PATTERN (one rewrite pattern class) to OP until it no longer
/// matches, and nothing else: no region simplification, no dead-code
/// removal behind the pass's back.
template <typename Pattern> mlir::LogicalResult applyOnly(mlir::Operation *op) {
  mlir::RewritePatternSet patterns(op->getContext());
  patterns.add<Pattern>(op->getContext());
  mlir::GreedyRewriteConfig config;
  config.enableRegionSimplification = mlir::GreedySimplifyRegionLevel::Disabled;
  return mlir::applyPatternsAndFoldGreedily(op, std::move(patterns), config);
}

} // namespace rtml

#endif // RTML_LIB_TRANSFORMS_APPLYPATTERNS_H
