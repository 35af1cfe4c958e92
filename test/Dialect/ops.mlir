// RUN: rtml-opt %s | FileCheck %s
// Round trip: printing and parsing again gives the same IR.
// RUN: rtml-opt %s | rtml-opt | FileCheck %s

// CHECK-LABEL: module attributes
// CHECK-SAME: rtml.classes = 10 : i64
// CHECK-SAME: rtml.data = {eval_transforms = [{kind = "resize", size = array<i64: 64, 64>}], split_seed = 3 : i64, split_train = 0 : i64, split_val = 0 : i64, train_transforms = [{kind = "resize", size = array<i64: 64, 64>}, {kind = "grayscale", num_output_channels = 3 : i64}]}
// CHECK-SAME: rtml.name = "tiny"
// CHECK-SAME: rtml.train = {batch_size = 8 : i64, epochs = 2 : i64, eta_min = 0.000000e+00 : f64, gamma = 1.000000e-01 : f64, lr = 1.000000e-02 : f64, lr_schedule = "constant", momentum = 0.000000e+00 : f64, nesterov = false, optimizer = "sgd", precision = "auto", seed = 3 : i64, step_size = 0 : i64, t_max = 2 : i64, weight_decay = 0.000000e+00 : f64}
module attributes {rtml.name = "tiny", rtml.classes = 10 : i64,
    rtml.train = {epochs = 2 : i64, batch_size = 8 : i64, optimizer = "sgd", lr = 0.01 : f64,
                  momentum = 0.0 : f64, nesterov = false, weight_decay = 0.0 : f64, seed = 3 : i64,
                  lr_schedule = "constant", step_size = 0 : i64, gamma = 0.1 : f64,
                  eta_min = 0.0 : f64, t_max = 2 : i64, precision = "auto"},
    rtml.data = {split_train = 0 : i64, split_val = 0 : i64, split_seed = 3 : i64,
                 train_transforms = [{kind = "resize", size = array<i64: 64, 64>}, {kind = "grayscale", num_output_channels = 3 : i64}],
                 eval_transforms = [{kind = "resize", size = array<i64: 64, 64>}]}} {
  // CHECK: func.func @forward(%[[X:.*]]: tensor<?x3x64x64xf32>) -> tensor<?x10xf32>
  func.func @forward(%x: tensor<?x3x64x64xf32>) -> tensor<?x10xf32> {
    // CHECK: %[[W:.*]] = rtml.param "conv.weight" fan_in_uniform {fan_in = 27 : i64} : tensor<16x3x3x3xf32>
    %w = rtml.param "conv.weight" fan_in_uniform {fan_in = 27 : i64} : tensor<16x3x3x3xf32>
    // CHECK: %[[B:.*]] = rtml.param "conv.bias" zeros {fan_in = 27 : i64} : tensor<16xf32>
    %b = rtml.param "conv.bias" zeros {fan_in = 27 : i64} : tensor<16xf32>
    // CHECK: %[[C:.*]] = rtml.conv2d %[[X]], %[[W]], %[[B]] {dilation = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 1, 1>, stride = array<i64: 2, 2>} : tensor<?x3x64x64xf32>, tensor<16x3x3x3xf32>, tensor<16xf32> -> tensor<?x16x32x32xf32>
    %c = rtml.conv2d %x, %w, %b {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64}
        : tensor<?x3x64x64xf32>, tensor<16x3x3x3xf32>, tensor<16xf32> -> tensor<?x16x32x32xf32>
    // CHECK: %[[R:.*]] = rtml.relu %[[C]] : tensor<?x16x32x32xf32>
    %r = rtml.relu %c : tensor<?x16x32x32xf32>
    // CHECK: %[[L:.*]] = rtml.lrn %[[R]] {alpha = 1.000000e-04 : f64, beta = 7.500000e-01 : f64, k = 2.000000e+00 : f64, size = 5 : i64} : tensor<?x16x32x32xf32>
    %l = rtml.lrn %r {size = 5 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 2.0 : f64} : tensor<?x16x32x32xf32>
    // CHECK: %[[P:.*]] = rtml.max_pool2d %[[L]] {ceil_mode = true, kernel = array<i64: 3, 3>, padding = array<i64: 0, 0>, stride = array<i64: 2, 2>} : tensor<?x16x32x32xf32> -> tensor<?x16x16x16xf32>
    %p = rtml.max_pool2d %l {kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, ceil_mode = true}
        : tensor<?x16x32x32xf32> -> tensor<?x16x16x16xf32>
    // CHECK: %[[A:.*]] = rtml.adaptive_avg_pool2d %[[P]] {output_size = array<i64: 2, 3>} : tensor<?x16x16x16xf32> -> tensor<?x16x2x3xf32>
    %a = rtml.adaptive_avg_pool2d %p {output_size = array<i64: 2, 3>} : tensor<?x16x16x16xf32> -> tensor<?x16x2x3xf32>
    // CHECK: %[[F:.*]] = rtml.flatten %[[A]] : tensor<?x16x2x3xf32> -> tensor<?x96xf32>
    %f = rtml.flatten %a : tensor<?x16x2x3xf32> -> tensor<?x96xf32>
    // CHECK: %[[D:.*]] = rtml.dropout %[[F]] {p = 5.000000e-01 : f64} : tensor<?x96xf32>
    %d = rtml.dropout %f {p = 0.5 : f64} : tensor<?x96xf32>
    // CHECK: %[[LW:.*]] = rtml.param "fc.weight" fan_in_uniform {fan_in = 96 : i64} : tensor<10x96xf32>
    %lw = rtml.param "fc.weight" fan_in_uniform {fan_in = 96 : i64} : tensor<10x96xf32>
    // A linear without bias keeps one operand.
    // CHECK: %[[O:.*]] = rtml.linear %[[D]], %[[LW]] : tensor<?x96xf32>, tensor<10x96xf32> -> tensor<?x10xf32>
    %o = rtml.linear %d, %lw : tensor<?x96xf32>, tensor<10x96xf32> -> tensor<?x10xf32>
    // A parameter read from a bf16 copy on CUDA, by a layer computing in
    // bf16 there; f32 as it is on the CPU.
    // CHECK: %[[LC:.*]] = rtml.param "fc.copy" fan_in_uniform read_as cpu f32 cuda bf16 {fan_in = 96 : i64} : tensor<10x96xf32>
    %lc = rtml.param "fc.copy" fan_in_uniform read_as cpu f32 cuda bf16 {fan_in = 96 : i64} : tensor<10x96xf32>
    // CHECK: rtml.linear %[[D]], %[[LC]] {rtml.compute_type = {cpu = f32, cuda = bf16}}
    %oc = rtml.linear %d, %lc {rtml.compute_type = {cpu = f32, cuda = bf16}} : tensor<?x96xf32>, tensor<10x96xf32> -> tensor<?x10xf32>
    // CHECK: return %[[O]]
    return %o : tensor<?x10xf32>
  }
}

// The fused concat: plain ReLUs, and mixed with batch norm epilogues.
// CHECK-LABEL: func.func @concat_relu
// CHECK: rtml.concat_relu %arg0, %arg1 : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>) -> tensor<?x5x4x4xf32>
// CHECK: rtml.concat_relu %arg0, %arg1 bn(%arg2, %arg3, %arg4, %arg5, %arg6) {bn = array<i1: false, true>, bn_eps = array<f64: 1.000000e-03>, bn_momentum = array<f64: 1.000000e-01>} : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>) -> tensor<?x5x4x4xf32>
func.func @concat_relu(%a: tensor<?x2x4x4xf32>, %b: tensor<?x3x4x4xf32>, %w: tensor<3xf32>, %bias: tensor<3xf32>, %m: tensor<3xf32>, %v: tensor<3xf32>, %n: tensor<i64>) -> (tensor<?x5x4x4xf32>, tensor<?x5x4x4xf32>) {
  %0 = rtml.concat_relu %a, %b : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>) -> tensor<?x5x4x4xf32>
  %1 = rtml.concat_relu %a, %b bn(%w, %bias, %m, %v, %n) {bn = array<i1: false, true>, bn_eps = array<f64: 1.0e-03>, bn_momentum = array<f64: 0.1>} : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>) -> tensor<?x5x4x4xf32>
  return %0, %1 : tensor<?x5x4x4xf32>, tensor<?x5x4x4xf32>
}

// CHECK-LABEL: func.func @sibling_conv2d
// CHECK: %[[M:.*]]:2 = rtml.sibling_conv2d %arg0 weights(%arg1, %arg2) biases(%arg3, %arg4) {dilation = array<i64: 1, 1>, padding = array<i64: 1, 1>, stride = array<i64: 2, 2>} : (tensor<?x8x4x4xf32>, tensor<2x8x3x3xf32>, tensor<3x8x3x3xf32>, tensor<2xf32>, tensor<3xf32>) -> (tensor<?x2x2x2xf32>, tensor<?x3x2x2xf32>)
// CHECK: rtml.sibling_conv2d %arg0 weights(%arg1, %arg2) {
func.func @sibling_conv2d(%x: tensor<?x8x4x4xf32>, %w0: tensor<2x8x3x3xf32>, %w1: tensor<3x8x3x3xf32>, %b0: tensor<2xf32>, %b1: tensor<3xf32>) -> (tensor<?x2x2x2xf32>, tensor<?x3x2x2xf32>) {
  %0:2 = rtml.sibling_conv2d %x weights(%w0, %w1) biases(%b0, %b1) {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>} : (tensor<?x8x4x4xf32>, tensor<2x8x3x3xf32>, tensor<3x8x3x3xf32>, tensor<2xf32>, tensor<3xf32>) -> (tensor<?x2x2x2xf32>, tensor<?x3x2x2xf32>)
  %1:2 = rtml.sibling_conv2d %x weights(%w0, %w1) {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>} : (tensor<?x8x4x4xf32>, tensor<2x8x3x3xf32>, tensor<3x8x3x3xf32>) -> (tensor<?x2x2x2xf32>, tensor<?x3x2x2xf32>)
  return %0#0, %1#1 : tensor<?x2x2x2xf32>, tensor<?x3x2x2xf32>
}

// The bias + ReLU epilogue of a convolution and of a sibling result.
// CHECK-LABEL: func.func @bias_relu
// CHECK: %[[Y:.*]] = rtml.conv2d
// CHECK-NEXT: rtml.bias_relu %[[Y]], %arg2 cpu conv cuda epilogue : tensor<?x2x4x4xf32>, tensor<2xf32>
// CHECK: %[[S:.*]]:2 = rtml.sibling_conv2d
// CHECK-NEXT: rtml.bias_relu %[[S]]#1, %arg4 cpu epilogue cuda conv : tensor<?x3x4x4xf32>, tensor<3xf32>
func.func @bias_relu(%x: tensor<?x8x4x4xf32>, %w0: tensor<2x8x1x1xf32>, %b0: tensor<2xf32>, %w1: tensor<3x8x1x1xf32>, %b1: tensor<3xf32>) -> (tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>) {
  %y = rtml.conv2d %x, %w0, %b0 {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32>, tensor<2xf32> -> tensor<?x2x4x4xf32>
  %r = rtml.bias_relu %y, %b0 cpu conv cuda epilogue : tensor<?x2x4x4xf32>, tensor<2xf32>
  %s:2 = rtml.sibling_conv2d %x weights(%w0, %w1) biases(%b0, %b1) {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>} : (tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32>, tensor<3x8x1x1xf32>, tensor<2xf32>, tensor<3xf32>) -> (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>)
  %r1 = rtml.bias_relu %s#1, %b1 cpu epilogue cuda conv : tensor<?x3x4x4xf32>, tensor<3xf32>
  return %r, %s#0, %r1 : tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>
}

// A fused concat whose plain ReLU input adds its convolution's bias.
// CHECK-LABEL: func.func @concat_relu_biases
// CHECK: %[[Y:.*]] = rtml.conv2d
// CHECK-NEXT: rtml.concat_relu %arg0, %[[Y]] biases(%arg3) cpu conv cuda epilogue {bias = array<i1: false, true>} : (tensor<?x8x4x4xf32>, tensor<?x2x4x4xf32>, tensor<2xf32>) -> tensor<?x10x4x4xf32>
func.func @concat_relu_biases(%x: tensor<?x8x4x4xf32>, %y: tensor<?x8x4x4xf32>, %w: tensor<2x8x1x1xf32>, %b: tensor<2xf32>) -> tensor<?x10x4x4xf32> {
  %c = rtml.conv2d %y, %w, %b {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32>, tensor<2xf32> -> tensor<?x2x4x4xf32>
  %0 = rtml.concat_relu %x, %c biases(%b) cpu conv cuda epilogue {bias = array<i1: false, true>} : (tensor<?x8x4x4xf32>, tensor<?x2x4x4xf32>, tensor<2xf32>) -> tensor<?x10x4x4xf32>
  return %0 : tensor<?x10x4x4xf32>
}
