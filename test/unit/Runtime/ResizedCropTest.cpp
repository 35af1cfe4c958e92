//===- ResizedCropTest.cpp - The batched random_resized_crop --------------===//
//
// cropAndResize against F.interpolate of each image's crop (the per-image
// reference), and drawCropBoxes against torchvision's rules for the boxes.
//
//===----------------------------------------------------------------------===//
#include "data/ResizedCrop.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/nn/functional/upsampling.h>

#include <cmath>

using rtml::detail::cropAndResize;
using rtml::detail::CropBoxes;
using rtml::detail::drawCropBoxes;

namespace {

at::Tensor interpolateCrop(const at::Tensor &x, int64_t image, int64_t top,
                           int64_t left, int64_t h, int64_t w, int64_t outH,
                           int64_t outW) {
  namespace F = torch::nn::functional;
  at::Tensor crop = x.narrow(0, image, 1).narrow(2, top, h).narrow(3, left, w);
  return F::interpolate(crop, F::InterpolateFuncOptions()
                                  .size(std::vector<int64_t>{outH, outW})
                                  .mode(torch::kBilinear)
                                  .align_corners(false));
}

at::Tensor longs(std::vector<int64_t> v) {
  return at::tensor(v, at::TensorOptions().dtype(at::kLong));
}

} // namespace

TEST(ResizedCrop, EachImageEqualsInterpolateOfItsCrop) {
  at::manual_seed(0);
  at::Tensor x = at::rand({5, 3, 17, 23});
  // Boxes that shrink, enlarge, keep the size, touch every edge and are one
  // pixel thin, for outputs larger and smaller than the crops.
  CropBoxes boxes{longs({0, 3, 16, 0, 5}), longs({0, 7, 0, 22, 2}),
                  longs({17, 9, 1, 17, 12}), longs({23, 5, 23, 1, 12})};
  for (auto [outH, outW] :
       {std::pair<int64_t, int64_t>{8, 11}, {17, 23}, {30, 7}, {1, 1}}) {
    at::Tensor batched = cropAndResize(x, boxes, outH, outW);
    ASSERT_EQ(batched.sizes(), (std::vector<int64_t>{5, 3, outH, outW}));
    for (int64_t k = 0; k < 5; ++k) {
      at::Tensor expected = interpolateCrop(
          x, k, boxes.top[k].item<int64_t>(), boxes.left[k].item<int64_t>(),
          boxes.height[k].item<int64_t>(), boxes.width[k].item<int64_t>(), outH,
          outW);
      EXPECT_TRUE(at::allclose(batched.narrow(0, k, 1), expected, 1e-5, 1e-6))
          << "image " << k << " at " << outH << "x" << outW << ": max error "
          << (batched.narrow(0, k, 1) - expected).abs().max().item<float>();
    }
  }
}

TEST(ResizedCrop, TheWholeImageAtItsSizeIsTheImage) {
  at::Tensor x = at::rand({2, 1, 6, 9});
  CropBoxes boxes{longs({0, 0}), longs({0, 0}), longs({6, 6}), longs({9, 9})};
  EXPECT_TRUE(at::equal(cropAndResize(x, boxes, 6, 9), x));
}

TEST(ResizedCrop, DrawnBoxesFitAndFollowScaleAndRatio) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(7);
  const int64_t n = 400, height = 40, width = 60;
  CropBoxes b = drawCropBoxes(n, height, width, {0.2, 0.6}, {0.5, 2.0}, gen);
  for (const at::Tensor &t : {b.top, b.left, b.height, b.width})
    ASSERT_EQ(t.sizes(), (std::vector<int64_t>{n}));
  EXPECT_TRUE(b.top.ge(0).all().item<bool>());
  EXPECT_TRUE(b.left.ge(0).all().item<bool>());
  EXPECT_TRUE((b.top + b.height).le(height).all().item<bool>());
  EXPECT_TRUE((b.left + b.width).le(width).all().item<bool>());
  at::Tensor area = (b.height * b.width).to(at::kDouble) / (height * width);
  at::Tensor aspect = b.width.to(at::kDouble) / b.height.to(at::kDouble);
  // Rounding the sides to whole pixels moves area and ratio a little.
  EXPECT_TRUE(area.ge(0.2 * 0.85).all().item<bool>());
  EXPECT_TRUE(area.le(0.6 * 1.15).all().item<bool>());
  EXPECT_TRUE(aspect.ge(0.5 * 0.85).all().item<bool>());
  EXPECT_TRUE(aspect.le(2.0 * 1.15).all().item<bool>());
  // Placed all over the image, not always at one corner.
  EXPECT_GT(b.top.max().item<int64_t>(), 5);
  EXPECT_GT(b.left.max().item<int64_t>(), 5);
  // The same seed draws the same boxes; the next draw differs.
  at::Generator again = at::make_generator<at::CPUGeneratorImpl>(7);
  CropBoxes c = drawCropBoxes(n, height, width, {0.2, 0.6}, {0.5, 2.0}, again);
  EXPECT_TRUE(at::equal(b.top, c.top) && at::equal(b.width, c.width));
  CropBoxes d = drawCropBoxes(n, height, width, {0.2, 0.6}, {0.5, 2.0}, again);
  EXPECT_FALSE(at::equal(c.top, d.top) && at::equal(c.width, d.width));
}

TEST(ResizedCrop, NoFittingAttemptFallsBackToTheCentredNearestRatio) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(1);
  // A square image and ratios of 10 to 20: no attempt fits, so the crop is
  // the full width at ratio 10 (round(30 / 10) = 3 rows), centred.
  CropBoxes b = drawCropBoxes(6, 30, 30, {0.9, 1.0}, {10.0, 20.0}, gen);
  EXPECT_TRUE(b.width.eq(30).all().item<bool>());
  EXPECT_TRUE(b.height.eq(3).all().item<bool>());
  EXPECT_TRUE(b.top.eq(13).all().item<bool>());
  EXPECT_TRUE(b.left.eq(0).all().item<bool>());
  // And on the tall side: ratios of 1/20 to 1/10 give the full height.
  CropBoxes t = drawCropBoxes(4, 30, 30, {0.9, 1.0}, {0.05, 0.1}, gen);
  EXPECT_TRUE(t.height.eq(30).all().item<bool>());
  EXPECT_TRUE(t.width.eq(3).all().item<bool>());
  EXPECT_TRUE(t.left.eq(13).all().item<bool>());
}
