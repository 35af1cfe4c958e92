//===- TrainingLoop.cpp - The epochs and steps of a training run ----------===//
//
// Each epoch trains on its batches (checkpoints every --checkpoint-every
// steps), evaluates, records its metrics and saves its weights; signals,
// non-finite losses and weights stop it, saying what is kept on disk.
//
//===----------------------------------------------------------------------===//
#include "TrainingRun.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <torch/cuda.h>

#include <cmath>
#include <iomanip>

namespace rtml {

namespace {

void synchronize(at::Device device) {
  if (device.is_cuda())
    torch::cuda::synchronize(device.index());
}

struct StepAgreement {
  double lossSum; ///< over the combined batch
  int signal;     ///< SIGINT, SIGTERM or 0
};

/// Data parallel: one small collective per step gives every process the
/// combined batch's loss (so all see a non-finite one) and whether any was
/// asked to stop (SIGINT before SIGTERM), so that all stop at the same step.
StepAgreement agreeOnStep(Communicator &comm, double lossSum, int signal) {
  std::vector<at::Tensor> sums{
      at::tensor({lossSum, double(signal == SIGINT), double(signal == SIGTERM)},
                 at::TensorOptions().dtype(at::kDouble))};
  comm.allReduceSum(sums, "the step's loss");
  auto sum = sums.front().accessor<double, 1>();
  return {sum[0], sum[1] > 0 ? SIGINT : sum[2] > 0 ? SIGTERM : 0};
}

} // namespace

void TrainingRun::record(const PhaseMetrics &m) {
  result.history.push_back(m);
  if (folder)
    folder->appendMetrics(m);
}

void TrainingRun::saveCheckpoint(int64_t epoch, int64_t step,
                                 const RunningStats &localStats) {
  if (!savesCheckpoints)
    return;
  checkWeightsFinite(epoch, step);
  TrainState s;
  // Sums over every process: a collective, so every rank takes part.
  s.stats = localStats;
  if (comm)
    s.stats.sumOver(*comm, numHeads);
  if (!folder)
    return;
  s.model = info.name;
  s.weights = registryStateDict(*registry);
  size_t index = 0;
  for (const ParameterSpec &spec : registry->specs()) {
    if (!spec.trainable)
      continue;
    const at::Tensor &buffer = sgd->momentumBuffers()[index++];
    if (buffer.defined())
      s.momentum.emplace_back(spec.name, buffer.detach().to(at::kCPU));
  }
  s.epoch = epoch;
  s.step = step;
  s.shuffleEpochStart = epochShuffleState;
  s.augment = transform->generatorState();
  s.dropout = at::detail::getDefaultCPUGenerator().get_state();
  if (options.device.is_cuda())
    s.dropoutCuda = at::globalContext()
                        .defaultGenerator(cudaDevice(options.device))
                        .get_state();
  s.wallTimeS = earlierWall + secondsSince(wallStart);
  s.batchTime = totalBatchTime;
  s.batches = totalBatches;
  s.bestAccuracy = result.bestAccuracy;
  s.bestEpoch = result.bestEpoch;
  s.bestTestAccuracy = result.bestTestAccuracy;
  const PhaseMetrics &lastEval = hasVal ? result.finalVal : result.finalTest;
  s.lastTrainLoss = result.finalTrain.loss;
  s.lastTrainAccuracy = result.finalTrain.accuracy;
  s.lastEvalLoss = lastEval.loss;
  s.lastEvalAccuracy = lastEval.accuracy;
  s.settings = runSettingsOf(options);
  s.settings.dataIdentity = dataIdentity;
  writeTrainState(s, options.outDir);
  checkpointEpoch = epoch;
  checkpointStep = step;
}

void TrainingRun::checkWeightsFinite(int64_t epoch, int64_t step) const {
  for (const at::Tensor &t : registry->tensors())
    if (t.is_floating_point() && !at::isfinite(t).all().item<bool>())
      throw std::runtime_error("the weights are not finite after epoch " +
                               std::to_string(epoch) + " step " +
                               std::to_string(step) +
                               " (too high a learning rate?); " + whatIsKept());
}

std::string TrainingRun::whatIsKept() const {
  if (!savesCheckpoints)
    return "no run directory: nothing saved";
  if (checkpointEpoch == 0)
    return "nothing saved: the run has no checkpoint yet";
  std::string kept = "kept " + checkpointPath(options.outDir) + " (epoch " +
                     std::to_string(checkpointEpoch) + " step " +
                     std::to_string(checkpointStep) + ")";
  if (weightsEpoch > 0)
    kept += ", last.pt (epoch " + std::to_string(weightsEpoch) +
            ") and best.pt (epoch " + std::to_string(result.bestEpoch) + ")";
  return kept;
}

void TrainingRun::stopIfSignalled(int64_t epoch, int64_t step,
                                  const RunningStats &stats) {
  int sig = gStopSignal;
  if (comm) { // all stop at the same point, or none does
    sig = agreeOnStep(*comm, 0, sig).signal;
    // A signal that came during the collective waits for the next one.
    if (sig)
      gStopSignal = sig;
  }
  if (!sig)
    return;
  progress.finish();
  std::string where = std::string("interrupted by ") + stopSignalName(sig) +
                      " at epoch " + std::to_string(epoch) + " step " +
                      std::to_string(step);
  if (!savesCheckpoints)
    throw TrainingInterrupted(where + " (no run directory: nothing saved)",
                              sig);
  saveCheckpoint(epoch, step, stats);
  throw TrainingInterrupted(
      where + "; saved " + checkpointPath(options.outDir) +
          "; continue with: train --resume " + options.outDir,
      sig);
}

double TrainingRun::trainStep(int64_t epoch, int64_t i, RunningStats &stats,
                              const std::function<void()> &stopNow) {
  auto batchStart = Clock::now();
  auto [images, labels] = sampler->batch(i);
  // Data parallel: the last batch of an epoch may leave a process none.
  int64_t local = labels.size(0);
  double lossValue = 0;
  at::Tensor y, mainLogits;
  std::string where =
      "at epoch " + std::to_string(epoch) + " step " + std::to_string(i + 1);
  try {
    sgd->zeroGrad();
    std::vector<at::Tensor> heads;
    std::vector<double> headLosses;
    at::Tensor loss;
    if (local > 0) {
      at::Tensor x = (*transform)(images, /*training=*/true);
      y = labels.to(options.device);
      heads = model.forwardHeads(x, registry->tensors(), /*training=*/true);
      loss = combineHeadLosses(model, heads, y,
                               numHeads > 0 ? &headLosses : nullptr);
      lossValue = loss.item<double>();
    }
    double stepLoss = lossValue;
    int jobSignal = 0; // data parallel: a stop every process agreed on
    if (comm) {
      StepAgreement agreed = agreeOnStep(*comm, lossValue * local, gStopSignal);
      stepLoss = agreed.lossSum / double(sampler->globalBatchSize(i));
      jobSignal = agreed.signal;
      if (jobSignal) // keeps one that came during the collective
        gStopSignal = jobSignal;
    }
    if (!std::isfinite(stepLoss)) {
      progress.finish();
      throw std::runtime_error(std::string("loss is ") +
                               (std::isnan(stepLoss) ? "nan" : "inf") + " " +
                               where + "; " + whatIsKept());
    }
    if (jobSignal)
      stopNow();
    if (local > 0)
      loss.backward();
    if (comm) {
      if (local == 0)
        for (at::Tensor p : registry->trainableTensors())
          p.mutable_grad() = at::zeros_like(p);
      allReduceGradients(*comm, registry->trainableTensors(),
                         double(local) / sampler->globalBatchSize(i));
    }
    sgd->step();
    synchronize(options.device);
    if (local > 0) {
      mainLogits = heads.front().detach();
      if (numHeads > 0)
        stats.addHeads(heads, headLosses, y);
    }
  } catch (const c10::Error &e) {
    if (!isOutOfMemory(e.what_without_backtrace()))
      throw;
    progress.finish();
    throwOutOfMemory(e.what_without_backtrace(), options.device,
                     options.train.batchSize, where);
  } catch (const std::bad_alloc &) {
    progress.finish();
    throwOutOfMemory("std::bad_alloc", options.device, options.train.batchSize,
                     where);
  }
  double seconds = secondsSince(batchStart);
  if (local > 0)
    stats.add(mainLogits, y, lossValue, seconds);
  return seconds;
}

void TrainingRun::trainEpoch(int64_t epoch) {
  const TrainConfig &cfg = options.train;
  std::string prefix =
      "epoch " + std::to_string(epoch) + "/" + std::to_string(cfg.epochs);
  bool resumedEpoch = resumed && epoch == startEpoch;
  if (resumedEpoch)
    sampler->setGeneratorState(epochShuffleState);
  else
    epochShuffleState = sampler->generatorState();
  sampler->startEpoch();
  double lr = learningRateAt(cfg, epoch);
  sgd->setLearningRate(lr);
  int64_t batches = sampler->numBatches();
  if (options.maxSteps > 0)
    batches = std::min(batches, options.maxSteps);
  RunningStats stats = resumedEpoch ? resumed->stats : RunningStats();
  if (resumedEpoch && rank != 0)
    stats = RunningStats(); // the saved sums count every process once
  int64_t first = resumedEpoch ? std::min(startStep, batches) : 0;
  auto start = Clock::now();
  // Banks the time so far in STATS (what a checkpoint saves).
  auto bankTime = [&] {
    stats.elapsed += secondsSince(start);
    start = Clock::now();
  };
  for (int64_t i = first; i < batches; ++i) {
    if (gStopSignal && !comm) {
      bankTime();
      stopIfSignalled(epoch, i, stats);
    }
    bool measureTransfers = info.devices.size() > 1 && sessionSteps == 0;
    TransferBytes before = transferBytes();
    double seconds = trainStep(epoch, i, stats, [&] {
      bankTime();
      stopIfSignalled(epoch, i, stats);
    });
    if (measureTransfers) {
      TransferBytes after = transferBytes();
      result.transferPerStep = {after.forward - before.forward,
                                after.backward - before.backward};
      out << "devices: " << info.devices.size()
          << " logical; moved between them per step: forward "
          << formatBytes(result.transferPerStep.forward) << ", backward "
          << formatBytes(result.transferPerStep.backward) << std::endl;
    }
    ++sessionSteps;
    totalBatchTime += seconds;
    ++totalBatches;
    progress.update(prefix + " train", i + 1, batches, stats.loss(),
                    stats.accuracy(), stats.images,
                    stats.elapsed + secondsSince(start), i + 1 == batches);
    if (options.checkpointEvery > 0 && (i + 1) % options.checkpointEvery == 0 &&
        i + 1 < batches) {
      bankTime();
      saveCheckpoint(epoch, i + 1, stats);
    }
  }
  progress.finish();
  bankTime();
  stopIfSignalled(epoch, batches, stats);
  checkWeightsFinite(epoch, batches);
  RunningStats epochStats = stats;
  if (comm)
    epochStats.sumOver(*comm, numHeads);
  PhaseMetrics trainMetrics =
      epochStats.metrics(epoch, "train", stats.elapsed, model);
  trainMetrics.learningRate = lr;
  if (comm) // every process evaluates the model rank 0 saves
    broadcastFromRankZero(*comm, buffers, "batch-norm statistics");
  EvalContext context{epoch,
                      evalPhase,
                      &progress,
                      prefix + " " + evalPhase,
                      /*interruptible=*/!comm,
                      comm};
  const Dataset &evalSet = hasVal ? val : test;
  PhaseMetrics evalMetrics =
      evaluatePhase(model, registry->tensors(),
                    comm ? contiguousShard(evalSet, rank, world) : evalSet,
                    options.device, cfg.batchSize, context);
  stopIfSignalled(epoch, batches, stats);
  if (!std::isfinite(evalMetrics.loss) && evalMetrics.images > 0)
    throw std::runtime_error("the " + std::string(evalPhase) + " loss is " +
                             (std::isnan(evalMetrics.loss) ? "nan" : "inf") +
                             " after epoch " + std::to_string(epoch) + "; " +
                             whatIsKept());
  record(trainMetrics);
  record(evalMetrics);
  result.finalTrain = trainMetrics;
  evaluateEpoch(epoch, evalMetrics);
}

void TrainingRun::evaluateEpoch(int64_t epoch, const PhaseMetrics &m) {
  const PhaseMetrics &trainMetrics = result.finalTrain;
  (hasVal ? result.finalVal : result.finalTest) = m;
  if (!hasVal)
    result.bestTestAccuracy =
        haveBest ? std::max(result.bestTestAccuracy, m.accuracy) : m.accuracy;
  bool best = !haveBest || m.accuracy > result.bestAccuracy;
  if (best) {
    haveBest = true;
    result.bestAccuracy = m.accuracy;
    result.bestEpoch = epoch;
  }
  out << std::fixed << std::setprecision(4) << "epoch " << epoch << "/"
      << options.train.epochs << ": train loss " << trainMetrics.loss << " acc "
      << std::setprecision(2) << trainMetrics.accuracy * 100 << "% | "
      << evalPhase << " loss " << std::setprecision(4) << m.loss << " acc "
      << std::setprecision(2) << m.accuracy * 100 << "% | "
      << std::setprecision(1) << trainMetrics.timeS << " s, "
      << trainMetrics.imagesPerS << " img/s" << (best ? " (best)" : "")
      << std::defaultfloat << std::endl;
  if (!savesCheckpoints)
    return;
  if (folder)
    folder->saveWeights(registryStateDict(*registry), best);
  weightsEpoch = epoch;
  epochShuffleState = sampler->generatorState();
  saveCheckpoint(epoch + 1, 0, RunningStats());
}

} // namespace rtml
