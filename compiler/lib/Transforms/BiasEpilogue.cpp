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

struct BiasEpiloguePass : rtml::impl::BiasEpilogueBase<BiasEpiloguePass> {
  using BiasEpilogueBase::BiasEpilogueBase;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ReluToBiasRelu>(&getContext(), cpu, cuda);
    if (failed(applyOnly(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
