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
#include <type_traits>

namespace rtml::detail {

namespace {
struct HostArith {
  static float fma(float a, float b, float c) { return std::fma(a, b, c); }
  static float mul(float a, float b) { return a * b; }
  static float add(float a, float b) { return a + b; }
};

/// GRAD[I] as a float: f32, or bf16 bits (read as integers, so that the
/// loop vectorizes).
inline float gradAt(const float *grad, int64_t i) { return grad[i]; }
inline float gradAt(const uint16_t *grad, int64_t i) {
  return kernels::kernelLoad(kernels::Bf16{grad[i]});
}

/// The update of [0, N) with gradients of type Grad, writing the bf16 bits
/// of each new value to COPY unless Copy is void. Every branch is on a
/// value fixed for the loop and the constants are a local copy, so that
/// the compiler can hoist them and vectorize the loops.
template <class Grad, class Copy>
__attribute__((always_inline)) inline void
update(float *param, const Grad *grad, Copy *copy, float *buffer,
       bool initBuffer, int64_t n, const kernels::SgdConstants &c,
       float learningRate) {
  const kernels::SgdConstants constants = c;
  auto store = [&](int64_t i, float value) {
    param[i] = value;
    if constexpr (!std::is_void_v<Copy>)
      copy[i] = kernels::kernelStore<kernels::Bf16>(value).bits;
  };
  if (!buffer) { // no momentum: no buffer to read or write
    for (int64_t i = 0; i < n; ++i)
      store(i, kernels::sgdElement<HostArith>(param[i], gradAt(grad, i), 0,
                                              true, constants, learningRate)
                   .param);
    return;
  }
  auto withBuffer = [&](auto init) {
    for (int64_t i = 0; i < n; ++i) {
      kernels::SgdElement e = kernels::sgdElement<HostArith>(
          param[i], gradAt(grad, i), init ? 0.0f : buffer[i], init, constants,
          learningRate);
      store(i, e.param);
      buffer[i] = e.buffer;
    }
  };
  if (initBuffer)
    withBuffer(std::true_type());
  else
    withBuffer(std::false_type());
}
} // namespace

__attribute__((target_clones("fma", "default"))) void
sgdUpdate(float *param, const float *grad, float *buffer, bool initBuffer,
          int64_t n, const kernels::SgdConstants &c, float learningRate) {
  update<float, void>(param, grad, nullptr, buffer, initBuffer, n, c,
                      learningRate);
}

__attribute__((target_clones("fma", "default"))) void
sgdUpdate(float *param, const float *grad, const kernels::Bf16 *bf16Grad,
          kernels::Bf16 *copy, float *buffer, bool initBuffer, int64_t n,
          const kernels::SgdConstants &c, float learningRate) {
  auto *copyBits = reinterpret_cast<uint16_t *>(copy);
  if (!copy)
    update<float, void>(param, grad, nullptr, buffer, initBuffer, n, c,
                        learningRate);
  else if (grad)
    update(param, grad, copyBits, buffer, initBuffer, n, c, learningRate);
  else
    update(param, reinterpret_cast<const uint16_t *>(bf16Grad), copyBits,
           buffer, initBuffer, n, c, learningRate);
}

} // namespace rtml::detail
