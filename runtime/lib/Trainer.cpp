//===- Trainer.cpp - The training loop ------------------------------------===//
//
// runTraining: the run's settings (from the options, or from the checkpoint
// it resumes), its data, then epochs of training steps, each epoch followed
// by an evaluation, checkpoints along the way, and the run folder's files.
//
//===----------------------------------------------------------------------===//
#include "Evaluation.h"
#include "Progress.h"
#include "RunFolder.h"
#include "RunningStats.h"
#include "StopSignals.h"
#include "TrainState.h"

#include "rtml/Runtime/Distributed.h"
#include "rtml/Runtime/Optimizer.h"
#include "rtml/Runtime/Parameters.h"
#include "rtml/Runtime/Trainer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <torch/cuda.h>

#include <cmath>
#include <functional>
#include <iomanip>
#include <memory>
#include <unistd.h>

namespace rtml {

namespace {

void synchronize(at::Device device) {
  if (device.is_cuda())
    torch::cuda::synchronize(device.index());
}

at::Device cudaDevice(at::Device device) {
  return at::Device(at::kCUDA, device.has_index() ? device.index() : 0);
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

/// Splits ALL per OPTIONS and the spec; the second set is empty without a
/// split.
std::pair<Dataset, Dataset> makeSplit(const Dataset &all,
                                      const DataConfig &data,
                                      const TrainOptions &options,
                                      uint64_t seed, std::ostream &out) {
  int64_t n = all.size(), val = 0, train = 0;
  if (options.valImages >= 0) {
    val = options.valImages;
    if (val > 0 && val >= n)
      throw std::runtime_error("--val " + std::to_string(val) +
                               " leaves no training images (the training "
                               "set has " +
                               std::to_string(n) + ")");
    train = n - val;
  } else if (data.splitVal > 0) {
    int64_t want = data.splitTrain > 0 ? data.splitTrain + data.splitVal : 0;
    if (want > n || (want == 0 && data.splitVal * 2 > n)) {
      // Too few images for the spec's numbers: the same proportion.
      int64_t ref = want > 0 ? want : 50000;
      val = std::max<int64_t>(1, std::llround(double(n) * data.splitVal / ref));
      train = n - val;
      out << "split: the spec's "
          << (want > 0 ? data.splitTrain : ref - data.splitVal) << "/"
          << data.splitVal << " scaled to " << train << "/" << val << " for "
          << n << " training images" << std::endl;
    } else {
      val = data.splitVal;
      train = data.splitTrain > 0 ? data.splitTrain : n - val;
    }
  }
  if (val <= 0)
    return {all, Dataset{}};
  return randomSplit(all, train, val, seed);
}

/// One run of runTraining: its state, and the phases as methods.
class TrainingRun {
public:
  TrainingRun(const CompiledModel &model, const TrainOptions &options,
              std::ostream &out, std::ostream &log)
      : model(model), info(model.info()), options(options), out(out),
        log(log), progress(log, options.progress, ::isatty(STDERR_FILENO)),
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
  /// One training step on batch I; adds to STATS. Returns its seconds.
  double trainStep(int64_t epoch, int64_t i, RunningStats &stats,
                   const std::function<void()> &stopIfSignalled);
  void evaluateEpoch(int64_t epoch, const PhaseMetrics &trainMetrics);
  void finalTest();
  void record(const PhaseMetrics &m);
  void saveCheckpoint(int64_t epoch, int64_t step, const RunningStats &stats);
  /// Throws TrainingInterrupted (after saving) when a signal asked to stop.
  void stopIfSignalled(int64_t epoch, int64_t step, const RunningStats &stats);

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
  bool hasVal = false;
  const char *evalPhase = "test";

  std::unique_ptr<ParameterRegistry> registry;
  std::unique_ptr<Sgd> sgd;
  std::unique_ptr<BatchSampler> sampler;
  std::unique_ptr<BatchTransform> transform;
  std::vector<at::Tensor> buffers; ///< non-trainable tensors (batch norm)
  size_t numHeads = 0;             ///< > 0: a model with side heads

  std::unique_ptr<RunFolder> folder; ///< rank 0 of a run with a directory
  bool savesCheckpoints = false;     ///< the same on every rank
  TrainResult result;
  int64_t startEpoch = 1, startStep = 0;
  at::Tensor epochShuffleState;
  double earlierWall = 0, totalBatchTime = 0;
  int64_t totalBatches = 0, sessionSteps = 0;
  bool haveBest = false;
};

void TrainingRun::takeSettingsFromCheckpoint() {
  ResumePoint point = findResumePoint(options.resume, out);
  resumed = std::make_unique<TrainState>(
      readTrainState(point.file, point.hint));
  resumedFile = point.file;
  if (resumed->model != info.name)
    throw std::runtime_error(point.file + ": checkpoint of model '" +
                             resumed->model + "', this trainer is '" +
                             info.name + "'");
  std::string dataDir = options.dataDir;
  applyRunSettings(resumed->settings, options);
  if (!dataDir.empty())
    options.dataDir = dataDir;
  if (options.epochsOverride > 0)
    options.train.epochs = options.epochsOverride;
  options.outDir = point.runDir;
}

void TrainingRun::checkSettings() const {
  const TrainConfig &cfg = options.train;
  if (cfg.nesterov && cfg.momentum <= 0)
    throw std::invalid_argument("nesterov momentum needs a momentum above 0");
  if (cfg.lrSchedule == LrSchedule::Step && cfg.lrStepSize <= 0)
    throw std::invalid_argument("the step learning-rate schedule needs a step "
                                "size above 0");
}

void TrainingRun::loadData() {
  const TrainConfig &cfg = options.train;
  Dataset all = takeFirst(readCifarTrain(options.dataDir), options.limitTrain);
  test = takeFirst(readCifarTest(options.dataDir), options.limitTest);
  int64_t splitSeed = options.splitSeed >= 0     ? options.splitSeed
                      : info.data.splitSeed >= 0 ? info.data.splitSeed
                                                 : int64_t(cfg.seed);
  std::tie(train, val) =
      makeSplit(all, info.data, options, static_cast<uint64_t>(splitSeed), out);
  if (!resumed) { // what the checkpoint records, resolved
    options.valImages = val.size();
    options.splitSeed = splitSeed;
  }
  hasVal = val.size() > 0;
  evalPhase = hasVal ? "val" : "test";
  result.hasValidation = hasVal;
  result.trainImages = train.size();
  result.valImages = val.size();
  result.testImages = test.size();
}

void TrainingRun::loadInitialWeights() {
  WeightsReport report =
      loadWeights(*registry, loadStateDict(options.weights), options.weights,
                  options.weightsPolicy);
  out << "weights: loaded " << report.loaded.size() << " tensors from "
      << options.weights << std::endl;
  for (const std::string &n : report.reinitialized)
    out << "weights: re-initialized " << n << ": shape differs" << std::endl;
  for (const std::string &n : report.skipped)
    out << "weights: skipped " << n << ": not in the model" << std::endl;
  for (const std::string &n : report.missing)
    out << "weights: kept the initialization of " << n << ": not in the file"
        << std::endl;
}

void TrainingRun::setUpModel() {
  const TrainConfig &cfg = options.train;
  registry = std::make_unique<ParameterRegistry>(model.parameters(),
                                                 options.device, cfg.seed);
  if (!options.weights.empty() && !resumed)
    loadInitialWeights();
  sgd = std::make_unique<Sgd>(
      registry->trainableTensors(),
      SgdOptions{cfg.learningRate, cfg.momentum, cfg.weightDecay,
                 cfg.nesterov});
  // Separate streams for order, augmentation and dropout, all from the seed.
  // Data parallel: one order for the job; augmentation and dropout differ
  // per process, as the images each sees do.
  uint64_t rankSeed = static_cast<uint64_t>(rank) * 1000003;
  sampler = std::make_unique<BatchSampler>(train, cfg.batchSize,
                                           /*shuffle=*/true, cfg.seed + 1);
  if (comm)
    sampler->shard(rank, world);
  transform = std::make_unique<BatchTransform>(info.data, options.device,
                                               cfg.seed + 2 + rankSeed);
  at::manual_seed(cfg.seed + 3 + rankSeed);
  result.parameters = registry->numParameters();
  numHeads = info.heads.size() > 1 ? info.heads.size() : 0;
  for (size_t k = 0; k < registry->specs().size(); ++k)
    if (!registry->specs()[k].trainable)
      buffers.push_back(registry->tensors()[k]);
}

void TrainingRun::restoreFromCheckpoint() {
  const TrainState &s = *resumed;
  loadIntoRegistry(*registry, s.weights, resumedFile);
  size_t index = 0;
  for (const ParameterSpec &spec : registry->specs()) {
    if (!spec.trainable)
      continue;
    for (const auto &[name, buffer] : s.momentum)
      if (name == spec.name)
        sgd->setMomentumBuffer(index, buffer);
    ++index;
  }
  startEpoch = s.epoch;
  startStep = s.step;
  epochShuffleState = s.shuffleEpochStart;
  // The checkpoint holds rank 0's augmentation and dropout streams; the
  // other ranks keep their own fresh ones.
  if (rank == 0) {
    transform->setGeneratorState(s.augment);
    at::Generator cpu = at::detail::getDefaultCPUGenerator();
    cpu.set_state(s.dropout);
    if (options.device.is_cuda() && s.dropoutCuda.defined()) {
      at::Generator cuda =
          at::globalContext().defaultGenerator(cudaDevice(options.device));
      cuda.set_state(s.dropoutCuda);
    }
  }
  earlierWall = s.wallTimeS;
  totalBatchTime = s.batchTime;
  totalBatches = s.batches;
  haveBest = s.bestEpoch > 0;
  result.bestAccuracy = s.bestAccuracy;
  result.bestEpoch = s.bestEpoch;
  result.bestTestAccuracy = s.bestTestAccuracy;
  auto phase = [&](PhaseMetrics &m, const char *name, double loss,
                   double accuracy) {
    m.phase = name;
    m.epoch = startEpoch - 1;
    m.loss = loss;
    m.accuracy = accuracy;
  };
  phase(result.finalTrain, "train", s.lastTrainLoss, s.lastTrainAccuracy);
  phase(hasVal ? result.finalVal : result.finalTest, evalPhase, s.lastEvalLoss,
        s.lastEvalAccuracy);
  out << "resume: " << resumedFile << " at epoch " << startEpoch << " step "
      << startStep << std::endl;
}

void TrainingRun::record(const PhaseMetrics &m) {
  result.history.push_back(m);
  if (folder)
    folder->appendMetrics(m);
}

void TrainingRun::saveCheckpoint(int64_t epoch, int64_t step,
                                 const RunningStats &localStats) {
  if (!savesCheckpoints)
    return;
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
  writeTrainState(s, options.outDir);
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
  throw TrainingInterrupted(where + "; saved " +
                                checkpointPath(options.outDir) +
                                "; continue with: train --resume " +
                                options.outDir,
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
      StepAgreement agreed =
          agreeOnStep(*comm, lossValue * local, gStopSignal);
      stepLoss = agreed.lossSum / double(sampler->globalBatchSize(i));
      jobSignal = agreed.signal;
      if (jobSignal) // keeps one that came during the collective
        gStopSignal = jobSignal;
    }
    if (!std::isfinite(stepLoss)) {
      progress.finish();
      throw std::runtime_error(std::string("loss is ") +
                               (std::isnan(stepLoss) ? "nan" : "inf") + " " +
                               where + " (the last good checkpoint is kept)");
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
  RunningStats epochStats = stats;
  if (comm)
    epochStats.sumOver(*comm, numHeads);
  PhaseMetrics trainMetrics =
      epochStats.metrics(epoch, "train", stats.elapsed, model);
  trainMetrics.learningRate = lr;
  if (comm) // every process evaluates the model rank 0 saves
    broadcastFromRankZero(*comm, buffers, "batch-norm statistics");
  EvalContext context{epoch, evalPhase, &progress,
                      prefix + " " + evalPhase, /*interruptible=*/!comm, comm};
  const Dataset &evalSet = hasVal ? val : test;
  PhaseMetrics evalMetrics = evaluatePhase(
      model, registry->tensors(),
      comm ? contiguousShard(evalSet, rank, world) : evalSet, options.device,
      cfg.batchSize, context);
  stopIfSignalled(epoch, batches, stats);
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
      << options.train.epochs << ": train loss " << trainMetrics.loss
      << " acc " << std::setprecision(2) << trainMetrics.accuracy * 100
      << "% | " << evalPhase << " loss " << std::setprecision(4) << m.loss
      << " acc " << std::setprecision(2) << m.accuracy * 100 << "% | "
      << std::setprecision(1) << trainMetrics.timeS << " s, "
      << trainMetrics.imagesPerS << " img/s" << (best ? " (best)" : "")
      << std::defaultfloat << std::endl;
  if (!savesCheckpoints)
    return;
  if (folder)
    folder->saveWeights(registryStateDict(*registry), best);
  epochShuffleState = sampler->generatorState();
  saveCheckpoint(epoch + 1, 0, RunningStats());
}

void TrainingRun::finalTest() {
  EvalContext context{options.train.epochs, "test", &progress, "final test",
                      /*interruptible=*/false, comm};
  result.finalTest = evaluatePhase(
      model, registry->tensors(),
      comm ? contiguousShard(test, rank, world) : test, options.device,
      options.train.batchSize, context);
  result.bestTestAccuracy = result.finalTest.accuracy;
  record(result.finalTest);
  out << std::fixed << "test loss " << std::setprecision(4)
      << result.finalTest.loss << " acc " << std::setprecision(2)
      << result.finalTest.accuracy * 100 << "% (" << test.size() << " images)"
      << std::defaultfloat << std::endl;
}

TrainResult TrainingRun::run() {
  checkDeviceAvailable(options.device);
  if (!options.resume.empty())
    takeSettingsFromCheckpoint();
  TrainConfig &cfg = options.train;
  if (cfg.lrSchedule == LrSchedule::Cosine && cfg.lrTMax <= 0)
    cfg.lrTMax = cfg.epochs; // fixed now, so that --epochs on resume keeps it
  checkSettings();
  loadData();
  setUpModel();
  if (resumed)
    restoreFromCheckpoint();
  if (comm) // every process starts from rank 0's weights and buffers
    broadcastFromRankZero(*comm, registry->tensors(), "initial weights");
  savesCheckpoints = !options.outDir.empty();
  if (savesCheckpoints && rank == 0) // data parallel: rank 0 writes the run
    folder = std::make_unique<RunFolder>(options.outDir, resumed != nullptr,
                                         startEpoch);
  SignalGuard signals(options.handleSignals);

  out << "model " << info.name << ": " << result.parameters << " parameters, "
      << train.size() << " training, " << val.size() << " validation and "
      << test.size() << " test images, device " << options.device.str()
      << std::endl;
  if (comm)
    out << "data parallel: " << world << " processes (" << comm->backend()
        << "), " << cfg.batchSize << " images per process, "
        << cfg.batchSize * world << " per step" << std::endl;
  for (int64_t epoch = startEpoch; epoch <= cfg.epochs; ++epoch)
    trainEpoch(epoch);
  if (hasVal)
    finalTest();
  result.wallTimeS = earlierWall + secondsSince(wallStart);
  result.meanBatchTimeS = totalBatches ? totalBatchTime / totalBatches : 0;
  if (folder)
    folder->writeSummary(summaryJson(info, options, result));
  return result;
}

} // namespace

const char *scheduleName(LrSchedule s) {
  switch (s) {
  case LrSchedule::Constant:
    return "constant";
  case LrSchedule::Step:
    return "step";
  case LrSchedule::Cosine:
    return "cosine";
  }
  return "constant";
}

TrainResult runTraining(const CompiledModel &model, const TrainOptions &options,
                        std::ostream &out, std::ostream &log) {
  return TrainingRun(model, options, out, log).run();
}

} // namespace rtml
