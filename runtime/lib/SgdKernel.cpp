//===- SgdKernel.cpp - One pass of SGD over contiguous floats -------------===//
//
// Built with -ffp-contract=off and without LibTorch headers (see
// runtime/CMakeLists.txt): the only fused multiply-adds are the explicit
// std::fma calls of sgdElement, placed where ATen's add kernel uses one
// (a + alpha * b is vec::fmadd there), so the result equals
// torch.optim.SGD's bit for bit. The "fma" clone (picked by CPU feature at
// load time) inlines them as FMA instructions; the default one calls libm.
//
//===----------------------------------------------------------------------===//
#include "SgdKernel.h"

#include <cmath>

namespace rtml::detail {

namespace {
struct HostArith {
  static float fma(float a, float b, float c) { return std::fma(a, b, c); }
  static float mul(float a, float b) { return a * b; }
  static float add(float a, float b) { return a + b; }
};
} // namespace

__attribute__((target_clones("fma", "default"))) void
sgdUpdate(float *param, const float *grad, float *buffer, bool initBuffer,
          int64_t n, const kernels::SgdConstants &c, float learningRate) {
  const kernels::SgdConstants constants = c;
  if (!buffer) { // no momentum: no buffer to read or write
    for (int64_t i = 0; i < n; ++i)
      param[i] = kernels::sgdElement<HostArith>(param[i], grad[i], 0, true,
                                                constants, learningRate)
                     .param;
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    kernels::SgdElement e = kernels::sgdElement<HostArith>(
        param[i], grad[i], initBuffer ? 0 : buffer[i], initBuffer, constants,
        learningRate);
    param[i] = e.param;
    buffer[i] = e.buffer;
  }
}

} // namespace rtml::detail
