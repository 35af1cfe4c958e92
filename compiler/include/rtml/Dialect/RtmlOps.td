//===- RtmlOps.td - rtml dialect operations ----------------*- tablegen -*-===//
//
// Every op that computes a layer infers its result type from its operands and
// attributes (InferTypeOpInterface); the same function checks the shapes, so
// an importer that builds an op with a bad shape gets an error at the op's
// location, which is the YAML line of the layer.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_OPS_TD
#define RTML_OPS_TD

include "rtml/Dialect/RtmlDialect.td"
include "mlir/IR/EnumAttr.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Rtml_Tensor : RankedTensorOf<[F32]>;
// Parameters are float, but for counters such as num_batches_tracked.
def Rtml_ParamTensor : RankedTensorOf<[F32, I64]>;

def Rtml_ParamInit : I32EnumAttr<"ParamInit", "how a parameter starts", [
    I32EnumAttrCase<"FanInUniform", 0, "fan_in_uniform">,
    I32EnumAttrCase<"Zeros", 1, "zeros">,
    I32EnumAttrCase<"Ones", 2, "ones">]> {
  let cppNamespace = "::rtml";
}

def Rtml_ParamOp : Rtml_Op<"param", [Pure]> {
  let summary = "a named, trainable parameter";
  let description = [{
    Produces the tensor of the parameter NAME (its PyTorch state-dict key).
    `fan_in_uniform` draws from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), which is
    what PyTorch's nn.Conv2d and nn.Linear do for weight and bias. A
    `buffer` (batch norm's running statistics) is saved and loaded with the
    parameters but never trained.

    ```mlir
    %w = rtml.param "features_1.0.weight" fan_in_uniform {fan_in = 363 : i64}
        : tensor<64x3x11x11xf32>
    %m = rtml.param "bn.running_mean" zeros buffer {fan_in = 1 : i64}
        : tensor<64xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name, Rtml_ParamInit:$init,
                       ConfinedAttr<I64Attr, [IntMinValue<1>]>:$fan_in,
                       UnitAttr:$buffer);
  let results = (outs Rtml_ParamTensor:$result);
  let assemblyFormat = "$name $init (`buffer` $buffer^)? attr-dict `:` type($result)";
  let hasVerifier = 1;
}

// Verifies an op by running its shape inference with the op's location, so
// the verifier reports the detailed shape error; listed before the
// InferTypeOpInterface trait, whose own check only says that inference
// failed.
def Rtml_ShapeChecked : NativeOpTrait<"ShapeChecked"> {
  let cppNamespace = "::rtml";
}

class Rtml_LayerOp<string mnemonic, list<Trait> traits = []>
    : Rtml_Op<mnemonic, !listconcat(traits, [Pure, Rtml_ShapeChecked,
          InferTypeOpAdaptor])>;

def Rtml_Conv2dOp : Rtml_LayerOp<"conv2d"> {
  let summary = "2-D convolution (nn.Conv2d)";
  let arguments = (ins Rtml_Tensor:$input, Rtml_Tensor:$weight,
                       Optional<Rtml_Tensor>:$bias,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$dilation,
                       ConfinedAttr<I64Attr, [IntMinValue<1>]>:$groups);
  let results = (outs Rtml_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:`
    type($input) `,` type($weight) (`,` type($bias)^)? `->` type($result)
  }];
}

def Rtml_ReluOp : Rtml_LayerOp<"relu"> {
  let summary = "max(x, 0)";
  let arguments = (ins Rtml_Tensor:$input);
  let results = (outs Rtml_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Rtml_LrnOp : Rtml_LayerOp<"lrn"> {
  let summary = "local response normalization across channels";
  let description = [{
    x / (k + alpha / size * sum(x^2 over `size` neighbouring channels))^beta,
    as nn.LocalResponseNorm and Caffe (alpha is divided by the window size).
  }];
  let arguments = (ins Rtml_Tensor:$input,
                       ConfinedAttr<I64Attr, [IntMinValue<1>]>:$size,
                       F64Attr:$alpha, F64Attr:$beta, F64Attr:$k);
  let results = (outs Rtml_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Rtml_ReluLrnOp : Rtml_LayerOp<"relu_lrn"> {
  let summary = "lrn(relu(x)) in one kernel";
  let description = [{
    What `--rtml-fuse-relu-lrn` makes of a ReLU whose only user is an LRN:
    the same numbers as `rtml.relu` followed by `rtml.lrn` with these
    constants, in one pass over memory forward and one backward.
  }];
  let arguments = (ins Rtml_Tensor:$input,
                       ConfinedAttr<I64Attr, [IntMinValue<1>]>:$size,
                       F64Attr:$alpha, F64Attr:$beta, F64Attr:$k);
  let results = (outs Rtml_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Rtml_MaxPool2dOp : Rtml_LayerOp<"max_pool2d"> {
  let summary = "2-D max pooling (nn.MaxPool2d)";
  let arguments = (ins Rtml_Tensor:$input, DenseI64ArrayAttr:$kernel,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                       BoolAttr:$ceil_mode);
  let results = (outs Rtml_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Rtml_AdaptiveAvgPool2dOp : Rtml_LayerOp<"adaptive_avg_pool2d"> {
  let summary = "average pooling to a fixed output size";
  let arguments = (ins Rtml_Tensor:$input, DenseI64ArrayAttr:$output_size);
  let results = (outs Rtml_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Rtml_FlattenOp : Rtml_LayerOp<"flatten"> {
  let summary = "collapses every dimension after the batch dimension";
  let arguments = (ins Rtml_Tensor:$input);
  let results = (outs Rtml_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Rtml_DropoutOp : Rtml_LayerOp<"dropout"> {
  let summary = "dropout, active in training only";
  let arguments = (ins Rtml_Tensor:$input, F64Attr:$p);
  let results = (outs Rtml_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Rtml_LinearOp : Rtml_LayerOp<"linear"> {
  let summary = "fully connected layer (nn.Linear)";
  let arguments = (ins Rtml_Tensor:$input, Rtml_Tensor:$weight,
                       Optional<Rtml_Tensor>:$bias);
  let results = (outs Rtml_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:`
    type($input) `,` type($weight) (`,` type($bias)^)? `->` type($result)
  }];
}

def Rtml_ConcatOp : Rtml_LayerOp<"concat"> {
  let summary = "concatenation along the channel dimension";
  let arguments = (ins Variadic<Rtml_Tensor>:$inputs);
  let results = (outs Rtml_Tensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type($inputs, $result)";
}

def Rtml_AddOp : Rtml_LayerOp<"add"> {
  let summary = "elementwise sum of tensors of one shape";
  let arguments = (ins Variadic<Rtml_Tensor>:$inputs);
  let results = (outs Rtml_Tensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type($inputs, $result)";
}

def Rtml_BatchNormOp : Rtml_LayerOp<"batch_norm"> {
  let summary = "batch normalization over channels (nn.BatchNorm2d)";
  let description = [{
    In training, normalizes with the batch's statistics and updates the
    running ones (PyTorch's momentum: running = (1 - m) * running + m * batch,
    unbiased variance) and counts the batch; in evaluation, normalizes with
    the running statistics.
  }];
  let arguments = (ins Rtml_Tensor:$input, Rtml_Tensor:$weight,
                       Rtml_Tensor:$bias, Rtml_Tensor:$running_mean,
                       Rtml_Tensor:$running_var,
                       RankedTensorOf<[I64]>:$num_batches_tracked,
                       F64Attr:$eps, F64Attr:$momentum);
  let results = (outs Rtml_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias `,` $running_mean `,` $running_var `,`
    $num_batches_tracked attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Rtml_AvgPool2dOp : Rtml_LayerOp<"avg_pool2d"> {
  let summary = "2-D average pooling (nn.AvgPool2d)";
  let arguments = (ins Rtml_Tensor:$input, DenseI64ArrayAttr:$kernel,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                       BoolAttr:$ceil_mode, BoolAttr:$count_include_pad);
  let results = (outs Rtml_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Rtml_TransferOp : Rtml_Op<"transfer", [Pure, SameOperandsAndResultType]> {
  let summary = "a copy of a value onto another logical device";
  let description = [{
    What `--rtml-partition-devices` inserts where a value produced on one
    device is used on another: one transfer per value and target device. The
    target is the op's own `rtml.device`.
  }];
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Rtml_ConcatReluOp : Rtml_LayerOp<"concat_relu", [AttrSizedOperandSegments]> {
  let summary = "concat(relu(a), relu(batch_norm(b)), ...) in one kernel";
  let description = [{
    What `--rtml-fuse-concat` makes of a channel concat whose operands are
    each a ReLU epilogue with no other user: every branch's activated output
    is written straight into its channel slice of the result, and the
    backward splits the incoming gradient and applies each epilogue's
    derivative. The operands are the epilogues' inputs.

    An epilogue is a ReLU, or a batch norm then a ReLU. Without `bn` every
    epilogue is a plain ReLU. With it, `bn[i]` says whether input i goes
    through a batch norm first; `bn_params` holds, for each such input in
    order, the batch norm's weight, bias, running_mean, running_var and
    num_batches_tracked, and `bn_eps` and `bn_momentum` its constants (as
    `rtml.batch_norm`'s).

    ```mlir
    %y = rtml.concat_relu %a, %b bn(%w, %bias, %mean, %var, %count)
        {bn = array<i1: false, true>, bn_eps = array<f64: 1.0e-03>,
         bn_momentum = array<f64: 1.0e-01>}
        : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>, tensor<3xf32>,
           tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>)
        -> tensor<?x5x4x4xf32>
    ```
  }];
  let arguments = (ins Variadic<Rtml_Tensor>:$inputs,
                       Variadic<Rtml_ParamTensor>:$bn_params,
                       OptionalAttr<DenseBoolArrayAttr>:$bn,
                       OptionalAttr<DenseF64ArrayAttr>:$bn_eps,
                       OptionalAttr<DenseF64ArrayAttr>:$bn_momentum);
  let results = (outs Rtml_Tensor:$result);
  let assemblyFormat = [{
    $inputs (`bn` `(` $bn_params^ `)`)? attr-dict `:`
    functional-type(operands, $result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The batch norm operands of each input, one per BN epilogue.
    static constexpr unsigned kBnParamsPerInput = 5;
    /// Whether input I goes through a batch norm before its ReLU.
    bool hasBatchNorm(unsigned i);
    /// The five bn_params of input I (hasBatchNorm(i)): weight, bias,
    /// running_mean, running_var, num_batches_tracked.
    mlir::OperandRange getBatchNormParams(unsigned i);
  }];
}

#endif // RTML_OPS_TD
