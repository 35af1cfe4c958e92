//===- BiasEpilogue.cpp - relu(conv + bias) -> bias_relu ------------------===//
#include "ApplyPatterns.h"

#include "rtml/Dialect/RtmlOps.h"
#include "rtml/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"

namespace rtml {
#define GEN_PASS_DEF_BIASEPILOGUE
#include "rtml/Transforms/Passes.h.inc"
} // namespace rtml

using namespace mlir;
using namespace rtml;

namespace {

struct ReluToBiasRelu : OpRewritePattern<ReluOp> {
  ReluToBiasRelu(MLIRContext *context, BiasAdd cpu, BiasAdd cuda)
      : OpRewritePattern(context), cpu(cpu), cuda(cuda) {}

  LogicalResult matchAndRewrite(ReluOp relu,
                                PatternRewriter &rewriter) const override {
    Value input = relu.getInput();
    Value bias = convolutionBias(input);
    if (!bias)
      return rewriter.notifyMatchFailure(relu, "input is not a convolution "
                                               "with a bias");
    if (!input.hasOneUse())
      return rewriter.notifyMatchFailure(relu, "the convolution's output has "
                                               "other users");
    if (deviceOf(input.getDefiningOp()) != deviceOf(relu))
      return rewriter.notifyMatchFailure(relu, "convolution and relu on "
                                               "different devices");
    auto fused =
        rewriter.create<BiasReluOp>(relu.getLoc(), input, bias, cpu, cuda);
    if (auto device = relu->getAttr(kDeviceAttr))
      fused->setAttr(kDeviceAttr, device);
    rewriter.replaceOp(relu, fused.getResult());
    return success();
  }

  BiasAdd cpu, cuda;
};

/// The plain ReLU inputs of a fused concat that are a biased convolution's
/// output, read by nothing else on the concat's device, add that bias
/// themselves: the concat is rebuilt with them in `biases`.
struct ConcatTakesBiases : OpRewritePattern<ConcatReluOp> {
  ConcatTakesBiases(MLIRContext *context, BiasAdd cpu, BiasAdd cuda)
      : OpRewritePattern(context), cpu(cpu), cuda(cuda) {}

  LogicalResult matchAndRewrite(ConcatReluOp concat,
                                PatternRewriter &rewriter) const override {
    if (concat.getBias())
      return rewriter.notifyMatchFailure(concat, "already decided");
    SmallVector<bool> biased;
    SmallVector<Value> biases;
    for (auto [i, input] : llvm::enumerate(concat.getInputs())) {
      Value bias = convolutionBias(input);
      bool takes = bias && !concat.hasBatchNorm(i) && input.hasOneUse() &&
                   deviceOf(input.getDefiningOp()) == deviceOf(concat);
      biased.push_back(takes);
      if (takes)
        biases.push_back(bias);
    }
    if (biases.empty())
      return rewriter.notifyMatchFailure(concat, "no input is a biased "
                                                 "convolution read only here");
    auto fused = rewriter.create<ConcatReluOp>(
        concat.getLoc(), concat.getType(), concat.getInputs(),
        concat.getBnParams(), biases, concat.getBnAttr(), concat.getBnEpsAttr(),
        concat.getBnMomentumAttr(), rewriter.getDenseBoolArrayAttr(biased),
        BiasAddAttr::get(getContext(), cpu),
        BiasAddAttr::get(getContext(), cuda));
    // The device, and anything else a pass put on the op.
    for (NamedAttribute attr : concat->getDiscardableAttrs())
      fused->setAttr(attr.getName(), attr.getValue());
    rewriter.replaceOp(concat, fused.getResult());
    return success();
  }

  BiasAdd cpu, cuda;
};

struct BiasEpiloguePass : rtml::impl::BiasEpilogueBase<BiasEpiloguePass> {
  using BiasEpilogueBase::BiasEpilogueBase;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ReluToBiasRelu, ConcatTakesBiases>(&getContext(), cpu, cuda);
    if (failed(applyOnly(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
