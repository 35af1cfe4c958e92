//===- BiasRelu.h - A convolution's bias and its ReLU, in one pass --------===//
//
// The epilogue of rtml.bias_relu: out = max(in + bias[c], 0) over an
// [n, c, pixels] tensor, where IN is a convolution's output computed
// without its bias. On CUDA, ATen adds a convolution's bias in a pass of
// its own after cuDNN's kernel; this kernel adds it while it applies the
// ReLU, so the output is read and written once instead of twice. Its
// backward likewise sums the bias's gradient while it writes the input's
// (below).
//
// Layouts: NCHW (each image's [c, pixels] block dense) or NHWC
// (channels_last: each pixel's channels dense), the input possibly a channel
// slice of a wider tensor (rtml.sibling_conv2d's results), found by its
// image and pixel strides. The output is dense in the input's layout.
//
// No torch header: the CPU twins (below) and the CUDA kernels (BiasRelu.cuh)
// call the same element functions and sum in the same order, so that they
// round alike.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_BIASRELU_H
#define RTML_RUNTIME_KERNELS_BIASRELU_H

#include "rtml/Runtime/Kernels/Bf16.h"
#include "rtml/Runtime/Kernels/HostDevice.h"

#include <algorithm>
#include <cstdint>

namespace rtml::kernels {

/// One launch. IN and OUT hold float, or Bf16 where BF16; BIAS is float
/// [channels]. NCHW: element (i, c, p) of IN is at i * imageStride + c *
/// pixels + p. NHWC: at i * imageStride + p * pixelStride + c. OUT is dense:
/// (i * channels + c) * pixels + p, or (i * pixels + p) * channels + c.
struct BiasReluArgs {
  const void *in;
  const float *bias;
  void *out;
  int64_t n, channels, pixels;
  int64_t imageStride, pixelStride;
  bool bf16, nhwc;
};

/// The ReLU of X plus its channel's BIAS, in float. A NaN stays a NaN, as
/// at::relu's does, so that the trainer's non-finite check still sees it.
RTML_HOST_DEVICE inline float biasReluValue(float x, float bias) {
  float v = x + bias;
  return v < 0.0f ? 0.0f : v;
}

/// Rows [BEGIN, END) of A for element type Elem: a row is one channel of one
/// image in NCHW (n * channels rows), one pixel of one image in NHWC (n *
/// pixels rows). Rows are independent: disjoint ranges may run in parallel.
template <class Elem>
inline void biasReluRowsCpu(const BiasReluArgs &a, int64_t begin, int64_t end) {
  const Elem *in = static_cast<const Elem *>(a.in);
  Elem *out = static_cast<Elem *>(a.out);
  for (int64_t r = begin; r < end; ++r) {
    if (a.nhwc) {
      const int64_t i = r / a.pixels, p = r % a.pixels;
      const Elem *src = in + i * a.imageStride + p * a.pixelStride;
      Elem *dst = out + r * a.channels;
      for (int64_t c = 0; c < a.channels; ++c)
        dst[c] =
            kernelStore<Elem>(biasReluValue(kernelLoad(src[c]), a.bias[c]));
    } else {
      const int64_t i = r / a.channels, c = r % a.channels;
      const Elem *src = in + i * a.imageStride + c * a.pixels;
      Elem *dst = out + r * a.pixels;
      const float bias = a.bias[c];
      for (int64_t p = 0; p < a.pixels; ++p)
        dst[p] = kernelStore<Elem>(biasReluValue(kernelLoad(src[p]), bias));
    }
  }
}

/// The rows biasReluRowsCpu takes for A.
inline int64_t biasReluRows(const BiasReluArgs &a) {
  return a.n * (a.nhwc ? a.pixels : a.channels);
}

/// The CPU twin over rows [BEGIN, END) of A, in A's element type.
inline void biasReluCpu(const BiasReluArgs &a, int64_t begin, int64_t end) {
  if (a.bf16)
    biasReluRowsCpu<Bf16>(a, begin, end);
  else
    biasReluRowsCpu<float>(a, begin, end);
}

/// The CUDA kernel over A on STREAM (a cudaStream_t). Defined by
/// runtime/lib/BiasReluCuda.cu (nvcc) in a CUDA build; throws
/// std::runtime_error when the launch fails.
void biasReluCuda(const BiasReluArgs &a, void *stream);

//===----------------------------------------------------------------------===//
// Backward: the input's gradient and the bias's, in one pass over them
//===----------------------------------------------------------------------===//
//
// gradIn = gradOut where out > 0, else 0 (at::relu's backward), and
// gradBias[c] = the float sum of gradIn over the images and pixels of
// channel c (what the convolution's backward summed before its bias moved
// here). The pass that writes gradIn also sums it, so it is read once
// instead of twice.
//
// The sum is deterministic and the same on every device and thread count:
// a tree of fan-out kBiasGradFanout whose order is fixed by the shape
// alone. Its first level sums runs of gradIn:
//   NHWC: segment s is the kBiasGradFanout rows s*F .. s*F+F-1 of the
//         [n * pixels, channels] matrix (the last segment may be short);
//   NCHW: segment s = i * chunks + q is image i's pixels q*F .. q*F+F-1
//         (chunks = ceil(pixels / F) per image);
// partial[s][c] being the sum of segment s of channel c in ascending order.
// Each further level sums F consecutive segments of the one before, in
// ascending order, until one remains: gradBias. Each sum starts at 0 and
// adds one value at a time (no contraction: there is no product).

/// Fan-out of the bias gradient's summation tree.
constexpr int64_t kBiasGradFanout = 16;

/// One backward launch. GRADOUT, OUT and GRADIN hold float, or Bf16 where
/// BF16, all dense in the layout: (i * channels + c) * pixels + p (NCHW) or
/// (i * pixels + p) * channels + c (NHWC). SCRATCH holds
/// biasReluBackwardScratch(*this) floats for the tree's inner levels;
/// GRADBIAS is float [channels].
struct BiasReluBackwardArgs {
  const void *gradOut;
  const void *out;
  void *gradIn;
  float *scratch;
  float *gradBias;
  int64_t n, channels, pixels;
  bool bf16, nhwc;
};

/// The ReLU's input gradient from its output OUT and upstream GRAD, as
/// at::threshold_backward(GRAD, OUT, 0).
RTML_HOST_DEVICE inline float biasReluGradValue(float out, float grad) {
  return out > 0.0f ? grad : 0.0f;
}

inline int64_t biasGradCeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Segments of the tree's first level (at least one, also for no elements,
/// so that gradBias is always written).
inline int64_t biasGradSegments(const BiasReluBackwardArgs &a) {
  int64_t s = a.nhwc ? biasGradCeilDiv(a.n * a.pixels, kBiasGradFanout)
                     : a.n * biasGradCeilDiv(a.pixels, kBiasGradFanout);
  return s > 0 ? s : 1;
}

/// Where the first level's sums go: the scratch, or gradBias where that
/// level is the only one.
inline float *biasGradFirstSums(const BiasReluBackwardArgs &a) {
  return biasGradSegments(a) > 1 ? a.scratch : a.gradBias;
}

/// Calls LEVEL(SEGMENTS, NEXT, IN, OUT) for each level after the first, in
/// order: it sums IN's SEGMENTS segments into OUT's NEXT. Each level's sums
/// follow the one before it in the scratch; the last level's are gradBias.
template <class Level>
void biasGradInnerLevels(const BiasReluBackwardArgs &a, Level &&level) {
  float *in = biasGradFirstSums(a);
  for (int64_t segments = biasGradSegments(a); segments > 1;) {
    const int64_t next = biasGradCeilDiv(segments, kBiasGradFanout);
    float *out = next > 1 ? in + segments * a.channels : a.gradBias;
    level(segments, next, static_cast<const float *>(in), out);
    in = out;
    segments = next;
  }
}

/// Scratch floats A needs: the sums of every level but the last.
inline int64_t biasReluBackwardScratch(const BiasReluBackwardArgs &a) {
  int64_t floats = 0;
  for (int64_t segments = biasGradSegments(a); segments > 1;
       segments = biasGradCeilDiv(segments, kBiasGradFanout))
    floats += segments * a.channels;
  return floats;
}

/// First level, segments [BEGIN, END) of A into PARTIAL ([segments,
/// channels]), writing their elements of gradIn.
template <class Elem>
inline void biasReluBackwardSegmentsCpu(const BiasReluBackwardArgs &a,
                                        float *partial, int64_t begin,
                                        int64_t end) {
  const Elem *gy = static_cast<const Elem *>(a.gradOut);
  const Elem *y = static_cast<const Elem *>(a.out);
  Elem *gx = static_cast<Elem *>(a.gradIn);
  const int64_t c = a.channels;
  for (int64_t s = begin; s < end; ++s) {
    float *sums = partial + s * c;
    for (int64_t ch = 0; ch < c; ++ch)
      sums[ch] = 0.0f;
    if (a.nhwc) {
      const int64_t rows = a.n * a.pixels;
      const int64_t last = std::min(rows, (s + 1) * kBiasGradFanout);
      for (int64_t r = s * kBiasGradFanout; r < last; ++r)
        for (int64_t ch = 0; ch < c; ++ch) {
          const int64_t at = r * c + ch;
          const float v =
              biasReluGradValue(kernelLoad(y[at]), kernelLoad(gy[at]));
          gx[at] = kernelStore<Elem>(v);
          sums[ch] += v;
        }
    } else {
      const int64_t chunks = biasGradCeilDiv(a.pixels, kBiasGradFanout);
      if (s >= a.n * chunks) // the one segment of no elements
        continue;
      const int64_t i = s / chunks, q = s % chunks;
      const int64_t from = q * kBiasGradFanout;
      const int64_t to = std::min(a.pixels, from + kBiasGradFanout);
      for (int64_t ch = 0; ch < c; ++ch) {
        const int64_t row = (i * c + ch) * a.pixels;
        for (int64_t p = from; p < to; ++p) {
          const float v = biasReluGradValue(kernelLoad(y[row + p]),
                                            kernelLoad(gy[row + p]));
          gx[row + p] = kernelStore<Elem>(v);
          sums[ch] += v;
        }
      }
    }
  }
}

/// One inner level, output segments [BEGIN, END): OUT[t][c] = the sum of
/// IN[s][c] over s in [t * F, min(t * F + F, SEGMENTS)), ascending.
inline void biasGradLevelCpu(const float *in, float *out, int64_t segments,
                             int64_t channels, int64_t begin, int64_t end) {
  for (int64_t t = begin; t < end; ++t) {
    float *sums = out + t * channels;
    for (int64_t ch = 0; ch < channels; ++ch)
      sums[ch] = 0.0f;
    const int64_t last = std::min(segments, (t + 1) * kBiasGradFanout);
    for (int64_t s = t * kBiasGradFanout; s < last; ++s)
      for (int64_t ch = 0; ch < channels; ++ch)
        sums[ch] += in[s * channels + ch];
  }
}

/// The CPU twin of the backward. PARALLELFOR(COUNT, GRAIN, FN) runs FN(BEGIN,
/// END) over disjoint ranges covering [0, COUNT) (serially, or
/// at::parallel_for): every range's sums are its own, so the result is the same
/// either way.
template <class ParallelFor>
void biasReluBackwardCpu(const BiasReluBackwardArgs &a,
                         ParallelFor &&parallelFor) {
  if (a.channels == 0)
    return;
  float *partial = biasGradFirstSums(a);
  const int64_t segments = biasGradSegments(a);
  const int64_t grain =
      std::max<int64_t>(1, 32768 / (a.channels * kBiasGradFanout));
  parallelFor(segments, grain, [&](int64_t begin, int64_t end) {
    if (a.bf16)
      biasReluBackwardSegmentsCpu<Bf16>(a, partial, begin, end);
    else
      biasReluBackwardSegmentsCpu<float>(a, partial, begin, end);
  });
  biasGradInnerLevels(
      a, [&](int64_t in, int64_t out, const float *from, float *to) {
        parallelFor(out, grain, [&](int64_t begin, int64_t end) {
          biasGradLevelCpu(from, to, in, a.channels, begin, end);
        });
      });
}

/// The CUDA kernels of the backward over A on STREAM. Defined by
/// runtime/lib/BiasReluCuda.cu in a CUDA build; throws std::runtime_error
/// when a launch fails.
void biasReluBackwardCuda(const BiasReluBackwardArgs &a, void *stream);

} // namespace rtml::kernels

#endif // RTML_RUNTIME_KERNELS_BIASRELU_H
