// RUN: rtml-opt %s -split-input-file -verify-diagnostics
// Every verifier error of the dialect, one per split.

func.func @conv_channel_mismatch(%x: tensor<?x4x8x8xf32>, %w: tensor<2x3x3x3xf32>) -> tensor<?x2x6x6xf32> {
  // expected-error @+1 {{conv2d input has 4 channels but the weight [2, 3, 3, 3] expects 3 (input shape [?, 4, 8, 8])}}
  %0 = rtml.conv2d %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x4x8x8xf32>, tensor<2x3x3x3xf32> -> tensor<?x2x6x6xf32>
  return %0 : tensor<?x2x6x6xf32>
}

// -----

func.func @conv_bias_shape(%x: tensor<?x3x8x8xf32>, %w: tensor<2x3x3x3xf32>, %b: tensor<3xf32>) -> tensor<?x2x6x6xf32> {
  // expected-error @+1 {{conv2d bias must be [2], got [3]}}
  %0 = rtml.conv2d %x, %w, %b {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x3x8x8xf32>, tensor<2x3x3x3xf32>, tensor<3xf32> -> tensor<?x2x6x6xf32>
  return %0 : tensor<?x2x6x6xf32>
}

// -----

func.func @conv_kernel_too_large(%x: tensor<?x3x4x4xf32>, %w: tensor<2x3x5x5xf32>) -> tensor<?x2x1x1xf32> {
  // expected-error @+1 {{conv2d kernel [5, 5] (dilated extent 5) is larger than the padded input [?, 3, 4, 4] with padding 0}}
  %0 = rtml.conv2d %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x3x4x4xf32>, tensor<2x3x5x5xf32> -> tensor<?x2x1x1xf32>
  return %0 : tensor<?x2x1x1xf32>
}

// -----

func.func @conv_zero_stride(%x: tensor<?x3x8x8xf32>, %w: tensor<2x3x3x3xf32>) -> tensor<?x2x6x6xf32> {
  // expected-error @+1 {{conv2d 'stride' must be >= 1, got 0}}
  %0 = rtml.conv2d %x, %w {stride = array<i64: 0, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x3x8x8xf32>, tensor<2x3x3x3xf32> -> tensor<?x2x6x6xf32>
  return %0 : tensor<?x2x6x6xf32>
}

// -----

func.func @conv_stride_rank(%x: tensor<?x3x8x8xf32>, %w: tensor<2x3x3x3xf32>) -> tensor<?x2x6x6xf32> {
  // expected-error @+1 {{conv2d 'stride' must have 2 elements (height, width), got 3}}
  %0 = rtml.conv2d %x, %w {stride = array<i64: 1, 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x3x8x8xf32>, tensor<2x3x3x3xf32> -> tensor<?x2x6x6xf32>
  return %0 : tensor<?x2x6x6xf32>
}

// -----

func.func @conv_groups(%x: tensor<?x4x8x8xf32>, %w: tensor<3x2x3x3xf32>) -> tensor<?x3x6x6xf32> {
  // expected-error @+1 {{conv2d groups (2) must divide the input channels (4) and the output channels (3)}}
  %0 = rtml.conv2d %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 2 : i64} : tensor<?x4x8x8xf32>, tensor<3x2x3x3xf32> -> tensor<?x3x6x6xf32>
  return %0 : tensor<?x3x6x6xf32>
}

// -----

func.func @conv_wrong_result(%x: tensor<?x3x8x8xf32>, %w: tensor<2x3x3x3xf32>) -> tensor<?x2x8x8xf32> {
  // expected-error @+1 {{'rtml.conv2d' op result type 'tensor<?x2x8x8xf32>' does not match the inferred 'tensor<?x2x6x6xf32>'}}
  %0 = rtml.conv2d %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x3x8x8xf32>, tensor<2x3x3x3xf32> -> tensor<?x2x8x8xf32>
  return %0 : tensor<?x2x8x8xf32>
}

// -----

func.func @conv_rank(%x: tensor<?x3x8xf32>, %w: tensor<2x3x3x3xf32>) -> tensor<?x2x6x6xf32> {
  // expected-error @+1 {{conv2d expects a rank-4 input, got [?, 3, 8]}}
  %0 = rtml.conv2d %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x3x8xf32>, tensor<2x3x3x3xf32> -> tensor<?x2x6x6xf32>
  return %0 : tensor<?x2x6x6xf32>
}

// -----

func.func @conv_dynamic_spatial(%x: tensor<?x3x?x8xf32>, %w: tensor<2x3x3x3xf32>) -> tensor<?x2x6x6xf32> {
  // expected-error @+1 {{conv2d expects static dimensions after the batch dimension, got [?, 3, ?, 8]}}
  %0 = rtml.conv2d %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x3x?x8xf32>, tensor<2x3x3x3xf32> -> tensor<?x2x6x6xf32>
  return %0 : tensor<?x2x6x6xf32>
}

// -----

func.func @relu_type_changes(%x: tensor<?x3x8x8xf32>) -> tensor<?x3x4x4xf32> {
  // expected-error @+1 {{'rtml.relu' op result type 'tensor<?x3x4x4xf32>' does not match the inferred 'tensor<?x3x8x8xf32>'}}
  %0 = "rtml.relu"(%x) : (tensor<?x3x8x8xf32>) -> tensor<?x3x4x4xf32>
  return %0 : tensor<?x3x4x4xf32>
}

// -----

func.func @relu_not_f32(%x: tensor<?x3xf64>) -> tensor<?x3xf64> {
  // expected-error @+1 {{'rtml.relu' op operand #0 must be ranked tensor of 32-bit float values}}
  %0 = rtml.relu %x : tensor<?x3xf64>
  return %0 : tensor<?x3xf64>
}

// -----

func.func @lrn_bad_k(%x: tensor<?x3x8x8xf32>) -> tensor<?x3x8x8xf32> {
  // expected-error @+1 {{'rtml.lrn' op needs alpha >= 0, beta >= 0 and k > 0}}
  %0 = rtml.lrn %x {size = 5 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 0.0 : f64} : tensor<?x3x8x8xf32>
  return %0 : tensor<?x3x8x8xf32>
}

// -----

func.func @lrn_zero_size(%x: tensor<?x3x8x8xf32>) -> tensor<?x3x8x8xf32> {
  // expected-error @+1 {{'rtml.lrn' op attribute 'size' failed to satisfy constraint: 64-bit signless integer attribute whose minimum value is 1}}
  %0 = rtml.lrn %x {size = 0 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 2.0 : f64} : tensor<?x3x8x8xf32>
  return %0 : tensor<?x3x8x8xf32>
}

// -----

func.func @lrn_no_channels(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  // expected-error @+1 {{lrn expects an input with channels [N, C, ...], got [?, 3]}}
  %0 = rtml.lrn %x {size = 5 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 2.0 : f64} : tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// -----

func.func @dropout_p_one(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  // expected-error @+1 {{'rtml.dropout' op probability must be in [0, 1), got 1.000000e+00}}
  %0 = rtml.dropout %x {p = 1.0 : f64} : tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// -----

func.func @pool_padding(%x: tensor<?x3x8x8xf32>) -> tensor<?x3x5x5xf32> {
  // expected-error @+1 {{max_pool2d padding (2) must be at most half the kernel (3)}}
  %0 = rtml.max_pool2d %x {kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>, padding = array<i64: 2, 2>, ceil_mode = false} : tensor<?x3x8x8xf32> -> tensor<?x3x5x5xf32>
  return %0 : tensor<?x3x5x5xf32>
}

// -----

func.func @pool_kernel_too_large(%x: tensor<?x3x2x2xf32>) -> tensor<?x3x1x1xf32> {
  // expected-error @+1 {{max_pool2d kernel [3, 3] is larger than the padded input [?, 3, 2, 2]}}
  %0 = rtml.max_pool2d %x {kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, ceil_mode = false} : tensor<?x3x2x2xf32> -> tensor<?x3x1x1xf32>
  return %0 : tensor<?x3x1x1xf32>
}

// -----

func.func @pool_ceil_result(%x: tensor<?x3x8x8xf32>) -> tensor<?x3x3x3xf32> {
  // ceil_mode rounds 8 -> 4 windows of 3 with stride 2.
  // expected-error @+1 {{'rtml.max_pool2d' op result type 'tensor<?x3x3x3xf32>' does not match the inferred 'tensor<?x3x4x4xf32>'}}
  %0 = rtml.max_pool2d %x {kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, ceil_mode = true} : tensor<?x3x8x8xf32> -> tensor<?x3x3x3xf32>
  return %0 : tensor<?x3x3x3xf32>
}

// -----

func.func @adaptive_size(%x: tensor<?x3x8x8xf32>) -> tensor<?x3x2x2xf32> {
  // expected-error @+1 {{adaptive_avg_pool2d 'output_size' must have 2 elements (height, width), got 1}}
  %0 = rtml.adaptive_avg_pool2d %x {output_size = array<i64: 2>} : tensor<?x3x8x8xf32> -> tensor<?x3x2x2xf32>
  return %0 : tensor<?x3x2x2xf32>
}

// -----

func.func @flatten_rank(%x: tensor<?xf32>) -> tensor<?x1xf32> {
  // expected-error @+1 {{flatten expects a rank >= 2 input, got [?]}}
  %0 = rtml.flatten %x : tensor<?xf32> -> tensor<?x1xf32>
  return %0 : tensor<?x1xf32>
}

// -----

func.func @flatten_result(%x: tensor<?x3x2x2xf32>) -> tensor<?x6xf32> {
  // expected-error @+1 {{'rtml.flatten' op result type 'tensor<?x6xf32>' does not match the inferred 'tensor<?x12xf32>'}}
  %0 = rtml.flatten %x : tensor<?x3x2x2xf32> -> tensor<?x6xf32>
  return %0 : tensor<?x6xf32>
}

// -----

func.func @linear_features(%x: tensor<?x12xf32>, %w: tensor<10x9xf32>) -> tensor<?x10xf32> {
  // expected-error @+1 {{linear input has 12 features but the weight [10, 9] expects 9 (input shape [?, 12])}}
  %0 = rtml.linear %x, %w : tensor<?x12xf32>, tensor<10x9xf32> -> tensor<?x10xf32>
  return %0 : tensor<?x10xf32>
}

// -----

func.func @linear_bias(%x: tensor<?x9xf32>, %w: tensor<10x9xf32>, %b: tensor<9xf32>) -> tensor<?x10xf32> {
  // expected-error @+1 {{linear bias must be [10], got [9]}}
  %0 = rtml.linear %x, %w, %b : tensor<?x9xf32>, tensor<10x9xf32>, tensor<9xf32> -> tensor<?x10xf32>
  return %0 : tensor<?x10xf32>
}

// -----

func.func @linear_rank(%x: tensor<?x3x2x2xf32>, %w: tensor<10x12xf32>) -> tensor<?x10xf32> {
  // expected-error @+1 {{linear expects a rank-2 input, got [?, 3, 2, 2]}}
  %0 = rtml.linear %x, %w : tensor<?x3x2x2xf32>, tensor<10x12xf32> -> tensor<?x10xf32>
  return %0 : tensor<?x10xf32>
}

// -----

func.func @param_dynamic() -> tensor<?x3xf32> {
  // expected-error @+1 {{'rtml.param' op parameter 'w' needs a static, non-empty shape, got [?, 3]}}
  %0 = rtml.param "w" fan_in_uniform {fan_in = 3 : i64} : tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// -----

func.func @param_no_name() -> tensor<3xf32> {
  // expected-error @+1 {{'rtml.param' op needs a non-empty name}}
  %0 = rtml.param "" zeros {fan_in = 1 : i64} : tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// expected-error @+1 {{'builtin.module' op unknown entry 'batchsize' in 'rtml.train'}}
module attributes {rtml.train = {batchsize = 8 : i64}} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'rtml.train' entry 'batch_size' must be positive}}
module attributes {rtml.train = {batch_size = 0 : i64}} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'rtml.data' entry 'train_transforms' transform #1 ('normalize') entry 'std' must be positive}}
module attributes {rtml.data = {train_transforms = [{kind = "normalize", mean = array<f64: 0.5>, std = array<f64: 0.0>}]}} {
}

// -----

// expected-error @+1 {{'builtin.module' op unknown rtml attribute 'rtml.optimizer'}}
module attributes {rtml.optimizer = "adam"} {
}

// -----

// expected-error @+1 {{'func.func' op 'rtml.name' is a module attribute}}
func.func @f() attributes {rtml.name = "x"} {
  return
}

// -----

module attributes {rtml.devices = ["gpu0"]} {
  func.func @unknown_device(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
    // expected-error @+1 {{'rtml.relu' op is placed on unknown device 'gpu9'}}
    %0 = rtml.relu %x {rtml.device = "gpu9"} : tensor<?x3xf32>
    return %0 : tensor<?x3xf32>
  }
}

// -----

// expected-error @+1 {{'builtin.module' op 'rtml.devices' must be a non-empty array of names}}
module attributes {rtml.devices = []} {
}

// -----

func.func @relu_lrn_bad_beta(%x: tensor<?x3x4x4xf32>) -> tensor<?x3x4x4xf32> {
  // expected-error @+1 {{'rtml.relu_lrn' op needs alpha >= 0, beta >= 0 and k > 0}}
  %0 = rtml.relu_lrn %x {size = 5 : i64, alpha = 1.0e-4 : f64, beta = -0.75 : f64, k = 2.0 : f64} : tensor<?x3x4x4xf32>
  return %0 : tensor<?x3x4x4xf32>
}

// -----

func.func @concat_spatial(%a: tensor<?x4x8x8xf32>, %b: tensor<?x4x7x8xf32>) -> tensor<?x8x8x8xf32> {
  // expected-error @+1 {{concat inputs differ outside the channel dimension: [?, 4, 8, 8], [?, 4, 7, 8]}}
  %0 = rtml.concat %a, %b : (tensor<?x4x8x8xf32>, tensor<?x4x7x8xf32>) -> tensor<?x8x8x8xf32>
  return %0 : tensor<?x8x8x8xf32>
}

// -----

func.func @concat_one_input(%a: tensor<?x4x8x8xf32>) -> tensor<?x4x8x8xf32> {
  // expected-error @+1 {{concat needs at least 2 inputs, got 1}}
  %0 = rtml.concat %a : (tensor<?x4x8x8xf32>) -> tensor<?x4x8x8xf32>
  return %0 : tensor<?x4x8x8xf32>
}

// -----

func.func @concat_wrong_channels(%a: tensor<?x4x8x8xf32>, %b: tensor<?x6x8x8xf32>) -> tensor<?x8x8x8xf32> {
  // expected-error @+1 {{'rtml.concat' op result type 'tensor<?x8x8x8xf32>' does not match the inferred 'tensor<?x10x8x8xf32>'}}
  %0 = rtml.concat %a, %b : (tensor<?x4x8x8xf32>, tensor<?x6x8x8xf32>) -> tensor<?x8x8x8xf32>
  return %0 : tensor<?x8x8x8xf32>
}

// -----

func.func @add_shapes(%a: tensor<?x4x8x8xf32>, %b: tensor<?x4x4x4xf32>) -> tensor<?x4x8x8xf32> {
  // expected-error @+1 {{add inputs must have one shape, got [?, 4, 8, 8], [?, 4, 4, 4]}}
  %0 = rtml.add %a, %b : (tensor<?x4x8x8xf32>, tensor<?x4x4x4xf32>) -> tensor<?x4x8x8xf32>
  return %0 : tensor<?x4x8x8xf32>
}

// -----

func.func @bn_channels(%x: tensor<?x8x4x4xf32>, %w: tensor<6xf32>, %m: tensor<8xf32>, %n: tensor<i64>) -> tensor<?x8x4x4xf32> {
  // expected-error @+1 {{batch_norm input has 8 channels but a statistic or affine parameter is [6]}}
  %0 = rtml.batch_norm %x, %w, %m, %m, %m, %n {eps = 1.0e-5 : f64, momentum = 0.1 : f64} : (tensor<?x8x4x4xf32>, tensor<6xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<i64>) -> tensor<?x8x4x4xf32>
  return %0 : tensor<?x8x4x4xf32>
}

// -----

func.func @bn_eps(%x: tensor<?x8x4x4xf32>, %m: tensor<8xf32>, %n: tensor<i64>) -> tensor<?x8x4x4xf32> {
  // expected-error @+1 {{'rtml.batch_norm' op eps must be positive, got 0.000000e+00}}
  %0 = rtml.batch_norm %x, %m, %m, %m, %m, %n {eps = 0.0 : f64, momentum = 0.1 : f64} : (tensor<?x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<i64>) -> tensor<?x8x4x4xf32>
  return %0 : tensor<?x8x4x4xf32>
}

// -----

func.func @avg_pool_padding(%x: tensor<?x3x8x8xf32>) -> tensor<?x3x4x4xf32> {
  // expected-error @+1 {{avg_pool2d padding (2) must be at most half the kernel (2)}}
  %0 = rtml.avg_pool2d %x {kernel = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 2, 2>, ceil_mode = false, count_include_pad = true} : tensor<?x3x8x8xf32> -> tensor<?x3x4x4xf32>
  return %0 : tensor<?x3x4x4xf32>
}

// -----

func.func @int_param_not_buffer() -> tensor<i64> {
  // expected-error @+1 {{'rtml.param' op integer parameter 'n' must be a buffer starting at zeros or ones}}
  %0 = rtml.param "n" zeros {fan_in = 1 : i64} : tensor<i64>
  return %0 : tensor<i64>
}

// -----

// expected-error @+1 {{'builtin.module' op unknown lr_schedule 'linear'}}
module attributes {rtml.train = {lr_schedule = "linear"}} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'rtml.heads' entries need a name and a non-negative loss_weight}}
module attributes {rtml.heads = [{name = "aux", loss_weight = -0.3 : f64}]} {
}

// -----

func.func @concat_relu_bn_size(%a: tensor<?x2x4x4xf32>, %b: tensor<?x3x4x4xf32>, %w: tensor<3xf32>, %n: tensor<i64>) -> tensor<?x5x4x4xf32> {
  // expected-error @+1 {{concat_relu 'bn' has 1 entries for 2 inputs}}
  %0 = rtml.concat_relu %a, %b bn(%w, %w, %w, %w, %n) {bn = array<i1: true>, bn_eps = array<f64: 1.0e-03>, bn_momentum = array<f64: 0.1>} : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>) -> tensor<?x5x4x4xf32>
  return %0 : tensor<?x5x4x4xf32>
}

// -----

func.func @concat_relu_bn_none(%a: tensor<?x2x4x4xf32>, %b: tensor<?x3x4x4xf32>) -> tensor<?x5x4x4xf32> {
  // expected-error @+1 {{concat_relu 'bn' names no input: leave it out for plain ReLUs}}
  %0 = rtml.concat_relu %a, %b {bn = array<i1: false, false>, bn_eps = array<f64>, bn_momentum = array<f64>} : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>) -> tensor<?x5x4x4xf32>
  return %0 : tensor<?x5x4x4xf32>
}

// -----

func.func @concat_relu_bn_param_count(%a: tensor<?x2x4x4xf32>, %b: tensor<?x3x4x4xf32>, %w: tensor<3xf32>) -> tensor<?x5x4x4xf32> {
  // expected-error @+1 {{concat_relu has 1 batch norm epilogues, so expects 5 bn_params, got 2}}
  %0 = rtml.concat_relu %a, %b bn(%w, %w) {bn = array<i1: false, true>, bn_eps = array<f64: 1.0e-03>, bn_momentum = array<f64: 0.1>} : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<?x5x4x4xf32>
  return %0 : tensor<?x5x4x4xf32>
}

// -----

func.func @concat_relu_bn_params_without_bn(%a: tensor<?x2x4x4xf32>, %b: tensor<?x3x4x4xf32>, %w: tensor<3xf32>) -> tensor<?x5x4x4xf32> {
  // expected-error @+1 {{concat_relu has bn_params but no 'bn'}}
  %0 = rtml.concat_relu %a, %b bn(%w) : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>, tensor<3xf32>) -> tensor<?x5x4x4xf32>
  return %0 : tensor<?x5x4x4xf32>
}

// -----

func.func @concat_relu_bn_channels(%a: tensor<?x2x4x4xf32>, %b: tensor<?x3x4x4xf32>, %w: tensor<2xf32>, %n: tensor<i64>) -> tensor<?x5x4x4xf32> {
  // expected-error @+1 {{batch_norm input has 3 channels but a statistic or affine parameter is [2]}}
  %0 = rtml.concat_relu %a, %b bn(%w, %w, %w, %w, %n) {bn = array<i1: false, true>, bn_eps = array<f64: 1.0e-03>, bn_momentum = array<f64: 0.1>} : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<i64>) -> tensor<?x5x4x4xf32>
  return %0 : tensor<?x5x4x4xf32>
}

// -----

func.func @concat_relu_bn_counter(%a: tensor<?x2x4x4xf32>, %b: tensor<?x3x4x4xf32>, %w: tensor<3xf32>) -> tensor<?x5x4x4xf32> {
  // expected-error @+1 {{batch_norm num_batches_tracked must be a scalar, got [3]}}
  %0 = rtml.concat_relu %a, %b bn(%w, %w, %w, %w, %w) {bn = array<i1: false, true>, bn_eps = array<f64: 1.0e-03>, bn_momentum = array<f64: 0.1>} : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<?x5x4x4xf32>
  return %0 : tensor<?x5x4x4xf32>
}

// -----

func.func @concat_relu_bn_constants_missing(%a: tensor<?x2x4x4xf32>, %b: tensor<?x3x4x4xf32>, %w: tensor<3xf32>, %n: tensor<i64>) -> tensor<?x5x4x4xf32> {
  // expected-error @+1 {{'rtml.concat_relu' op needs bn_eps and bn_momentum with one entry per batch norm epilogue (1)}}
  %0 = rtml.concat_relu %a, %b bn(%w, %w, %w, %w, %n) {bn = array<i1: false, true>, bn_eps = array<f64: 1.0e-03>} : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>) -> tensor<?x5x4x4xf32>
  return %0 : tensor<?x5x4x4xf32>
}

// -----

func.func @concat_relu_bn_momentum(%a: tensor<?x2x4x4xf32>, %b: tensor<?x3x4x4xf32>, %w: tensor<3xf32>, %n: tensor<i64>) -> tensor<?x5x4x4xf32> {
  // expected-error @+1 {{'rtml.concat_relu' op momentum must be in [0, 1], got 1.5}}
  %0 = rtml.concat_relu %a, %b bn(%w, %w, %w, %w, %n) {bn = array<i1: false, true>, bn_eps = array<f64: 1.0e-03>, bn_momentum = array<f64: 1.5>} : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>) -> tensor<?x5x4x4xf32>
  return %0 : tensor<?x5x4x4xf32>
}

// -----

func.func @sibling_conv_one_weight(%x: tensor<?x8x4x4xf32>, %w: tensor<2x8x1x1xf32>) -> tensor<?x2x4x4xf32> {
  // expected-error @+1 {{sibling_conv2d needs at least 2 weights, got 1}}
  %0 = rtml.sibling_conv2d %x weights(%w) {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>} : (tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32>) -> tensor<?x2x4x4xf32>
  return %0 : tensor<?x2x4x4xf32>
}

// -----

func.func @sibling_conv_bias_count(%x: tensor<?x8x4x4xf32>, %w: tensor<2x8x1x1xf32>, %b: tensor<2xf32>) -> (tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>) {
  // expected-error @+1 {{sibling_conv2d needs no biases or one per weight (2), got 1}}
  %0:2 = rtml.sibling_conv2d %x weights(%w, %w) biases(%b) {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>} : (tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32>, tensor<2x8x1x1xf32>, tensor<2xf32>) -> (tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>)
  return %0#0, %0#1 : tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>
}

// -----

func.func @sibling_conv_kernels(%x: tensor<?x8x4x4xf32>, %w: tensor<2x8x1x1xf32>, %v: tensor<2x8x3x3xf32>) -> (tensor<?x2x4x4xf32>, tensor<?x2x2x2xf32>) {
  // expected-error @+1 {{sibling_conv2d weights need one kernel size, got [2, 8, 1, 1], [2, 8, 3, 3]}}
  %0:2 = rtml.sibling_conv2d %x weights(%w, %v) {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>} : (tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32>, tensor<2x8x3x3xf32>) -> (tensor<?x2x4x4xf32>, tensor<?x2x2x2xf32>)
  return %0#0, %0#1 : tensor<?x2x4x4xf32>, tensor<?x2x2x2xf32>
}

// -----

func.func @sibling_conv_channels(%x: tensor<?x8x4x4xf32>, %w: tensor<2x8x1x1xf32>, %v: tensor<2x4x1x1xf32>) -> (tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>) {
  // expected-error @+1 {{sibling_conv2d input has 8 channels but the weight [2, 4, 1, 1] expects 4 (input shape [?, 8, 4, 4])}}
  %0:2 = rtml.sibling_conv2d %x weights(%w, %v) {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>} : (tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32>, tensor<2x4x1x1xf32>) -> (tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>)
  return %0#0, %0#1 : tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>
}

// -----

func.func @read_as_one_kind() -> tensor<4xf32> {
  // expected-error @+1 {{parameter 'w' needs a read_as type for both cpu and cuda}}
  %0 = "rtml.param"() <{fan_in = 1 : i64, init = 0 : i32, name = "w", read_as_cpu = bf16}> : () -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @read_as_buffer() -> tensor<4xf32> {
  // expected-error @+1 {{parameter 'm': read_as needs a trained f32 parameter}}
  %0 = rtml.param "m" zeros buffer read_as cpu bf16 cuda bf16 {fan_in = 1 : i64} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @read_as_f16() -> tensor<4xf32> {
  // expected-error @+1 {{parameter 'w': read_as must be f32 or bf16, got 'f16'}}
  %0 = rtml.param "w" fan_in_uniform read_as cpu f32 cuda f16 {fan_in = 1 : i64} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// A bf16 copy stands for the cast its reader makes: a reader that computes
// in f32 on that kind would read rounded weights.
func.func @read_as_bf16_reader_in_f32(%x: tensor<?x8xf32>) -> tensor<?x4xf32> {
  // expected-error @+1 {{parameter 'fc.weight' is read_as bf16 on cuda, which needs one reader: a convolution or linear layer computing in bf16 there}}
  %w = rtml.param "fc.weight" fan_in_uniform read_as cpu f32 cuda bf16 {fan_in = 8 : i64} : tensor<4x8xf32>
  %o = rtml.linear %x, %w {rtml.compute_type = {cpu = f32, cuda = f32}} : tensor<?x8xf32>, tensor<4x8xf32> -> tensor<?x4xf32>
  return %o : tensor<?x4xf32>
}

// -----

func.func @read_as_bf16_reader_without_compute_type(%x: tensor<?x8xf32>) -> tensor<?x4xf32> {
  // expected-error @+1 {{parameter 'fc.weight' is read_as bf16 on cpu, which needs one reader}}
  %w = rtml.param "fc.weight" fan_in_uniform read_as cpu bf16 cuda bf16 {fan_in = 8 : i64} : tensor<4x8xf32>
  %o = rtml.linear %x, %w : tensor<?x8xf32>, tensor<4x8xf32> -> tensor<?x4xf32>
  return %o : tensor<?x4xf32>
}

// -----

// Two readers: each cast's gradient reaches the f32 parameter on its own.
func.func @read_as_bf16_two_readers(%x: tensor<?x8xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>) {
  // expected-error @+1 {{parameter 'fc.weight' is read_as bf16 on cuda, which needs one reader}}
  %w = rtml.param "fc.weight" fan_in_uniform read_as cpu f32 cuda bf16 {fan_in = 8 : i64} : tensor<4x8xf32>
  %a = rtml.linear %x, %w {rtml.compute_type = {cpu = f32, cuda = bf16}} : tensor<?x8xf32>, tensor<4x8xf32> -> tensor<?x4xf32>
  %b = rtml.linear %x, %w {rtml.compute_type = {cpu = f32, cuda = bf16}} : tensor<?x8xf32>, tensor<4x8xf32> -> tensor<?x4xf32>
  return %a, %b : tensor<?x4xf32>, tensor<?x4xf32>
}

// -----

// A reader that does not cast its parameters (a fused concat updates its
// batch norm's in place) cannot take a copy, whatever it computes in.
func.func @read_as_bf16_reader_that_does_not_cast(%a: tensor<?x2x4x4xf32>, %b: tensor<?x3x4x4xf32>, %bias: tensor<3xf32>, %m: tensor<3xf32>, %v: tensor<3xf32>, %n: tensor<i64>) -> tensor<?x5x4x4xf32> {
  // expected-error @+1 {{parameter 'bn.weight' is read_as bf16 on cuda, which needs one reader}}
  %w = rtml.param "bn.weight" ones read_as cpu f32 cuda bf16 {fan_in = 1 : i64} : tensor<3xf32>
  %0 = rtml.concat_relu %a, %b bn(%w, %bias, %m, %v, %n) {bn = array<i1: false, true>, bn_eps = array<f64: 1.0e-03>, bn_momentum = array<f64: 0.1>, rtml.compute_type = {cpu = f32, cuda = bf16}} : (tensor<?x2x4x4xf32>, tensor<?x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>) -> tensor<?x5x4x4xf32>
  return %0 : tensor<?x5x4x4xf32>
}

// -----

func.func @read_as_bf16_unread() {
  // expected-error @+1 {{parameter 'w' is read_as bf16 on cuda, which needs one reader}}
  %w = rtml.param "w" fan_in_uniform read_as cpu f32 cuda bf16 {fan_in = 1 : i64} : tensor<4xf32>
  return
}

// -----

func.func @bias_relu_not_a_convolution(%x: tensor<?x2x4x4xf32>, %b: tensor<2xf32>) -> tensor<?x2x4x4xf32> {
  // expected-error @+1 {{'rtml.bias_relu' op needs a convolution's output (rtml.conv2d or rtml.sibling_conv2d) as its input}}
  %0 = rtml.bias_relu %x, %b cpu conv cuda epilogue : tensor<?x2x4x4xf32>, tensor<2xf32>
  return %0 : tensor<?x2x4x4xf32>
}

// -----

func.func @bias_relu_other_bias(%x: tensor<?x8x4x4xf32>, %w: tensor<2x8x1x1xf32>, %b: tensor<2xf32>, %other: tensor<2xf32>) -> tensor<?x2x4x4xf32> {
  %y = rtml.conv2d %x, %w, %b {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32>, tensor<2xf32> -> tensor<?x2x4x4xf32>
  // expected-error @+1 {{'rtml.bias_relu' op needs the bias of the convolution that computes its input}}
  %0 = rtml.bias_relu %y, %other cpu conv cuda epilogue : tensor<?x2x4x4xf32>, tensor<2xf32>
  return %0 : tensor<?x2x4x4xf32>
}

// -----

func.func @bias_relu_conv_without_bias(%x: tensor<?x8x4x4xf32>, %w: tensor<2x8x1x1xf32>, %b: tensor<2xf32>) -> tensor<?x2x4x4xf32> {
  %y = rtml.conv2d %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32> -> tensor<?x2x4x4xf32>
  // expected-error @+1 {{'rtml.bias_relu' op needs the bias of the convolution that computes its input}}
  %0 = rtml.bias_relu %y, %b cpu conv cuda epilogue : tensor<?x2x4x4xf32>, tensor<2xf32>
  return %0 : tensor<?x2x4x4xf32>
}

// -----

func.func @bias_relu_sibling_other_result_bias(%x: tensor<?x8x4x4xf32>, %w0: tensor<2x8x1x1xf32>, %w1: tensor<2x8x1x1xf32>, %b0: tensor<2xf32>, %b1: tensor<2xf32>) -> tensor<?x2x4x4xf32> {
  %s:2 = rtml.sibling_conv2d %x weights(%w0, %w1) biases(%b0, %b1) {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>} : (tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32>, tensor<2x8x1x1xf32>, tensor<2xf32>, tensor<2xf32>) -> (tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>)
  // expected-error @+1 {{'rtml.bias_relu' op needs the bias of the convolution that computes its input}}
  %0 = rtml.bias_relu %s#1, %b0 cpu conv cuda epilogue : tensor<?x2x4x4xf32>, tensor<2xf32>
  return %0 : tensor<?x2x4x4xf32>
}

// -----

func.func @bias_relu_output_read_twice(%x: tensor<?x8x4x4xf32>, %w: tensor<2x8x1x1xf32>, %b: tensor<2xf32>) -> (tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>) {
  %y = rtml.conv2d %x, %w, %b {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32>, tensor<2xf32> -> tensor<?x2x4x4xf32>
  // expected-error @+1 {{'rtml.bias_relu' op must be the only reader of its convolution's output (which lacks the bias where the epilogue adds it)}}
  %0 = rtml.bias_relu %y, %b cpu conv cuda epilogue : tensor<?x2x4x4xf32>, tensor<2xf32>
  return %0, %y : tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>
}

// -----

func.func @bias_relu_bias_shape(%x: tensor<?x2x4x4xf32>, %b: tensor<3xf32>) -> tensor<?x2x4x4xf32> {
  // expected-error @+1 {{bias_relu expects a bias of 2 channels, got [3]}}
  %0 = rtml.bias_relu %x, %b cpu conv cuda epilogue : tensor<?x2x4x4xf32>, tensor<3xf32>
  return %0 : tensor<?x2x4x4xf32>
}

// -----

func.func @concat_bias_not_the_convolutions(%x: tensor<?x8x4x4xf32>, %w: tensor<2x8x1x1xf32>, %b: tensor<2xf32>, %other: tensor<2xf32>) -> tensor<?x10x4x4xf32> {
  %c = rtml.conv2d %x, %w, %b {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32>, tensor<2xf32> -> tensor<?x2x4x4xf32>
  // expected-error @+1 {{'rtml.concat_relu' op the bias of input 1 must be the bias of the convolution that computes it}}
  %0 = rtml.concat_relu %x, %c biases(%other) cpu conv cuda epilogue {bias = array<i1: false, true>} : (tensor<?x8x4x4xf32>, tensor<?x2x4x4xf32>, tensor<2xf32>) -> tensor<?x10x4x4xf32>
  return %0 : tensor<?x10x4x4xf32>
}

// -----

func.func @concat_bias_input_read_twice(%x: tensor<?x8x4x4xf32>, %w: tensor<2x8x1x1xf32>, %b: tensor<2xf32>) -> (tensor<?x10x4x4xf32>, tensor<?x2x4x4xf32>) {
  %c = rtml.conv2d %x, %w, %b {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32>, tensor<2xf32> -> tensor<?x2x4x4xf32>
  // expected-error @+1 {{'rtml.concat_relu' op input 1 adds its convolution's bias, so it must be read by nothing else}}
  %0 = rtml.concat_relu %x, %c biases(%b) cpu conv cuda epilogue {bias = array<i1: false, true>} : (tensor<?x8x4x4xf32>, tensor<?x2x4x4xf32>, tensor<2xf32>) -> tensor<?x10x4x4xf32>
  return %0, %c : tensor<?x10x4x4xf32>, tensor<?x2x4x4xf32>
}

// -----

func.func @concat_bias_count(%x: tensor<?x8x4x4xf32>, %w: tensor<2x8x1x1xf32>, %b: tensor<2xf32>) -> tensor<?x10x4x4xf32> {
  %c = rtml.conv2d %x, %w, %b {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32>, tensor<2xf32> -> tensor<?x2x4x4xf32>
  // expected-error @+1 {{'rtml.concat_relu' op needs 'bias' with one entry per input, naming at least one, one operand in 'biases' per entry set, and where each kind of device adds them}}
  %0 = rtml.concat_relu %x, %c biases(%b) cpu conv cuda epilogue {bias = array<i1: true, true>} : (tensor<?x8x4x4xf32>, tensor<?x2x4x4xf32>, tensor<2xf32>) -> tensor<?x10x4x4xf32>
  return %0 : tensor<?x10x4x4xf32>
}

// -----

func.func @concat_biases_without_flags(%x: tensor<?x8x4x4xf32>, %w: tensor<2x8x1x1xf32>, %b: tensor<2xf32>) -> tensor<?x10x4x4xf32> {
  %c = rtml.conv2d %x, %w, %b {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32>, tensor<2xf32> -> tensor<?x2x4x4xf32>
  // expected-error @+1 {{'rtml.concat_relu' op has biases or their placement but no 'bias'}}
  %0 = rtml.concat_relu %x, %c biases(%b) cpu conv cuda epilogue : (tensor<?x8x4x4xf32>, tensor<?x2x4x4xf32>, tensor<2xf32>) -> tensor<?x10x4x4xf32>
  return %0 : tensor<?x10x4x4xf32>
}

// -----

func.func @concat_bias_on_a_batch_norm_input(%x: tensor<?x8x4x4xf32>, %w: tensor<2x8x1x1xf32>, %b: tensor<2xf32>, %g: tensor<2xf32>, %be: tensor<2xf32>, %m: tensor<2xf32>, %v: tensor<2xf32>, %n: tensor<i64>) -> tensor<?x10x4x4xf32> {
  %c = rtml.conv2d %x, %w, %b {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<?x8x4x4xf32>, tensor<2x8x1x1xf32>, tensor<2xf32> -> tensor<?x2x4x4xf32>
  // expected-error @+1 {{'rtml.concat_relu' op input 1 has a batch norm: only a plain ReLU adds a bias}}
  %0 = rtml.concat_relu %x, %c bn(%g, %be, %m, %v, %n) biases(%b) cpu conv cuda epilogue {bias = array<i1: false, true>, bn = array<i1: false, true>, bn_eps = array<f64: 1.0e-03>, bn_momentum = array<f64: 1.0e-01>} : (tensor<?x8x4x4xf32>, tensor<?x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<i64>, tensor<2xf32>) -> tensor<?x10x4x4xf32>
  return %0 : tensor<?x10x4x4xf32>
}
