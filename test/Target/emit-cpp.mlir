// RUN: rtmlc %s --emit=cpp --precision=fp32 | FileCheck %s
// The emitter reads only the module: the model's identity and training
// set-up come from its attributes, the parameter table from rtml.param, and
// forward() is one runtime call per op, in order. (In fp32 every tensor is
// f32: no op casts; emit-precision.test pins the casts of the other modes.)

// CHECK: #include "rtml/Runtime/Model.h"
// CHECK: #include "rtml/Runtime/Ops.h"
// CHECK: #include "kernels.h"
// CHECK: class GeneratedModel final : public rtml::CompiledModel {
// CHECK: info_.name = "tiny";
// CHECK-NEXT: info_.inputShape = {3, 16, 16};
// The input as its first ops read it (emit-input-format.test).
// CHECK-NEXT: info_.cpuInput = {/*nhwc=*/false, /*bf16=*/false};
// CHECK-NEXT: info_.cudaInput = {/*nhwc=*/true, /*bf16=*/false};
// The math on each device kind, from the module's rtml.precision.
// CHECK-NEXT: info_.cpuPrecision = rtml::Precision::Fp32;
// CHECK-NEXT: info_.cudaPrecision = rtml::Precision::Fp32;
// CHECK-NEXT: info_.numClasses = 4;
// Every training and data setting, in the settings table's order.
// CHECK-NEXT: info_.train.epochs = 3;
// CHECK-NEXT: info_.train.batchSize = 8;
// CHECK-NEXT: info_.train.optimizer = rtml::Optimizer::Sgd;
// CHECK-NEXT: info_.train.learningRate = 0.050000000000000003;
// CHECK-NEXT: info_.train.momentum = 0.90000000000000002;
// CHECK-NEXT: info_.train.nesterov = false;
// CHECK-NEXT: info_.train.weightDecay = 0;
// CHECK-NEXT: info_.train.seed = 7;
// CHECK-NEXT: info_.train.lrSchedule = rtml::LrSchedule::Constant;
// CHECK-NEXT: info_.train.lrStepSize = 0;
// CHECK-NEXT: info_.train.lrGamma = 0.10000000000000001;
// CHECK-NEXT: info_.train.lrEtaMin = 0;
// CHECK-NEXT: info_.train.lrTMax = 3;
// CHECK-NEXT: info_.train.precision = rtml::Precision::Fp32;
// CHECK: info_.data.splitTrain = 0;
// CHECK-NEXT: info_.data.splitVal = 0;
// CHECK-NEXT: info_.data.splitSeed = 7;
// CHECK-NEXT: info_.data.trainTransforms.push_back([] {
// CHECK-NEXT: rtml::TransformConfig t;
// CHECK-NEXT: t.kind = rtml::TransformConfig::Kind::RandomHorizontalFlip;
// CHECK-NEXT: t.p = 0.5;
// CHECK: t.kind = rtml::TransformConfig::Kind::Normalize;
// CHECK-NEXT: t.mean = {0.5, 0.25, 0.125};
// CHECK-NEXT: t.std = {1, 2, 4};
// CHECK: info_.data.evalTransforms.push_back([] {
// CHECK: params_ = {
// The pipeline stores the convolution's weight channels_last on CUDA.
// CHECK-NEXT: {"conv.weight", {8, 3, 3, 3}, rtml::ParamInit::FanInUniform, 27, /*trainable=*/true, c10::ScalarType::Float, /*device=*/0, /*storedNhwc=*/{false, true}},
// CHECK-NEXT: {"conv.bias", {8}, rtml::ParamInit::Zeros, 27},
// CHECK-NEXT: {"fc.weight", {4, 32}, rtml::ParamInit::FanInUniform, 32},
// CHECK-NEXT: };
// CHECK: at::Tensor forward(const at::Tensor &x,
// CHECK: rtml::ops::usePrecision(x, rtml::Precision::Fp32, rtml::Precision::Fp32);
// The convolution stack's input in the device kind's layout; its weight is
// stored in it, so no step converts it.
// CHECK: at::Tensor x_layout = rtml::ops::toLayout(x, rtml::ops::Layout::Nchw, rtml::ops::Layout::Nhwc);
// CHECK-NEXT: const at::Tensor &p_0 = p[0];
// CHECK-NEXT: const at::Tensor &p_1 = p[1];
// CHECK-NEXT: // rtml.conv2d 'conv' at model.yaml:12:5
// CHECK-NEXT: at::Tensor conv = rtml::ops::conv2d(x_layout, p_0, p_1, {2, 2}, {1, 1}, {1, 1}, 1);
// The default pipeline fused relu into lrn; the fused kernel is kernels.h's.
// CHECK-NOT: rtml::ops::relu(
// CHECK: at::Tensor lrn = rtml_lrn_0(conv);
// CHECK: at::Tensor pool = rtml::ops::maxPool2d(lrn, {2, 2}, {2, 2}, {0, 0}, true);
// CHECK: at::Tensor avg = rtml::ops::adaptiveAvgPool2d(pool, {2, 2});
// CHECK: at::Tensor avg_layout = rtml::ops::toLayout(avg, rtml::ops::Layout::Nchw, rtml::ops::Layout::Nchw);
// CHECK: at::Tensor flat = rtml::ops::flatten(avg_layout);
// CHECK: at::Tensor drop = rtml::ops::dropout(flat, 0.25, training);
// CHECK: const at::Tensor &p_2 = p[2];
// A linear without bias passes an undefined tensor.
// CHECK: at::Tensor fc = rtml::ops::linear(drop, p_2, at::Tensor());
// CHECK-NEXT: return fc;
// CHECK-NOT: rtml::ops::lrn
// CHECK: int main(int argc, char **argv) {
// CHECK-NEXT: GeneratedModel model;
// CHECK-NEXT: return rtml::trainerMain(argc, argv, model);

#file = loc("model.yaml":12:5)
#conv = loc("conv"(#file))
module attributes {rtml.name = "tiny", rtml.classes = 4 : i64,
    rtml.train = {epochs = 3 : i64, batch_size = 8 : i64, optimizer = "sgd", lr = 0.05 : f64,
                  momentum = 0.9 : f64, nesterov = false, weight_decay = 0.0 : f64, seed = 7 : i64,
                  lr_schedule = "constant", step_size = 0 : i64, gamma = 0.1 : f64,
                  eta_min = 0.0 : f64, t_max = 3 : i64, precision = "auto"},
    rtml.data = {split_train = 0 : i64, split_val = 0 : i64, split_seed = 7 : i64,
                 train_transforms = [{kind = "random_horizontal_flip", p = 0.5 : f64}, {kind = "normalize", mean = array<f64: 0.5, 0.25, 0.125>, std = array<f64: 1.0, 2.0, 4.0>}],
                 eval_transforms = [{kind = "normalize", mean = array<f64: 0.5, 0.25, 0.125>, std = array<f64: 1.0, 2.0, 4.0>}]}} {
  func.func @forward(%x: tensor<?x3x16x16xf32>) -> tensor<?x4xf32> {
    %w = rtml.param "conv.weight" fan_in_uniform {fan_in = 27 : i64} : tensor<8x3x3x3xf32>
    %b = rtml.param "conv.bias" zeros {fan_in = 27 : i64} : tensor<8xf32>
    %c = rtml.conv2d %x, %w, %b {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64}
        : tensor<?x3x16x16xf32>, tensor<8x3x3x3xf32>, tensor<8xf32> -> tensor<?x8x8x8xf32> loc(#conv)
    %r = rtml.relu %c : tensor<?x8x8x8xf32> loc("relu")
    %l = rtml.lrn %r {size = 5 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 2.0 : f64} : tensor<?x8x8x8xf32> loc("lrn")
    %p = rtml.max_pool2d %l {kernel = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, ceil_mode = true}
        : tensor<?x8x8x8xf32> -> tensor<?x8x4x4xf32> loc("pool")
    %a = rtml.adaptive_avg_pool2d %p {output_size = array<i64: 2, 2>} : tensor<?x8x4x4xf32> -> tensor<?x8x2x2xf32> loc("avg")
    %f = rtml.flatten %a : tensor<?x8x2x2xf32> -> tensor<?x32xf32> loc("flat")
    %d = rtml.dropout %f {p = 0.25 : f64} : tensor<?x32xf32> loc("drop")
    %lw = rtml.param "fc.weight" fan_in_uniform {fan_in = 32 : i64} : tensor<4x32xf32>
    %o = rtml.linear %d, %lw : tensor<?x32xf32>, tensor<4x32xf32> -> tensor<?x4xf32> loc("fc")
    return %o : tensor<?x4xf32>
  }
}
