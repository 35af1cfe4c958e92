// RUN: rtml-opt %s -split-input-file -verify-diagnostics | FileCheck %s
// The precision attributes rtml-assign-precision writes, and what the
// verifier refuses in them.

// CHECK: rtml.precision = {cpu = "fp32", cuda = "bf16"}
// CHECK: rtml.relu_lrn {{.*}}rtml.accumulate_type = f32, rtml.compute_type = {cpu = f32, cuda = bf16}
module attributes {rtml.precision = {cpu = "fp32", cuda = "bf16"}} {
  func.func @ok(%x: tensor<?x8x5x5xf32>) -> tensor<?x8x5x5xf32> {
    %l = rtml.relu_lrn %x {size = 5 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 2.0 : f64, rtml.accumulate_type = f32, rtml.compute_type = {cpu = f32, cuda = bf16}} : tensor<?x8x5x5xf32>
    return %l : tensor<?x8x5x5xf32>
  }
}

// -----

// expected-error @+1 {{'rtml.precision' must be a dictionary {cpu = ..., cuda = ...} of fp32, tf32 or bf16}}
module attributes {rtml.precision = {cpu = "fp32"}} {
}

// -----

// A policy is resolved: auto is no math.
// expected-error @+1 {{'rtml.precision' must be a dictionary {cpu = ..., cuda = ...} of fp32, tf32 or bf16}}
module attributes {rtml.precision = {cpu = "fp32", cuda = "auto"}} {
}

// -----

// expected-error @+1 {{'rtml.precision' asks for TF32 on the CPU, which has none}}
module attributes {rtml.precision = {cpu = "tf32", cuda = "tf32"}} {
}

// -----

func.func @not_on_a_module(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{'rtml.precision' is a module attribute}}
  %r = rtml.relu %x {rtml.precision = {cpu = "fp32", cuda = "bf16"}} : tensor<?x8xf32>
  return %r : tensor<?x8xf32>
}

// -----

func.func @compute_type_needs_types(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{'rtml.compute_type' must be a dictionary {cpu = ..., cuda = ...} of f32, tf32 or bf16}}
  %r = rtml.relu %x {rtml.compute_type = {cpu = "fp32", cuda = "bf16"}} : tensor<?x8xf32>
  return %r : tensor<?x8xf32>
}

// -----

func.func @compute_type_f16(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{'rtml.compute_type' must be a dictionary {cpu = ..., cuda = ...} of f32, tf32 or bf16}}
  %r = rtml.relu %x {rtml.compute_type = {cpu = f32, cuda = f16}} : tensor<?x8xf32>
  return %r : tensor<?x8xf32>
}

// -----

func.func @accumulate_in_f32_only(%x: tensor<?x8x5x5xf32>) -> tensor<?x8x5x5xf32> {
  // expected-error @+1 {{'rtml.accumulate_type' must be f32 (the kernels sum in f32)}}
  %l = rtml.relu_lrn %x {size = 5 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 2.0 : f64, rtml.accumulate_type = bf16} : tensor<?x8x5x5xf32>
  return %l : tensor<?x8x5x5xf32>
}
