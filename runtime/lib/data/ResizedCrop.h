//===- ResizedCrop.h - random_resized_crop for a whole batch ----*- C++ -*-===//
//
// Private to the runtime: BatchTransform's random_resized_crop, in two
// batched steps, so that a batch costs a few tensor ops on its device
// rather than a draw, a crop and a resize per image:
//
//   drawCropBoxes   torchvision's RandomResizedCrop.get_params for every
//                   image at once (10 attempts each, then the central
//                   fallback), drawn on the CPU generator;
//   cropAndResize   each image's box resized bilinearly (align_corners
//                   false, as F.interpolate of the crop) by gathers.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_LIB_DATA_RESIZEDCROP_H
#define RTML_RUNTIME_LIB_DATA_RESIZEDCROP_H

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <array>

namespace rtml::detail {

/// One box per image: CPU int64 tensors [n], rows [top, top + height) and
/// columns [left, left + width) of the image.
struct CropBoxes {
  at::Tensor top, left, height, width;
};

/// The boxes of N images of HEIGHT x WIDTH: area fraction uniform in SCALE,
/// log aspect ratio uniform in log RATIO, the first of 10 attempts that
/// fits, placed uniformly; without one, the central crop of the nearest
/// allowed ratio (torchvision's fallback).
CropBoxes drawCropBoxes(int64_t n, int64_t height, int64_t width,
                        std::array<double, 2> scale,
                        std::array<double, 2> ratio, at::Generator &gen);

/// X ([n, c, h, w], float, any device) cropped to BOXES and resized to
/// OUTHEIGHT x OUTWIDTH: for each image, what F.interpolate (bilinear,
/// align_corners=false) gives on its crop.
at::Tensor cropAndResize(const at::Tensor &x, const CropBoxes &boxes,
                         int64_t outHeight, int64_t outWidth);

} // namespace rtml::detail

#endif // RTML_RUNTIME_LIB_DATA_RESIZEDCROP_H
