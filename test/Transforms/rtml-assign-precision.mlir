// RUN: rtml-opt %s -split-input-file --rtml-assign-precision | FileCheck %s --check-prefixes=CHECK,AUTO
// RUN: rtml-opt %s -split-input-file --rtml-assign-precision=mode=bf16 | FileCheck %s --check-prefixes=CHECK,BF16
// RUN: rtml-opt %s -split-input-file --rtml-assign-precision=mode=tf32 | FileCheck %s --check-prefixes=CHECK,TF32
// RUN: rtml-opt %s -split-input-file --rtml-assign-precision=mode=fp32 | FileCheck %s --check-prefixes=CHECK,FP32
// RUN: not rtml-opt %s -split-input-file --rtml-assign-precision=mode=fp16 2>&1 | FileCheck %s --check-prefix=BAD
//
// The precision setting, resolved per device kind: auto is bf16 on CUDA and
// fp32 on the CPU; bf16 is bf16 on both; tf32 is TF32 on CUDA (the CPU has
// none); fp32 is fp32 on both. Convolutions and linear layers compute in the
// device kind's math; LRNs and fused concats take bf16 where the math is
// bf16 and always sum in f32; batch norms and the logits (the loss) stay
// f32; ReLU, pooling, flatten, dropout and parameters carry nothing.

// BAD: error: unknown precision 'fp16' (auto, fp32, tf32 or bf16)

// CHECK-LABEL: module attributes
// AUTO-SAME: rtml.precision = {cpu = "fp32", cuda = "bf16"}
// BF16-SAME: rtml.precision = {cpu = "bf16", cuda = "bf16"}
// TF32-SAME: rtml.precision = {cpu = "fp32", cuda = "tf32"}
// FP32-SAME: rtml.precision = {cpu = "fp32", cuda = "fp32"}
// The chosen mode replaces the setting; without the option it is kept.
// AUTO-SAME: precision = "auto"
// BF16-SAME: precision = "bf16"
// TF32-SAME: precision = "tf32"
// FP32-SAME: precision = "fp32"
// CHECK: rtml.param "conv.weight"
// CHECK-NOT: rtml.compute_type
// CHECK-NEXT: rtml.param "conv.bias"
// CHECK-NOT: rtml.compute_type
// CHECK-NEXT: rtml.conv2d
// AUTO-SAME: rtml.compute_type = {cpu = f32, cuda = bf16}
// BF16-SAME: rtml.compute_type = {cpu = bf16, cuda = bf16}
// TF32-SAME: rtml.compute_type = {cpu = f32, cuda = tf32}
// FP32-SAME: rtml.compute_type = {cpu = f32, cuda = f32}
// CHECK-NEXT: rtml.relu_lrn
// CHECK-SAME: rtml.accumulate_type = f32
// AUTO-SAME: rtml.compute_type = {cpu = f32, cuda = bf16}
// BF16-SAME: rtml.compute_type = {cpu = bf16, cuda = bf16}
// TF32-SAME: rtml.compute_type = {cpu = f32, cuda = f32}
// FP32-SAME: rtml.compute_type = {cpu = f32, cuda = f32}
// CHECK-NEXT: rtml.max_pool2d
// CHECK-NOT: rtml.compute_type
// CHECK-SAME: -> tensor<?x8x4x4xf32>
// CHECK: rtml.batch_norm
// CHECK-SAME: rtml.compute_type = {cpu = f32, cuda = f32}
// CHECK: rtml.flatten
// CHECK-NOT: rtml.compute_type
// CHECK-SAME: -> tensor<?x128xf32>
// CHECK: rtml.linear
// AUTO-SAME: rtml.compute_type = {cpu = f32, cuda = bf16}
// BF16-SAME: rtml.compute_type = {cpu = bf16, cuda = bf16}
// TF32-SAME: rtml.compute_type = {cpu = f32, cuda = tf32}
// FP32-SAME: rtml.compute_type = {cpu = f32, cuda = f32}
// The loss is computed from the logits in f32 in every mode.
// CHECK: return
// CHECK-SAME: {rtml.compute_type = {cpu = f32, cuda = f32}}
module attributes {rtml.name = "tiny", rtml.classes = 4 : i64,
    rtml.train = {epochs = 1 : i64, batch_size = 8 : i64, optimizer = "sgd", lr = 0.05 : f64,
                  momentum = 0.0 : f64, nesterov = false, weight_decay = 0.0 : f64, seed = 0 : i64,
                  lr_schedule = "constant", step_size = 0 : i64, gamma = 0.1 : f64,
                  eta_min = 0.0 : f64, t_max = 1 : i64, precision = "auto"}} {
  func.func @forward(%x: tensor<?x3x8x8xf32>) -> tensor<?x4xf32> {
    %w = rtml.param "conv.weight" fan_in_uniform {fan_in = 27 : i64} : tensor<8x3x3x3xf32>
    %b = rtml.param "conv.bias" zeros {fan_in = 27 : i64} : tensor<8xf32>
    %c = rtml.conv2d %x, %w, %b {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64}
        : tensor<?x3x8x8xf32>, tensor<8x3x3x3xf32>, tensor<8xf32> -> tensor<?x8x8x8xf32>
    %l = rtml.relu_lrn %c {size = 5 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 2.0 : f64} : tensor<?x8x8x8xf32>
    %p = rtml.max_pool2d %l {kernel = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, ceil_mode = false}
        : tensor<?x8x8x8xf32> -> tensor<?x8x4x4xf32>
    %bw = rtml.param "bn.weight" ones {fan_in = 1 : i64} : tensor<8xf32>
    %bb = rtml.param "bn.bias" zeros {fan_in = 1 : i64} : tensor<8xf32>
    %bm = rtml.param "bn.running_mean" zeros buffer {fan_in = 1 : i64} : tensor<8xf32>
    %bv = rtml.param "bn.running_var" ones buffer {fan_in = 1 : i64} : tensor<8xf32>
    %bn = rtml.param "bn.num_batches_tracked" zeros buffer {fan_in = 1 : i64} : tensor<i64>
    %n = rtml.batch_norm %p, %bw, %bb, %bm, %bv, %bn {eps = 1.0e-05 : f64, momentum = 0.1 : f64} : (tensor<?x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<i64>) -> tensor<?x8x4x4xf32>
    %f = rtml.flatten %n : tensor<?x8x4x4xf32> -> tensor<?x128xf32>
    %lw = rtml.param "fc.weight" fan_in_uniform {fan_in = 128 : i64} : tensor<4x128xf32>
    %o = rtml.linear %f, %lw : tensor<?x128xf32>, tensor<4x128xf32> -> tensor<?x4xf32>
    return %o : tensor<?x4xf32>
  }
}

// -----

// The fused concat is a kernel: bf16 data where the math is bf16, f32
// sums. A plain concat carries nothing. A module without settings takes the
// setting's default, auto.
// CHECK-LABEL: module attributes
// AUTO-SAME: rtml.precision = {cpu = "fp32", cuda = "bf16"}
// BF16-SAME: rtml.precision = {cpu = "bf16", cuda = "bf16"}
// CHECK: rtml.concat_relu
// CHECK-SAME: rtml.accumulate_type = f32
// AUTO-SAME: rtml.compute_type = {cpu = f32, cuda = bf16}
// BF16-SAME: rtml.compute_type = {cpu = bf16, cuda = bf16}
// TF32-SAME: rtml.compute_type = {cpu = f32, cuda = f32}
// FP32-SAME: rtml.compute_type = {cpu = f32, cuda = f32}
// CHECK-NEXT: rtml.concat
// CHECK-NOT: rtml.compute_type
// CHECK-SAME: -> tensor<?x8x4x4xf32>
// CHECK-NEXT: return {rtml.compute_type = {cpu = f32, cuda = f32}} %
module {
  func.func @forward(%x: tensor<?x3x4x4xf32>, %y: tensor<?x1x4x4xf32>) -> tensor<?x8x4x4xf32> {
    %f = rtml.concat_relu %x, %x : (tensor<?x3x4x4xf32>, tensor<?x3x4x4xf32>) -> tensor<?x6x4x4xf32>
    %c = rtml.concat %f, %y, %y : (tensor<?x6x4x4xf32>, tensor<?x1x4x4xf32>, tensor<?x1x4x4xf32>) -> tensor<?x8x4x4xf32>
    return %c : tensor<?x8x4x4xf32>
  }
}

// -----

// Merged convolutions are convolutions: the device kind's math.
// CHECK-LABEL: module attributes
// CHECK: rtml.sibling_conv2d
// AUTO-SAME: rtml.compute_type = {cpu = f32, cuda = bf16}
// BF16-SAME: rtml.compute_type = {cpu = bf16, cuda = bf16}
// TF32-SAME: rtml.compute_type = {cpu = f32, cuda = tf32}
// FP32-SAME: rtml.compute_type = {cpu = f32, cuda = f32}
module {
  func.func @forward(%x: tensor<?x8x4x4xf32>, %w0: tensor<2x8x1x1xf32>, %w1: tensor<3x8x1x1xf32>) -> tensor<?x2x4x4xf32> {
    %m:2 = rtml.sibling_conv2d %x weights(%w0, %w1) {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>} : (tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32>, tensor<3x8x1x1xf32>) -> (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>)
    return %m#0 : tensor<?x2x4x4xf32>
  }
}
