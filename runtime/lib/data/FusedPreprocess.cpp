//===- FusedPreprocess.cpp - A transform pipeline as one kernel -----------===//
#include "FusedPreprocess.h"

#include "ResizedCrop.h"
#include "rtml/Runtime/Data.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#ifdef RTML_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include <stdexcept>

namespace rtml::detail {

namespace {

using Kind = TransformConfig::Kind;
constexpr int64_t kMax = kernels::kPreprocessMaxChannels;
// drawWindows' rows are the kernel's windows.
static_assert(sizeof(kernels::ImageWindow) == 5 * sizeof(int32_t));

/// The channel map while it is composed, in double: output channel o =
/// bias[o] + sum_k weight[o][k] * input channel k.
struct AffineChannels {
  double weight[kMax][kMax] = {};
  double bias[kMax] = {};
  int64_t channels = 0;
};

/// torchvision's Grayscale on a float tensor (ITU-R 601-2 luma; one
/// channel is repeated) after MAP.
AffineChannels grayscale(const AffineChannels &map, int64_t outChannels) {
  static constexpr double kLuma[3] = {0.2989, 0.587, 0.114};
  AffineChannels out;
  out.channels = outChannels;
  for (int64_t o = 0; o < outChannels; ++o)
    for (int64_t c = 0; c < map.channels; ++c) {
      double w = map.channels == 1 ? 1.0 : kLuma[c];
      for (int64_t k = 0; k < kMax; ++k)
        out.weight[o][k] += w * map.weight[c][k];
      out.bias[o] += w * map.bias[c];
    }
  return out;
}

} // namespace

std::optional<FusedPipeline>
fusePipeline(const std::vector<TransformConfig> &steps, int64_t channels,
             int64_t height, int64_t width) {
  if (channels < 1 || channels > kMax)
    return std::nullopt;
  FusedPipeline f;
  f.inChannels = channels;
  f.inHeight = height;
  f.inWidth = width;
  AffineChannels map;
  map.channels = channels;
  for (int64_t c = 0; c < channels; ++c)
    map.weight[c][c] = 1.0 / 255.0; // uint8 to [0, 1]
  bool geometric = false;
  for (const TransformConfig &t : steps) {
    switch (t.kind) {
    case Kind::Resize:
      if (t.size[0] == height && t.size[1] == width)
        break; // the unfused resize leaves the batch as it is
      [[fallthrough]];
    case Kind::RandomResizedCrop:
      // Two resamplings are not one: those pipelines run step by step.
      if (geometric)
        return std::nullopt;
      geometric = true;
      height = t.size[0];
      width = t.size[1];
      if (t.kind == Kind::RandomResizedCrop)
        f.randomSteps.push_back(&t);
      break;
    case Kind::RandomHorizontalFlip:
      f.randomSteps.push_back(&t);
      break;
    case Kind::Normalize:
      if (static_cast<int64_t>(t.mean.size()) != map.channels ||
          t.std.size() != t.mean.size())
        return std::nullopt; // the step by step path says what is wrong
      for (int64_t o = 0; o < map.channels; ++o) {
        for (int64_t k = 0; k < kMax; ++k)
          map.weight[o][k] /= t.std[o];
        map.bias[o] = (map.bias[o] - t.mean[o]) / t.std[o];
      }
      break;
    case Kind::Grayscale:
      if ((map.channels != 1 && map.channels != 3) || t.numOutputChannels < 1 ||
          t.numOutputChannels > kMax)
        return std::nullopt;
      map = grayscale(map, t.numOutputChannels);
      break;
    }
  }
  f.outChannels = map.channels;
  f.outHeight = height;
  f.outWidth = width;
  for (int64_t o = 0; o < kMax; ++o) {
    for (int64_t k = 0; k < kMax; ++k)
      f.map.weight[o][k] = static_cast<float>(map.weight[o][k]);
    f.map.bias[o] = static_cast<float>(map.bias[o]);
  }
  return f;
}

at::Tensor drawFlips(int64_t n, double p, at::Generator &gen) {
  return at::empty({n}, at::kFloat).uniform_(0, 1, gen).lt(p);
}

at::Tensor drawWindows(const FusedPipeline &f, int64_t n, at::Generator &gen) {
  auto i64 = at::TensorOptions().dtype(at::kLong);
  at::Tensor top = at::zeros({n}, i64), left = at::zeros({n}, i64);
  at::Tensor height = at::full({n}, f.inHeight, i64);
  at::Tensor width = at::full({n}, f.inWidth, i64);
  at::Tensor flip = at::zeros({n}, at::kBool);
  for (const TransformConfig *t : f.randomSteps) {
    if (t->kind == Kind::RandomHorizontalFlip) {
      flip = flip.logical_xor(drawFlips(n, t->p, gen));
      continue;
    }
    // The crop is drawn on the image as it is, flipped or not: a box of
    // the flipped image is the mirrored box of the image, then flipped.
    CropBoxes boxes =
        drawCropBoxes(n, f.inHeight, f.inWidth, {t->scale[0], t->scale[1]},
                      {t->ratio[0], t->ratio[1]}, gen);
    top = boxes.top;
    height = boxes.height;
    width = boxes.width;
    left = at::where(flip, f.inWidth - boxes.left - boxes.width, boxes.left);
  }
  return at::stack({top, left, height, width, flip.to(at::kLong)}, 1)
      .to(at::kInt)
      .contiguous();
}

at::Tensor preprocess(const at::Tensor &images, const at::Tensor &windows,
                      const FusedPipeline &f, bool bf16, bool nhwc) {
  const int64_t n = images.size(0);
  if (images.scalar_type() != at::kByte || images.dim() != 4 ||
      !images.is_contiguous() || images.size(1) != f.inChannels ||
      images.size(2) != f.inHeight || images.size(3) != f.inWidth)
    throw std::invalid_argument(
        "preprocess: the images are not the contiguous uint8 batch of " +
        std::to_string(f.inChannels) + "x" + std::to_string(f.inHeight) + "x" +
        std::to_string(f.inWidth) + " images its pipeline takes");
  if (windows.scalar_type() != at::kInt || !windows.is_contiguous() ||
      windows.device().is_cuda() || windows.sizes() != at::IntArrayRef{n, 5})
    throw std::invalid_argument("preprocess: the windows are not a CPU int32 "
                                "[n, 5] tensor");
  // Every read stays inside its image, whatever drew the windows.
  at::Tensor w = windows.to(at::kLong);
  at::Tensor ok = w.select(1, 0).ge(0) & w.select(1, 2).ge(1) &
                  (w.select(1, 0) + w.select(1, 2)).le(f.inHeight) &
                  w.select(1, 1).ge(0) & w.select(1, 3).ge(1) &
                  (w.select(1, 1) + w.select(1, 3)).le(f.inWidth);
  if (!ok.all().item<bool>())
    throw std::invalid_argument("preprocess: a window leaves its image");

  at::Tensor out =
      at::empty({n, f.outChannels, f.outHeight, f.outWidth},
                images.options()
                    .dtype(bf16 ? at::kBFloat16 : at::kFloat)
                    .memory_format(nhwc ? at::MemoryFormat::ChannelsLast
                                        : at::MemoryFormat::Contiguous));
  if (n == 0)
    return out;
  kernels::PreprocessArgs a{};
  a.images = images.data_ptr<uint8_t>();
  a.out = out.data_ptr();
  a.n = n;
  a.inChannels = f.inChannels;
  a.inHeight = f.inHeight;
  a.inWidth = f.inWidth;
  a.outChannels = f.outChannels;
  a.outHeight = f.outHeight;
  a.outWidth = f.outWidth;
  a.map = f.map;
  a.bf16 = bf16;
  a.nhwc = nhwc;

  if (images.is_cuda()) {
#ifdef RTML_WITH_CUDA
    c10::cuda::CUDAGuard onDevice(images.device());
    at::Tensor onGpu = uploadToDevice(windows, images.device());
    a.windows = reinterpret_cast<const kernels::ImageWindow *>(
        onGpu.data_ptr<int32_t>());
    kernels::preprocessCuda(
        a, c10::cuda::getCurrentCUDAStream(images.device().index()).stream());
    return out;
#else
    throw std::runtime_error("preprocess: this runtime was built without CUDA");
#endif
  }
  a.windows = reinterpret_cast<const kernels::ImageWindow *>(
      windows.data_ptr<int32_t>());
  at::parallel_for(0, n * f.outHeight, 16, [&](int64_t begin, int64_t end) {
    kernels::preprocessRowsCpu(a, begin, end);
  });
  return out;
}

} // namespace rtml::detail
