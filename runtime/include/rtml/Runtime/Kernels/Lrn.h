//===- Lrn.h - Local response normalization, fused with ReLU --------------===//
//
// The kernel half of rtml.lrn and rtml.relu_lrn, specialized per model by a
// config struct the emitter writes into the model's kernels.h:
//
//   struct LrnConfig_0 {
//     static constexpr int kSize = 5;     // window over channels, >= 1
//     static constexpr float kAlpha = 1.0e-4f; // divided by kSize (PyTorch)
//     static constexpr float kBeta = 0.75f;
//     static constexpr float kK = 2.0f;
//     static constexpr bool kRelu = true; // y = lrn(relu(x))
//   };
//
// With a = relu(x) (or a = x), window(c) = [c - size/2, c + (size-1)/2]
// clipped to [0, C) (zero padding, as PyTorch's avg_pool3d formulation):
//
//   scale_c = k + alpha/size * sum_{j in window(c)} a_j^2
//   y_c     = a_c * scale_c^-beta
//   dL/da_j = g_j * scale_j^-beta
//             - 2 beta alpha/size * a_j * sum_{c : j in window(c)} g_c a_c
//                                          scale_c^-beta / scale_c
//   dL/dx_j = dL/da_j, masked where x_j <= 0 when fused with ReLU.
//
// The forward saves p = scale^-beta (the expensive part); the backward
// recomputes scale from x (a few adds per element, cheaper than a second pow).
//
// This header is torch-free: it is compiled as plain C++17 (the CPU twin,
// through LrnOp.h) and by nvcc (through Lrn.cuh). The CPU twin and the CUDA
// kernels call the same element functions below, and sum each window in the
// same (ascending channel) order, so they agree to float rounding.
//
// Each kernel has a float and a bf16 variant (Elem = float or Bf16): the
// bf16 one reads x and dL/dy and writes y and dL/dx in bf16, and does all of
// its arithmetic in float (the squares, the window sums, scale and
// scale^-beta, which it saves in float), so it is the float kernel on the
// bf16-rounded input, rounded once at the end.
//
// Windows are summed directly rather than with a running (add the entering,
// subtract the leaving channel) sum: a running sum in float drifts when large
// and small values mix, and for LRN's small windows the direct sum costs a few
// adds on data already in registers (CUDA) or L1 (CPU), next to a pow.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_LRN_H
#define RTML_RUNTIME_KERNELS_LRN_H

#include "rtml/Runtime/Kernels/Bf16.h"

#include <cmath>
#include <cstdint>
#include <memory>

#if defined(__SSE2__) && !defined(__CUDACC__)
#include <emmintrin.h>
#define RTML_LRN_SSE 1
#else
#define RTML_LRN_SSE 0
#endif

#if defined(__CUDACC__)
#define RTML_HOST_DEVICE __host__ __device__
#else
#define RTML_HOST_DEVICE
#endif

// GCC vectorizes the CPU twin's loops only when sqrtf need not set errno and
// selects on floats may be evaluated unconditionally; neither matters here
// (scale > 0), and a pragma keeps the emitted kernels.cpp's flags irrelevant.
#if defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define RTML_LRN_GCC_OPTIONS 1
#pragma GCC push_options
#pragma GCC optimize("no-math-errno", "no-trapping-math")
#endif

/// Declares an LRN config struct (what an emitted kernels.h writes out by
/// hand), for tests and checks that instantiate kernels themselves.
#define RTML_LRN_CONFIG(NAME, SIZE, ALPHA, BETA, K, RELU)                      \
  struct NAME {                                                                \
    static constexpr int kSize = SIZE;                                         \
    static constexpr float kAlpha = ALPHA;                                     \
    static constexpr float kBeta = BETA;                                       \
    static constexpr float kK = K;                                             \
    static constexpr bool kRelu = RELU;                                        \
  };

namespace rtml::kernels {

//===----------------------------------------------------------------------===//
// Element functions, shared by the CPU twin and the CUDA kernels
//===----------------------------------------------------------------------===//

/// Compile-time constants derived from an emitted config.
template <class Config> struct LrnTraits {
  static_assert(Config::kSize >= 1, "LRN window size must be positive");
  static constexpr int kSize = Config::kSize;
  /// Channels before and after the centre (even sizes are asymmetric, as
  /// PyTorch pads size/2 before and (size-1)/2 after).
  static constexpr int kBefore = Config::kSize / 2;
  static constexpr int kAfter = (Config::kSize - 1) / 2;
  static constexpr float kAlphaOverSize =
      Config::kAlpha / static_cast<float>(Config::kSize);
  /// d(scale^-beta)/d(a_j) = -beta scale^(-beta-1) * 2 alpha/size * a_j.
  static constexpr float kGradCoef = 2.0f * Config::kBeta * kAlphaOverSize;
};

/// The LRN input: relu(x) when fused, x otherwise. NaN stays NaN.
template <class Config> RTML_HOST_DEVICE inline float lrnActivate(float x) {
  if constexpr (Config::kRelu)
    return x < 0.0f ? 0.0f : x;
  else
    return x;
}

/// The gradient mask of the fused ReLU: GRAD where x > 0, else 0 (PyTorch's
/// threshold_backward tests relu(x) > 0, which is the same set). Testing x,
/// not relu(x), keeps the CPU loops free of nested selects, which GCC does
/// not vectorize.
template <class Config>
RTML_HOST_DEVICE inline float lrnMaskGrad(float x, float grad) {
  if constexpr (Config::kRelu)
    return x > 0.0f ? grad : 0.0f;
  else
    return grad;
}

/// k + alpha/size * (sum of squares over the window).
template <class Config>
RTML_HOST_DEVICE inline float lrnScale(float sumSquares) {
  return Config::kK + LrnTraits<Config>::kAlphaOverSize * sumSquares;
}

/// scale^-beta. The common betas avoid pow (exp and log): 0.75 is the
/// AlexNet/GoogLeNet value, and sqrt/div vectorize on the CPU where powf does
/// not. Each is within a few ulp of powf.
template <class Config> RTML_HOST_DEVICE inline float lrnScalePow(float scale) {
  constexpr float beta = Config::kBeta;
  if constexpr (beta == 0.75f) {
    float r = sqrtf(scale);
    return 1.0f / (r * sqrtf(r));
  } else if constexpr (beta == 0.5f) {
    return 1.0f / sqrtf(scale);
  } else if constexpr (beta == 1.0f) {
    return 1.0f / scale;
  } else if constexpr (beta == 0.0f) {
    return 1.0f;
  } else {
    return powf(scale, -beta);
  }
}

/// Forward output from the activated input and p = scale^-beta.
RTML_HOST_DEVICE inline float lrnOutput(float a, float p) { return a * p; }

/// The backward's per-channel term g_c a_c scale_c^-beta / scale_c, summed
/// over the reversed window of each input channel.
RTML_HOST_DEVICE inline float lrnBackwardTerm(float grad, float a, float p,
                                              float scale) {
  return grad * p * a / scale;
}

/// dL/dx_j from g_j p_j, x_j and the reversed window sum of the terms.
template <class Config>
RTML_HOST_DEVICE inline float lrnInputGrad(float gradTimesP, float x,
                                           float termSum) {
  float a = lrnActivate<Config>(x);
  return lrnMaskGrad<Config>(x, gradTimesP -
                                    LrnTraits<Config>::kGradCoef * a * termSum);
}

//===----------------------------------------------------------------------===//
// CPU twin
//===----------------------------------------------------------------------===//

namespace detail {

/// Pixels processed together. A tile is C rows of this many floats; the
/// forward keeps one tile and the backward two in cache (squares, then the
/// backward terms), so the width shrinks as C grows: about 48 KiB per tile,
/// at least 16 pixels so the inner loops stay vector loops.
inline int64_t lrnTileWidth(int64_t channels) {
  int64_t width = (12288 / (channels > 0 ? channels : 1)) & ~int64_t(15);
  return width < 16 ? 16 : (width > 1024 ? 1024 : width);
}

/// out[l] = sum over rows [ch - before, ch + after] (clipped to [0, c)) of
/// rows[row * width + l], in ascending row order (the CUDA kernels' order).
template <int kBefore, int kAfter>
inline void lrnWindowSumRow(const float *__restrict rows, float *__restrict out,
                            int64_t ch, int64_t c, int64_t width, int64_t len) {
  int64_t lo = ch - kBefore, hi = ch + kAfter;
  if (lo >= 0 && hi < c) {
    // Full window: the row count is a constant, so this unrolls into one
    // vector loop with kBefore + kAfter + 1 loads per output.
    const float *base = rows + lo * width;
    for (int64_t l = 0; l < len; ++l) {
      float s = 0.0f;
      for (int j = 0; j <= kBefore + kAfter; ++j)
        s += base[j * width + l];
      out[l] = s;
    }
    return;
  }
  // Clipped at a channel edge: accumulate row by row (from 0.0f, as the
  // CUDA kernels do, so both add the same values in the same order).
  lo = lo < 0 ? 0 : lo;
  hi = hi >= c ? c - 1 : hi;
  for (int64_t l = 0; l < len; ++l)
    out[l] = 0.0f;
  for (int64_t j = lo; j <= hi; ++j) {
    const float *row = rows + j * width;
    for (int64_t l = 0; l < len; ++l)
      out[l] += row[l];
  }
}

/// OUT[l] = lrnScalePow(SCALE[l]) (OUT may be SCALE). GCC does not vectorize
/// sqrtf unless errno is off for the whole translation unit (a pragma comes
/// too late for <cmath>'s declarations), so the sqrt forms are written out in
/// SSE here: the same operations in the same order, correctly rounded sqrt
/// and division as the scalar function, hence the same bits.
template <class Config>
inline void lrnScalePowRow(const float *scale, float *out, int64_t len) {
  int64_t l = 0;
#if RTML_LRN_SSE
  constexpr float beta = Config::kBeta;
  if constexpr (beta == 0.75f || beta == 0.5f) {
    const __m128 one = _mm_set1_ps(1.0f);
    for (; l + 4 <= len; l += 4) {
      __m128 r = _mm_sqrt_ps(_mm_loadu_ps(scale + l));
      if constexpr (beta == 0.75f)
        r = _mm_mul_ps(r, _mm_sqrt_ps(r));
      _mm_storeu_ps(out + l, _mm_div_ps(one, r));
    }
  }
#endif
  for (; l < len; ++l)
    out[l] = lrnScalePow<Config>(scale[l]);
}

/// Calls FN(image, firstPixel, length) for each run of at most WIDTH pixels
/// of one image in the flat (image, pixel) range [begin, end).
template <class Fn>
inline void lrnForEachTile(int64_t hw, int64_t begin, int64_t end,
                           int64_t width, Fn &&fn) {
  for (int64_t pos = begin; pos < end;) {
    int64_t image = pos / hw, pixel = pos - image * hw;
    int64_t len = hw - pixel;
    if (len > end - pos)
      len = end - pos;
    if (len > width)
      len = width;
    fn(image, pixel, len);
    pos += len;
  }
}

/// SQUARES[ch * WIDTH + l] = activate(x)^2 of the LEN pixels of a tile that
/// starts at X, its C channels HW apart.
template <class Config, class Elem>
void lrnSquaresOfTile(const Elem *x, int64_t c, int64_t hw, int64_t width,
                      int64_t len, float *squares) {
  for (int64_t ch = 0; ch < c; ++ch) {
    const Elem *__restrict xr = x + ch * hw;
    float *__restrict sq = squares + ch * width;
    for (int64_t l = 0; l < len; ++l) {
      float a = lrnActivate<Config>(kernelLoad(xr[l]));
      sq[l] = a * a;
    }
  }
}

} // namespace detail

/// Forward of the CPU twin on NCHW float or bf16 data (hw = H*W, or the
/// product of all trailing dimensions) for the flat (image, pixel) positions
/// [begin, end) of [0, n*hw). Writes y and, when SCALEPOW is not null,
/// scale^-beta (float) for the backward. Positions are independent: disjoint
/// ranges may run in parallel.
template <class Config, class Elem>
void lrnForwardCpu(const Elem *x, Elem *y, float *scalePow, int64_t n,
                   int64_t c, int64_t hw, int64_t begin, int64_t end) {
  using T = LrnTraits<Config>;
  (void)n;
  if (begin >= end || c <= 0)
    return;
  const int64_t width = detail::lrnTileWidth(c);
  std::unique_ptr<float[]> buffer(new float[(c + 1) * width]);
  float *squares = buffer.get(), *sums = buffer.get() + c * width;
  detail::lrnForEachTile(
      hw, begin, end, width, [&](int64_t image, int64_t pixel, int64_t len) {
        const int64_t offset = image * c * hw + pixel;
        detail::lrnSquaresOfTile<Config>(x + offset, c, hw, width, len,
                                         squares);
        for (int64_t ch = 0; ch < c; ++ch) {
          detail::lrnWindowSumRow<T::kBefore, T::kAfter>(squares, sums, ch, c,
                                                         width, len);
          float *__restrict sr = sums;
          for (int64_t l = 0; l < len; ++l)
            sr[l] = lrnScale<Config>(sr[l]);
          // p goes straight to its output when the backward wants it, else
          // into SUMS in place.
          float *__restrict pr = scalePow ? scalePow + offset + ch * hw : sums;
          detail::lrnScalePowRow<Config>(sums, pr, len);
          const Elem *__restrict xr = x + offset + ch * hw;
          Elem *__restrict yr = y + offset + ch * hw;
          for (int64_t l = 0; l < len; ++l)
            yr[l] = kernelStore<Elem>(
                lrnOutput(lrnActivate<Config>(kernelLoad(xr[l])), pr[l]));
        }
      });
}

/// Backward of the CPU twin: GX = dL/dx from the forward's input X, its saved
/// SCALEPOW and GY = dL/dy, for the positions [begin, end) as the forward.
template <class Config, class Elem>
void lrnBackwardCpu(const Elem *x, const float *scalePow, const Elem *gy,
                    Elem *gx, int64_t n, int64_t c, int64_t hw, int64_t begin,
                    int64_t end) {
  using T = LrnTraits<Config>;
  (void)n;
  if (begin >= end || c <= 0)
    return;
  const int64_t width = detail::lrnTileWidth(c);
  std::unique_ptr<float[]> buffer(new float[(2 * c + 1) * width]);
  float *squares = buffer.get(), *terms = buffer.get() + c * width;
  float *sums = buffer.get() + 2 * c * width;
  detail::lrnForEachTile(
      hw, begin, end, width, [&](int64_t image, int64_t pixel, int64_t len) {
        const int64_t offset = image * c * hw + pixel;
        detail::lrnSquaresOfTile<Config>(x + offset, c, hw, width, len,
                                         squares);
        // Terms g_c a_c p_c / scale_c, with scale_c recomputed as the forward
        // did.
        for (int64_t ch = 0; ch < c; ++ch) {
          detail::lrnWindowSumRow<T::kBefore, T::kAfter>(squares, sums, ch, c,
                                                         width, len);
          const int64_t at = offset + ch * hw;
          const Elem *__restrict xr = x + at, *__restrict gr = gy + at;
          const float *__restrict pr = scalePow + at, *__restrict sr = sums;
          float *__restrict tr = terms + ch * width;
          for (int64_t l = 0; l < len; ++l)
            tr[l] = lrnBackwardTerm(kernelLoad(gr[l]),
                                    lrnActivate<Config>(kernelLoad(xr[l])),
                                    pr[l], lrnScale<Config>(sr[l]));
        }
        // Input j collects the terms of the outputs whose window holds j: the
        // reversed window [j - after, j + before].
        for (int64_t ch = 0; ch < c; ++ch) {
          detail::lrnWindowSumRow<T::kAfter, T::kBefore>(terms, sums, ch, c,
                                                         width, len);
          const int64_t at = offset + ch * hw;
          const Elem *__restrict xr = x + at, *__restrict gr = gy + at;
          const float *__restrict pr = scalePow + at, *__restrict sr = sums;
          Elem *__restrict gxr = gx + at;
          for (int64_t l = 0; l < len; ++l)
            gxr[l] = kernelStore<Elem>(lrnInputGrad<Config>(
                kernelLoad(gr[l]) * pr[l], kernelLoad(xr[l]), sr[l]));
        }
      });
}

//===----------------------------------------------------------------------===//
// CPU twin, NHWC (channels_last)
//===----------------------------------------------------------------------===//
//
// In NHWC a pixel's channels are one contiguous run, so the window is a
// slice of it. The sums are taken over the same clipped windows, from 0.0f,
// in ascending channel order, as the NCHW twin does: both give the same bits,
// in either element type (a bf16 input is widened to float as it is read).

namespace detail {

/// Sum of V[j] over the window [ch - before, ch + after] clipped to [0, c),
/// in ascending order.
template <int kBefore, int kAfter>
inline float lrnWindowSum(const float *v, int64_t ch, int64_t c) {
  int64_t lo = ch - kBefore < 0 ? 0 : ch - kBefore;
  int64_t hi = ch + kAfter >= c ? c - 1 : ch + kAfter;
  float s = 0.0f;
  for (int64_t j = lo; j <= hi; ++j)
    s += v[j];
  return s;
}

} // namespace detail

/// Forward of the CPU twin on NHWC float or bf16 data ([n, hw, c] in memory)
/// for the flat (image, pixel) positions [begin, end) of [0, n*hw), with the
/// arguments of lrnForwardCpu (scale^-beta in float, NHWC too).
template <class Config, class Elem>
void lrnForwardNhwcCpu(const Elem *x, Elem *y, float *scalePow, int64_t n,
                       int64_t c, int64_t hw, int64_t begin, int64_t end) {
  using T = LrnTraits<Config>;
  (void)n;
  (void)hw;
  if (begin >= end || c <= 0)
    return;
  std::unique_ptr<float[]> squares(new float[c]);
  for (int64_t pos = begin; pos < end; ++pos) {
    const Elem *xp = x + pos * c;
    Elem *yp = y + pos * c;
    for (int64_t ch = 0; ch < c; ++ch) {
      float a = lrnActivate<Config>(kernelLoad(xp[ch]));
      squares[ch] = a * a;
    }
    for (int64_t ch = 0; ch < c; ++ch) {
      float p = lrnScalePow<Config>(lrnScale<Config>(
          detail::lrnWindowSum<T::kBefore, T::kAfter>(squares.get(), ch, c)));
      if (scalePow)
        scalePow[pos * c + ch] = p;
      yp[ch] = kernelStore<Elem>(
          lrnOutput(lrnActivate<Config>(kernelLoad(xp[ch])), p));
    }
  }
}

/// Backward of the CPU twin on NHWC data, with the arguments of
/// lrnBackwardCpu.
template <class Config, class Elem>
void lrnBackwardNhwcCpu(const Elem *x, const float *scalePow, const Elem *gy,
                        Elem *gx, int64_t n, int64_t c, int64_t hw,
                        int64_t begin, int64_t end) {
  using T = LrnTraits<Config>;
  (void)n;
  (void)hw;
  if (begin >= end || c <= 0)
    return;
  std::unique_ptr<float[]> buffer(new float[2 * c]);
  float *squares = buffer.get(), *terms = buffer.get() + c;
  for (int64_t pos = begin; pos < end; ++pos) {
    const Elem *xp = x + pos * c, *gp = gy + pos * c;
    const float *pp = scalePow + pos * c;
    for (int64_t ch = 0; ch < c; ++ch) {
      float a = lrnActivate<Config>(kernelLoad(xp[ch]));
      squares[ch] = a * a;
    }
    for (int64_t ch = 0; ch < c; ++ch)
      terms[ch] = lrnBackwardTerm(
          kernelLoad(gp[ch]), lrnActivate<Config>(kernelLoad(xp[ch])), pp[ch],
          lrnScale<Config>(
              detail::lrnWindowSum<T::kBefore, T::kAfter>(squares, ch, c)));
    // The reversed window [j - after, j + before], as the NCHW twin.
    for (int64_t ch = 0; ch < c; ++ch)
      gx[pos * c + ch] = kernelStore<Elem>(lrnInputGrad<Config>(
          kernelLoad(gp[ch]) * pp[ch], kernelLoad(xp[ch]),
          detail::lrnWindowSum<T::kAfter, T::kBefore>(terms, ch, c)));
  }
}

//===----------------------------------------------------------------------===//
// CUDA launchers (defined in Lrn.cuh, instantiated per config in a model's
// kernels.cu by RTML_INSTANTIATE_LRN_CUDA)
//===----------------------------------------------------------------------===//

/// Forward on device pointers (NCHW, hw as the CPU twin; Elem float or Bf16)
/// on STREAM (a cudaStream_t). SCALE receives scale^-beta (float) for the
/// backward; it may be null (inference). Throws std::runtime_error if the
/// launch fails.
template <class Config, class Elem>
void lrnForwardCuda(const Elem *x, Elem *y, float *scale, int64_t n, int64_t c,
                    int64_t hw, void *stream);

/// Backward on device pointers: GX from X, the forward's SCALE and GY.
template <class Config, class Elem>
void lrnBackwardCuda(const Elem *x, const float *scale, const Elem *gy,
                     Elem *gx, int64_t n, int64_t c, int64_t hw, void *stream);

/// The NHWC forms of the two launchers (data [n, hw, c] in memory; SCALE
/// too), in the same two element types.
template <class Config, class Elem>
void lrnForwardNhwcCuda(const Elem *x, Elem *y, float *scale, int64_t n,
                        int64_t c, int64_t hw, void *stream);
template <class Config, class Elem>
void lrnBackwardNhwcCuda(const Elem *x, const float *scale, const Elem *gy,
                         Elem *gx, int64_t n, int64_t c, int64_t hw,
                         void *stream);

} // namespace rtml::kernels

#ifdef RTML_LRN_GCC_OPTIONS
#pragma GCC pop_options
#undef RTML_LRN_GCC_OPTIONS
#endif

#endif // RTML_RUNTIME_KERNELS_LRN_H
