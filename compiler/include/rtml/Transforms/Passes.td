//===- Passes.td - rtml transformation passes --------------*- tablegen -*-===//
#ifndef RTML_TRANSFORMS_PASSES_TD
#define RTML_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def FuseReluLrn : Pass<"rtml-fuse-relu-lrn", "mlir::ModuleOp"> {
  let summary = "Fuse a ReLU whose only user is an LRN into rtml.relu_lrn";
  let description = [{
    `lrn(relu(x))` becomes one `rtml.relu_lrn` with the LRN's constants when
    the ReLU has no other user and both ops are on the same device. A ReLU
    with other users keeps its result alive, so fusing it would compute it
    twice; an LRN fed by anything else (GoogLeNet's first LRN follows a pool)
    stays a plain `rtml.lrn`.
  }];
  let dependentDialects = ["::rtml::RtmlDialect"];
}

#endif // RTML_TRANSFORMS_PASSES_TD
