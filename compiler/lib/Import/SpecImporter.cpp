//===- SpecImporter.cpp - ModelSpec -> rtml dialect -----------------------===//
#include "rtml/Import/SpecImporter.h"
#include "rtml/Dialect/RtmlOps.h"
#include "rtml/Spec/ModelSpec.h"
#include "rtml/Support/Shapes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringMap.h"

using namespace mlir;

namespace rtml {
namespace {

class SpecImporter {
public:
  SpecImporter(const spec::ModelSpec &spec, MLIRContext &context)
      : spec(spec), context(context), builder(&context) {}

  OwningOpRef<ModuleOp> run();

private:
  Location locationOf(const SourceLocation &loc) {
    return FileLineColLoc::get(&context, spec.file, loc.line, loc.column);
  }
  Location layerLocation(const spec::LayerSpec &layer) {
    return NameLoc::get(builder.getStringAttr(layer.name),
                        locationOf(layer.location));
  }

  FailureOr<Value> importLayer(const spec::LayerSpec &layer, Value input);
  Value param(Location loc, const std::string &name, ArrayRef<int64_t> shape,
              ParamInit init, int64_t fanIn);

  /// Creates OpTy with a placeholder result type, then asks the op's own
  /// shape inference for the real one: a single shape function serves the
  /// verifier and the importer, and its errors land on the layer's line.
  template <typename OpTy, typename... Args>
  FailureOr<Value> buildInferred(Location loc, Value input, Args &&...args) {
    auto op = builder.create<OpTy>(loc, input.getType(), input,
                                   std::forward<Args>(args)...);
    SmallVector<Type> types;
    if (failed(OpTy::inferReturnTypes(
            &context, loc, op->getOperands(), op->getAttrDictionary(),
            op->getPropertiesStorage(), op->getRegions(), types))) {
      op->erase();
      return failure();
    }
    op->getResult(0).setType(types.front());
    return op->getResult(0);
  }

  DictionaryAttr trainAttr();
  DictionaryAttr dataAttr();

  const spec::ModelSpec &spec;
  MLIRContext &context;
  OpBuilder builder;
};

} // namespace

Value SpecImporter::param(Location loc, const std::string &name,
                          ArrayRef<int64_t> shape, ParamInit init,
                          int64_t fanIn) {
  auto type = RankedTensorType::get(shape, builder.getF32Type());
  return builder.create<ParamOp>(loc, type, builder.getStringAttr(name),
                                 ParamInitAttr::get(&context, init),
                                 builder.getI64IntegerAttr(fanIn));
}

static int64_t dimOf(Value v, unsigned i) {
  return cast<RankedTensorType>(v.getType()).getDimSize(i);
}

FailureOr<Value> SpecImporter::importLayer(const spec::LayerSpec &layer,
                                           Value input) {
  Location loc = layerLocation(layer);
  auto pair = [&](const char *key) {
    return builder.getDenseI64ArrayAttr(layer.field(key).intList);
  };
  auto f64 = [&](const char *key) {
    return builder.getF64FloatAttr(layer.field(key).floatValue);
  };
  const std::string &op = layer.op;

  if (op == "conv2d") {
    auto inputType = dyn_cast<RankedTensorType>(input.getType());
    if (!inputType || inputType.getRank() != 4)
      return emitError(loc) << "conv2d expects a rank-4 input [N, C, H, W], "
                               "got "
                            << input.getType();
    int64_t groups = layer.field("groups").intValue;
    int64_t inChannels = dimOf(input, 1);
    int64_t outChannels = layer.field("out_channels").intValue;
    const std::vector<int64_t> &kernel = layer.field("kernel").intList;
    if (groups <= 0 || inChannels % groups != 0)
      return emitError(loc) << "conv2d groups (" << groups
                            << ") must divide the input channels ("
                            << inChannels << ")";
    int64_t fanIn = inChannels / groups * kernel[0] * kernel[1];
    Value weight = param(loc, layer.name + ".weight",
                         {outChannels, inChannels / groups, kernel[0],
                          kernel[1]},
                         ParamInit::FanInUniform, fanIn);
    Value bias;
    if (layer.field("bias").boolValue)
      bias = param(loc, layer.name + ".bias", {outChannels},
                   ParamInit::FanInUniform, fanIn);
    return buildInferred<Conv2dOp>(
        loc, input, weight, bias, pair("stride"), pair("padding"),
        pair("dilation"), builder.getI64IntegerAttr(groups));
  }
  if (op == "relu")
    return buildInferred<ReluOp>(loc, input);
  if (op == "lrn")
    return buildInferred<LrnOp>(
        loc, input, builder.getI64IntegerAttr(layer.field("size").intValue),
        f64("alpha"), f64("beta"), f64("k"));
  if (op == "max_pool2d")
    return buildInferred<MaxPool2dOp>(
        loc, input, pair("kernel"), pair("stride"), pair("padding"),
        builder.getBoolAttr(layer.field("ceil_mode").boolValue));
  if (op == "adaptive_avg_pool2d")
    return buildInferred<AdaptiveAvgPool2dOp>(loc, input,
                                              pair("output_size"));
  if (op == "flatten")
    return buildInferred<FlattenOp>(loc, input);
  if (op == "dropout")
    return buildInferred<DropoutOp>(loc, input, f64("p"));
  if (op == "linear") {
    auto inputType = dyn_cast<RankedTensorType>(input.getType());
    if (!inputType || inputType.getRank() != 2)
      return emitError(loc)
             << "linear expects a rank-2 input [N, features], got "
             << input.getType() << "; add a flatten layer before it";
    int64_t inFeatures = dimOf(input, 1);
    int64_t outFeatures = layer.field("out_features").intValue;
    Value weight = param(loc, layer.name + ".weight",
                         {outFeatures, inFeatures}, ParamInit::FanInUniform,
                         inFeatures);
    Value bias;
    if (layer.field("bias").boolValue)
      bias = param(loc, layer.name + ".bias", {outFeatures},
                   ParamInit::FanInUniform, inFeatures);
    return buildInferred<LinearOp>(loc, input, weight, bias);
  }
  return emitError(loc) << "op '" << op << "' has no lowering to the rtml "
                                         "dialect";
}

DictionaryAttr SpecImporter::trainAttr() {
  const spec::TrainSpec &t = spec.train;
  return builder.getDictionaryAttr({
      builder.getNamedAttr("epochs", builder.getI64IntegerAttr(t.epochs)),
      builder.getNamedAttr("batch_size",
                           builder.getI64IntegerAttr(t.batchSize)),
      builder.getNamedAttr("lr", builder.getF64FloatAttr(t.learningRate)),
      builder.getNamedAttr("momentum", builder.getF64FloatAttr(t.momentum)),
      builder.getNamedAttr("weight_decay",
                           builder.getF64FloatAttr(t.weightDecay)),
      builder.getNamedAttr("seed", builder.getI64IntegerAttr(t.seed)),
  });
}

DictionaryAttr SpecImporter::dataAttr() {
  const spec::DataSpec &d = spec.data;
  SmallVector<NamedAttribute> entries = {
      builder.getNamedAttr("resize", builder.getI64IntegerAttr(d.resize)),
      builder.getNamedAttr("random_horizontal_flip",
                           builder.getBoolAttr(d.randomHorizontalFlip))};
  if (!d.mean.empty()) {
    entries.push_back(
        builder.getNamedAttr("mean", builder.getDenseF64ArrayAttr(d.mean)));
    entries.push_back(
        builder.getNamedAttr("std", builder.getDenseF64ArrayAttr(d.std)));
  }
  return builder.getDictionaryAttr(entries);
}

OwningOpRef<ModuleOp> SpecImporter::run() {
  Location moduleLoc = locationOf(spec.nameLocation);
  OwningOpRef<ModuleOp> module = ModuleOp::create(moduleLoc);
  module->getOperation()->setAttr(kModelNameAttr,
                                  builder.getStringAttr(spec.name));
  module->getOperation()->setAttr(kClassesAttr,
                                  builder.getI64IntegerAttr(spec.classes));
  module->getOperation()->setAttr(kTrainAttr, trainAttr());
  module->getOperation()->setAttr(kDataAttr, dataAttr());

  // The training image size is the resized size when the data pipeline
  // resizes; the network's input is what the first layer sees.
  int64_t height = spec.input.height, width = spec.input.width;
  auto inputType = RankedTensorType::get(
      {ShapedType::kDynamic, spec.input.channels, height, width},
      builder.getF32Type());

  builder.setInsertionPointToEnd(module->getBody());
  auto func = builder.create<func::FuncOp>(
      locationOf(spec.input.location), "forward",
      builder.getFunctionType({inputType}, {}));
  Block *body = func.addEntryBlock();
  builder.setInsertionPointToEnd(body);

  llvm::StringMap<Value> values;
  values["input"] = body->getArgument(0);
  Value previous = body->getArgument(0);
  const spec::LayerSpec *last = nullptr;
  for (const spec::LayerSpec &layer : spec.layers) {
    Value input = previous;
    if (!layer.from.empty()) {
      if (layer.from.size() != 1) {
        emitError(layerLocation(layer))
            << "op '" << layer.op << "' takes one input, got "
            << layer.from.size();
        return nullptr;
      }
      auto it = values.find(layer.from.front());
      if (it == values.end()) {
        emitError(layerLocation(layer))
            << "unknown layer '" << layer.from.front() << "' in 'from'";
        return nullptr;
      }
      input = it->second;
    }
    FailureOr<Value> result = importLayer(layer, input);
    if (failed(result))
      return nullptr;
    values[layer.name] = *result;
    previous = *result;
    last = &layer;
  }

  auto outputType = cast<RankedTensorType>(previous.getType());
  if (last && (outputType.getRank() != 2 ||
               outputType.getDimSize(1) != spec.classes)) {
    emitError(layerLocation(*last))
        << "the network's output is "
        << shapeString(std::vector<int64_t>(outputType.getShape().begin(),
                                            outputType.getShape().end()))
        << " but 'classes' is " << spec.classes << " (expected [?, "
        << spec.classes << "])";
    return nullptr;
  }
  builder.create<func::ReturnOp>(locationOf(spec.input.location), previous);
  func.setFunctionType(builder.getFunctionType({inputType}, {outputType}));

  if (failed(verify(*module)))
    return nullptr;
  return module;
}

OwningOpRef<ModuleOp> importModelSpec(const spec::ModelSpec &spec,
                                      MLIRContext &context) {
  context.loadDialect<RtmlDialect, func::FuncDialect>();
  return SpecImporter(spec, context).run();
}

} // namespace rtml
