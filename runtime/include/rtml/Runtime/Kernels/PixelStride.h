//===- PixelStride.h - Where a channels_last tensor's pixels are ----------===//
//
// The fused kernels read an NHWC input pixel by pixel with a pixel stride:
// dense channels_last, or a channel slice of a wider channels_last tensor
// (rtml.sibling_conv2d's results), read in place instead of copied.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_PIXELSTRIDE_H
#define RTML_RUNTIME_KERNELS_PIXELSTRIDE_H

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace rtml::kernels::detail {

/// The elements from one pixel's channels of X to the next's, where X
/// ([N, C, H, W]) is NHWC pixel by pixel: dense channels_last (C), or a
/// channel slice of a wider channels_last tensor (its channels); else 0.
inline int64_t nhwcPixelStride(const at::Tensor &x) {
  if (x.dim() != 4)
    return 0;
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  // The stride of the first of W, H, N that has more than one position,
  // divided by the positions below it.
  const int64_t stride = w > 1   ? x.stride(3)
                         : h > 1 ? x.stride(2)
                         : n > 1 ? x.stride(0)
                                 : c;
  if (stride < c || (c > 1 && x.stride(1) != 1) ||
      (w > 1 && x.stride(3) != stride) ||
      (h > 1 && x.stride(2) != w * stride) ||
      (n > 1 && x.stride(0) != h * w * stride))
    return 0;
  return stride;
}

} // namespace rtml::kernels::detail

#endif // RTML_RUNTIME_KERNELS_PIXELSTRIDE_H
