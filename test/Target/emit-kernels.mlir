// RUN: rtmlc %s --emit=kernels | FileCheck %s
// RUN: rtmlc %s --emit=cpp --precision=fp32 | FileCheck %s --check-prefix=MODEL
// Each LRN gets its own kernel, specialized with its constants; the ReLU
// before the first is fused into it by the default pipeline; the second
// follows a pool and stays a plain LRN kernel.

// CHECK-LABEL: // ---- kernels.h ----
// CHECK: // rtml.relu_lrn 'lrn1'
// CHECK-NEXT: struct LrnConfig_0 {
// CHECK-NEXT:   static constexpr int kSize = 5;
// CHECK-NEXT:   static constexpr float kAlpha = 1.000000000e-04f;
// CHECK-NEXT:   static constexpr float kBeta = 7.500000000e-01f;
// CHECK-NEXT:   static constexpr float kK = 2.000000000e+00f;
// CHECK-NEXT:   static constexpr bool kRelu = true;
// CHECK-NEXT: };
// CHECK: // rtml.lrn 'lrn2'
// CHECK-NEXT: struct LrnConfig_1 {
// CHECK-NEXT:   static constexpr int kSize = 4;
// CHECK-NEXT:   static constexpr float kAlpha = 5.000000000e-01f;
// CHECK-NEXT:   static constexpr float kBeta = 1.000000000e+00f;
// CHECK-NEXT:   static constexpr float kK = 1.000000000e+00f;
// CHECK-NEXT:   static constexpr bool kRelu = false;
// CHECK-NEXT: };
// CHECK: #ifndef __CUDACC__
// CHECK: at::Tensor rtml_lrn_0(const at::Tensor &input);
// CHECK-NEXT: at::Tensor rtml_lrn_1(const at::Tensor &input);
// CHECK-NEXT: #endif
// CHECK-LABEL: // ---- kernels.cpp ----
// CHECK: #include "rtml/Runtime/Kernels/LrnOp.h"
// CHECK: at::Tensor rtml_lrn_0(const at::Tensor &input) {
// CHECK-NEXT:   return rtml::kernels::localResponseNorm<LrnConfig_0>(input);
// CHECK: at::Tensor rtml_lrn_1(const at::Tensor &input) {
// CHECK-NEXT:   return rtml::kernels::localResponseNorm<LrnConfig_1>(input);
// CHECK-LABEL: // ---- kernels.cu ----
// CHECK: #include "rtml/Runtime/Kernels/Lrn.cuh"
// CHECK: RTML_INSTANTIATE_LRN_CUDA(LrnConfig_0)
// CHECK-NEXT: RTML_INSTANTIATE_LRN_CUDA(LrnConfig_1)

// MODEL: #include "kernels.h"
// MODEL: at::Tensor lrn1 = rtml_lrn_0(x);
// MODEL: at::Tensor lrn2 = rtml_lrn_1(pool);
// MODEL-NOT: rtml::ops::relu(

module attributes {rtml.name = "two_lrns", rtml.classes = 8 : i64,
    rtml.train = {epochs = 1 : i64, batch_size = 32 : i64, optimizer = "sgd", lr = 0.01 : f64,
                  momentum = 0.0 : f64, nesterov = false, weight_decay = 0.0 : f64, seed = 0 : i64,
                  lr_schedule = "constant", step_size = 0 : i64, gamma = 0.1 : f64,
                  eta_min = 0.0 : f64, t_max = 1 : i64, precision = "auto"},
    rtml.data = {split_train = 0 : i64, split_val = 0 : i64, split_seed = 0 : i64,
                 train_transforms = [],
                 eval_transforms = []}} {
  func.func @forward(%x: tensor<?x8x4x4xf32>) -> tensor<?x8x2x2xf32> {
    %r = rtml.relu %x : tensor<?x8x4x4xf32> loc("relu1")
    %l = rtml.lrn %r {size = 5 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 2.0 : f64} : tensor<?x8x4x4xf32> loc("lrn1")
    %p = rtml.max_pool2d %l {kernel = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, ceil_mode = false} : tensor<?x8x4x4xf32> -> tensor<?x8x2x2xf32> loc("pool")
    %l2 = rtml.lrn %p {size = 4 : i64, alpha = 0.5 : f64, beta = 1.0 : f64, k = 1.0 : f64} : tensor<?x8x2x2xf32> loc("lrn2")
    return %l2 : tensor<?x8x2x2xf32>
  }
}
