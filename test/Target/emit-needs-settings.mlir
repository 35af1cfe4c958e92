// RUN: not rtmlc %s --emit=cpp 2>&1 | FileCheck %s
// The emitter takes the trainer's settings from the module only: without
// rtml.train it refuses rather than fall back to defaults.

// CHECK: error: the C++ emitter needs the module's 'rtml.train' (the training and data settings)
module attributes {rtml.name = "no_settings", rtml.classes = 2 : i64} {
  func.func @forward(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
    return %x : tensor<?x2xf32>
  }
}
