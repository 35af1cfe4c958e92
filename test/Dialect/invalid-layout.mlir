// RUN: rtml-opt %s -split-input-file -verify-diagnostics
// The verifier errors of rtml.to_layout, of a parameter's stored layout and
// of the module's rtml.layout.

func.func @nhwc_needs_four_dims(%x: tensor<?x16xf32>) -> tensor<?x16xf32> {
  // expected-error @+1 {{'rtml.to_layout' op nhwc needs a 4-D [N, C, H, W] tensor, got 'tensor<?x16xf32>'}}
  %0 = rtml.to_layout %x cpu nchw cuda nhwc : tensor<?x16xf32>
  return %0 : tensor<?x16xf32>
}

// -----

// NCHW is any tensor's contiguous layout: no rank needed.
func.func @nchw_any_rank(%x: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %0 = rtml.to_layout %x cpu nchw cuda nchw : tensor<?x16xf32>
  return %0 : tensor<?x16xf32>
}

// -----

func.func @unknown_layout(%x: tensor<?x3x4x4xf32>) -> tensor<?x3x4x4xf32> {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'cuda' [nchw, nhwc]}}
  %0 = rtml.to_layout %x cpu nchw cuda chwn : tensor<?x3x4x4xf32>
  return %0 : tensor<?x3x4x4xf32>
}

// -----

// expected-error @+1 {{'builtin.module' op 'rtml.layout' maps 'cpu' and 'cuda' to "nchw" or "nhwc", got {cpu = "nchw", cuda = "chwn"}}}
module attributes {rtml.layout = {cpu = "nchw", cuda = "chwn"}} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'rtml.layout' needs both 'cpu' and 'cuda', got {cuda = "nhwc"}}}
module attributes {rtml.layout = {cuda = "nhwc"}} {
}

// -----

func.func @stored_nhwc_needs_four_dims() -> tensor<16xf32> {
  // expected-error @+1 {{'rtml.param' op parameter 'fc.bias': nhwc needs a 4-D tensor, got [16]}}
  %0 = rtml.param "fc.bias" fan_in_uniform stored cpu nchw cuda nhwc {fan_in = 4 : i64} : tensor<16xf32>
  return %0 : tensor<16xf32>
}

// -----

// A stored layout names both device kinds (the generic form could omit one).
func.func @stored_for_one_kind() -> tensor<2x3x1x1xf32> {
  // expected-error @+1 {{'rtml.param' op parameter 'w' needs a stored layout for both cpu and cuda}}
  %0 = "rtml.param"() <{name = "w", init = 0 : i32, fan_in = 3 : i64, stored_cuda = 1 : i32}> : () -> tensor<2x3x1x1xf32>
  return %0 : tensor<2x3x1x1xf32>
}

// -----

func.func @stored_unknown_layout() -> tensor<2x3x1x1xf32> {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'stored_cuda' [nchw, nhwc]}}
  %0 = rtml.param "w" fan_in_uniform stored cpu nchw cuda chwn {fan_in = 3 : i64} : tensor<2x3x1x1xf32>
  return %0 : tensor<2x3x1x1xf32>
}
