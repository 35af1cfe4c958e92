//===- Passes.td - rtml transformation passes --------------*- tablegen -*-===//
#ifndef RTML_TRANSFORMS_PASSES_TD
#define RTML_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def FuseReluLrn : Pass<"rtml-fuse-relu-lrn", "mlir::ModuleOp"> {
  let summary = "Fuse a ReLU whose only user is an LRN into rtml.relu_lrn";
  let description = [{
    `lrn(relu(x))` becomes one `rtml.relu_lrn` with the LRN's constants when
    the ReLU has no other user and both ops are on the same device. A ReLU
    with other users keeps its result alive, so fusing it would compute it
    twice; an LRN fed by anything else (GoogLeNet's first LRN follows a pool)
    stays a plain `rtml.lrn`.
  }];
  let dependentDialects = ["::rtml::RtmlDialect"];
}

def PartitionDevices : Pass<"rtml-partition-devices", "mlir::ModuleOp"> {
  let summary = "Place every op on a logical device and insert transfers";
  let description = [{
    Gives every op of a module that declares `rtml.devices` a device: its own
    `rtml.device`, else the default (first) device, as the spec format
    documents for a layer nothing places; a parameter lives on the device of
    the op that uses it first. Every value used on a device other than its producer's
    gets exactly one `rtml.transfer` to that device, right after its
    producer, however many users it has there. The model's input lives on
    the default device, and the results are moved back to it. Afterwards no
    op reads a value that lives on another device; the pass checks that.
    A module without `rtml.devices` is left alone.
  }];
  let dependentDialects = ["::rtml::RtmlDialect"];
}

def MergeSiblingConvs : Pass<"rtml-merge-sibling-convs", "mlir::ModuleOp"> {
  let summary = "Convolutions that read one value with one geometry -> rtml.sibling_conv2d";
  let description = [{
    Convolutions without groups that read the same value with the same
    kernel size, stride, padding and dilation, all with a bias or all
    without, on one device, become one `rtml.sibling_conv2d`: one
    convolution by their concatenated weights, its output split back into
    their results. An inception module's 1x1 convolutions (three, on the
    module's input) are the case it is for: one GEMM instead of three each
    way, and the input's gradient comes out of it summed instead of being
    added up from three. The weights stay separate parameters, in their
    order. The merged op goes after the last of the weights, and the ops
    between that read an earlier convolution's result move down after it;
    a group whose move would pass a dropout is left alone (dropouts draw
    their masks in program order). Grouped convolutions, and a convolution
    with no sibling, are left alone.
  }];
  let dependentDialects = ["::rtml::RtmlDialect"];
}

def FuseConcat : Pass<"rtml-fuse-concat", "mlir::ModuleOp"> {
  let summary = "Inception concat elimination: concat of ReLU epilogues -> rtml.concat_relu";
  let description = [{
    A channel concat whose operands are each produced by a ReLU that has no
    other user, all on the concat's device, becomes one `rtml.concat_relu`
    of the ReLUs' inputs: each branch's activated output goes straight into
    its channel slice, forward, and the gradient is split and masked in one
    pass, backward. No separate concat copy remains. A ReLU whose input is a
    batch norm with no other user, on the concat's device, takes the batch
    norm in too (its operands and constants go onto the fused op); a batch
    norm read elsewhere or on another device stays, and its ReLU fuses
    alone. A concat with any other operand (a pool, a ReLU read elsewhere, a
    ReLU on another device) is left alone.
  }];
  let dependentDialects = ["::rtml::RtmlDialect"];
}

def BiasEpilogue : Pass<"rtml-bias-epilogue", "mlir::ModuleOp"> {
  let summary = "A convolution's bias is added by the ReLU that reads it -> rtml.bias_relu";
  let description = [{
    A ReLU whose operand is a convolution's output with a bias (an
    `rtml.conv2d`, or one result of an `rtml.sibling_conv2d`), which
    nothing else reads, on the convolution's device, becomes one
    `rtml.bias_relu` of that output and the bias. Where the bias is added
    is decided per device kind (`cpu`, `cuda`): `epilogue`, the convolution
    runs without its bias and the ReLU's pass adds it, or `conv`, as before.
    The defaults are `conv` on the CPU, whose convolutions add the bias
    within their GEMM (and whose results keep their bits), and `epilogue`
    on CUDA, where ATen adds it after cuDNN's convolution in a pass over
    the whole output of its own: the epilogue saves that pass. A
    convolution without a bias, an output read twice, a ReLU of anything
    else, or one on another device is left alone. A fused concat's plain
    ReLU inputs (`rtml.concat_relu`) take their convolutions' biases by the
    same rules, into its `biases`; a ReLU that the ReLU+LRN fusion took
    (`rtml.relu_lrn`) keeps its convolution's bias.
  }];
  let options = [
    Option<"cpu", "cpu", "::rtml::BiasAdd", "::rtml::BiasAdd::Conv",
           "Where the bias is added on CPUs: conv or epilogue",
           [{::llvm::cl::values(
             clEnumValN(::rtml::BiasAdd::Conv, "conv", "by the convolution"),
             clEnumValN(::rtml::BiasAdd::Epilogue, "epilogue",
                        "by the ReLU"))}]>,
    Option<"cuda", "cuda", "::rtml::BiasAdd", "::rtml::BiasAdd::Epilogue",
           "Where the bias is added on CUDA GPUs: conv or epilogue",
           [{::llvm::cl::values(
             clEnumValN(::rtml::BiasAdd::Conv, "conv", "by the convolution"),
             clEnumValN(::rtml::BiasAdd::Epilogue, "epilogue",
                        "by the ReLU"))}]>
  ];
  let dependentDialects = ["::rtml::RtmlDialect"];
}

def AssignPrecision : Pass<"rtml-assign-precision", "mlir::ModuleOp"> {
  let summary = "Resolve the precision setting into per-op compute types";
  let description = [{
    Reads `precision` from `rtml.train` (auto, fp32, tf32 or bf16; auto
    without settings), or the `mode` option, which also replaces the
    setting, and resolves it per device kind into `rtml.precision` on the
    module (auto: bf16 on CUDA, fp32 on the CPU; tf32: TF32 on CUDA, fp32 on
    the CPU). Every op whose math the choice changes gets
    `rtml.compute_type = {cpu = T, cuda = T}`: convolutions and linear
    layers compute in bf16 or tf32 where the device kind's math is; LRNs and
    fused concats take and return bf16 there and carry
    `rtml.accumulate_type = f32` (their kernels sum in f32); batch norms and
    the returned logits (the loss, its softmax) are f32 everywhere.
    Parameters stay f32 (master weights). Other ops run in the type of
    their input.
  }];
  let options = [Option<"mode", "mode", "std::string", "\"\"",
                        "auto, fp32, tf32 or bf16 (default: rtml.train's)">];
  let dependentDialects = ["::rtml::RtmlDialect"];
}

def Bf16WeightCopies : Pass<"rtml-bf16-weight-copies", "mlir::ModuleOp"> {
  let summary = "A parameter read only by bf16 math is read from a bf16 copy";
  let description = [{
    After `--rtml-assign-precision`: a trained f32 parameter whose one
    reader is a convolution or linear layer (`rtml.conv2d`,
    `rtml.sibling_conv2d`, `rtml.linear`) computing in bf16 on a device kind
    gets `read_as cpu T cuda T`, T = bf16 on that kind. Without it the step
    casts such a parameter to bf16 in the forward pass and its bf16
    gradient back to f32 in the backward pass, two passes over every weight
    (on AlexNet's 57M weights a tenth of a bf16 step on the CPU). With it
    the trainer keeps a bf16 copy; the optimizer reads the copy's gradient,
    updates the f32 parameter and writes the copy again, in the same pass.
    The values are those of the casts, bit for bit. A parameter read twice
    keeps its casts, since its two gradients are summed in f32 there.
  }];
  let dependentDialects = ["::rtml::RtmlDialect"];
}

def AssignLayout : Pass<"rtml-assign-layout", "mlir::ModuleOp"> {
  let summary = "Choose each convolution stack's memory layout per device kind";
  let description = [{
    A convolution stack is a connected set of ops on 4-D [N, C, H, W] values
    that keep any memory layout (convolution, activations, LRN, pooling,
    batch norm, dropout, add, concat, transfers and the fused ops), holding at
    least one convolution. Each stack gets an `rtml.to_layout` into its
    layout on every value it reads from outside (the model's input) and
    after each transfer inside it (the target may be another kind of
    device), and an `rtml.to_layout` back to NCHW on every value read
    outside it (a flatten, a linear, a result). A convolution weight read by
    the stack alone is instead `stored` in the stack's layout (its
    rtml.param's attributes), so that no step converts it or its gradient;
    one read elsewhere too is converted where it enters. Logical
    devices meet physical ones at run time, so the layout is decided per
    device kind: with `layout=auto`, NHWC (channels_last, what cuDNN's
    convolutions are fastest in) on CUDA and NCHW on the CPU, where
    LibTorch's convolutions are NCHW-native; `layout=nchw` or `layout=nhwc`
    force one layout on both. The module records the choice as
    `rtml.layout = {cpu = ..., cuda = ...}`. With NCHW on both kinds, or no
    stack, the function is left as it is; a module that already has
    `rtml.layout` is left alone.
  }];
  let options = [
    Option<"layout", "layout", "::rtml::LayoutChoice",
           "::rtml::LayoutChoice::Auto",
           "Layout of convolution stacks: auto, nchw or nhwc",
           [{::llvm::cl::values(
             clEnumValN(::rtml::LayoutChoice::Auto, "auto",
                        "NHWC on CUDA, NCHW on the CPU"),
             clEnumValN(::rtml::LayoutChoice::Nchw, "nchw",
                        "NCHW on every device"),
             clEnumValN(::rtml::LayoutChoice::Nhwc, "nhwc",
                        "NHWC on every device"))}]>
  ];
  let dependentDialects = ["::rtml::RtmlDialect"];
}

#endif // RTML_TRANSFORMS_PASSES_TD
