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
// Each direction writes only its result: the backward recomputes scale and
// p = scale^-beta from x, as the forward computed them (the same functions
// on the same window sums, so the same bits). That costs a few adds, and for
// the common betas two square roots and a division, per element, against
// writing a float per element in the forward and reading it back: the LRN
// is bound by memory, most of all in bf16, where that float was as much
// traffic as the input, output and gradients together.
//
// This header is torch-free: it is compiled as plain C++17 (the CPU twin,
// through LrnOp.h) and by nvcc (through Lrn.cuh). The CPU twin and the CUDA
// kernels call the same element functions below, and sum each window in the
// same (ascending channel) order, so they agree to float rounding.
//
// Each kernel has a float and a bf16 variant (Elem = float or Bf16): the
// bf16 one reads x and dL/dy and writes y and dL/dx in bf16, and does all of
// its arithmetic in float (the squares, the window sums, scale and
// scale^-beta), so it is the float kernel on the bf16-rounded input, rounded
// once at the end.
//
// The CPU loops are written once over CpuLanes.h's lanes (four floats in an
// SSE register, then a scalar tail), so the ReLU select, the gradient mask
// and the square roots are vector operations whatever the includer's flags.
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
#include "rtml/Runtime/Kernels/CpuLanes.h"

#include <cmath>
#include <cstdint>
#include <memory>

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

// Each element function is a template over V, a float (the CUDA kernels and
// the CPU twin's scalar tail) or CpuLanes.h's F4 (the CPU twin's lanes).

/// The LRN input: relu(x) when fused, x otherwise. NaN stays NaN.
template <class Config, class V> RTML_HOST_DEVICE inline V lrnActivate(V x) {
  if constexpr (Config::kRelu)
    return reluOf(x);
  else
    return x;
}

/// The gradient mask of the fused ReLU: GRAD where x > 0, else 0 (PyTorch's
/// threshold_backward tests relu(x) > 0, which is the same set).
template <class Config, class V>
RTML_HOST_DEVICE inline V lrnMaskGrad(V x, V grad) {
  if constexpr (Config::kRelu)
    return whereXPositive(x, grad);
  else
    return grad;
}

/// k + alpha/size * (sum of squares over the window).
template <class Config, class V>
RTML_HOST_DEVICE inline V lrnScale(V sumSquares) {
  return V(Config::kK) + V(LrnTraits<Config>::kAlphaOverSize) * sumSquares;
}

/// scale^-beta. The common betas avoid pow (exp and log): 0.75 is the
/// AlexNet/GoogLeNet value, and sqrt/div are vector operations on the CPU
/// where powf is not. Each is within a few ulp of powf.
template <class Config, class V>
RTML_HOST_DEVICE inline V lrnScalePow(V scale) {
  constexpr float beta = Config::kBeta;
  if constexpr (beta == 0.75f) {
    V r = sqrtOf(scale);
    return V(1.0f) / (r * sqrtOf(r));
  } else if constexpr (beta == 0.5f) {
    return V(1.0f) / sqrtOf(scale);
  } else if constexpr (beta == 1.0f) {
    return V(1.0f) / scale;
  } else if constexpr (beta == 0.0f) {
    return V(1.0f);
  } else {
    return powOf(scale, -beta);
  }
}

/// Forward output from the activated input and p = scale^-beta.
template <class V> RTML_HOST_DEVICE inline V lrnOutput(V a, V p) {
  return a * p;
}

/// The backward's per-channel term g_c a_c scale_c^-beta / scale_c, summed
/// over the reversed window of each input channel.
template <class V>
RTML_HOST_DEVICE inline V lrnBackwardTerm(V grad, V a, V p, V scale) {
  return grad * p * a / scale;
}

/// dL/dx_j from g_j p_j, x_j and the reversed window sum of the terms.
template <class Config, class V>
RTML_HOST_DEVICE inline V lrnInputGrad(V gradTimesP, V x, V termSum) {
  V a = lrnActivate<Config>(x);
  return lrnMaskGrad<Config>(x, gradTimesP - V(LrnTraits<Config>::kGradCoef) *
                                                 a * termSum);
}

/// The square of the activated input X: what the window sums add.
template <class Config, class V> RTML_HOST_DEVICE inline V lrnSquare(V x) {
  V a = lrnActivate<Config>(x);
  return a * a;
}

/// Forward output of input X from its window's sum of squares.
template <class Config, class V>
RTML_HOST_DEVICE inline V lrnOutputOfSum(V sumSquares, V x) {
  V p = lrnScalePow<Config>(lrnScale<Config>(sumSquares));
  return lrnOutput(lrnActivate<Config>(x), p);
}

/// The backward's term of input X with upstream gradient G, from its
/// window's sum of squares (scale and p recomputed as the forward computed
/// them); g p into GRADP.
template <class Config, class V>
RTML_HOST_DEVICE inline V lrnTermOfSum(V sumSquares, V x, V g, V &gradP) {
  V scale = lrnScale<Config>(sumSquares);
  V p = lrnScalePow<Config>(scale);
  gradP = g * p;
  return lrnBackwardTerm(g, lrnActivate<Config>(x), p, scale);
}

//===----------------------------------------------------------------------===//
// CPU twin
//===----------------------------------------------------------------------===//

namespace detail {

/// Pixels processed together. A tile is C rows of this many floats; the
/// forward keeps one tile and the backward three in cache (squares, g p and
/// the backward terms), so the width shrinks as C grows: about 48 KiB per
/// tile, at least 16 pixels so the inner loops stay vector loops.
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

/// SQUARES[l] = activate(X[l])^2 for the LEN contiguous elements at X: an
/// NCHW tile's channel row, or an NHWC pixel's channels.
template <class Config, class Elem>
void lrnSquaresOfRun(const Elem *x, int64_t len, float *squares) {
  forEachLane(len, [&](auto lanes, int64_t l) {
    using L = decltype(lanes);
    L::store(squares + l, lrnSquare<Config>(L::load(x + l)));
  });
}

/// SQUARES[ch * WIDTH + l] = activate(x)^2 of the LEN pixels of a tile that
/// starts at X, its C channels HW apart.
template <class Config, class Elem>
void lrnSquaresOfTile(const Elem *x, int64_t c, int64_t hw, int64_t width,
                      int64_t len, float *squares) {
  for (int64_t ch = 0; ch < c; ++ch)
    lrnSquaresOfRun<Config>(x + ch * hw, len, squares + ch * width);
}

} // namespace detail

/// Forward of the CPU twin on NCHW float or bf16 data (hw = H*W, or the
/// product of all trailing dimensions) for the flat (image, pixel) positions
/// [begin, end) of [0, n*hw): writes y. Positions are independent: disjoint
/// ranges may run in parallel.
template <class Config, class Elem>
void lrnForwardCpu(const Elem *x, Elem *y, int64_t n, int64_t c, int64_t hw,
                   int64_t begin, int64_t end) {
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
          const int64_t at = offset + ch * hw;
          const Elem *xr = x + at;
          Elem *yr = y + at;
          forEachLane(len, [&](auto lanes, int64_t l) {
            using L = decltype(lanes);
            L::store(yr + l, lrnOutputOfSum<Config>(L::load(sums + l),
                                                    L::load(xr + l)));
          });
        }
      });
}

/// Backward of the CPU twin: GX = dL/dx from the forward's input X and
/// GY = dL/dy, for the positions [begin, end) as the forward.
template <class Config, class Elem>
void lrnBackwardCpu(const Elem *x, const Elem *gy, Elem *gx, int64_t n,
                    int64_t c, int64_t hw, int64_t begin, int64_t end) {
  using T = LrnTraits<Config>;
  (void)n;
  if (begin >= end || c <= 0)
    return;
  const int64_t width = detail::lrnTileWidth(c);
  std::unique_ptr<float[]> buffer(new float[(3 * c + 1) * width]);
  float *squares = buffer.get(), *terms = buffer.get() + c * width;
  float *gradP = buffer.get() + 2 * c * width;
  float *sums = buffer.get() + 3 * c * width;
  detail::lrnForEachTile(
      hw, begin, end, width, [&](int64_t image, int64_t pixel, int64_t len) {
        const int64_t offset = image * c * hw + pixel;
        detail::lrnSquaresOfTile<Config>(x + offset, c, hw, width, len,
                                         squares);
        // Terms g_c a_c p_c / scale_c and g_c p_c, with scale_c and p_c
        // recomputed as the forward computed them.
        for (int64_t ch = 0; ch < c; ++ch) {
          detail::lrnWindowSumRow<T::kBefore, T::kAfter>(squares, sums, ch, c,
                                                         width, len);
          const int64_t at = offset + ch * hw;
          const Elem *xr = x + at, *gr = gy + at;
          float *tr = terms + ch * width, *gpr = gradP + ch * width;
          forEachLane(len, [&](auto lanes, int64_t l) {
            using L = decltype(lanes);
            auto g = L::load(gr + l), gradPLanes = g;
            L::store(tr + l,
                     lrnTermOfSum<Config>(L::load(sums + l), L::load(xr + l), g,
                                          gradPLanes));
            L::store(gpr + l, gradPLanes);
          });
        }
        // Input j collects the terms of the outputs whose window holds j: the
        // reversed window [j - after, j + before].
        for (int64_t ch = 0; ch < c; ++ch) {
          detail::lrnWindowSumRow<T::kAfter, T::kBefore>(terms, sums, ch, c,
                                                         width, len);
          const int64_t at = offset + ch * hw;
          const Elem *xr = x + at;
          const float *gpr = gradP + ch * width;
          Elem *gxr = gx + at;
          forEachLane(len, [&](auto lanes, int64_t l) {
            using L = decltype(lanes);
            L::store(gxr + l,
                     lrnInputGrad<Config>(L::load(gpr + l), L::load(xr + l),
                                          L::load(sums + l)));
          });
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
// The CPU twin runs three passes per pixel (squares; scale, p and the terms;
// the gradients) with the channels in lanes; the CUDA NHWC kernels run the
// same passes over a tile of pixels, one thread per element.

namespace detail {

/// Sum of V[j] over the window [ch - before, ch + after] clipped to [0, c),
/// in ascending order.
template <int kBefore, int kAfter>
RTML_HOST_DEVICE inline float lrnWindowSum(const float *v, int64_t ch,
                                           int64_t c) {
  int64_t lo = ch - kBefore < 0 ? 0 : ch - kBefore;
  int64_t hi = ch + kAfter >= c ? c - 1 : ch + kAfter;
  float s = 0.0f;
  for (int64_t j = lo; j <= hi; ++j)
    s += v[j];
  return s;
}

} // namespace detail

// The NHWC passes after the squares (lrnSquare), one element at a time:
// channel CH of a pixel of C channels, whose values from the pass before
// (SQUARES or TERMS) start at the pointer given. The CPU twin keeps one
// pixel in such arrays, the CUDA kernels a tile of whole pixels in shared
// memory.

/// Forward output of channel CH with input X, from the pixel's SQUARES.
template <class Config>
RTML_HOST_DEVICE inline float lrnNhwcOutputAt(const float *squares, float x,
                                              int64_t ch, int64_t c) {
  using T = LrnTraits<Config>;
  return lrnOutputOfSum<Config>(
      detail::lrnWindowSum<T::kBefore, T::kAfter>(squares, ch, c), x);
}

/// Backward pass 2: channel CH's g p (into GRADP) and its term g a p / scale
/// (returned), from the pixel's SQUARES.
template <class Config>
RTML_HOST_DEVICE inline float lrnNhwcTermAt(const float *squares, float x,
                                            float g, int64_t ch, int64_t c,
                                            float &gradP) {
  using T = LrnTraits<Config>;
  return lrnTermOfSum<Config>(
      detail::lrnWindowSum<T::kBefore, T::kAfter>(squares, ch, c), x, g, gradP);
}

/// Backward pass 3: dL/dx of channel CH from its g p, its input X and the
/// pixel's TERMS over CH's reversed window [ch - after, ch + before].
template <class Config>
RTML_HOST_DEVICE inline float lrnNhwcInputGradAt(const float *terms,
                                                 float gradP, float x,
                                                 int64_t ch, int64_t c) {
  using T = LrnTraits<Config>;
  return lrnInputGrad<Config>(
      gradP, x, detail::lrnWindowSum<T::kAfter, T::kBefore>(terms, ch, c));
}

namespace detail {

/// Calls INTERIOR(lanes, ch) for the channels whose whole window
/// [ch - before, ch + after] lies in [0, c), four at a time (CpuLanes.h),
/// and EDGE(ch) for the clipped ones at both ends. A full window's sum in
/// lanes adds the same values from 0.0f in the same order as lrnWindowSum.
template <int kBefore, int kAfter, class Interior, class Edge>
inline void lrnNhwcForEachChannel(int64_t c, Interior &&interior, Edge &&edge) {
  const int64_t first = kBefore < c ? kBefore : c;
  const int64_t end = c - kAfter > first ? c - kAfter : first;
  for (int64_t ch = 0; ch < first; ++ch)
    edge(ch);
  forEachLane(end - first,
              [&](auto lanes, int64_t i) { interior(lanes, first + i); });
  for (int64_t ch = end; ch < c; ++ch)
    edge(ch);
}

/// The sums of V over the full windows of the lanes' channels from CH on.
template <int kBefore, int kAfter, class L>
inline auto lrnNhwcFullWindowSum(L, const float *v, int64_t ch) {
  decltype(L::load(v)) s(0.0f);
  for (int j = 0; j <= kBefore + kAfter; ++j)
    s = s + L::load(v + ch - kBefore + j);
  return s;
}

} // namespace detail

/// Forward of the CPU twin on NHWC float or bf16 data ([n, hw, c] in memory)
/// for the flat (image, pixel) positions [begin, end) of [0, n*hw), with the
/// arguments of lrnForwardCpu. The pixel's channels are the lanes.
template <class Config, class Elem>
void lrnForwardNhwcCpu(const Elem *x, Elem *y, int64_t n, int64_t c, int64_t hw,
                       int64_t begin, int64_t end) {
  using T = LrnTraits<Config>;
  (void)n;
  (void)hw;
  if (begin >= end || c <= 0)
    return;
  std::unique_ptr<float[]> buffer(new float[c]);
  float *squares = buffer.get();
  for (int64_t pos = begin; pos < end; ++pos) {
    const Elem *xp = x + pos * c;
    Elem *yp = y + pos * c;
    detail::lrnSquaresOfRun<Config>(xp, c, squares);
    detail::lrnNhwcForEachChannel<T::kBefore, T::kAfter>(
        c,
        [&](auto lanes, int64_t ch) {
          using L = decltype(lanes);
          L::store(yp + ch,
                   lrnOutputOfSum<Config>(
                       detail::lrnNhwcFullWindowSum<T::kBefore, T::kAfter>(
                           lanes, squares, ch),
                       L::load(xp + ch)));
        },
        [&](int64_t ch) {
          yp[ch] = kernelStore<Elem>(
              lrnNhwcOutputAt<Config>(squares, kernelLoad(xp[ch]), ch, c));
        });
  }
}

/// Backward of the CPU twin on NHWC data, with the arguments of
/// lrnBackwardCpu.
template <class Config, class Elem>
void lrnBackwardNhwcCpu(const Elem *x, const Elem *gy, Elem *gx, int64_t n,
                        int64_t c, int64_t hw, int64_t begin, int64_t end) {
  using T = LrnTraits<Config>;
  (void)n;
  (void)hw;
  if (begin >= end || c <= 0)
    return;
  std::unique_ptr<float[]> buffer(new float[3 * c]);
  float *squares = buffer.get(), *terms = buffer.get() + c;
  float *gradP = buffer.get() + 2 * c;
  for (int64_t pos = begin; pos < end; ++pos) {
    const Elem *xp = x + pos * c, *gp = gy + pos * c;
    Elem *gxp = gx + pos * c;
    detail::lrnSquaresOfRun<Config>(xp, c, squares);
    detail::lrnNhwcForEachChannel<T::kBefore, T::kAfter>(
        c,
        [&](auto lanes, int64_t ch) {
          using L = decltype(lanes);
          auto g = L::load(gp + ch), gradPLanes = g;
          L::store(terms + ch,
                   lrnTermOfSum<Config>(
                       detail::lrnNhwcFullWindowSum<T::kBefore, T::kAfter>(
                           lanes, squares, ch),
                       L::load(xp + ch), g, gradPLanes));
          L::store(gradP + ch, gradPLanes);
        },
        [&](int64_t ch) {
          terms[ch] =
              lrnNhwcTermAt<Config>(squares, kernelLoad(xp[ch]),
                                    kernelLoad(gp[ch]), ch, c, gradP[ch]);
        });
    detail::lrnNhwcForEachChannel<T::kAfter, T::kBefore>(
        c,
        [&](auto lanes, int64_t ch) {
          using L = decltype(lanes);
          L::store(gxp + ch,
                   lrnInputGrad<Config>(
                       L::load(gradP + ch), L::load(xp + ch),
                       detail::lrnNhwcFullWindowSum<T::kAfter, T::kBefore>(
                           lanes, terms, ch)));
        },
        [&](int64_t ch) {
          gxp[ch] = kernelStore<Elem>(lrnNhwcInputGradAt<Config>(
              terms, gradP[ch], kernelLoad(xp[ch]), ch, c));
        });
  }
}

//===----------------------------------------------------------------------===//
// CUDA launchers (defined in Lrn.cuh, instantiated per config in a model's
// kernels.cu by RTML_INSTANTIATE_LRN_CUDA)
//===----------------------------------------------------------------------===//

/// Forward on device pointers (NCHW, hw as the CPU twin; Elem float or Bf16)
/// on STREAM (a cudaStream_t). Throws std::runtime_error if the launch
/// fails.
template <class Config, class Elem>
void lrnForwardCuda(const Elem *x, Elem *y, int64_t n, int64_t c, int64_t hw,
                    void *stream);

/// Backward on device pointers: GX from the forward's input X and GY.
template <class Config, class Elem>
void lrnBackwardCuda(const Elem *x, const Elem *gy, Elem *gx, int64_t n,
                     int64_t c, int64_t hw, void *stream);

/// The NHWC forms of the two launchers (data [n, hw, c] in memory), in the
/// same two element types.
template <class Config, class Elem>
void lrnForwardNhwcCuda(const Elem *x, Elem *y, int64_t n, int64_t c,
                        int64_t hw, void *stream);
template <class Config, class Elem>
void lrnBackwardNhwcCuda(const Elem *x, const Elem *gy, Elem *gx, int64_t n,
                         int64_t c, int64_t hw, void *stream);

} // namespace rtml::kernels

#endif // RTML_RUNTIME_KERNELS_LRN_H
