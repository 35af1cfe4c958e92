// RUN: rtml-opt %s -split-input-file --rtml-partition-devices | FileCheck %s
// Partitioning partitioned IR changes nothing: the same checks hold.
// RUN: rtml-opt %s -split-input-file --rtml-partition-devices | rtml-opt -split-input-file --rtml-partition-devices | FileCheck %s

// A module without devices is left alone.
// CHECK-LABEL: func.func @no_devices
// CHECK-NOT: rtml.device =
// CHECK-NOT: rtml.transfer
func.func @no_devices(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  %r = rtml.relu %x : tensor<?x3xf32>
  return %r : tensor<?x3xf32>
}

// -----

// Two towers: the input goes to gpu1 once; the concat, which nothing
// places, runs on the first device (FORMAT.md: "a layer nothing places runs
// on the first device") and gets gpu1's tower by one transfer. Parameters
// live on their op's device.
// CHECK-LABEL: func.func @towers
// CHECK-SAME: (%[[X:.*]]: tensor<?x3x8x8xf32>)
// CHECK: %[[XT:.*]] = rtml.transfer %[[X]] {rtml.device = "gpu1"}
// CHECK: %[[WA:.*]] = rtml.param "a.weight" {{.*}}rtml.device = "gpu0"
// CHECK: %[[A:.*]] = rtml.conv2d %[[X]], %[[WA]] {{.*}}rtml.device = "gpu0"
// CHECK: %[[RA:.*]] = rtml.relu %[[A]] {rtml.device = "gpu0"}
// CHECK: %[[WB:.*]] = rtml.param "b.weight" {{.*}}rtml.device = "gpu1"
// CHECK: %[[B:.*]] = rtml.conv2d %[[XT]], %[[WB]] {{.*}}rtml.device = "gpu1"
// CHECK: %[[RB:.*]] = rtml.relu %[[B]] {rtml.device = "gpu1"}
// CHECK-NEXT: %[[RBT:.*]] = rtml.transfer %[[RB]] {rtml.device = "gpu0"}
// CHECK-NEXT: rtml.concat %[[RA]], %[[RBT]] {rtml.device = "gpu0"}
// CHECK-NOT: rtml.transfer
module attributes {rtml.devices = ["gpu0", "gpu1"]} {
  func.func @towers(%x: tensor<?x3x8x8xf32>) -> tensor<?x8x8x8xf32> {
    %wa = rtml.param "a.weight" fan_in_uniform {fan_in = 27 : i64} : tensor<4x3x3x3xf32>
    %a = rtml.conv2d %x, %wa {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, rtml.device = "gpu0"} : tensor<?x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<?x4x8x8xf32>
    %ra = rtml.relu %a {rtml.device = "gpu0"} : tensor<?x4x8x8xf32>
    %wb = rtml.param "b.weight" fan_in_uniform {fan_in = 27 : i64} : tensor<4x3x3x3xf32>
    %b = rtml.conv2d %x, %wb {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, rtml.device = "gpu1"} : tensor<?x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<?x4x8x8xf32>
    %rb = rtml.relu %b {rtml.device = "gpu1"} : tensor<?x4x8x8xf32>
    %c = rtml.concat %ra, %rb : (tensor<?x4x8x8xf32>, tensor<?x4x8x8xf32>) -> tensor<?x8x8x8xf32>
    return %c : tensor<?x8x8x8xf32>
  }
}

// -----

// The second device's tower read first: an unplaced op does not follow its
// first operand. The concat and the classifier after it stay on the first
// device, so only gpu1's tower output crosses.
// CHECK-LABEL: func.func @second_tower_first
// CHECK: %[[B:.*]] = rtml.relu %{{.*}} {rtml.device = "gpu1"}
// CHECK-NEXT: %[[BT:.*]] = rtml.transfer %[[B]] {rtml.device = "gpu0"}
// CHECK: %[[C:.*]] = rtml.concat %[[BT]], %{{.*}} {rtml.device = "gpu0"}
// CHECK: rtml.flatten %[[C]] {{.*}}rtml.device = "gpu0"
// CHECK: rtml.param "fc.weight" {{.*}}rtml.device = "gpu0"
// CHECK: rtml.linear {{.*}}rtml.device = "gpu0"
// CHECK-NOT: rtml.transfer
module attributes {rtml.devices = ["gpu0", "gpu1"]} {
  func.func @second_tower_first(%x: tensor<?x4x2x2xf32>) -> tensor<?x3xf32> {
    %a = rtml.relu %x {rtml.device = "gpu0"} : tensor<?x4x2x2xf32>
    %b = rtml.relu %x {rtml.device = "gpu1"} : tensor<?x4x2x2xf32>
    %c = rtml.concat %b, %a : (tensor<?x4x2x2xf32>, tensor<?x4x2x2xf32>) -> tensor<?x8x2x2xf32>
    %f = rtml.flatten %c : tensor<?x8x2x2xf32> -> tensor<?x32xf32>
    %w = rtml.param "fc.weight" fan_in_uniform {fan_in = 32 : i64} : tensor<3x32xf32>
    %y = rtml.linear %f, %w : tensor<?x32xf32>, tensor<3x32xf32> -> tensor<?x3xf32>
    return %y : tensor<?x3xf32>
  }
}

// -----

// The paper's split: a value of gpu0 read by three ops on gpu1 crosses once.
// CHECK-LABEL: func.func @shared_value
// CHECK: %[[R:.*]] = rtml.relu %arg0 {rtml.device = "gpu0"}
// CHECK-NEXT: %[[T:.*]] = rtml.transfer %[[R]] {rtml.device = "gpu1"}
// CHECK-NOT: rtml.transfer %[[R]]
// CHECK: rtml.add %[[R]], %[[R]] {rtml.device = "gpu0"}
// CHECK: rtml.add %[[T]], %[[T]], %[[T]] {rtml.device = "gpu1"}
// CHECK: rtml.relu %[[T]] {rtml.device = "gpu1"}
module attributes {rtml.devices = ["gpu0", "gpu1"]} {
  func.func @shared_value(%x: tensor<?x4xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>) {
    %r = rtml.relu %x {rtml.device = "gpu0"} : tensor<?x4xf32>
    %s0 = rtml.add %r, %r {rtml.device = "gpu0"} : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
    %s1 = rtml.add %r, %r, %r {rtml.device = "gpu1"} : (tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
    %u = rtml.relu %r {rtml.device = "gpu1"} : tensor<?x4xf32>
    return %s0, %s1, %u : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>
  }
}

// -----

// A head on another device: its logits come back to the default device for
// the loss, once even if returned twice.
// CHECK-LABEL: func.func @head_elsewhere
// CHECK: %[[XT:.*]] = rtml.transfer %arg0 {rtml.device = "gpu1"}
// CHECK-NEXT: %[[W:.*]] = rtml.param "aux.weight" {{.*}}rtml.device = "gpu1"
// CHECK: %[[AUX:.*]] = rtml.linear %[[XT]], %[[W]] {rtml.device = "gpu1"}
// CHECK-NEXT: %[[BACK:.*]] = rtml.transfer %[[AUX]] {rtml.device = "gpu0"}
// CHECK: %[[MAIN:.*]] = rtml.relu %arg0 {rtml.device = "gpu0"}
// CHECK: return %[[MAIN]], %[[BACK]], %[[BACK]]
module attributes {rtml.devices = ["gpu0", "gpu1"]} {
  func.func @head_elsewhere(%x: tensor<?x4xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>) {
    %w = rtml.param "aux.weight" fan_in_uniform {fan_in = 4 : i64} : tensor<4x4xf32>
    %aux = rtml.linear %x, %w {rtml.device = "gpu1"} : tensor<?x4xf32>, tensor<4x4xf32> -> tensor<?x4xf32>
    %main = rtml.relu %x : tensor<?x4xf32>
    return %main, %aux, %aux : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>
  }
}

// -----

// A parameter shared by ops on two devices lives with its first user and
// crosses once to the other.
// CHECK-LABEL: func.func @shared_param
// CHECK: %[[W:.*]] = rtml.param "w" {{.*}}rtml.device = "gpu1"
// CHECK-NEXT: %[[WT:.*]] = rtml.transfer %[[W]] {rtml.device = "gpu0"}
// CHECK: rtml.linear %{{.*}}, %[[W]] {rtml.device = "gpu1"}
// CHECK: rtml.linear %arg0, %[[WT]] {rtml.device = "gpu0"}
module attributes {rtml.devices = ["gpu0", "gpu1"]} {
  func.func @shared_param(%x: tensor<?x4xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>) {
    %w = rtml.param "w" fan_in_uniform {fan_in = 4 : i64} : tensor<4x4xf32>
    %a = rtml.linear %x, %w {rtml.device = "gpu1"} : tensor<?x4xf32>, tensor<4x4xf32> -> tensor<?x4xf32>
    %b = rtml.linear %x, %w {rtml.device = "gpu0"} : tensor<?x4xf32>, tensor<4x4xf32> -> tensor<?x4xf32>
    return %b, %a : tensor<?x4xf32>, tensor<?x4xf32>
  }
}
