//===- Trainer.cpp - Setting up and finishing a training run --------------===//
//
// runTraining: the run's settings (from the options, or from the checkpoint
// it resumes), its data, model, optimizer and generators; then the epochs
// (TrainingLoop.cpp), the final test and summary.json.
//
//===----------------------------------------------------------------------===//
#include "DeviceSelection.h"
#include "TrainingRun.h"

#include "rtml/Runtime/SettingsIO.h"
#include "rtml/Support/Shapes.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <sstream>

namespace rtml {

namespace {

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

/// FNV-1a over the 8-byte words of T's bytes (then its tail bytes).
uint64_t fingerprint(const at::Tensor &t, uint64_t h) {
  at::Tensor c = t.contiguous();
  const auto *bytes = static_cast<const unsigned char *>(c.data_ptr());
  size_t n = c.numel() * c.element_size(), i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes + i, 8);
    h = (h ^ word) * 1099511628211ull;
  }
  for (; i < n; ++i)
    h = (h ^ bytes[i]) * 1099511628211ull;
  return h;
}

/// FNV-1a over the bytes of TEXT.
uint64_t fingerprint(const std::string &text, uint64_t h) {
  for (unsigned char c : text)
    h = (h ^ c) * 1099511628211ull;
  return h;
}

/// The images of SET: their bytes, or of a streamed set (too large to read
/// twice) each file's path under its split and its size in bytes.
uint64_t fingerprintImages(const Dataset &set, uint64_t h) {
  if (!set.streamed())
    return fingerprint(set.images, h);
  at::Tensor rows = set.rows.contiguous();
  for (int64_t i = 0; i < rows.numel(); ++i) {
    const std::string &path = set.files->paths[rows.data_ptr<int64_t>()[i]];
    std::error_code ec;
    uintmax_t bytes =
        std::filesystem::file_size(set.files->root + "/" + path, ec);
    h = fingerprint(path + '\0' + std::to_string(ec ? 0 : bytes) + '\0', h);
  }
  return h;
}

/// What a run was trained on, recorded in its checkpoint so that a resume
/// on another data set is refused: the sizes and a fingerprint of every
/// image and label (the same data moved elsewhere still matches).
std::string identityOf(const Dataset &train, const Dataset &test) {
  uint64_t h = 14695981039346656037ull;
  for (const Dataset *d : {&train, &test})
    if (d->size() > 0)
      h = fingerprint(d->labels, fingerprintImages(*d, h));
  std::ostringstream os;
  os << train.size() << " training and " << test.size()
     << " test images, fingerprint " << std::hex << std::setw(16)
     << std::setfill('0') << h;
  return os.str();
}

} // namespace

void TrainingRun::takeSettingsFromCheckpoint() {
  ResumePoint point = findResumePoint(options.resume, out);
  resumed =
      std::make_unique<TrainState>(readTrainState(point.file, point.hint));
  resumedFile = point.file;
  if (resumed->model != info.name)
    throw std::runtime_error(point.file + ": checkpoint of model '" +
                             resumed->model + "', this trainer is '" +
                             info.name + "'");
  std::string dataDir = options.dataDir;
  int64_t checkpointEvery = options.checkpointEvery;
  applyRunSettings(resumed->settings, options);
  // The math is compiled into this trainer, whatever the checkpoint says.
  options.train.precision = info.train.precision;
  if (!dataDir.empty())
    options.dataDir = dataDir;
  if (checkpointEvery >= 0)
    options.checkpointEvery = checkpointEvery;
  if (options.epochsOverride > 0)
    options.train.epochs = options.epochsOverride;
  options.outDir = point.runDir;
}

void TrainingRun::checkSettings() const {
  for (const settings::Violation &v : settings::check(options.train))
    throw std::invalid_argument(describeForFlags(v));
}

void TrainingRun::loadData() {
  const TrainConfig &cfg = options.train;
  Dataset all =
      takeFirst(readTrainSet(options.dataDir, info.data), options.limitTrain);
  test = takeFirst(readTestSet(options.dataDir, info.data), options.limitTest);
  checkInputMatches(all, info.data, info.inputShape, options.dataDir);
  dataIdentity = identityOf(all, test);
  if (resumed && !resumed->settings.dataIdentity.empty() &&
      resumed->settings.dataIdentity != dataIdentity)
    throw std::runtime_error(
        "--data " + options.dataDir +
        " is not the data set this run trained on: it holds " + dataIdentity +
        ", the run's (" + resumed->settings.dataDir + ", recorded in " +
        resumedFile + ") held " + resumed->settings.dataIdentity +
        "; resume with the run's data");
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
  WeightsReport report = loadWeights(*registry, loadStateDict(options.weights),
                                     options.weights, options.weightsPolicy);
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
  enableCudnnAutotuning(options.device);
  registry = std::make_unique<ParameterRegistry>(model.parameters(),
                                                 options.device, cfg.seed);
  if (!options.weights.empty() && !resumed)
    loadInitialWeights();
  sgd = std::make_unique<Sgd>(
      registry->trainableTensors(),
      SgdOptions{cfg.learningRate, cfg.momentum, cfg.weightDecay, cfg.nesterov},
      registry->trainableCopies());
  // Separate streams for order, augmentation and dropout, all from the seed.
  // Data parallel: one order for the job; augmentation and dropout differ
  // per process, as the images each sees do.
  uint64_t rankSeed = static_cast<uint64_t>(rank) * 1000003;
  Dataset held = keepOnDevice(train, options.device, deviceDataBytes());
  if (held.size() > 0 && !held.labels.is_cpu()) {
    out << "data: the training set (" << (held.images.nbytes() >> 20)
        << " MB) stays on " << options.device
        << "; batches are gathered there (RTML_DEVICE_DATA_MB=0: off)"
        << std::endl;
    train = held;
  }
  sampler = std::make_unique<BatchSampler>(train, cfg.batchSize,
                                           /*shuffle=*/true, cfg.seed + 1);
  if (comm)
    sampler->shard(rank, world);
  transform = std::make_unique<BatchTransform>(info.data, options.device,
                                               cfg.seed + 2 + rankSeed,
                                               info.inputOn(options.device));
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
  checkpointEpoch = s.epoch;
  checkpointStep = s.step;
  weightsEpoch = s.epoch - 1;
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

std::vector<Communicator::Setting> TrainingRun::jobSettings() const {
  auto number = [](double v) { // the shortest text that reads back as V
    char buf[40];
    for (int digits = 15; digits <= 17; ++digits) {
      std::snprintf(buf, sizeof buf, "%.*g", digits, v);
      if (std::strtod(buf, nullptr) == v)
        break;
    }
    return std::string(buf);
  };
  // The parameters' names and shapes, as one FNV-1a hash.
  uint64_t hash = 14695981039346656037ull;
  for (const ParameterSpec &spec : registry->specs()) {
    std::string key = spec.name + shapeString(spec.shape) + ";";
    for (unsigned char c : key)
      hash = (hash ^ c) * 1099511628211ull;
  }
  const TrainConfig &t = options.train;
  auto n = [](int64_t v) { return std::to_string(v); };
  return {{"model", info.name},
          {"parameter shapes (hash)", n(int64_t(hash))},
          {"--batch-size", n(t.batchSize)},
          {"--epochs", n(t.epochs)},
          {"--lr", number(t.learningRate)},
          {"--momentum", number(t.momentum)},
          {"--nesterov", n(t.nesterov)},
          {"--weight-decay", number(t.weightDecay)},
          {"--lr-schedule", settings::kLrScheduleInfo.names[int(t.lrSchedule)]},
          {"--lr-step", n(t.lrStepSize)},
          {"--lr-gamma", number(t.lrGamma)},
          {"--lr-min", number(t.lrEtaMin)},
          {"--seed", n(int64_t(t.seed))},
          {"--max-steps", n(options.maxSteps)},
          {"--limit-train", n(options.limitTrain)},
          {"--limit-test", n(options.limitTest)},
          {"--checkpoint-every", n(options.checkpointEvery)},
          {"training images", n(train.size())},
          {"validation images", n(val.size())},
          {"test images", n(test.size())},
          {"run directory", options.outDir.empty() ? "none" : "yes"},
          {"starting at (epoch/step)", n(startEpoch) + "/" + n(startStep)}};
}

void TrainingRun::finalTest() {
  EvalContext context{options.train.epochs,    "test", &progress, "final test",
                      /*interruptible=*/false, comm};
  result.finalTest =
      evaluatePhase(model, registry->forwardTensors(),
                    comm ? contiguousShard(test, rank, world) : test,
                    options.device, options.train.batchSize, context);
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
  if (options.checkpointEvery < 0)
    options.checkpointEvery = 500;
  TrainConfig &cfg = options.train;
  if (cfg.lrSchedule == LrSchedule::Cosine && cfg.lrTMax <= 0)
    cfg.lrTMax = cfg.epochs; // fixed now, so that --epochs on resume keeps it
  checkSettings();
  loadData();
  setUpModel();
  if (resumed)
    restoreFromCheckpoint();
  if (comm) {
    comm->checkSameJob(jobSettings());
    // Every process starts from rank 0's weights and buffers.
    broadcastFromRankZero(*comm, registry->tensors(), "initial weights");
  }
  savesCheckpoints = !options.outDir.empty();
  if (savesCheckpoints && rank == 0) // data parallel: rank 0 writes the run
    folder = std::make_unique<RunFolder>(options.outDir, resumed != nullptr,
                                         startEpoch, options.overwrite);
  SignalGuard signals(options.handleSignals);

  out << "model " << info.name << ": " << result.parameters << " parameters, "
      << train.size() << " training, " << val.size() << " validation and "
      << test.size() << " test images, device " << options.device.str()
      << std::endl;
  if (comm)
    out << "data parallel: " << world
        << (world == 1 ? " process (" : " processes (") << comm->backend()
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

TrainResult runTraining(const CompiledModel &model, const TrainOptions &options,
                        std::ostream &out, std::ostream &log) {
  return TrainingRun(model, options, out, log).run();
}

} // namespace rtml
