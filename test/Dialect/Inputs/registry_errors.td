// Ops the registry refuses, one per -D (see ../registry-errors.test).
include "rtml/Dialect/RtmlOps.td"

#ifdef NO_FIELD
def Rtml_BadOp : Rtml_ShapePreservingOp<"bad"> {
  let arguments = (ins Rtml_Tensor:$input, F64Attr:$slope);
}
#endif

#ifdef WRONG_TYPE
def Rtml_BadOp : Rtml_ShapePreservingOp<"bad"> {
  let specFields = [Rtml_Optional<"slope", "int", "1", "none", "">];
  let arguments = (ins Rtml_Tensor:$input, F64Attr:$slope);
}
#endif

#ifdef UNUSED_FIELD
def Rtml_BadOp : Rtml_ShapePreservingOp<"bad"> {
  let specFields = [Rtml_Optional<"slope", "float", "1", "none", "">];
  let arguments = (ins Rtml_Tensor:$input);
}
#endif

#ifdef PARAM_OPERAND
def Rtml_BadOp : Rtml_SpecOp<"bad"> {
  let arguments = (ins Rtml_Tensor:$input, Rtml_Tensor:$weight);
  let results = (outs Rtml_Tensor:$result);
}
#endif
