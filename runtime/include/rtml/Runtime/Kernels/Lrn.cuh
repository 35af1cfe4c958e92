//===- Lrn.cuh - CUDA kernels of the LRN and fused ReLU+LRN ---------------===//
//
// Included by a model's kernels.cu (compiled by nvcc, never with torch
// headers), which instantiates the launchers declared in Lrn.h for each of
// its configs:
//
//   #include "kernels.h"
//   #include "rtml/Runtime/Kernels/Lrn.cuh"
//   RTML_INSTANTIATE_LRN_CUDA(LrnConfig_0)
//
// Each config gets a float and a bf16 variant (Lrn.h: bf16 data, float
// arithmetic). One thread per (image, pixel) walks the channels. Consecutive
// threads take consecutive pixels, so every load and store of a warp is one
// coalesced row segment of one channel. Each thread keeps the window's
// activated inputs in registers (the config fixes its size, so the shifts
// unroll into register moves): every input is read from memory once per pass,
// and the window sum is a few register FMAs instead of SIZE loads. The
// backward recomputes each channel's scale^-beta from the window it holds
// anyway, so the forward writes nothing but y (Lrn.h says why).
//
// NHWC (channels_last, the *Nhwc launchers, in both element types) cannot
// walk the channels the same way: a pixel's channels are one contiguous run,
// so a warp of pixel-walking threads would touch 32 cache lines per load and
// use one element of each. There a block takes a tile of whole pixels (at
// most kLrnNhwcTileFloats elements), one thread per element: it reads the
// tile once, coalesced, into shared memory as squares (each thread keeping
// its own inputs in registers), then each thread sums its window from
// there. The passes and the element functions are the NHWC
// CPU twin's (Lrn.h), so the two agree to float rounding (nvcc contracts
// k + alpha*sum into an FMA). A pixel wider than a tile (C above
// kLrnNhwcTileFloats) falls back to the NCHW kernel's walk with stride 1
// (lrnLocate), correct but uncoalesced.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_LRN_CUH
#define RTML_RUNTIME_KERNELS_LRN_CUH

#include "rtml/Runtime/Kernels/Lrn.h"

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace rtml::kernels {
namespace cuda_detail {

constexpr int kLrnThreads = 256;

inline void lrnCheckLaunch(const char *what) {
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    throw std::runtime_error(std::string("rtml LRN: ") + what +
                             " launch failed: " + cudaGetErrorString(err));
}

inline unsigned lrnBlocks(int64_t positions) {
  return static_cast<unsigned>((positions + kLrnThreads - 1) / kLrnThreads);
}

/// Shifts WINDOW one place towards index 0 and puts V at the end.
template <int kLength>
__device__ __forceinline__ void lrnShift(float (&window)[kLength], float v) {
#pragma unroll
  for (int i = 0; i + 1 < kLength; ++i)
    window[i] = window[i + 1];
  window[kLength - 1] = v;
}

/// Sum of squares of WINDOW in ascending channel order (as the CPU twin).
template <int kLength>
__device__ __forceinline__ float lrnSumSquares(const float (&window)[kLength]) {
  float s = 0.0f;
#pragma unroll
  for (int i = 0; i < kLength; ++i)
    s += window[i] * window[i];
  return s;
}

template <int kLength>
__device__ __forceinline__ float lrnSum(const float (&window)[kLength]) {
  float s = 0.0f;
#pragma unroll
  for (int i = 0; i < kLength; ++i)
    s += window[i];
  return s;
}

/// Activated input of channel CH (0 outside [0, C): the zero padding), the
/// channels STRIDE elements apart (hw in NCHW, 1 in NHWC).
template <class Config, class Elem>
__device__ __forceinline__ float lrnLoad(const Elem *__restrict__ x, int ch,
                                         int c, int64_t stride) {
  return ch >= 0 && ch < c ? lrnActivate<Config>(kernelLdg(x + ch * stride))
                           : 0.0f;
}

/// Where position POS's channel 0 is, and how far apart its channels are:
/// NCHW (image, channel, pixel) or NHWC (image, pixel, channel).
template <bool kNhwc>
__device__ __forceinline__ void lrnLocate(int64_t pos, int c, int64_t hw,
                                          int64_t &offset, int64_t &stride) {
  if constexpr (kNhwc) {
    offset = pos * c;
    stride = 1;
  } else {
    const int64_t image = pos / hw;
    offset = image * c * hw + (pos - image * hw);
    stride = hw;
  }
}

/// Elem: float or Bf16 in memory, float in registers. kNhwc: one thread per
/// pixel still, walking the pixel's contiguous channels.
template <class Config, class Elem, bool kNhwc>
__global__ void __launch_bounds__(kLrnThreads)
    lrnForwardKernel(const Elem *__restrict__ x, Elem *__restrict__ y,
                     int64_t positions, int c, int64_t hw) {
  using T = LrnTraits<Config>;
  const int64_t pos = blockIdx.x * int64_t(kLrnThreads) + threadIdx.x;
  if (pos >= positions)
    return;
  int64_t offset, stride;
  lrnLocate<kNhwc>(pos, c, hw, offset, stride);
  x += offset;
  y += offset;

  // window[i]: activated input of channel ch - kBefore + i.
  float window[T::kSize];
#pragma unroll
  for (int i = 0; i < T::kSize; ++i)
    window[i] = lrnLoad<Config>(x, i - T::kBefore, c, stride);
#pragma unroll 4
  for (int ch = 0; ch < c; ++ch) {
    const float p =
        lrnScalePow<Config>(lrnScale<Config>(lrnSumSquares(window)));
    y[ch * stride] = kernelStore<Elem>(lrnOutput(window[T::kBefore], p));
    lrnShift(window, lrnLoad<Config>(x, ch + 1 + T::kAfter, c, stride));
  }
}

template <class Config, class Elem, bool kNhwc>
__global__ void __launch_bounds__(kLrnThreads)
    lrnBackwardKernel(const Elem *__restrict__ x, const Elem *__restrict__ gy,
                      Elem *__restrict__ gx, int64_t positions, int c,
                      int64_t hw) {
  using T = LrnTraits<Config>;
  const int64_t pos = blockIdx.x * int64_t(kLrnThreads) + threadIdx.x;
  if (pos >= positions)
    return;
  int64_t offset, stride;
  lrnLocate<kNhwc>(pos, c, hw, offset, stride);
  x += offset;
  gy += offset;
  gx += offset;

  // window[i]: activated input of channel ch - kBefore + i (scale_ch, and
  //            window[0] is the input j = ch - kBefore whose gradient is due);
  // terms[i]:  g p a / scale of channel ch - kSize + 1 + i, the reversed
  //            window [j - kAfter, j + kBefore] of j;
  // gradP[i]:  g p of channel ch - kBefore + i;
  // xs[i]:     raw x of the same channels (the ReLU mask).
  float window[T::kSize], terms[T::kSize], gradP[T::kBefore + 1],
      xs[T::kBefore + 1];
#pragma unroll
  for (int i = 0; i < T::kSize; ++i) {
    window[i] = lrnLoad<Config>(x, i - T::kBefore, c, stride);
    terms[i] = 0.0f;
  }
#pragma unroll
  for (int i = 0; i <= T::kBefore; ++i)
    gradP[i] = xs[i] = 0.0f;

    // Step ch computes the term of channel ch and the gradient of channel
    // ch - kBefore, the last input whose reversed window is then complete.
    // Channel ch's scale and scale^-beta are recomputed from its window, as the
    // forward computed them.
#pragma unroll 4
  for (int ch = 0; ch < c + T::kBefore; ++ch) {
    float term = 0.0f, gp = 0.0f, xv = 0.0f;
    if (ch < c) {
      xv = kernelLdg(x + ch * stride);
      const float g = kernelLdg(gy + ch * stride);
      const float scale = lrnScale<Config>(lrnSumSquares(window));
      const float p = lrnScalePow<Config>(scale);
      gp = g * p;
      term = lrnBackwardTerm(g, window[T::kBefore], p, scale);
    }
    lrnShift(terms, term);
    lrnShift(gradP, gp);
    lrnShift(xs, xv);
    const int j = ch - T::kBefore;
    if (j >= 0)
      gx[j * stride] = kernelStore<Elem>(
          lrnInputGrad<Config>(gradP[0], xs[0], lrnSum(terms)));
    lrnShift(window, lrnLoad<Config>(x, ch + 1 + T::kAfter, c, stride));
  }
}

//===----------------------------------------------------------------------===//
// NHWC: tiles of whole pixels in shared memory, one thread per element
//===----------------------------------------------------------------------===//

/// Elements per tile: 8 KiB of floats per shared array. The backward keeps
/// two (16 KiB per block of kLrnThreads), which leaves room for the full
/// 2048 threads per SM.
constexpr int kLrnNhwcTileFloats = 2048;
/// Elements per thread: each keeps its own inputs (and, backward, g p) in
/// registers across the passes, so x is read from memory once.
constexpr int kLrnNhwcPerThread = kLrnNhwcTileFloats / kLrnThreads;
static_assert(kLrnNhwcPerThread * kLrnThreads == kLrnNhwcTileFloats,
              "a tile is a whole number of elements per thread");

/// Where this block's tile of PIXELS pixels (C channels each) starts, and
/// how many of its elements exist (the last tile may be short).
__device__ __forceinline__ int lrnNhwcTile(int64_t positions, int c, int pixels,
                                           int64_t &base) {
  const int64_t first = blockIdx.x * int64_t(pixels);
  const int64_t count =
      positions - first < pixels ? positions - first : int64_t(pixels);
  base = first * c;
  return static_cast<int>(count) * c;
}

/// Pass 1 over a tile of ELEMENTS elements at X: this thread's inputs into
/// XS, their squares into SQUARES.
template <class Config, class Elem>
__device__ __forceinline__ void
lrnNhwcLoadTile(const Elem *__restrict__ x, int elements,
                float (&xs)[kLrnNhwcPerThread], float *squares) {
#pragma unroll
  for (int k = 0; k < kLrnNhwcPerThread; ++k) {
    const int e = threadIdx.x + k * kLrnThreads;
    if (e < elements) {
      xs[k] = kernelLdg(x + e);
      squares[e] = lrnSquare<Config>(xs[k]);
    }
  }
}

/// The three passes of the NHWC CPU twin (Lrn.h) over a tile, one thread
/// per element (element threadIdx.x + k * kLrnThreads for each k), each
/// pass reading the shared memory the one before wrote.
template <class Config, class Elem>
__global__ void __launch_bounds__(kLrnThreads)
    lrnForwardNhwcTileKernel(const Elem *__restrict__ x, Elem *__restrict__ y,
                             int64_t positions, int c, int pixels) {
  __shared__ float squares[kLrnNhwcTileFloats];
  int64_t base;
  const int elements = lrnNhwcTile(positions, c, pixels, base);
  x += base;
  y += base;
  float xs[kLrnNhwcPerThread];
  lrnNhwcLoadTile<Config>(x, elements, xs, squares);
  __syncthreads();
#pragma unroll
  for (int k = 0; k < kLrnNhwcPerThread; ++k) {
    const int e = threadIdx.x + k * kLrnThreads;
    if (e < elements) {
      const int ch = e % c;
      y[e] = kernelStore<Elem>(
          lrnNhwcOutputAt<Config>(squares + (e - ch), xs[k], ch, c));
    }
  }
}

template <class Config, class Elem>
__global__ void __launch_bounds__(kLrnThreads)
    lrnBackwardNhwcTileKernel(const Elem *__restrict__ x,
                              const Elem *__restrict__ gy,
                              Elem *__restrict__ gx, int64_t positions, int c,
                              int pixels) {
  __shared__ float squares[kLrnNhwcTileFloats];
  __shared__ float terms[kLrnNhwcTileFloats];
  int64_t base;
  const int elements = lrnNhwcTile(positions, c, pixels, base);
  x += base;
  gy += base;
  gx += base;
  float xs[kLrnNhwcPerThread], gradP[kLrnNhwcPerThread];
  lrnNhwcLoadTile<Config>(x, elements, xs, squares);
  __syncthreads();
#pragma unroll
  for (int k = 0; k < kLrnNhwcPerThread; ++k) {
    const int e = threadIdx.x + k * kLrnThreads;
    if (e < elements) {
      const int ch = e % c;
      terms[e] = lrnNhwcTermAt<Config>(squares + (e - ch), xs[k],
                                       kernelLdg(gy + e), ch, c, gradP[k]);
    }
  }
  __syncthreads();
#pragma unroll
  for (int k = 0; k < kLrnNhwcPerThread; ++k) {
    const int e = threadIdx.x + k * kLrnThreads;
    if (e < elements) {
      const int ch = e % c;
      gx[e] = kernelStore<Elem>(
          lrnNhwcInputGradAt<Config>(terms + (e - ch), gradP[k], xs[k], ch, c));
    }
  }
}

/// Pixels per NHWC tile for C channels, or 0 where one pixel does not fit
/// (or there are no channels: the walk's launcher then does nothing).
inline int lrnNhwcTilePixels(int64_t c) {
  return c > 0 && c <= kLrnNhwcTileFloats
             ? static_cast<int>(kLrnNhwcTileFloats / c)
             : 0;
}

inline unsigned lrnNhwcTiles(int64_t positions, int pixels) {
  return static_cast<unsigned>((positions + pixels - 1) / pixels);
}

/// Launches the forward kernel of (Config, Elem, kNhwc); WHAT names it in
/// the error if the launch fails.
template <class Config, class Elem, bool kNhwc>
void lrnForwardLaunch(const Elem *x, Elem *y, int64_t n, int64_t c, int64_t hw,
                      void *stream, const char *what) {
  const int64_t positions = n * hw;
  if (positions == 0 || c == 0)
    return;
  RTML_LAUNCH(lrnBlocks(positions), kLrnThreads,
              static_cast<cudaStream_t>(stream),
              lrnForwardKernel<Config, Elem, kNhwc>)
  (x, y, positions, static_cast<int>(c), hw);
  lrnCheckLaunch(what);
}

template <class Config, class Elem, bool kNhwc>
void lrnBackwardLaunch(const Elem *x, const Elem *gy, Elem *gx, int64_t n,
                       int64_t c, int64_t hw, void *stream, const char *what) {
  const int64_t positions = n * hw;
  if (positions == 0 || c == 0)
    return;
  RTML_LAUNCH(lrnBlocks(positions), kLrnThreads,
              static_cast<cudaStream_t>(stream),
              lrnBackwardKernel<Config, Elem, kNhwc>)
  (x, gy, gx, positions, static_cast<int>(c), hw);
  lrnCheckLaunch(what);
}

} // namespace cuda_detail

template <class Config, class Elem>
void lrnForwardCuda(const Elem *x, Elem *y, int64_t n, int64_t c, int64_t hw,
                    void *stream) {
  cuda_detail::lrnForwardLaunch<Config, Elem, false>(x, y, n, c, hw, stream,
                                                     "forward");
}

template <class Config, class Elem>
void lrnBackwardCuda(const Elem *x, const Elem *gy, Elem *gx, int64_t n,
                     int64_t c, int64_t hw, void *stream) {
  cuda_detail::lrnBackwardLaunch<Config, Elem, false>(x, gy, gx, n, c, hw,
                                                      stream, "backward");
}

template <class Config, class Elem>
void lrnForwardNhwcCuda(const Elem *x, Elem *y, int64_t n, int64_t c,
                        int64_t hw, void *stream) {
  using namespace cuda_detail;
  const int pixels = lrnNhwcTilePixels(c);
  const int64_t positions = n * hw;
  if (pixels == 0) {
    lrnForwardLaunch<Config, Elem, true>(x, y, n, c, hw, stream,
                                         "NHWC forward");
    return;
  }
  if (positions == 0)
    return;
  RTML_LAUNCH(lrnNhwcTiles(positions, pixels), kLrnThreads,
              static_cast<cudaStream_t>(stream),
              lrnForwardNhwcTileKernel<Config, Elem>)
  (x, y, positions, static_cast<int>(c), pixels);
  lrnCheckLaunch("NHWC forward");
}

template <class Config, class Elem>
void lrnBackwardNhwcCuda(const Elem *x, const Elem *gy, Elem *gx, int64_t n,
                         int64_t c, int64_t hw, void *stream) {
  using namespace cuda_detail;
  const int pixels = lrnNhwcTilePixels(c);
  const int64_t positions = n * hw;
  if (pixels == 0) {
    lrnBackwardLaunch<Config, Elem, true>(x, gy, gx, n, c, hw, stream,
                                          "NHWC backward");
    return;
  }
  if (positions == 0)
    return;
  RTML_LAUNCH(lrnNhwcTiles(positions, pixels), kLrnThreads,
              static_cast<cudaStream_t>(stream),
              lrnBackwardNhwcTileKernel<Config, Elem>)
  (x, gy, gx, positions, static_cast<int>(c), pixels);
  lrnCheckLaunch("NHWC backward");
}

} // namespace rtml::kernels

/// Explicit instantiations of the launchers (NCHW and NHWC) for CONFIG and
/// element ELEM, at global scope in a .cu file that has CONFIG's definition.
#define RTML_INSTANTIATE_LRN_CUDA_ELEM(Config, Elem)                           \
  template void ::rtml::kernels::lrnForwardCuda<Config, Elem>(                 \
      const Elem *, Elem *, int64_t, int64_t, int64_t, void *);                \
  template void ::rtml::kernels::lrnBackwardCuda<Config, Elem>(                \
      const Elem *, const Elem *, Elem *, int64_t, int64_t, int64_t, void *);  \
  template void ::rtml::kernels::lrnForwardNhwcCuda<Config, Elem>(             \
      const Elem *, Elem *, int64_t, int64_t, int64_t, void *);                \
  template void ::rtml::kernels::lrnBackwardNhwcCuda<Config, Elem>(            \
      const Elem *, const Elem *, Elem *, int64_t, int64_t, int64_t, void *);
/// Both element types: the float and the bf16 variant, each in both layouts.
#define RTML_INSTANTIATE_LRN_CUDA(Config)                                      \
  RTML_INSTANTIATE_LRN_CUDA_ELEM(Config, float)                                \
  RTML_INSTANTIATE_LRN_CUDA_ELEM(Config, ::rtml::kernels::Bf16)

#endif // RTML_RUNTIME_KERNELS_LRN_CUH
