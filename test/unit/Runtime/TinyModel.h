//===- TinyModel.h - A hand-written "emitted" model and its data for tests ===//
#ifndef RTML_TEST_UNIT_RUNTIME_TINYMODEL_H
#define RTML_TEST_UNIT_RUNTIME_TINYMODEL_H

#include "TestUtil.h"

#include "rtml/Runtime/Model.h"
#include "rtml/Runtime/Ops.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <limits>
#include <sstream>

namespace rtml::test {

/// A hand-written "emitted" model: average-pool to 4x4, dropout, linear.
class TinyModel : public CompiledModel {
public:
  TinyModel() {
    modelInfo.name = "tiny";
    modelInfo.inputShape = {3, 32, 32};
    modelInfo.numClasses = 2;
    modelInfo.train.epochs = 3;
    modelInfo.train.batchSize = 16;
    modelInfo.train.learningRate = 0.05;
    modelInfo.train.momentum = 0.9;
    modelInfo.train.weightDecay = 1e-4;
    modelInfo.train.seed = 1;
    modelInfo.data.randomHorizontalFlip = true;
    modelInfo.data.mean = {0.5, 0.5, 0.5};
    modelInfo.data.std = {0.25, 0.25, 0.25};
    params = {{"fc.weight", {2, 48}, ParamInit::FanInUniform, 48},
              {"fc.bias", {2}, ParamInit::FanInUniform, 48}};
  }
  const ModelInfo &info() const override { return modelInfo; }
  const std::vector<ParameterSpec> &parameters() const override {
    return params;
  }
  at::Tensor forward(const at::Tensor &input, const std::vector<at::Tensor> &p,
                     bool training) const override {
    ++forwardCalls;
    if (training) {
      int64_t n = ++trainingForwards;
      if (n == signalAt)
        std::raise(signalToRaise);
      if (n == oomAt)
        TORCH_CHECK(false, "CUDA out of memory. Tried to allocate 2.00 GiB");
    }
    at::Tensor x = ops::flatten(ops::adaptiveAvgPool2d(input, {4, 4}));
    x = ops::dropout(x, 0.1, training);
    at::Tensor logits = ops::linear(x, p[0], p[1]);
    // sqrt's gradient at 0 is infinite: a finite loss, a NaN update.
    if (training && nanGradientAt >= 0 && trainingForwards == nanGradientAt)
      logits = logits + at::sqrt(p[0].sum() * 0);
    if (training && nanAfter >= 0 && forwardCalls > nanAfter)
      logits = logits * std::numeric_limits<float>::quiet_NaN();
    return logits;
  }

  ModelInfo modelInfo;
  std::vector<ParameterSpec> params;
  mutable std::atomic<int64_t> forwardCalls{0};
  int64_t nanAfter = -1; ///< training forwards before the loss turns NaN
  mutable std::atomic<int64_t> trainingForwards{0};
  int64_t signalAt = -1; ///< raise signalToRaise in this training forward
  int signalToRaise = SIGKILL;
  int64_t oomAt = -1;         ///< throw a CUDA out-of-memory error in this one
  int64_t nanGradientAt = -1; ///< this training forward's update is NaN
};

/// Separable two-class data: class 0 dark images, class 1 bright ones, with
/// noise so that the task is not trivial for a random start.
inline std::string separableRecords(int n, uint32_t seed) {
  std::string bytes;
  uint32_t state = seed;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return state >> 24;
  };
  for (int i = 0; i < n; ++i) {
    int label = next() & 1;
    bytes.push_back(static_cast<char>(label));
    for (int j = 0; j < 3072; ++j)
      bytes.push_back(
          static_cast<char>(label ? 110 + next() % 146 : next() % 146));
  }
  return bytes;
}

inline void writeDataSet(const TempDir &dir) {
  writeFile(dir / "data_batch_1.bin", separableRecords(96, 1));
  writeFile(dir / "data_batch_2.bin", separableRecords(64, 2));
  writeFile(dir / "test_batch.bin", separableRecords(64, 3));
}

struct MainResult {
  int status;
  std::string out, err;
};

inline MainResult runMain(const CompiledModel &model,
                          std::vector<std::string> args) {
  args.insert(args.begin(), "tiny-trainer");
  std::vector<char *> argv;
  for (std::string &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  int status = trainerMain(static_cast<int>(args.size()), argv.data(), model);
  MainResult r{status, ::testing::internal::GetCapturedStdout(),
               ::testing::internal::GetCapturedStderr()};
  return r;
}

/// The records of a metrics.jsonl file, one JSON object a line (keys in
/// file order).
inline std::vector<nlohmann::ordered_json>
readMetrics(const std::string &path) {
  std::vector<nlohmann::ordered_json> records;
  std::istringstream in(readFile(path));
  for (std::string line; std::getline(in, line);)
    records.push_back(nlohmann::ordered_json::parse(line));
  return records;
}

inline int countLines(const std::string &text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

} // namespace rtml::test

#endif // RTML_TEST_UNIT_RUNTIME_TINYMODEL_H
