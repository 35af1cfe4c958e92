//===- MergeSiblingConvs.cpp - convs of one input -> sibling_conv2d -------===//
//
// An inception module reads its input with three 1x1 convolutions (and a
// pool). Run separately, they are three small GEMMs forward and backward,
// and the input's gradient is the sum of three convolution gradients. As
// one convolution over the concatenated weights they are one larger GEMM
// each way, and the gradient comes out of it already summed.
//
//===----------------------------------------------------------------------===//
#include "rtml/Dialect/PrecisionAttr.h"
#include "rtml/Dialect/RtmlOps.h"
#include "rtml/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseSet.h"

namespace rtml {
#define GEN_PASS_DEF_MERGESIBLINGCONVS
#include "rtml/Transforms/Passes.h.inc"
} // namespace rtml

using namespace mlir;
using namespace rtml;

namespace {

/// Whether A and B can be one convolution: the same input, kernel size,
/// stride, padding and dilation, no groups, both with a bias or neither, on
/// one device with one compute type.
bool areSiblings(Conv2dOp a, Conv2dOp b) {
  auto kernel = [](Conv2dOp conv) {
    return conv.getWeight().getType().getShape().drop_front(2);
  };
  return a.getInput() == b.getInput() && a.getGroups() == 1 &&
         b.getGroups() == 1 && kernel(a) == kernel(b) &&
         a.getStride() == b.getStride() && a.getPadding() == b.getPadding() &&
         a.getDilation() == b.getDilation() &&
         static_cast<bool>(a.getBias()) == static_cast<bool>(b.getBias()) &&
         deviceOf(a) == deviceOf(b) &&
         a->getAttr(kComputeTypeAttr) == b->getAttr(kComputeTypeAttr);
}

/// The last op of BODY that defines an operand of the convolutions: the
/// merged convolution must come after it. Null when every operand is a
/// block argument.
Operation *lastOperandProducer(ArrayRef<Conv2dOp> convs) {
  Operation *last = nullptr;
  for (Conv2dOp conv : convs)
    for (Value operand : conv->getOperands())
      if (Operation *producer = operand.getDefiningOp();
          producer && (!last || last->isBeforeInBlock(producer)))
        last = producer;
  return last;
}

struct MergeSiblingConvsPass
    : rtml::impl::MergeSiblingConvsBase<MergeSiblingConvsPass> {
  void runOnOperation() override {
    getOperation().walk([&](func::FuncOp func) {
      for (Block &block : func.getBody())
        mergeIn(block);
    });
  }

  void mergeIn(Block &block) {
    llvm::DenseSet<Operation *> grouped;
    SmallVector<SmallVector<Conv2dOp>> groups;
    for (auto conv : block.getOps<Conv2dOp>()) {
      if (grouped.contains(conv))
        continue;
      // Block order: the group's first member is the earliest one.
      SmallVector<Conv2dOp> group = {conv};
      for (Operation &later :
           llvm::make_range(std::next(conv->getIterator()), block.end()))
        if (auto other = dyn_cast<Conv2dOp>(later);
            other && !grouped.contains(other) && areSiblings(conv, other))
          group.push_back(other);
      if (group.size() < 2)
        continue;
      for (Conv2dOp member : group)
        grouped.insert(member);
      groups.push_back(std::move(group));
    }
    for (SmallVector<Conv2dOp> &group : groups)
      merge(group);
  }

  /// Replaces GROUP by one sibling_conv2d. It goes after the last of their
  /// weights and biases, since the parameters keep their order (it is the
  /// order they are initialized and saved in); the ops in between that
  /// read an earlier member's result move down after it, in their order.
  void merge(ArrayRef<Conv2dOp> group) {
    Conv2dOp lead = group.front();
    Operation *first = lead;
    Operation *after = lastOperandProducer(group);
    bool goesLater = after && first->isBeforeInBlock(after);
    SmallVector<Operation *> moved;
    if (goesLater) {
      llvm::DenseSet<Operation *> dependent(group.begin(), group.end());
      for (Operation &op : llvm::make_range(std::next(first->getIterator()),
                                            after->getIterator())) {
        if (dependent.contains(&op) ||
            llvm::none_of(op.getOperands(), [&](Value v) {
              return dependent.contains(v.getDefiningOp());
            }))
          continue;
        // Dropouts draw random numbers in program order: moving one past
        // another would change which mask each draws.
        if (isa<DropoutOp>(op))
          return;
        dependent.insert(&op);
        moved.push_back(&op);
      }
    }
    OpBuilder builder(first);
    if (goesLater)
      builder.setInsertionPointAfter(after);

    SmallVector<Value> weights, biases;
    SmallVector<Type> types;
    SmallVector<Location> locs;
    for (Conv2dOp conv : group) {
      weights.push_back(conv.getWeight());
      if (Value bias = conv.getBias())
        biases.push_back(bias);
      types.push_back(conv.getType());
      locs.push_back(conv.getLoc());
    }
    auto merged = builder.create<SiblingConv2dOp>(
        builder.getFusedLoc(locs), types, lead.getInput(), weights, biases,
        lead.getStrideAttr(), lead.getPaddingAttr(), lead.getDilationAttr());
    for (StringRef attr : {StringRef(kDeviceAttr), StringRef(kComputeTypeAttr)})
      if (Attribute value = lead->getAttr(attr))
        merged->setAttr(attr, value);
    Operation *last = merged;
    for (Operation *op : moved) {
      op->moveAfter(last);
      last = op;
    }
    for (auto [conv, result] : llvm::zip_equal(group, merged.getResults())) {
      Conv2dOp member = conv;
      member.getResult().replaceAllUsesWith(result);
      member.erase();
    }
  }
};

} // namespace
