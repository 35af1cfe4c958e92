//===- FuseConcat.cpp - concat(relu...) -> concat_relu --------------------===//
#include "rtml/Dialect/RtmlOps.h"
#include "rtml/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace rtml {
#define GEN_PASS_DEF_FUSECONCAT
#include "rtml/Transforms/Passes.h.inc"
} // namespace rtml

using namespace mlir;
using namespace rtml;

namespace {

struct FuseReluEpiloguesIntoConcat : OpRewritePattern<ConcatOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ConcatOp concat,
                                PatternRewriter &rewriter) const override {
    SmallVector<ReluOp> relus;
    for (Value operand : concat.getInputs()) {
      auto relu = operand.getDefiningOp<ReluOp>();
      if (!relu)
        return rewriter.notifyMatchFailure(concat, "an operand is not a relu");
      // The same ReLU twice, or read elsewhere: its result must stay.
      if (!relu->hasOneUse())
        return rewriter.notifyMatchFailure(concat, "a relu has other users");
      if (deviceOf(relu) != deviceOf(concat))
        return rewriter.notifyMatchFailure(concat,
                                           "a relu is on another device");
      relus.push_back(relu);
    }
    SmallVector<Value> inputs;
    SmallVector<Location> locs;
    for (ReluOp relu : relus) {
      inputs.push_back(relu.getInput());
      locs.push_back(relu.getLoc());
    }
    locs.push_back(concat.getLoc());
    auto fused = rewriter.create<ConcatReluOp>(rewriter.getFusedLoc(locs),
                                               concat.getType(), inputs);
    if (auto device = concat->getAttr(kDeviceAttr))
      fused->setAttr(kDeviceAttr, device);
    rewriter.replaceOp(concat, fused.getResult());
    for (ReluOp relu : relus)
      rewriter.eraseOp(relu);
    return success();
  }
};

struct FuseConcatPass : rtml::impl::FuseConcatBase<FuseConcatPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseReluEpiloguesIntoConcat>(&getContext());
    GreedyRewriteConfig config;
    config.enableRegionSimplification = GreedySimplifyRegionLevel::Disabled;
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns),
                                            config)))
      signalPassFailure();
  }
};

} // namespace
