// RUN: rtml-translate %s --rtml-to-cpp | FileCheck %s
// RUN: rtml-translate %s --rtml-to-kernels | FileCheck %s --check-prefix=KERNELS
// The emitter as a translation: the module is emitted as written, with no
// pass before it (rtmlc would fuse the relu into the lrn). Each call takes
// the op's operands and attributes in ODS order, then `training` for the
// ops that differ in training (batch_norm's eps before its momentum).

// CHECK: info_.name = "translated";
// CHECK: at::Tensor conv = rtml::ops::conv2d(x, p_0, at::Tensor(), {1, 1}, {1, 1}, {1, 1}, 1);
// CHECK: at::Tensor bn = rtml::ops::batchNorm(conv, p_1, p_2, p_3, p_4, p_5, 0.001, 0.25, training);
// CHECK: at::Tensor relu = rtml::ops::relu(bn);
// CHECK: at::Tensor lrn = rtml_lrn_0(relu);
// CHECK: at::Tensor pool = rtml::ops::avgPool2d(lrn, {2, 2}, {2, 2}, {0, 0}, false, true);
// CHECK: at::Tensor sum = rtml::ops::add({pool, pool});
// CHECK: at::Tensor drop = rtml::ops::dropout(sum, 0.5, training);
// CHECK-NOT: relu_lrn

// KERNELS: // ---- kernels.h ----
// KERNELS: static constexpr bool kRelu = false;
// KERNELS: // ---- kernels.cpp ----
// KERNELS: // ---- kernels.cu ----
// KERNELS: RTML_INSTANTIATE_LRN_CUDA(LrnConfig_0)

module attributes {rtml.name = "translated", rtml.classes = 2 : i64,
    rtml.train = {epochs = 1 : i64, batch_size = 32 : i64, optimizer = "sgd", lr = 0.01 : f64,
                  momentum = 0.0 : f64, nesterov = false, weight_decay = 0.0 : f64, seed = 0 : i64,
                  lr_schedule = "constant", step_size = 0 : i64, gamma = 0.1 : f64,
                  eta_min = 0.0 : f64, t_max = 1 : i64, precision = "auto"},
    rtml.data = {split_train = 0 : i64, split_val = 0 : i64, split_seed = 0 : i64,
                 train_transforms = [], eval_transforms = []}} {
  func.func @forward(%x: tensor<?x2x4x4xf32>) -> tensor<?x2x2x2xf32> {
    %w = rtml.param "conv.weight" fan_in_uniform {fan_in = 18 : i64} : tensor<2x2x3x3xf32>
    %c = rtml.conv2d %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64}
        : tensor<?x2x4x4xf32>, tensor<2x2x3x3xf32> -> tensor<?x2x4x4xf32> loc("conv")
    %g = rtml.param "bn.weight" ones {fan_in = 1 : i64} : tensor<2xf32>
    %b = rtml.param "bn.bias" zeros {fan_in = 1 : i64} : tensor<2xf32>
    %m = rtml.param "bn.running_mean" zeros buffer {fan_in = 1 : i64} : tensor<2xf32>
    %v = rtml.param "bn.running_var" ones buffer {fan_in = 1 : i64} : tensor<2xf32>
    %n = rtml.param "bn.num_batches_tracked" zeros buffer {fan_in = 1 : i64} : tensor<i64>
    %y = rtml.batch_norm %c, %g, %b, %m, %v, %n {eps = 1.0e-3 : f64, momentum = 0.25 : f64}
        : (tensor<?x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<i64>) -> tensor<?x2x4x4xf32> loc("bn")
    %r = rtml.relu %y : tensor<?x2x4x4xf32> loc("relu")
    %l = rtml.lrn %r {size = 3 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 2.0 : f64} : tensor<?x2x4x4xf32> loc("lrn")
    %p = rtml.avg_pool2d %l {kernel = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, ceil_mode = false, count_include_pad = true}
        : tensor<?x2x4x4xf32> -> tensor<?x2x2x2xf32> loc("pool")
    %s = rtml.add %p, %p : (tensor<?x2x2x2xf32>, tensor<?x2x2x2xf32>) -> tensor<?x2x2x2xf32> loc("sum")
    %d = rtml.dropout %s {p = 0.5 : f64} : tensor<?x2x2x2xf32> loc("drop")
    return %d : tensor<?x2x2x2xf32>
  }
}
