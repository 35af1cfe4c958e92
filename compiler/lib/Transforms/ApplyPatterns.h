//===- ApplyPatterns.h - The rewrite driver the fusion passes share -------===//
#ifndef RTML_LIB_TRANSFORMS_APPLYPATTERNS_H
#define RTML_LIB_TRANSFORMS_APPLYPATTERNS_H

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace rtml {

/// Applies PATTERNS to OP until none matches, and nothing else: no region
/// simplification, no dead-code removal behind the pass's back.
inline mlir::LogicalResult applyOnly(mlir::Operation *op,
                                     mlir::RewritePatternSet &&patterns) {
  mlir::GreedyRewriteConfig config;
  config.enableRegionSimplification = mlir::GreedySimplifyRegionLevel::Disabled;
  return mlir::applyPatternsAndFoldGreedily(op, std::move(patterns), config);
}

/// The same for one rewrite pattern class PATTERN.
template <typename Pattern> mlir::LogicalResult applyOnly(mlir::Operation *op) {
  mlir::RewritePatternSet patterns(op->getContext());
  patterns.add<Pattern>(op->getContext());
  return applyOnly(op, std::move(patterns));
}

} // namespace rtml

#endif // RTML_LIB_TRANSFORMS_APPLYPATTERNS_H
