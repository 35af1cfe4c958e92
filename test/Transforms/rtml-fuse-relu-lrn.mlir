// RUN: rtml-opt %s -split-input-file --rtml-fuse-relu-lrn | FileCheck %s

// A ReLU whose only user is an LRN: one relu_lrn with the LRN's constants.
// CHECK-LABEL: func.func @fuses
// CHECK-SAME: (%[[X:.*]]: tensor<?x8x5x5xf32>)
// CHECK-NOT: rtml.relu %
// CHECK-NOT: rtml.lrn
// CHECK: %[[F:.*]] = rtml.relu_lrn %[[X]] {alpha = 1.000000e-04 : f64, beta = 7.500000e-01 : f64, k = 2.000000e+00 : f64, size = 5 : i64} : tensor<?x8x5x5xf32>
// CHECK-NEXT: return %[[F]]
func.func @fuses(%x: tensor<?x8x5x5xf32>) -> tensor<?x8x5x5xf32> {
  %r = rtml.relu %x : tensor<?x8x5x5xf32>
  %l = rtml.lrn %r {size = 5 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 2.0 : f64} : tensor<?x8x5x5xf32>
  return %l : tensor<?x8x5x5xf32>
}

// -----

// The ReLU's result is also returned: fusing would compute it twice.
// CHECK-LABEL: func.func @relu_has_other_user
// CHECK: %[[R:.*]] = rtml.relu
// CHECK-NEXT: %[[L:.*]] = rtml.lrn %[[R]]
// CHECK-NOT: rtml.relu_lrn
// CHECK: return %[[R]], %[[L]]
func.func @relu_has_other_user(%x: tensor<?x8x5x5xf32>) -> (tensor<?x8x5x5xf32>, tensor<?x8x5x5xf32>) {
  %r = rtml.relu %x : tensor<?x8x5x5xf32>
  %l = rtml.lrn %r {size = 5 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 2.0 : f64} : tensor<?x8x5x5xf32>
  return %r, %l : tensor<?x8x5x5xf32>, tensor<?x8x5x5xf32>
}

// -----

// One ReLU feeding two LRNs: neither is fused.
// CHECK-LABEL: func.func @relu_feeds_two_lrns
// CHECK: rtml.relu %
// CHECK-COUNT-2: rtml.lrn
// CHECK-NOT: rtml.relu_lrn
func.func @relu_feeds_two_lrns(%x: tensor<?x8x5x5xf32>) -> (tensor<?x8x5x5xf32>, tensor<?x8x5x5xf32>) {
  %r = rtml.relu %x : tensor<?x8x5x5xf32>
  %a = rtml.lrn %r {size = 5 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 2.0 : f64} : tensor<?x8x5x5xf32>
  %b = rtml.lrn %r {size = 3 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 1.0 : f64} : tensor<?x8x5x5xf32>
  return %a, %b : tensor<?x8x5x5xf32>, tensor<?x8x5x5xf32>
}

// -----

// An LRN after a pool (GoogLeNet's first LRN) stays a plain LRN.
// CHECK-LABEL: func.func @lrn_after_pool
// CHECK: %[[R:.*]] = rtml.relu
// CHECK-NEXT: %[[P:.*]] = rtml.max_pool2d %[[R]]
// CHECK-NEXT: rtml.lrn %[[P]]
// CHECK-NOT: rtml.relu_lrn
func.func @lrn_after_pool(%x: tensor<?x8x6x6xf32>) -> tensor<?x8x3x3xf32> {
  %r = rtml.relu %x : tensor<?x8x6x6xf32>
  %p = rtml.max_pool2d %r {kernel = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, ceil_mode = false} : tensor<?x8x6x6xf32> -> tensor<?x8x3x3xf32>
  %l = rtml.lrn %p {size = 5 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 2.0 : f64} : tensor<?x8x3x3xf32>
  return %l : tensor<?x8x3x3xf32>
}

// -----

// ReLU and LRN on different devices stay apart; on the same device they fuse
// and the fused op keeps the device.
// CHECK-LABEL: module attributes {rtml.devices = ["gpu0", "gpu1"]}
// CHECK-LABEL: func.func @devices
// CHECK: %[[R:.*]] = rtml.relu %{{.*}} {rtml.device = "gpu0"}
// CHECK-NEXT: rtml.lrn %[[R]] {{{.*}}rtml.device = "gpu1"{{.*}}}
// CHECK-NEXT: rtml.relu_lrn %{{.*}} {{{.*}}rtml.device = "gpu1"{{.*}}}
// CHECK-NOT: rtml.relu %
module attributes {rtml.devices = ["gpu0", "gpu1"]} {
  func.func @devices(%x: tensor<?x8x5x5xf32>) -> (tensor<?x8x5x5xf32>, tensor<?x8x5x5xf32>) {
    %r = rtml.relu %x {rtml.device = "gpu0"} : tensor<?x8x5x5xf32>
    %l = rtml.lrn %r {size = 5 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 2.0 : f64, rtml.device = "gpu1"} : tensor<?x8x5x5xf32>
    %r2 = rtml.relu %x {rtml.device = "gpu1"} : tensor<?x8x5x5xf32>
    %l2 = rtml.lrn %r2 {size = 5 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 2.0 : f64, rtml.device = "gpu1"} : tensor<?x8x5x5xf32>
    return %l, %l2 : tensor<?x8x5x5xf32>, tensor<?x8x5x5xf32>
  }
}

// -----

// A placed ReLU and an unplaced LRN are on different devices as far as the
// IR says: not fused.
// CHECK-LABEL: func.func @one_side_placed
// CHECK: rtml.relu %
// CHECK-NEXT: rtml.lrn
module attributes {rtml.devices = ["gpu0"]} {
  func.func @one_side_placed(%x: tensor<?x8x5x5xf32>) -> tensor<?x8x5x5xf32> {
    %r = rtml.relu %x {rtml.device = "gpu0"} : tensor<?x8x5x5xf32>
    %l = rtml.lrn %r {size = 5 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 2.0 : f64} : tensor<?x8x5x5xf32>
    return %l : tensor<?x8x5x5xf32>
  }
}

// -----

// Several chains, interleaved with other ops; LRN of an LRN: only the LRN fed
// directly by a single-use ReLU fuses.
// CHECK-LABEL: func.func @chains
// CHECK: %[[A:.*]] = rtml.relu_lrn %arg0 {{.*}}size = 5
// CHECK: %[[P:.*]] = rtml.max_pool2d %[[A]]
// CHECK: %[[B:.*]] = rtml.relu_lrn %[[P]] {{.*}}size = 3
// CHECK-NEXT: %[[C:.*]] = rtml.lrn %[[B]]
// CHECK-NEXT: return %[[C]]
func.func @chains(%x: tensor<?x8x6x6xf32>) -> tensor<?x8x3x3xf32> {
  %r = rtml.relu %x : tensor<?x8x6x6xf32>
  %l = rtml.lrn %r {size = 5 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 2.0 : f64} : tensor<?x8x6x6xf32>
  %p = rtml.max_pool2d %l {kernel = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, ceil_mode = false} : tensor<?x8x6x6xf32> -> tensor<?x8x3x3xf32>
  %r2 = rtml.relu %p : tensor<?x8x3x3xf32>
  %l2 = rtml.lrn %r2 {size = 3 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 2.0 : f64} : tensor<?x8x3x3xf32>
  %l3 = rtml.lrn %l2 {size = 5 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 2.0 : f64} : tensor<?x8x3x3xf32>
  return %l3 : tensor<?x8x3x3xf32>
}

// -----

// The ReLU is defined far from its LRN, with other work in between.
// CHECK-LABEL: func.func @far_apart
// CHECK-NOT: rtml.relu %
// CHECK: rtml.max_pool2d %arg1
// CHECK: rtml.relu_lrn %arg0
func.func @far_apart(%x: tensor<?x8x4x4xf32>, %y: tensor<?x8x4x4xf32>) -> (tensor<?x8x4x4xf32>, tensor<?x8x2x2xf32>) {
  %r = rtml.relu %x : tensor<?x8x4x4xf32>
  %p = rtml.max_pool2d %y {kernel = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, ceil_mode = false} : tensor<?x8x4x4xf32> -> tensor<?x8x2x2xf32>
  %l = rtml.lrn %r {size = 5 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 2.0 : f64} : tensor<?x8x4x4xf32>
  return %l, %p : tensor<?x8x4x4xf32>, tensor<?x8x2x2xf32>
}
