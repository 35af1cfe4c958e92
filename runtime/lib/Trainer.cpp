//===- Trainer.cpp - Training loop, evaluation, benchmark -----------------===//
#include "rtml/Runtime/Trainer.h"
#include "rtml/Runtime/Optimizer.h"
#include "rtml/Runtime/Parameters.h"
#include "rtml/Runtime/Serialization.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace rtml {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void synchronize(at::Device device) {
  if (device.is_cuda())
    torch::cuda::synchronize(device.index());
}

void makeDirectories(const std::string &path) {
  std::string prefix;
  std::stringstream parts(path);
  std::string part;
  if (!path.empty() && path[0] == '/')
    prefix = "/";
  while (std::getline(parts, part, '/')) {
    if (part.empty())
      continue;
    prefix += part;
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST)
      throw std::runtime_error("cannot create directory " + prefix + ": " +
                               std::strerror(errno));
    struct stat st;
    if (::stat(prefix.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      throw std::runtime_error(prefix + ": exists and is not a directory");
    prefix += "/";
  }
}

std::string formatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0)
    return "?";
  int64_t s = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", (long long)(s / 3600),
                  (long long)(s / 60 % 60), (long long)(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", (long long)(s / 60),
                  (long long)(s % 60));
  return buf;
}

std::string metricsJson(const PhaseMetrics &m) {
  std::ostringstream os;
  os << "{\"epoch\": " << m.epoch << ", \"phase\": " << jsonString(m.phase)
     << ", \"loss\": " << jsonNumber(m.loss)
     << ", \"accuracy\": " << jsonNumber(m.accuracy)
     << ", \"images\": " << m.images << ", \"time_s\": " << jsonNumber(m.timeS)
     << ", \"mean_batch_time_s\": " << jsonNumber(m.meanBatchTimeS)
     << ", \"images_per_s\": " << jsonNumber(m.imagesPerS) << "}";
  return os.str();
}

/// Progress on the log stream: redrawn in place on a terminal, a line every
/// few seconds otherwise (logs stay short).
class Progress {
public:
  Progress(std::ostream &log, bool enabled, bool isTty)
      : log(log), enabled(enabled), isTty(isTty) {}

  void update(const std::string &prefix, int64_t batch, int64_t batches,
              double loss, double accuracy, int64_t images, double elapsed,
              bool force) {
    if (!enabled)
      return;
    double interval = isTty ? 0.5 : 10.0;
    if (!force && secondsSince(last) < interval)
      return;
    last = Clock::now();
    double rate = elapsed > 0 ? images / elapsed : 0;
    double eta = batch > 0 ? elapsed / batch * (batches - batch) : NAN;
    std::ostringstream line;
    line << prefix << " batch " << batch << "/" << batches << " loss "
         << std::fixed << std::setprecision(4) << loss << " acc "
         << std::setprecision(2) << accuracy * 100 << "% "
         << std::setprecision(1) << rate << " img/s ETA "
         << formatDuration(eta);
    if (isTty)
      log << "\r" << line.str() << "\x1b[K" << std::flush;
    else
      log << line.str() << std::endl;
    drawn = isTty;
  }
  void finish() {
    if (drawn)
      log << "\r\x1b[K" << std::flush;
    drawn = false;
  }

private:
  std::ostream &log;
  bool enabled, isTty;
  bool drawn = false;
  Clock::time_point last = Clock::now();
};

struct RunningStats {
  double lossSum = 0;
  int64_t correct = 0;
  int64_t images = 0;
  double batchTime = 0;
  int64_t batches = 0;

  void add(const at::Tensor &logits, const at::Tensor &labels, double loss,
           double seconds) {
    int64_t n = labels.size(0);
    lossSum += loss * n;
    correct += logits.argmax(1).eq(labels).sum().item<int64_t>();
    images += n;
    batchTime += seconds;
    ++batches;
  }
  double loss() const { return images ? lossSum / images : NAN; }
  double accuracy() const { return images ? double(correct) / images : 0; }
  PhaseMetrics metrics(int64_t epoch, const char *phase, double time) const {
    PhaseMetrics m;
    m.epoch = epoch;
    m.phase = phase;
    m.loss = loss();
    m.accuracy = accuracy();
    m.images = images;
    m.timeS = time;
    m.meanBatchTimeS = batches ? batchTime / batches : 0;
    m.imagesPerS = time > 0 ? images / time : 0;
    return m;
  }
};

PhaseMetrics evaluateImpl(const CompiledModel &model,
                          const std::vector<at::Tensor> &params,
                          const Dataset &set, at::Device device,
                          int64_t batchSize, int64_t epoch, Progress *progress,
                          const std::string &prefix) {
  c10::NoGradGuard noGrad;
  BatchTransform transform(model.info().data, device, /*seed=*/0);
  BatchSampler sampler(set, batchSize, /*shuffle=*/false, 0);
  RunningStats stats;
  auto start = Clock::now();
  int64_t n = sampler.numBatches();
  for (int64_t i = 0; i < n; ++i) {
    auto batchStart = Clock::now();
    auto [images, labels] = sampler.batch(i);
    at::Tensor x = transform(images, /*training=*/false);
    at::Tensor y = labels.to(device);
    at::Tensor logits = model.forward(x, params, /*training=*/false);
    double loss = crossEntropy(logits, y).item<double>();
    stats.add(logits, y, loss, secondsSince(batchStart));
    if (progress)
      progress->update(prefix, i + 1, n, stats.loss(), stats.accuracy(),
                       stats.images, secondsSince(start), false);
  }
  if (progress)
    progress->finish();
  return stats.metrics(epoch, "test", secondsSince(start));
}

StateDict momentumStateDict(const ParameterRegistry &registry, const Sgd &sgd) {
  StateDict state;
  for (size_t i = 0; i < registry.specs().size(); ++i)
    if (sgd.momentumBuffers()[i].defined())
      state.emplace_back("momentum_buffer." + registry.specs()[i].name,
                         sgd.momentumBuffers()[i].detach().to(at::kCPU));
  return state;
}

void writeTextAtomically(const std::string &path, const std::string &text) {
  writeFileAtomically(path, text.data(), text.size());
}

} // namespace

std::string jsonString(const std::string &text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\r':
      out += "\\r";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += c;
      }
    }
  }
  return out + "\"";
}

std::string jsonNumber(double value) {
  if (!std::isfinite(value))
    return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", value);
  return buf;
}

at::Device parseDevice(const std::string &text) {
  if (text == "cpu")
    return at::Device(at::kCPU);
  if (text == "cuda")
    return at::Device(at::kCUDA);
  if (text.rfind("cuda:", 0) == 0 && text.size() > 5 &&
      text.find_first_not_of("0123456789", 5) == std::string::npos &&
      text.size() <= 8)
    return at::Device(at::kCUDA,
                      static_cast<c10::DeviceIndex>(std::stoi(text.substr(5))));
  throw UsageError("invalid device '" + text +
                   "' (expected cpu, cuda or cuda:N)");
}

void checkDeviceAvailable(at::Device device) {
  if (!device.is_cuda())
    return;
  if (!torch::cuda::is_available())
    throw std::runtime_error("device " + device.str() +
                             " requested but CUDA is not available (no GPU, "
                             "or LibTorch built without CUDA)");
  int64_t count = static_cast<int64_t>(torch::cuda::device_count());
  if (device.has_index() && device.index() >= count)
    throw std::runtime_error("device " + device.str() + " requested but only " +
                             std::to_string(count) + " CUDA device(s) exist");
}

PhaseMetrics evaluate(const CompiledModel &model,
                      const std::vector<at::Tensor> &params, const Dataset &set,
                      at::Device device, int64_t batchSize) {
  return evaluateImpl(model, params, set, device, batchSize, 0, nullptr, "");
}

TrainResult runTraining(const CompiledModel &model, const TrainOptions &options,
                        std::ostream &out, std::ostream &log) {
  auto wallStart = Clock::now();
  const TrainConfig &cfg = options.train;
  const ModelInfo &info = model.info();
  checkDeviceAvailable(options.device);

  Dataset train =
      takeFirst(readCifarTrain(options.dataDir), options.limitTrain);
  Dataset test = takeFirst(readCifarTest(options.dataDir), options.limitTest);

  ParameterRegistry registry(model.parameters(), options.device, cfg.seed);
  if (!options.weights.empty())
    loadIntoRegistry(registry, loadStateDict(options.weights), options.weights);
  Sgd sgd(registry.trainableTensors(),
          SgdOptions{cfg.learningRate, cfg.momentum, cfg.weightDecay});
  // Separate streams for order, flips and dropout, all from the one seed.
  BatchSampler sampler(train, cfg.batchSize, /*shuffle=*/true, cfg.seed + 1);
  BatchTransform transform(info.data, options.device, cfg.seed + 2);
  at::manual_seed(cfg.seed + 3);

  std::string checkpointDir;
  std::ofstream metricsFile;
  if (!options.outDir.empty()) {
    checkpointDir = options.outDir + "/checkpoints";
    makeDirectories(checkpointDir);
    std::string metricsPath = options.outDir + "/metrics.jsonl";
    metricsFile.open(metricsPath, std::ios::trunc);
    if (!metricsFile)
      throw std::runtime_error("cannot write " + metricsPath);
  }
  auto record = [&](const PhaseMetrics &m, TrainResult &result) {
    result.history.push_back(m);
    if (metricsFile.is_open())
      metricsFile << metricsJson(m) << std::endl;
  };

  TrainResult result;
  result.parameters = registry.numParameters();
  Progress progress(log, options.progress, ::isatty(STDERR_FILENO) != 0);
  out << "model " << info.name << ": " << result.parameters << " parameters, "
      << train.size() << " training and " << test.size()
      << " test images, device " << options.device.str() << std::endl;

  double trainBatchTime = 0;
  int64_t trainBatches = 0;
  for (int64_t epoch = 1; epoch <= cfg.epochs; ++epoch) {
    std::string prefix =
        "epoch " + std::to_string(epoch) + "/" + std::to_string(cfg.epochs);
    sampler.startEpoch();
    int64_t batches = sampler.numBatches();
    if (options.maxSteps > 0)
      batches = std::min(batches, options.maxSteps);
    RunningStats stats;
    auto start = Clock::now();
    for (int64_t i = 0; i < batches; ++i) {
      auto batchStart = Clock::now();
      auto [images, labels] = sampler.batch(i);
      at::Tensor x = transform(images, /*training=*/true);
      at::Tensor y = labels.to(options.device);
      sgd.zeroGrad();
      at::Tensor logits;
      at::Tensor loss = trainingLoss(model, x, registry.tensors(), y, &logits);
      double lossValue = loss.item<double>();
      if (!std::isfinite(lossValue)) {
        progress.finish();
        throw std::runtime_error(std::string("loss is ") +
                                 (std::isnan(lossValue) ? "nan" : "inf") +
                                 " at epoch " + std::to_string(epoch) +
                                 " step " + std::to_string(i + 1));
      }
      loss.backward();
      sgd.step();
      synchronize(options.device);
      stats.add(logits.detach(), y, lossValue, secondsSince(batchStart));
      progress.update(prefix + " train", i + 1, batches, stats.loss(),
                      stats.accuracy(), stats.images, secondsSince(start),
                      i + 1 == batches);
    }
    progress.finish();
    trainBatchTime += stats.batchTime;
    trainBatches += stats.batches;
    PhaseMetrics trainMetrics =
        stats.metrics(epoch, "train", secondsSince(start));
    record(trainMetrics, result);

    PhaseMetrics testMetrics =
        evaluateImpl(model, registry.tensors(), test, options.device,
                     cfg.batchSize, epoch, &progress, prefix + " test");
    record(testMetrics, result);
    result.finalTrain = trainMetrics;
    result.finalTest = testMetrics;
    bool best = epoch == 1 || testMetrics.accuracy > result.bestTestAccuracy;
    if (best) {
      result.bestTestAccuracy = testMetrics.accuracy;
      result.bestEpoch = epoch;
    }
    out << std::fixed << std::setprecision(4) << prefix << ": train loss "
        << trainMetrics.loss << " acc " << std::setprecision(2)
        << trainMetrics.accuracy * 100 << "% | test loss "
        << std::setprecision(4) << testMetrics.loss << " acc "
        << std::setprecision(2) << testMetrics.accuracy * 100 << "% | "
        << std::setprecision(1) << trainMetrics.timeS << " s, "
        << trainMetrics.imagesPerS << " img/s" << (best ? " (best)" : "")
        << std::defaultfloat << std::endl;

    if (!checkpointDir.empty()) {
      StateDict state = registryStateDict(registry);
      saveStateDict(state, checkpointDir + "/last.pt");
      saveStateDict(momentumStateDict(registry, sgd),
                    checkpointDir + "/last.optim.pt");
      if (best)
        saveStateDict(state, checkpointDir + "/best.pt");
    }
  }
  result.wallTimeS = secondsSince(wallStart);
  result.meanBatchTimeS = trainBatches ? trainBatchTime / trainBatches : 0;

  if (!options.outDir.empty()) {
    auto phase = [](const PhaseMetrics &m) {
      return "{\"loss\": " + jsonNumber(m.loss) +
             ", \"accuracy\": " + jsonNumber(m.accuracy) + "}";
    };
    std::ostringstream summary;
    summary << "{\n  \"model\": " << jsonString(info.name)
            << ",\n  \"parameters\": " << result.parameters
            << ",\n  \"epochs\": " << cfg.epochs
            << ",\n  \"final_train\": " << phase(result.finalTrain)
            << ",\n  \"final_test\": " << phase(result.finalTest)
            << ",\n  \"best_test_accuracy\": "
            << jsonNumber(result.bestTestAccuracy)
            << ",\n  \"best_epoch\": " << result.bestEpoch
            << ",\n  \"wall_time_s\": " << jsonNumber(result.wallTimeS)
            << ",\n  \"mean_batch_time_s\": "
            << jsonNumber(result.meanBatchTimeS)
            << ",\n  \"batch_size\": " << cfg.batchSize
            << ",\n  \"device\": " << jsonString(options.device.str())
            << "\n}\n";
    writeTextAtomically(options.outDir + "/summary.json", summary.str());
  }
  return result;
}

BenchResult benchTrainStep(const CompiledModel &model, at::Device device,
                           int64_t batchSize, int64_t steps, int64_t warmup,
                           uint64_t seed) {
  checkDeviceAvailable(device);
  const ModelInfo &info = model.info();
  ParameterRegistry registry(model.parameters(), device, seed);
  const TrainConfig &cfg = info.train;
  Sgd sgd(registry.trainableTensors(),
          SgdOptions{cfg.learningRate, cfg.momentum, cfg.weightDecay});
  at::manual_seed(seed);
  std::vector<int64_t> shape = {batchSize};
  shape.insert(shape.end(), info.inputShape.begin(), info.inputShape.end());
  at::Tensor x = at::randn(shape).to(device);
  at::Tensor y =
      at::randint(std::max<int64_t>(info.numClasses, 1), {batchSize}, at::kLong)
          .to(device);
  BenchResult result;
  for (int64_t i = 0; i < warmup + steps; ++i) {
    synchronize(device);
    auto start = Clock::now();
    sgd.zeroGrad();
    at::Tensor loss = trainingLoss(model, x, registry.tensors(), y);
    loss.backward();
    sgd.step();
    synchronize(device);
    if (i >= warmup)
      result.stepMs.push_back(secondsSince(start) * 1e3);
  }
  if (!result.stepMs.empty()) {
    std::vector<double> sorted = result.stepMs;
    std::sort(sorted.begin(), sorted.end());
    size_t n = sorted.size();
    result.medianMs =
        n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    double sum = 0;
    for (double ms : sorted)
      sum += ms;
    result.meanMs = sum / n;
    result.imagesPerS = batchSize / (result.meanMs / 1e3);
  }
  return result;
}

} // namespace rtml
