//===- DataPipelineTest.cpp - Grayscale, and data against the network -----===//
#include "TestUtil.h"

#include "rtml/Runtime/Data.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

using namespace rtml;
using namespace rtml::test;

namespace {

TransformConfig grayscale(int64_t channels) {
  TransformConfig t;
  t.kind = TransformConfig::Kind::Grayscale;
  t.numOutputChannels = channels;
  return t;
}

TransformConfig resize(int64_t h, int64_t w) {
  TransformConfig t;
  t.kind = TransformConfig::Kind::Resize;
  t.size = {h, w};
  return t;
}

/// torchvision's Grayscale(N) on IMAGES (uint8 [B, C, H, W]) as the network
/// would see it: on the float tensor for 3 channels; for 1 channel through
/// PIL (an 'L' image, which is how torchvision's MNIST hands it over).
at::Tensor torchvisionGrayscale(const at::Tensor &images, int64_t n) {
  TempDir dir;
  writeFile(dir / "in.raw",
            std::string(static_cast<const char *>(images.data_ptr()),
                        images.numel()));
  std::string shape;
  for (int64_t s : images.sizes())
    shape += std::to_string(s) + ",";
  std::string script = R"(
import numpy as np, torch, torchvision.transforms as T
from PIL import Image
x = np.fromfile(')" + dir / "in.raw" +
                       R"(', dtype=np.uint8).reshape()" + shape + R"()
g = T.Grayscale(num_output_channels=)" +
                       std::to_string(n) + R"()
if x.shape[1] == 3:
    out = g(torch.from_numpy(x).float() / 255)
else:
    out = torch.stack([T.ToTensor()(g(Image.fromarray(im[0], 'L'))) for im in x])
out.contiguous().numpy().astype(np.float32).tofile(')" +
                       dir / "out.raw" + R"(')
print(tuple(out.shape))
)";
  std::string output;
  EXPECT_EQ(runPython(script, dir.path(), output), 0) << output;
  std::string raw = readFile(dir / "out.raw");
  at::Tensor out = at::empty(
      {images.size(0), n, images.size(2), images.size(3)}, at::kFloat);
  EXPECT_EQ(raw.size(), out.numel() * sizeof(float)) << output;
  if (raw.size() == out.numel() * sizeof(float))
    std::memcpy(out.data_ptr(), raw.data(), raw.size());
  return out;
}

} // namespace

TEST(DataPipeline, GrayscaleMatchesTorchvision) {
  torch::manual_seed(0);
  for (int64_t in : {3, 1})
    for (int64_t out : {1, 3}) {
      at::Tensor images = at::randint(0, 256, {3, in, 5, 7}, at::kByte);
      DataConfig cfg;
      cfg.trainTransforms = {grayscale(out)};
      cfg.evalTransforms = {grayscale(out)};
      BatchTransform transform(cfg, at::kCPU, 0);
      at::Tensor ours = transform(images, false);
      at::Tensor ref = torchvisionGrayscale(images, out);
      ASSERT_EQ(ours.sizes(), ref.sizes()) << in << " -> " << out;
      EXPECT_TRUE(at::allclose(ours, ref, 1e-6, 1e-6))
          << in << " -> " << out << ": max difference "
          << (ours - ref).abs().max().item<float>();
    }
}

TEST(DataPipeline, GrayscaleRefusesOtherChannelCounts) {
  DataConfig cfg;
  cfg.evalTransforms = {grayscale(2)};
  EXPECT_NE(errorOf([&] {
              BatchTransform(cfg, at::kCPU, 0);
            }).find("num_output_channels must be 1 or 3"),
            std::string::npos);
  cfg.evalTransforms = {grayscale(3)};
  BatchTransform transform(cfg, at::kCPU, 0);
  EXPECT_NE(errorOf([&] {
              transform(at::zeros({1, 2, 4, 4}, at::kByte), false);
            }).find("grayscale takes 1 or 3 channels, the images have 2"),
            std::string::npos);
}

TEST(DataPipeline, ChecksTheDataAgainstTheNetworkInput) {
  Dataset gray{at::zeros({4, 1, 28, 28}, at::kByte), at::zeros({4}, at::kLong)};
  DataConfig plain;
  std::string msg = errorOf([&] {
    checkInputMatches(gray, plain, {3, 32, 32}, "/data/fmnist");
  });
  EXPECT_EQ(msg.rfind("/data/fmnist: the images are 1x28x28", 0), 0u) << msg;
  EXPECT_NE(msg.find("the network's input is 3x32x32"), std::string::npos);
  EXPECT_NE(msg.find("grayscale with num_output_channels: 3"),
            std::string::npos)
      << msg;
  // The channels fixed, the size is still wrong; then both fit.
  DataConfig fixed;
  fixed.trainTransforms = {grayscale(3)};
  fixed.evalTransforms = {grayscale(3)};
  msg = errorOf([&] { checkInputMatches(gray, fixed, {3, 32, 32}, "d"); });
  EXPECT_NE(msg.find("add a resize to [32, 32]"), std::string::npos) << msg;
  fixed.trainTransforms.push_back(resize(32, 32));
  fixed.evalTransforms.push_back(resize(32, 32));
  EXPECT_NO_THROW(checkInputMatches(gray, fixed, {3, 32, 32}, "d"));
  EXPECT_NO_THROW(checkInputMatches(gray, plain, {1, 28, 28}, "d"));
  // Only the evaluation pipeline wrong: still refused, naming it.
  fixed.evalTransforms.pop_back();
  msg = errorOf([&] { checkInputMatches(gray, fixed, {3, 32, 32}, "d"); });
  EXPECT_NE(msg.find("after the evaluation pipeline 3x28x28"),
            std::string::npos)
      << msg;
  // A normalize of three channels on one-channel images.
  DataConfig norm;
  norm.mean = {0.5, 0.5, 0.5};
  norm.std = {0.2, 0.2, 0.2};
  msg = errorOf([&] { checkInputMatches(gray, norm, {1, 28, 28}, "d"); });
  EXPECT_NE(msg.find("normalize has 3 channels"), std::string::npos) << msg;
}

TEST(DeviceData, OnlyAnInMemorySetWithinTheBudgetGoesToACudaDevice) {
  Dataset set{at::randint(0, 256, {10, 1, 4, 4}, at::kByte),
              at::arange(10, at::kLong)};
  const uint64_t bytes = set.images.nbytes() + set.labels.nbytes();
  // The CPU is where the set already is: nothing moves or is copied.
  Dataset cpu = keepOnDevice(set, at::kCPU, bytes);
  EXPECT_TRUE(cpu.images.is_same(set.images));
  EXPECT_TRUE(cpu.labels.is_same(set.labels));
  // Over the budget, or a budget of 0: the set stays on the host.
  const at::Device cuda(at::kCUDA, 0);
  Dataset over = keepOnDevice(set, cuda, bytes - 1);
  EXPECT_TRUE(over.images.is_same(set.images));
  EXPECT_TRUE(keepOnDevice(set, cuda, 0).labels.is_same(set.labels));
  // A streamed set has no images in memory to move.
  Dataset streamed{at::Tensor(), set.labels,
                   std::make_shared<const ImageFiles>(), at::arange(10)};
  Dataset kept = keepOnDevice(streamed, cuda, uint64_t(1) << 40);
  EXPECT_TRUE(kept.streamed());
  EXPECT_TRUE(kept.labels.is_same(set.labels));
}

TEST(DeviceData, TheBudgetIsFourGigabytesOrTheEnvironmentsMegabytes) {
  EXPECT_EQ(deviceDataBytes(), uint64_t(4) << 30);
  {
    ScopedEnv env("RTML_DEVICE_DATA_MB", "0");
    EXPECT_EQ(deviceDataBytes(), 0u);
  }
  {
    ScopedEnv env("RTML_DEVICE_DATA_MB", "200");
    EXPECT_EQ(deviceDataBytes(), uint64_t(200) << 20);
  }
  {
    ScopedEnv env("RTML_DEVICE_DATA_MB", "lots");
    EXPECT_EQ(deviceDataBytes(), uint64_t(4) << 30);
  }
}

TEST(DeviceData, ATensorAlreadyOnTheDeviceIsNotCopied) {
  at::Tensor labels = at::arange(5, at::kLong);
  EXPECT_TRUE(uploadToDevice(labels, at::kCPU).is_same(labels));
}
