//===- Trainer.cpp - Training loop, evaluation, benchmark -----------------===//
#include "rtml/Runtime/Trainer.h"
#include "rtml/Runtime/Distributed.h"
#include "rtml/Runtime/Optimizer.h"
#include "rtml/Runtime/Parameters.h"
#include "rtml/Runtime/Serialization.h"
#include "rtml/Runtime/SettingsIO.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <c10/core/GradMode.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <map>
#include <memory>
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

/// Progress on the log stream: a bar redrawn in place on a terminal, a
/// plain line every few seconds otherwise (logs stay short).
class Progress {
public:
  Progress(std::ostream &log, bool enabled, bool isTty)
      : log(log), enabled(enabled), isTty(isTty) {}

  void update(const std::string &prefix, int64_t batch, int64_t batches,
              double loss, double accuracy, int64_t images, double elapsed,
              bool force) {
    if (!enabled)
      return;
    double interval = isTty ? 0.25 : 10.0;
    if (!force && secondsSince(last) < interval)
      return;
    last = Clock::now();
    double rate = elapsed > 0 ? images / elapsed : 0;
    double eta = batch > 0 ? elapsed / batch * (batches - batch) : NAN;
    std::ostringstream line;
    line << prefix << " ";
    if (isTty) {
      constexpr int kWidth = 24;
      int filled = batches > 0 ? int(kWidth * batch / batches) : 0;
      line << "[" << std::string(filled, '#')
           << std::string(kWidth - filled, '.') << "] ";
    }
    line << batch << "/" << batches << " loss " << std::fixed
         << std::setprecision(4) << loss << " acc " << std::setprecision(2)
         << accuracy * 100 << "% " << std::setprecision(1) << rate
         << " img/s ETA " << formatDuration(eta);
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

/// Sums of one phase of one epoch; saved in checkpoints, so that an epoch
/// resumed mid-way reports what an uninterrupted one does.
struct RunningStats {
  double lossSum = 0;
  int64_t correct = 0;
  int64_t images = 0;
  double batchTime = 0;
  int64_t batches = 0;
  double elapsed = 0; ///< seconds spent in earlier sessions
  std::vector<double> headLossSum;
  std::vector<int64_t> headCorrect;

  void add(const at::Tensor &logits, const at::Tensor &labels, double loss,
           double seconds) {
    int64_t n = labels.size(0);
    lossSum += loss * n;
    correct += logits.argmax(1).eq(labels).sum().item<int64_t>();
    images += n;
    batchTime += seconds;
    ++batches;
  }
  void addHeads(const std::vector<at::Tensor> &heads,
                const std::vector<double> &losses, const at::Tensor &labels) {
    headLossSum.resize(heads.size());
    headCorrect.resize(heads.size());
    int64_t n = labels.size(0);
    for (size_t h = 0; h < heads.size(); ++h) {
      headLossSum[h] += losses[h] * n;
      headCorrect[h] +=
          heads[h].detach().argmax(1).eq(labels).sum().item<int64_t>();
    }
  }
  /// Data parallel: the sums over every process (times stay this one's).
  void sumOver(Communicator &comm, size_t heads) {
    headLossSum.resize(heads);
    headCorrect.resize(heads);
    std::vector<double> values{lossSum, double(correct), double(images)};
    for (size_t h = 0; h < heads; ++h) {
      values.push_back(headLossSum[h]);
      values.push_back(double(headCorrect[h]));
    }
    std::vector<at::Tensor> sums{
        at::tensor(values, at::TensorOptions().dtype(at::kDouble))};
    comm.allReduceSum(sums, "metrics");
    auto sum = sums.front().accessor<double, 1>();
    lossSum = sum[0];
    correct = std::llround(sum[1]);
    images = std::llround(sum[2]);
    for (size_t h = 0; h < heads; ++h) {
      headLossSum[h] = sum[3 + 2 * h];
      headCorrect[h] = std::llround(sum[4 + 2 * h]);
    }
  }
  double loss() const { return images ? lossSum / images : NAN; }
  double accuracy() const { return images ? double(correct) / images : 0; }
  PhaseMetrics metrics(int64_t epoch, const char *phase, double time,
                       const CompiledModel &model) const {
    PhaseMetrics m;
    m.epoch = epoch;
    m.phase = phase;
    m.loss = loss();
    m.accuracy = accuracy();
    m.images = images;
    m.timeS = time;
    m.meanBatchTimeS = batches ? batchTime / batches : 0;
    m.imagesPerS = time > 0 ? images / time : 0;
    const std::vector<HeadInfo> &info = model.info().heads;
    for (size_t h = 0; h < headLossSum.size() && h < info.size(); ++h)
      m.heads.push_back({info[h].name, images ? headLossSum[h] / images : NAN,
                         images ? double(headCorrect[h]) / images : 0});
    return m;
  }
  void save(FlatDict &flat, const std::string &prefix) const {
    flat.emplace_back(prefix + "loss_sum", CheckpointValue::of(lossSum));
    flat.emplace_back(prefix + "correct", CheckpointValue::of(correct));
    flat.emplace_back(prefix + "images", CheckpointValue::of(images));
    flat.emplace_back(prefix + "batch_time", CheckpointValue::of(batchTime));
    flat.emplace_back(prefix + "batches", CheckpointValue::of(batches));
    flat.emplace_back(prefix + "elapsed", CheckpointValue::of(elapsed));
    for (size_t h = 0; h < headLossSum.size(); ++h) {
      std::string k = prefix + "head" + std::to_string(h) + "_";
      flat.emplace_back(k + "loss_sum", CheckpointValue::of(headLossSum[h]));
      flat.emplace_back(k + "correct", CheckpointValue::of(headCorrect[h]));
    }
  }
};

std::string metricsJson(const PhaseMetrics &m) {
  std::ostringstream os;
  os << "{\"epoch\": " << m.epoch << ", \"phase\": " << jsonString(m.phase)
     << ", \"loss\": " << jsonNumber(m.loss)
     << ", \"accuracy\": " << jsonNumber(m.accuracy)
     << ", \"images\": " << m.images << ", \"time_s\": " << jsonNumber(m.timeS)
     << ", \"mean_batch_time_s\": " << jsonNumber(m.meanBatchTimeS)
     << ", \"images_per_s\": " << jsonNumber(m.imagesPerS);
  if (m.phase == "train")
    os << ", \"lr\": " << jsonNumber(m.learningRate);
  if (!m.heads.empty()) {
    os << ", \"heads\": {";
    for (size_t h = 0; h < m.heads.size(); ++h)
      os << (h ? ", " : "") << jsonString(m.heads[h].name)
         << ": {\"loss\": " << jsonNumber(m.heads[h].loss)
         << ", \"accuracy\": " << jsonNumber(m.heads[h].accuracy) << "}";
    os << "}";
  }
  os << "}";
  return os.str();
}

at::Device cudaDevice(at::Device device) {
  return at::Device(at::kCUDA, device.has_index() ? device.index() : 0);
}

bool isOutOfMemory(const std::string &message) {
  return message.find("out of memory") != std::string::npos ||
         message.find("not enough memory") != std::string::npos;
}

[[noreturn]] void throwOutOfMemory(const std::string &message,
                                   at::Device device, int64_t batchSize,
                                   const std::string &where) {
  std::string first = message.substr(0, message.find('\n'));
  throw std::runtime_error("out of memory on " + device.str() + " " + where +
                           " with batch size " + std::to_string(batchSize) +
                           " (" + first + "); try a smaller --batch-size");
}

/// SIGINT/SIGTERM while training: set a flag the loop checks between
/// batches. The handler resets itself, so a second signal acts at once.
volatile std::sig_atomic_t gSignal = 0;

extern "C" void onStopSignal(int sig) { gSignal = sig; }

class SignalGuard {
public:
  explicit SignalGuard(bool enabled) : enabled(enabled) {
    gSignal = 0;
    if (!enabled)
      return;
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = onStopSignal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &oldInt);
    ::sigaction(SIGTERM, &sa, &oldTerm);
  }
  ~SignalGuard() {
    if (!enabled)
      return;
    ::sigaction(SIGINT, &oldInt, nullptr);
    ::sigaction(SIGTERM, &oldTerm, nullptr);
  }

private:
  bool enabled;
  struct sigaction oldInt, oldTerm;
};

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

int agreeOnSignal(Communicator &comm, int signal) {
  return agreeOnStep(comm, 0, signal).signal;
}

PhaseMetrics evaluateImpl(const CompiledModel &model,
                          const std::vector<at::Tensor> &params,
                          const Dataset &set, at::Device device,
                          int64_t batchSize, int64_t epoch, const char *phase,
                          Progress *progress, const std::string &prefix,
                          bool interruptible, Communicator *comm = nullptr) {
  c10::NoGradGuard noGrad;
  BatchTransform transform(model.info().data, device, /*seed=*/0);
  BatchSampler sampler(set, batchSize, /*shuffle=*/false, 0);
  bool multiHead = model.info().heads.size() > 1;
  RunningStats stats;
  auto start = Clock::now();
  int64_t n = sampler.numBatches();
  for (int64_t i = 0; i < n; ++i) {
    if (interruptible && gSignal)
      break;
    auto batchStart = Clock::now();
    auto [images, labels] = sampler.batch(i);
    try {
      at::Tensor x = transform(images, /*training=*/false);
      at::Tensor y = labels.to(device);
      if (multiHead) {
        std::vector<at::Tensor> heads = model.forwardHeads(x, params, false);
        std::vector<double> losses;
        combineHeadLosses(model, heads, y, &losses);
        stats.add(heads.front(), y, losses.front(), secondsSince(batchStart));
        stats.addHeads(heads, losses, y);
      } else {
        at::Tensor logits = model.forward(x, params, /*training=*/false);
        double loss = crossEntropy(logits, y).item<double>();
        stats.add(logits, y, loss, secondsSince(batchStart));
      }
    } catch (const c10::Error &e) {
      if (!isOutOfMemory(e.what_without_backtrace()))
        throw;
      throwOutOfMemory(e.what_without_backtrace(), device, batchSize,
                       std::string("evaluating (") + phase + ")");
    }
    if (progress)
      progress->update(prefix, i + 1, n, stats.loss(), stats.accuracy(),
                       stats.images, secondsSince(start), false);
  }
  if (progress)
    progress->finish();
  if (comm)
    stats.sumOver(*comm, multiHead ? model.info().heads.size() : 0);
  return stats.metrics(epoch, phase, secondsSince(start), model);
}

void writeTextAtomically(const std::string &path, const std::string &text) {
  writeFileAtomically(path, text.data(), text.size());
}

std::string parentDir(const std::string &path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool isDirectory(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

/// Reads a checkpoint into a name -> value map, refusing what is not one.
std::map<std::string, CheckpointValue> readCheckpoint(const std::string &path,
                                                      const std::string &hint) {
  FlatDict flat;
  try {
    flat = loadFlatDict(path);
  } catch (const std::exception &e) {
    throw std::runtime_error(std::string(e.what()) +
                             "\n  refusing to resume from it" + hint);
  }
  std::map<std::string, CheckpointValue> map(flat.begin(), flat.end());
  auto it = map.find("rtml_checkpoint");
  if (it == map.end() || it->second.kind != CheckpointValue::Kind::Int)
    throw std::runtime_error(path +
                             ": not an rtml training checkpoint (no "
                             "'rtml_checkpoint' entry; a weights file? use "
                             "--weights for those)" +
                             hint);
  if (it->second.integer != 1)
    throw std::runtime_error(path + ": checkpoint format " +
                             std::to_string(it->second.integer) +
                             " is not supported (expected 1)");
  return map;
}

class CheckpointReader {
public:
  CheckpointReader(std::map<std::string, CheckpointValue> map, std::string path)
      : map(std::move(map)), path(std::move(path)) {}
  const CheckpointValue &get(const std::string &key,
                             CheckpointValue::Kind kind) const {
    auto it = map.find(key);
    if (it == map.end())
      throw std::runtime_error(path + ": checkpoint lacks '" + key + "'");
    bool number = kind == CheckpointValue::Kind::Float &&
                  (it->second.kind == CheckpointValue::Kind::Int ||
                   (it->second.kind == CheckpointValue::Kind::Tensor &&
                    it->second.tensor.numel() == 1));
    if (it->second.kind != kind && !number)
      throw std::runtime_error(path + ": checkpoint entry '" + key +
                               "' has the wrong type");
    return it->second;
  }
  bool has(const std::string &key) const { return map.count(key) != 0; }
  int64_t integer(const std::string &key) const {
    return get(key, CheckpointValue::Kind::Int).integer;
  }
  double real(const std::string &key) const {
    const CheckpointValue &v = get(key, CheckpointValue::Kind::Float);
    if (v.kind == CheckpointValue::Kind::Int)
      return double(v.integer);
    if (v.kind == CheckpointValue::Kind::Tensor)
      return v.tensor.to(at::kDouble).item<double>();
    return v.real;
  }
  const std::string &text(const std::string &key) const {
    return get(key, CheckpointValue::Kind::String).text;
  }
  const at::Tensor &tensor(const std::string &key) const {
    return get(key, CheckpointValue::Kind::Tensor).tensor;
  }
  RunningStats stats(const std::string &prefix, size_t heads) const {
    RunningStats s;
    s.lossSum = real(prefix + "loss_sum");
    s.correct = integer(prefix + "correct");
    s.images = integer(prefix + "images");
    s.batchTime = real(prefix + "batch_time");
    s.batches = integer(prefix + "batches");
    s.elapsed = real(prefix + "elapsed");
    for (size_t h = 0; h < heads; ++h) {
      std::string k = prefix + "head" + std::to_string(h) + "_";
      if (!has(k + "loss_sum"))
        break;
      s.headLossSum.push_back(real(k + "loss_sum"));
      s.headCorrect.push_back(integer(k + "correct"));
    }
    return s;
  }
  const std::string &file() const { return path; }

private:
  std::map<std::string, CheckpointValue> map;
  std::string path;
};

/// Keeps the records of epochs before FIRSTEPOCH (a resumed run rewrites the
/// rest).
void truncateMetrics(const std::string &path, int64_t firstEpoch) {
  std::ifstream in(path);
  if (!in)
    return;
  std::string kept, line;
  while (std::getline(in, line)) {
    size_t at = line.find("\"epoch\": ");
    if (at == std::string::npos)
      continue;
    if (std::atoll(line.c_str() + at + 9) < firstEpoch)
      kept += line + "\n";
  }
  writeTextAtomically(path, kept);
}

/// Splits TRAIN per OPTIONS and the spec; VAL is empty without a split.
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

/// What a run was trained on, recorded in its checkpoint so that a resume
/// on another data set is refused: the sizes and a fingerprint of every
/// image and label (the same data moved elsewhere still matches).
std::string dataIdentity(const Dataset &train, const Dataset &test) {
  uint64_t h = 14695981039346656037ull;
  for (const Dataset *d : {&train, &test})
    if (d->size() > 0)
      h = fingerprint(d->labels, fingerprint(d->images, h));
  std::ostringstream os;
  os << train.size() << " training and " << test.size()
     << " test images, fingerprint " << std::hex << std::setw(16)
     << std::setfill('0') << h;
  return os.str();
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

std::string formatBytes(int64_t bytes) {
  if (bytes < 1000)
    return std::to_string(bytes) + " B";
  const char *units[] = {"kB", "MB", "GB", "TB"};
  double value = bytes / 1000.0;
  int unit = 0;
  for (; value >= 1000 && unit < 3; ++unit)
    value /= 1000;
  std::ostringstream os;
  os << std::fixed << std::setprecision(2) << value << " " << units[unit];
  return os.str();
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
  return evaluateImpl(model, params, set, device, batchSize, 0, "test", nullptr,
                      "", false);
}

std::string checkpointPath(const std::string &runDir) {
  return runDir + "/checkpoints/checkpoint.pt";
}

std::string previousCheckpointPath(const std::string &runDir) {
  return runDir + "/checkpoints/checkpoint.prev.pt";
}

TrainResult runTraining(const CompiledModel &model, const TrainOptions &opts,
                        std::ostream &out, std::ostream &log) {
  auto wallStart = Clock::now();
  const ModelInfo &info = model.info();
  TrainOptions options = opts;
  checkDeviceAvailable(options.device);
  Communicator *comm = options.comm;
  int64_t rank = comm ? comm->rank() : 0;
  int64_t world = comm ? comm->worldSize() : 1;
  bool writesFiles = rank == 0; // data parallel: rank 0 writes the run

  // --- resume: the run's settings and state come from its checkpoint -------
  std::unique_ptr<CheckpointReader> ckpt;
  if (!options.resume.empty()) {
    std::string file = options.resume, runDir;
    if (isDirectory(file)) {
      runDir = file;
      file = checkpointPath(runDir);
      if (!exists(file) && exists(previousCheckpointPath(runDir))) {
        out << "resume: " << file << " is missing, using "
            << previousCheckpointPath(runDir) << std::endl;
        file = previousCheckpointPath(runDir);
      }
      if (!exists(file))
        throw std::runtime_error(runDir +
                                 ": no checkpoint to resume from "
                                 "(expected " +
                                 file + ")");
    } else {
      if (!exists(file))
        throw std::runtime_error(file + ": no such run directory or "
                                        "checkpoint file");
      runDir = parentDir(parentDir(file));
    }
    std::string prev = previousCheckpointPath(runDir);
    std::string hint = file != prev && exists(prev)
                           ? "; the previous checkpoint is kept: resume from "
                             "it with --resume " +
                                 prev
                           : "";
    ckpt = std::make_unique<CheckpointReader>(readCheckpoint(file, hint), file);
    const CheckpointReader &c = *ckpt;
    if (c.text("model") != info.name)
      throw std::runtime_error(file + ": checkpoint of model '" +
                               c.text("model") + "', this trainer is '" +
                               info.name + "'");
    options.outDir = runDir;
    if (options.dataDir.empty())
      options.dataDir = c.text("config/data");
    TrainConfig &t = options.train;
    readSettings(c, file, t);
    if (options.epochsOverride > 0)
      t.epochs = options.epochsOverride;
    options.maxSteps = c.integer("config/max_steps");
    options.limitTrain = c.integer("config/limit_train");
    options.limitTest = c.integer("config/limit_test");
    options.valImages = c.integer("config/val_images");
    options.splitSeed = c.integer("config/split_seed");
  }
  TrainConfig &cfg = options.train;
  if (cfg.lrSchedule == LrSchedule::Cosine && cfg.lrTMax <= 0)
    cfg.lrTMax = cfg.epochs; // fixed now, so that --epochs on resume keeps it
  for (const settings::Violation &v : settings::check(cfg))
    throw std::invalid_argument(describeForFlags(v));

  // --- data
  // -------------------------------------------------------------------
  Dataset all = takeFirst(readCifarTrain(options.dataDir), options.limitTrain);
  Dataset test = takeFirst(readCifarTest(options.dataDir), options.limitTest);
  std::string identity = dataIdentity(all, test);
  if (ckpt && ckpt->has("config/data_identity") &&
      ckpt->text("config/data_identity") != identity)
    throw std::runtime_error(
        "--data " + options.dataDir +
        " is not the data set this run trained on: it holds " + identity +
        ", the run's (" + ckpt->text("config/data") + ", recorded in " +
        ckpt->file() + ") held " + ckpt->text("config/data_identity") +
        "; resume with the run's data");
  int64_t splitSeed = options.splitSeed >= 0     ? options.splitSeed
                      : info.data.splitSeed >= 0 ? info.data.splitSeed
                                                 : int64_t(cfg.seed);
  auto [train, val] =
      makeSplit(all, info.data, options, static_cast<uint64_t>(splitSeed), out);
  if (!ckpt) { // what the checkpoint records, resolved
    options.valImages = val.size();
    options.splitSeed = splitSeed;
  }
  bool hasVal = val.size() > 0;
  const Dataset &evalSet = hasVal ? val : test;
  const char *evalPhase = hasVal ? "val" : "test";

  // --- model, optimizer, generators ------------------------------------------
  ParameterRegistry registry(model.parameters(), options.device, cfg.seed);
  if (!options.weights.empty() && !ckpt) {
    WeightsReport report = loadWeights(registry, loadStateDict(options.weights),
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
  Sgd sgd(registry.trainableTensors(),
          SgdOptions{cfg.learningRate, cfg.momentum, cfg.weightDecay,
                     cfg.nesterov});
  // Separate streams for order, augmentation and dropout, all from the seed.
  // Data parallel: one order for the job; augmentation and dropout differ
  // per process, as the images each sees do.
  uint64_t rankSeed = static_cast<uint64_t>(rank) * 1000003;
  BatchSampler sampler(train, cfg.batchSize, /*shuffle=*/true, cfg.seed + 1);
  if (comm)
    sampler.shard(rank, world);
  BatchTransform transform(info.data, options.device, cfg.seed + 2 + rankSeed);
  at::manual_seed(cfg.seed + 3 + rankSeed);

  TrainResult result;
  result.parameters = registry.numParameters();
  result.hasValidation = hasVal;
  result.trainImages = train.size();
  result.valImages = val.size();
  result.testImages = test.size();
  int64_t startEpoch = 1, startStep = 0;
  RunningStats resumedStats;
  at::Tensor epochShuffleState;
  double earlierWall = 0, totalBatchTime = 0;
  int64_t totalBatches = 0;
  bool haveBest = false;
  if (ckpt) {
    const CheckpointReader &c = *ckpt;
    StateDict weights;
    for (const ParameterSpec &spec : registry.specs())
      weights.emplace_back(spec.name,
                           c.tensor("model_state_dict/" + spec.name));
    loadIntoRegistry(registry, weights, c.file());
    for (size_t i = 0; i < registry.trainableTensors().size(); ++i) {
      std::string key;
      size_t seen = 0;
      for (const ParameterSpec &spec : registry.specs())
        if (spec.trainable && seen++ == i)
          key = "optimizer_state_dict/momentum_buffer." + spec.name;
      if (c.has(key))
        sgd.setMomentumBuffer(i, c.tensor(key));
    }
    startEpoch = c.integer("epoch");
    startStep = c.integer("step");
    epochShuffleState = c.tensor("rng/shuffle_epoch_start");
    // The checkpoint holds rank 0's augmentation and dropout streams; the
    // other ranks keep their own fresh ones.
    if (rank == 0) {
      transform.setGeneratorState(c.tensor("rng/augment"));
      at::Generator cpuGen = at::detail::getDefaultCPUGenerator();
      cpuGen.set_state(c.tensor("rng/dropout"));
      if (options.device.is_cuda() && c.has("rng/dropout_cuda")) {
        at::Generator cudaGen =
            at::globalContext().defaultGenerator(cudaDevice(options.device));
        cudaGen.set_state(c.tensor("rng/dropout_cuda"));
      }
      // Sums over every process when saved: counted once, by rank 0.
      resumedStats = c.stats("stats/", info.heads.size());
    }
    earlierWall = c.real("totals/wall_time_s");
    totalBatchTime = c.real("totals/batch_time");
    totalBatches = c.integer("totals/batches");
    haveBest = c.integer("best/epoch") > 0;
    result.bestAccuracy = c.real("best/accuracy");
    result.bestEpoch = c.integer("best/epoch");
    result.bestTestAccuracy = c.real("best/test_accuracy");
    auto phase = [&](const std::string &k, PhaseMetrics &m, const char *name) {
      m.phase = name;
      m.epoch = startEpoch - 1;
      m.loss = c.real(k + "/loss");
      m.accuracy = c.real(k + "/accuracy");
    };
    phase("last/train", result.finalTrain, "train");
    phase("last/eval", hasVal ? result.finalVal : result.finalTest, evalPhase);
    out << "resume: " << c.file() << " at epoch " << startEpoch << " step "
        << startStep << std::endl;
  }

  if (comm) {
    // Every process starts from rank 0's weights and buffers.
    broadcastFromRankZero(*comm, registry.tensors(), "initial weights");
  }
  size_t numHeads = info.heads.size() > 1 ? info.heads.size() : 0;
  std::vector<at::Tensor> buffers;
  for (size_t k = 0; k < registry.specs().size(); ++k)
    if (!registry.specs()[k].trainable)
      buffers.push_back(registry.tensors()[k]);

  // The same on every rank: checkpoint saves are collective.
  bool savesCheckpoints = !options.outDir.empty();
  std::string checkpointDir;
  std::ofstream metricsFile;
  if (savesCheckpoints && writesFiles) {
    checkpointDir = options.outDir + "/checkpoints";
    makeDirectories(checkpointDir);
    std::string metricsPath = options.outDir + "/metrics.jsonl";
    if (ckpt)
      truncateMetrics(metricsPath, startEpoch);
    metricsFile.open(metricsPath, ckpt ? std::ios::app : std::ios::trunc);
    if (!metricsFile)
      throw std::runtime_error("cannot write " + metricsPath);
  }
  auto record = [&](const PhaseMetrics &m) {
    result.history.push_back(m);
    if (metricsFile.is_open())
      metricsFile << metricsJson(m) << std::endl;
  };

  auto saveCheckpoint = [&](int64_t epoch, int64_t step,
                            const RunningStats &localStats) {
    if (!savesCheckpoints)
      return;
    RunningStats stats = localStats;
    if (comm)
      stats.sumOver(*comm, numHeads);
    if (!writesFiles)
      return;
    FlatDict flat;
    auto put = [&](const std::string &k, CheckpointValue v) {
      flat.emplace_back(k, std::move(v));
    };
    put("rtml_checkpoint", CheckpointValue::of(int64_t(1)));
    put("model", CheckpointValue::of(info.name));
    for (auto &[name, t] : registryStateDict(registry))
      put("model_state_dict/" + name, CheckpointValue::of(t));
    size_t i = 0;
    for (const ParameterSpec &spec : registry.specs()) {
      if (!spec.trainable)
        continue;
      const at::Tensor &buf = sgd.momentumBuffers()[i++];
      if (buf.defined())
        put("optimizer_state_dict/momentum_buffer." + spec.name,
            CheckpointValue::of(buf.detach().to(at::kCPU)));
    }
    put("epoch", CheckpointValue::of(epoch));
    put("step", CheckpointValue::of(step));
    put("rng/shuffle_epoch_start", CheckpointValue::of(epochShuffleState));
    put("rng/augment", CheckpointValue::of(transform.generatorState()));
    put("rng/dropout",
        CheckpointValue::of(at::detail::getDefaultCPUGenerator().get_state()));
    if (options.device.is_cuda())
      put("rng/dropout_cuda",
          CheckpointValue::of(at::globalContext()
                                  .defaultGenerator(cudaDevice(options.device))
                                  .get_state()));
    stats.save(flat, "stats/");
    put("totals/wall_time_s",
        CheckpointValue::of(earlierWall + secondsSince(wallStart)));
    put("totals/batch_time", CheckpointValue::of(totalBatchTime));
    put("totals/batches", CheckpointValue::of(totalBatches));
    put("best/accuracy", CheckpointValue::of(result.bestAccuracy));
    put("best/epoch", CheckpointValue::of(result.bestEpoch));
    put("best/test_accuracy", CheckpointValue::of(result.bestTestAccuracy));
    const PhaseMetrics &lastEval = hasVal ? result.finalVal : result.finalTest;
    put("last/train/loss", CheckpointValue::of(result.finalTrain.loss));
    put("last/train/accuracy", CheckpointValue::of(result.finalTrain.accuracy));
    put("last/eval/loss", CheckpointValue::of(lastEval.loss));
    put("last/eval/accuracy", CheckpointValue::of(lastEval.accuracy));
    put("config/data", CheckpointValue::of(options.dataDir));
    put("config/data_identity", CheckpointValue::of(identity));
    putSettings(cfg, flat);
    put("config/max_steps", CheckpointValue::of(options.maxSteps));
    put("config/limit_train", CheckpointValue::of(options.limitTrain));
    put("config/limit_test", CheckpointValue::of(options.limitTest));
    put("config/val_images", CheckpointValue::of(options.valImages));
    put("config/split_seed", CheckpointValue::of(options.splitSeed));
    std::vector<char> bytes = serializeFlatDict(flat);
    writeFileAtomically(checkpointPath(options.outDir), bytes.data(),
                        bytes.size(), previousCheckpointPath(options.outDir));
  };

  Progress progress(log, options.progress, ::isatty(STDERR_FILENO) != 0);
  SignalGuard signals(options.handleSignals);
  auto stopIfSignalled = [&](int64_t epoch, int64_t step,
                             const RunningStats &stats) {
    int sig = gSignal;
    if (comm) { // all stop at the same point, or none does
      sig = agreeOnSignal(*comm, sig);
      // A signal that came during the collective waits for the next one.
      if (sig)
        gSignal = sig;
    }
    if (!sig)
      return;
    progress.finish();
    const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";
    if (!savesCheckpoints)
      throw TrainingInterrupted(std::string("interrupted by ") + name +
                                    " at epoch " + std::to_string(epoch) +
                                    " step " + std::to_string(step) +
                                    " (no run directory: nothing saved)",
                                sig);
    saveCheckpoint(epoch, step, stats);
    throw TrainingInterrupted(
        std::string("interrupted by ") + name + " at epoch " +
            std::to_string(epoch) + " step " + std::to_string(step) +
            "; saved " + checkpointPath(options.outDir) +
            "; continue with: train --resume " + options.outDir,
        sig);
  };

  out << "model " << info.name << ": " << result.parameters << " parameters, "
      << train.size() << " training, " << val.size() << " validation and "
      << test.size() << " test images, device " << options.device.str()
      << std::endl;
  if (comm)
    out << "data parallel: " << world << " processes (" << comm->backend()
        << "), " << cfg.batchSize << " images per process, "
        << cfg.batchSize * world << " per step" << std::endl;

  bool multiHead = numHeads > 0;
  int64_t totalSessionSteps = 0;
  Dataset evalShard = comm ? contiguousShard(evalSet, rank, world) : evalSet;
  for (int64_t epoch = startEpoch; epoch <= cfg.epochs; ++epoch) {
    std::string prefix =
        "epoch " + std::to_string(epoch) + "/" + std::to_string(cfg.epochs);
    bool resumedEpoch = ckpt && epoch == startEpoch;
    if (resumedEpoch)
      sampler.setGeneratorState(epochShuffleState);
    else
      epochShuffleState = sampler.generatorState();
    sampler.startEpoch();
    double lr = learningRateAt(cfg, epoch);
    sgd.setLearningRate(lr);
    int64_t batches = sampler.numBatches();
    if (options.maxSteps > 0)
      batches = std::min(batches, options.maxSteps);
    RunningStats stats = resumedEpoch ? resumedStats : RunningStats();
    int64_t first = resumedEpoch ? std::min(startStep, batches) : 0;
    auto start = Clock::now();
    auto elapsed = [&] { return stats.elapsed + secondsSince(start); };
    for (int64_t i = first; i < batches; ++i) {
      if (gSignal && !comm) {
        stats.elapsed = elapsed();
        start = Clock::now();
        stopIfSignalled(epoch, i, stats);
      }
      auto batchStart = Clock::now();
      bool measureTransfers = info.devices.size() > 1 && totalSessionSteps == 0;
      TransferBytes transfersBefore = transferBytes();
      auto [images, labels] = sampler.batch(i);
      // Data parallel: the last batch of an epoch may leave a process none.
      int64_t local = labels.size(0);
      double lossValue = 0;
      at::Tensor y, mainLogits;
      try {
        sgd.zeroGrad();
        std::vector<at::Tensor> heads;
        std::vector<double> headLosses;
        at::Tensor loss;
        if (local > 0) {
          at::Tensor x = transform(images, /*training=*/true);
          y = labels.to(options.device);
          heads = model.forwardHeads(x, registry.tensors(), /*training=*/true);
          loss = combineHeadLosses(model, heads, y,
                                   multiHead ? &headLosses : nullptr);
          lossValue = loss.item<double>();
        }
        double stepLoss = lossValue;
        int jobSignal = 0; // data parallel: a stop every process agreed on
        if (comm) {
          StepAgreement agreed = agreeOnStep(*comm, lossValue * local, gSignal);
          stepLoss = agreed.lossSum / double(sampler.globalBatchSize(i));
          jobSignal = agreed.signal;
          if (jobSignal) // keeps one that came during the collective
            gSignal = jobSignal;
        }
        if (!std::isfinite(stepLoss)) {
          progress.finish();
          throw std::runtime_error(
              std::string("loss is ") + (std::isnan(stepLoss) ? "nan" : "inf") +
              " at epoch " + std::to_string(epoch) + " step " +
              std::to_string(i + 1) + " (the last good checkpoint is kept)");
        }
        if (jobSignal) {
          stats.elapsed = elapsed();
          start = Clock::now();
          stopIfSignalled(epoch, i, stats);
        }
        if (local > 0)
          loss.backward();
        if (comm) {
          if (local == 0)
            for (at::Tensor p : registry.trainableTensors())
              p.mutable_grad() = at::zeros_like(p);
          allReduceGradients(*comm, registry.trainableTensors(),
                             double(local) / sampler.globalBatchSize(i));
        }
        sgd.step();
        synchronize(options.device);
        if (local > 0) {
          mainLogits = heads.front().detach();
          if (multiHead)
            stats.addHeads(heads, headLosses, y);
        }
      } catch (const c10::Error &e) {
        if (!isOutOfMemory(e.what_without_backtrace()))
          throw;
        progress.finish();
        throwOutOfMemory(e.what_without_backtrace(), options.device,
                         cfg.batchSize,
                         "at epoch " + std::to_string(epoch) + " step " +
                             std::to_string(i + 1));
      } catch (const std::bad_alloc &) {
        progress.finish();
        throwOutOfMemory("std::bad_alloc", options.device, cfg.batchSize,
                         "at epoch " + std::to_string(epoch) + " step " +
                             std::to_string(i + 1));
      }
      double seconds = secondsSince(batchStart);
      if (local > 0)
        stats.add(mainLogits, y, lossValue, seconds);
      if (measureTransfers) {
        TransferBytes after = transferBytes();
        result.transferPerStep = {after.forward - transfersBefore.forward,
                                  after.backward - transfersBefore.backward};
        out << "devices: " << info.devices.size()
            << " logical; moved between them per step: forward "
            << formatBytes(result.transferPerStep.forward) << ", backward "
            << formatBytes(result.transferPerStep.backward) << std::endl;
      }
      ++totalSessionSteps;
      totalBatchTime += seconds;
      ++totalBatches;
      progress.update(prefix + " train", i + 1, batches, stats.loss(),
                      stats.accuracy(), stats.images, secondsSince(start),
                      i + 1 == batches);
      if (options.checkpointEvery > 0 &&
          (i + 1) % options.checkpointEvery == 0 && i + 1 < batches) {
        stats.elapsed = elapsed();
        start = Clock::now();
        saveCheckpoint(epoch, i + 1, stats);
      }
    }
    progress.finish();
    stats.elapsed = elapsed();
    start = Clock::now();
    stopIfSignalled(epoch, batches, stats);
    RunningStats epochStats = stats;
    if (comm)
      epochStats.sumOver(*comm, numHeads);
    PhaseMetrics trainMetrics =
        epochStats.metrics(epoch, "train", stats.elapsed, model);
    trainMetrics.learningRate = lr;

    if (comm) // every process evaluates the model rank 0 saves
      broadcastFromRankZero(*comm, buffers, "batch-norm statistics");
    PhaseMetrics evalMetrics = evaluateImpl(
        model, registry.tensors(), evalShard, options.device, cfg.batchSize,
        epoch, evalPhase, &progress, prefix + " " + evalPhase,
        /*interruptible=*/!comm, comm);
    stopIfSignalled(epoch, batches, stats);
    record(trainMetrics);
    record(evalMetrics);
    result.finalTrain = trainMetrics;
    (hasVal ? result.finalVal : result.finalTest) = evalMetrics;
    if (!hasVal)
      result.bestTestAccuracy =
          haveBest ? std::max(result.bestTestAccuracy, evalMetrics.accuracy)
                   : evalMetrics.accuracy;
    bool best = !haveBest || evalMetrics.accuracy > result.bestAccuracy;
    if (best) {
      haveBest = true;
      result.bestAccuracy = evalMetrics.accuracy;
      result.bestEpoch = epoch;
    }
    out << std::fixed << std::setprecision(4) << prefix << ": train loss "
        << trainMetrics.loss << " acc " << std::setprecision(2)
        << trainMetrics.accuracy * 100 << "% | " << evalPhase << " loss "
        << std::setprecision(4) << evalMetrics.loss << " acc "
        << std::setprecision(2) << evalMetrics.accuracy * 100 << "% | "
        << std::setprecision(1) << trainMetrics.timeS << " s, "
        << trainMetrics.imagesPerS << " img/s" << (best ? " (best)" : "")
        << std::defaultfloat << std::endl;

    if (savesCheckpoints) {
      if (writesFiles) {
        StateDict state = registryStateDict(registry);
        saveStateDict(state, checkpointDir + "/last.pt");
        if (best)
          saveStateDict(state, checkpointDir + "/best.pt");
      }
      epochShuffleState = sampler.generatorState();
      saveCheckpoint(epoch + 1, 0, RunningStats());
    }
  }

  if (hasVal) {
    result.finalTest =
        evaluateImpl(model, registry.tensors(),
                     comm ? contiguousShard(test, rank, world) : test,
                     options.device, cfg.batchSize, cfg.epochs, "test",
                     &progress, "final test", false, comm);
    result.bestTestAccuracy = result.finalTest.accuracy;
    record(result.finalTest);
    out << std::fixed << "test loss " << std::setprecision(4)
        << result.finalTest.loss << " acc " << std::setprecision(2)
        << result.finalTest.accuracy * 100 << "% (" << test.size() << " images)"
        << std::defaultfloat << std::endl;
  }
  result.wallTimeS = earlierWall + secondsSince(wallStart);
  result.meanBatchTimeS = totalBatches ? totalBatchTime / totalBatches : 0;

  if (!options.outDir.empty() && writesFiles) {
    auto phase = [](const PhaseMetrics &m, bool present) -> std::string {
      if (!present)
        return "null";
      return "{\"loss\": " + jsonNumber(m.loss) +
             ", \"accuracy\": " + jsonNumber(m.accuracy) + "}";
    };
    std::ostringstream summary;
    summary << "{\n  \"model\": " << jsonString(info.name)
            << ",\n  \"parameters\": " << result.parameters
            << ",\n  \"device\": " << jsonString(options.device.str())
            << ",\n  \"train_images\": " << result.trainImages
            << ",\n  \"val_images\": " << result.valImages
            << ",\n  \"test_images\": " << result.testImages
            << ",\n  \"validation\": " << jsonString(evalPhase)
            << ",\n  \"final_train\": " << phase(result.finalTrain, true)
            << ",\n  \"final_val\": " << phase(result.finalVal, hasVal)
            << ",\n  \"final_test\": " << phase(result.finalTest, true)
            << ",\n  \"best_val_accuracy\": "
            << (hasVal ? jsonNumber(result.bestAccuracy) : "null")
            << ",\n  \"best_test_accuracy\": "
            << jsonNumber(result.bestTestAccuracy)
            << ",\n  \"best_epoch\": " << result.bestEpoch
            << ",\n  \"wall_time_s\": " << jsonNumber(result.wallTimeS)
            << ",\n  \"mean_batch_time_s\": "
            << jsonNumber(result.meanBatchTimeS);
    if (info.devices.size() > 1)
      summary << ",\n  \"transfer_bytes_per_step\": {\"forward\": "
              << result.transferPerStep.forward
              << ", \"backward\": " << result.transferPerStep.backward << "}";
    summary << settingsJson(cfg) << "\n}\n";
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
          SgdOptions{cfg.learningRate, cfg.momentum, cfg.weightDecay,
                     cfg.nesterov});
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
    TransferBytes before = transferBytes();
    auto start = Clock::now();
    sgd.zeroGrad();
    at::Tensor loss = trainingLoss(model, x, registry.tensors(), y);
    loss.backward();
    sgd.step();
    synchronize(device);
    if (i >= warmup)
      result.stepMs.push_back(secondsSince(start) * 1e3);
    TransferBytes after = transferBytes();
    result.transferPerStep = {after.forward - before.forward,
                              after.backward - before.backward};
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
