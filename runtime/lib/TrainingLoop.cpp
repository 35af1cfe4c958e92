//===- TrainingLoop.cpp - The epochs and steps of a training run ----------===//
//
// Each epoch trains on its batches (checkpoints every --checkpoint-every
// steps), evaluates, records its metrics and saves its weights; signals,
// non-finite losses and weights stop it, saying what is kept on disk.
//
//===----------------------------------------------------------------------===//
#include "TrainingRun.h"

#include "rtml/Runtime/DeviceMap.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>

#include <cmath>
#include <iomanip>

namespace rtml {

namespace {

/// The longest a run goes without reading its loss sums (for the guard on
/// non-finite losses) when no progress line asks for them.
constexpr double kGuardSeconds = 10;

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

void TrainingRun::readSums(int64_t epoch, const DeviceSums &sums,
                           RunningStats &stats) {
  NonFiniteLoss bad = sums.readInto(stats);
  if (!bad.step)
    return;
  progress.finish();
  throw std::runtime_error(std::string("loss is ") +
                           (bad.isNan ? "nan" : "inf") + " at epoch " +
                           std::to_string(epoch) + " step " +
                           std::to_string(bad.step) + "; " + whatIsKept());
}

TrainingRun::BatchLoss TrainingRun::forwardLoss(const at::Tensor &x,
                                                const at::Tensor &y) {
  BatchLoss b;
  b.heads =
      model.forwardHeads(x, registry->forwardTensors(), /*training=*/true);
  b.loss = combineHeadLosses(model, b.heads, y,
                             numHeads > 0 ? &b.headLosses : nullptr);
  return b;
}

void TrainingRun::addToSums(const BatchLoss &b, const at::Tensor &y,
                            DeviceSums &sums) {
  // Queued on the device, read at the progress interval and epoch end:
  // nothing here waits for the device.
  sums.add(b.loss, b.heads.front(), y);
  if (numHeads > 0)
    sums.addHeads(b.heads, b.headLosses, y);
}

bool TrainingRun::graphStep(StepMode mode, const at::Tensor &x,
                            const at::Tensor &y, DeviceSums &sums) {
  if (mode == StepMode::Replay) {
    // The graph reads its batch from these tensors and adds to SUMS, which
    // the epochs restart in place; the learning rate is on the device.
    graphInput.copy_(x);
    graphLabels.copy_(y);
    stepGraph->replay();
    return true;
  }
  graphInput = x.clone();
  graphLabels = y.clone();
  // The captured backward allocates the gradients in the graph's memory,
  // where every replay writes them again: they are not dropped between
  // replays.
  sgd->zeroGrad();
  stepGraph = std::make_unique<StepGraph>();
  std::string failure =
      stepGraph->tryCapture(cudaDevice(options.device).index(), [&] {
        BatchLoss b = forwardLoss(graphInput, graphLabels);
        addToSums(b, graphLabels, sums);
        b.loss.backward();
        sgd->step();
      });
  if (!failure.empty()) { // nothing ran: the eager step takes over
    log << "cuda graph: the step cannot be captured (" << failure
        << "); every step runs eagerly" << std::endl;
    stepGraph.reset();
    graphsFailed = true;
    sgd->zeroGrad();
    return false;
  }
  out << "cuda graph: the training step is captured after " << sessionSteps
      << " eager steps and replayed (--no-cuda-graph: every step eager)"
      << std::endl;
  return true;
}

double TrainingRun::trainStep(int64_t epoch, int64_t i, RunningStats &stats,
                              DeviceSums &sums,
                              const std::function<void()> &stopNow) {
  auto batchStart = Clock::now();
  auto [images, labels] = sampler->batch(i);
  // Data parallel: the last batch of an epoch may leave a process none.
  int64_t local = labels.size(0);
  std::string where =
      "at epoch " + std::to_string(epoch) + " step " + std::to_string(i + 1);
  StepConditions conditions;
  conditions.graphsEnabled = options.cudaGraphs && !graphsFailed;
  conditions.graphsBuilt = StepGraph::built();
  conditions.onCuda = options.device.is_cuda();
  conditions.physicalDevices =
      physicalDeviceCount(static_cast<int64_t>(info.devices.size()));
  conditions.dataParallel = comm != nullptr;
  conditions.batchImages = local;
  conditions.fullBatch = options.train.batchSize;
  conditions.eagerStepsDone = sessionSteps;
  conditions.captured = stepGraph && stepGraph->captured();
  StepMode mode = stepMode(conditions);
  try {
    at::Tensor x, y;
    BatchLoss b;
    if (local > 0) {
      x = (*transform)(images, /*training=*/true);
      y = uploadToDevice(labels, options.device);
    }
    if (mode != StepMode::Eager && graphStep(mode, x, y, sums)) {
      double seconds = secondsSince(batchStart);
      stats.countBatch(local, seconds);
      return seconds;
    }
    sgd->zeroGrad();
    if (local > 0)
      b = forwardLoss(x, y);
    if (comm) {
      // Data parallel: the per-step agreement is a collective, which waits
      // for the loss anyway; every process sees a non-finite one at once.
      // A stop agreed here saves the sums without this step.
      double lossValue = local > 0 ? b.loss.item<double>() : 0;
      StepAgreement agreed = agreeOnStep(*comm, lossValue * local, gStopSignal);
      double stepLoss = agreed.lossSum / double(sampler->globalBatchSize(i));
      if (!std::isfinite(stepLoss)) {
        progress.finish();
        throw std::runtime_error(std::string("loss is ") +
                                 (std::isnan(stepLoss) ? "nan" : "inf") + " " +
                                 where + "; " + whatIsKept());
      }
      if (agreed.signal) {
        gStopSignal = agreed.signal; // keeps one that came during it
        stopNow();
      }
    }
    if (local > 0) {
      addToSums(b, y, sums);
      b.loss.backward();
    }
    if (comm) {
      sgd->moveCopyGradientsToParameters();
      if (local == 0)
        for (at::Tensor p : registry->trainableTensors())
          p.mutable_grad() = at::zeros_like(p);
      allReduceGradients(*comm, registry->trainableTensors(),
                         double(local) / sampler->globalBatchSize(i));
    }
    sgd->step();
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
  // Host time: on a GPU the host runs ahead of the device by a bounded
  // queue, so over an epoch the mean is the device's step time.
  double seconds = secondsSince(batchStart);
  if (local > 0)
    stats.countBatch(local, seconds);
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
  // One DeviceSums for the run, restarted in place: a captured step adds
  // to its tensors.
  if (!deviceSums)
    deviceSums =
        std::make_unique<DeviceSums>(stats, options.device, numHeads, first);
  else
    deviceSums->restart(stats, first);
  DeviceSums &sums = *deviceSums;
  auto start = Clock::now();
  auto lastRead = Clock::now();
  // Banks the time so far and reads the device's sums into STATS (what a
  // checkpoint saves); throws on a non-finite loss, so that no checkpoint
  // is saved after one.
  auto bankAndRead = [&] {
    stats.elapsed += secondsSince(start);
    start = Clock::now();
    readSums(epoch, sums, stats);
    lastRead = Clock::now();
  };
  for (int64_t i = first; i < batches; ++i) {
    if (gStopSignal && !comm) {
      bankAndRead();
      stopIfSignalled(epoch, i, stats);
    }
    bool measureTransfers = info.devices.size() > 1 && sessionSteps == 0;
    TransferBytes before = transferBytes();
    double seconds = trainStep(epoch, i, stats, sums, [&] {
      bankAndRead();
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
    // The sums are read when a progress line is due, and for the loss
    // guard at least every kGuardSeconds without one (--no-progress).
    bool lastStep = i + 1 == batches;
    if (progress.due(lastStep) || secondsSince(lastRead) >= kGuardSeconds) {
      readSums(epoch, sums, stats);
      lastRead = Clock::now();
      progress.update(prefix + " train", i + 1, batches, stats.loss(),
                      stats.accuracy(), stats.images,
                      stats.elapsed + secondsSince(start), lastStep);
    }
    if (options.checkpointEvery > 0 && (i + 1) % options.checkpointEvery == 0 &&
        i + 1 < batches) {
      bankAndRead();
      saveCheckpoint(epoch, i + 1, stats);
    }
  }
  progress.finish();
  bankAndRead();
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
      evaluatePhase(model, registry->forwardTensors(),
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
