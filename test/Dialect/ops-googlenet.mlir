// RUN: rtml-opt %s | FileCheck %s
// RUN: rtml-opt %s | rtml-opt | FileCheck %s
// The ops GoogLeNet adds: batch norm with its buffers, average pooling,
// channel concatenation, elementwise add; several heads.

// CHECK-LABEL: func.func @inception
func.func @inception(%x: tensor<?x8x9x9xf32>) -> (tensor<?x16x5x5xf32>, tensor<?x8x9x9xf32>) {
  // CHECK: %[[W:.*]] = rtml.param "bn.weight" ones {fan_in = 1 : i64} : tensor<8xf32>
  %w = rtml.param "bn.weight" ones {fan_in = 1 : i64} : tensor<8xf32>
  %b = rtml.param "bn.bias" zeros {fan_in = 1 : i64} : tensor<8xf32>
  // CHECK: rtml.param "bn.running_mean" zeros buffer {fan_in = 1 : i64} : tensor<8xf32>
  %m = rtml.param "bn.running_mean" zeros buffer {fan_in = 1 : i64} : tensor<8xf32>
  %v = rtml.param "bn.running_var" ones buffer {fan_in = 1 : i64} : tensor<8xf32>
  // CHECK: rtml.param "bn.num_batches_tracked" zeros buffer {fan_in = 1 : i64} : tensor<i64>
  %n = rtml.param "bn.num_batches_tracked" zeros buffer {fan_in = 1 : i64} : tensor<i64>
  // CHECK: %[[BN:.*]] = rtml.batch_norm %arg0, %[[W]], {{.*}} {eps = 1.000000e-03 : f64, momentum = 1.000000e-01 : f64} : (tensor<?x8x9x9xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<i64>) -> tensor<?x8x9x9xf32>
  %bn = rtml.batch_norm %x, %w, %b, %m, %v, %n {eps = 1.0e-3 : f64, momentum = 0.1 : f64}
      : (tensor<?x8x9x9xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<i64>) -> tensor<?x8x9x9xf32>
  // ceil_mode keeps a last window that starts inside the input: 9 -> 5.
  // CHECK: %[[A:.*]] = rtml.avg_pool2d %[[BN]] {ceil_mode = true, count_include_pad = false, kernel = array<i64: 3, 3>, padding = array<i64: 1, 1>, stride = array<i64: 2, 2>} : tensor<?x8x9x9xf32> -> tensor<?x8x5x5xf32>
  %a = rtml.avg_pool2d %bn {kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, ceil_mode = true, count_include_pad = false}
      : tensor<?x8x9x9xf32> -> tensor<?x8x5x5xf32>
  %p = rtml.max_pool2d %x {kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, ceil_mode = true}
      : tensor<?x8x9x9xf32> -> tensor<?x8x5x5xf32>
  // CHECK: %[[C:.*]] = rtml.concat %[[A]], %{{.*}} : (tensor<?x8x5x5xf32>, tensor<?x8x5x5xf32>) -> tensor<?x16x5x5xf32>
  %c = rtml.concat %a, %p : (tensor<?x8x5x5xf32>, tensor<?x8x5x5xf32>) -> tensor<?x16x5x5xf32>
  // CHECK: %[[S:.*]] = rtml.add %arg0, %[[BN]], %arg0 : (tensor<?x8x9x9xf32>, tensor<?x8x9x9xf32>, tensor<?x8x9x9xf32>) -> tensor<?x8x9x9xf32>
  %s = rtml.add %x, %bn, %x : (tensor<?x8x9x9xf32>, tensor<?x8x9x9xf32>, tensor<?x8x9x9xf32>) -> tensor<?x8x9x9xf32>
  // CHECK: return %[[C]], %[[S]]
  return %c, %s : tensor<?x16x5x5xf32>, tensor<?x8x9x9xf32>
}
