//===- CheckpointTest.cpp - Resume, signals, corrupt checkpoints, weights -===//
//
// The resume tests run the trainer in child processes (this test binary
// re-executed with --gtest_filter=RuntimeChild.Train), so that a run can be
// killed with SIGKILL or stopped with SIGTERM/SIGINT for real, each with one
// LibTorch thread so that every run is bitwise reproducible.
//
//===----------------------------------------------------------------------===//
#include "HostileFiles.h"
#include "TestUtil.h"
#include "TinyModel.h"

#include "rtml/Runtime/Parameters.h"
#include "rtml/Runtime/Serialization.h"
#include "rtml/Runtime/Trainer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace rtml;
using namespace rtml::test;

namespace {

constexpr char kSep = '\x1f';

struct ChildResult {
  bool exited = false;
  int code = -1;   ///< exit status when exited
  int signal = 0;  ///< terminating signal otherwise
  std::string log; ///< stdout and stderr
};

/// Runs trainerMain(ARGS) on a TinyModel in a fresh process; its training
/// forward number SIGNALAT raises SIG. FILESIZELIMIT > 0: no file it writes
/// may grow beyond that many bytes (RLIMIT_FSIZE, as a full disk would
/// stop it); its output goes through a pipe, which the limit spares.
ChildResult runChild(const TempDir &dir, const std::vector<std::string> &args,
                     int64_t signalAt = -1, int sig = SIGKILL,
                     rlim_t fileSizeLimit = 0) {
  std::string joined;
  for (const std::string &a : args)
    joined += a + kSep;
  std::vector<std::string> env = {"RTML_CHILD_ARGS=" + joined,
                                  "RTML_CHILD_SIGNAL_AT=" +
                                      std::to_string(signalAt),
                                  "RTML_CHILD_SIGNAL=" + std::to_string(sig)};
  for (char **e = environ; *e; ++e)
    if (std::string(*e).rfind("RTML_CHILD_", 0) != 0)
      env.push_back(*e);
  std::vector<char *> envp;
  for (std::string &e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  EXPECT_GT(n, 0);
  exe[n > 0 ? n : 0] = 0;
  std::string filter = "--gtest_filter=RuntimeChild.Train";
  char *argv[] = {exe, filter.data(), nullptr};
  int output[2];
  EXPECT_EQ(::pipe(output), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(output[1], 1);
    ::dup2(output[1], 2);
    ::close(output[0]);
    if (fileSizeLimit > 0) {
      struct rlimit limit = {fileSizeLimit, fileSizeLimit};
      ::setrlimit(RLIMIT_FSIZE, &limit);
      ::signal(SIGXFSZ, SIG_IGN); // a failed write, not a killed process
    }
    ::execve(exe, argv, envp.data());
    ::_exit(127);
  }
  ::close(output[1]);
  std::string log;
  char buf[4096];
  for (ssize_t n; (n = ::read(output[0], buf, sizeof buf)) != 0;)
    if (n > 0)
      log.append(buf, size_t(n));
    else if (errno != EINTR)
      break;
  ::close(output[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ChildResult r;
  r.exited = WIFEXITED(status);
  r.code = r.exited ? WEXITSTATUS(status) : -1;
  r.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  r.log = log;
  return r;
}

std::vector<std::string> trainArgs(const TempDir &dir, const std::string &run) {
  return {
      "train",    "--data",    dir.path(), "--out",        dir / run,
      "--epochs", "3",         "--val",    "32",           "--checkpoint-every",
      "3",        "--threads", "1",        "--no-progress"};
}

std::map<std::string, CheckpointValue> checkpointOf(const std::string &path) {
  FlatDict flat = loadFlatDict(path);
  return {flat.begin(), flat.end()};
}

/// metrics.jsonl without the timings (which differ between runs).
std::string metricsWithoutTimes(const std::string &path) {
  std::string text;
  for (nlohmann::ordered_json record : readMetrics(path)) {
    for (const char *key : {"time_s", "mean_batch_time_s", "images_per_s"})
      record.erase(key);
    text += record.dump() + "\n";
  }
  return text;
}

/// The two runs ended with the same weights, momentum and generators, bit
/// for bit, and logged the same losses and accuracies.
void expectSameRun(const TempDir &dir, const std::string &a,
                   const std::string &b) {
  auto ca = checkpointOf(dir / (a + "/checkpoints/checkpoint.pt"));
  auto cb = checkpointOf(dir / (b + "/checkpoints/checkpoint.pt"));
  int tensors = 0;
  for (const auto &[key, value] : ca) {
    if (key.rfind("model_state_dict/", 0) != 0 &&
        key.rfind("optimizer_state_dict/", 0) != 0 && key.rfind("rng/", 0) != 0)
      continue; // timings differ
    ASSERT_EQ(value.kind, CheckpointValue::Kind::Tensor) << key;
    ASSERT_TRUE(cb.count(key)) << key;
    EXPECT_TRUE(at::equal(value.tensor, cb.at(key).tensor)) << key;
    ++tensors;
  }
  EXPECT_EQ(tensors, 2 + 2 + 3); // weights, momentum, 3 generators
  EXPECT_EQ(cb.at("epoch").integer, 4);
  EXPECT_EQ(readFile(dir / (a + "/checkpoints/last.pt")),
            readFile(dir / (b + "/checkpoints/last.pt")));
  EXPECT_EQ(metricsWithoutTimes(dir / (a + "/metrics.jsonl")),
            metricsWithoutTimes(dir / (b + "/metrics.jsonl")));
}

} // namespace

// The child side of runChild; skipped when run on its own.
TEST(RuntimeChild, Train) {
  const char *args = std::getenv("RTML_CHILD_ARGS");
  if (!args)
    GTEST_SKIP() << "helper of the RuntimeResume tests";
  TinyModel model;
  model.signalAt = std::atoll(std::getenv("RTML_CHILD_SIGNAL_AT"));
  model.signalToRaise = std::atoi(std::getenv("RTML_CHILD_SIGNAL"));
  std::vector<std::string> list = {"tiny-trainer"};
  std::string cur;
  for (const char *p = args; *p; ++p) {
    if (*p == kSep) {
      list.push_back(cur);
      cur.clear();
    } else {
      cur += *p;
    }
  }
  std::vector<char *> argv;
  for (std::string &a : list)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  int status = trainerMain(static_cast<int>(list.size()), argv.data(), model);
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(status);
}

/// Writes the data set into DIR and trains the run "ref" there to its end:
/// what a test's interrupted runs must end up equal to.
static void trainReference(const TempDir &dir) {
  writeDataSet(dir);
  ChildResult ref = runChild(dir, trainArgs(dir, "ref"));
  ASSERT_TRUE(ref.exited && ref.code == 0) << ref.log;
}

TEST(RuntimeResume, KilledMidEpochResumesBitForBit) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(trainReference(dir));

  // 128 training images in batches of 16: 8 steps per epoch. Training
  // forward 13 is epoch 2 step 5; the last checkpoint was at step 3.
  ChildResult killed = runChild(dir, trainArgs(dir, "run"), 13, SIGKILL);
  ASSERT_EQ(killed.signal, SIGKILL) << killed.log;
  auto ckpt = checkpointOf(dir / "run/checkpoints/checkpoint.pt");
  EXPECT_EQ(ckpt.at("epoch").integer, 2);
  EXPECT_EQ(ckpt.at("step").integer, 3);
  auto prev = checkpointOf(dir / "run/checkpoints/checkpoint.prev.pt");
  EXPECT_EQ(prev.at("epoch").integer, 2);
  EXPECT_EQ(prev.at("step").integer, 0);
  EXPECT_FALSE(fileExists(dir / "run/summary.json"));

  ChildResult resumed = runChild(dir, {"train", "--resume", dir / "run",
                                       "--threads", "1", "--no-progress"});
  ASSERT_TRUE(resumed.exited && resumed.code == 0) << resumed.log;
  EXPECT_NE(
      resumed.log.find("resume: " + (dir / "run/checkpoints/checkpoint.pt") +
                       " at epoch 2 step 3"),
      std::string::npos)
      << resumed.log;
  expectSameRun(dir, "ref", "run");
  EXPECT_EQ(readFile(dir / "ref/checkpoints/best.pt"),
            readFile(dir / "run/checkpoints/best.pt"));
  std::string summary = readFile(dir / "run/summary.json");
  EXPECT_NE(summary.find("\"validation\": \"val\""), std::string::npos)
      << summary;
}

TEST(RuntimeResume, SigtermAndSigintSaveAndExitCleanly) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(trainReference(dir));

  // SIGTERM during step 5 of epoch 2: that step completes, then it saves.
  ChildResult term = runChild(dir, trainArgs(dir, "term"), 13, SIGTERM);
  ASSERT_TRUE(term.exited) << term.log;
  EXPECT_EQ(term.code, 143) << term.log;
  EXPECT_NE(term.log.find("interrupted by SIGTERM at epoch 2 step 5; saved " +
                          (dir / "term/checkpoints/checkpoint.pt") +
                          "; continue with: train --resume " + (dir / "term")),
            std::string::npos)
      << term.log;
  EXPECT_EQ(
      checkpointOf(dir / "term/checkpoints/checkpoint.pt").at("step").integer,
      5);

  // SIGINT in the last step of epoch 1: saved before the validation.
  ChildResult intr = runChild(dir, trainArgs(dir, "int"), 8, SIGINT);
  ASSERT_TRUE(intr.exited) << intr.log;
  EXPECT_EQ(intr.code, 130) << intr.log;
  EXPECT_NE(intr.log.find("interrupted by SIGINT at epoch 1 step 8"),
            std::string::npos)
      << intr.log;
  EXPECT_EQ(readFile(dir / "int/metrics.jsonl"), "");

  for (const char *run : {"term", "int"}) {
    ChildResult r = runChild(dir, {"train", "--resume", dir / run, "--threads",
                                   "1", "--no-progress"});
    ASSERT_TRUE(r.exited && r.code == 0) << run << "\n" << r.log;
    expectSameRun(dir, "ref", run);
  }
}

TEST(RuntimeResume, CorruptCheckpointIsRefusedAndThePreviousKept) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(trainReference(dir));
  ChildResult killed = runChild(dir, trainArgs(dir, "run"), 13, SIGKILL);
  ASSERT_EQ(killed.signal, SIGKILL) << killed.log;

  std::string ckpt = dir / "run/checkpoints/checkpoint.pt";
  std::string prev = dir / "run/checkpoints/checkpoint.prev.pt";
  std::string good = readFile(ckpt), prevBytes = readFile(prev);
  std::string metrics = readFile(dir / "run/metrics.jsonl");
  std::vector<std::string> resume = {"train",     "--resume", dir / "run",
                                     "--threads", "1",        "--no-progress"};
  struct Case {
    std::string bytes, expect;
  };
  std::vector<Case> cases = {
      {good.substr(0, good.size() / 2), "refusing to resume from it"},
      {good.substr(0, 100), "refusing to resume from it"},
      {"garbage", "not a torch.save file"},
      {"", "empty file"},
  };
  for (const Case &c : cases) {
    writeFile(ckpt, c.bytes);
    ChildResult r = runChild(dir, resume);
    EXPECT_TRUE(r.exited && r.code == 1) << r.log;
    EXPECT_NE(r.log.find("error: " + ckpt + ": "), std::string::npos) << r.log;
    EXPECT_NE(r.log.find(c.expect), std::string::npos) << r.log;
    EXPECT_NE(r.log.find("the previous checkpoint is kept: resume from it "
                         "with --resume " +
                         prev),
              std::string::npos)
        << r.log;
    // Nothing was touched.
    EXPECT_EQ(readFile(prev), prevBytes);
    EXPECT_EQ(readFile(ckpt), c.bytes);
    EXPECT_EQ(readFile(dir / "run/metrics.jsonl"), metrics);
  }
  // A weights file is not a training checkpoint.
  saveStateDict(loadStateDict(prev), ckpt);
  ChildResult r = runChild(dir, resume);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.log.find("not an rtml training checkpoint"), std::string::npos)
      << r.log;

  // The previous one resumes (from epoch 2 step 0) to the same end.
  r = runChild(dir,
               {"train", "--resume", prev, "--threads", "1", "--no-progress"});
  ASSERT_TRUE(r.exited && r.code == 0) << r.log;
  EXPECT_NE(r.log.find("at epoch 2 step 0"), std::string::npos) << r.log;
  expectSameRun(dir, "ref", "run");

  // No checkpoint at all.
  TinyModel model;
  MainResult none = runMain(model, {"train", "--resume", dir.path()});
  EXPECT_EQ(none.status, 1);
  EXPECT_NE(none.err.find(dir.path() + ": no checkpoint to resume from"),
            std::string::npos)
      << none.err;
  none = runMain(model, {"train", "--resume", dir / "run", "--lr", "0.1"});
  EXPECT_EQ(none.status, 2);
  EXPECT_NE(none.err.find("--lr cannot be combined with --resume"),
            std::string::npos)
      << none.err;
}

TEST(RuntimeGuards, OutOfMemoryNamesTheBatchSizeAndKeepsTheCheckpoint) {
  TempDir dir;
  writeDataSet(dir);
  TinyModel model;
  model.oomAt = 12; // epoch 2 step 2 with --max-steps 10
  MainResult r = runMain(model, {"train", "--data", dir.path(), "--out",
                                 dir / "run", "--epochs", "2", "--max-steps",
                                 "10", "--batch-size", "8", "--no-progress"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("error: out of memory on cpu at epoch 2 step 2 with "
                       "batch size 8 (CUDA out of memory. Tried to allocate "
                       "2.00 GiB); try a smaller --batch-size"),
            std::string::npos)
      << r.err;
  auto ckpt = checkpointOf(dir / "run/checkpoints/checkpoint.pt");
  EXPECT_EQ(ckpt.at("epoch").integer, 2);
  EXPECT_EQ(ckpt.at("step").integer, 0);
  EXPECT_EQ(countLines(readFile(dir / "run/metrics.jsonl")), 2);
}

TEST(RuntimeHostileFiles, EveryTrainerEntryPointRefusesCraftedFiles) {
  TempDir dir;
  writeDataSet(dir);
  writeHostileFiles(dir.path());
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  TinyModel model;
  ParameterRegistry reg(model.parameters(), at::kCPU, 1);
  std::string good = dir / "good.pt";
  saveStateDict(registryStateDict(reg), good);
  for (const char *name :
       {"offset_wraps.pt", "tensor_offset_wraps.pt", "self_reference.pt",
        "nested_1e5.pt", "zip_bomb.pt", "int_weights.pt"}) {
    std::string file = dir / name;
    std::vector<std::vector<std::string>> entryPoints = {
        {"eval", "--data", dir.path(), "--weights", file},
        {"train", "--data", dir.path(), "--out",
         dir / ("run-" + std::string(name)), "--epochs", "1", "--max-steps",
         "1", "--weights", file, "--no-progress"},
        {"export", "--weights", file, "--out", dir / "exported.pt"},
        {"train", "--resume", file, "--no-progress"},
        {"predict", "--weights", good, "--input", file, "--output",
         dir / "logits.pt"},
    };
    for (std::vector<std::string> args : entryPoints) {
      if (args[0] != "export") // the only one without --threads
        args.insert(args.end(), {"--threads", "1"});
      ChildResult r = runChild(dir, args);
      EXPECT_TRUE(r.exited && r.code == 1)
          << args[0] << " " << name << ": signal " << r.signal << "\n"
          << r.log;
      EXPECT_NE(r.log.find("error: " + file + ": "), std::string::npos)
          << args[0] << " " << name << ": " << r.log;
      EXPECT_FALSE(fileExists(dir / "exported.pt")) << name;
      EXPECT_FALSE(fileExists(dir / "logits.pt")) << name;
    }
  }
}

namespace {

/// The names in DIR.
std::vector<std::string> filesIn(const std::string &dir) {
  std::vector<std::string> names;
  DIR *d = ::opendir(dir.c_str());
  while (dirent *e = d ? ::readdir(d) : nullptr)
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..")
      names.push_back(e->d_name);
  if (d)
    ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

} // namespace

TEST(RuntimeAtomicWrite, TemporariesOfKilledWritersDoNotStay) {
  TempDir dir;
  std::string file = dir / "checkpoint.pt";
  // A writer killed mid-write, for real: a child rewriting 16 MB in a loop,
  // SIGKILLed once its first file is in place.
  pid_t writer = ::fork();
  if (writer == 0) {
    std::vector<char> bytes(16 << 20, 'x');
    for (;;)
      writeFileAtomically(file, bytes.data(), bytes.size(), dir / "prev.pt");
  }
  while (!fileExists(dir / "prev.pt"))
    ::usleep(1000);
  ::kill(writer, SIGKILL);
  ::waitpid(writer, nullptr, 0);
  // One left by an older writer that died between naming and renaming (the
  // pid is that of a child that has exited and been reaped).
  pid_t dead = ::fork();
  if (dead == 0)
    ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  std::string stale = file + ".tmp." + std::to_string(dead);
  writeFile(stale, std::string(1 << 20, 'y'));
  // A live writer's temporary is not touched.
  std::string liveName = "checkpoint.pt.tmp." + std::to_string(::getppid());
  std::string live = dir / liveName;
  writeFile(live, "busy");

  writeFileAtomically(file, "new", 3, dir / "prev.pt");
  EXPECT_EQ(readFile(file), "new");
  std::vector<std::string> expected = {"checkpoint.pt", liveName, "prev.pt"};
  EXPECT_EQ(filesIn(dir.path()), expected);
}

TEST(RuntimeGuards, AFailedMetricsWriteIsAnError) {
  TempDir dir;
  writeDataSet(dir);
  // Each metrics record is longer than 64 bytes: its write fails (EFBIG, as
  // ENOSPC on a full disk), before any checkpoint is written.
  ChildResult r =
      runChild(dir,
               {"train", "--data", dir.path(), "--out", dir / "run", "--epochs",
                "1", "--max-steps", "2", "--checkpoint-every", "0", "--threads",
                "1", "--no-progress"},
               -1, SIGKILL, /*fileSizeLimit=*/64);
  EXPECT_TRUE(r.exited && r.code == 1) << r.log;
  EXPECT_NE(r.log.find("error: cannot write " + (dir / "run/metrics.jsonl") +
                       ": File too large"),
            std::string::npos)
      << r.log;
  EXPECT_FALSE(fileExists(dir / "run/summary.json"));
}

TEST(RuntimeResume, ResumeKeepsTheRunsCheckpointEvery) {
  TempDir dir;
  writeDataSet(dir);
  TinyModel model;
  MainResult r = runMain(model, {"train", "--data", dir.path(), "--out",
                                 dir / "run", "--epochs", "1", "--val", "32",
                                 "--checkpoint-every", "3", "--no-progress"});
  ASSERT_EQ(r.status, 0) << r.err;
  r = runMain(model, {"train", "--resume", dir / "run", "--epochs", "2",
                      "--no-progress"});
  ASSERT_EQ(r.status, 0) << r.err;
  // 8 steps in epoch 2: checkpoints at steps 3 and 6, then at its end.
  auto prev = checkpointOf(dir / "run/checkpoints/checkpoint.prev.pt");
  EXPECT_EQ(prev.at("epoch").integer, 2);
  EXPECT_EQ(prev.at("step").integer, 6);
  auto last = checkpointOf(dir / "run/checkpoints/checkpoint.pt");
  EXPECT_EQ(last.at("config/checkpoint_every").integer, 3);
  EXPECT_EQ(last.at("epoch").integer, 3);

  // Given again, it changes.
  r = runMain(model, {"train", "--resume", dir / "run", "--epochs", "3",
                      "--checkpoint-every", "0", "--no-progress"});
  ASSERT_EQ(r.status, 0) << r.err;
  prev = checkpointOf(dir / "run/checkpoints/checkpoint.prev.pt");
  EXPECT_EQ(prev.at("epoch").integer, 3);
  EXPECT_EQ(prev.at("step").integer, 0);
}
