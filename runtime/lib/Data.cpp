//===- Data.cpp - Data set detection, batch transforms and sampling -------===//
#include "rtml/Runtime/Data.h"
#include "data/FusedPreprocess.h"
#include "data/ResizedCrop.h"
#include "rtml/Runtime/DataFiles.h"
#include "rtml/Runtime/Idx.h"
#include "rtml/Runtime/Serialization.h"

#include "rtml/Support/EnumNames.h"
#include "rtml/Support/Shapes.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional/upsampling.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <sys/stat.h>

namespace rtml {

namespace {

std::runtime_error dataError(const std::string &path, const std::string &msg) {
  return std::runtime_error(path + ": " + msg);
}

} // namespace

namespace {

/// The folders torchvision's MNIST and FashionMNIST leave the files in.
std::vector<std::string> idxCandidates(const std::string &dir) {
  return {dir, dir + "/raw", dir + "/FashionMNIST/raw", dir + "/MNIST/raw"};
}

bool holdsIdx(const std::string &dir) {
  return !findIdxFile(dir, "train-images-idx3-ubyte").empty() ||
         !findIdxFile(dir, "t10k-images-idx3-ubyte").empty();
}

/// Wraps BYTES without a copy: the tensor owns the vector.
at::Tensor byteTensor(std::vector<uint8_t> bytes,
                      const std::vector<int64_t> &shape) {
  auto *owner = new std::vector<uint8_t>(std::move(bytes));
  return at::from_blob(
      owner->data(), shape, [owner](void *) { delete owner; }, at::kByte);
}

} // namespace

const char *formatName(DataFormat format) {
  static constexpr const char *kNames[] = {
      "CIFAR-10 binary", "CIFAR-10 Python", "IDX (MNIST, Fashion-MNIST)",
      "ImageFolder (train/<class>/*.jpg|png)"};
  static_assert(std::size(kNames) == size_t(DataFormat::ImageFolder) + 1);
  return enumName(kNames, format, "unknown");
}

DataLocation locateData(const std::string &dir) {
  for (const std::string &d :
       {dir, dir + "/cifar-10-batches-bin", dir + "/cifar-10-batches-py"}) {
    if (fileStatus(d + "/data_batch_1.bin") != FileStatus::Missing ||
        fileStatus(d + "/test_batch.bin") != FileStatus::Missing)
      return {d, DataFormat::CifarBinary};
    if (fileStatus(d + "/data_batch_1") != FileStatus::Missing ||
        fileStatus(d + "/test_batch") != FileStatus::Missing)
      return {d, DataFormat::CifarPython};
  }
  for (const std::string &d : idxCandidates(dir))
    if (holdsIdx(d))
      return {d, DataFormat::Idx};
  if (holdsImageFolder(dir))
    return {dir, DataFormat::ImageFolder};
  std::string what =
      "expected a data set: CIFAR-10 (data_batch_1.bin .. data_batch_5.bin "
      "and test_batch.bin, or the Python format's data_batch_1 .. and "
      "test_batch, here or in cifar-10-batches-bin/ or cifar-10-batches-py/) "
      "or IDX (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
      "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each possibly .gz, "
      "here or in raw/) or torchvision's ImageFolder layout (train/<class>/"
      "*.jpg|*.png, val/ or test/)";
  // Named after the first file looked for, as the CIFAR-only reader did.
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw dataError(dir + "/data_batch_1.bin", "no such file: " + dir +
                                                   " is not a directory (" +
                                                   what + ")");
  throw dataError(dir + "/data_batch_1.bin",
                  "no such file: no data set in " + dir + " (" + what + ")");
}

Dataset readIdxSet(const std::string &dir, const std::string &prefix) {
  IdxImages idx = readIdxSplit(dir, prefix);
  std::vector<int64_t> labels(idx.labels.begin(), idx.labels.end());
  Dataset set;
  set.images =
      byteTensor(std::move(idx.pixels), {idx.count, 1, idx.height, idx.width});
  set.labels = at::tensor(labels, at::kLong);
  return set;
}

Dataset readTrainSet(const std::string &dir, const DataConfig &config) {
  DataLocation at = locateData(dir);
  if (at.format == DataFormat::Idx)
    return readIdxSet(at.dir, "train");
  if (at.format == DataFormat::ImageFolder)
    return readImageFolder(at.dir + "/train", imageFolderClasses(at.dir),
                           trainPipeline(config));
  return readCifarTrain(at.dir);
}

Dataset readTestSet(const std::string &dir, const DataConfig &config) {
  DataLocation at = locateData(dir);
  if (at.format == DataFormat::Idx)
    return readIdxSet(at.dir, "t10k");
  if (at.format == DataFormat::ImageFolder) {
    std::string split = imageFolderTestSplit(at.dir);
    if (split.empty())
      throw dataError(at.dir + "/val",
                      "no such directory (nor test/): an ImageFolder data set "
                      "needs val/ or test/ beside train/");
    return readImageFolder(split, imageFolderClasses(at.dir),
                           evalPipeline(config));
  }
  return readCifarTest(at.dir);
}

namespace {

std::string chw(const std::vector<int64_t> &s) {
  return std::to_string(s[0]) + "x" + std::to_string(s[1]) + "x" +
         std::to_string(s[2]);
}

/// The C, H, W a pipeline turns images of shape IN into; throws for a step
/// that cannot take what reaches it.
std::vector<int64_t> pipelineShape(std::vector<int64_t> shape,
                                   const std::vector<TransformConfig> &steps,
                                   const std::string &source,
                                   const char *phase) {
  using K = TransformConfig::Kind;
  for (const TransformConfig &t : steps) {
    switch (t.kind) {
    case K::Resize:
    case K::RandomResizedCrop:
      if (t.size.size() == 2) {
        shape[1] = t.size[0];
        shape[2] = t.size[1];
      }
      break;
    case K::Grayscale:
      if (shape[0] != 1 && shape[0] != 3)
        throw dataError(source, std::string("the ") + phase +
                                    " pipeline's grayscale takes 1 or 3 "
                                    "channels, the images have " +
                                    std::to_string(shape[0]));
      shape[0] = t.numOutputChannels;
      break;
    case K::Normalize:
      if (static_cast<int64_t>(t.mean.size()) != shape[0])
        throw dataError(source, std::string("the ") + phase +
                                    " pipeline's normalize has " +
                                    std::to_string(t.mean.size()) +
                                    " channels (mean and std), the images " +
                                    std::to_string(shape[0]) + " at that step");
      break;
    case K::RandomHorizontalFlip:
      break;
    }
  }
  return shape;
}

} // namespace

void checkInputMatches(const Dataset &set, const DataConfig &config,
                       const std::vector<int64_t> &inputShape,
                       const std::string &source) {
  if (set.size() == 0 || inputShape.size() != 3)
    return;
  std::vector<int64_t> data = set.imageShape();
  for (bool training : {true, false}) {
    const char *phase = training ? "training" : "evaluation";
    std::vector<int64_t> out = pipelineShape(
        data, training ? trainPipeline(config) : evalPipeline(config), source,
        phase);
    if (out == inputShape)
      continue;
    std::string msg = "the images are " + chw(data) +
                      " (channels x height x width), after the " + phase +
                      " pipeline " + chw(out) +
                      ", but the network's input is " + chw(inputShape);
    if (out[0] != inputShape[0])
      msg += out[0] == 1 && inputShape[0] == 3
                 ? ": add the transform grayscale with num_output_channels: "
                   "3 (it repeats the channel), or give the network a "
                   "1-channel input"
                 : ": the channels differ";
    else
      msg += ": add a resize to [" + std::to_string(inputShape[1]) + ", " +
             std::to_string(inputShape[2]) + "]";
    throw dataError(source, msg);
  }
}

std::vector<int64_t> Dataset::imageShape() const {
  if (streamed())
    return {3, files->height, files->width};
  return std::vector<int64_t>(images.sizes().begin() + 1, images.sizes().end());
}

Dataset Dataset::slice(int64_t start, int64_t len) const {
  if (streamed())
    return Dataset{at::Tensor(), labels.narrow(0, start, len), files,
                   rows.narrow(0, start, len)};
  return Dataset{images.narrow(0, start, len), labels.narrow(0, start, len)};
}

Dataset Dataset::select(const at::Tensor &idx) const {
  if (streamed())
    return Dataset{at::Tensor(), labels.index_select(0, idx), files,
                   rows.index_select(0, idx)};
  // A set held on a device is gathered there.
  at::Tensor onDevice = idx.to(images.device());
  return Dataset{images.index_select(0, onDevice),
                 labels.index_select(0, onDevice)};
}

at::Tensor Dataset::loadImages() const {
  return streamed() ? files->decode(rows) : images;
}

Dataset takeFirst(const Dataset &set, int64_t n) {
  if (n <= 0 || n >= set.size())
    return set;
  return set.slice(0, n);
}

Dataset contiguousShard(const Dataset &set, int64_t rank, int64_t world) {
  int64_t begin = set.size() * rank / world;
  int64_t end = set.size() * (rank + 1) / world;
  return set.slice(begin, end - begin);
}

std::pair<Dataset, Dataset> randomSplit(const Dataset &set, int64_t train,
                                        int64_t val, uint64_t seed) {
  if (train < 0 || val < 0 || train + val > set.size())
    throw std::invalid_argument("cannot split " + std::to_string(set.size()) +
                                " images into " + std::to_string(train) +
                                " training and " + std::to_string(val) +
                                " validation images");
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  at::Tensor perm = at::randperm(set.size(), gen, at::kLong);
  at::Tensor t = perm.narrow(0, 0, train), v = perm.narrow(0, train, val);
  return {set.select(t), set.select(v)};
}

std::vector<TransformConfig> trainPipeline(const DataConfig &config) {
  if (!config.trainTransforms.empty() || !config.evalTransforms.empty())
    return config.trainTransforms;
  std::vector<TransformConfig> steps;
  if (config.resize > 0) {
    TransformConfig t;
    t.kind = TransformConfig::Kind::Resize;
    t.size = {config.resize, config.resize};
    steps.push_back(t);
  }
  if (config.randomHorizontalFlip) {
    TransformConfig t;
    t.kind = TransformConfig::Kind::RandomHorizontalFlip;
    steps.push_back(t);
  }
  if (!config.mean.empty() || !config.std.empty()) {
    TransformConfig t;
    t.kind = TransformConfig::Kind::Normalize;
    t.mean = config.mean;
    t.std = config.std;
    steps.push_back(t);
  }
  return steps;
}

std::vector<TransformConfig> evalPipeline(const DataConfig &config) {
  if (!config.trainTransforms.empty() || !config.evalTransforms.empty())
    return config.evalTransforms;
  std::vector<TransformConfig> steps = trainPipeline(config);
  steps.erase(
      std::remove_if(steps.begin(), steps.end(),
                     [](const TransformConfig &t) {
                       return t.kind ==
                              TransformConfig::Kind::RandomHorizontalFlip;
                     }),
      steps.end());
  return steps;
}

namespace {

void checkStep(const TransformConfig &t) {
  using K = TransformConfig::Kind;
  switch (t.kind) {
  case K::Resize:
  case K::RandomResizedCrop:
    if (t.size.size() != 2 || t.size[0] <= 0 || t.size[1] <= 0)
      throw std::invalid_argument("data config: resize and "
                                  "random_resized_crop need a size [h, w]");
    if (t.kind == K::RandomResizedCrop &&
        (t.scale.size() != 2 || t.ratio.size() != 2 || t.scale[0] <= 0 ||
         t.scale[0] > t.scale[1] || t.ratio[0] <= 0 || t.ratio[0] > t.ratio[1]))
      throw std::invalid_argument("data config: random_resized_crop needs "
                                  "0 < scale[0] <= scale[1] and 0 < "
                                  "ratio[0] <= ratio[1]");
    break;
  case K::Normalize:
    if (t.mean.empty() || t.mean.size() != t.std.size())
      throw std::invalid_argument(
          "data config: mean and std must both be set, of equal length");
    break;
  case K::Grayscale:
    if (t.numOutputChannels != 1 && t.numOutputChannels != 3)
      throw std::invalid_argument("data config: grayscale's "
                                  "num_output_channels must be 1 or 3");
    break;
  case K::RandomHorizontalFlip:
    break;
  }
}

at::Tensor resizeTo(const at::Tensor &x, int64_t h, int64_t w) {
  if (x.size(-2) == h && x.size(-1) == w)
    return x;
  namespace F = torch::nn::functional;
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{h, w})
                               .mode(torch::kBilinear)
                               .align_corners(false));
}

} // namespace

BatchTransform::BatchTransform(DataConfig config, at::Device dev, uint64_t seed,
                               InputFormat inputFormat)
    : train(trainPipeline(config)), eval(evalPipeline(config)), device(dev),
      format(inputFormat), fused(dev.is_cuda()),
      gen(at::make_generator<at::CPUGeneratorImpl>(seed)) {
  for (const auto *steps : {&train, &eval})
    for (const TransformConfig &t : *steps)
      checkStep(t);
}

at::Tensor BatchTransform::apply(const TransformConfig &t,
                                 const at::Tensor &x) {
  using K = TransformConfig::Kind;
  switch (t.kind) {
  case K::Resize:
    return resizeTo(x, t.size[0], t.size[1]);
  case K::RandomHorizontalFlip: {
    // Drawn on the CPU so that a seed gives the same flips on every device.
    at::Tensor flip = detail::drawFlips(x.size(0), t.p, gen);
    flip = uploadToDevice(flip, device).view({-1, 1, 1, 1});
    return at::where(flip, x.flip({3}), x);
  }
  case K::RandomResizedCrop: {
    // The boxes are drawn on the CPU generator (the same crops on every
    // device), then the whole batch is cropped and resized on its device.
    detail::CropBoxes boxes = detail::drawCropBoxes(
        x.size(0), x.size(2), x.size(3), {t.scale[0], t.scale[1]},
        {t.ratio[0], t.ratio[1]}, gen);
    return detail::cropAndResize(x, boxes, t.size[0], t.size[1]);
  }
  case K::Normalize: {
    int64_t c = static_cast<int64_t>(t.mean.size());
    if (x.size(1) != c)
      throw std::runtime_error("normalize has " + std::to_string(c) +
                               " channels, the images " +
                               std::to_string(x.size(1)));
    auto opts = at::TensorOptions().dtype(at::kDouble);
    at::Tensor mean = at::tensor(t.mean, opts).view({1, c, 1, 1});
    at::Tensor std = at::tensor(t.std, opts).view({1, c, 1, 1});
    return x.sub(mean.to(device, at::kFloat)).div(std.to(device, at::kFloat));
  }
  case K::Grayscale: {
    int64_t c = x.size(1);
    if (c != 1 && c != 3)
      throw std::runtime_error("grayscale takes 1 or 3 channels, the images "
                               "have " +
                               std::to_string(c));
    // torchvision's weights (ITU-R 601-2 luma, as in functional_tensor).
    at::Tensor luma = c == 1 ? x
                             : (0.2989 * x.select(1, 0) +
                                0.587 * x.select(1, 1) + 0.114 * x.select(1, 2))
                                   .unsqueeze(1);
    return t.numOutputChannels == 1
               ? luma.contiguous()
               : luma.expand({-1, t.numOutputChannels, -1, -1}).contiguous();
  }
  }
  return x;
}

uint64_t deviceDataBytes() {
  return megabytesFromEnv("RTML_DEVICE_DATA_MB", uint64_t(4) << 30);
}

Dataset keepOnDevice(const Dataset &set, at::Device device, uint64_t budget) {
  if (!device.is_cuda() || set.streamed() || set.size() == 0)
    return set;
  uint64_t bytes = set.images.nbytes() + set.labels.nbytes();
  if (bytes > budget)
    return set;
  return Dataset{set.images.to(device), set.labels.to(device)};
}

at::Tensor uploadToDevice(const at::Tensor &host, at::Device device) {
  if (host.device() == device) // already there: a set held on the device
    return host;
  if (!device.is_cuda())
    return host.to(device);
  return host.pin_memory().to(device, /*non_blocking=*/true);
}

at::Tensor BatchTransform::operator()(const at::Tensor &images, bool training) {
  const std::vector<TransformConfig> &steps = training ? train : eval;
  if (fused && images.dim() == 4)
    if (std::optional<detail::FusedPipeline> one = detail::fusePipeline(
            steps, images.size(1), images.size(2), images.size(3))) {
      at::Tensor windows = detail::drawWindows(*one, images.size(0), gen);
      return detail::preprocess(uploadToDevice(images, device).contiguous(),
                                windows, *one, format.bf16, format.nhwc);
    }
  at::Tensor x = uploadToDevice(images, device).to(at::kFloat).div_(255.0);
  for (const TransformConfig &t : steps)
    x = apply(t, x);
  return x;
}

BatchSampler::BatchSampler(const Dataset &s, int64_t bs, bool shuf,
                           uint64_t seed)
    : set(s), batchSize(bs), shuffle(shuf),
      gen(at::make_generator<at::CPUGeneratorImpl>(seed)) {
  if (batchSize <= 0)
    throw std::invalid_argument("batch size must be positive");
}

BatchSampler::~BatchSampler() { dropPrefetched(); }

void BatchSampler::dropPrefetched() const {
  for (auto &[i, images] : prefetched)
    images.wait();
  prefetched.clear();
}

void BatchSampler::startEpoch() {
  dropPrefetched();
  order = shuffle ? at::randperm(set.size(), gen, at::kLong) : at::Tensor();
  // The epoch's order goes to a set held on a device once, not per batch.
  if (order.defined() && !set.labels.is_cpu())
    order = order.to(set.labels.device());
}

int64_t BatchSampler::numBatches() const {
  int64_t perStep = batchSize * world;
  return (set.size() + perStep - 1) / perStep;
}

void BatchSampler::shard(int64_t r, int64_t w) {
  if (w < 1 || r < 0 || r >= w)
    throw std::invalid_argument("bad data-parallel shard " + std::to_string(r) +
                                " of " + std::to_string(w));
  dropPrefetched();
  rank = r;
  world = w;
}

int64_t BatchSampler::globalBatchSize(int64_t i) const {
  int64_t perStep = batchSize * world;
  return std::min(perStep, set.size() - i * perStep);
}

Dataset BatchSampler::batchRows(int64_t i) const {
  int64_t start =
      std::min(i * batchSize * world + rank * batchSize, set.size());
  int64_t len = std::min(batchSize, set.size() - start);
  if (!order.defined())
    return set.slice(start, len);
  return set.select(order.narrow(0, start, len));
}

std::pair<at::Tensor, at::Tensor> BatchSampler::batch(int64_t i) const {
  TORCH_CHECK(!shuffle || order.defined(),
              "BatchSampler: call startEpoch() before batch()");
  TORCH_CHECK(i >= 0 && i < numBatches(), "BatchSampler: batch ", i,
              " out of range");
  Dataset rows = batchRows(i);
  if (!set.streamed())
    return {rows.images, rows.labels};
  // Start the decodes of this batch and the next ones that are not running
  // yet; each runs on its own thread (and decodes on worker threads).
  for (int64_t j = i; j < std::min(numBatches(), i + 1 + kPrefetchBatches); ++j)
    if (!prefetched.count(j))
      prefetched.emplace(j,
                         std::async(std::launch::async, [ahead = batchRows(j)] {
                           return ahead.loadImages();
                         }).share());
  std::shared_future<at::Tensor> images = prefetched.at(i);
  // Batches before I are not asked for again in order; drop them.
  for (auto it = prefetched.begin(); it != prefetched.end() && it->first <= i;)
    it = prefetched.erase(it);
  return {images.get(), rows.labels};
}

} // namespace rtml
