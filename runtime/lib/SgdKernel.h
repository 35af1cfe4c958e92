//===- SgdKernel.h - One pass of SGD over contiguous floats -----*- C++ -*-===//
//
// Private to the runtime: Sgd::step runs this on CPU float parameters, split
// over threads, instead of four ATen passes per parameter.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_LIB_SGDKERNEL_H
#define RTML_RUNTIME_LIB_SGDKERNEL_H

#include <cstdint>

namespace rtml::detail {

struct SgdConstants {
  float learningRate;
  float momentum;
  float weightDecay;
  bool nesterov;
};

/// Updates PARAM[0, N) in place from GRAD as torch.optim.SGD does, rounding
/// as ATen's kernels do. BUFFER (unused without momentum) is the momentum
/// buffer; INITBUFFER makes this its first step (buffer = d_p).
void sgdUpdate(float *param, const float *grad, float *buffer, bool initBuffer,
               int64_t n, const SgdConstants &c);

} // namespace rtml::detail

#endif // RTML_RUNTIME_LIB_SGDKERNEL_H
