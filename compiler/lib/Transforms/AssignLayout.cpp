//===- AssignLayout.cpp - Memory layout of convolution stacks -------------===//
//
// Finds the convolution stacks of the forward function and puts an
// rtml.to_layout at each of their boundaries: into the stack's layout per
// device kind where a value enters, back to NCHW where one leaves. A weight
// that only the stack reads is instead stored in the stack's layout (the
// param's `stored` layouts), so no step converts it. Inside a stack every op
// keeps the layout it is given, so the emitted code needs no other layout
// decision.
//
//===----------------------------------------------------------------------===//
#include "InsertionPoint.h"

#include "rtml/Dialect/RtmlOps.h"
#include "rtml/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/EquivalenceClasses.h"

namespace rtml {
#define GEN_PASS_DEF_ASSIGNLAYOUT
#include "rtml/Transforms/Passes.h.inc"
} // namespace rtml

using namespace mlir;
using namespace rtml;

namespace {

/// The layout of a stack on each device kind.
struct LayoutPolicy {
  Layout cpu, cuda;
};

LayoutPolicy policyFor(LayoutChoice choice) {
  switch (choice) {
  case LayoutChoice::Auto:
    // cuDNN's convolutions are fastest in channels_last; LibTorch's CPU
    // convolutions are NCHW-native (and NCHW keeps today's CPU bits).
    return {Layout::Nchw, Layout::Nhwc};
  case LayoutChoice::Nchw:
    return {Layout::Nchw, Layout::Nchw};
  case LayoutChoice::Nhwc:
    return {Layout::Nhwc, Layout::Nhwc};
  }
  return {Layout::Nchw, Layout::Nchw};
}

bool isFourDimensional(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type && type.getRank() == 4;
}

/// Whether OP can be part of a stack: it computes a 4-D value with LibTorch
/// ops or rtml kernels that accept, and keep, either layout.
bool isStackOp(Operation *op) {
  return isa<Conv2dOp, SiblingConv2dOp, ReluOp, TanhOp, SigmoidOp, LeakyReluOp,
             BiasReluOp, LrnOp, ReluLrnOp, MaxPool2dOp, AvgPool2dOp,
             AdaptiveAvgPool2dOp, BatchNormOp, DropoutOp, AddOp, ConcatOp,
             ConcatReluOp, TransferOp>(op) &&
         op->getNumResults() >= 1 &&
         llvm::all_of(op->getResults(), isFourDimensional);
}

bool isConvolution(Operation *op) { return isa<Conv2dOp, SiblingConv2dOp>(op); }

struct AssignLayoutPass : rtml::impl::AssignLayoutBase<AssignLayoutPass> {
  using AssignLayoutBase::AssignLayoutBase;
  void runOnOperation() override;

private:
  /// The stacks of FUNC: the stack ops connected through their values, those
  /// holding a convolution.
  llvm::DenseSet<Operation *>
  stackOps(func::FuncOp func, llvm::EquivalenceClasses<Operation *> &stacks);
  void assign(func::FuncOp func, LayoutPolicy policy);
};

llvm::DenseSet<Operation *>
AssignLayoutPass::stackOps(func::FuncOp func,
                           llvm::EquivalenceClasses<Operation *> &stacks) {
  Block &body = func.getBody().front();
  for (Operation &op : body) {
    if (!isStackOp(&op))
      continue;
    stacks.insert(&op);
    for (Value operand : op.getOperands())
      if (Operation *producer = operand.getDefiningOp();
          producer && isStackOp(producer))
        stacks.unionSets(&op, producer);
  }
  llvm::DenseSet<Operation *> withConv;
  for (Operation &op : body)
    if (isConvolution(&op) && isStackOp(&op))
      withConv.insert(stacks.getLeaderValue(&op));
  llvm::DenseSet<Operation *> ops;
  for (Operation &op : body)
    if (isStackOp(&op) && withConv.contains(stacks.getLeaderValue(&op)))
      ops.insert(&op);
  return ops;
}

void AssignLayoutPass::assign(func::FuncOp func, LayoutPolicy policy) {
  llvm::EquivalenceClasses<Operation *> stacks;
  llvm::DenseSet<Operation *> inStack = stackOps(func, stacks);
  Block &body = func.getBody().front();
  OpBuilder builder(func.getContext());

  // One conversion per value, layout and device, right after its producer.
  llvm::DenseMap<std::tuple<Value, int, StringRef>, Value> made;
  auto convert = [&](Value value, LayoutPolicy to,
                     Operation *onDeviceOf) -> Value {
    StringRef device = deviceOf(onDeviceOf);
    int entering = to.cpu != Layout::Nchw || to.cuda != Layout::Nchw;
    auto key = std::make_tuple(value, entering, device);
    if (Value existing = made.lookup(key))
      return existing;
    setInsertionPointAfterValue(builder, value, body);
    auto conversion =
        builder.create<ToLayoutOp>(value.getLoc(), value, to.cpu, to.cuda);
    if (!device.empty())
      conversion->setAttr(kDeviceAttr, builder.getStringAttr(device));
    made[key] = conversion.getResult();
    return conversion.getResult();
  };

  // A parameter that only the stack reads is stored in the stack's layout
  // (its gradient and momentum follow), instead of being converted in every
  // step; one read from elsewhere keeps it NCHW, converted where it enters.
  auto storeInStackLayout = [&](Value value) {
    auto param = value.getDefiningOp<ParamOp>();
    if (!param || !llvm::all_of(param->getUsers(), [&](Operation *user) {
          return inStack.contains(user) && !isa<TransferOp>(user);
        }))
      return false;
    param.setStoredCpu(policy.cpu);
    param.setStoredCuda(policy.cuda);
    return true;
  };

  SmallVector<Operation *> ops;
  for (Operation &op : body)
    if (inStack.contains(&op))
      ops.push_back(&op);
  for (Operation *op : ops) {
    // Entering: a 4-D operand made outside the stack (the input, a
    // convolution's weight), or moved by a transfer, which may have crossed
    // to another kind of device.
    for (OpOperand &operand : op->getOpOperands()) {
      Value value = operand.get();
      Operation *producer = value.getDefiningOp();
      bool madeInStack =
          producer && inStack.contains(producer) && !isa<TransferOp>(producer);
      if (!isFourDimensional(value) || madeInStack || isa<TransferOp>(op) ||
          storeInStackLayout(value))
        continue;
      operand.set(convert(value, policy, op));
    }
    // Leaving: every user outside the stack reads NCHW.
    for (Value result : op->getResults())
      for (OpOperand &use : llvm::make_early_inc_range(result.getUses())) {
        Operation *user = use.getOwner();
        if (inStack.contains(user) || isa<ToLayoutOp>(user))
          continue;
        use.set(convert(result, {Layout::Nchw, Layout::Nchw}, op));
      }
  }
}

void AssignLayoutPass::runOnOperation() {
  ModuleOp module = getOperation();
  if (module->hasAttr(kLayoutAttr))
    return;
  bool anyStack = false;
  for (auto func : module.getOps<func::FuncOp>()) {
    llvm::EquivalenceClasses<Operation *> stacks;
    anyStack = anyStack || !stackOps(func, stacks).empty();
  }
  if (!anyStack)
    return;
  LayoutPolicy policy = policyFor(layout);
  Builder builder(&getContext());
  module->setAttr(
      kLayoutAttr,
      builder.getDictionaryAttr(
          {builder.getNamedAttr(
               "cpu", builder.getStringAttr(stringifyLayout(policy.cpu))),
           builder.getNamedAttr(
               "cuda", builder.getStringAttr(stringifyLayout(policy.cuda)))}));
  if (policy.cpu == Layout::Nchw && policy.cuda == Layout::Nchw)
    return;
  for (auto func : module.getOps<func::FuncOp>())
    assign(func, policy);
}

} // namespace
