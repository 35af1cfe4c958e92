// RUN: rtmlc %s --emit=kernels | FileCheck %s
// RUN: rtmlc %s --emit=cpp --precision=fp32 | FileCheck %s --check-prefix=MODEL
// A concat of a batch norm + ReLU branch and a plain ReLU branch: the
// default pipeline fuses both epilogues into one kernel whose config says
// which input has a batch norm, with its constants; the call passes the
// batch norm's parameters and the training flag.

// CHECK-LABEL: // ---- kernels.h ----
// CHECK: // rtml.concat_relu 'cat'
// CHECK-NEXT: struct ConcatReluConfig_0 {
// CHECK-NEXT:   static constexpr int kInputs = 2;
// CHECK-NEXT:   static constexpr int64_t kChannels[kInputs] = {3, 3};
// CHECK-NEXT:   static constexpr int64_t kTotalChannels = 6;
// CHECK-NEXT:   static constexpr bool kBatchNorm[kInputs] = {true, false};
// CHECK-NEXT:   static constexpr double kEps[kInputs] = {0.001, 0};
// CHECK-NEXT:   static constexpr double kMomentum[kInputs] = {0.25, 0};
// CHECK-NEXT: };
// CHECK: at::Tensor rtml_concat_relu_0(const std::vector<at::Tensor> &inputs,
// CHECK-NEXT:     const std::vector<at::Tensor> &bnParams, bool training,
// CHECK-NEXT:     const std::vector<at::Tensor> &biases);
// CHECK-LABEL: // ---- kernels.cpp ----
// CHECK: #include "rtml/Runtime/Kernels/ConcatReluOp.h"
// CHECK: return rtml::kernels::concatRelu<ConcatReluConfig_0>(inputs, bnParams, training, biases);
// CHECK-LABEL: // ---- kernels.cu ----
// CHECK: #include "rtml/Runtime/Kernels/ConcatRelu.cuh"
// CHECK: RTML_INSTANTIATE_CONCAT_RELU_CUDA(ConcatReluConfig_0)

// MODEL: at::Tensor cat = rtml_concat_relu_0({x, x}, {[[W:.*]], [[B:.*]], [[M:.*]], [[V:.*]], [[N:.*]]}, training, {});
// MODEL-NOT: rtml::ops::batchNorm(
// MODEL-NOT: rtml::ops::relu(

module attributes {rtml.name = "bn_concat", rtml.classes = 6 : i64,
    rtml.train = {epochs = 1 : i64, batch_size = 32 : i64, optimizer = "sgd", lr = 0.01 : f64,
                  momentum = 0.0 : f64, nesterov = false, weight_decay = 0.0 : f64, seed = 0 : i64,
                  lr_schedule = "constant", step_size = 0 : i64, gamma = 0.1 : f64,
                  eta_min = 0.0 : f64, t_max = 1 : i64, precision = "auto"},
    rtml.data = {split_train = 0 : i64, split_val = 0 : i64, split_seed = 0 : i64,
                 train_transforms = [],
                 eval_transforms = []}} {
  func.func @forward(%x: tensor<?x3x4x4xf32>) -> tensor<?x6x4x4xf32> {
    %w = rtml.param "bn.weight" ones {fan_in = 1 : i64} : tensor<3xf32>
    %b = rtml.param "bn.bias" zeros {fan_in = 1 : i64} : tensor<3xf32>
    %m = rtml.param "bn.running_mean" zeros buffer {fan_in = 1 : i64} : tensor<3xf32>
    %v = rtml.param "bn.running_var" ones buffer {fan_in = 1 : i64} : tensor<3xf32>
    %n = rtml.param "bn.num_batches_tracked" zeros buffer {fan_in = 1 : i64} : tensor<i64>
    %bn = rtml.batch_norm %x, %w, %b, %m, %v, %n {eps = 1.0e-03 : f64, momentum = 2.5e-01 : f64} : (tensor<?x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>) -> tensor<?x3x4x4xf32> loc("bn")
    %rx = rtml.relu %bn : tensor<?x3x4x4xf32> loc("relu_x")
    %ry = rtml.relu %x : tensor<?x3x4x4xf32> loc("relu_y")
    %cat = rtml.concat %rx, %ry : (tensor<?x3x4x4xf32>, tensor<?x3x4x4xf32>) -> tensor<?x6x4x4xf32> loc("cat")
    return %cat : tensor<?x6x4x4xf32>
  }
}
