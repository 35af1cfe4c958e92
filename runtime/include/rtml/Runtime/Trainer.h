//===- Trainer.h - The training loop, evaluation and benchmarking ---------===//
//
// What trainerMain's subcommands do, callable without a command line (the
// unit tests train a hand-written CompiledModel through runTraining).
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_TRAINER_H
#define RTML_RUNTIME_TRAINER_H

#include "rtml/Runtime/Data.h"
#include "rtml/Runtime/DeviceMap.h"
#include "rtml/Runtime/Model.h"
#include "rtml/Runtime/Serialization.h"
#include "rtml/Runtime/StepProfile.h"

#include <c10/core/Device.h>

#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace rtml {

class Communicator;

/// A command-line mistake: trainerMain reports it with exit status 2.
class UsageError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// "cpu", "cuda" or "cuda:N"; throws UsageError otherwise.
at::Device parseDevice(const std::string &text);
/// Throws std::runtime_error when DEVICE is a GPU this process cannot use.
void checkDeviceAvailable(at::Device device);

/// Training stopped by SIGINT or SIGTERM after saving a checkpoint;
/// trainerMain exits with 128 + signal.
class TrainingInterrupted : public std::runtime_error {
public:
  TrainingInterrupted(const std::string &message, int signal)
      : std::runtime_error(message), signal(signal) {}
  int signal;
};

struct TrainOptions {
  std::string dataDir; ///< may be empty with resume: the run's data set
  std::string outDir;  ///< empty: no files written (ignored with resume)
  /// Replace the run an existing outDir holds (otherwise refused).
  bool overwrite = false;
  TrainConfig train;
  at::Device device = at::kCPU;
  std::string weights; ///< initial weights (a state dict), optional
  WeightsPolicy weightsPolicy;
  int64_t maxSteps = 0;   ///< > 0: at most this many batches per epoch
  int64_t limitTrain = 0; ///< > 0: use only the first N training images
  int64_t limitTest = 0;
  /// Validation images held out of the training set: < 0 the spec's split
  /// (DataConfig::splitVal, scaled to a smaller data set), 0 none.
  int64_t valImages = -1;
  int64_t splitSeed = -1; ///< < 0: the spec's, else the training seed
  bool progress = true;   ///< progress lines on the log stream
  /// On CUDA: after a few eager steps, capture the whole training step as a
  /// CUDA graph and replay it (full batches of a one-device model; the
  /// rest stays eager). --no-cuda-graph turns it off.
  bool cudaGraphs = true;
  /// Save a resumable checkpoint every N training steps (and at each epoch
  /// end); 0: only at epoch ends; < 0: the resumed run's, else 500.
  int64_t checkpointEvery = -1;
  /// A run directory or checkpoint file to continue. The run's settings come
  /// from its checkpoint; only epochsOverride (> 0), dataDir and
  /// checkpointEvery (>= 0) may change them.
  std::string resume;
  int64_t epochsOverride = 0;
  /// Catch SIGINT/SIGTERM while training: save a checkpoint and throw
  /// TrainingInterrupted.
  bool handleSignals = false;
  /// Data parallel: this process's group (not owned). Each process trains
  /// on its slice of every batch (batch size per process), gradients are
  /// averaged over the combined batch, evaluation is split between the
  /// processes, and rank 0 alone writes the run directory.
  Communicator *comm = nullptr;
};

struct HeadMetrics {
  std::string name;
  double loss = 0, accuracy = 0;
};

struct PhaseMetrics {
  int64_t epoch = 0;
  std::string phase; ///< "train", "val" or "test"
  double loss = 0;
  double accuracy = 0; ///< fraction in [0, 1]
  int64_t images = 0;
  double timeS = 0;
  double meanBatchTimeS = 0;
  double imagesPerS = 0;
  double learningRate = 0;        ///< train only
  std::vector<HeadMetrics> heads; ///< models with side heads only
};

struct TrainResult {
  std::vector<PhaseMetrics> history; ///< this session's records
  PhaseMetrics finalTrain, finalVal, finalTest;
  bool hasValidation = false;
  double bestAccuracy = 0; ///< on the validation set (test set without one)
  int64_t bestEpoch = 0;
  double bestTestAccuracy = 0; ///< over the test records
  double wallTimeS = 0;        ///< over every session of the run
  double meanBatchTimeS = 0;   ///< over all training batches
  int64_t parameters = 0;
  int64_t trainImages = 0, valImages = 0, testImages = 0;
  /// Models with several logical devices: bytes rtml.transfer ops moved
  /// in one training step (the first of the session).
  TransferBytes transferPerStep;
};

/// The resumable checkpoint of a run directory, and the previous one.
std::string checkpointPath(const std::string &runDir);
std::string previousCheckpointPath(const std::string &runDir);

/// Trains per OPTIONS. Each epoch trains and then evaluates on the
/// validation split (on the test set when there is none); with a split the
/// test set is evaluated once at the end. With an output directory, writes
/// metrics.jsonl, summary.json, checkpoints/{last,best}.pt (state dicts:
/// the last epoch's and the best one's weights) and checkpoints/checkpoint.pt
/// (everything to resume: weights, momentum, epoch, step, generator states,
/// settings), whose previous version is kept as checkpoint.prev.pt. A
/// non-finite loss throws "loss is nan at epoch E step S" before that step's
/// update. Epoch summaries go to OUT, progress to LOG.
TrainResult runTraining(const CompiledModel &model, const TrainOptions &options,
                        std::ostream &out, std::ostream &log);

/// Loss and accuracy of PARAMS on SET in eval mode (no dropout, no flips);
/// phase "test".
PhaseMetrics evaluate(const CompiledModel &model,
                      const std::vector<at::Tensor> &params, const Dataset &set,
                      at::Device device, int64_t batchSize);

struct BenchResult {
  std::vector<double> stepMs;
  double meanMs = 0, medianMs = 0, imagesPerS = 0;
  TransferBytes transferPerStep; ///< between logical devices
  /// How the timed steps ran: "eager", or "cuda-graph" (replays).
  std::string stepMode = "eager";
  /// With PROFILESTEPS: the ops and kernels of one step, measured over that
  /// many more steps run as the timed ones were.
  std::vector<ProfiledOp> profile;
  double profiledStepMs = 0; ///< the profiled steps' wall time, per step
};

/// Times WARMUP untimed and then STEPS timed full training steps (forward,
/// loss, backward, SGD step) on random inputs of the model's shape. With
/// CUDAGRAPHS, where the training loop would replay a captured step, so
/// does the bench (the capture itself is never timed).
BenchResult benchTrainStep(const CompiledModel &model, at::Device device,
                           int64_t batchSize, int64_t steps, int64_t warmup,
                           uint64_t seed, bool cudaGraphs = true,
                           int64_t profileSteps = 0);

/// "512 B", "1.50 MB" (decimal units).
std::string formatBytes(int64_t bytes);

} // namespace rtml

#endif // RTML_RUNTIME_TRAINER_H
