// RUN: rtmlc %s --emit=cpp --precision=fp32 | FileCheck %s
// RUN: rtmlc %s --emit=cpp --precision=bf16 | FileCheck %s --check-prefix=BF16
// RUN: rtmlc %s --emit=cpp --precision=fp32 --disable-pass=rtml-merge-sibling-convs | FileCheck %s --check-prefix=SEPARATE
// RUN: rtmlc %s --emit=cpp --precision=fp32 --disable-pass=rtml-bias-epilogue | FileCheck %s --check-prefix=NO-EPILOGUE
// Two convolutions of one input, merged by the default pipeline: one
// runtime call with both weights and biases in order, then one local per
// convolution, named after it, that its readers use. The ReLU of b adds
// b's bias on CUDA (rtml.bias_relu), so the merged convolution takes b's
// bias through convBias, which drops it there.

// CHECK: // rtml.sibling_conv2d 'a', 'b'
// CHECK-NEXT: std::vector<at::Tensor> a_siblings = rtml::ops::siblingConv2d(x_layout, {p_0, p_2}, {p_1, rtml::ops::convBias(p_3, rtml::ops::BiasAdd::InConv, rtml::ops::BiasAdd::InEpilogue)}, {1, 1}, {0, 0}, {1, 1});
// CHECK-NEXT: const at::Tensor &a = a_siblings[0];
// CHECK-NEXT: const at::Tensor &b = a_siblings[1];
// CHECK: // rtml.bias_relu 'relu_b'
// CHECK-NEXT: at::Tensor relu_b = rtml::ops::biasRelu(b, p_3, rtml::ops::BiasAdd::InConv, rtml::ops::BiasAdd::InEpilogue);
// CHECK: rtml::ops::concat({a, relu_b})
// CHECK-NOT: rtml::ops::conv2d(
// In bf16 every operand is cast where the merged convolution reads it, a
// bias after convBias has dropped it or not; the epilogue reads the f32
// bias as it is.
// BF16: rtml::ops::siblingConv2d(rtml::ops::inPrecision(x_layout, {{.*}}), {rtml::ops::inPrecision(p_0, {{.*}}), rtml::ops::inPrecision(p_2, {{.*}})}, {rtml::ops::inPrecision(p_1, {{.*}}), rtml::ops::inPrecision(rtml::ops::convBias(p_3, {{.*}}), {{.*}})}
// BF16: rtml::ops::biasRelu(b, p_3,
// SEPARATE-NOT: siblingConv2d
// SEPARATE: at::Tensor a = rtml::ops::conv2d(x_layout, p_0, p_1,
// SEPARATE: at::Tensor b = rtml::ops::conv2d(x_layout, p_2, rtml::ops::convBias(p_3, rtml::ops::BiasAdd::InConv, rtml::ops::BiasAdd::InEpilogue),
// SEPARATE: rtml::ops::biasRelu(b, p_3,
// NO-EPILOGUE: rtml::ops::siblingConv2d(x_layout, {p_0, p_2}, {p_1, p_3},
// NO-EPILOGUE: rtml::ops::relu(b)
// NO-EPILOGUE-NOT: convBias

module attributes {rtml.name = "siblings", rtml.classes = 5 : i64,
    rtml.train = {epochs = 1 : i64, batch_size = 32 : i64, optimizer = "sgd", lr = 0.01 : f64,
                  momentum = 0.0 : f64, nesterov = false, weight_decay = 0.0 : f64, seed = 0 : i64,
                  lr_schedule = "constant", step_size = 0 : i64, gamma = 0.1 : f64,
                  eta_min = 0.0 : f64, t_max = 1 : i64, precision = "auto"},
    rtml.data = {split_train = 0 : i64, split_val = 0 : i64, split_seed = 0 : i64,
                 train_transforms = [],
                 eval_transforms = []}} {
  func.func @forward(%x: tensor<?x3x4x4xf32>) -> tensor<?x5x4x4xf32> {
    %wa = rtml.param "a.weight" fan_in_uniform {fan_in = 3 : i64} : tensor<2x3x1x1xf32>
    %ba = rtml.param "a.bias" fan_in_uniform {fan_in = 3 : i64} : tensor<2xf32>
    %a = rtml.conv2d %x, %wa, %ba {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x3x4x4xf32>, tensor<2x3x1x1xf32>, tensor<2xf32> -> tensor<?x2x4x4xf32> loc("a")
    %wb = rtml.param "b.weight" fan_in_uniform {fan_in = 3 : i64} : tensor<3x3x1x1xf32>
    %bb = rtml.param "b.bias" fan_in_uniform {fan_in = 3 : i64} : tensor<3xf32>
    %b = rtml.conv2d %x, %wb, %bb {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x3x4x4xf32>, tensor<3x3x1x1xf32>, tensor<3xf32> -> tensor<?x3x4x4xf32> loc("b")
    %rb = rtml.relu %b : tensor<?x3x4x4xf32> loc("relu_b")
    %cat = rtml.concat %a, %rb : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>) -> tensor<?x5x4x4xf32> loc("cat")
    return %cat : tensor<?x5x4x4xf32>
  }
}
