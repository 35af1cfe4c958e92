// RUN: rtml-opt %s -split-input-file --rtml-fuse-concat | FileCheck %s

// An inception concat of four ReLU epilogues: one concat_relu of the ReLUs'
// inputs, and no ReLU or concat left.
// CHECK-LABEL: func.func @inception
// CHECK-SAME: (%[[A:.*]]: tensor<?x2x4x4xf32>, %[[B:.*]]: tensor<?x3x4x4xf32>, %[[C:.*]]: tensor<?x1x4x4xf32>, %[[D:.*]]: tensor<?x5x4x4xf32>)
// CHECK-NOT: rtml.relu
// CHECK-NOT: rtml.concat %
// CHECK: %[[F:.*]] = rtml.concat_relu %[[A]], %[[B]], %[[C]], %[[D]] : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>, tensor<?x1x4x4xf32>, tensor<?x5x4x4xf32>) -> tensor<?x11x4x4xf32>
// CHECK-NEXT: return %[[F]]
func.func @inception(%a: tensor<?x2x4x4xf32>, %b: tensor<?x3x4x4xf32>, %c: tensor<?x1x4x4xf32>, %d: tensor<?x5x4x4xf32>) -> tensor<?x11x4x4xf32> {
  %ra = rtml.relu %a : tensor<?x2x4x4xf32>
  %rb = rtml.relu %b : tensor<?x3x4x4xf32>
  %rc = rtml.relu %c : tensor<?x1x4x4xf32>
  %rd = rtml.relu %d : tensor<?x5x4x4xf32>
  %cat = rtml.concat %ra, %rb, %rc, %rd : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>, tensor<?x1x4x4xf32>, tensor<?x5x4x4xf32>) -> tensor<?x11x4x4xf32>
  return %cat : tensor<?x11x4x4xf32>
}

// -----

// One branch ends in a pool, not a ReLU: nothing to fuse.
// CHECK-LABEL: func.func @branch_without_relu
// CHECK: rtml.relu
// CHECK: rtml.concat %
// CHECK-NOT: rtml.concat_relu
func.func @branch_without_relu(%a: tensor<?x2x4x4xf32>, %b: tensor<?x3x4x4xf32>) -> tensor<?x5x4x4xf32> {
  %ra = rtml.relu %a : tensor<?x2x4x4xf32>
  %pb = rtml.max_pool2d %b {kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, ceil_mode = false} : tensor<?x3x4x4xf32> -> tensor<?x3x4x4xf32>
  %cat = rtml.concat %ra, %pb : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>) -> tensor<?x5x4x4xf32>
  return %cat : tensor<?x5x4x4xf32>
}

// -----

// A ReLU also read elsewhere keeps its result: nothing to fuse.
// CHECK-LABEL: func.func @relu_read_elsewhere
// CHECK-COUNT-2: rtml.relu
// CHECK: rtml.concat %
// CHECK-NOT: rtml.concat_relu
func.func @relu_read_elsewhere(%a: tensor<?x2x4x4xf32>, %b: tensor<?x3x4x4xf32>) -> (tensor<?x5x4x4xf32>, tensor<?x2x4x4xf32>) {
  %ra = rtml.relu %a : tensor<?x2x4x4xf32>
  %rb = rtml.relu %b : tensor<?x3x4x4xf32>
  %cat = rtml.concat %ra, %rb : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>) -> tensor<?x5x4x4xf32>
  return %cat, %ra : tensor<?x5x4x4xf32>, tensor<?x2x4x4xf32>
}

// -----

// The same ReLU twice in one concat is two uses: nothing to fuse.
// CHECK-LABEL: func.func @same_relu_twice
// CHECK: %[[R:.*]] = rtml.relu
// CHECK: rtml.concat %[[R]], %[[R]]
// CHECK-NOT: rtml.concat_relu
func.func @same_relu_twice(%a: tensor<?x2x4x4xf32>) -> tensor<?x4x4x4xf32> {
  %ra = rtml.relu %a : tensor<?x2x4x4xf32>
  %cat = rtml.concat %ra, %ra : (tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>) -> tensor<?x4x4x4xf32>
  return %cat : tensor<?x4x4x4xf32>
}

// -----

// A ReLU on another device than the concat: nothing to fuse; all on one
// device: fused, keeping the device.
// CHECK-LABEL: func.func @devices
// CHECK: rtml.relu %arg1 {rtml.device = "gpu1"}
// CHECK: rtml.concat {{.*}}rtml.device = "gpu0"
// CHECK: rtml.concat_relu %arg0, %arg1 {rtml.device = "gpu1"}
module attributes {rtml.devices = ["gpu0", "gpu1"]} {
  func.func @devices(%a: tensor<?x2x4x4xf32>, %b: tensor<?x3x4x4xf32>) -> (tensor<?x5x4x4xf32>, tensor<?x5x4x4xf32>) {
    %ra = rtml.relu %a {rtml.device = "gpu0"} : tensor<?x2x4x4xf32>
    %rb = rtml.relu %b {rtml.device = "gpu1"} : tensor<?x3x4x4xf32>
    %cat = rtml.concat %ra, %rb {rtml.device = "gpu0"} : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>) -> tensor<?x5x4x4xf32>
    %ra2 = rtml.relu %a {rtml.device = "gpu1"} : tensor<?x2x4x4xf32>
    %rb2 = rtml.relu %b {rtml.device = "gpu1"} : tensor<?x3x4x4xf32>
    %cat2 = rtml.concat %ra2, %rb2 {rtml.device = "gpu1"} : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>) -> tensor<?x5x4x4xf32>
    return %cat, %cat2 : tensor<?x5x4x4xf32>, tensor<?x5x4x4xf32>
  }
}

// -----

// Odd order: the ReLUs are defined far from the concat and in another order
// than its operands; the fused op keeps the concat's operand order.
// CHECK-LABEL: func.func @odd_order
// CHECK: rtml.max_pool2d
// CHECK: rtml.concat_relu %arg1, %arg0 : (tensor<?x3x4x4xf32>, tensor<?x2x4x4xf32>) -> tensor<?x5x4x4xf32>
func.func @odd_order(%a: tensor<?x2x4x4xf32>, %b: tensor<?x3x4x4xf32>) -> (tensor<?x5x4x4xf32>, tensor<?x2x2x2xf32>) {
  %ra = rtml.relu %a : tensor<?x2x4x4xf32>
  %p = rtml.max_pool2d %a {kernel = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, ceil_mode = false} : tensor<?x2x4x4xf32> -> tensor<?x2x2x2xf32>
  %rb = rtml.relu %b : tensor<?x3x4x4xf32>
  %cat = rtml.concat %rb, %ra : (tensor<?x3x4x4xf32>, tensor<?x2x4x4xf32>) -> tensor<?x5x4x4xf32>
  return %cat, %p : tensor<?x5x4x4xf32>, tensor<?x2x2x2xf32>
}

// -----

// BasicConv2d branches (batch norm, then ReLU): the batch norms go into the
// fused op too, each with its five operands and its constants.
// CHECK-LABEL: func.func @bn_epilogues
// CHECK-NOT: rtml.batch_norm
// CHECK-NOT: rtml.relu
// CHECK-NOT: rtml.concat %
// CHECK: %[[F:.*]] = rtml.concat_relu %arg0, %arg1 bn(%arg2, %arg3, %arg4, %arg5, %arg6, %arg7, %arg8, %arg9, %arg10, %arg11) {bn = array<i1: true, true>, bn_eps = array<f64: 1.000000e-03, 1.000000e-05>, bn_momentum = array<f64: 1.000000e-01, 2.000000e-01>} : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<i64>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>) -> tensor<?x5x4x4xf32>
// CHECK-NEXT: return %[[F]]
func.func @bn_epilogues(%a: tensor<?x2x4x4xf32>, %b: tensor<?x3x4x4xf32>,
    %wa: tensor<2xf32>, %ba: tensor<2xf32>, %ma: tensor<2xf32>, %va: tensor<2xf32>, %na: tensor<i64>,
    %wb: tensor<3xf32>, %bb: tensor<3xf32>, %mb: tensor<3xf32>, %vb: tensor<3xf32>, %nb: tensor<i64>) -> tensor<?x5x4x4xf32> {
  %na_ = rtml.batch_norm %a, %wa, %ba, %ma, %va, %na {eps = 1.0e-03 : f64, momentum = 1.0e-01 : f64} : (tensor<?x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<i64>) -> tensor<?x2x4x4xf32>
  %ra = rtml.relu %na_ : tensor<?x2x4x4xf32>
  %nb_ = rtml.batch_norm %b, %wb, %bb, %mb, %vb, %nb {eps = 1.0e-05 : f64, momentum = 2.0e-01 : f64} : (tensor<?x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>) -> tensor<?x3x4x4xf32>
  %rb = rtml.relu %nb_ : tensor<?x3x4x4xf32>
  %cat = rtml.concat %ra, %rb : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>) -> tensor<?x5x4x4xf32>
  return %cat : tensor<?x5x4x4xf32>
}

// -----

// Mixed epilogues: a plain ReLU between two batch norms + ReLU; bn marks
// which input has one, and bn_params follow the inputs' order.
// CHECK-LABEL: func.func @mixed
// CHECK-NOT: rtml.batch_norm
// CHECK-NOT: rtml.relu
// CHECK: rtml.concat_relu %arg0, %arg1, %arg2 bn(%arg3, %arg4, %arg5, %arg6, %arg7, %arg8, %arg9, %arg10, %arg11, %arg12) {bn = array<i1: true, false, true>, bn_eps = array<f64: 1.000000e-03, 1.000000e-03>, bn_momentum = array<f64: 1.000000e-01, 1.000000e-01>}
func.func @mixed(%a: tensor<?x2x4x4xf32>, %b: tensor<?x1x4x4xf32>, %c: tensor<?x3x4x4xf32>,
    %wa: tensor<2xf32>, %ba: tensor<2xf32>, %ma: tensor<2xf32>, %va: tensor<2xf32>, %na: tensor<i64>,
    %wc: tensor<3xf32>, %bc: tensor<3xf32>, %mc: tensor<3xf32>, %vc: tensor<3xf32>, %nc: tensor<i64>) -> tensor<?x6x4x4xf32> {
  %na_ = rtml.batch_norm %a, %wa, %ba, %ma, %va, %na {eps = 1.0e-03 : f64, momentum = 1.0e-01 : f64} : (tensor<?x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<i64>) -> tensor<?x2x4x4xf32>
  %ra = rtml.relu %na_ : tensor<?x2x4x4xf32>
  %rb = rtml.relu %b : tensor<?x1x4x4xf32>
  %nc_ = rtml.batch_norm %c, %wc, %bc, %mc, %vc, %nc {eps = 1.0e-03 : f64, momentum = 1.0e-01 : f64} : (tensor<?x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>) -> tensor<?x3x4x4xf32>
  %rc = rtml.relu %nc_ : tensor<?x3x4x4xf32>
  %cat = rtml.concat %ra, %rb, %rc : (tensor<?x2x4x4xf32>, tensor<?x1x4x4xf32>, tensor<?x3x4x4xf32>) -> tensor<?x6x4x4xf32>
  return %cat : tensor<?x6x4x4xf32>
}

// -----

// A batch norm also read elsewhere keeps its result: its ReLU still fuses,
// as a plain ReLU of the batch norm's output.
// CHECK-LABEL: func.func @bn_read_elsewhere
// CHECK: %[[N:.*]] = rtml.batch_norm %arg0
// CHECK-NOT: rtml.relu
// CHECK: rtml.concat_relu %[[N]], %arg1 : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>) -> tensor<?x5x4x4xf32>
// CHECK-NOT: bn(
func.func @bn_read_elsewhere(%a: tensor<?x2x4x4xf32>, %b: tensor<?x3x4x4xf32>,
    %wa: tensor<2xf32>, %ba: tensor<2xf32>, %ma: tensor<2xf32>, %va: tensor<2xf32>, %na: tensor<i64>) -> (tensor<?x5x4x4xf32>, tensor<?x2x4x4xf32>) {
  %na_ = rtml.batch_norm %a, %wa, %ba, %ma, %va, %na {eps = 1.0e-03 : f64, momentum = 1.0e-01 : f64} : (tensor<?x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<i64>) -> tensor<?x2x4x4xf32>
  %ra = rtml.relu %na_ : tensor<?x2x4x4xf32>
  %rb = rtml.relu %b : tensor<?x3x4x4xf32>
  %cat = rtml.concat %ra, %rb : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>) -> tensor<?x5x4x4xf32>
  return %cat, %na_ : tensor<?x5x4x4xf32>, tensor<?x2x4x4xf32>
}

// -----

// The ReLU after a batch norm also read elsewhere: nothing to fuse.
// CHECK-LABEL: func.func @bn_relu_read_elsewhere
// CHECK: rtml.batch_norm
// CHECK: rtml.relu
// CHECK: rtml.concat %
// CHECK-NOT: rtml.concat_relu
func.func @bn_relu_read_elsewhere(%a: tensor<?x2x4x4xf32>, %b: tensor<?x3x4x4xf32>,
    %wa: tensor<2xf32>, %ba: tensor<2xf32>, %ma: tensor<2xf32>, %va: tensor<2xf32>, %na: tensor<i64>) -> (tensor<?x5x4x4xf32>, tensor<?x2x4x4xf32>) {
  %na_ = rtml.batch_norm %a, %wa, %ba, %ma, %va, %na {eps = 1.0e-03 : f64, momentum = 1.0e-01 : f64} : (tensor<?x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<i64>) -> tensor<?x2x4x4xf32>
  %ra = rtml.relu %na_ : tensor<?x2x4x4xf32>
  %rb = rtml.relu %b : tensor<?x3x4x4xf32>
  %cat = rtml.concat %ra, %rb : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>) -> tensor<?x5x4x4xf32>
  return %cat, %ra : tensor<?x5x4x4xf32>, tensor<?x2x4x4xf32>
}

// -----

// A batch norm without a ReLU after it is no epilogue: nothing to fuse.
// CHECK-LABEL: func.func @bn_without_relu
// CHECK: rtml.batch_norm
// CHECK: rtml.concat %
// CHECK-NOT: rtml.concat_relu
func.func @bn_without_relu(%a: tensor<?x2x4x4xf32>, %b: tensor<?x3x4x4xf32>,
    %wa: tensor<2xf32>, %ba: tensor<2xf32>, %ma: tensor<2xf32>, %va: tensor<2xf32>, %na: tensor<i64>) -> tensor<?x5x4x4xf32> {
  %na_ = rtml.batch_norm %a, %wa, %ba, %ma, %va, %na {eps = 1.0e-03 : f64, momentum = 1.0e-01 : f64} : (tensor<?x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<i64>) -> tensor<?x2x4x4xf32>
  %rb = rtml.relu %b : tensor<?x3x4x4xf32>
  %cat = rtml.concat %na_, %rb : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>) -> tensor<?x5x4x4xf32>
  return %cat : tensor<?x5x4x4xf32>
}

// -----

// A batch norm on another device than its ReLU and the concat stays there
// (the ReLU fuses alone); a batch norm + ReLU on another device than the
// concat: nothing to fuse.
// CHECK-LABEL: func.func @bn_devices
// CHECK: %[[N:.*]] = rtml.batch_norm %arg0{{.*}}rtml.device = "gpu0"
// CHECK: rtml.concat_relu %[[N]], %arg1 {rtml.device = "gpu1"}
// CHECK: rtml.batch_norm %arg0{{.*}}rtml.device = "gpu0"
// CHECK: rtml.relu {{.*}}rtml.device = "gpu0"
// CHECK: rtml.concat {{.*}}rtml.device = "gpu1"
// CHECK-NOT: rtml.concat_relu
module attributes {rtml.devices = ["gpu0", "gpu1"]} {
  func.func @bn_devices(%a: tensor<?x2x4x4xf32>, %b: tensor<?x3x4x4xf32>,
      %wa: tensor<2xf32>, %ba: tensor<2xf32>, %ma: tensor<2xf32>, %va: tensor<2xf32>, %na: tensor<i64>) -> (tensor<?x5x4x4xf32>, tensor<?x5x4x4xf32>) {
    %n1 = rtml.batch_norm %a, %wa, %ba, %ma, %va, %na {eps = 1.0e-03 : f64, momentum = 1.0e-01 : f64, rtml.device = "gpu0"} : (tensor<?x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<i64>) -> tensor<?x2x4x4xf32>
    %r1 = rtml.relu %n1 {rtml.device = "gpu1"} : tensor<?x2x4x4xf32>
    %rb1 = rtml.relu %b {rtml.device = "gpu1"} : tensor<?x3x4x4xf32>
    %cat1 = rtml.concat %r1, %rb1 {rtml.device = "gpu1"} : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>) -> tensor<?x5x4x4xf32>
    %n2 = rtml.batch_norm %a, %wa, %ba, %ma, %va, %na {eps = 1.0e-03 : f64, momentum = 1.0e-01 : f64, rtml.device = "gpu0"} : (tensor<?x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<i64>) -> tensor<?x2x4x4xf32>
    %r2 = rtml.relu %n2 {rtml.device = "gpu0"} : tensor<?x2x4x4xf32>
    %rb2 = rtml.relu %b {rtml.device = "gpu1"} : tensor<?x3x4x4xf32>
    %cat2 = rtml.concat %r2, %rb2 {rtml.device = "gpu1"} : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>) -> tensor<?x5x4x4xf32>
    return %cat1, %cat2 : tensor<?x5x4x4xf32>, tensor<?x5x4x4xf32>
  }
}
