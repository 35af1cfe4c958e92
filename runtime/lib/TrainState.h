//===- TrainState.h - A run's resumable checkpoint ------------------------===//
//
// Everything that continues a run bit for bit, as one struct written to and
// read from checkpoints/checkpoint.pt (nested dicts torch.load reads).
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_LIB_TRAINSTATE_H
#define RTML_RUNTIME_LIB_TRAINSTATE_H

#include "RunningStats.h"

#include "rtml/Runtime/Serialization.h"
#include "rtml/Runtime/Trainer.h"

#include <ATen/core/Tensor.h>

#include <string>

namespace rtml {

/// The settings a run keeps across --resume: those of TrainOptions that
/// decide what is trained, in the checkpoint's config/ dict.
struct RunSettings {
  std::string dataDir;
  TrainConfig train;
  int64_t maxSteps = 0;
  int64_t limitTrain = 0;
  int64_t limitTest = 0;
  int64_t valImages = 0;
  int64_t splitSeed = 0;
  int64_t checkpointEvery = 500;
  /// The data set's sizes and fingerprint; empty in checkpoints written
  /// before it was recorded (their resume is not checked).
  std::string dataIdentity;
};

/// The run settings of OPTIONS, and OPTIONS with SETTINGS applied.
RunSettings runSettingsOf(const TrainOptions &options);
void applyRunSettings(const RunSettings &settings, TrainOptions &options);

struct TrainState {
  std::string model;
  StateDict weights;  ///< model_state_dict, by parameter name
  StateDict momentum; ///< SGD momentum buffers that exist, by parameter name
  int64_t epoch = 1;  ///< where to continue: epoch and step in it
  int64_t step = 0;
  /// Generator states: the order at the epoch's start, augmentation, and
  /// dropout (CPU; CUDA when training there).
  at::Tensor shuffleEpochStart, augment, dropout, dropoutCuda;
  RunningStats stats; ///< of the epoch's training so far, over every process
  double wallTimeS = 0, batchTime = 0;
  int64_t batches = 0;
  double bestAccuracy = 0, bestTestAccuracy = 0;
  int64_t bestEpoch = 0;
  double lastTrainLoss = 0, lastTrainAccuracy = 0;
  double lastEvalLoss = 0, lastEvalAccuracy = 0;
  RunSettings settings;
};

/// Writes STATE as RUN's checkpoint, atomically; the one it replaces becomes
/// the previous checkpoint.
void writeTrainState(const TrainState &state, const std::string &runDir);
/// Reads a checkpoint, refusing a file that is not one; HINT ends the
/// message of a file that cannot be read.
TrainState readTrainState(const std::string &path, const std::string &hint);

} // namespace rtml

#endif // RTML_RUNTIME_LIB_TRAINSTATE_H
