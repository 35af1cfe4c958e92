//===- Data.h - CIFAR-10 binary format and the per-batch transforms -------===//
//
// Images stay uint8 [N, 3, 32, 32] in host memory (150 MB for all of CIFAR-10);
// each batch is moved to the training device and transformed there, so that
// a 224x224 float copy of the data set never exists.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_DATA_H
#define RTML_RUNTIME_DATA_H

#include "rtml/Runtime/Model.h"

#include <ATen/core/Generator.h>
#include <c10/core/Device.h>

#include <string>
#include <vector>

namespace rtml {

struct Dataset {
  at::Tensor images; ///< uint8 [N, 3, 32, 32]
  at::Tensor labels; ///< int64 [N], each in [0, 9]
  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

/// Bytes per CIFAR-10 record: one label byte and a 32x32 RGB planar image.
constexpr int64_t kCifarRecordBytes = 1 + 3 * 32 * 32;

/// Reads one CIFAR-10 binary file. Throws std::runtime_error naming the file
/// when it is missing, empty, not a whole number of records, or holds a label
/// above 9 (naming the record too).
Dataset readCifarFile(const std::string &path);
/// data_batch_1.bin, data_batch_2.bin, ... for as long as they exist (at least
/// the first must), concatenated in order.
Dataset readCifarTrain(const std::string &dir);
/// test_batch.bin.
Dataset readCifarTest(const std::string &dir);
/// The first N images of SET (all of them when N <= 0 or N >= size).
Dataset takeFirst(const Dataset &set, int64_t n);

/// Turns a uint8 batch into the network's input on DEVICE: float in [0, 1],
/// bilinear resize (align_corners=false) when config.resize is set, random
/// horizontal flip when training and configured, then per-channel normalize.
class BatchTransform {
public:
  BatchTransform(DataConfig config, at::Device device, uint64_t seed);
  at::Tensor operator()(const at::Tensor &images, bool training);

private:
  DataConfig config;
  at::Device device;
  at::Generator flipGen;
  at::Tensor mean, std; ///< [1, C, 1, 1] on device, or undefined
};

/// Batches of a data set in a fresh seeded order each epoch (or in file order
/// when not shuffling). The last batch may be smaller.
class BatchSampler {
public:
  BatchSampler(const Dataset &set, int64_t batchSize, bool shuffle,
               uint64_t seed);
  /// Draws this epoch's order; call once before each epoch.
  void startEpoch();
  int64_t numBatches() const;
  /// Images (uint8, CPU) and labels (int64, CPU) of batch I of this epoch.
  std::pair<at::Tensor, at::Tensor> batch(int64_t i) const;

private:
  Dataset set; ///< shares the caller's tensors
  int64_t batchSize;
  bool shuffle;
  at::Generator gen;
  at::Tensor order;
};

} // namespace rtml

#endif // RTML_RUNTIME_DATA_H
