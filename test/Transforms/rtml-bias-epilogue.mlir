// RUN: rtml-opt %s -split-input-file --rtml-bias-epilogue | FileCheck %s
// RUN: rtml-opt %s -split-input-file --rtml-bias-epilogue="cpu=epilogue cuda=conv" | FileCheck %s --check-prefix=SWAPPED
// RUN: rtml-opt %s -split-input-file --rtml-bias-epilogue --rtml-bias-epilogue | FileCheck %s --check-prefix=TWICE

// A convolution with a bias whose only reader is a ReLU: the ReLU adds the
// bias on CUDA (the default), the convolution keeps it on the CPU. The
// convolution itself is unchanged: its bias operand stays, and the runtime
// drops it where the epilogue adds it.
// CHECK-LABEL: func.func @conv_bias_relu
// CHECK: %[[Y:.*]] = rtml.conv2d %{{.*}}, %{{.*}}, %[[B:[a-z0-9_]+]] {
// CHECK-NEXT: %[[R:.*]] = rtml.bias_relu %[[Y]], %[[B]] cpu conv cuda epilogue : tensor<?x8x4x4xf32>, tensor<8xf32>
// CHECK-NOT: rtml.relu
// CHECK: return %[[R]]
// SWAPPED-LABEL: func.func @conv_bias_relu
// SWAPPED: rtml.bias_relu %{{.*}}, %{{.*}} cpu epilogue cuda conv
// A second run finds no ReLU left to take.
// TWICE-LABEL: func.func @conv_bias_relu
// TWICE: rtml.conv2d
// TWICE-NEXT: rtml.bias_relu
// TWICE-NEXT: return
func.func @conv_bias_relu(%x: tensor<?x3x4x4xf32>) -> tensor<?x8x4x4xf32> {
  %w = rtml.param "c.weight" fan_in_uniform {fan_in = 27 : i64} : tensor<8x3x3x3xf32>
  %b = rtml.param "c.bias" fan_in_uniform {fan_in = 27 : i64} : tensor<8xf32>
  %y = rtml.conv2d %x, %w, %b {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x3x4x4xf32>, tensor<8x3x3x3xf32>, tensor<8xf32> -> tensor<?x8x4x4xf32>
  %r = rtml.relu %y : tensor<?x8x4x4xf32>
  return %r : tensor<?x8x4x4xf32>
}

// -----

// Each ReLU of a sibling convolution's results takes that result's bias;
// a result read by something else (here the return) keeps its bias in the
// convolution.
// CHECK-LABEL: func.func @sibling_results
// CHECK: %[[S:.*]]:3 = rtml.sibling_conv2d %{{.*}} weights(%{{.*}}, %{{.*}}, %{{.*}}) biases(%[[B0:[a-z0-9_]+]], %[[B1:[a-z0-9_]+]], %[[B2:[a-z0-9_]+]])
// CHECK-NEXT: %[[R0:.*]] = rtml.bias_relu %[[S]]#0, %[[B0]] cpu conv cuda epilogue
// CHECK-NEXT: %[[R2:.*]] = rtml.bias_relu %[[S]]#2, %[[B2]] cpu conv cuda epilogue
// CHECK-NEXT: return %[[R0]], %[[S]]#1, %[[R2]]
func.func @sibling_results(%x: tensor<?x4x4x4xf32>) -> (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>, tensor<?x5x4x4xf32>) {
  %w0 = rtml.param "a.weight" fan_in_uniform {fan_in = 4 : i64} : tensor<2x4x1x1xf32>
  %w1 = rtml.param "b.weight" fan_in_uniform {fan_in = 4 : i64} : tensor<3x4x1x1xf32>
  %w2 = rtml.param "c.weight" fan_in_uniform {fan_in = 4 : i64} : tensor<5x4x1x1xf32>
  %b0 = rtml.param "a.bias" fan_in_uniform {fan_in = 4 : i64} : tensor<2xf32>
  %b1 = rtml.param "b.bias" fan_in_uniform {fan_in = 4 : i64} : tensor<3xf32>
  %b2 = rtml.param "c.bias" fan_in_uniform {fan_in = 4 : i64} : tensor<5xf32>
  %s:3 = rtml.sibling_conv2d %x weights(%w0, %w1, %w2) biases(%b0, %b1, %b2) {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>} : (tensor<?x4x4x4xf32>, tensor<2x4x1x1xf32>, tensor<3x4x1x1xf32>, tensor<5x4x1x1xf32>, tensor<2xf32>, tensor<3xf32>, tensor<5xf32>) -> (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>, tensor<?x5x4x4xf32>)
  %r0 = rtml.relu %s#0 : tensor<?x2x4x4xf32>
  %r2 = rtml.relu %s#2 : tensor<?x5x4x4xf32>
  return %r0, %s#1, %r2 : tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>, tensor<?x5x4x4xf32>
}

// -----

// Sibling convolutions without biases: nothing to move.
// CHECK-LABEL: func.func @siblings_without_bias
// CHECK-COUNT-2: rtml.relu %
// CHECK-NOT: rtml.bias_relu
func.func @siblings_without_bias(%x: tensor<?x4x4x4xf32>) -> (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>) {
  %w0 = rtml.param "a.weight" fan_in_uniform {fan_in = 4 : i64} : tensor<2x4x1x1xf32>
  %w1 = rtml.param "b.weight" fan_in_uniform {fan_in = 4 : i64} : tensor<3x4x1x1xf32>
  %s:2 = rtml.sibling_conv2d %x weights(%w0, %w1) {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>} : (tensor<?x4x4x4xf32>, tensor<2x4x1x1xf32>, tensor<3x4x1x1xf32>) -> (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>)
  %r0 = rtml.relu %s#0 : tensor<?x2x4x4xf32>
  %r1 = rtml.relu %s#1 : tensor<?x3x4x4xf32>
  return %r0, %r1 : tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>
}

// -----

// A convolution without a bias: the ReLU stays plain.
// CHECK-LABEL: func.func @conv_without_bias
// CHECK: rtml.relu %
// CHECK-NOT: rtml.bias_relu
func.func @conv_without_bias(%x: tensor<?x3x4x4xf32>) -> tensor<?x8x4x4xf32> {
  %w = rtml.param "c.weight" fan_in_uniform {fan_in = 27 : i64} : tensor<8x3x3x3xf32>
  %y = rtml.conv2d %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x3x4x4xf32>, tensor<8x3x3x3xf32> -> tensor<?x8x4x4xf32>
  %r = rtml.relu %y : tensor<?x8x4x4xf32>
  return %r : tensor<?x8x4x4xf32>
}

// -----

// The convolution's output is also returned: it must keep its bias, so
// the ReLU stays plain.
// CHECK-LABEL: func.func @output_read_twice
// CHECK: %[[Y:.*]] = rtml.conv2d
// CHECK-NEXT: %[[R:.*]] = rtml.relu %[[Y]]
// CHECK-NOT: rtml.bias_relu
// CHECK: return %[[Y]], %[[R]]
func.func @output_read_twice(%x: tensor<?x3x4x4xf32>) -> (tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>) {
  %w = rtml.param "c.weight" fan_in_uniform {fan_in = 27 : i64} : tensor<8x3x3x3xf32>
  %b = rtml.param "c.bias" fan_in_uniform {fan_in = 27 : i64} : tensor<8xf32>
  %y = rtml.conv2d %x, %w, %b {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x3x4x4xf32>, tensor<8x3x3x3xf32>, tensor<8xf32> -> tensor<?x8x4x4xf32>
  %r = rtml.relu %y : tensor<?x8x4x4xf32>
  return %y, %r : tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>
}

// -----

// Two ReLUs of one convolution: neither may take the bias.
// CHECK-LABEL: func.func @two_relus
// CHECK-COUNT-2: rtml.relu %
// CHECK-NOT: rtml.bias_relu
func.func @two_relus(%x: tensor<?x3x4x4xf32>) -> (tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>) {
  %w = rtml.param "c.weight" fan_in_uniform {fan_in = 27 : i64} : tensor<8x3x3x3xf32>
  %b = rtml.param "c.bias" fan_in_uniform {fan_in = 27 : i64} : tensor<8xf32>
  %y = rtml.conv2d %x, %w, %b {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x3x4x4xf32>, tensor<8x3x3x3xf32>, tensor<8xf32> -> tensor<?x8x4x4xf32>
  %r1 = rtml.relu %y : tensor<?x8x4x4xf32>
  %r2 = rtml.relu %y : tensor<?x8x4x4xf32>
  return %r1, %r2 : tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>
}

// -----

// The ReLU of a linear layer (its bias is part of the GEMM on every
// device) and a ReLU of a batch norm stay plain.
// CHECK-LABEL: func.func @not_a_convolution
// CHECK-COUNT-2: rtml.relu %
// CHECK-NOT: rtml.bias_relu
func.func @not_a_convolution(%x: tensor<?x6xf32>, %y: tensor<?x2x4x4xf32>) -> (tensor<?x4xf32>, tensor<?x2x4x4xf32>) {
  %w = rtml.param "fc.weight" fan_in_uniform {fan_in = 6 : i64} : tensor<4x6xf32>
  %b = rtml.param "fc.bias" fan_in_uniform {fan_in = 6 : i64} : tensor<4xf32>
  %l = rtml.linear %x, %w, %b : tensor<?x6xf32>, tensor<4x6xf32>, tensor<4xf32> -> tensor<?x4xf32>
  %r = rtml.relu %l : tensor<?x4xf32>
  %g = rtml.param "bn.weight" ones {fan_in = 1 : i64} : tensor<2xf32>
  %be = rtml.param "bn.bias" zeros {fan_in = 1 : i64} : tensor<2xf32>
  %m = rtml.param "bn.running_mean" zeros buffer {fan_in = 1 : i64} : tensor<2xf32>
  %v = rtml.param "bn.running_var" ones buffer {fan_in = 1 : i64} : tensor<2xf32>
  %n = rtml.param "bn.num_batches_tracked" zeros buffer {fan_in = 1 : i64} : tensor<i64>
  %bn = rtml.batch_norm %y, %g, %be, %m, %v, %n {eps = 1.0e-5 : f64, momentum = 0.1 : f64} : (tensor<?x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<i64>) -> tensor<?x2x4x4xf32>
  %rb = rtml.relu %bn : tensor<?x2x4x4xf32>
  return %r, %rb : tensor<?x4xf32>, tensor<?x2x4x4xf32>
}

// -----

// The ReLU on another device than its convolution (reached through a
// transfer) stays plain; one on the same device takes the bias, and keeps
// the device.
// CHECK-LABEL: func.func @devices
// CHECK: rtml.transfer
// CHECK-NEXT: rtml.relu %{{.*}} {rtml.device = "gpu1"}
// CHECK: rtml.bias_relu %{{.*}}, %{{.*}} cpu conv cuda epilogue {rtml.device = "gpu0"}
func.func @devices(%x: tensor<?x3x4x4xf32>) -> (tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>) {
  %w = rtml.param "c.weight" fan_in_uniform {fan_in = 27 : i64} : tensor<8x3x3x3xf32>
  %b = rtml.param "c.bias" fan_in_uniform {fan_in = 27 : i64} : tensor<8xf32>
  %y = rtml.conv2d %x, %w, %b {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, rtml.device = "gpu0"} : tensor<?x3x4x4xf32>, tensor<8x3x3x3xf32>, tensor<8xf32> -> tensor<?x8x4x4xf32>
  %t = rtml.transfer %y {rtml.device = "gpu1"} : tensor<?x8x4x4xf32>
  %r = rtml.relu %t {rtml.device = "gpu1"} : tensor<?x8x4x4xf32>
  %y2 = rtml.conv2d %x, %w, %b {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, rtml.device = "gpu0"} : tensor<?x3x4x4xf32>, tensor<8x3x3x3xf32>, tensor<8xf32> -> tensor<?x8x4x4xf32>
  %r2 = rtml.relu %y2 {rtml.device = "gpu0"} : tensor<?x8x4x4xf32>
  return %r, %r2 : tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>
}

// -----

// A fused concat's plain ReLU inputs that are biased convolutions' outputs
// read only by it take those biases; the batch norm input, the pool's and
// a convolution whose output is also returned do not.
// CHECK-LABEL: func.func @concat_inputs
// CHECK: %[[A:.*]] = rtml.conv2d %{{.*}}, %{{.*}}, %[[BA:[a-z0-9_]+]] {
// CHECK: %[[C:.*]] = rtml.conv2d %{{.*}}, %{{.*}}, %[[BC:[a-z0-9_]+]] {
// CHECK: %[[D:.*]] = rtml.conv2d %{{.*}}, %{{.*}}, %[[BD:[a-z0-9_]+]] {
// CHECK: rtml.concat_relu %[[A]], %{{.*}}, %[[C]], %[[D]], %{{.*}} bn(%{{.*}}) biases(%[[BA]], %[[BC]]) cpu conv cuda epilogue {bias = array<i1: true, false, true, false, false>, bn = array<i1: false, false, false, false, true>
// SWAPPED-LABEL: func.func @concat_inputs
// SWAPPED: rtml.concat_relu {{.*}} biases(%{{.*}}, %{{.*}}) cpu epilogue cuda conv
// TWICE-LABEL: func.func @concat_inputs
// TWICE: rtml.concat_relu {{.*}} biases(%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) cpu
func.func @concat_inputs(%x: tensor<?x3x4x4xf32>, %p: tensor<?x2x4x4xf32>, %y: tensor<?x3x4x4xf32>, %w: tensor<3xf32>, %bias: tensor<3xf32>, %m: tensor<3xf32>, %v: tensor<3xf32>, %n: tensor<i64>) -> (tensor<?x14x4x4xf32>, tensor<?x3x4x4xf32>) {
  %wa = rtml.param "a.weight" fan_in_uniform {fan_in = 27 : i64} : tensor<2x3x3x3xf32>
  %ba = rtml.param "a.bias" fan_in_uniform {fan_in = 27 : i64} : tensor<2xf32>
  %a = rtml.conv2d %x, %wa, %ba {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x3x4x4xf32>, tensor<2x3x3x3xf32>, tensor<2xf32> -> tensor<?x2x4x4xf32>
  %wc = rtml.param "c.weight" fan_in_uniform {fan_in = 3 : i64} : tensor<4x3x1x1xf32>
  %bc = rtml.param "c.bias" fan_in_uniform {fan_in = 3 : i64} : tensor<4xf32>
  %c = rtml.conv2d %x, %wc, %bc {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x3x4x4xf32>, tensor<4x3x1x1xf32>, tensor<4xf32> -> tensor<?x4x4x4xf32>
  %wd = rtml.param "d.weight" fan_in_uniform {fan_in = 27 : i64} : tensor<3x3x3x3xf32>
  %bd = rtml.param "d.bias" fan_in_uniform {fan_in = 27 : i64} : tensor<3xf32>
  %dc = rtml.conv2d %x, %wd, %bd {stride = array<i64: 1, 1>, padding = array<i64: 2, 2>, dilation = array<i64: 2, 2>, groups = 1 : i64} : tensor<?x3x4x4xf32>, tensor<3x3x3x3xf32>, tensor<3xf32> -> tensor<?x3x4x4xf32>
  %cat = rtml.concat_relu %a, %p, %c, %dc, %y bn(%w, %bias, %m, %v, %n) {bn = array<i1: false, false, false, false, true>, bn_eps = array<f64: 1.0e-03>, bn_momentum = array<f64: 1.0e-01>} : (tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>, tensor<?x4x4x4xf32>, tensor<?x3x4x4xf32>, tensor<?x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>) -> tensor<?x14x4x4xf32>
  return %cat, %dc : tensor<?x14x4x4xf32>, tensor<?x3x4x4xf32>
}
