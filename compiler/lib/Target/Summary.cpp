//===- Summary.cpp - The per-layer table of `rtmlc --emit=summary` --------===//
#include "rtml/Dialect/RtmlOps.h"
#include "rtml/Support/Shapes.h"
#include "rtml/Target/CppEmitter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/Format.h"

using namespace mlir;

namespace rtml {

namespace {
struct Row {
  std::string name, op, shape, params, macs, device;
};
} // namespace

static int64_t elementsOf(Value v) {
  auto type = dyn_cast_or_null<RankedTensorType>(v ? v.getType() : Type());
  if (!type || !type.hasStaticShape())
    return 0;
  return numElements(
      std::vector<int64_t>(type.getShape().begin(), type.getShape().end()));
}

/// Multiply-accumulates per image of OP.
static int64_t macsPerImage(Operation *op) {
  if (auto conv = dyn_cast<Conv2dOp>(op)) {
    auto w = conv.getWeight().getType();
    auto out = cast<RankedTensorType>(conv.getType());
    return conv2dMacs(w.getDimSize(1) * conv.getGroups(), w.getDimSize(0),
                      w.getDimSize(2), w.getDimSize(3), conv.getGroups(),
                      out.getDimSize(2), out.getDimSize(3));
  }
  if (auto linear = dyn_cast<LinearOp>(op)) {
    auto shape = linear.getWeight().getType().getShape();
    return numElements(std::vector<int64_t>(shape.begin(), shape.end()));
  }
  return 0;
}

LogicalResult printSummary(ModuleOp module, llvm::raw_ostream &os) {
  std::vector<Row> rows;
  int64_t totalParams = 0, totalMacs = 0;
  bool found = false;
  std::string defaultDevice = "default";
  if (auto devices = module->getAttrOfType<ArrayAttr>(kDevicesAttr))
    defaultDevice = cast<StringAttr>(devices[0]).str();
  module.walk([&](func::FuncOp func) {
    found = true;
    for (Operation &op : func.getBody().front()) {
      if (isa<ParamOp, func::ReturnOp>(op))
        continue;
      int64_t params = 0;
      // Buffers (batch norm's running statistics) are not parameters, as
      // PyTorch counts.
      for (Value operand : op.getOperands())
        if (auto param = operand.getDefiningOp<ParamOp>();
            param && !param.getBuffer())
          params = std::min<int64_t>(INT64_MAX - elementsOf(operand), params) +
                   elementsOf(operand);
      int64_t macs = macsPerImage(&op);
      // Saturate: an absurd spec prints a huge count, never a wrapped one.
      totalParams = params > INT64_MAX - totalParams ? INT64_MAX
                                                     : totalParams + params;
      totalMacs = macs > INT64_MAX - totalMacs ? INT64_MAX : totalMacs + macs;
      std::string name;
      if (auto loc = dyn_cast<NameLoc>(op.getLoc()))
        name = loc.getName().str();
      std::vector<int64_t> shape;
      if (auto type = dyn_cast<RankedTensorType>(op.getResult(0).getType()))
        shape.assign(type.getShape().begin(), type.getShape().end());
      std::string device = deviceOf(&op).str();
      if (device.empty())
        device = defaultDevice;
      rows.push_back({name, op.getName().stripDialect().str(),
                      shapeString(shape), groupDigits(params),
                      groupDigits(macs), device});
    }
  });
  if (!found)
    return module.emitError("no forward function to summarize");

  Row header{"Layer", "Op", "Output shape", "Params", "MACs", "Device"};
  size_t widths[6] = {};
  auto widen = [&](const Row &r) {
    const std::string *cells[] = {&r.name,   &r.op,   &r.shape,
                                  &r.params, &r.macs, &r.device};
    for (int i = 0; i < 6; ++i)
      widths[i] = std::max(widths[i], cells[i]->size());
  };
  widen(header);
  for (const Row &r : rows)
    widen(r);
  auto print = [&](const Row &r) {
    os << llvm::left_justify(r.name, widths[0]) << "  "
       << llvm::left_justify(r.op, widths[1]) << "  "
       << llvm::left_justify(r.shape, widths[2]) << "  "
       << llvm::right_justify(r.params, widths[3]) << "  "
       << llvm::right_justify(r.macs, widths[4]) << "  " << r.device << "\n";
  };
  size_t lineWidth = 10;
  for (size_t w : widths)
    lineWidth += w;
  std::string rule(lineWidth, '-');
  os << "Model: " << modelName(module) << "\n" << rule << "\n";
  print(header);
  os << rule << "\n";
  for (const Row &r : rows)
    print(r);
  os << rule << "\n";
  // The parameter total comes last: scripts read the final line.
  os << "MACs per image: " << groupDigits(totalMacs) << "\n";
  os << "Total params: " << groupDigits(totalParams) << "\n";
  return success();
}

} // namespace rtml
