//===- RunFolder.cpp - A run directory: metrics.jsonl, summary.json -------===//
#include "RunFolder.h"

#include "rtml/Runtime/SettingsIO.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/file.h>
#include <unistd.h>

namespace rtml {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace {

/// NaN and infinities have no JSON spelling: null, as Python's json reads.
ordered_json number(double value) {
  return std::isfinite(value) ? ordered_json(value) : ordered_json(nullptr);
}

ordered_json lossAndAccuracy(const PhaseMetrics &m) {
  return {{"loss", number(m.loss)}, {"accuracy", number(m.accuracy)}};
}

void writeAll(int fd, const std::string &text, const std::string &path) {
  const char *data = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(fd, data, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      throw std::runtime_error("cannot write " + path + ": " +
                               (n < 0 ? std::strerror(errno) : "no progress"));
    data += n;
    left -= static_cast<size_t>(n);
  }
}

void writeTextAtomically(const std::string &path, const std::string &text) {
  writeFileAtomically(path, text.data(), text.size());
}

/// The files a trainer writes in a run directory.
const char *const kRunFiles[] = {"metrics.jsonl",
                                 "summary.json",
                                 "checkpoints/last.pt",
                                 "checkpoints/best.pt",
                                 "checkpoints/checkpoint.pt",
                                 "checkpoints/checkpoint.prev.pt"};

/// Locks RUN/.lock for this process (until the descriptor is closed) and
/// writes its pid there; throws naming the holder when another has it.
int lockRun(const std::string &run) {
  std::string path = run + "/.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error("cannot create " + path + ": " +
                             std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int error = errno;
    char pid[32] = {};
    ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
    ::close(fd);
    std::string holder(pid, n > 0 ? size_t(n) : 0);
    holder = holder.substr(0, holder.find('\n'));
    if (error != EWOULDBLOCK)
      throw std::runtime_error("cannot lock " + path + ": " +
                               std::strerror(error));
    throw std::runtime_error(run + ": another trainer" +
                             (holder.empty() ? "" : " (pid " + holder + ")") +
                             " is writing this run folder (it holds " + path +
                             "); wait for it to end, or give another --out");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != ssize_t(pid.size())) {
    int error = errno;
    ::close(fd);
    throw std::runtime_error("cannot write " + path + ": " +
                             std::strerror(error));
  }
  return fd;
}

} // namespace

std::string checkpointPath(const std::string &runDir) {
  return runDir + "/checkpoints/checkpoint.pt";
}

std::string previousCheckpointPath(const std::string &runDir) {
  return runDir + "/checkpoints/checkpoint.prev.pt";
}

ResumePoint findResumePoint(const std::string &resume, std::ostream &out) {
  ResumePoint point;
  point.file = resume;
  if (fs::is_directory(resume)) {
    point.runDir = resume;
    point.file = checkpointPath(resume);
    std::string prev = previousCheckpointPath(resume);
    if (!fs::exists(point.file) && fs::exists(prev)) {
      out << "resume: " << point.file << " is missing, using " << prev
          << std::endl;
      point.file = prev;
    }
    if (!fs::exists(point.file))
      throw std::runtime_error(resume +
                               ": no checkpoint to resume from "
                               "(expected " +
                               point.file + ")");
  } else {
    if (!fs::exists(resume))
      throw std::runtime_error(resume + ": no such run directory or "
                                        "checkpoint file");
    // RUN/checkpoints/checkpoint.pt
    point.runDir = fs::path(resume).parent_path().parent_path().string();
    if (point.runDir.empty())
      point.runDir = ".";
  }
  std::string prev = previousCheckpointPath(point.runDir);
  if (point.file != prev && fs::exists(prev))
    point.hint = "; the previous checkpoint is kept: resume from it with "
                 "--resume " +
                 prev;
  return point;
}

ordered_json metricsJson(const PhaseMetrics &m) {
  ordered_json record = {{"epoch", m.epoch},
                         {"phase", m.phase},
                         {"loss", number(m.loss)},
                         {"accuracy", number(m.accuracy)},
                         {"images", m.images},
                         {"time_s", number(m.timeS)},
                         {"mean_batch_time_s", number(m.meanBatchTimeS)},
                         {"images_per_s", number(m.imagesPerS)}};
  if (m.phase == "train")
    record["lr"] = number(m.learningRate);
  if (!m.heads.empty()) {
    ordered_json heads = ordered_json::object();
    for (const HeadMetrics &h : m.heads)
      heads[h.name] = {{"loss", number(h.loss)},
                       {"accuracy", number(h.accuracy)}};
    record["heads"] = heads;
  }
  return record;
}

void truncateMetrics(const std::string &path, int64_t firstEpoch) {
  std::ifstream in(path);
  if (!in)
    return;
  std::string kept, line;
  while (std::getline(in, line)) {
    ordered_json record =
        ordered_json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!record.is_object() || !record.contains("epoch") ||
        !record["epoch"].is_number_integer())
      continue;
    if (record["epoch"].get<int64_t>() < firstEpoch)
      kept += line + "\n";
  }
  writeTextAtomically(path, kept);
}

RunFolder::RunFolder(std::string runDir, bool resuming, int64_t firstEpoch,
                     bool overwrite)
    : run(std::move(runDir)) {
  std::error_code error;
  fs::create_directories(run, error);
  if (error || !fs::is_directory(run))
    throw std::runtime_error(
        "cannot create directory " + run + ": " +
        (error ? error.message() : "a file of that name exists"));
  lockFd = lockRun(run);
  for (const char *file : kRunFiles) {
    if (resuming || !fs::exists(fs::path(run) / file))
      continue;
    if (!overwrite) {
      ::close(lockFd);
      throw std::runtime_error(
          run + " holds a run (" + file +
          "): continue it with 'train --resume " + run +
          "', or replace it with --overwrite (or give another --out)");
    }
    fs::remove(fs::path(run) / file);
  }
  fs::path checkpoints = fs::path(run) / "checkpoints";
  fs::create_directories(checkpoints, error);
  if (error || !fs::is_directory(checkpoints)) {
    ::close(lockFd);
    throw std::runtime_error(
        "cannot create directory " + checkpoints.string() + ": " +
        (error ? error.message() : "a file of that name exists"));
  }
  std::string metrics = metricsPath();
  if (resuming)
    truncateMetrics(metrics, firstEpoch);
  metricsFd = ::open(metrics.c_str(),
                     O_WRONLY | O_CREAT | O_CLOEXEC |
                         (resuming ? O_APPEND : O_TRUNC | O_APPEND),
                     0644);
  if (metricsFd < 0) {
    int error = errno;
    ::close(lockFd);
    throw std::runtime_error("cannot write " + metrics + ": " +
                             std::strerror(error));
  }
}

RunFolder::~RunFolder() {
  if (metricsFd >= 0)
    ::close(metricsFd);
  if (lockFd >= 0)
    ::close(lockFd); // releases the lock
}

void RunFolder::appendMetrics(const PhaseMetrics &m) {
  writeAll(metricsFd, metricsJson(m).dump() + "\n", metricsPath());
}

void RunFolder::saveWeights(const StateDict &state, bool best) {
  // Serialized once: the copy to the CPU is most of the cost.
  std::vector<char> bytes = serializeStateDict(state);
  writeFileAtomically(run + "/checkpoints/last.pt", bytes.data(), bytes.size());
  if (best)
    writeFileAtomically(run + "/checkpoints/best.pt", bytes.data(),
                        bytes.size());
}

void RunFolder::writeSummary(const ordered_json &summary) {
  writeTextAtomically(run + "/summary.json", summary.dump(2) + "\n");
}

ordered_json summaryJson(const ModelInfo &info, const TrainOptions &options,
                         const TrainResult &result) {
  bool hasVal = result.hasValidation;
  ordered_json s = {
      {"model", info.name},
      {"parameters", result.parameters},
      {"device", options.device.str()},
      {"train_images", result.trainImages},
      {"val_images", result.valImages},
      {"test_images", result.testImages},
      {"validation", hasVal ? "val" : "test"},
      {"final_train", lossAndAccuracy(result.finalTrain)},
      {"final_val", hasVal ? lossAndAccuracy(result.finalVal) : nullptr},
      {"final_test", lossAndAccuracy(result.finalTest)},
      {"best_val_accuracy", hasVal ? number(result.bestAccuracy) : nullptr},
      {"best_test_accuracy", number(result.bestTestAccuracy)},
      {"best_epoch", result.bestEpoch},
      {"wall_time_s", number(result.wallTimeS)},
      {"mean_batch_time_s", number(result.meanBatchTimeS)}};
  if (info.devices.size() > 1)
    s["transfer_bytes_per_step"] = {
        {"forward", result.transferPerStep.forward},
        {"backward", result.transferPerStep.backward}};
  s.update(settingsJson(options.train)); // the training settings, by key
  return s;
}

} // namespace rtml
