//===- Preprocess.h - A uint8 batch to the network's input, in one pass ---===//
//
// The fused preprocessing kernel: every output pixel of a batch read from
// its uint8 images in one pass, where the unfused pipeline runs a kernel
// per step (to float, resize or crop, flip, grayscale, normalize, then the
// model's cast and layout conversion). A pipeline folds into it when it
// has at most one geometric step (runtime/lib/data/FusedPreprocess.cpp):
//
//   window    each image's box (the whole image, or its random crop),
//             resized bilinearly to the output size (align_corners false,
//             as F.interpolate), its columns mirrored when it is flipped;
//   channels  then one affine map of the channels (the /255, grayscale's
//             luma and normalize's mean and std, composed);
//   store     in float or bf16 (round to nearest even), NCHW or NHWC.
//
// No torch header: the CPU twin (FusedPreprocess.cpp) and the CUDA kernel
// (Preprocess.cuh) call the same element functions.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_PREPROCESS_H
#define RTML_RUNTIME_KERNELS_PREPROCESS_H

#include "rtml/Runtime/Kernels/Bf16.h"
#include "rtml/Runtime/Kernels/HostDevice.h"

#include <cstdint>

namespace rtml::kernels {

/// The most channels in and out (images have 1 or 3); wider pipelines run
/// unfused.
constexpr int kPreprocessMaxChannels = 4;

/// Output channel c = bias[c] + sum over k of weight[c][k] * (input
/// channel k's value, 0 to 255).
struct ChannelMap {
  float weight[kPreprocessMaxChannels][kPreprocessMaxChannels];
  float bias[kPreprocessMaxChannels];
};

/// One image's part: rows [top, top + height) and columns [left, left +
/// width) of its source, resized to the output; FLIP (0 or 1) mirrors the
/// output's columns.
struct ImageWindow {
  int32_t top, left, height, width, flip;
};

/// A batch: IMAGES [n, inChannels, inHeight, inWidth] uint8, contiguous;
/// WINDOWS [n]; OUT [n, outChannels, outHeight, outWidth], float or Bf16,
/// in NCHW or NHWC order. Passed by value as the kernel's argument.
struct PreprocessArgs {
  const uint8_t *images;
  const ImageWindow *windows;
  void *out;
  int64_t n, inChannels, inHeight, inWidth;
  int64_t outChannels, outHeight, outWidth;
  ChannelMap map;
  bool bf16;
  bool nhwc;
};

/// Where output index DST of OUT reads in a source extent of SIZE: as
/// upsample_bilinear2d (align_corners false) in float, src = (dst + 0.5) *
/// size / out - 0.5, at least 0; the lower and upper index (the edge
/// repeats) and the upper one's weight.
struct SourceTap {
  int32_t lower, upper;
  float weight;
};

RTML_HOST_DEVICE inline SourceTap sourceTap(int64_t dst, int32_t size,
                                            int64_t out) {
  float scale = static_cast<float>(size) / static_cast<float>(out);
  float src = (static_cast<float>(dst) + 0.5f) * scale - 0.5f;
  if (src < 0.0f)
    src = 0.0f;
  int32_t lower = static_cast<int32_t>(src); // src >= 0: truncation is floor
  int32_t upper = lower + (lower < size - 1 ? 1 : 0);
  return {lower, upper, src - static_cast<float>(lower)};
}

/// The output channels of pixel (Y, X) of image I into VALUES.
RTML_HOST_DEVICE inline void preprocessPixel(const PreprocessArgs &a, int64_t i,
                                             int64_t y, int64_t x,
                                             float *values) {
  const ImageWindow w = a.windows[i];
  const int64_t col = w.flip ? a.outWidth - 1 - x : x;
  const SourceTap r = sourceTap(y, w.height, a.outHeight);
  const SourceTap c = sourceTap(col, w.width, a.outWidth);
  const int64_t plane = a.inHeight * a.inWidth;
  const uint8_t *image = a.images + i * a.inChannels * plane;
  const int64_t row0 = int64_t(w.top + r.lower) * a.inWidth;
  const int64_t row1 = int64_t(w.top + r.upper) * a.inWidth;
  const int64_t col0 = w.left + c.lower, col1 = w.left + c.upper;
  float in[kPreprocessMaxChannels];
  for (int64_t k = 0; k < a.inChannels; ++k) {
    const uint8_t *p = image + k * plane;
    // As upsample_bilinear2d: along the width first, then the height.
    float top = (1.0f - c.weight) * float(p[row0 + col0]) +
                c.weight * float(p[row0 + col1]);
    float bottom = (1.0f - c.weight) * float(p[row1 + col0]) +
                   c.weight * float(p[row1 + col1]);
    in[k] = (1.0f - r.weight) * top + r.weight * bottom;
  }
  for (int64_t o = 0; o < a.outChannels; ++o) {
    float v = a.map.bias[o];
    for (int64_t k = 0; k < a.inChannels; ++k)
      v += a.map.weight[o][k] * in[k];
    values[o] = v;
  }
}

/// Stores VALUES (pixel (Y, X) of image I) into A's output.
RTML_HOST_DEVICE inline void storePixel(const PreprocessArgs &a, int64_t i,
                                        int64_t y, int64_t x,
                                        const float *values) {
  for (int64_t o = 0; o < a.outChannels; ++o) {
    int64_t at =
        a.nhwc ? ((i * a.outHeight + y) * a.outWidth + x) * a.outChannels + o
               : ((i * a.outChannels + o) * a.outHeight + y) * a.outWidth + x;
    if (a.bf16)
      static_cast<Bf16 *>(a.out)[at] = kernelStore<Bf16>(values[o]);
    else
      static_cast<float *>(a.out)[at] = values[o];
  }
}

/// The CPU twin: output rows [BEGIN, END) of the flat (image, row) range
/// [0, n * outHeight) of A, a row of pixels at a time. Rows are
/// independent: disjoint ranges may run in parallel.
inline void preprocessRowsCpu(const PreprocessArgs &a, int64_t begin,
                              int64_t end) {
  float values[kPreprocessMaxChannels];
  for (int64_t r = begin; r < end; ++r) {
    const int64_t i = r / a.outHeight, y = r % a.outHeight;
    for (int64_t x = 0; x < a.outWidth; ++x) {
      preprocessPixel(a, i, y, x, values);
      storePixel(a, i, y, x, values);
    }
  }
}

/// The CUDA kernel over A on STREAM (a cudaStream_t). Defined by
/// runtime/lib/PreprocessCuda.cu (nvcc) in a CUDA build; throws
/// std::runtime_error when the launch fails.
void preprocessCuda(const PreprocessArgs &a, void *stream);

} // namespace rtml::kernels

#endif // RTML_RUNTIME_KERNELS_PREPROCESS_H
