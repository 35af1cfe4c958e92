// RUN: rtmlc %s --emit=mlir | FileCheck %s --check-prefix=IR
// RUN: rtmlc %s --emit=kernels | FileCheck %s
// RUN: rtmlc %s --emit=cpp --precision=fp32 | FileCheck %s --check-prefix=MODEL
// RUN: rtmlc %s --emit=cpp --precision=fp32 --disable-pass=rtml-bias-epilogue | FileCheck %s --check-prefix=PLAIN
// An inception-like concat of two biased convolutions' ReLUs (of two
// geometries, so that they are not merged) and a pool's:
// the fused concat takes the two convolutions' biases (rtml-bias-epilogue),
// its config says which inputs may add one, and the call passes each bias
// through epilogueBias (the bias where the epilogue adds it, on CUDA),
// while each convolution gets it through convBias (on the CPU).

// IR: %[[A:.*]] = rtml.conv2d %{{.*}}, %{{.*}}, %[[BA:[a-z0-9_]+]] {
// IR: %[[B:.*]] = rtml.conv2d %{{.*}}, %{{.*}}, %[[BB:[a-z0-9_]+]] {
// IR: rtml.concat_relu %[[A]], %{{.*}}, %[[B]] biases(%[[BA]], %[[BB]]) cpu conv cuda epilogue {bias = array<i1: true, false, true>

// CHECK-LABEL: // ---- kernels.h ----
// CHECK: struct ConcatReluConfig_0 {
// CHECK-NEXT:   static constexpr int kInputs = 3;
// CHECK-NEXT:   static constexpr int64_t kChannels[kInputs] = {2, 3, 4};
// CHECK-NEXT:   static constexpr int64_t kTotalChannels = 9;
// CHECK-NEXT:   static constexpr bool kBias[kInputs] = {true, false, true};
// CHECK-NEXT: };

// MODEL: at::Tensor a = rtml::ops::conv2d(x_layout, p_0, rtml::ops::convBias(p_1, rtml::ops::BiasAdd::InConv, rtml::ops::BiasAdd::InEpilogue),
// MODEL: at::Tensor b = rtml::ops::conv2d(x_layout, p_2, rtml::ops::convBias(p_3, rtml::ops::BiasAdd::InConv, rtml::ops::BiasAdd::InEpilogue),
// MODEL: at::Tensor cat = rtml_concat_relu_0({a, pool, b}, {}, training, {rtml::ops::epilogueBias(p_1, rtml::ops::BiasAdd::InConv, rtml::ops::BiasAdd::InEpilogue), at::Tensor(), rtml::ops::epilogueBias(p_3, rtml::ops::BiasAdd::InConv, rtml::ops::BiasAdd::InEpilogue)});
// PLAIN: at::Tensor a = rtml::ops::conv2d(x_layout, p_0, p_1,
// PLAIN: at::Tensor cat = rtml_concat_relu_0({a, pool, b}, {}, training, {});

module attributes {rtml.name = "biased_concat", rtml.classes = 9 : i64,
    rtml.train = {epochs = 1 : i64, batch_size = 32 : i64, optimizer = "sgd", lr = 0.01 : f64,
                  momentum = 0.0 : f64, nesterov = false, weight_decay = 0.0 : f64, seed = 0 : i64,
                  lr_schedule = "constant", step_size = 0 : i64, gamma = 0.1 : f64,
                  eta_min = 0.0 : f64, t_max = 1 : i64, precision = "auto"},
    rtml.data = {split_train = 0 : i64, split_val = 0 : i64, split_seed = 0 : i64,
                 train_transforms = [],
                 eval_transforms = []}} {
  func.func @forward(%x: tensor<?x3x4x4xf32>) -> tensor<?x9x4x4xf32> {
    %wa = rtml.param "a.weight" fan_in_uniform {fan_in = 27 : i64} : tensor<2x3x3x3xf32>
    %ba = rtml.param "a.bias" fan_in_uniform {fan_in = 27 : i64} : tensor<2xf32>
    %a = rtml.conv2d %x, %wa, %ba {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x3x4x4xf32>, tensor<2x3x3x3xf32>, tensor<2xf32> -> tensor<?x2x4x4xf32> loc("a")
    %ra = rtml.relu %a : tensor<?x2x4x4xf32> loc("relu_a")
    %p = rtml.max_pool2d %x {kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, ceil_mode = false} : tensor<?x3x4x4xf32> -> tensor<?x3x4x4xf32> loc("pool")
    %rp = rtml.relu %p : tensor<?x3x4x4xf32> loc("relu_pool")
    %wb = rtml.param "b.weight" fan_in_uniform {fan_in = 3 : i64} : tensor<4x3x1x1xf32>
    %bb = rtml.param "b.bias" fan_in_uniform {fan_in = 3 : i64} : tensor<4xf32>
    %b = rtml.conv2d %x, %wb, %bb {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x3x4x4xf32>, tensor<4x3x1x1xf32>, tensor<4xf32> -> tensor<?x4x4x4xf32> loc("b")
    %rb = rtml.relu %b : tensor<?x4x4x4xf32> loc("relu_b")
    %cat = rtml.concat %ra, %rp, %rb : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>, tensor<?x4x4x4xf32>) -> tensor<?x9x4x4xf32> loc("cat")
    return %cat : tensor<?x9x4x4xf32>
  }
}
