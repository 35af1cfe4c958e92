//===- Precision.cpp - The compiler's precision decision, applied ---------===//
#include "rtml/Runtime/Ops.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>

namespace rtml::ops {

at::Tensor inPrecision(const at::Tensor &t, Precision cpu, Precision cuda) {
  if (!t.defined() || !t.is_floating_point())
    return t;
  Precision p = t.is_cuda() ? cuda : cpu;
  at::ScalarType wanted = p == Precision::Bf16 ? at::kBFloat16 : at::kFloat;
  return t.scalar_type() == wanted ? t : t.to(wanted);
}

void usePrecision(const at::Tensor &input, Precision cpu, Precision cuda) {
  (void)cpu; // the CPU has no TF32 and no global math setting
  if (!input.is_cuda())
    return;
  bool tf32 = cuda == Precision::Tf32;
  at::globalContext().setAllowTF32CuBLAS(tf32);
  at::globalContext().setAllowTF32CuDNN(tf32);
}

} // namespace rtml::ops
