//===- SgdKernel.cpp - One pass of SGD over contiguous floats -------------===//
//
// Built with -ffp-contract=off and without LibTorch headers (see
// runtime/CMakeLists.txt): the only fused multiply-adds are the explicit
// std::fma calls, placed where ATen's add kernel uses one (a + alpha * b is
// vec::fmadd there), so the result equals torch.optim.SGD's bit for bit. The
// "fma" clone (picked by CPU feature at load time) inlines them as FMA
// instructions; the default one calls libm.
//
//===----------------------------------------------------------------------===//
#include "SgdKernel.h"

#include <cmath>

namespace rtml::detail {

__attribute__((target_clones("fma", "default"))) void
sgdUpdate(float *param, const float *grad, float *buffer, bool initBuffer,
          int64_t n, const SgdConstants &c) {
  const float decay = c.weightDecay, momentum = c.momentum;
  const float step = -c.learningRate;
  const bool useMomentum = momentum != 0, nesterov = c.nesterov;
  for (int64_t i = 0; i < n; ++i) {
    float p = param[i];
    // grad.add(p, wd)
    float d = decay != 0 ? std::fma(p, decay, grad[i]) : grad[i];
    if (useMomentum) {
      // buf = d on the first step, else buf.mul_(momentum).add_(d): two
      // roundings, as two kernels.
      float buf = initBuffer ? d : buffer[i] * momentum + d;
      buffer[i] = buf;
      // d.add(buf, momentum) or buf
      d = nesterov ? std::fma(buf, momentum, d) : buf;
    }
    // p.add_(d, -lr)
    param[i] = std::fma(d, step, p);
  }
}

} // namespace rtml::detail
