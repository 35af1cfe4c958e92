//===- Bf16.h - bfloat16 storage for the fused kernels --------------------===//
//
// The kernels' bf16 variants read and write bf16 and compute in float. This
// torch-free type is their element in memory: the same 16 bits as
// c10::BFloat16 (CPU tensors) and __nv_bfloat16 (CUDA), converted by the
// same functions on the host and the device, so a CPU twin and its CUDA
// kernel round alike:
//
//   float -> bf16: round to nearest, ties to even, as c10::BFloat16(float)
//                  and __float2bfloat16_rn (a NaN becomes c10's 0x7fc0);
//   bf16 -> float: exact (the bits become the float's top half).
//
// kernelLoad / kernelStore are the identity for float, so a kernel written
// on them compiles to the same float code as before.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_BF16_H
#define RTML_RUNTIME_KERNELS_BF16_H

#include "rtml/Runtime/Kernels/HostDevice.h"

#include <cstdint>
#include <cstring>

namespace rtml::kernels {

/// A bfloat16 value: the top 16 bits of a float.
struct Bf16 {
  uint16_t bits;
};
static_assert(sizeof(Bf16) == 2, "bf16 is two bytes");

RTML_HOST_DEVICE inline uint32_t bf16FloatBits(float v) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(v);
#else
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  return u;
#endif
}

RTML_HOST_DEVICE inline float bf16BitsFloat(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float v;
  std::memcpy(&v, &u, sizeof v);
  return v;
#endif
}

RTML_HOST_DEVICE inline float kernelLoad(float v) { return v; }
RTML_HOST_DEVICE inline float kernelLoad(Bf16 v) {
  return bf16BitsFloat(static_cast<uint32_t>(v.bits) << 16);
}

/// V as an Elem (float or Bf16).
template <class Elem> RTML_HOST_DEVICE inline Elem kernelStore(float v);
template <> RTML_HOST_DEVICE inline float kernelStore<float>(float v) {
  return v;
}
template <> RTML_HOST_DEVICE inline Bf16 kernelStore<Bf16>(float v) {
  uint32_t u = bf16FloatBits(v);
  if ((u & 0x7fffffffu) > 0x7f800000u) // NaN: c10's canonical one
    return Bf16{0x7fc0u};
  u += 0x7fffu + ((u >> 16) & 1u);
  return Bf16{static_cast<uint16_t>(u >> 16)};
}

#if defined(RTML_KERNEL_CODE)
/// *P as a float, through the read-only data cache.
__device__ __forceinline__ float kernelLdg(const float *p) { return __ldg(p); }
__device__ __forceinline__ float kernelLdg(const Bf16 *p) {
  return kernelLoad(Bf16{__ldg(reinterpret_cast<const unsigned short *>(p))});
}
#endif

} // namespace rtml::kernels

#endif // RTML_RUNTIME_KERNELS_BF16_H
