//===- Data.cpp - CIFAR-10 reader, batch transforms and sampling ----------===//
#include "rtml/Runtime/Data.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional/upsampling.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <sys/stat.h>

namespace rtml {

namespace {

std::runtime_error dataError(const std::string &path, const std::string &msg) {
  return std::runtime_error(path + ": " + msg);
}

bool isRegularFile(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

} // namespace

Dataset readCifarFile(const std::string &path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    throw dataError(path, "no such file (expected a CIFAR-10 binary batch)");
  if (!S_ISREG(st.st_mode))
    throw dataError(path, "not a regular file");
  int64_t bytes = st.st_size;
  if (bytes == 0)
    throw dataError(path, "empty file (expected CIFAR-10 records of " +
                              std::to_string(kCifarRecordBytes) + " bytes)");
  if (bytes % kCifarRecordBytes != 0)
    throw dataError(path, "size " + std::to_string(bytes) +
                              " is not a whole number of " +
                              std::to_string(kCifarRecordBytes) +
                              "-byte CIFAR-10 records (truncated?)");
  int64_t n = bytes / kCifarRecordBytes;
  at::Tensor raw = at::empty({n, kCifarRecordBytes}, at::kByte);
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char *>(raw.data_ptr<uint8_t>()), bytes))
    throw dataError(path, "read failed");
  const uint8_t *data = raw.data_ptr<uint8_t>();
  for (int64_t i = 0; i < n; ++i) {
    uint8_t label = data[i * kCifarRecordBytes];
    if (label > 9)
      throw dataError(path, "record " + std::to_string(i) + " (byte offset " +
                                std::to_string(i * kCifarRecordBytes) +
                                ") has label " + std::to_string(label) +
                                ", expected 0..9");
  }
  Dataset set;
  set.labels = raw.select(1, 0).to(at::kLong);
  set.images = raw.narrow(1, 1, kCifarRecordBytes - 1)
                   .reshape({n, 3, 32, 32})
                   .contiguous();
  return set;
}

Dataset readCifarTrain(const std::string &dir) {
  std::string first = dir + "/data_batch_1.bin";
  if (!isRegularFile(first))
    throw dataError(first, "no such file: the training set needs "
                           "data_batch_1.bin (CIFAR-10 binary format)");
  std::vector<at::Tensor> images, labels;
  for (int i = 1;; ++i) {
    std::string path = dir + "/data_batch_" + std::to_string(i) + ".bin";
    if (i > 1 && !isRegularFile(path))
      break;
    Dataset part = readCifarFile(path);
    images.push_back(part.images);
    labels.push_back(part.labels);
  }
  if (images.size() == 1)
    return Dataset{images[0], labels[0]};
  return Dataset{at::cat(images), at::cat(labels)};
}

Dataset readCifarTest(const std::string &dir) {
  return readCifarFile(dir + "/test_batch.bin");
}

Dataset takeFirst(const Dataset &set, int64_t n) {
  if (n <= 0 || n >= set.size())
    return set;
  return Dataset{set.images.narrow(0, 0, n), set.labels.narrow(0, 0, n)};
}

BatchTransform::BatchTransform(DataConfig cfg, at::Device dev, uint64_t seed)
    : config(std::move(cfg)), device(dev),
      flipGen(at::make_generator<at::CPUGeneratorImpl>(seed)) {
  if (config.mean.empty() != config.std.empty())
    throw std::invalid_argument("data config: mean and std must both be set");
  if (!config.mean.empty()) {
    if (config.mean.size() != config.std.size())
      throw std::invalid_argument("data config: mean and std differ in length");
    int64_t c = static_cast<int64_t>(config.mean.size());
    auto opts = at::TensorOptions().dtype(at::kDouble);
    mean = at::from_blob(config.mean.data(), {1, c, 1, 1}, opts)
               .to(device, at::kFloat);
    std = at::from_blob(config.std.data(), {1, c, 1, 1}, opts)
              .to(device, at::kFloat);
  }
}

at::Tensor BatchTransform::operator()(const at::Tensor &images, bool training) {
  at::Tensor x = images.to(device).to(at::kFloat).div_(255.0);
  if (config.resize > 0 &&
      (x.size(2) != config.resize || x.size(3) != config.resize)) {
    namespace F = torch::nn::functional;
    x = F::interpolate(
        x, F::InterpolateFuncOptions()
               .size(std::vector<int64_t>{config.resize, config.resize})
               .mode(torch::kBilinear)
               .align_corners(false));
  }
  if (training && config.randomHorizontalFlip) {
    // Drawn on the CPU so that a seed gives the same flips on every device.
    at::Tensor flip = at::empty({x.size(0)}, at::kFloat)
                          .uniform_(0, 1, flipGen)
                          .lt(0.5)
                          .to(device)
                          .view({-1, 1, 1, 1});
    x = at::where(flip, x.flip({3}), x);
  }
  if (mean.defined())
    x = x.sub(mean).div(std);
  return x;
}

BatchSampler::BatchSampler(const Dataset &s, int64_t bs, bool shuf,
                           uint64_t seed)
    : set(s), batchSize(bs), shuffle(shuf),
      gen(at::make_generator<at::CPUGeneratorImpl>(seed)) {
  if (batchSize <= 0)
    throw std::invalid_argument("batch size must be positive");
}

void BatchSampler::startEpoch() {
  order = shuffle ? at::randperm(set.size(), gen, at::kLong) : at::Tensor();
}

int64_t BatchSampler::numBatches() const {
  return (set.size() + batchSize - 1) / batchSize;
}

std::pair<at::Tensor, at::Tensor> BatchSampler::batch(int64_t i) const {
  TORCH_CHECK(!shuffle || order.defined(),
              "BatchSampler: call startEpoch() before batch()");
  TORCH_CHECK(i >= 0 && i < numBatches(), "BatchSampler: batch ", i,
              " out of range");
  int64_t start = i * batchSize;
  int64_t len = std::min(batchSize, set.size() - start);
  if (!order.defined())
    return {set.images.narrow(0, start, len), set.labels.narrow(0, start, len)};
  at::Tensor idx = order.narrow(0, start, len);
  return {set.images.index_select(0, idx), set.labels.index_select(0, idx)};
}

} // namespace rtml
