// RUN: rtml-opt %s --rtml-default-pipeline | FileCheck %s
// RUN: rtml-opt %s --rtml-default-pipeline='fuse=false' | FileCheck %s --check-prefix=NOFUSE
// RUN: rtml-opt %s --rtml-default-pipeline='disable=rtml-fuse-relu-lrn' | FileCheck %s --check-prefix=NOFUSE
// RUN: not rtml-opt %s --rtml-default-pipeline='disable=rtml-fuse-everything' 2>&1 | FileCheck %s --check-prefix=BAD
// The pipeline rtmlc runs, registered once and run here by name: the same
// passes, the same options as rtmlc's --no-fuse and --disable-pass.

// CHECK: rtml.relu_lrn
// CHECK-NOT: rtml.lrn
// NOFUSE: rtml.relu %
// NOFUSE-NEXT: rtml.lrn
// NOFUSE-NOT: rtml.relu_lrn
// BAD: no pass 'rtml-fuse-everything' in the pipeline (rtml-partition-devices, rtml-merge-sibling-convs, rtml-fuse-relu-lrn, rtml-fuse-concat, rtml-bias-epilogue, rtml-assign-precision, rtml-assign-layout, rtml-bf16-weight-copies)

func.func @forward(%x: tensor<?x8x5x5xf32>) -> tensor<?x8x5x5xf32> {
  %r = rtml.relu %x : tensor<?x8x5x5xf32>
  %l = rtml.lrn %r {size = 5 : i64, alpha = 1.0e-4 : f64, beta = 0.75 : f64, k = 2.0 : f64} : tensor<?x8x5x5xf32>
  return %l : tensor<?x8x5x5xf32>
}
