//===- FuseReluLrn.cpp - relu + lrn -> relu_lrn ---------------------------===//
#include "ApplyPatterns.h"

#include "rtml/Dialect/RtmlOps.h"
#include "rtml/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"

namespace rtml {
#define GEN_PASS_DEF_FUSERELULRN
#include "rtml/Transforms/Passes.h.inc"
} // namespace rtml

using namespace mlir;
using namespace rtml;

namespace {

struct FuseReluIntoLrn : OpRewritePattern<LrnOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LrnOp lrn,
                                PatternRewriter &rewriter) const override {
    auto relu = lrn.getInput().getDefiningOp<ReluOp>();
    if (!relu)
      return rewriter.notifyMatchFailure(lrn, "input is not a relu");
    if (!relu->hasOneUse())
      return rewriter.notifyMatchFailure(lrn, "the relu has other users");
    if (deviceOf(relu) != deviceOf(lrn))
      return rewriter.notifyMatchFailure(lrn, "relu and lrn on different "
                                              "devices");
    Location loc = rewriter.getFusedLoc({relu.getLoc(), lrn.getLoc()});
    auto fused = rewriter.create<ReluLrnOp>(
        loc, lrn.getType(), relu.getInput(), lrn.getSizeAttr(),
        lrn.getAlphaAttr(), lrn.getBetaAttr(), lrn.getKAttr());
    if (auto device = lrn->getAttr(kDeviceAttr))
      fused->setAttr(kDeviceAttr, device);
    rewriter.replaceOp(lrn, fused.getResult());
    rewriter.eraseOp(relu);
    return success();
  }
};

struct FuseReluLrnPass : rtml::impl::FuseReluLrnBase<FuseReluLrnPass> {
  void runOnOperation() override {
    if (failed(applyOnly<FuseReluIntoLrn>(getOperation())))
      signalPassFailure();
  }
};

} // namespace
