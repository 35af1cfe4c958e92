//===- TrainingRun.h - One run of runTraining -----------------------------===//
//
// The state of a run and its phases: set up and finished in Trainer.cpp,
// its epochs, steps and checkpoints in TrainingLoop.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_LIB_TRAININGRUN_H
#define RTML_RUNTIME_LIB_TRAININGRUN_H

#include "Evaluation.h"
#include "Progress.h"
#include "RunFolder.h"
#include "RunningStats.h"
#include "StepGraph.h"
#include "StopSignals.h"
#include "TrainState.h"

#include "rtml/Runtime/Distributed.h"
#include "rtml/Runtime/Optimizer.h"
#include "rtml/Runtime/Parameters.h"
#include "rtml/Runtime/Trainer.h"

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <unistd.h>
#include <vector>

namespace rtml {

/// The default generator of a CUDA device ("cuda" is cuda:0).
inline at::Device cudaDevice(at::Device device) {
  return at::Device(at::kCUDA, device.has_index() ? device.index() : 0);
}

class TrainingRun {
public:
  TrainingRun(const CompiledModel &model, const TrainOptions &options,
              std::ostream &out, std::ostream &log)
      : model(model), info(model.info()), options(options), out(out), log(log),
        progress(log, options.progress, ::isatty(STDERR_FILENO)),
        comm(options.comm), rank(comm ? comm->rank() : 0),
        world(comm ? comm->worldSize() : 1) {}

  TrainResult run();

private:
  void takeSettingsFromCheckpoint();
  void checkSettings() const;
  void loadData();
  void setUpModel();
  void loadInitialWeights();
  void restoreFromCheckpoint();
  void trainEpoch(int64_t epoch);
  /// One training step on batch I; adds to STATS and SUMS without waiting
  /// for the device. Returns its (host) seconds.
  double trainStep(int64_t epoch, int64_t i, RunningStats &stats,
                   DeviceSums &sums,
                   const std::function<void()> &stopIfSignalled);
  /// A training batch's heads' logits, its loss and (side heads) each
  /// head's loss.
  struct BatchLoss {
    std::vector<at::Tensor> heads, headLosses;
    at::Tensor loss;
  };
  /// Forward and loss of a training batch X, Y (on the device).
  BatchLoss forwardLoss(const at::Tensor &x, const at::Tensor &y);
  /// Queues B's loss and correct counts onto SUMS (no wait).
  void addToSums(const BatchLoss &b, const at::Tensor &y, DeviceSums &sums);
  /// A step on the device batch X, Y as a CUDA graph: captures it (MODE
  /// Capture) or replays it. False: the capture failed and nothing ran;
  /// the caller runs the step eagerly.
  bool graphStep(StepMode mode, const at::Tensor &x, const at::Tensor &y,
                 DeviceSums &sums);
  /// Reads SUMS into STATS; throws when a loss of EPOCH was not finite,
  /// saying at which step and what is kept.
  void readSums(int64_t epoch, const DeviceSums &sums, RunningStats &stats);
  void evaluateEpoch(int64_t epoch, const PhaseMetrics &trainMetrics);
  void finalTest();
  void record(const PhaseMetrics &m);
  void saveCheckpoint(int64_t epoch, int64_t step, const RunningStats &stats);
  /// Throws TrainingInterrupted (after saving) when a signal asked to stop.
  void stopIfSignalled(int64_t epoch, int64_t step, const RunningStats &stats);
  /// Throws when a parameter or buffer is NaN or infinite, so that nothing
  /// non-finite is saved or evaluated.
  void checkWeightsFinite(int64_t epoch, int64_t step) const;
  /// What a run that diverges leaves on disk, for its error message.
  std::string whatIsKept() const;
  /// What every process of a data-parallel job must agree on.
  std::vector<Communicator::Setting> jobSettings() const;

  const CompiledModel &model;
  const ModelInfo &info;
  TrainOptions options;
  std::ostream &out, &log;
  Progress progress;
  Communicator *comm;
  int64_t rank, world;
  Clock::time_point wallStart = Clock::now();

  std::unique_ptr<TrainState> resumed; ///< the checkpoint resumed from
  std::string resumedFile;
  Dataset train, val, test;
  std::string dataIdentity; ///< of the data loaded, for the checkpoint
  bool hasVal = false;
  const char *evalPhase = "test";

  std::unique_ptr<ParameterRegistry> registry;
  std::unique_ptr<Sgd> sgd;
  std::unique_ptr<BatchSampler> sampler;
  std::unique_ptr<BatchTransform> transform;
  std::vector<at::Tensor> buffers; ///< non-trainable tensors (batch norm)
  size_t numHeads = 0;             ///< > 0: a model with side heads

  std::unique_ptr<DeviceSums> deviceSums; ///< the training epochs' sums
  std::unique_ptr<StepGraph> stepGraph;   ///< the captured training step
  at::Tensor graphInput, graphLabels;     ///< the captured step's batch
  bool graphsFailed = false;              ///< a capture failed: all eager

  std::unique_ptr<RunFolder> folder; ///< rank 0 of a run with a directory
  bool savesCheckpoints = false;     ///< the same on every rank
  TrainResult result;
  int64_t startEpoch = 1, startStep = 0;
  at::Tensor epochShuffleState;
  double earlierWall = 0, totalBatchTime = 0;
  int64_t totalBatches = 0, sessionSteps = 0;
  bool haveBest = false;
  /// The checkpoint and last.pt on disk (epoch 0: none), all finite.
  int64_t checkpointEpoch = 0, checkpointStep = 0, weightsEpoch = 0;
};

} // namespace rtml

#endif // RTML_RUNTIME_LIB_TRAININGRUN_H
