//===- Trainer.h - The training loop, evaluation and benchmarking ---------===//
//
// What trainerMain's subcommands do, callable without a command line (the
// unit tests train a hand-written CompiledModel through runTraining).
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_TRAINER_H
#define RTML_RUNTIME_TRAINER_H

#include "rtml/Runtime/Data.h"
#include "rtml/Runtime/Model.h"

#include <c10/core/Device.h>

#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace rtml {

/// A command-line mistake: trainerMain reports it with exit status 2.
class UsageError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// "cpu", "cuda" or "cuda:N"; throws UsageError otherwise.
at::Device parseDevice(const std::string &text);
/// Throws std::runtime_error when DEVICE is a GPU this process cannot use.
void checkDeviceAvailable(at::Device device);

struct TrainOptions {
  std::string dataDir;
  std::string outDir; ///< empty: no files written
  TrainConfig train;
  at::Device device = at::kCPU;
  std::string weights;    ///< initial weights (a state dict), optional
  int64_t maxSteps = 0;   ///< > 0: at most this many batches per epoch
  int64_t limitTrain = 0; ///< > 0: use only the first N training images
  int64_t limitTest = 0;
  bool progress = true; ///< progress lines on the log stream
};

struct PhaseMetrics {
  int64_t epoch = 0;
  std::string phase; ///< "train" or "test"
  double loss = 0;
  double accuracy = 0; ///< fraction in [0, 1]
  int64_t images = 0;
  double timeS = 0;
  double meanBatchTimeS = 0;
  double imagesPerS = 0;
};

struct TrainResult {
  std::vector<PhaseMetrics> history;
  PhaseMetrics finalTrain, finalTest;
  double bestTestAccuracy = 0;
  int64_t bestEpoch = 0;
  double wallTimeS = 0;
  double meanBatchTimeS = 0; ///< over all training batches
  int64_t parameters = 0;
};

/// Trains per OPTIONS, evaluating on the test set after each epoch. With an
/// output directory, writes metrics.jsonl, summary.json and
/// checkpoints/{last,best}.pt (state dicts) plus checkpoints/last.optim.pt
/// (SGD momentum buffers, keys "momentum_buffer.<parameter name>"). A
/// non-finite loss throws "loss is nan at epoch E step S" before any update
/// or checkpoint of that epoch. Epoch summaries go to OUT, progress to LOG.
TrainResult runTraining(const CompiledModel &model, const TrainOptions &options,
                        std::ostream &out, std::ostream &log);

/// Loss and accuracy of PARAMS on SET in eval mode (no dropout, no flips).
PhaseMetrics evaluate(const CompiledModel &model,
                      const std::vector<at::Tensor> &params, const Dataset &set,
                      at::Device device, int64_t batchSize);

struct BenchResult {
  std::vector<double> stepMs;
  double meanMs = 0, medianMs = 0, imagesPerS = 0;
};

/// Times WARMUP untimed and then STEPS timed full training steps (forward,
/// loss, backward, SGD step) on random inputs of the model's shape.
BenchResult benchTrainStep(const CompiledModel &model, at::Device device,
                           int64_t batchSize, int64_t steps, int64_t warmup,
                           uint64_t seed);

/// JSON helpers shared by the trainer's outputs.
std::string jsonString(const std::string &text);
std::string jsonNumber(double value); ///< "null" when not finite

} // namespace rtml

#endif // RTML_RUNTIME_TRAINER_H
