// RUN: rtml-opt %s -split-input-file --rtml-merge-sibling-convs | FileCheck %s

// An inception's three 1x1 convolutions of one input: one sibling_conv2d,
// after the last weight, with each result where its convolution's was. The
// ReLU that read the first result moves down after the merged op; the
// parameters keep their order; the pool on the same input stays.
// CHECK-LABEL: func.func @inception
// CHECK-SAME: (%[[X:.*]]: tensor<?x8x4x4xf32>)
// CHECK: %[[W0:.*]] = rtml.param "b1.weight"
// CHECK-NEXT: %[[B0:.*]] = rtml.param "b1.bias"
// CHECK-NEXT: %[[W1:.*]] = rtml.param "b2.weight"
// CHECK-NEXT: %[[B1:.*]] = rtml.param "b2.bias"
// CHECK-NEXT: %[[W2:.*]] = rtml.param "b3.weight"
// CHECK-NEXT: %[[B2:.*]] = rtml.param "b3.bias"
// CHECK-NEXT: %[[M:.*]]:3 = rtml.sibling_conv2d %[[X]] weights(%[[W0]], %[[W1]], %[[W2]]) biases(%[[B0]], %[[B1]], %[[B2]])
// CHECK-SAME: {dilation = array<i64: 1, 1>, padding = array<i64: 0, 0>, stride = array<i64: 1, 1>}
// CHECK-SAME: -> (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>, tensor<?x1x4x4xf32>)
// CHECK-NEXT: %[[R1:.*]] = rtml.relu %[[M]]#1
// CHECK-NEXT: %[[R2:.*]] = rtml.relu %[[M]]#2
// CHECK-NEXT: %[[P:.*]] = rtml.max_pool2d %[[X]]
// CHECK-NOT: rtml.conv2d
// CHECK: rtml.concat %[[M]]#0, %[[R1]], %[[R2]], %[[P]]
func.func @inception(%x: tensor<?x8x4x4xf32>) -> tensor<?x14x4x4xf32> {
  %w0 = rtml.param "b1.weight" fan_in_uniform {fan_in = 8 : i64} : tensor<2x8x1x1xf32>
  %b0 = rtml.param "b1.bias" fan_in_uniform {fan_in = 8 : i64} : tensor<2xf32>
  %c0 = rtml.conv2d %x, %w0, %b0 {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32>, tensor<2xf32> -> tensor<?x2x4x4xf32>
  %w1 = rtml.param "b2.weight" fan_in_uniform {fan_in = 8 : i64} : tensor<3x8x1x1xf32>
  %b1 = rtml.param "b2.bias" fan_in_uniform {fan_in = 8 : i64} : tensor<3xf32>
  %c1 = rtml.conv2d %x, %w1, %b1 {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x8x4x4xf32>, tensor<3x8x1x1xf32>, tensor<3xf32> -> tensor<?x3x4x4xf32>
  %r1 = rtml.relu %c1 : tensor<?x3x4x4xf32>
  %w2 = rtml.param "b3.weight" fan_in_uniform {fan_in = 8 : i64} : tensor<1x8x1x1xf32>
  %b2 = rtml.param "b3.bias" fan_in_uniform {fan_in = 8 : i64} : tensor<1xf32>
  %c2 = rtml.conv2d %x, %w2, %b2 {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x8x4x4xf32>, tensor<1x8x1x1xf32>, tensor<1xf32> -> tensor<?x1x4x4xf32>
  %r2 = rtml.relu %c2 : tensor<?x1x4x4xf32>
  %p = rtml.max_pool2d %x {kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, ceil_mode = false} : tensor<?x8x4x4xf32> -> tensor<?x8x4x4xf32>
  %cat = rtml.concat %c0, %r1, %r2, %p : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>, tensor<?x1x4x4xf32>, tensor<?x8x4x4xf32>) -> tensor<?x14x4x4xf32>
  return %cat : tensor<?x14x4x4xf32>
}

// -----

// Convolutions without biases merge into one without biases; a device and
// a compute type carry over.
// CHECK-LABEL: func.func @without_bias
// CHECK: rtml.sibling_conv2d %{{.*}} weights(%{{.*}}, %{{.*}}) {
// CHECK-SAME: rtml.device = "gpu1"
// CHECK-NOT: biases
// CHECK-NOT: rtml.conv2d
func.func @without_bias(%x: tensor<?x8x4x4xf32>) -> (tensor<?x2x2x2xf32>, tensor<?x3x2x2xf32>) {
  %w0 = rtml.param "a.weight" fan_in_uniform {fan_in = 72 : i64} : tensor<2x8x3x3xf32>
  %w1 = rtml.param "b.weight" fan_in_uniform {fan_in = 72 : i64} : tensor<3x8x3x3xf32>
  %c0 = rtml.conv2d %x, %w0 {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, rtml.device = "gpu1"} : tensor<?x8x4x4xf32>, tensor<2x8x3x3xf32> -> tensor<?x2x2x2xf32>
  %c1 = rtml.conv2d %x, %w1 {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, rtml.device = "gpu1"} : tensor<?x8x4x4xf32>, tensor<3x8x3x3xf32> -> tensor<?x3x2x2xf32>
  return %c0, %c1 : tensor<?x2x2x2xf32>, tensor<?x3x2x2xf32>
}

// -----

// Siblings in two geometries: two merges, one per geometry; the odd one out
// (another stride) stays a conv2d.
// CHECK-LABEL: func.func @two_geometries
// CHECK-COUNT-2: rtml.sibling_conv2d
// CHECK-NOT: rtml.sibling_conv2d
// CHECK-COUNT-1: rtml.conv2d
// CHECK-NOT: rtml.conv2d
func.func @two_geometries(%x: tensor<?x8x4x4xf32>) -> (tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>, tensor<?x2x2x2xf32>) {
  %w = rtml.param "w" fan_in_uniform {fan_in = 8 : i64} : tensor<2x8x1x1xf32>
  %v = rtml.param "v" fan_in_uniform {fan_in = 72 : i64} : tensor<2x8x3x3xf32>
  %a = rtml.conv2d %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32> -> tensor<?x2x4x4xf32>
  %b = rtml.conv2d %x, %v {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x8x4x4xf32>, tensor<2x8x3x3xf32> -> tensor<?x2x4x4xf32>
  %c = rtml.conv2d %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32> -> tensor<?x2x4x4xf32>
  %d = rtml.conv2d %x, %v {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x8x4x4xf32>, tensor<2x8x3x3xf32> -> tensor<?x2x4x4xf32>
  %e = rtml.conv2d %x, %w {stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32> -> tensor<?x2x2x2xf32>
  return %a, %b, %c, %d, %e : tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>, tensor<?x2x2x2xf32>
}

// -----

// Not siblings: different inputs, grouped convolutions, one with a bias and
// one without, two devices. Nothing merges.
// CHECK-LABEL: func.func @not_siblings
// CHECK-NOT: rtml.sibling_conv2d
// CHECK-COUNT-8: rtml.conv2d
func.func @not_siblings(%x: tensor<?x8x4x4xf32>, %y: tensor<?x8x4x4xf32>) -> (tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>) {
  %w = rtml.param "w" fan_in_uniform {fan_in = 8 : i64} : tensor<2x8x1x1xf32>
  %g = rtml.param "g" fan_in_uniform {fan_in = 4 : i64} : tensor<2x4x1x1xf32>
  %b = rtml.param "b" fan_in_uniform {fan_in = 8 : i64} : tensor<2xf32>
  %c0 = rtml.conv2d %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32> -> tensor<?x2x4x4xf32>
  %c1 = rtml.conv2d %y, %w {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32> -> tensor<?x2x4x4xf32>
  %c2 = rtml.conv2d %x, %g {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 2 : i64} : tensor<?x8x4x4xf32>, tensor<2x4x1x1xf32> -> tensor<?x2x4x4xf32>
  %c3 = rtml.conv2d %x, %g {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 2 : i64} : tensor<?x8x4x4xf32>, tensor<2x4x1x1xf32> -> tensor<?x2x4x4xf32>
  %c4 = rtml.conv2d %y, %w, %b {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64, rtml.device = "gpu0"} : tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32>, tensor<2xf32> -> tensor<?x2x4x4xf32>
  %c5 = rtml.conv2d %y, %w, %b {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64, rtml.device = "gpu1"} : tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32>, tensor<2xf32> -> tensor<?x2x4x4xf32>
  %c6 = rtml.conv2d %x, %w, %b {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64, rtml.device = "gpu0"} : tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32>, tensor<2xf32> -> tensor<?x2x4x4xf32>
  %c7 = rtml.conv2d %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 2, 2>, groups = 1 : i64, rtml.device = "gpu0"} : tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32> -> tensor<?x2x4x4xf32>
  return %c0, %c1, %c2, %c3, %c4, %c5, %c6, %c7 : tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>
}

// -----

// Moving the first convolution's reader down past a dropout would change
// the masks the dropouts draw: the group stays as it is.
// CHECK-LABEL: func.func @past_a_dropout
// CHECK-NOT: rtml.sibling_conv2d
// CHECK-COUNT-2: rtml.conv2d
func.func @past_a_dropout(%x: tensor<?x8x4x4xf32>) -> (tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>) {
  %w0 = rtml.param "w0" fan_in_uniform {fan_in = 8 : i64} : tensor<2x8x1x1xf32>
  %c0 = rtml.conv2d %x, %w0 {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32> -> tensor<?x2x4x4xf32>
  %d0 = rtml.dropout %c0 {p = 5.000000e-01 : f64} : tensor<?x2x4x4xf32>
  %w1 = rtml.param "w1" fan_in_uniform {fan_in = 8 : i64} : tensor<2x8x1x1xf32>
  %c1 = rtml.conv2d %x, %w1 {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32> -> tensor<?x2x4x4xf32>
  return %d0, %c1 : tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>
}
