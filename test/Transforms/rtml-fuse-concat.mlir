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
