//===- RtmlOps.cpp - Verifiers and shape inference ------------------------===//
//
// Each layer op's inferReturnTypes is also its shape check: it rejects what
// PyTorch would reject at run time (channel mismatch, a window larger than
// its input, a spatial size that reaches zero) and says which shapes met.
//
//===----------------------------------------------------------------------===//
#include "rtml/Dialect/RtmlOps.h"
#include "rtml/Dialect/PrecisionAttr.h"
#include "rtml/Support/Shapes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace rtml;

#include "rtml/Dialect/RtmlEnums.cpp.inc"

#define GET_OP_CLASSES
#include "rtml/Dialect/RtmlOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

static std::string shapeOf(Type type) {
  auto ranked = dyn_cast<RankedTensorType>(type);
  if (!ranked)
    return "unranked";
  return shapeString(std::vector<int64_t>(ranked.getShape().begin(),
                                          ranked.getShape().end()));
}

static std::string shapeOf(ArrayRef<int64_t> dims) {
  return shapeString(std::vector<int64_t>(dims.begin(), dims.end()));
}

/// "[?, 64, 28, 28], [?, 128, 14, 14]": the shapes a multi-input op met.
static std::string shapesOf(ValueRange values) {
  std::string s;
  for (Value v : values)
    s += (s.empty() ? "" : ", ") + shapeOf(v.getType());
  return s;
}

static RankedTensorType tensorType(MLIRContext *ctx, ArrayRef<int64_t> shape) {
  return RankedTensorType::get(shape, Float32Type::get(ctx));
}

/// Checks that TYPE is rank RANK with static dimensions after the batch.
static LogicalResult checkActivation(std::optional<Location> loc,
                                     StringRef what, Type type, int64_t rank) {
  auto ranked = dyn_cast<RankedTensorType>(type);
  if (!ranked || ranked.getRank() != rank)
    return emitOptionalError(loc, what, " expects a rank-", rank,
                             " input, got ", shapeOf(type));
  for (int64_t d : ranked.getShape().drop_front())
    if (ShapedType::isDynamic(d))
      return emitOptionalError(loc, what,
                               " expects static dimensions after the batch "
                               "dimension, got ",
                               shapeOf(type));
  return success();
}

/// Checks a two-element attribute with elements >= MINIMUM.
static LogicalResult checkPair(std::optional<Location> loc, StringRef what,
                               StringRef attr, ArrayRef<int64_t> values,
                               int64_t minimum) {
  if (values.size() != 2)
    return emitOptionalError(loc, what, " '", attr,
                             "' must have 2 elements (height, width), got ",
                             values.size());
  for (int64_t v : values)
    if (v < minimum)
      return emitOptionalError(loc, what, " '", attr, "' must be >= ",
                               minimum, ", got ", v);
  return success();
}

//===----------------------------------------------------------------------===//
// ParamOp
//===----------------------------------------------------------------------===//

LogicalResult ParamOp::verify() {
  if (getName().empty())
    return emitOpError("needs a non-empty name");
  for (int64_t d : getType().getShape())
    if (ShapedType::isDynamic(d) || d <= 0)
      return emitOpError("parameter '")
             << getName() << "' needs a static, non-empty shape, got "
             << shapeOf(getType());
  if (getType().getElementType().isInteger(64) &&
      (!getBuffer() || getInit() == ParamInit::FanInUniform))
    return emitOpError("integer parameter '")
           << getName() << "' must be a buffer starting at zeros or ones";
  if (getStoredCpu().has_value() != getStoredCuda().has_value())
    return emitOpError("parameter '")
           << getName() << "' needs a stored layout for both cpu and cuda";
  if ((getStoredCpu() == Layout::Nhwc || getStoredCuda() == Layout::Nhwc) &&
      getType().getRank() != 4)
    return emitOpError("parameter '")
           << getName() << "': nhwc needs a 4-D tensor, got "
           << shapeOf(getType());
  if (getReadAsCpu().has_value() != getReadAsCuda().has_value())
    return emitOpError("parameter '")
           << getName() << "' needs a read_as type for both cpu and cuda";
  if (getReadAsCpu()) {
    if (getBuffer() || !getType().getElementType().isF32())
      return emitOpError("parameter '")
             << getName() << "': read_as needs a trained f32 parameter";
    for (Type read : {*getReadAsCpu(), *getReadAsCuda()})
      if (!read.isF32() && !read.isBF16())
        return emitOpError("parameter '")
               << getName() << "': read_as must be f32 or bf16, got " << read;
    // A copy's bf16 values are the cast the reader would make itself.
    Type reads[] = {*getReadAsCpu(), *getReadAsCuda()};
    for (auto [kind, read] : llvm::zip_equal(kDeviceKinds, reads))
      if (read.isBF16() && !hasOneBf16Reader(getResult(), kind))
        return emitOpError("parameter '")
               << getName() << "' is read_as bf16 on " << deviceKindName(kind)
               << ", which needs one reader: a convolution or linear layer "
                  "computing in bf16 there";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Conv2dOp
//===----------------------------------------------------------------------===//

/// The result type of a convolution of INPUT by WEIGHT (and BIAS, when
/// given), with the shape checks PyTorch's conv2d makes; WHAT names the op in
/// the errors.
static LogicalResult inferConvType(MLIRContext *ctx,
                                   std::optional<Location> loc, StringRef what,
                                   Type inputType, Value weightValue,
                                   Value bias, ArrayRef<int64_t> stride,
                                   ArrayRef<int64_t> padding,
                                   ArrayRef<int64_t> dilation, int64_t groups,
                                   SmallVectorImpl<Type> &results) {
  if (failed(checkActivation(loc, what, inputType, 4)))
    return failure();
  auto input = cast<RankedTensorType>(inputType);
  auto weight = dyn_cast<RankedTensorType>(weightValue.getType());
  if (!weight || weight.getRank() != 4 || !weight.hasStaticShape())
    return emitOptionalError(loc, what,
                             " expects a static rank-4 weight "
                             "[out, in/groups, kh, kw], got ",
                             shapeOf(weightValue.getType()));
  if (failed(checkPair(loc, what, "stride", stride, 1)) ||
      failed(checkPair(loc, what, "padding", padding, 0)) ||
      failed(checkPair(loc, what, "dilation", dilation, 1)))
    return failure();
  int64_t inChannels = input.getDimSize(1);
  int64_t outChannels = weight.getDimSize(0);
  if (groups < 1 || inChannels % groups != 0 || outChannels % groups != 0)
    return emitOptionalError(loc, what, " groups (", groups,
                             ") must divide the input channels (", inChannels,
                             ") and the output channels (", outChannels, ")");
  if (weight.getDimSize(1) * groups != inChannels)
    return emitOptionalError(loc, what, " input has ", inChannels,
                             " channels but the weight ", shapeOf(weight),
                             " expects ", weight.getDimSize(1) * groups,
                             " (input shape ", shapeOf(input), ")");
  if (bias) {
    auto biasType = dyn_cast<RankedTensorType>(bias.getType());
    if (!biasType || biasType.getRank() != 1 ||
        biasType.getDimSize(0) != outChannels)
      return emitOptionalError(loc, what, " bias must be [", outChannels,
                               "], got ", shapeOf(bias.getType()));
  }
  SmallVector<int64_t> shape = {input.getDimSize(0), outChannels};
  for (int i = 0; i < 2; ++i) {
    int64_t in = input.getDimSize(2 + i);
    int64_t kernel = weight.getDimSize(2 + i);
    int64_t extent = dilation[i] * (kernel - 1) + 1;
    if (extent > in + 2 * padding[i])
      return emitOptionalError(
          loc, what, " kernel ", shapeOf(weight.getShape().drop_front(2)),
          " (dilated extent ", extent, ") is larger than the padded input ",
          shapeOf(input), " with padding ", padding[i]);
    shape.push_back(convOutputSize(in, kernel, stride[i], padding[i],
                                   dilation[i]));
  }
  results.push_back(tensorType(ctx, shape));
  return success();
}

LogicalResult Conv2dOp::inferReturnTypes(MLIRContext *ctx,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  return inferConvType(ctx, loc, "conv2d", adaptor.getInput().getType(),
                       adaptor.getWeight(), adaptor.getBias(),
                       adaptor.getStride(), adaptor.getPadding(),
                       adaptor.getDilation(), adaptor.getGroups(), results);
}

//===----------------------------------------------------------------------===//
// SiblingConv2dOp
//===----------------------------------------------------------------------===//

LogicalResult
SiblingConv2dOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                                  Adaptor adaptor,
                                  SmallVectorImpl<Type> &results) {
  ValueRange weights = adaptor.getWeights(), biases = adaptor.getBiases();
  if (weights.size() < 2)
    return emitOptionalError(loc,
                             "sibling_conv2d needs at least 2 weights, "
                             "got ",
                             weights.size());
  if (!biases.empty() && biases.size() != weights.size())
    return emitOptionalError(loc,
                             "sibling_conv2d needs no biases or one per "
                             "weight (",
                             weights.size(), "), got ", biases.size());
  // One convolution computes them all: the weights are concatenated along
  // their output channels, so everything else about them must agree.
  ArrayRef<int64_t> kernel;
  for (auto [i, weight] : llvm::enumerate(weights)) {
    if (failed(inferConvType(ctx, loc, "sibling_conv2d",
                             adaptor.getInput().getType(), weight,
                             biases.empty() ? Value() : biases[i],
                             adaptor.getStride(), adaptor.getPadding(),
                             adaptor.getDilation(), /*groups=*/1, results)))
      return failure();
    ArrayRef<int64_t> own =
        cast<RankedTensorType>(weight.getType()).getShape().drop_front(2);
    if (i == 0)
      kernel = own;
    else if (own != kernel)
      return emitOptionalError(loc,
                               "sibling_conv2d weights need one kernel "
                               "size, got ",
                               shapesOf(weights));
  }
  return success();
}

//===----------------------------------------------------------------------===//
// BiasReluOp
//===----------------------------------------------------------------------===//

LogicalResult BiasReluOp::inferReturnTypes(MLIRContext *,
                                           std::optional<Location> loc,
                                           Adaptor adaptor,
                                           SmallVectorImpl<Type> &results) {
  Type inputType = adaptor.getInput().getType();
  auto input = dyn_cast<RankedTensorType>(inputType);
  if (!input || input.getRank() < 2)
    return emitOptionalError(loc,
                             "bias_relu expects an input with channels "
                             "[N, C, ...], got ",
                             shapeOf(inputType));
  auto bias = dyn_cast<RankedTensorType>(adaptor.getBias().getType());
  if (!bias || bias.getRank() != 1 || bias.getDimSize(0) != input.getDimSize(1))
    return emitOptionalError(loc, "bias_relu expects a bias of ",
                             input.getDimSize(1), " channels, got ",
                             shapeOf(adaptor.getBias().getType()));
  results.push_back(inputType);
  return success();
}

Value rtml::convolutionBias(Value value) {
  if (auto conv = value.getDefiningOp<Conv2dOp>())
    return conv.getBias();
  if (auto siblings = value.getDefiningOp<SiblingConv2dOp>();
      siblings && !siblings.getBiases().empty())
    return siblings.getBiases()[cast<OpResult>(value).getResultNumber()];
  return Value();
}

LogicalResult BiasReluOp::verify() {
  // Where the epilogue adds the bias, the convolution runs without it: so
  // the input must be a convolution's output with this bias, read by
  // nothing else.
  Value input = getInput();
  if (!input.getDefiningOp<Conv2dOp>() &&
      !input.getDefiningOp<SiblingConv2dOp>())
    return emitOpError("needs a convolution's output (rtml.conv2d or "
                       "rtml.sibling_conv2d) as its input");
  if (convolutionBias(input) != getBias())
    return emitOpError("needs the bias of the convolution that computes its "
                       "input");
  if (!input.hasOneUse())
    return emitOpError("must be the only reader of its convolution's output "
                       "(which lacks the bias where the epilogue adds it)");
  return success();
}

//===----------------------------------------------------------------------===//
// Element-wise ops: lrn, dropout (relu's and dropout's shape function is
// Rtml_ShapePreservingOp's, in RtmlOps.td)
//===----------------------------------------------------------------------===//

// Shape-preserving ops infer their result from the input alone: the parser
// calls inferReturnTypes before their attributes are stored, so attribute
// checks live in verify().

/// The channel window ops (lrn, relu_lrn) keep their input's type.
static LogicalResult inferChannelWindowType(StringRef what,
                                            std::optional<Location> loc,
                                            Type type,
                                            SmallVectorImpl<Type> &results) {
  auto ranked = dyn_cast<RankedTensorType>(type);
  if (!ranked || ranked.getRank() < 3)
    return emitOptionalError(loc, what,
                             " expects an input with channels [N, C, ...], "
                             "got ",
                             shapeOf(type));
  results.push_back(type);
  return success();
}

template <typename OpTy>
static LogicalResult verifyLrnConstants(OpTy op) {
  if (op.getAlpha().convertToDouble() < 0 || op.getBeta().convertToDouble() < 0 ||
      op.getK().convertToDouble() <= 0)
    return op.emitOpError("needs alpha >= 0, beta >= 0 and k > 0");
  return success();
}

LogicalResult LrnOp::inferReturnTypes(MLIRContext *,
                                      std::optional<Location> loc,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &results) {
  return inferChannelWindowType("lrn", loc, adaptor.getInput().getType(),
                                results);
}

LogicalResult LrnOp::verify() { return verifyLrnConstants(*this); }

LogicalResult ReluLrnOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  return inferChannelWindowType("relu_lrn", loc, adaptor.getInput().getType(),
                                results);
}

LogicalResult ReluLrnOp::verify() { return verifyLrnConstants(*this); }

LogicalResult DropoutOp::verify() {
  double p = getP().convertToDouble();
  if (!(p >= 0.0 && p < 1.0))
    return emitOpError("probability must be in [0, 1), got ") << p;
  return success();
}

//===----------------------------------------------------------------------===//
// Pooling and reshaping
//===----------------------------------------------------------------------===//

/// The output type of a 2-D pooling window, with PyTorch's checks.
static LogicalResult inferPool2dType(StringRef what, MLIRContext *ctx,
                                     std::optional<Location> loc,
                                     Type inputType, ArrayRef<int64_t> kernel,
                                     ArrayRef<int64_t> stride,
                                     ArrayRef<int64_t> padding, bool ceilMode,
                                     SmallVectorImpl<Type> &results) {
  if (failed(checkActivation(loc, what, inputType, 4)))
    return failure();
  auto input = cast<RankedTensorType>(inputType);
  if (failed(checkPair(loc, what, "kernel", kernel, 1)) ||
      failed(checkPair(loc, what, "stride", stride, 1)) ||
      failed(checkPair(loc, what, "padding", padding, 0)))
    return failure();
  SmallVector<int64_t> shape = {input.getDimSize(0), input.getDimSize(1)};
  for (int i = 0; i < 2; ++i) {
    if (2 * padding[i] > kernel[i])
      return emitOptionalError(loc, what, " padding (", padding[i],
                               ") must be at most half the kernel (",
                               kernel[i], ")");
    int64_t in = input.getDimSize(2 + i);
    if (kernel[i] > in + 2 * padding[i])
      return emitOptionalError(loc, what, " kernel ", shapeOf(kernel),
                               " is larger than the padded input ",
                               shapeOf(input));
    int64_t out = poolOutputSize(in, kernel[i], stride[i], padding[i],
                                 ceilMode);
    if (out < 1)
      return emitOptionalError(loc, what,
                               " output size reaches zero for input ",
                               shapeOf(input));
    shape.push_back(out);
  }
  results.push_back(tensorType(ctx, shape));
  return success();
}

LogicalResult MaxPool2dOp::inferReturnTypes(MLIRContext *ctx,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  return inferPool2dType("max_pool2d", ctx, loc, adaptor.getInput().getType(),
                         adaptor.getKernel(), adaptor.getStride(),
                         adaptor.getPadding(), adaptor.getCeilMode(), results);
}

LogicalResult AvgPool2dOp::inferReturnTypes(MLIRContext *ctx,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  return inferPool2dType("avg_pool2d", ctx, loc, adaptor.getInput().getType(),
                         adaptor.getKernel(), adaptor.getStride(),
                         adaptor.getPadding(), adaptor.getCeilMode(), results);
}

LogicalResult AdaptiveAvgPool2dOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  Type inputType = adaptor.getInput().getType();
  if (failed(checkActivation(loc, "adaptive_avg_pool2d", inputType, 4)) ||
      failed(checkPair(loc, "adaptive_avg_pool2d", "output_size",
                       adaptor.getOutputSize(), 1)))
    return failure();
  auto input = cast<RankedTensorType>(inputType);
  ArrayRef<int64_t> size = adaptor.getOutputSize();
  results.push_back(tensorType(
      ctx, {input.getDimSize(0), input.getDimSize(1), size[0], size[1]}));
  return success();
}

LogicalResult FlattenOp::inferReturnTypes(MLIRContext *ctx,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  auto input = dyn_cast<RankedTensorType>(adaptor.getInput().getType());
  if (!input || input.getRank() < 2)
    return emitOptionalError(loc, "flatten expects a rank >= 2 input, got ",
                             shapeOf(adaptor.getInput().getType()));
  int64_t features = 1;
  for (int64_t d : input.getShape().drop_front()) {
    if (ShapedType::isDynamic(d))
      return emitOptionalError(loc, "flatten needs static dimensions after "
                                    "the batch, got ",
                               shapeOf(input));
    // Beyond 2^40 features no linear layer after this could exist; the
    // bound also keeps the product far from overflow.
    if (d > 0 && features > (int64_t(1) << 40) / d)
      return emitOptionalError(loc, "flatten of ", shapeOf(input),
                               " has more than 2^40 features");
    features *= d;
  }
  results.push_back(tensorType(ctx, {input.getDimSize(0), features}));
  return success();
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::inferReturnTypes(MLIRContext *ctx,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  Type inputType = adaptor.getInput().getType();
  if (failed(checkActivation(loc, "linear", inputType, 2)))
    return failure();
  auto input = cast<RankedTensorType>(inputType);
  auto weight = dyn_cast<RankedTensorType>(adaptor.getWeight().getType());
  if (!weight || weight.getRank() != 2 || !weight.hasStaticShape())
    return emitOptionalError(loc, "linear expects a static weight [out, in], "
                                  "got ",
                             shapeOf(adaptor.getWeight().getType()));
  if (weight.getDimSize(1) != input.getDimSize(1))
    return emitOptionalError(loc, "linear input has ", input.getDimSize(1),
                             " features but the weight ", shapeOf(weight),
                             " expects ", weight.getDimSize(1), " (input shape ",
                             shapeOf(input), ")");
  if (Value bias = adaptor.getBias()) {
    auto biasType = dyn_cast<RankedTensorType>(bias.getType());
    if (!biasType || biasType.getRank() != 1 ||
        biasType.getDimSize(0) != weight.getDimSize(0))
      return emitOptionalError(loc, "linear bias must be [",
                               weight.getDimSize(0), "], got ",
                               shapeOf(bias.getType()));
  }
  results.push_back(
      tensorType(ctx, {input.getDimSize(0), weight.getDimSize(0)}));
  return success();
}

//===----------------------------------------------------------------------===//
// Multi-input ops: concat, add
//===----------------------------------------------------------------------===//

/// Channel concatenation's result type (concat, concat_relu).
static LogicalResult inferConcatType(MLIRContext *ctx,
                                     std::optional<Location> loc,
                                     ValueRange inputs,
                                     SmallVectorImpl<Type> &results);

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *ctx,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  return inferConcatType(ctx, loc, adaptor.getInputs(), results);
}

/// Checks a batch norm's per-channel operands against CHANNELS, and that
/// its counter is a scalar (batch_norm, concat_relu's BN epilogues).
static LogicalResult checkBatchNormParams(std::optional<Location> loc,
                                          int64_t channels,
                                          ValueRange perChannel,
                                          Value numBatchesTracked) {
  for (Value v : perChannel) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || type.getRank() != 1 || type.getDimSize(0) != channels ||
        !type.getElementType().isF32())
      return emitOptionalError(loc, "batch_norm input has ", channels,
                               " channels but a statistic or affine "
                               "parameter is ",
                               shapeOf(v.getType()));
  }
  auto counter = dyn_cast<RankedTensorType>(numBatchesTracked.getType());
  if (!counter || counter.getRank() != 0 ||
      !counter.getElementType().isInteger(64))
    return emitOptionalError(loc,
                             "batch_norm num_batches_tracked must be a "
                             "scalar, got ",
                             shapeOf(numBatchesTracked.getType()));
  return success();
}

LogicalResult ConcatReluOp::inferReturnTypes(MLIRContext *ctx,
                                             std::optional<Location> loc,
                                             Adaptor adaptor,
                                             SmallVectorImpl<Type> &results) {
  ValueRange inputs = adaptor.getInputs(), params = adaptor.getBnParams();
  std::optional<ArrayRef<bool>> bn = adaptor.getBn();
  if (!bn) {
    if (!params.empty())
      return emitOptionalError(loc, "concat_relu has bn_params but no 'bn'");
    return inferConcatType(ctx, loc, inputs, results);
  }
  if (bn->size() != inputs.size())
    return emitOptionalError(loc, "concat_relu 'bn' has ", bn->size(),
                             " entries for ", inputs.size(), " inputs");
  size_t normalized = llvm::count(*bn, true);
  if (normalized == 0)
    return emitOptionalError(loc, "concat_relu 'bn' names no input: leave "
                                  "it out for plain ReLUs");
  if (params.size() != normalized * kBnParamsPerInput)
    return emitOptionalError(loc, "concat_relu has ", normalized,
                             " batch norm epilogues, so expects ",
                             normalized * kBnParamsPerInput, " bn_params, got ",
                             params.size());
  if (failed(inferConcatType(ctx, loc, inputs, results)))
    return failure();
  for (auto [i, input] : llvm::enumerate(inputs)) {
    if (!(*bn)[i])
      continue;
    ValueRange own = params.take_front(kBnParamsPerInput);
    params = params.drop_front(kBnParamsPerInput);
    int64_t channels = cast<RankedTensorType>(input.getType()).getDimSize(1);
    if (failed(
            checkBatchNormParams(loc, channels, own.take_front(4), own.back())))
      return failure();
  }
  return success();
}

bool ConcatReluOp::hasBatchNorm(unsigned i) {
  std::optional<ArrayRef<bool>> bn = getBn();
  return bn && i < bn->size() && (*bn)[i];
}

OperandRange ConcatReluOp::getBatchNormParams(unsigned i) {
  std::optional<ArrayRef<bool>> bn = getBn();
  unsigned before = llvm::count(bn->take_front(i), true);
  return getBnParams().slice(before * kBnParamsPerInput, kBnParamsPerInput);
}

Value ConcatReluOp::getInputBias(unsigned i) {
  std::optional<ArrayRef<bool>> bias = getBias();
  if (!bias || i >= bias->size() || !(*bias)[i])
    return Value();
  unsigned before = llvm::count(bias->take_front(i), true);
  return before < getBiases().size() ? getBiases()[before] : Value();
}

/// A batch norm's constants as PyTorch accepts them.
static LogicalResult verifyBatchNormConstants(Operation *op, double eps,
                                              double momentum) {
  if (!(eps > 0))
    return op->emitOpError("eps must be positive, got ") << eps;
  if (!(momentum >= 0 && momentum <= 1))
    return op->emitOpError("momentum must be in [0, 1], got ") << momentum;
  return success();
}

/// The convolution biases of a concat_relu's plain ReLU inputs: as
/// rtml.bias_relu's (one per `bias` entry set, each its input's
/// convolution's, read by nothing else), with the placements.
static LogicalResult verifyConcatBiases(ConcatReluOp op) {
  std::optional<ArrayRef<bool>> bias = op.getBias();
  bool placed = op.getBiasCpu() && op.getBiasCuda();
  if (!bias) {
    if (!op.getBiases().empty() || op.getBiasCpu() || op.getBiasCuda())
      return op.emitOpError("has biases or their placement but no 'bias'");
    return success();
  }
  size_t biased = llvm::count(*bias, true);
  if (bias->size() != op.getInputs().size() || biased == 0 ||
      op.getBiases().size() != biased || !placed)
    return op.emitOpError("needs 'bias' with one entry per input, naming at "
                          "least one, one operand in 'biases' per entry set, "
                          "and where each kind of device adds them");
  for (auto [i, input] : llvm::enumerate(op.getInputs())) {
    Value own = op.getInputBias(i);
    if (!own)
      continue;
    if (op.hasBatchNorm(i))
      return op.emitOpError("input ") << i
                                      << " has a batch norm: only a "
                                         "plain ReLU adds a bias";
    if (convolutionBias(input) != own)
      return op.emitOpError("the bias of input ")
             << i << " must be the bias of the convolution that computes it";
    if (!input.hasOneUse())
      return op.emitOpError("input ")
             << i
             << " adds its convolution's bias, so it must be read by "
                "nothing else";
  }
  return success();
}

LogicalResult ConcatReluOp::verify() {
  if (failed(verifyConcatBiases(*this)))
    return failure();
  std::optional<ArrayRef<bool>> bn = getBn();
  std::optional<ArrayRef<double>> eps = getBnEps(), momentum = getBnMomentum();
  size_t normalized = bn ? llvm::count(*bn, true) : 0;
  if (!bn && (eps || momentum))
    return emitOpError("has bn_eps or bn_momentum but no 'bn'");
  if (!bn)
    return success();
  if (!eps || !momentum || eps->size() != normalized ||
      momentum->size() != normalized)
    return emitOpError("needs bn_eps and bn_momentum with one entry per batch "
                       "norm epilogue (")
           << normalized << ")";
  for (size_t i = 0; i < normalized; ++i)
    if (failed(verifyBatchNormConstants(*this, (*eps)[i], (*momentum)[i])))
      return failure();
  return success();
}

static LogicalResult inferConcatType(MLIRContext *ctx,
                                     std::optional<Location> loc,
                                     ValueRange inputs,
                                     SmallVectorImpl<Type> &results) {
  if (inputs.size() < 2)
    return emitOptionalError(loc, "concat needs at least 2 inputs, got ",
                             inputs.size());
  auto first = dyn_cast<RankedTensorType>(inputs.front().getType());
  if (!first || first.getRank() < 2)
    return emitOptionalError(loc, "concat expects inputs with channels "
                                  "[N, C, ...], got ",
                             shapesOf(inputs));
  int64_t channels = 0;
  for (Value v : inputs) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || type.getRank() != first.getRank())
      return emitOptionalError(loc, "concat inputs must have one rank, got ",
                               shapesOf(inputs));
    for (int64_t d = 2; d < type.getRank(); ++d)
      if (type.getDimSize(d) != first.getDimSize(d))
        return emitOptionalError(loc, "concat inputs differ outside the "
                                      "channel dimension: ",
                                 shapesOf(inputs));
    channels += type.getDimSize(1);
  }
  SmallVector<int64_t> shape(first.getShape());
  shape[1] = channels;
  results.push_back(tensorType(ctx, shape));
  return success();
}

LogicalResult AddOp::inferReturnTypes(MLIRContext *ctx,
                                      std::optional<Location> loc,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &results) {
  ValueRange inputs = adaptor.getInputs();
  if (inputs.size() < 2)
    return emitOptionalError(loc, "add needs at least 2 inputs, got ",
                             inputs.size());
  for (Value v : inputs)
    if (v.getType() != inputs.front().getType())
      return emitOptionalError(loc, "add inputs must have one shape, got ",
                               shapesOf(inputs));
  results.push_back(inputs.front().getType());
  return success();
}

//===----------------------------------------------------------------------===//
// BatchNormOp
//===----------------------------------------------------------------------===//

LogicalResult BatchNormOp::inferReturnTypes(MLIRContext *ctx,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  Type inputType = adaptor.getInput().getType();
  auto input = dyn_cast<RankedTensorType>(inputType);
  if (!input || input.getRank() < 2)
    return emitOptionalError(loc, "batch_norm expects an input with channels "
                                  "[N, C, ...], got ",
                             shapeOf(inputType));
  if (failed(checkBatchNormParams(loc, input.getDimSize(1),
                                  {adaptor.getWeight(), adaptor.getBias(),
                                   adaptor.getRunningMean(),
                                   adaptor.getRunningVar()},
                                  adaptor.getNumBatchesTracked())))
    return failure();
  results.push_back(inputType);
  return success();
}

LogicalResult BatchNormOp::verify() {
  return verifyBatchNormConstants(*this, getEps().convertToDouble(),
                                  getMomentum().convertToDouble());
}

//===----------------------------------------------------------------------===//
// TransferOp
//===----------------------------------------------------------------------===//

LogicalResult TransferOp::verify() {
  if (deviceOf(*this).empty())
    return emitOpError("needs a target device ('rtml.device')");
  return success();
}

LogicalResult ToLayoutOp::verify() {
  // NHWC is defined for the four dimensions [N, C, H, W] only.
  auto type = cast<RankedTensorType>(getInput().getType());
  if ((getCpu() == Layout::Nhwc || getCuda() == Layout::Nhwc) &&
      type.getRank() != 4)
    return emitOpError("nhwc needs a 4-D [N, C, H, W] tensor, got ") << type;
  return success();
}
