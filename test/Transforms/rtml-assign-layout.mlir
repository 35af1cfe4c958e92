// RUN: rtml-opt %s -split-input-file --rtml-assign-layout | FileCheck %s
// RUN: rtml-opt %s -split-input-file --rtml-assign-layout='layout=nhwc' | FileCheck %s --check-prefix=NHWC
// RUN: rtml-opt %s -split-input-file --rtml-assign-layout='layout=nchw' | FileCheck %s --check-prefix=NCHW
// The default pipeline passes its layout option on to this pass.
// RUN: rtml-opt %s -split-input-file --rtml-default-pipeline='layout=nhwc' | FileCheck %s --check-prefix=NHWC
// Assigning twice changes nothing: the module records its layout.
// RUN: rtml-opt %s -split-input-file --rtml-assign-layout | rtml-opt -split-input-file --rtml-assign-layout | FileCheck %s
// RUN: not rtml-opt %s --rtml-assign-layout='layout=nhcw' 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: Cannot find option named 'nhcw'

// A convolution stack ends at the flatten: the input enters in the device
// kind's layout (NHWC on CUDA, NCHW on the CPU), the weight is stored in it,
// the stack's output goes back to NCHW for the flatten; the linear and the
// bias (1-D) are left alone.
// CHECK-LABEL: module attributes {rtml.layout = {cpu = "nchw", cuda = "nhwc"}}
// CHECK-LABEL: func.func @conv_then_linear
// CHECK-SAME: (%[[X:.*]]: tensor<?x3x8x8xf32>)
// CHECK-NEXT: %[[XL:.*]] = rtml.to_layout %[[X]] cpu nchw cuda nhwc : tensor<?x3x8x8xf32>
// CHECK-NEXT: %[[W:.*]] = rtml.param "conv.weight" fan_in_uniform stored cpu nchw cuda nhwc {fan_in = 27 : i64} : tensor<4x3x3x3xf32>
// CHECK-NEXT: %[[B:.*]] = rtml.param "conv.bias" fan_in_uniform {fan_in = 27 : i64} : tensor<4xf32>
// CHECK-NEXT: %[[C:.*]] = rtml.conv2d %[[XL]], %[[W]], %[[B]]
// CHECK-NEXT: %[[R:.*]] = rtml.relu %[[C]]
// CHECK-NEXT: %[[P:.*]] = rtml.max_pool2d %[[R]]
// CHECK-NEXT: %[[PL:.*]] = rtml.to_layout %[[P]] cpu nchw cuda nchw : tensor<?x4x4x4xf32>
// CHECK-NEXT: %[[F:.*]] = rtml.flatten %[[PL]]
// CHECK-NOT: rtml.to_layout
// CHECK: rtml.linear %[[F]]
// CHECK-NOT: stored
// NHWC-LABEL: module attributes {rtml.layout = {cpu = "nhwc", cuda = "nhwc"}
// NHWC: rtml.to_layout %{{.*}} cpu nhwc cuda nhwc : tensor<?x3x8x8xf32>
// NHWC-NEXT: rtml.param "conv.weight" fan_in_uniform stored cpu nhwc cuda nhwc
// NHWC-NOT: rtml.to_layout %{{.*}} : tensor<4x3x3x3xf32>
// NHWC: rtml.to_layout %{{.*}} cpu nchw cuda nchw : tensor<?x4x4x4xf32>
// NHWC-NEXT: rtml.flatten
// NCHW-LABEL: module attributes {rtml.layout = {cpu = "nchw", cuda = "nchw"}}
// NCHW-NOT: rtml.to_layout
// NCHW-NOT: stored
func.func @conv_then_linear(%x: tensor<?x3x8x8xf32>) -> tensor<?x10xf32> {
  %w = rtml.param "conv.weight" fan_in_uniform {fan_in = 27 : i64} : tensor<4x3x3x3xf32>
  %b = rtml.param "conv.bias" fan_in_uniform {fan_in = 27 : i64} : tensor<4xf32>
  %c = rtml.conv2d %x, %w, %b {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32> -> tensor<?x4x8x8xf32>
  %r = rtml.relu %c : tensor<?x4x8x8xf32>
  %p = rtml.max_pool2d %r {kernel = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, ceil_mode = false} : tensor<?x4x8x8xf32> -> tensor<?x4x4x4xf32>
  %f = rtml.flatten %p : tensor<?x4x4x4xf32> -> tensor<?x64xf32>
  %fw = rtml.param "fc.weight" fan_in_uniform {fan_in = 64 : i64} : tensor<10x64xf32>
  %y = rtml.linear %f, %fw : tensor<?x64xf32>, tensor<10x64xf32> -> tensor<?x10xf32>
  return %y : tensor<?x10xf32>
}

// -----

// No convolution: 4-D ops alone are no stack, and the module is unchanged
// whatever the layout asked for.
// CHECK: {{^}}// -{{-+$}}
// CHECK-NEXT: module {
// CHECK-NEXT: func.func @no_conv
// CHECK-NOT: rtml.to_layout
// CHECK: {{^}}// -{{-+$}}
// NHWC: {{^}}// -{{-+$}}
// NHWC-NEXT: module{{( attributes {.*})?}} {
// NHWC-NEXT: func.func @no_conv
// NHWC-NOT: rtml.to_layout
// NHWC: {{^}}// -{{-+$}}
func.func @no_conv(%x: tensor<?x3x4x4xf32>) -> tensor<?x48xf32> {
  %r = rtml.relu %x : tensor<?x3x4x4xf32>
  %p = rtml.max_pool2d %r {kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, ceil_mode = false} : tensor<?x3x4x4xf32> -> tensor<?x3x4x4xf32>
  %f = rtml.flatten %p : tensor<?x3x4x4xf32> -> tensor<?x48xf32>
  return %f : tensor<?x48xf32>
}

// -----

// An inception-like block: branches, a fused concat and an LRN stay inside
// one stack; a 4-D result read by the return and by the flatten leaves once.
// A 4-D relu outside the stack (fed by another input, no convolution) is no
// stack.
// CHECK-LABEL: func.func @branches
// CHECK-SAME: (%[[X:.*]]: tensor<?x4x4x4xf32>, %[[Z:.*]]: tensor<?x2x2x2xf32>)
// CHECK-NEXT: %[[XL:.*]] = rtml.to_layout %[[X]] cpu nchw cuda nhwc
// CHECK-NEXT: %[[WA:.*]] = rtml.param "a.weight" fan_in_uniform stored cpu nchw cuda nhwc
// CHECK-NEXT: %[[A:.*]] = rtml.conv2d %[[XL]], %[[WA]]
// CHECK-NEXT: %[[WB:.*]] = rtml.param "b.weight" fan_in_uniform stored cpu nchw cuda nhwc
// CHECK-NEXT: %[[B:.*]] = rtml.conv2d %[[XL]], %[[WB]]
// CHECK-NEXT: %[[CAT:.*]] = rtml.concat_relu %[[A]], %[[B]]
// CHECK-NEXT: %[[L:.*]] = rtml.relu_lrn %[[CAT]]
// CHECK-NEXT: %[[LL:.*]] = rtml.to_layout %[[L]] cpu nchw cuda nchw
// CHECK-NEXT: rtml.flatten %[[LL]]
// CHECK-NEXT: %[[ZR:.*]] = rtml.relu %[[Z]]
// CHECK-NEXT: return %[[LL]], %{{.*}}, %[[ZR]]
func.func @branches(%x: tensor<?x4x4x4xf32>, %z: tensor<?x2x2x2xf32>) -> (tensor<?x6x4x4xf32>, tensor<?x96xf32>, tensor<?x2x2x2xf32>) {
  %wa = rtml.param "a.weight" fan_in_uniform {fan_in = 4 : i64} : tensor<2x4x1x1xf32>
  %a = rtml.conv2d %x, %wa {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x4x4x4xf32>, tensor<2x4x1x1xf32> -> tensor<?x2x4x4xf32>
  %wb = rtml.param "b.weight" fan_in_uniform {fan_in = 36 : i64} : tensor<4x4x3x3xf32>
  %b = rtml.conv2d %x, %wb {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x4x4x4xf32>, tensor<4x4x3x3xf32> -> tensor<?x4x4x4xf32>
  %cat = rtml.concat_relu %a, %b : (tensor<?x2x4x4xf32>, tensor<?x4x4x4xf32>) -> tensor<?x6x4x4xf32>
  %l = rtml.relu_lrn %cat {size = 5 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 2.0 : f64} : tensor<?x6x4x4xf32>
  %f = rtml.flatten %l : tensor<?x6x4x4xf32> -> tensor<?x96xf32>
  %zr = rtml.relu %z : tensor<?x2x2x2xf32>
  return %l, %f, %zr : tensor<?x6x4x4xf32>, tensor<?x96xf32>, tensor<?x2x2x2xf32>
}

// -----

// A weight that something outside the stack reads as well (here the return)
// stays NCHW and is converted where it enters the stack, once; so is one
// that reaches its convolution through a transfer (converted after it). The
// one read by its convolutions alone is stored in their layout, even when
// two of them share it.
// CHECK-LABEL: func.func @weights_read_elsewhere
// CHECK-SAME: (%[[X:.*]]: tensor<?x3x4x4xf32>)
// CHECK-NEXT: %[[XL:.*]] = rtml.to_layout %[[X]] cpu nchw cuda nhwc
// CHECK-NEXT: %[[W:.*]] = rtml.param "returned.weight" fan_in_uniform {fan_in = 3 : i64,
// CHECK-NEXT: %[[WL:.*]] = rtml.to_layout %[[W]] cpu nchw cuda nhwc {{.*}}: tensor<3x3x1x1xf32>
// CHECK-NEXT: %[[A:.*]] = rtml.conv2d %[[XL]], %[[WL]]
// CHECK-NEXT: %[[V:.*]] = rtml.param "moved.weight" fan_in_uniform {fan_in = 3 : i64,
// CHECK-NEXT: %[[VT:.*]] = rtml.transfer %[[V]] {rtml.device = "gpu0"}
// CHECK-NEXT: %[[VTL:.*]] = rtml.to_layout %[[VT]] cpu nchw cuda nhwc
// CHECK-NEXT: %[[B:.*]] = rtml.conv2d %[[A]], %[[VTL]]
// CHECK-NEXT: %[[S:.*]] = rtml.param "shared.weight" fan_in_uniform stored cpu nchw cuda nhwc
// CHECK-NEXT: %[[C:.*]] = rtml.conv2d %[[B]], %[[S]]
// CHECK-NEXT: %[[D:.*]] = rtml.conv2d %[[C]], %[[S]]
// CHECK-NEXT: %[[DL:.*]] = rtml.to_layout %[[D]] cpu nchw cuda nchw
// CHECK-NEXT: return %[[DL]], %[[W]]
// NHWC-LABEL: func.func @weights_read_elsewhere
// NHWC: rtml.param "returned.weight" fan_in_uniform {fan_in = 3 : i64,
// NHWC-NEXT: rtml.to_layout %{{.*}} cpu nhwc cuda nhwc {{.*}}: tensor<3x3x1x1xf32>
// NHWC: rtml.param "shared.weight" fan_in_uniform stored cpu nhwc cuda nhwc
module attributes {rtml.devices = ["gpu0", "gpu1"]} {
  func.func @weights_read_elsewhere(%x: tensor<?x3x4x4xf32>) -> (tensor<?x3x4x4xf32>, tensor<3x3x1x1xf32>) {
    %w = rtml.param "returned.weight" fan_in_uniform {fan_in = 3 : i64, rtml.device = "gpu0"} : tensor<3x3x1x1xf32>
    %a = rtml.conv2d %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64, rtml.device = "gpu0"} : tensor<?x3x4x4xf32>, tensor<3x3x1x1xf32> -> tensor<?x3x4x4xf32>
    %v = rtml.param "moved.weight" fan_in_uniform {fan_in = 3 : i64, rtml.device = "gpu1"} : tensor<3x3x1x1xf32>
    %vt = rtml.transfer %v {rtml.device = "gpu0"} : tensor<3x3x1x1xf32>
    %b = rtml.conv2d %a, %vt {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64, rtml.device = "gpu0"} : tensor<?x3x4x4xf32>, tensor<3x3x1x1xf32> -> tensor<?x3x4x4xf32>
    %s = rtml.param "shared.weight" fan_in_uniform {fan_in = 3 : i64, rtml.device = "gpu0"} : tensor<3x3x1x1xf32>
    %c = rtml.conv2d %b, %s {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64, rtml.device = "gpu0"} : tensor<?x3x4x4xf32>, tensor<3x3x1x1xf32> -> tensor<?x3x4x4xf32>
    %d = rtml.conv2d %c, %s {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64, rtml.device = "gpu0"} : tensor<?x3x4x4xf32>, tensor<3x3x1x1xf32> -> tensor<?x3x4x4xf32>
    return %d, %w : tensor<?x3x4x4xf32>, tensor<3x3x1x1xf32>
  }
}

// -----

// Two towers on two devices: each conversion runs on the device of the op
// it serves; a transfer inside the stack is followed by a conversion into
// the layout of its target's kind (the physical devices may differ).
// CHECK-LABEL: func.func @towers
// CHECK-SAME: (%[[X:.*]]: tensor<?x3x8x8xf32>)
// CHECK-NEXT: %[[XL:.*]] = rtml.to_layout %[[X]] cpu nchw cuda nhwc {rtml.device = "gpu0"}
// CHECK-NEXT: %[[XT:.*]] = rtml.transfer %[[X]] {rtml.device = "gpu1"}
// CHECK-NEXT: %[[XTL:.*]] = rtml.to_layout %[[XT]] cpu nchw cuda nhwc {rtml.device = "gpu1"}
// CHECK: rtml.conv2d %[[XL]], %{{.*}} {{.*}}rtml.device = "gpu0"
// CHECK: rtml.conv2d %[[XTL]], %{{.*}} {{.*}}rtml.device = "gpu1"
// CHECK: %[[RB:.*]] = rtml.relu %{{.*}} {rtml.device = "gpu1"}
// CHECK-NEXT: %[[RBT:.*]] = rtml.transfer %[[RB]] {rtml.device = "gpu0"}
// CHECK-NEXT: %[[RBTL:.*]] = rtml.to_layout %[[RBT]] cpu nchw cuda nhwc {rtml.device = "gpu0"}
// CHECK-NEXT: %[[CAT:.*]] = rtml.concat %{{.*}}, %[[RBTL]] {rtml.device = "gpu0"}
// CHECK-NEXT: rtml.to_layout %[[CAT]] cpu nchw cuda nchw {rtml.device = "gpu0"}
module attributes {rtml.devices = ["gpu0", "gpu1"]} {
  func.func @towers(%x: tensor<?x3x8x8xf32>) -> tensor<?x8x8x8xf32> {
    %xt = rtml.transfer %x {rtml.device = "gpu1"} : tensor<?x3x8x8xf32>
    %wa = rtml.param "a.weight" fan_in_uniform {fan_in = 27 : i64, rtml.device = "gpu0"} : tensor<4x3x3x3xf32>
    %a = rtml.conv2d %x, %wa {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, rtml.device = "gpu0"} : tensor<?x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<?x4x8x8xf32>
    %ra = rtml.relu %a {rtml.device = "gpu0"} : tensor<?x4x8x8xf32>
    %wb = rtml.param "b.weight" fan_in_uniform {fan_in = 27 : i64, rtml.device = "gpu1"} : tensor<4x3x3x3xf32>
    %b = rtml.conv2d %xt, %wb {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, rtml.device = "gpu1"} : tensor<?x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<?x4x8x8xf32>
    %rb = rtml.relu %b {rtml.device = "gpu1"} : tensor<?x4x8x8xf32>
    %rbt = rtml.transfer %rb {rtml.device = "gpu0"} : tensor<?x4x8x8xf32>
    %c = rtml.concat %ra, %rbt {rtml.device = "gpu0"} : (tensor<?x4x8x8xf32>, tensor<?x4x8x8xf32>) -> tensor<?x8x8x8xf32>
    return %c : tensor<?x8x8x8xf32>
  }
}

// -----

// A module that already records its layout is left alone.
// CHECK-LABEL: module attributes {rtml.layout = {cpu = "nhwc", cuda = "nhwc"}}
// CHECK-NOT: rtml.to_layout
module attributes {rtml.layout = {cpu = "nhwc", cuda = "nhwc"}} {
  func.func @decided(%x: tensor<?x3x4x4xf32>) -> tensor<?x2x4x4xf32> {
    %w = rtml.param "w" fan_in_uniform {fan_in = 3 : i64} : tensor<2x3x1x1xf32>
    %c = rtml.conv2d %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x3x4x4xf32>, tensor<2x3x1x1xf32> -> tensor<?x2x4x4xf32>
    return %c : tensor<?x2x4x4xf32>
  }
}

// -----

// A sibling_conv2d is a convolution of the stack with several results: it
// makes a stack by itself, its weights are stored in the stack's layout,
// and each result read outside the stack (here the second, by a flatten)
// leaves it through its own conversion.
// CHECK-LABEL: func.func @siblings
// CHECK-SAME: (%[[X:.*]]: tensor<?x8x4x4xf32>)
// CHECK-NEXT: %[[XL:.*]] = rtml.to_layout %[[X]] cpu nchw cuda nhwc
// CHECK-NEXT: rtml.param "a.weight" fan_in_uniform stored cpu nchw cuda nhwc
// CHECK-NEXT: rtml.param "b.weight" fan_in_uniform stored cpu nchw cuda nhwc
// CHECK-NEXT: %[[M:.*]]:2 = rtml.sibling_conv2d %[[XL]]
// CHECK-NEXT: %[[ML:.*]] = rtml.to_layout %[[M]]#1 cpu nchw cuda nchw : tensor<?x3x4x4xf32>
// CHECK-NEXT: %[[R:.*]] = rtml.relu %[[M]]#0
// CHECK-NEXT: %[[RL:.*]] = rtml.to_layout %[[R]] cpu nchw cuda nchw : tensor<?x2x4x4xf32>
// CHECK-NEXT: rtml.flatten %[[ML]]
// CHECK: return %[[RL]]
func.func @siblings(%x: tensor<?x8x4x4xf32>) -> (tensor<?x2x4x4xf32>, tensor<?x48xf32>) {
  %w0 = rtml.param "a.weight" fan_in_uniform {fan_in = 8 : i64} : tensor<2x8x1x1xf32>
  %w1 = rtml.param "b.weight" fan_in_uniform {fan_in = 8 : i64} : tensor<3x8x1x1xf32>
  %m:2 = rtml.sibling_conv2d %x weights(%w0, %w1) {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>} : (tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32>, tensor<3x8x1x1xf32>) -> (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>)
  %r = rtml.relu %m#0 : tensor<?x2x4x4xf32>
  %f = rtml.flatten %m#1 : tensor<?x3x4x4xf32> -> tensor<?x48xf32>
  return %r, %f : tensor<?x2x4x4xf32>, tensor<?x48xf32>
}
