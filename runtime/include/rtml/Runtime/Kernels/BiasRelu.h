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
#include "rtml/Runtime/Kernels/ChannelSums.h"
#include "rtml/Runtime/Kernels/HostDevice.h"

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
// here), by ChannelSums.h's tree. The pass that writes gradIn is the tree's
// first level, so gradIn is read once instead of twice.

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

  /// The bias gradient's summation tree.
  ChannelSumShape sums() const { return {n, channels, pixels, nhwc, 1}; }
};

/// The ReLU's input gradient from its output OUT and upstream GRAD, as
/// at::threshold_backward(GRAD, OUT, 0).
RTML_HOST_DEVICE inline float biasReluGradValue(float out, float grad) {
  return out > 0.0f ? grad : 0.0f;
}

/// Scratch floats the backward of A needs.
inline int64_t biasReluBackwardScratch(const BiasReluBackwardArgs &a) {
  return channelSumScratch(a.sums());
}

/// The CPU twin of the backward in element type Elem, with channelSumsCpu's
/// PARALLELFOR.
template <class Elem, class ParallelFor>
void biasReluBackwardRunCpu(const BiasReluBackwardArgs &a,
                            ParallelFor &&parallelFor) {
  const Elem *gy = static_cast<const Elem *>(a.gradOut);
  const Elem *y = static_cast<const Elem *>(a.out);
  Elem *gx = static_cast<Elem *>(a.gradIn);
  channelSumsCpu<1>(
      a.sums(), a.scratch, a.gradBias,
      [&](int64_t at, int64_t, float(&v)[1]) {
        v[0] = biasReluGradValue(kernelLoad(y[at]), kernelLoad(gy[at]));
        gx[at] = kernelStore<Elem>(v[0]);
      },
      parallelFor);
}

/// The CPU twin of the backward in A's element type.
template <class ParallelFor>
void biasReluBackwardCpu(const BiasReluBackwardArgs &a,
                         ParallelFor &&parallelFor) {
  if (a.bf16)
    biasReluBackwardRunCpu<Bf16>(a, parallelFor);
  else
    biasReluBackwardRunCpu<float>(a, parallelFor);
}

/// The CUDA kernels of the backward over A on STREAM. Defined by
/// runtime/lib/BiasReluCuda.cu in a CUDA build; throws std::runtime_error
/// when a launch fails.
void biasReluBackwardCuda(const BiasReluBackwardArgs &a, void *stream);

} // namespace rtml::kernels

#endif // RTML_RUNTIME_KERNELS_BIASRELU_H
