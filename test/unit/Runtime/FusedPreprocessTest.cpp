//===- FusedPreprocessTest.cpp - The fused preprocessing kernel's twin ----===//
//
// The CPU twin of the fused preprocessing kernel against a float64
// reference (crop, F.interpolate, flip, /255, normalize per image), the
// fused BatchTransform against the steps one by one (the same draws, the
// same images within float rounding), its bf16 and NHWC outputs, the
// pipelines that do not fold, and windows that would read outside their
// image.
//
//===----------------------------------------------------------------------===//
#include "data/FusedPreprocess.h"
#include "rtml/Runtime/Data.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/nn/functional/upsampling.h>

#include <stdexcept>

using namespace rtml;
using rtml::detail::drawWindows;
using rtml::detail::FusedPipeline;
using rtml::detail::fusePipeline;
using rtml::detail::preprocess;
using Kind = TransformConfig::Kind;

namespace {

TransformConfig resize(int64_t h, int64_t w) {
  TransformConfig t;
  t.kind = Kind::Resize;
  t.size = {h, w};
  return t;
}

TransformConfig flip(double p = 0.5) {
  TransformConfig t;
  t.kind = Kind::RandomHorizontalFlip;
  t.p = p;
  return t;
}

TransformConfig crop(int64_t h, int64_t w) {
  TransformConfig t;
  t.kind = Kind::RandomResizedCrop;
  t.size = {h, w};
  return t;
}

TransformConfig normalize(std::vector<double> mean, std::vector<double> std) {
  TransformConfig t;
  t.kind = Kind::Normalize;
  t.mean = std::move(mean);
  t.std = std::move(std);
  return t;
}

TransformConfig grayscale(int64_t channels) {
  TransformConfig t;
  t.kind = Kind::Grayscale;
  t.numOutputChannels = channels;
  return t;
}

at::Tensor randomImages(std::vector<int64_t> shape, uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randint(0, 256, shape, gen, at::TensorOptions().dtype(at::kByte));
}

at::Tensor windowRows(std::vector<std::array<int32_t, 5>> rows) {
  at::Tensor w = at::empty({int64_t(rows.size()), 5}, at::kInt);
  for (size_t i = 0; i < rows.size(); ++i)
    for (int k = 0; k < 5; ++k)
      w[i][k] = rows[i][k];
  return w;
}

/// Image I of IMAGES in float64: its WINDOW's crop, F.interpolate'd to
/// OUTH x OUTW, flipped as the window says, over 255, normalized.
at::Tensor reference(const at::Tensor &images, int64_t i,
                     std::array<int32_t, 5> window, int64_t outH, int64_t outW,
                     const std::vector<double> &mean,
                     const std::vector<double> &std) {
  namespace F = torch::nn::functional;
  auto [top, left, h, w, flipped] = window;
  at::Tensor x = images.narrow(0, i, 1)
                     .narrow(2, top, h)
                     .narrow(3, left, w)
                     .to(at::kDouble);
  x = F::interpolate(x, F::InterpolateFuncOptions()
                            .size(std::vector<int64_t>{outH, outW})
                            .mode(torch::kBilinear)
                            .align_corners(false));
  if (flipped)
    x = x.flip({3});
  x = x / 255.0;
  int64_t c = images.size(1);
  auto f64 = at::TensorOptions().dtype(at::kDouble);
  return (x - at::tensor(mean, f64).view({1, c, 1, 1})) /
         at::tensor(std, f64).view({1, c, 1, 1});
}

double maxError(const at::Tensor &a, const at::Tensor &b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

DataConfig phases(std::vector<TransformConfig> train,
                  std::vector<TransformConfig> eval) {
  DataConfig config;
  config.trainTransforms = std::move(train);
  config.evalTransforms = std::move(eval);
  return config;
}

} // namespace

TEST(FusedPreprocess, TwinEqualsFloat64ReferenceForEveryWindow) {
  at::Tensor images = randomImages({5, 3, 17, 23}, 1);
  const std::vector<double> mean = {0.485, 0.456, 0.406},
                            std = {0.229, 0.224, 0.225};
  // Windows that shrink, enlarge, keep the size, touch every edge, are one
  // pixel thin, and are flipped.
  std::vector<std::array<int32_t, 5>> rows = {{0, 0, 17, 23, 0},
                                              {3, 7, 9, 5, 1},
                                              {16, 0, 1, 23, 0},
                                              {0, 22, 17, 1, 1},
                                              {5, 2, 12, 12, 1}};
  at::Tensor windows = windowRows(rows);
  for (auto [outH, outW] :
       {std::pair<int64_t, int64_t>{8, 11}, {17, 23}, {30, 7}, {1, 1}}) {
    std::vector<TransformConfig> steps = {crop(outH, outW),
                                          normalize(mean, std)};
    std::optional<FusedPipeline> f = fusePipeline(steps, 3, 17, 23);
    ASSERT_TRUE(f);
    at::Tensor out = preprocess(images, windows, *f, false, false);
    ASSERT_EQ(out.sizes(), (std::vector<int64_t>{5, 3, outH, outW}));
    for (int64_t i = 0; i < 5; ++i) {
      at::Tensor expected =
          reference(images, i, rows[i], outH, outW, mean, std);
      EXPECT_LT(maxError(out.narrow(0, i, 1), expected), 2e-5)
          << "image " << i << " at " << outH << "x" << outW;
    }
  }
}

TEST(FusedPreprocess, Bf16IsTheFloatResultRoundedAndNhwcTheSameValues) {
  at::Tensor images = randomImages({4, 3, 20, 24}, 2);
  std::vector<TransformConfig> steps = {
      resize(16, 12), normalize({0.5, 0.4, 0.3}, {0.2, 0.25, 0.3})};
  std::optional<FusedPipeline> f = fusePipeline(steps, 3, 20, 24);
  ASSERT_TRUE(f);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);
  at::Tensor windows = drawWindows(*f, 4, gen);
  at::Tensor nchw = preprocess(images, windows, *f, false, false);
  at::Tensor nhwc = preprocess(images, windows, *f, false, true);
  at::Tensor bf16 = preprocess(images, windows, *f, true, false);
  at::Tensor bf16Nhwc = preprocess(images, windows, *f, true, true);
  EXPECT_TRUE(nchw.is_contiguous());
  EXPECT_TRUE(nhwc.is_contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_FALSE(nhwc.is_contiguous());
  EXPECT_EQ(bf16.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(bf16Nhwc.is_contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(at::equal(nhwc, nchw));
  EXPECT_TRUE(at::equal(bf16, nchw.to(at::kBFloat16)));
  EXPECT_TRUE(at::equal(bf16Nhwc, bf16));
}

TEST(FusedPreprocess, BatchTransformFusedDrawsAndMakesWhatTheStepsDo) {
  const std::vector<double> gray = {0.5}, rgbMean = {0.5, 0.4, 0.3},
                            rgbStd = {0.2, 0.25, 0.3};
  struct Case {
    const char *name;
    int64_t channels;
    DataConfig config;
  };
  std::vector<Case> cases = {
      {"resize, flip, normalize", 3,
       phases({resize(16, 16), flip(), normalize(rgbMean, rgbStd)},
              {resize(16, 16), normalize(rgbMean, rgbStd)})},
      // A flip before the crop mirrors its box; two flips cancel.
      {"flip, crop, flip, normalize", 3,
       phases({flip(), crop(12, 10), flip(0.3), normalize(rgbMean, rgbStd)},
              {normalize(rgbMean, rgbStd)})},
      {"same-size resize, crop, grayscale 1", 3,
       phases({resize(20, 24), crop(9, 9), grayscale(1)}, {grayscale(1)})},
      {"grayscale 3 of one channel, normalize", 1,
       phases({grayscale(3), flip(), normalize(rgbMean, rgbStd)},
              {resize(30, 30), grayscale(3)})},
      {"normalize, then grayscale", 3,
       phases(
           {normalize(rgbMean, rgbStd), grayscale(3)},
           {normalize(rgbMean, rgbStd), grayscale(1), normalize(gray, gray)})},
      // Two resamplings do not fold: the fused transform runs the steps.
      {"resize then crop (not folded)", 3,
       phases({resize(16, 16), crop(8, 8)}, {resize(10, 12), resize(8, 8)})},
  };
  for (const Case &c : cases) {
    at::Tensor images = randomImages({6, c.channels, 20, 24}, 3);
    BatchTransform steps(c.config, at::kCPU, 7);
    BatchTransform fused(c.config, at::kCPU, 7);
    fused.setFused(true);
    for (int batch = 0; batch < 2; ++batch)
      for (bool training : {true, false}) {
        at::Tensor expected = steps(images, training);
        at::Tensor got = fused(images, training);
        ASSERT_EQ(got.sizes(), expected.sizes()) << c.name;
        EXPECT_EQ(got.scalar_type(), at::kFloat) << c.name;
        EXPECT_LT(maxError(got, expected), 2e-5)
            << c.name << ", batch " << batch
            << (training ? ", training" : ", evaluation");
      }
    // The same draws: the generators end in the same state.
    EXPECT_TRUE(at::equal(steps.generatorState(), fused.generatorState()))
        << c.name;
  }
}

TEST(FusedPreprocess, WritesTheModelsInputFormat) {
  at::Tensor images = randomImages({3, 3, 8, 8}, 4);
  DataConfig config = phases({flip()}, {});
  BatchTransform fused(config, at::kCPU, 0, {/*nhwc=*/true, /*bf16=*/true});
  fused.setFused(true);
  at::Tensor x = fused(images, /*training=*/true);
  EXPECT_EQ(x.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(x.is_contiguous(at::MemoryFormat::ChannelsLast));
  // Unfused (the CPU's default), the model's own conversions do it.
  BatchTransform steps(config, at::kCPU, 0, {true, true});
  EXPECT_EQ(steps(images, true).scalar_type(), at::kFloat);
}

TEST(FusedPreprocess, PipelinesThatDoNotFold) {
  EXPECT_FALSE(fusePipeline({resize(8, 8), resize(4, 4)}, 3, 16, 16));
  EXPECT_FALSE(fusePipeline({crop(8, 8), resize(4, 4)}, 3, 16, 16));
  EXPECT_FALSE(fusePipeline({}, 5, 16, 16)); // more channels than 4
  EXPECT_FALSE(fusePipeline({normalize({0.5}, {0.5})}, 3, 16, 16));
  EXPECT_FALSE(fusePipeline({grayscale(1), grayscale(3), grayscale(1),
                             normalize({0.5, 0.5}, {0.5, 0.5})},
                            3, 16, 16));
  // A resize to the size the images have is no step.
  std::optional<FusedPipeline> f =
      fusePipeline({resize(16, 16), crop(8, 8), resize(8, 8)}, 3, 16, 16);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->outHeight, 8);
  EXPECT_EQ(f->randomSteps.size(), 1u);
}

TEST(FusedPreprocess, RefusesWindowsOutsideTheImageAndOtherBatches) {
  at::Tensor images = randomImages({2, 1, 8, 8}, 5);
  std::optional<FusedPipeline> f = fusePipeline({}, 1, 8, 8);
  ASSERT_TRUE(f);
  for (std::array<int32_t, 5> bad : {std::array<int32_t, 5>{4, 0, 5, 8, 0},
                                     {0, -1, 8, 8, 0},
                                     {0, 0, 0, 8, 0},
                                     {0, 3, 8, 6, 1}})
    EXPECT_THROW(preprocess(images, windowRows({{0, 0, 8, 8, 0}, bad}), *f,
                            false, false),
                 std::invalid_argument);
  at::Tensor ok = windowRows({{0, 0, 8, 8, 0}, {0, 0, 8, 8, 1}});
  EXPECT_NO_THROW(preprocess(images, ok, *f, false, false));
  EXPECT_THROW(preprocess(images.to(at::kFloat), ok, *f, false, false),
               std::invalid_argument);
  EXPECT_THROW(preprocess(randomImages({2, 1, 8, 9}, 5), ok, *f, false, false),
               std::invalid_argument);
  EXPECT_THROW(preprocess(images, ok.to(at::kLong), *f, false, false),
               std::invalid_argument);
}
