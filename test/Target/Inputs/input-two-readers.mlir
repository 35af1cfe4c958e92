// The input of emit-input-format.test's hand-written case: read by an
// rtml.to_layout (then a bf16 convolution on CUDA) and by a ReLU without a
// compute type.
module attributes {rtml.name = "two_readers", rtml.classes = 2 : i64,
    rtml.layout = {cpu = "nchw", cuda = "nhwc"},
    rtml.precision = {cpu = "fp32", cuda = "bf16"},
    rtml.train = {epochs = 1 : i64, batch_size = 8 : i64, optimizer = "sgd", lr = 0.05 : f64,
                  momentum = 0.0 : f64, nesterov = false, weight_decay = 0.0 : f64, seed = 0 : i64,
                  lr_schedule = "constant", step_size = 0 : i64, gamma = 0.1 : f64,
                  eta_min = 0.0 : f64, t_max = 1 : i64, precision = "auto"},
    rtml.data = {split_train = 0 : i64, split_val = 0 : i64, split_seed = 0 : i64,
                 train_transforms = [], eval_transforms = []}} {
  func.func @forward(%x: tensor<?x2x4x4xf32>) -> tensor<?x2xf32> {
    %xl = rtml.to_layout %x cpu nchw cuda nhwc : tensor<?x2x4x4xf32> loc("conv")
    %w = rtml.param "conv.weight" fan_in_uniform {fan_in = 18 : i64} : tensor<2x2x3x3xf32>
    %c = rtml.conv2d %xl, %w {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, rtml.compute_type = {cpu = f32, cuda = bf16}}
        : tensor<?x2x4x4xf32>, tensor<2x2x3x3xf32> -> tensor<?x2x4x4xf32> loc("conv")
    %r = rtml.relu %x : tensor<?x2x4x4xf32> loc("relu")
    %cat = rtml.concat %c, %r : (tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>) -> tensor<?x4x4x4xf32> loc("cat")
    %f = rtml.flatten %cat : tensor<?x4x4x4xf32> -> tensor<?x64xf32> loc("flat")
    %fw = rtml.param "fc.weight" fan_in_uniform {fan_in = 64 : i64} : tensor<2x64xf32>
    %y = rtml.linear %f, %fw {rtml.compute_type = {cpu = f32, cuda = f32}} : tensor<?x64xf32>, tensor<2x64xf32> -> tensor<?x2xf32> loc("fc")
    return %y : tensor<?x2xf32>
  }
}
