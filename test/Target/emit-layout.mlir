// RUN: rtml-translate %s --rtml-to-cpp | FileCheck %s
// Each rtml.to_layout becomes one runtime call that names the layout for a
// CPU and for a CUDA tensor; the runtime picks by the tensor's device. The
// ops between conversions are emitted as without them.

// CHECK: at::Tensor x_layout = rtml::ops::toLayout(x, rtml::ops::Layout::Nchw, rtml::ops::Layout::Nhwc);
// CHECK: at::Tensor p_0_layout = rtml::ops::toLayout(p_0, rtml::ops::Layout::Nchw, rtml::ops::Layout::Nhwc);
// CHECK: at::Tensor conv = rtml::ops::conv2d(x_layout, p_0_layout, p_1, {1, 1}, {1, 1}, {1, 1}, 1);
// CHECK-NEXT: // rtml.relu 'relu'
// CHECK-NEXT: at::Tensor relu = rtml::ops::relu(conv);
// CHECK-NEXT: // rtml.to_layout 'relu'
// CHECK-NEXT: at::Tensor relu_layout = rtml::ops::toLayout(relu, rtml::ops::Layout::Nchw, rtml::ops::Layout::Nchw);
// CHECK-NEXT: // rtml.flatten 'flat'
// CHECK-NEXT: at::Tensor flat = rtml::ops::flatten(relu_layout);
// CHECK: at::Tensor fc = rtml::ops::linear(flat, p_2, at::Tensor());
// CHECK-NOT: toLayout

module attributes {rtml.name = "layout", rtml.classes = 2 : i64,
    rtml.layout = {cpu = "nchw", cuda = "nhwc"},
    rtml.train = {epochs = 1 : i64, batch_size = 32 : i64, optimizer = "sgd", lr = 0.01 : f64,
                  momentum = 0.0 : f64, nesterov = false, weight_decay = 0.0 : f64, seed = 0 : i64,
                  lr_schedule = "constant", step_size = 0 : i64, gamma = 0.1 : f64,
                  eta_min = 0.0 : f64, t_max = 1 : i64, precision = "auto"},
    rtml.data = {split_train = 0 : i64, split_val = 0 : i64, split_seed = 0 : i64,
                 train_transforms = [], eval_transforms = []}} {
  func.func @forward(%x: tensor<?x2x4x4xf32>) -> tensor<?x2xf32> {
    %xl = rtml.to_layout %x cpu nchw cuda nhwc : tensor<?x2x4x4xf32> loc("conv")
    %w = rtml.param "conv.weight" fan_in_uniform {fan_in = 18 : i64} : tensor<2x2x3x3xf32>
    %wl = rtml.to_layout %w cpu nchw cuda nhwc : tensor<2x2x3x3xf32> loc("conv")
    %b = rtml.param "conv.bias" fan_in_uniform {fan_in = 18 : i64} : tensor<2xf32>
    %c = rtml.conv2d %xl, %wl, %b {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64}
        : tensor<?x2x4x4xf32>, tensor<2x2x3x3xf32>, tensor<2xf32> -> tensor<?x2x4x4xf32> loc("conv")
    %r = rtml.relu %c : tensor<?x2x4x4xf32> loc("relu")
    %rl = rtml.to_layout %r cpu nchw cuda nchw : tensor<?x2x4x4xf32> loc("relu")
    %f = rtml.flatten %rl : tensor<?x2x4x4xf32> -> tensor<?x32xf32> loc("flat")
    %fw = rtml.param "fc.weight" fan_in_uniform {fan_in = 32 : i64} : tensor<2x32xf32>
    %y = rtml.linear %f, %fw : tensor<?x32xf32>, tensor<2x32xf32> -> tensor<?x2xf32> loc("fc")
    return %y : tensor<?x2xf32>
  }
}
