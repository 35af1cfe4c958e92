//===- CppEmitter.cpp - rtml module -> model.cpp + CMakeLists.txt ---------===//
//
// The emitted forward() is straight-line code: one runtime op call per rtml
// op, in the module's order, each value a named local. Reading it next to
// `rtmlc --emit=mlir` shows one line per op.
//
//===----------------------------------------------------------------------===//
#include "rtml/Target/CppEmitter.h"
#include "rtml/Dialect/PrecisionAttr.h"
#include "rtml/Dialect/RtmlOps.h"
#include "rtml/Dialect/SettingsAttr.h"
#include "rtml/Support/EnumNames.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"

using namespace mlir;

namespace rtml {

std::string modelName(ModuleOp module) {
  if (auto name = module->getAttrOfType<StringAttr>(kModelNameAttr))
    return name.str();
  return "model";
}

/// The name of the I-th layer a sibling_conv2d merged: its results are named
/// after the convolutions they replace.
static std::string mergedLayerName(SiblingConv2dOp op, unsigned i) {
  if (auto fused = dyn_cast<FusedLoc>(op->getLoc()))
    if (i < fused.getLocations().size())
      if (auto name = dyn_cast<NameLoc>(fused.getLocations()[i]))
        return name.getName().str();
  return "";
}

/// The layer name an op was imported from (its NameLoc), if any.
static std::string layerName(Operation *op) {
  if (auto name = dyn_cast<NameLoc>(op->getLoc()))
    return name.getName().str();
  // A fused op is named after the last layer it absorbed.
  if (auto fused = dyn_cast<FusedLoc>(op->getLoc()))
    for (Location loc : llvm::reverse(fused.getLocations()))
      if (auto name = dyn_cast<NameLoc>(loc))
        return name.getName().str();
  return "";
}

static std::string sourcePosition(Operation *op) {
  Location loc = op->getLoc();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    loc = fused.getLocations().back();
  if (auto name = dyn_cast<NameLoc>(loc))
    loc = name.getChildLoc();
  if (auto file = dyn_cast<FileLineColLoc>(loc))
    return (llvm::Twine(file.getFilename().getValue()) + ":" +
            llvm::Twine(file.getLine()) + ":" + llvm::Twine(file.getColumn()))
        .str();
  return "";
}

static std::string cppString(StringRef s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

static std::string cppDouble(double value) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format("%.17g", value);
  return os.str();
}

static std::string cppInts(ArrayRef<int64_t> values) {
  std::string s = "{";
  for (size_t i = 0; i < values.size(); ++i)
    s += (i ? ", " : "") + std::to_string(values[i]);
  return s + "}";
}

static std::string cppDoubles(ArrayRef<double> values) {
  std::string s = "{";
  for (size_t i = 0; i < values.size(); ++i)
    s += (i ? ", " : "") + cppDouble(values[i]);
  return s + "}";
}

static const char *cppParamInit(ParamInit init) {
  static constexpr const char *kNames[] = {"rtml::ParamInit::FanInUniform",
                                           "rtml::ParamInit::Zeros",
                                           "rtml::ParamInit::Ones"};
  static_assert(std::size(kNames) == size_t(ParamInit::Ones) + 1);
  return enumName(kNames, init, kNames[0]);
}

static FailureOr<func::FuncOp> forwardFunction(ModuleOp module) {
  auto funcs = module.getOps<func::FuncOp>();
  if (funcs.empty() || std::next(funcs.begin()) != funcs.end())
    return module.emitError("an rtml module needs exactly one function, the "
                            "model's forward"),
           failure();
  func::FuncOp func = *funcs.begin();
  if (func.getNumArguments() != 1 || func.getNumResults() < 1 ||
      !func.getBody().hasOneBlock())
    return func.emitError("the forward function takes one input batch and "
                          "returns the logits of each head"),
           failure();
  auto heads = module->getAttrOfType<ArrayAttr>(kHeadsAttr);
  if (func.getNumResults() > 1 &&
      (!heads || heads.size() != func.getNumResults()))
    return func.emitError("a forward function with ")
               << func.getNumResults()
               << " results needs an rtml.heads entry for each",
           failure();
  return func;
}

namespace {
/// One emitted kernel: an LRN, fused with the ReLU before it or not.
struct LrnKernel {
  Operation *op;
  int64_t size;
  double alpha, beta, k;
  bool relu;
  std::string entry() const; // the C++ entry point's name
  int index;
};
std::string LrnKernel::entry() const {
  return "rtml_lrn_" + std::to_string(index);
}
} // namespace

/// The kernels of the forward function, in op order; indices are stable for
/// a given module, so model.cpp and kernels.* agree.
static std::vector<LrnKernel> collectKernels(func::FuncOp func) {
  std::vector<LrnKernel> kernels;
  for (Operation &op : func.getBody().front()) {
    if (auto lrn = dyn_cast<LrnOp>(op))
      kernels.push_back({&op, static_cast<int64_t>(lrn.getSize()),
                         lrn.getAlpha().convertToDouble(),
                         lrn.getBeta().convertToDouble(),
                         lrn.getK().convertToDouble(), false,
                         static_cast<int>(kernels.size())});
    else if (auto fused = dyn_cast<ReluLrnOp>(op))
      kernels.push_back({&op, static_cast<int64_t>(fused.getSize()),
                         fused.getAlpha().convertToDouble(),
                         fused.getBeta().convertToDouble(),
                         fused.getK().convertToDouble(), true,
                         static_cast<int>(kernels.size())});
  }
  return kernels;
}

/// The concat_relu ops of the forward function, in op order.
static std::vector<ConcatReluOp> collectConcatKernels(func::FuncOp func) {
  std::vector<ConcatReluOp> kernels;
  for (auto op : func.getBody().front().getOps<ConcatReluOp>())
    kernels.push_back(op);
  return kernels;
}

static std::string concatEntry(size_t index) {
  return "rtml_concat_relu_" + std::to_string(index);
}

namespace {
/// Names every value of the forward function as a C++ local.
class ValueNamer {
public:
  /// V's local, or the expression that stands for it in the op being
  /// emitted (its cast to the op's compute type).
  std::string name(Value v) const {
    auto cast = casts.find(v);
    return cast != casts.end() ? cast->second : names.lookup(v);
  }
  /// Names V by EXPRESSION until clearCasts().
  void castAs(Value v, std::string expression) { casts[v] = expression; }
  void clearCasts() { casts.clear(); }
  /// A fresh C++ local named after HINT, for a value the IR does not have
  /// (the vector a multi-result call returns).
  std::string local(StringRef hint) {
    std::string base = "v";
    if (!hint.empty()) {
      base = "";
      for (char c : hint)
        base += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      if (std::isdigit(static_cast<unsigned char>(base[0])))
        base = "l_" + base;
    }
    std::string candidate = base;
    for (int i = 1; used.contains(candidate); ++i)
      candidate = base + "_" + std::to_string(i);
    used.insert(candidate);
    return candidate;
  }
  void assign(Value v, StringRef hint) { names[v] = local(hint); }

private:
  llvm::DenseMap<Value, std::string> names, casts;
  llvm::StringSet<> used{{"input", "p", "training"}};
};
} // namespace

/// The position of OP's device in the module's rtml.devices (0 without).
static int64_t deviceIndex(Operation *op) {
  auto module = op->getParentOfType<ModuleOp>();
  auto devices = module ? module->getAttrOfType<ArrayAttr>(kDevicesAttr)
                        : ArrayAttr();
  StringRef device = deviceOf(op);
  if (!devices || device.empty())
    return 0;
  for (auto [i, d] : llvm::enumerate(devices.getAsRange<StringAttr>()))
    if (d.getValue() == device)
      return static_cast<int64_t>(i);
  return 0;
}

namespace {
/// The C++ text of a runtime call's arguments, for the generated calls.
struct RuntimeArgs {
  const ValueNamer &namer;
  /// A tensor operand; an absent optional one is an undefined tensor.
  std::string tensor(Value v) const {
    return v ? namer.name(v) : std::string("at::Tensor()");
  }
  std::string tensors(ValueRange values) const {
    std::string list;
    for (Value v : values)
      list += (list.empty() ? "" : ", ") + namer.name(v);
    return "{" + list + "}";
  }
  std::string attribute(Attribute attr) const {
    if (auto b = dyn_cast<BoolAttr>(attr))
      return b.getValue() ? "true" : "false";
    if (auto i = dyn_cast<IntegerAttr>(attr))
      return std::to_string(i.getInt());
    if (auto f = dyn_cast<FloatAttr>(attr))
      return cppDouble(f.getValueAsDouble());
    if (auto ints = dyn_cast<DenseI64ArrayAttr>(attr))
      return cppInts(ints.asArrayRef());
    llvm_unreachable("rtml-tblgen only generates calls with these attributes");
  }
};
} // namespace

static std::string runtimeCall(StringRef function,
                               ArrayRef<std::string> arguments) {
  return ("rtml::ops::" + function + "(" + llvm::join(arguments, ", ") + ")")
      .str();
}

static const char *cppLayout(Layout layout) {
  return layout == Layout::Nhwc ? "rtml::ops::Layout::Nhwc"
                                : "rtml::ops::Layout::Nchw";
}

static const char *cppBiasAdd(BiasAdd where) {
  return where == BiasAdd::Epilogue ? "rtml::ops::BiasAdd::InEpilogue"
                                    : "rtml::ops::BiasAdd::InConv";
}

/// Names the bias of each result of convolution OP that an rtml.bias_relu
/// reads by rtml::ops::convBias, which drops it on the device kinds where
/// the epilogue adds it (the verifier makes the epilogue the result's only
/// reader). Before the casts, so that a dropped bias is not cast either.
static void nameConvBiases(Operation *op, ValueNamer &namer) {
  if (!isa<Conv2dOp, SiblingConv2dOp>(op))
    return;
  for (Value result : op->getResults()) {
    Value bias = convolutionBias(result);
    if (!bias || !result.hasOneUse())
      continue;
    OpOperand &use = *result.getUses().begin();
    std::optional<std::pair<BiasAdd, BiasAdd>> placement;
    if (auto epilogue = dyn_cast<BiasReluOp>(use.getOwner()))
      placement = {epilogue.getCpu(), epilogue.getCuda()};
    else if (auto concat = dyn_cast<ConcatReluOp>(use.getOwner());
             concat && concat.getBiasCpu() &&
             concat.getInputBias(use.getOperandNumber()) == bias)
      placement = {*concat.getBiasCpu(), *concat.getBiasCuda()};
    if (!placement)
      continue;
    namer.castAs(bias, "rtml::ops::convBias(" + namer.name(bias) + ", " +
                           cppBiasAdd(placement->first) + ", " +
                           cppBiasAdd(placement->second) + ")");
  }
}

/// rtml.to_layout: the runtime picks the CPU or the CUDA layout from where
/// the tensor is, as the op says.
static std::string toLayoutCall(ToLayoutOp op, const ValueNamer &namer) {
  return runtimeCall("toLayout", {namer.name(op.getInput()),
                                  cppLayout(op.getCpu()),
                                  cppLayout(op.getCuda())});
}

static FailureOr<std::string>
emitOpCall(Operation *op, const ValueNamer &namer,
           const llvm::DenseMap<Operation *, std::string> &kernelEntries) {
  auto kernel = kernelEntries.find(op);
  if (auto concat = dyn_cast<ConcatReluOp>(op);
      concat && kernel != kernelEntries.end()) {
    std::string inputs, bnParams, biases;
    for (Value v : concat.getInputs())
      inputs += (inputs.empty() ? "" : ", ") + namer.name(v);
    for (Value v : concat.getBnParams())
      bnParams += (bnParams.empty() ? "" : ", ") + namer.name(v);
    // One per input where some input adds its convolution's bias: that
    // bias on the device kinds whose epilogue adds it, else none.
    if (concat.getBias())
      for (unsigned i = 0; i < concat.getInputs().size(); ++i) {
        Value bias = concat.getInputBias(i);
        biases += std::string(i ? ", " : "") +
                  (bias ? "rtml::ops::epilogueBias(" + namer.name(bias) + ", " +
                              cppBiasAdd(*concat.getBiasCpu()) + ", " +
                              cppBiasAdd(*concat.getBiasCuda()) + ")"
                        : "at::Tensor()");
      }
    return kernel->second + "({" + inputs + "}, {" + bnParams +
           "}, training, {" + biases + "})";
  }
  if (kernel != kernelEntries.end())
    return kernel->second + "(" + namer.name(op->getOperand(0)) + ")";
  RuntimeArgs args{namer};
  return llvm::TypeSwitch<Operation *, FailureOr<std::string>>(op)
#include "rtml/Dialect/RtmlEmitterCalls.inc"
      .Case([&](TransferOp transfer) -> FailureOr<std::string> {
        Operation *producer = transfer.getInput().getDefiningOp();
        return "rtml::ops::toDevice(" + namer.name(transfer.getInput()) +
               ", " + std::to_string(deviceIndex(transfer)) + ", " +
               std::to_string(producer ? deviceIndex(producer) : 0) + ")";
      })
      .Case([&](ToLayoutOp toLayout) -> FailureOr<std::string> {
        return toLayoutCall(toLayout, namer);
      })
      .Case([&](BiasReluOp epilogue) -> FailureOr<std::string> {
        return runtimeCall("biasRelu", {args.tensor(epilogue.getInput()),
                                        args.tensor(epilogue.getBias()),
                                        cppBiasAdd(epilogue.getCpu()),
                                        cppBiasAdd(epilogue.getCuda())});
      })
      .Case([&](SiblingConv2dOp siblings) -> FailureOr<std::string> {
        return runtimeCall("siblingConv2d",
                           {args.tensor(siblings.getInput()),
                            args.tensors(siblings.getWeights()),
                            args.tensors(siblings.getBiases()),
                            args.attribute(siblings.getStrideAttr()),
                            args.attribute(siblings.getPaddingAttr()),
                            args.attribute(siblings.getDilationAttr())});
      })
      .Default([&](Operation *other) -> FailureOr<std::string> {
        other->emitError("the C++ emitter has no lowering for '")
            << other->getName() << "'";
        return failure();
      });
}

/// A runtime TransformConfig from one entry of rtml.data's transform lists
/// (verified: a known kind with all of its entries).
static std::string cppTransform(DictionaryAttr t) {
  StringRef kind = t.getAs<StringAttr>("kind").getValue();
  const TransformKind *known =
      llvm::find_if(transformKinds(),
                    [&](const TransformKind &k) { return k.name == kind; });
  std::string s = "[] {\n      rtml::TransformConfig t;\n      t.kind = "
                  "rtml::TransformConfig::Kind::" +
                  known->cppKind.str() + ";\n";
  if (auto v = t.getAs<DenseI64ArrayAttr>("size"))
    s += "      t.size = " + cppInts(v.asArrayRef()) + ";\n";
  if (auto v = t.getAs<FloatAttr>("p"))
    s += "      t.p = " + cppDouble(v.getValueAsDouble()) + ";\n";
  for (const char *key : {"scale", "ratio", "mean", "std"})
    if (auto v = t.getAs<DenseF64ArrayAttr>(key))
      s += std::string("      t.") + key + " = " + cppDoubles(v.asArrayRef()) +
           ";\n";
  if (auto v = t.getAs<IntegerAttr>("num_output_channels"))
    s += "      t.numOutputChannels = " + std::to_string(v.getInt()) + ";\n";
  return s + "      return t;\n    }()";
}

/// A setting's value as a C++ expression of its member's type.
static std::string cppSetting(const settings::SettingInfo &info,
                              const settings::Value &value) {
  switch (info.kind) {
  case settings::Kind::Int:
    return std::to_string(std::get<int64_t>(value));
  case settings::Kind::Float:
    return cppDouble(std::get<double>(value));
  case settings::Kind::Bool:
    return std::get<bool>(value) ? "true" : "false";
  case settings::Kind::Enum:
    return std::string(info.enumInfo->cppType) + "::" +
           info.enumInfo->cppNames[std::get<int64_t>(value)];
  }
  return "";
}

/// `info_.FIELD.member = value;` for every setting of the table.
template <typename Settings>
static void emitSettings(const Settings &s,
                         const std::vector<settings::SettingInfo> &table,
                         StringRef field, llvm::raw_ostream &os) {
  for (auto [i, info] : llvm::enumerate(table))
    os << "    info_." << field << "." << info.member << " = "
       << cppSetting(info, settings::get(s, i)) << ";\n";
}

/// `rtml::Precision::Bf16`: the runtime's name of MATH.
static std::string cppPrecision(Math math) {
  const settings::EnumInfo &info = settings::kPrecisionInfo;
  return std::string(info.cppType) +
         "::" + info.cppNames[static_cast<int>(math)];
}

/// ModelInfo's cpuInput and cudaInput: the input's layout is its
/// rtml.to_layout's when that is its only reader (NCHW otherwise), and it
/// is bf16 on a device kind where every op reading it (after that
/// conversion) computes in bf16.
static void emitInputFormat(func::FuncOp func, llvm::raw_ostream &os) {
  Value input = func.getArgument(0);
  bool nhwc[2] = {false, false}, bf16[2] = {true, true};
  if (input.hasOneUse())
    if (auto toLayout = dyn_cast<ToLayoutOp>(*input.getUsers().begin())) {
      nhwc[0] = toLayout.getCpu() == Layout::Nhwc;
      nhwc[1] = toLayout.getCuda() == Layout::Nhwc;
      input = toLayout.getResult();
    }
  if (input.use_empty())
    bf16[0] = bf16[1] = false;
  for (Operation *user : input.getUsers()) {
    auto computeType = user->getAttrOfType<DictionaryAttr>(kComputeTypeAttr);
    SmallVector<Math> math =
        computeType ? policyOf(computeType) : SmallVector<Math>(2, Math::Fp32);
    for (int kind = 0; kind < 2; ++kind)
      bf16[kind] = bf16[kind] && math[kind] == Math::Bf16;
  }
  const char *fields[2] = {"cpuInput", "cudaInput"};
  for (int kind = 0; kind < 2; ++kind)
    os << "    info_." << fields[kind] << " = {/*nhwc=*/"
       << (nhwc[kind] ? "true" : "false") << ", /*bf16=*/"
       << (bf16[kind] ? "true" : "false") << "};\n";
}

static void emitInfo(ModuleOp module, func::FuncOp func,
                     llvm::raw_ostream &os) {
  auto inputType = cast<RankedTensorType>(func.getArgumentTypes().front());
  os << "    info_.name = " << cppString(modelName(module)) << ";\n";
  os << "    info_.inputShape = " << cppInts(inputType.getShape().drop_front())
     << ";\n";
  emitInputFormat(func, os);
  if (auto policy = module->getAttrOfType<DictionaryAttr>(kPrecisionAttr)) {
    SmallVector<Math> math = policyOf(policy);
    os << "    info_.cpuPrecision = " << cppPrecision(math[0]) << ";\n"
       << "    info_.cudaPrecision = " << cppPrecision(math[1]) << ";\n";
  }
  int64_t classes = 0;
  if (auto c = module->getAttrOfType<IntegerAttr>(kClassesAttr))
    classes = c.getInt();
  os << "    info_.numClasses = " << classes << ";\n";

  emitSettings(trainSettingsOf(
                   module->getAttrOfType<DictionaryAttr>(kTrainAttr)),
               settings::trainSettings(), "train", os);
  if (auto heads = module->getAttrOfType<ArrayAttr>(kHeadsAttr)) {
    os << "    info_.heads = {";
    for (auto [i, head] : llvm::enumerate(heads.getAsRange<DictionaryAttr>()))
      os << (i ? ", " : "") << "{"
         << cppString(head.getAs<StringAttr>("name").getValue()) << ", "
         << cppDouble(head.getAs<FloatAttr>("loss_weight").getValueAsDouble())
         << "}";
    os << "};\n";
  }
  auto data = module->getAttrOfType<DictionaryAttr>(kDataAttr);
  emitSettings(dataSettingsOf(data), settings::dataSettings(), "data", os);
  for (auto [key, field] : {std::pair{"train_transforms", "trainTransforms"},
                            std::pair{"eval_transforms", "evalTransforms"}})
    for (auto t : data.getAs<ArrayAttr>(key).getAsRange<DictionaryAttr>())
      os << "    info_.data." << field << ".push_back(" << cppTransform(t)
         << ");\n";
  if (auto devices = module->getAttrOfType<ArrayAttr>(kDevicesAttr)) {
    os << "    info_.devices = {";
    for (auto [i, d] : llvm::enumerate(devices.getAsRange<StringAttr>()))
      os << (i ? ", " : "") << cppString(d.getValue());
    os << "};\n";
  }
}

/// `, rtml::Precision::Fp32, rtml::Precision::Bf16`: a per-device-kind
/// attribute (rtml.precision or rtml.compute_type) as the runtime's
/// (cpu, cuda) arguments.
static std::string cppPolicyArgs(DictionaryAttr perKind) {
  std::string s;
  for (Math math : policyOf(perKind))
    s += ", " + cppPrecision(math);
  return s;
}

/// Whether some device kind of MODULE's rtml.precision computes in bf16:
/// otherwise every tensor is f32 and no op needs a cast.
static bool hasBf16(ModuleOp module) {
  auto policy = module->getAttrOfType<DictionaryAttr>(kPrecisionAttr);
  return policy && llvm::is_contained(policyOf(policy), Math::Bf16);
}

/// Names OP's operands, for its statement, by their casts to the op's
/// rtml.compute_type, in a module with bf16 somewhere. A parameter is f32 (a
/// master weight) and is cast only where the op computes in bf16; a fused
/// concat's batch norm operands are its parameters and running statistics,
/// updated in place, never cast.
static void nameCastOperands(Operation *op, ValueNamer &namer) {
  auto computeType = op->getAttrOfType<DictionaryAttr>(kComputeTypeAttr);
  if (!computeType || !hasBf16(op->getParentOfType<ModuleOp>()))
    return;
  bool anyBf16 = llvm::is_contained(policyOf(computeType), Math::Bf16);
  ValueRange operands = op->getOperands();
  if (auto concat = dyn_cast<ConcatReluOp>(op))
    operands = concat.getInputs();
  std::string args = cppPolicyArgs(computeType);
  for (Value v : operands) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || !type.getElementType().isF32() ||
        (v.getDefiningOp<ParamOp>() && !anyBf16))
      continue;
    namer.castAs(v, "rtml::ops::inPrecision(" + namer.name(v) + args + ")");
  }
}

/// The ops VALUES depend on (their backward slice within the block).
static llvm::DenseSet<Operation *> opsNeededFor(ValueRange values) {
  llvm::DenseSet<Operation *> needed;
  SmallVector<Value> work(values.begin(), values.end());
  while (!work.empty()) {
    Operation *op = work.pop_back_val().getDefiningOp();
    if (!op || !needed.insert(op).second)
      continue;
    work.append(op->operand_begin(), op->operand_end());
  }
  return needed;
}

LogicalResult emitModelCpp(ModuleOp module, llvm::raw_ostream &os) {
  FailureOr<func::FuncOp> func = forwardFunction(module);
  if (failed(func))
    return failure();
  // The trainer's settings come from the module alone: no defaults here.
  for (StringRef attr : {kTrainAttr, kDataAttr})
    if (!module->getAttrOfType<DictionaryAttr>(attr))
      return module.emitError("the C++ emitter needs the module's '")
             << attr << "' (the training and data settings)";
  Block &body = func->getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());

  // Parameters first: their order is the order of forward()'s `p`.
  ValueNamer namer;
  std::string paramTable;
  llvm::DenseMap<Operation *, int> paramIndex;
  for (auto param : body.getOps<ParamOp>()) {
    auto type = param.getType();
    paramTable += "        {" + cppString(param.getName()) + ", " +
                  cppInts(type.getShape()) + ", " +
                  cppParamInit(param.getInit()) + ", " +
                  std::to_string(param.getFanIn());
    int64_t device = deviceIndex(param);
    bool cpuNhwc = param.getStoredCpu() == Layout::Nhwc;
    bool cudaNhwc = param.getStoredCuda() == Layout::Nhwc;
    auto isBf16 = [](std::optional<Type> t) { return t && t->isBF16(); };
    bool cpuCopy = isBf16(param.getReadAsCpu());
    bool cudaCopy = isBf16(param.getReadAsCuda());
    auto pair = [](bool cpu, bool cuda) {
      return std::string("{") + (cpu ? "true" : "false") + ", " +
             (cuda ? "true" : "false") + "}";
    };
    // ParameterSpec's fields after fanIn, each written when it or a later
    // one differs from its default.
    bool copy = cpuCopy || cudaCopy;
    bool stored = cpuNhwc || cudaNhwc || copy;
    bool placed = device != 0 || stored;
    if (param.getBuffer() || placed)
      paramTable += std::string(", /*trainable=*/") +
                    (param.getBuffer() ? "false" : "true") + ", " +
                    (type.getElementType().isInteger(64)
                         ? "c10::ScalarType::Long"
                         : "c10::ScalarType::Float");
    if (placed)
      paramTable += ", /*device=*/" + std::to_string(device);
    if (stored)
      paramTable += ", /*storedNhwc=*/" + pair(cpuNhwc, cudaNhwc);
    if (copy)
      paramTable += ", /*bf16Copy=*/" + pair(cpuCopy, cudaCopy);
    paramTable += "},\n";
    int index = static_cast<int>(paramIndex.size());
    paramIndex[param] = index;
    // Reserve the name so no layer local shadows the parameter vector.
    namer.assign(param.getResult(), "p_" + std::to_string(index));
  }
  namer.assign(body.getArgument(0), "x");

  llvm::DenseMap<Operation *, std::string> kernelEntries;
  for (const LrnKernel &kernel : collectKernels(*func))
    kernelEntries[kernel.op] = kernel.entry();
  for (auto [i, op] : llvm::enumerate(collectConcatKernels(*func)))
    kernelEntries[op] = concatEntry(i);

  // Every op's statement, named once so both entry points agree.
  llvm::DenseMap<Operation *, std::string> statements;
  for (Operation &op : body) {
    std::string &text = statements[&op];
    llvm::raw_string_ostream st(text);
    if (auto param = dyn_cast<ParamOp>(op)) {
      st << "    const at::Tensor &" << namer.name(param.getResult())
         << " = p[" << paramIndex[param] << "];\n";
      continue;
    }
    if (isa<func::ReturnOp>(op))
      continue;
    nameConvBiases(&op, namer);
    nameCastOperands(&op, namer);
    FailureOr<std::string> call = emitOpCall(&op, namer, kernelEntries);
    namer.clearCasts();
    if (failed(call))
      return failure();
    // The layers the op computes: one, or each convolution a
    // sibling_conv2d merged, whose result is named after it.
    auto siblings = dyn_cast<SiblingConv2dOp>(op);
    std::vector<std::string> layers;
    if (siblings)
      for (unsigned i = 0; i < op.getNumResults(); ++i)
        layers.push_back(mergedLayerName(siblings, i));
    else
      layers.push_back(layerName(&op));
    std::string where = sourcePosition(&op);
    st << "    // " << op.getName().getStringRef();
    if (!layers.front().empty())
      st << " '" << llvm::join(layers, "', '") << "'";
    if (!where.empty())
      st << " at " << where;
    if (siblings) {
      std::string all = namer.local(layers.front() + "_siblings");
      st << "\n    std::vector<at::Tensor> " << all << " = " << *call << ";\n";
      for (auto [i, result] : llvm::enumerate(op.getResults())) {
        namer.assign(result, layers[i]);
        st << "    const at::Tensor &" << namer.name(result) << " = " << all
           << "[" << i << "];\n";
      }
      continue;
    }
    // A conversion is named after what it converts, so that the layer's
    // own op keeps the layer's name.
    namer.assign(op.getResult(0), isa<ToLayoutOp>(op)
                                      ? namer.name(op.getOperand(0)) + "_layout"
                                      : layers.front());
    st << "\n    at::Tensor " << namer.name(op.getResult(0)) << " = " << *call
       << ";\n";
  }
  // Several logical devices: each one's ops are issued on its own stream
  // (rtml::DeviceStreams), switched to wherever the device changes.
  auto devices = module->getAttrOfType<ArrayAttr>(kDevicesAttr);
  bool streams = devices && devices.size() > 1;
  auto emitBody = [&](const llvm::DenseSet<Operation *> *only) {
    std::string text;
    if (streams)
      text += "    rtml::DeviceStreams streams;\n";
    int64_t current = -1;
    for (Operation &op : body) {
      if (only && !only->contains(&op))
        continue;
      if (streams && !isa<ParamOp, func::ReturnOp>(op) &&
          deviceIndex(&op) != current) {
        current = deviceIndex(&op);
        text += "    streams.use(" + std::to_string(current) + ");\n";
      }
      text += statements[&op];
    }
    return text;
  };

  // The step's math on each device kind (TF32 or not, for CUDA), set
  // before its first op; the backward runs under the same setting.
  std::string prologue;
  if (auto policy = module->getAttrOfType<DictionaryAttr>(kPrecisionAttr))
    prologue = "    rtml::ops::usePrecision(x" + cppPolicyArgs(policy) + ");\n";
  // The logits leave in their rtml.compute_type (the loss's, f32).
  nameCastOperands(ret, namer);

  // forward(): the main head only, so evaluation skips the side heads.
  llvm::DenseSet<Operation *> mainOps = opsNeededFor(ret.getOperand(0));
  std::string forwardBody = prologue + emitBody(&mainOps) + "    return " +
                            namer.name(ret.getOperand(0)) + ";\n";
  std::string headsBody;
  if (ret.getNumOperands() > 1) {
    headsBody = prologue + emitBody(nullptr) + "    return {";
    for (auto [i, v] : llvm::enumerate(ret.getOperands()))
      headsBody += (i ? ", " : "") + namer.name(v);
    headsBody += "};\n";
  }
  namer.clearCasts();

  os << "// Generated by rtmlc from the rtml module of model '"
     << modelName(module) << "'.\n"
     << "// Do not edit: change the spec and compile it again.\n"
     << "#include \"rtml/Runtime/DeviceMap.h\"\n"
     << "#include \"rtml/Runtime/Model.h\"\n"
     << "#include \"rtml/Runtime/Ops.h\"\n"
     << "#include \"kernels.h\"\n\n"
     << "namespace {\n\n"
     << "class GeneratedModel final : public rtml::CompiledModel {\n"
     << "public:\n"
     << "  GeneratedModel() {\n";
  emitInfo(module, *func, os);
  os << "    params_ = {\n" << paramTable << "    };\n"
     << "  }\n\n"
     << "  const rtml::ModelInfo &info() const override { return info_; }\n"
     << "  const std::vector<rtml::ParameterSpec> &parameters() const "
        "override {\n"
     << "    return params_;\n"
     << "  }\n\n"
     << "  at::Tensor forward(const at::Tensor &x,\n"
     << "                     const std::vector<at::Tensor> &p,\n"
     << "                     bool training) const override {\n"
     << "    (void)training;\n"
     << forwardBody << "  }\n";
  if (!headsBody.empty())
    os << "\n  std::vector<at::Tensor>\n"
       << "  forwardHeads(const at::Tensor &x, const std::vector<at::Tensor> "
          "&p,\n"
       << "               bool training) const override {\n"
       << "    (void)training;\n"
       << headsBody << "  }\n";
  os << "\n"
     << "private:\n"
     << "  rtml::ModelInfo info_;\n"
     << "  std::vector<rtml::ParameterSpec> params_;\n"
     << "};\n\n"
     << "} // namespace\n\n"
     << "int main(int argc, char **argv) {\n"
     << "  GeneratedModel model;\n"
     << "  return rtml::trainerMain(argc, argv, model);\n"
     << "}\n";
  return success();
}

static std::string cppFloat(double value) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format("%.9e", value) << "f";
  return os.str();
}

LogicalResult emitKernels(ModuleOp module, KernelFile file,
                          llvm::raw_ostream &os) {
  FailureOr<func::FuncOp> func = forwardFunction(module);
  if (failed(func))
    return failure();
  std::vector<LrnKernel> kernels = collectKernels(*func);
  std::vector<ConcatReluOp> concats = collectConcatKernels(*func);
  std::string model = modelName(module);
  switch (file) {
  case KernelFile::Header:
    os << "// Generated by rtmlc: the kernels of model '" << model
       << "', specialized\n// with their constants. Do not edit.\n"
       << "#pragma once\n\n#include <cstdint>\n\n";
    for (const LrnKernel &kernel : kernels)
      os << "// " << kernel.op->getName().getStringRef() << " '"
         << layerName(kernel.op) << "'\n"
         << "struct LrnConfig_" << kernel.index << " {\n"
         << "  static constexpr int kSize = " << kernel.size << ";\n"
         << "  static constexpr float kAlpha = " << cppFloat(kernel.alpha)
         << ";\n"
         << "  static constexpr float kBeta = " << cppFloat(kernel.beta)
         << ";\n"
         << "  static constexpr float kK = " << cppFloat(kernel.k) << ";\n"
         << "  static constexpr bool kRelu = " << (kernel.relu ? "true" : "false")
         << ";\n};\n\n";
    for (auto [i, concat] : llvm::enumerate(concats)) {
      std::string channels;
      int64_t total = 0;
      for (Value v : concat.getInputs()) {
        int64_t c = cast<RankedTensorType>(v.getType()).getDimSize(1);
        channels += (channels.empty() ? "" : ", ") + std::to_string(c);
        total += c;
      }
      os << "// rtml.concat_relu '" << layerName(concat) << "'\n"
         << "struct ConcatReluConfig_" << i << " {\n"
         << "  static constexpr int kInputs = " << concat.getInputs().size()
         << ";\n"
         << "  static constexpr int64_t kChannels[kInputs] = {" << channels
         << "};\n"
         << "  static constexpr int64_t kTotalChannels = " << total << ";\n";
      if (concat.getBn()) {
        // Per input; a plain ReLU's eps and momentum are unused zeros.
        std::string batchNorm;
        SmallVector<double> eps, momentum;
        ArrayRef<double> bnEps = *concat.getBnEps(),
                         bnMomentum = *concat.getBnMomentum();
        for (unsigned input = 0; input < concat.getInputs().size(); ++input) {
          bool normalized = concat.hasBatchNorm(input);
          batchNorm += std::string(batchNorm.empty() ? "" : ", ") +
                       (normalized ? "true" : "false");
          eps.push_back(normalized ? bnEps.front() : 0.0);
          momentum.push_back(normalized ? bnMomentum.front() : 0.0);
          if (normalized) {
            bnEps = bnEps.drop_front();
            bnMomentum = bnMomentum.drop_front();
          }
        }
        os << "  static constexpr bool kBatchNorm[kInputs] = {" << batchNorm
           << "};\n"
           << "  static constexpr double kEps[kInputs] = " << cppDoubles(eps)
           << ";\n"
           << "  static constexpr double kMomentum[kInputs] = "
           << cppDoubles(momentum) << ";\n";
      }
      if (std::optional<ArrayRef<bool>> biased = concat.getBias()) {
        std::string flags;
        for (bool b : *biased)
          flags +=
              std::string(flags.empty() ? "" : ", ") + (b ? "true" : "false");
        os << "  static constexpr bool kBias[kInputs] = {" << flags << "};\n";
      }
      os << "};\n\n";
    }
    if (!kernels.empty() || !concats.empty())
      os << "#ifndef __CUDACC__\n#include <ATen/core/Tensor.h>\n";
    for (const LrnKernel &kernel : kernels)
      os << "at::Tensor " << kernel.entry() << "(const at::Tensor &input);\n";
    if (!concats.empty())
      os << "#include <vector>\n";
    for (size_t i = 0; i < concats.size(); ++i)
      os << "at::Tensor " << concatEntry(i)
         << "(const std::vector<at::Tensor> &inputs,\n"
         << "    const std::vector<at::Tensor> &bnParams, bool training,\n"
         << "    const std::vector<at::Tensor> &biases);\n";
    if (!kernels.empty() || !concats.empty())
      os << "#endif\n";
    return success();
  case KernelFile::Cpp:
    os << "// Generated by rtmlc: entry points of the kernels of model '"
       << model << "'.\n"
       << "#include \"kernels.h\"\n";
    if (!kernels.empty())
      os << "#include \"rtml/Runtime/Kernels/LrnOp.h\"\n";
    if (!concats.empty())
      os << "#include \"rtml/Runtime/Kernels/ConcatReluOp.h\"\n";
    os << "\n";
    for (const LrnKernel &kernel : kernels)
      os << "at::Tensor " << kernel.entry() << "(const at::Tensor &input) {\n"
         << "  return rtml::kernels::localResponseNorm<LrnConfig_"
         << kernel.index << ">(input);\n}\n";
    for (size_t i = 0; i < concats.size(); ++i)
      os << "at::Tensor " << concatEntry(i)
         << "(const std::vector<at::Tensor> &inputs,\n"
         << "    const std::vector<at::Tensor> &bnParams, bool training,\n"
         << "    const std::vector<at::Tensor> &biases) {\n"
         << "  return rtml::kernels::concatRelu<ConcatReluConfig_" << i
         << ">(inputs, bnParams, training, biases);\n}\n";
    return success();
  case KernelFile::Cuda:
    os << "// Generated by rtmlc: CUDA kernels of model '" << model
       << "', compiled by nvcc\n// when the runtime has CUDA.\n"
       << "#include \"kernels.h\"\n";
    if (!kernels.empty())
      os << "#include \"rtml/Runtime/Kernels/Lrn.cuh\"\n";
    if (!concats.empty())
      os << "#include \"rtml/Runtime/Kernels/ConcatRelu.cuh\"\n";
    os << "\n";
    for (const LrnKernel &kernel : kernels)
      os << "RTML_INSTANTIATE_LRN_CUDA(LrnConfig_" << kernel.index << ")\n";
    for (size_t i = 0; i < concats.size(); ++i)
      os << "RTML_INSTANTIATE_CONCAT_RELU_CUDA(ConcatReluConfig_" << i
         << ")\n";
    return success();
  }
  return success();
}

LogicalResult emitTrainerCMake(ModuleOp module, StringRef executable,
                               llvm::raw_ostream &os) {
  std::string project = "rtml_model";
  for (char c : modelName(module))
    project += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  os << "# Generated by rtmlc for model '" << modelName(module) << "'.\n"
     << "# Configure with -DrtmlRuntime_DIR=<rtml build directory>.\n"
     << "cmake_minimum_required(VERSION 3.20)\n"
     << "project(" << project << " LANGUAGES CXX)\n\n"
     << "set(CMAKE_CXX_STANDARD 17)\n"
     << "set(CMAKE_CXX_STANDARD_REQUIRED ON)\n"
     << "if(NOT CMAKE_BUILD_TYPE)\n"
     << "  set(CMAKE_BUILD_TYPE Release)\n"
     << "endif()\n"
     << "find_program(CCACHE_PROGRAM ccache)\n"
     << "if(CCACHE_PROGRAM)\n"
     << "  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})\n"
     << "endif()\n\n"
     << "find_package(rtmlRuntime REQUIRED)\n\n"
     << "add_executable(" << executable << " model.cpp kernels.cpp)\n"
     << "target_link_libraries(" << executable << " PRIVATE rtml::runtime)\n"
     << "if(RTML_RUNTIME_CUDA_ENABLED)\n"
     << "  enable_language(CUDA)\n"
     << "  target_sources(" << executable << " PRIVATE kernels.cu)\n"
     << "  target_compile_definitions(" << executable
     << " PRIVATE RTML_WITH_CUDA=1)\n"
     << "  set_target_properties(" << executable
     << " PROPERTIES CUDA_ARCHITECTURES \"80;90\")\n"
     << "endif()\n";
  return success();
}

} // namespace rtml
