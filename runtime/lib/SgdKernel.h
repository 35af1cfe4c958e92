//===- SgdKernel.h - One pass of SGD over contiguous floats -----*- C++ -*-===//
//
// Private to the runtime: Sgd::step runs this on CPU float parameters, split
// over threads, instead of four ATen passes per parameter. It is the CPU
// twin of the CUDA multi-tensor kernel (rtml/Runtime/Kernels/Sgd.cuh): both
// apply sgdElement.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_LIB_SGDKERNEL_H
#define RTML_RUNTIME_LIB_SGDKERNEL_H

#include "rtml/Runtime/Kernels/Sgd.h"

#include <cstdint>

namespace rtml::detail {

/// Updates PARAM[0, N) in place from GRAD as torch.optim.SGD does, rounding
/// as ATen's kernels do. BUFFER (null without momentum) is the momentum
/// buffer; INITBUFFER makes this its first step (buffer = d_p).
void sgdUpdate(float *param, const float *grad, float *buffer, bool initBuffer,
               int64_t n, const kernels::SgdConstants &c, float learningRate);
/// As above with PARAM's bf16 copy COPY (null: none), rewritten from the
/// updated PARAM (rounded as a cast), and the gradient GRAD (f32) or, where
/// that is null, BF16GRAD (the copy's).
void sgdUpdate(float *param, const float *grad, const kernels::Bf16 *bf16Grad,
               kernels::Bf16 *copy, float *buffer, bool initBuffer, int64_t n,
               const kernels::SgdConstants &c, float learningRate);

} // namespace rtml::detail

#endif // RTML_RUNTIME_LIB_SGDKERNEL_H
