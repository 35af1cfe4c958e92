//===- PartitionDevices.cpp - Devices for every op, transfers between -----===//
#include "InsertionPoint.h"

#include "rtml/Dialect/RtmlOps.h"
#include "rtml/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/MapVector.h"

namespace rtml {
#define GEN_PASS_DEF_PARTITIONDEVICES
#include "rtml/Transforms/Passes.h.inc"
} // namespace rtml

using namespace mlir;
using namespace rtml;

namespace {

struct PartitionDevicesPass
    : rtml::impl::PartitionDevicesBase<PartitionDevicesPass> {
  void runOnOperation() override;

private:
  LogicalResult partition(func::FuncOp func, StringAttr defaultDevice);
};

/// The device a value lives on: its producer's, or the default device for
/// the function's arguments.
StringAttr deviceOfValue(Value v, StringAttr defaultDevice) {
  if (Operation *op = v.getDefiningOp())
    if (auto device = op->getAttrOfType<StringAttr>(kDeviceAttr))
      return device;
  return defaultDevice;
}

LogicalResult PartitionDevicesPass::partition(func::FuncOp func,
                                              StringAttr defaultDevice) {
  Block &body = func.getBody().front();

  // 1. Devices for the ops that compute: their own, else the first device,
  // as the spec's documentation says ("a layer nothing places runs on the
  // first device"). Following an operand instead would let one tower's
  // placement pull a concat and everything after it onto its device.
  for (Operation &op : body)
    if (!isa<ParamOp, func::ReturnOp>(op) && !op.hasAttr(kDeviceAttr))
      op.setAttr(kDeviceAttr, defaultDevice);
  // 2. Parameters live where they are used first.
  for (ParamOp param : body.getOps<ParamOp>()) {
    if (param->hasAttr(kDeviceAttr))
      continue;
    StringAttr device = defaultDevice;
    Operation *firstUser = nullptr;
    for (Operation *user : param->getUsers())
      if (!firstUser || user->isBeforeInBlock(firstUser))
        firstUser = user;
    if (firstUser && !isa<func::ReturnOp>(firstUser))
      device = firstUser->getAttrOfType<StringAttr>(kDeviceAttr);
    param->setAttr(kDeviceAttr, device);
  }

  // 3. One transfer per value and foreign device, right after the producer.
  OpBuilder builder(func.getContext());
  auto transferOf =
      [&](Value value, StringAttr device,
          llvm::DenseMap<std::pair<Value, Attribute>, Value> &made) -> Value {
    auto key = std::make_pair(value, Attribute(device));
    if (Value existing = made.lookup(key))
      return existing;
    setInsertionPointAfterValue(builder, value, body);
    auto transfer =
        builder.create<TransferOp>(value.getLoc(), value.getType(), value);
    transfer->setAttr(kDeviceAttr, device);
    made[key] = transfer.getResult();
    return transfer.getResult();
  };
  llvm::DenseMap<std::pair<Value, Attribute>, Value> made;
  SmallVector<Operation *> ops;
  for (Operation &op : body)
    ops.push_back(&op);
  for (Operation *op : ops) {
    if (isa<TransferOp>(op))
      continue;
    // Results go back to the default device, where the loss is computed.
    StringAttr device = isa<func::ReturnOp>(op)
                            ? defaultDevice
                            : op->getAttrOfType<StringAttr>(kDeviceAttr);
    for (OpOperand &operand : op->getOpOperands()) {
      Value value = operand.get();
      if (deviceOfValue(value, defaultDevice) == device)
        continue;
      operand.set(transferOf(value, device, made));
    }
  }

  // 4. The contract: no op reads a value that lives on another device.
  for (Operation &op : body) {
    StringAttr device = isa<func::ReturnOp>(op)
                            ? defaultDevice
                            : op.getAttrOfType<StringAttr>(kDeviceAttr);
    for (Value operand : op.getOperands()) {
      StringAttr source = deviceOfValue(operand, defaultDevice);
      if (isa<TransferOp>(op) ? source == device : source != device)
        return op.emitError("reads a value on device '")
               << source.getValue() << "' while placed on '"
               << device.getValue() << "' after partitioning";
    }
  }
  return success();
}

void PartitionDevicesPass::runOnOperation() {
  ModuleOp module = getOperation();
  auto devices = module->getAttrOfType<ArrayAttr>(kDevicesAttr);
  if (!devices || devices.empty())
    return;
  auto defaultDevice = cast<StringAttr>(devices[0]);
  for (auto func : module.getOps<func::FuncOp>())
    if (failed(partition(func, defaultDevice)))
      return signalPassFailure();
}

} // namespace
