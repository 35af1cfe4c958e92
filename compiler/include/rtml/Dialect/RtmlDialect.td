//===- RtmlDialect.td - The rtml dialect -------------------*- tablegen -*-===//
#ifndef RTML_DIALECT_TD
#define RTML_DIALECT_TD

include "mlir/IR/OpBase.td"

def Rtml_Dialect : Dialect {
  let name = "rtml";
  let summary = "Convolutional networks as rtml trains them";
  let description = [{
    One op per layer kind of the spec language, on ranked float tensors in
    NCHW layout whose batch dimension is dynamic. Parameters are named values
    produced by `rtml.param`; their names are PyTorch state-dict keys. A
    module carries its training set-up as the `rtml.train` and `rtml.data`
    dictionary attributes, so the emitter needs nothing but the module.
  }];
  let cppNamespace = "::rtml";
  let hasOperationAttrVerify = 1;
}

class Rtml_Op<string mnemonic, list<Trait> traits = []>
    : Op<Rtml_Dialect, mnemonic, traits>;

#endif // RTML_DIALECT_TD
