// RUN: rtml-opt %s -split-input-file --rtml-assign-precision --rtml-bf16-weight-copies | FileCheck %s --check-prefixes=CHECK,AUTO
// RUN: rtml-opt %s -split-input-file --rtml-assign-precision=mode=bf16 --rtml-bf16-weight-copies | FileCheck %s --check-prefixes=CHECK,BF16
// RUN: rtml-opt %s -split-input-file --rtml-assign-precision=mode=tf32 --rtml-bf16-weight-copies | FileCheck %s --check-prefixes=CHECK,NONE
// RUN: rtml-opt %s -split-input-file --rtml-assign-precision=mode=fp32 --rtml-bf16-weight-copies | FileCheck %s --check-prefixes=CHECK,NONE
// Without rtml-assign-precision's compute types nothing is read in bf16.
// RUN: rtml-opt %s -split-input-file --rtml-bf16-weight-copies | FileCheck %s --check-prefix=ALONE
// ALONE-NOT: read_as
//
// A trained parameter whose one reader is a convolution or a linear layer
// computing in bf16 on some device kind is read as bf16 there, from a copy
// the optimizer keeps: auto gives cpu f32 and cuda bf16, bf16 gives bf16 on
// both, tf32 and fp32 give none. Batch norm's parameters (f32 math), its
// buffers and a parameter with two readers keep their f32 reads.

// CHECK-LABEL: module attributes
// AUTO: rtml.param "conv.weight" fan_in_uniform read_as cpu f32 cuda bf16
// BF16: rtml.param "conv.weight" fan_in_uniform read_as cpu bf16 cuda bf16
// AUTO-NEXT: rtml.param "conv.bias" zeros read_as cpu f32 cuda bf16
// BF16-NEXT: rtml.param "conv.bias" zeros read_as cpu bf16 cuda bf16
// NONE-NOT: read_as
// CHECK: rtml.param "bn.weight" ones {fan_in
// CHECK-NEXT: rtml.param "bn.bias" zeros {fan_in
// CHECK-NEXT: rtml.param "bn.running_mean" zeros buffer {fan_in
// AUTO: rtml.param "fc.weight" fan_in_uniform read_as cpu f32 cuda bf16
// BF16: rtml.param "fc.weight" fan_in_uniform read_as cpu bf16 cuda bf16
// CHECK: rtml.param "shared.weight" fan_in_uniform {fan_in
module attributes {rtml.name = "tiny", rtml.classes = 4 : i64} {
  func.func @forward(%x: tensor<?x3x8x8xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>) {
    %w = rtml.param "conv.weight" fan_in_uniform {fan_in = 27 : i64} : tensor<8x3x3x3xf32>
    %b = rtml.param "conv.bias" zeros {fan_in = 27 : i64} : tensor<8xf32>
    %c = rtml.conv2d %x, %w, %b {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64}
        : tensor<?x3x8x8xf32>, tensor<8x3x3x3xf32>, tensor<8xf32> -> tensor<?x8x4x4xf32>
    %bw = rtml.param "bn.weight" ones {fan_in = 1 : i64} : tensor<8xf32>
    %bb = rtml.param "bn.bias" zeros {fan_in = 1 : i64} : tensor<8xf32>
    %bm = rtml.param "bn.running_mean" zeros buffer {fan_in = 1 : i64} : tensor<8xf32>
    %bv = rtml.param "bn.running_var" ones buffer {fan_in = 1 : i64} : tensor<8xf32>
    %bn = rtml.param "bn.num_batches_tracked" zeros buffer {fan_in = 1 : i64} : tensor<i64>
    %n = rtml.batch_norm %c, %bw, %bb, %bm, %bv, %bn {eps = 1.0e-05 : f64, momentum = 0.1 : f64} : (tensor<?x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<i64>) -> tensor<?x8x4x4xf32>
    %f = rtml.flatten %n : tensor<?x8x4x4xf32> -> tensor<?x128xf32>
    %lw = rtml.param "fc.weight" fan_in_uniform {fan_in = 128 : i64} : tensor<4x128xf32>
    %o = rtml.linear %f, %lw : tensor<?x128xf32>, tensor<4x128xf32> -> tensor<?x4xf32>
    %sw = rtml.param "shared.weight" fan_in_uniform {fan_in = 128 : i64} : tensor<4x128xf32>
    %s1 = rtml.linear %f, %sw : tensor<?x128xf32>, tensor<4x128xf32> -> tensor<?x4xf32>
    %s2 = rtml.linear %f, %sw : tensor<?x128xf32>, tensor<4x128xf32> -> tensor<?x4xf32>
    %s = rtml.add %s1, %s2 : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
    return %o, %s : tensor<?x4xf32>, tensor<?x4xf32>
  }
}

// -----

// A merged convolution casts each weight and bias: each gets its copy.
// CHECK-LABEL: module attributes
// AUTO-COUNT-4: rtml.param {{.*}} read_as cpu f32 cuda bf16
// BF16-COUNT-4: rtml.param {{.*}} read_as cpu bf16 cuda bf16
// NONE-NOT: read_as
// CHECK: rtml.sibling_conv2d
module {
  func.func @forward(%x: tensor<?x8x4x4xf32>) -> (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>) {
    %w0 = rtml.param "a.weight" fan_in_uniform {fan_in = 8 : i64} : tensor<2x8x1x1xf32>
    %w1 = rtml.param "b.weight" fan_in_uniform {fan_in = 8 : i64} : tensor<3x8x1x1xf32>
    %b0 = rtml.param "a.bias" fan_in_uniform {fan_in = 8 : i64} : tensor<2xf32>
    %b1 = rtml.param "b.bias" fan_in_uniform {fan_in = 8 : i64} : tensor<3xf32>
    %m:2 = rtml.sibling_conv2d %x weights(%w0, %w1) biases(%b0, %b1) {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>} : (tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32>, tensor<3x8x1x1xf32>, tensor<2xf32>, tensor<3xf32>) -> (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>)
    return %m#0, %m#1 : tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>
  }
}
