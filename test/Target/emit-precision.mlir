// RUN: rtmlc %s --emit=cpp --layout=nchw | FileCheck %s --check-prefixes=CHECK,AUTO,COPY-AUTO
// RUN: rtmlc %s --emit=cpp --layout=nchw --precision=bf16 | FileCheck %s --check-prefixes=CHECK,BF16
// RUN: rtmlc %s --emit=cpp --layout=nchw --precision=tf32 | FileCheck %s --check-prefixes=CHECK,FP,TF32
// RUN: rtmlc %s --emit=cpp --layout=nchw --precision=fp32 | FileCheck %s --check-prefixes=CHECK,FP,FP32
// RUN: rtmlc %s --emit=cpp --layout=nchw --disable-pass=rtml-assign-precision | FileCheck %s --check-prefix=NONE
// RUN: rtmlc %s --emit=cpp --layout=nchw --disable-pass=rtml-bf16-weight-copies | FileCheck %s --check-prefixes=CHECK,AUTO,CASTS
// The emitter applies what rtml-assign-precision decided, per op, for the
// device kind each tensor is on (rtml::ops::inPrecision(t, cpu, cuda)), and
// the module's TF32 choice for CUDA before the first op. With bf16 on some
// device kind: activations are cast to each op's compute type, parameters
// (f32 master weights) where the op computes in bf16, never a batch norm's
// running statistics (updated in place), and the logits to f32. In fp32 and
// tf32 every tensor is f32: the calls are the unconverted ones.

// CHECK: info_.train.precision =
// AUTO-SAME: rtml::Precision::Auto;
// BF16-SAME: rtml::Precision::Bf16;
// TF32-SAME: rtml::Precision::Tf32;
// FP32-SAME: rtml::Precision::Fp32;

// The parameter table: a convolution's weight and bias are read from a bf16
// copy where it computes in bf16 (rtml-bf16-weight-copies); batch norm's
// parameters never. With the pass disabled they are cast in forward().
// CHECK: params_ = {
// COPY-AUTO-NOT: bf16Copy=*/{true
// BF16-NOT: bf16Copy=*/{false
// FP-NOT: bf16Copy
// CASTS-NOT: bf16Copy
// COPY-AUTO: {"conv.weight", {3, 3, 3, 3}, {{.*}}, /*bf16Copy=*/{false, true}},
// BF16: {"conv.weight", {3, 3, 3, 3}, {{.*}}, /*bf16Copy=*/{true, true}},
// COPY-AUTO-NEXT: {"conv.bias", {3}, {{.*}}, /*bf16Copy=*/{false, true}},
// BF16-NEXT: {"conv.bias", {3}, {{.*}}, /*bf16Copy=*/{true, true}},
// CHECK: {"bn.weight", {3}, rtml::ParamInit::Ones, 1},

// CHECK: (void)training;
// AUTO-NEXT: rtml::ops::usePrecision(x, rtml::Precision::Fp32, rtml::Precision::Bf16);
// BF16-NEXT: rtml::ops::usePrecision(x, rtml::Precision::Bf16, rtml::Precision::Bf16);
// TF32-NEXT: rtml::ops::usePrecision(x, rtml::Precision::Fp32, rtml::Precision::Tf32);
// FP32-NEXT: rtml::ops::usePrecision(x, rtml::Precision::Fp32, rtml::Precision::Fp32);

// AUTO: at::Tensor conv = rtml::ops::conv2d(rtml::ops::inPrecision(x, rtml::Precision::Fp32, rtml::Precision::Bf16), rtml::ops::inPrecision(p_0, rtml::Precision::Fp32, rtml::Precision::Bf16), rtml::ops::inPrecision(p_1, rtml::Precision::Fp32, rtml::Precision::Bf16), {1, 1}, {1, 1}, {1, 1}, 1);
// BF16: at::Tensor conv = rtml::ops::conv2d(rtml::ops::inPrecision(x, rtml::Precision::Bf16, rtml::Precision::Bf16), rtml::ops::inPrecision(p_0, rtml::Precision::Bf16, rtml::Precision::Bf16), rtml::ops::inPrecision(p_1, rtml::Precision::Bf16, rtml::Precision::Bf16), {1, 1}, {1, 1}, {1, 1}, 1);
// FP: at::Tensor conv = rtml::ops::conv2d(x, p_0, p_1, {1, 1}, {1, 1}, {1, 1}, 1);

// The fused LRN kernel takes bf16 where the math is bf16.
// AUTO: at::Tensor lrn = rtml_lrn_0(rtml::ops::inPrecision(conv, rtml::Precision::Fp32, rtml::Precision::Bf16));
// BF16: at::Tensor lrn = rtml_lrn_0(rtml::ops::inPrecision(conv, rtml::Precision::Bf16, rtml::Precision::Bf16));
// FP: at::Tensor lrn = rtml_lrn_0(conv);

// Batch norm in f32: its input is cast, its parameters are f32 already.
// AUTO: at::Tensor bn = rtml::ops::batchNorm(rtml::ops::inPrecision(lrn, rtml::Precision::Fp32, rtml::Precision::Fp32), p_2, p_3, p_4, p_5, p_6,
// BF16: at::Tensor bn = rtml::ops::batchNorm(rtml::ops::inPrecision(lrn, rtml::Precision::Fp32, rtml::Precision::Fp32), p_2, p_3, p_4, p_5, p_6,
// FP: at::Tensor bn = rtml::ops::batchNorm(lrn, p_2, p_3, p_4, p_5, p_6,

// The fused concat: its inputs are cast, its batch norm operands never.
// AUTO: at::Tensor cat = rtml_concat_relu_0({rtml::ops::inPrecision(bn, rtml::Precision::Fp32, rtml::Precision::Bf16), rtml::ops::inPrecision(conv, rtml::Precision::Fp32, rtml::Precision::Bf16)}, {p_7, p_8, p_9, p_10, p_11}, training, {});
// BF16: at::Tensor cat = rtml_concat_relu_0({rtml::ops::inPrecision(bn, rtml::Precision::Bf16, rtml::Precision::Bf16), rtml::ops::inPrecision(conv, rtml::Precision::Bf16, rtml::Precision::Bf16)}, {p_7, p_8, p_9, p_10, p_11}, training, {});
// FP: at::Tensor cat = rtml_concat_relu_0({bn, conv}, {p_7, p_8, p_9, p_10, p_11}, training, {});

// Untouched ops take what comes.
// CHECK: at::Tensor flat = rtml::ops::flatten(cat);

// AUTO: at::Tensor fc = rtml::ops::linear(rtml::ops::inPrecision(flat, rtml::Precision::Fp32, rtml::Precision::Bf16), rtml::ops::inPrecision(p_12, rtml::Precision::Fp32, rtml::Precision::Bf16), at::Tensor());
// FP: at::Tensor fc = rtml::ops::linear(flat, p_12, at::Tensor());
// The loss reads f32 logits.
// AUTO-NEXT: return rtml::ops::inPrecision(fc, rtml::Precision::Fp32, rtml::Precision::Fp32);
// BF16: return rtml::ops::inPrecision(fc, rtml::Precision::Fp32, rtml::Precision::Fp32);
// FP-NEXT: return fc;

// Without the pass: no decision in the IR, none in the code.
// NONE-NOT: rtml::ops::usePrecision
// NONE-NOT: rtml::ops::inPrecision

module attributes {rtml.name = "mixed", rtml.classes = 4 : i64,
    rtml.train = {epochs = 1 : i64, batch_size = 8 : i64, optimizer = "sgd", lr = 0.05 : f64,
                  momentum = 0.0 : f64, nesterov = false, weight_decay = 0.0 : f64, seed = 0 : i64,
                  lr_schedule = "constant", step_size = 0 : i64, gamma = 0.1 : f64,
                  eta_min = 0.0 : f64, t_max = 1 : i64, precision = "auto"},
    rtml.data = {split_train = 0 : i64, split_val = 0 : i64, split_seed = 0 : i64,
                 train_transforms = [], eval_transforms = []}} {
  func.func @forward(%x: tensor<?x3x4x4xf32>) -> tensor<?x4xf32> {
    %w = rtml.param "conv.weight" fan_in_uniform {fan_in = 27 : i64} : tensor<3x3x3x3xf32>
    %b = rtml.param "conv.bias" zeros {fan_in = 27 : i64} : tensor<3xf32>
    %c = rtml.conv2d %x, %w, %b {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64}
        : tensor<?x3x4x4xf32>, tensor<3x3x3x3xf32>, tensor<3xf32> -> tensor<?x3x4x4xf32> loc("conv")
    %l = rtml.lrn %c {size = 3 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 2.0 : f64} : tensor<?x3x4x4xf32> loc("lrn")
    %bw = rtml.param "bn.weight" ones {fan_in = 1 : i64} : tensor<3xf32>
    %bb = rtml.param "bn.bias" zeros {fan_in = 1 : i64} : tensor<3xf32>
    %bm = rtml.param "bn.running_mean" zeros buffer {fan_in = 1 : i64} : tensor<3xf32>
    %bv = rtml.param "bn.running_var" ones buffer {fan_in = 1 : i64} : tensor<3xf32>
    %bn = rtml.param "bn.num_batches_tracked" zeros buffer {fan_in = 1 : i64} : tensor<i64>
    %n = rtml.batch_norm %l, %bw, %bb, %bm, %bv, %bn {eps = 1.0e-05 : f64, momentum = 0.1 : f64} : (tensor<?x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>) -> tensor<?x3x4x4xf32> loc("bn")
    %cw = rtml.param "cat_bn.weight" ones {fan_in = 1 : i64} : tensor<3xf32>
    %cb = rtml.param "cat_bn.bias" zeros {fan_in = 1 : i64} : tensor<3xf32>
    %cm = rtml.param "cat_bn.running_mean" zeros buffer {fan_in = 1 : i64} : tensor<3xf32>
    %cv = rtml.param "cat_bn.running_var" ones buffer {fan_in = 1 : i64} : tensor<3xf32>
    %cn = rtml.param "cat_bn.num_batches_tracked" zeros buffer {fan_in = 1 : i64} : tensor<i64>
    %cbn = rtml.batch_norm %n, %cw, %cb, %cm, %cv, %cn {eps = 1.0e-05 : f64, momentum = 0.1 : f64} : (tensor<?x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>) -> tensor<?x3x4x4xf32> loc("cat_bn")
    %r1 = rtml.relu %cbn : tensor<?x3x4x4xf32> loc("r1")
    %r2 = rtml.relu %c : tensor<?x3x4x4xf32> loc("r2")
    %cat = rtml.concat %r1, %r2 : (tensor<?x3x4x4xf32>, tensor<?x3x4x4xf32>) -> tensor<?x6x4x4xf32> loc("cat")
    %f = rtml.flatten %cat : tensor<?x6x4x4xf32> -> tensor<?x96xf32> loc("flat")
    %lw = rtml.param "fc.weight" fan_in_uniform {fan_in = 96 : i64} : tensor<4x96xf32>
    %o = rtml.linear %f, %lw : tensor<?x96xf32>, tensor<4x96xf32> -> tensor<?x4xf32> loc("fc")
    return %o : tensor<?x4xf32>
  }
}
