//===- ResizedCrop.cpp - random_resized_crop for a whole batch ------------===//
#include "ResizedCrop.h"

#include <ATen/ATen.h>

#include <cmath>

namespace rtml::detail {

namespace {

constexpr int64_t kAttempts = 10; // torchvision's

/// round(v) half away from zero, as std::llround, for v >= 0.
at::Tensor roundHalfUp(const at::Tensor &v) { return (v + 0.5).floor(); }

/// The source positions of OUT outputs over a crop of SIZE (per image, [n]):
/// F.interpolate's, in float: src = (dst + 0.5) * size / out - 0.5, at
/// least 0. Returns the lower and upper source index ([n, out], relative
/// to the crop) and the weight of the upper one.
std::array<at::Tensor, 3> sourcePositions(const at::Tensor &size, int64_t out) {
  at::Tensor scale = size.to(at::kFloat).div(static_cast<float>(out));
  at::Tensor dst = at::arange(out, at::kFloat).add(0.5f);
  at::Tensor src =
      dst.unsqueeze(0).mul(scale.unsqueeze(1)).sub(0.5f).clamp_min(0.0f);
  at::Tensor lower = src.to(at::kLong); // src >= 0: truncation is floor
  at::Tensor upper =
      lower + lower.lt(size.unsqueeze(1) - 1).to(at::kLong); // the edge stays
  at::Tensor weight = src - lower.to(at::kFloat);
  return {lower, upper, weight};
}

} // namespace

CropBoxes drawCropBoxes(int64_t n, int64_t height, int64_t width,
                        std::array<double, 2> scale,
                        std::array<double, 2> ratio, at::Generator &gen) {
  auto f64 = at::TensorOptions().dtype(at::kDouble);
  const double area = double(height) * width;
  at::Tensor target =
      at::empty({n, kAttempts}, f64).uniform_(scale[0], scale[1], gen) * area;
  at::Tensor aspect = at::empty({n, kAttempts}, f64)
                          .uniform_(std::log(ratio[0]), std::log(ratio[1]), gen)
                          .exp();
  at::Tensor w = roundHalfUp((target * aspect).sqrt()).to(at::kLong);
  at::Tensor h = roundHalfUp((target / aspect).sqrt()).to(at::kLong);
  at::Tensor fits = w.gt(0) & w.le(width) & h.gt(0) & h.le(height);
  // The first attempt that fits (argmax returns the first maximum).
  at::Tensor first = fits.to(at::kInt).argmax(1, /*keepdim=*/true);
  at::Tensor found = fits.any(1);
  w = w.gather(1, first).squeeze(1);
  h = h.gather(1, first).squeeze(1);

  // The fallback: the whole image at the nearest allowed ratio, centred.
  int64_t fallbackW = width, fallbackH = height;
  double inRatio = double(width) / height;
  if (inRatio < ratio[0])
    fallbackH = std::llround(fallbackW / ratio[0]);
  else if (inRatio > ratio[1])
    fallbackW = std::llround(fallbackH * ratio[1]);
  w = at::where(found, w, at::full_like(w, fallbackW));
  h = at::where(found, h, at::full_like(h, fallbackH));

  // Uniform placement of the drawn boxes; the fallback is centred.
  at::Tensor u = at::empty({2, n}, f64).uniform_(0.0, 1.0, gen);
  at::Tensor top = (u[0] * (height - h + 1).to(at::kDouble))
                       .floor()
                       .to(at::kLong)
                       .clamp_max(height - h);
  at::Tensor left = (u[1] * (width - w + 1).to(at::kDouble))
                        .floor()
                        .to(at::kLong)
                        .clamp_max(width - w);
  top = at::where(found, top, (height - h).div(2, "floor"));
  left = at::where(found, left, (width - w).div(2, "floor"));
  return {top, left, h, w};
}

at::Tensor cropAndResize(const at::Tensor &x, const CropBoxes &boxes,
                         int64_t outHeight, int64_t outWidth) {
  const int64_t n = x.size(0), c = x.size(1);
  auto [rowLo, rowHi, rowWeight] = sourcePositions(boxes.height, outHeight);
  auto [colLo, colHi, colWeight] = sourcePositions(boxes.width, outWidth);
  const at::Device device = x.device();
  auto rows = [&](const at::Tensor &index) {
    at::Tensor idx = (index + boxes.top.unsqueeze(1)).to(device);
    return x.gather(
        2, idx.view({n, 1, outHeight, 1}).expand({n, c, outHeight, x.size(3)}));
  };
  auto cols = [&](const at::Tensor &image, const at::Tensor &index) {
    at::Tensor idx = (index + boxes.left.unsqueeze(1)).to(device);
    return image.gather(
        3, idx.view({n, 1, 1, outWidth}).expand({n, c, outHeight, outWidth}));
  };
  at::Tensor wHi = colWeight.to(device).view({n, 1, 1, outWidth});
  at::Tensor wLo = 1.0f - wHi;
  at::Tensor hHi = rowWeight.to(device).view({n, 1, outHeight, 1});
  at::Tensor hLo = 1.0f - hHi;
  // As upsample_bilinear2d: along the width first, then the height.
  at::Tensor upper = rows(rowLo), lower = rows(rowHi);
  at::Tensor top = wLo * cols(upper, colLo) + wHi * cols(upper, colHi);
  at::Tensor bottom = wLo * cols(lower, colLo) + wHi * cols(lower, colHi);
  return hLo * top + hHi * bottom;
}

} // namespace rtml::detail
