//===- FuseConcat.cpp - concat of ReLU epilogues -> concat_relu ----------===//
#include "ApplyPatterns.h"

#include "rtml/Dialect/RtmlOps.h"
#include "rtml/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"

namespace rtml {
#define GEN_PASS_DEF_FUSECONCAT
#include "rtml/Transforms/Passes.h.inc"
} // namespace rtml

using namespace mlir;
using namespace rtml;

namespace {

/// One concat operand's epilogue: relu(input), or relu(batch_norm(input))
/// when batchNorm is set.
struct Epilogue {
  ReluOp relu;
  BatchNormOp batchNorm;
  Value input() { return batchNorm ? batchNorm.getInput() : relu.getInput(); }
};

struct FuseReluEpiloguesIntoConcat : OpRewritePattern<ConcatOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ConcatOp concat,
                                PatternRewriter &rewriter) const override {
    SmallVector<Epilogue> epilogues;
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
      Epilogue epilogue{relu, relu.getInput().getDefiningOp<BatchNormOp>()};
      // A batch norm read elsewhere must keep its result; one on another
      // device would move the normalization away from its statistics.
      if (epilogue.batchNorm &&
          (!epilogue.batchNorm->hasOneUse() ||
           deviceOf(epilogue.batchNorm) != deviceOf(concat)))
        epilogue.batchNorm = nullptr;
      epilogues.push_back(epilogue);
    }
    SmallVector<Value> inputs, bnParams;
    SmallVector<bool> bn;
    SmallVector<double> eps, momentum;
    SmallVector<Location> locs;
    for (Epilogue &epilogue : epilogues) {
      inputs.push_back(epilogue.input());
      bn.push_back(static_cast<bool>(epilogue.batchNorm));
      if (BatchNormOp norm = epilogue.batchNorm) {
        bnParams.append({norm.getWeight(), norm.getBias(),
                         norm.getRunningMean(), norm.getRunningVar(),
                         norm.getNumBatchesTracked()});
        eps.push_back(norm.getEps().convertToDouble());
        momentum.push_back(norm.getMomentum().convertToDouble());
        locs.push_back(norm.getLoc());
      }
      locs.push_back(epilogue.relu.getLoc());
    }
    locs.push_back(concat.getLoc());
    auto fused = rewriter.create<ConcatReluOp>(
        rewriter.getFusedLoc(locs), concat.getType(), inputs, bnParams,
        /*biases=*/ValueRange(), /*bn=*/nullptr, /*bn_eps=*/nullptr,
        /*bn_momentum=*/nullptr, /*bias=*/nullptr, /*bias_cpu=*/nullptr,
        /*bias_cuda=*/nullptr);
    // Plain ReLUs only: no bn attributes at all, as the verifier wants.
    if (llvm::is_contained(bn, true)) {
      fused.setBn(bn);
      fused.setBnEps(eps);
      fused.setBnMomentum(momentum);
    }
    if (auto device = concat->getAttr(kDeviceAttr))
      fused->setAttr(kDeviceAttr, device);
    rewriter.replaceOp(concat, fused.getResult());
    for (Epilogue &epilogue : epilogues) {
      rewriter.eraseOp(epilogue.relu);
      if (epilogue.batchNorm)
        rewriter.eraseOp(epilogue.batchNorm);
    }
    return success();
  }
};

struct FuseConcatPass : rtml::impl::FuseConcatBase<FuseConcatPass> {
  void runOnOperation() override {
    if (failed(applyOnly<FuseReluEpiloguesIntoConcat>(getOperation())))
      signalPassFailure();
  }
};

} // namespace
