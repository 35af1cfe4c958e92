//===- CpuLanes.h - One loop body for SIMD lanes and the scalar tail ------===//
//
// The CPU twins' element loops, written once and run four lanes at a time
// (SSE) with a scalar tail:
//
//   forEachLane(len, [&](auto lanes, int64_t l) {
//     using L = decltype(lanes);
//     auto x = L::load(in + l);                 // float, or F4 (4 lanes)
//     L::store(out + l, reluOf(x) * scale);     // float or Bf16 memory
//   });
//
// Why not leave it to the auto-vectorizer: GCC keeps the ReLU's select and
// the gradient mask scalar unless the whole translation unit is built with
// -fno-trapping-math (a pragma or attribute also stops the inlining of
// everything declared outside it), and sqrtf scalar unless errno is off.
// The lanes run the same IEEE operations in the same order as the scalar
// code (no contraction into FMA: these are intrinsics), so a lane and the
// scalar tail, and the CUDA kernels that call the same element functions,
// give the same bits.
//
// This header is torch-free and host-only; nvcc never sees F4 (the element
// functions are templates that the CUDA kernels instantiate on float).
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_CPULANES_H
#define RTML_RUNTIME_KERNELS_CPULANES_H

#include "rtml/Runtime/Kernels/Bf16.h"

#include <cmath>
#include <cstdint>

#if defined(__SSE2__) && !defined(__CUDACC__)
#include <emmintrin.h>
#define RTML_CPU_LANES_SSE 1
#else
#define RTML_CPU_LANES_SSE 0
#endif

namespace rtml::kernels {

//===----------------------------------------------------------------------===//
// The operations element functions use beyond + - * /, for float (host and
// device) and for F4
//===----------------------------------------------------------------------===//

/// relu(x) = x < 0 ? 0 : x; NaN stays NaN, -0 stays -0 (PyTorch's relu).
RTML_HOST_DEVICE inline float reluOf(float x) { return x < 0.0f ? 0.0f : x; }

/// V where X > 0, else +0 (the gradient mask of a ReLU; NaN X gives 0).
RTML_HOST_DEVICE inline float whereXPositive(float x, float v) {
  return x > 0.0f ? v : 0.0f;
}

/// V, or +0 where Y <= 0 (ATen's threshold_backward: a NaN Y keeps V).
RTML_HOST_DEVICE inline float zeroWhereNonPositive(float y, float v) {
  return y <= 0.0f ? 0.0f : v;
}

RTML_HOST_DEVICE inline float sqrtOf(float x) { return sqrtf(x); }

/// Whether V takes over from BEST in a max scan: V > BEST, or V is NaN (as
/// ATen's max pooling, where a NaN wins). The mask is what pick takes.
RTML_HOST_DEVICE inline bool takesOverMax(float v, float best) {
  return v > best || v != v;
}

/// A where MASK holds, else B.
RTML_HOST_DEVICE inline float pick(bool mask, float a, float b) {
  return mask ? a : b;
}

RTML_HOST_DEVICE inline float powOf(float x, float e) { return powf(x, e); }

#if RTML_CPU_LANES_SSE
/// Four floats in one SSE register. It converts from a float (broadcast), so
/// an element function's constants combine with it as with a float.
struct F4 {
  __m128 v;
  F4(__m128 value) : v(value) {}
  F4(float value) : v(_mm_set1_ps(value)) {}
};

inline F4 operator+(F4 a, F4 b) { return _mm_add_ps(a.v, b.v); }
inline F4 operator-(F4 a, F4 b) { return _mm_sub_ps(a.v, b.v); }
inline F4 operator*(F4 a, F4 b) { return _mm_mul_ps(a.v, b.v); }
inline F4 operator/(F4 a, F4 b) { return _mm_div_ps(a.v, b.v); }

/// MAXPS returns its second operand unless the first is greater: x for NaN
/// and for -0, 0 for x < 0, as reluOf(float).
inline F4 reluOf(F4 x) { return _mm_max_ps(_mm_setzero_ps(), x.v); }

inline F4 whereXPositive(F4 x, F4 v) {
  return _mm_and_ps(_mm_cmpgt_ps(x.v, _mm_setzero_ps()), v.v);
}

inline F4 zeroWhereNonPositive(F4 y, F4 v) {
  return _mm_andnot_ps(_mm_cmple_ps(y.v, _mm_setzero_ps()), v.v);
}

inline F4 sqrtOf(F4 x) { return _mm_sqrt_ps(x.v); }

/// A lane mask (all ones or all zeros per lane), as takesOverMax gives.
struct M4 {
  __m128 v;
};

inline M4 takesOverMax(F4 v, F4 best) {
  return {_mm_or_ps(_mm_cmpgt_ps(v.v, best.v), _mm_cmpunord_ps(v.v, v.v))};
}

inline F4 pick(M4 mask, F4 a, F4 b) {
  return _mm_or_ps(_mm_and_ps(mask.v, a.v), _mm_andnot_ps(mask.v, b.v));
}

/// powf lane by lane (there is no vector pow to match it bit for bit).
inline F4 powOf(F4 x, float e) {
  alignas(16) float lanes[4];
  _mm_store_ps(lanes, x.v);
  for (float &lane : lanes)
    lane = powf(lane, e);
  return _mm_load_ps(lanes);
}
#endif

//===----------------------------------------------------------------------===//
// Loads, stores and the loop
//===----------------------------------------------------------------------===//

/// One element at a time: the scalar tail, and the whole loop without SSE.
struct ScalarLanes {
  static constexpr int kWidth = 1;
  static float load(const float *p) { return *p; }
  static float load(const Bf16 *p) { return kernelLoad(*p); }
  static void store(float *p, float v) { *p = v; }
  static void store(Bf16 *p, float v) { *p = kernelStore<Bf16>(v); }
  /// *P: the element STRIDE apart from the next lane's (one lane here).
  static float loadStrided(const float *p, int64_t) { return *p; }
  /// FIRST, FIRST + STEP, ...: one value per lane.
  static float iota(float first, float) { return first; }
  /// A whole number held in a float lane, stored as an integer.
  static void storeInteger(int64_t *p, float v) {
    *p = static_cast<int64_t>(v);
  }
};

#if RTML_CPU_LANES_SSE
/// Four elements at a time. bf16 is widened by a shift and rounded as
/// kernelStore<Bf16> rounds (ties to even, a NaN to 0x7fc0), in integer
/// lanes.
struct SseLanes {
  static constexpr int kWidth = 4;
  static F4 load(const float *p) { return _mm_loadu_ps(p); }
  static F4 load(const Bf16 *p) {
    // The four bf16 become the top halves of four floats.
    __m128i bits = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(p));
    return _mm_castsi128_ps(_mm_unpacklo_epi16(_mm_setzero_si128(), bits));
  }
  static void store(float *p, F4 v) { _mm_storeu_ps(p, v.v); }
  static void store(Bf16 *p, F4 v) {
    __m128i u = _mm_castps_si128(v.v);
    __m128i lsb = _mm_and_si128(_mm_srli_epi32(u, 16), _mm_set1_epi32(1));
    u = _mm_add_epi32(u, _mm_add_epi32(_mm_set1_epi32(0x7fff), lsb));
    // Arithmetic shift: each lane's 16 bits as a signed value, which the
    // saturating pack keeps as they are.
    __m128i rounded = _mm_srai_epi32(u, 16);
    __m128i nan = _mm_castps_si128(_mm_cmpunord_ps(v.v, v.v));
    rounded = _mm_or_si128(_mm_and_si128(nan, _mm_set1_epi32(0x7fc0)),
                           _mm_andnot_si128(nan, rounded));
    _mm_storel_epi64(reinterpret_cast<__m128i *>(p),
                     _mm_packs_epi32(rounded, rounded));
  }
  static F4 loadStrided(const float *p, int64_t stride) {
    if (stride == 2) {
      // p[0..3] and p[3..6], the even ones picked out: no read past p[6].
      __m128 low = _mm_loadu_ps(p), high = _mm_loadu_ps(p + 3);
      return _mm_shuffle_ps(low, high, _MM_SHUFFLE(3, 1, 2, 0));
    }
    return _mm_set_ps(p[3 * stride], p[2 * stride], p[stride], p[0]);
  }
  static F4 iota(float first, float step) {
    return _mm_set_ps(first + 3 * step, first + 2 * step, first + step, first);
  }
  static void storeInteger(int64_t *p, F4 v) {
    alignas(16) float lanes[4];
    _mm_store_ps(lanes, v.v);
    for (int i = 0; i < 4; ++i)
      p[i] = static_cast<int64_t>(lanes[i]);
  }
};
#endif

/// Calls BODY(lanes, l) for l = 0, 4, 8, ... with SseLanes while four
/// elements remain, then for each remaining l with ScalarLanes.
template <class Body> inline void forEachLane(int64_t len, Body &&body) {
  int64_t l = 0;
#if RTML_CPU_LANES_SSE
  for (; l + SseLanes::kWidth <= len; l += SseLanes::kWidth)
    body(SseLanes{}, l);
#endif
  for (; l < len; ++l)
    body(ScalarLanes{}, l);
}

} // namespace rtml::kernels

#endif // RTML_RUNTIME_KERNELS_CPULANES_H
