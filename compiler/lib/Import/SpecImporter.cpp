//===- SpecImporter.cpp - ModelSpec -> rtml dialect -----------------------===//
#include "rtml/Import/SpecImporter.h"
#include "rtml/Dialect/RtmlOps.h"
#include "rtml/Dialect/SettingsAttr.h"
#include "rtml/Spec/ModelSpec.h"
#include "rtml/Support/Shapes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

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

  FailureOr<Value> importLayer(const spec::LayerSpec &layer,
                               ArrayRef<Value> inputs);
  Value param(Location loc, const std::string &name, ArrayRef<int64_t> shape,
              ParamInit init, int64_t fanIn, bool buffer = false,
              Type elementType = {});

  /// Creates OpTy with a placeholder result type, then asks the op's own
  /// shape inference for the real one: a single shape function serves the
  /// verifier and the importer, and its errors land on the layer's line.
  template <typename OpTy, typename Input, typename... Args>
  FailureOr<Value> buildInferred(Location loc, Input input, Args &&...args) {
    Type placeholder = builder.getNoneType();
    auto op = builder.create<OpTy>(loc, placeholder, input,
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

  DictionaryAttr dataAttr();
  ArrayAttr transformsAttr(const std::vector<spec::TransformSpec> &transforms);
  void place(Block *body, Block::iterator firstNew,
             const spec::LayerSpec &layer);

  const spec::ModelSpec &spec;
  MLIRContext &context;
  OpBuilder builder;
};

} // namespace

Value SpecImporter::param(Location loc, const std::string &name,
                          ArrayRef<int64_t> shape, ParamInit init,
                          int64_t fanIn, bool buffer, Type elementType) {
  auto type = RankedTensorType::get(
      shape, elementType ? elementType : builder.getF32Type());
  auto op = builder.create<ParamOp>(
      loc, type, builder.getStringAttr(name),
      ParamInitAttr::get(&context, init), builder.getI64IntegerAttr(fanIn),
      buffer ? builder.getUnitAttr() : UnitAttr(),
      /*stored_cpu=*/LayoutAttr(), /*stored_cuda=*/LayoutAttr(),
      /*read_as_cpu=*/TypeAttr(), /*read_as_cuda=*/TypeAttr());
  return op.getResult();
}

static int64_t dimOf(Value v, unsigned i) {
  return cast<RankedTensorType>(v.getType()).getDimSize(i);
}

FailureOr<Value> SpecImporter::importLayer(const spec::LayerSpec &layer,
                                           ArrayRef<Value> inputs) {
  Location loc = layerLocation(layer);
  const std::string &op = layer.op;
  // The makers of an attribute from the spec field of its name, for the
  // generated dispatch.
  auto pairAttr = [&](const char *key) {
    return builder.getDenseI64ArrayAttr(layer.field(key).intList);
  };
  auto intAttr = [&](const char *key) {
    return builder.getI64IntegerAttr(layer.field(key).intValue);
  };
  auto floatAttr = [&](const char *key) {
    return builder.getF64FloatAttr(layer.field(key).floatValue);
  };
  auto boolAttr = [&](const char *key) {
    return builder.getBoolAttr(layer.field(key).boolValue);
  };
  // Ops built from their input(s) and fields alone, generated from
  // RtmlOps.td. The loader has checked the number of inputs.
#include "rtml/Dialect/RtmlImportDispatch.inc"
  (void)pairAttr, (void)intAttr, (void)boolAttr;

  // Ops that own parameters.
  Value input = inputs.front();
  if (op == "conv2d") {
    auto inputType = dyn_cast<RankedTensorType>(input.getType());
    if (!inputType || inputType.getRank() != 4)
      return emitError(loc) << "conv2d expects a rank-4 input [N, C, H, W], "
                               "got "
                            << input.getType();
    // Whether groups divides the channels is the op's own check (its shape
    // function); the weight is laid out as if it did.
    int64_t groups = layer.field("groups").intValue;
    int64_t inChannels = dimOf(input, 1);
    int64_t outChannels = layer.field("out_channels").intValue;
    const std::vector<int64_t> &kernel = layer.field("kernel").intList;
    int64_t groupChannels = std::max<int64_t>(inChannels / groups, 1);
    int64_t fanIn = groupChannels * kernel[0] * kernel[1];
    Value weight = param(loc, layer.name + ".weight",
                         {outChannels, groupChannels, kernel[0], kernel[1]},
                         ParamInit::FanInUniform, fanIn);
    Value bias;
    if (layer.field("bias").boolValue)
      bias = param(loc, layer.name + ".bias", {outChannels},
                   ParamInit::FanInUniform, fanIn);
    return buildInferred<Conv2dOp>(loc, input, weight, bias,
                                   pairAttr("stride"), pairAttr("padding"),
                                   pairAttr("dilation"), intAttr("groups"));
  }
  if (op == "batch_norm") {
    auto inputType = dyn_cast<RankedTensorType>(input.getType());
    if (!inputType || inputType.getRank() < 2)
      return emitError(loc) << "batch_norm expects an input with channels "
                               "[N, C, ...], got "
                            << input.getType();
    int64_t channels = dimOf(input, 1);
    // PyTorch's state-dict keys and initial values for nn.BatchNorm2d.
    Value weight = param(loc, layer.name + ".weight", {channels},
                         ParamInit::Ones, 1);
    Value bias =
        param(loc, layer.name + ".bias", {channels}, ParamInit::Zeros, 1);
    Value mean = param(loc, layer.name + ".running_mean", {channels},
                       ParamInit::Zeros, 1, /*buffer=*/true);
    Value var = param(loc, layer.name + ".running_var", {channels},
                      ParamInit::Ones, 1, /*buffer=*/true);
    Value count = param(loc, layer.name + ".num_batches_tracked", {},
                        ParamInit::Zeros, 1, /*buffer=*/true,
                        builder.getI64Type());
    return buildInferred<BatchNormOp>(loc, input, weight, bias, mean, var,
                                      count, floatAttr("eps"),
                                      floatAttr("momentum"));
  }
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

ArrayAttr SpecImporter::transformsAttr(
    const std::vector<spec::TransformSpec> &transforms) {
  SmallVector<Attribute> list;
  for (const spec::TransformSpec &t : transforms) {
    SmallVector<NamedAttribute> entries = {
        builder.getNamedAttr("kind", builder.getStringAttr(t.kind))};
    if (t.kind == "resize" || t.kind == "random_resized_crop")
      entries.push_back(
          builder.getNamedAttr("size", builder.getDenseI64ArrayAttr(t.size)));
    if (t.kind == "random_horizontal_flip")
      entries.push_back(builder.getNamedAttr("p", builder.getF64FloatAttr(t.p)));
    if (t.kind == "random_resized_crop") {
      entries.push_back(builder.getNamedAttr(
          "scale", builder.getDenseF64ArrayAttr(t.scale)));
      entries.push_back(builder.getNamedAttr(
          "ratio", builder.getDenseF64ArrayAttr(t.ratio)));
    }
    if (t.kind == "normalize") {
      entries.push_back(
          builder.getNamedAttr("mean", builder.getDenseF64ArrayAttr(t.mean)));
      entries.push_back(
          builder.getNamedAttr("std", builder.getDenseF64ArrayAttr(t.std)));
    }
    if (t.kind == "grayscale")
      entries.push_back(builder.getNamedAttr(
          "num_output_channels",
          builder.getI64IntegerAttr(t.numOutputChannels)));
    list.push_back(builder.getDictionaryAttr(entries));
  }
  return builder.getArrayAttr(list);
}

DictionaryAttr SpecImporter::dataAttr() {
  const spec::DataSpec &d = spec.data;
  SmallVector<NamedAttribute> entries = dataSettingsEntries(builder, d);
  entries.push_back(builder.getNamedAttr("train_transforms",
                                         transformsAttr(d.trainTransforms)));
  entries.push_back(builder.getNamedAttr("eval_transforms",
                                         transformsAttr(d.evalTransforms)));
  return builder.getDictionaryAttr(entries);
}

/// Places every op created for one layer (the layer's op and its
/// parameters) on the layer's device.
void SpecImporter::place(Block *body, Block::iterator firstNew,
                         const spec::LayerSpec &layer) {
  if (layer.device.empty())
    return;
  auto device = builder.getStringAttr(layer.device);
  for (Operation &op : llvm::make_range(firstNew, body->end()))
    op.setAttr(kDeviceAttr, device);
}

OwningOpRef<ModuleOp> SpecImporter::run() {
  Location moduleLoc = locationOf(spec.nameLocation);
  OwningOpRef<ModuleOp> module = ModuleOp::create(moduleLoc);
  Operation *moduleOp = module->getOperation();
  moduleOp->setAttr(kModelNameAttr, builder.getStringAttr(spec.name));
  moduleOp->setAttr(kClassesAttr, builder.getI64IntegerAttr(spec.classes));
  moduleOp->setAttr(kTrainAttr, trainAttr(builder, spec.train));
  moduleOp->setAttr(kDataAttr, dataAttr());
  if (!spec.devices.empty())
    moduleOp->setAttr(kDevicesAttr,
                      builder.getStrArrayAttr(SmallVector<StringRef>(
                          spec.devices.begin(), spec.devices.end())));

  auto inputType = RankedTensorType::get({ShapedType::kDynamic,
                                          spec.input.channels,
                                          spec.input.height, spec.input.width},
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
  // A layer whose shapes do not fit is reported, and so is every other
  // independent mistake: the layers that read a failed one are skipped
  // silently (their error would only repeat it), the rest still import.
  llvm::StringSet<> failedLayers;
  bool previousFailed = false;
  for (const spec::LayerSpec &layer : spec.layers) {
    SmallVector<Value> inputs;
    bool readsFailed = layer.from.empty() && previousFailed;
    if (layer.from.empty())
      inputs.push_back(previous);
    for (const std::string &name : layer.from) {
      if (failedLayers.contains(name)) {
        readsFailed = true;
        continue;
      }
      auto it = values.find(name);
      if (it == values.end()) {
        emitError(layerLocation(layer))
            << "unknown layer '" << name << "' in 'from'";
        readsFailed = true;
        break;
      }
      inputs.push_back(it->second);
    }
    FailureOr<Value> result = failure();
    if (!readsFailed) {
      Block::iterator firstNew =
          body->empty() ? body->begin() : std::prev(body->end());
      bool wasEmpty = body->empty();
      result = importLayer(layer, inputs);
      if (succeeded(result))
        place(body, wasEmpty ? body->begin() : std::next(firstNew), layer);
    }
    previousFailed = failed(result);
    if (failed(result)) {
      failedLayers.insert(layer.name);
      continue;
    }
    values[layer.name] = *result;
    previous = *result;
  }
  if (!failedLayers.empty())
    return nullptr;

  // One result per head, the main head first; each gives class logits.
  SmallVector<Value> outputs;
  SmallVector<Type> outputTypes;
  SmallVector<Attribute> heads;
  for (const spec::HeadSpec &head : spec.heads) {
    auto it = values.find(head.output);
    if (it == values.end()) {
      emitError(locationOf(head.location))
          << "head '" << head.name << "' reads unknown layer '" << head.output
          << "'";
      return nullptr;
    }
    auto type = cast<RankedTensorType>(it->second.getType());
    if (type.getRank() != 2 || type.getDimSize(1) != spec.classes) {
      const spec::LayerSpec *layer = spec.layer(head.output);
      Location loc = layer ? layerLocation(*layer) : locationOf(head.location);
      emitError(loc) << "head '" << head.name << "' reads '" << head.output
                     << "', whose output is "
                     << shapeString(std::vector<int64_t>(
                            type.getShape().begin(), type.getShape().end()))
                     << ", but 'classes' is " << spec.classes
                     << " (expected [?, " << spec.classes << "])";
      return nullptr;
    }
    outputs.push_back(it->second);
    outputTypes.push_back(type);
    heads.push_back(builder.getDictionaryAttr(
        {builder.getNamedAttr("name", builder.getStringAttr(head.name)),
         builder.getNamedAttr("loss_weight",
                              builder.getF64FloatAttr(head.lossWeight))}));
  }
  moduleOp->setAttr(kHeadsAttr, builder.getArrayAttr(heads));
  builder.create<func::ReturnOp>(locationOf(spec.input.location), outputs);
  func.setFunctionType(builder.getFunctionType({inputType}, outputTypes));

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
