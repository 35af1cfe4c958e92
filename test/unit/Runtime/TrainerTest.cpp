//===- TrainerTest.cpp - Training loop and trainerMain on a tiny model ----===//
#include "TestUtil.h"
#include "TinyModel.h"

#include "rtml/Runtime/Model.h"
#include "rtml/Runtime/Ops.h"
#include "rtml/Runtime/Optimizer.h"
#include "rtml/Runtime/Parameters.h"
#include "rtml/Runtime/Serialization.h"
#include "rtml/Runtime/Trainer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <fcntl.h>
#include <fstream>
#include <sched.h>
#include <sstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace rtml;
using namespace rtml::test;

using namespace rtml::test;

TEST(RuntimeTrainer, TinyModelLearnsSeparableData) {
  TempDir dir;
  writeDataSet(dir);
  TinyModel model;
  TrainOptions options;
  options.dataDir = dir.path();
  options.outDir = dir / "run";
  options.train = model.info().train;
  options.progress = false;
  std::ostringstream out, log;
  TrainResult result = runTraining(model, options, out, log);
  ASSERT_EQ(result.history.size(), 6u);
  EXPECT_EQ(result.history[0].phase, "train");
  EXPECT_EQ(result.history[1].phase, "test");
  EXPECT_EQ(result.history[0].images, 160);
  EXPECT_EQ(result.history[1].images, 64);
  EXPECT_EQ(result.parameters, 98);
  EXPECT_LT(result.finalTrain.loss, result.history[0].loss);
  EXPECT_GT(result.finalTest.accuracy, 0.9) << out.str();
  EXPECT_GE(result.bestTestAccuracy, result.finalTest.accuracy);
  EXPECT_GE(result.bestEpoch, 1);

  std::vector<nlohmann::ordered_json> metrics =
      readMetrics(dir / "run/metrics.jsonl");
  ASSERT_EQ(metrics.size(), 6u);
  EXPECT_EQ(metrics[0]["epoch"], 1);
  EXPECT_EQ(metrics[0]["phase"], "train");
  EXPECT_TRUE(metrics[0]["loss"].is_number());
  EXPECT_TRUE(metrics[0]["images_per_s"].is_number());
  EXPECT_EQ(metrics[0].begin().key(), "epoch"); // keys in a fixed order
  std::string summary = readFile(dir / "run/summary.json");
  for (const char *key :
       {"\"model\": \"tiny\"", "\"parameters\": 98", "\"best_test_accuracy\"",
        "\"best_epoch\"", "\"wall_time_s\"", "\"mean_batch_time_s\"",
        "\"final_test\"", "\"device\": \"cpu\""})
    EXPECT_NE(summary.find(key), std::string::npos) << key << "\n" << summary;

  StateDict last = loadStateDict(dir / "run/checkpoints/last.pt");
  ASSERT_EQ(last.size(), 2u);
  EXPECT_EQ(last[0].first, "fc.weight");
  EXPECT_TRUE(fileExists(dir / "run/checkpoints/best.pt"));
  // The resumable checkpoint holds weights and momentum, and --weights
  // reads its weights.
  FlatDict ckpt = loadFlatDict(dir / "run/checkpoints/checkpoint.pt");
  std::map<std::string, CheckpointValue> entries(ckpt.begin(), ckpt.end());
  EXPECT_EQ(entries.at("epoch").integer, 4);
  EXPECT_EQ(entries.at("step").integer, 0);
  EXPECT_TRUE(at::equal(entries.at("model_state_dict/fc.weight").tensor,
                        last[0].second));
  EXPECT_EQ(entries.at("optimizer_state_dict/momentum_buffer.fc.weight")
                .tensor.sizes(),
            (std::vector<int64_t>{2, 48}));
  EXPECT_EQ(loadStateDict(dir / "run/checkpoints/checkpoint.pt").size(), 2u);

  // The same seed gives the same run; --weights starts from a checkpoint.
  std::ostringstream out2;
  options.outDir = dir / "run2";
  options.train.epochs = 1;
  TrainResult again = runTraining(model, options, out2, log);
  EXPECT_DOUBLE_EQ(again.history[0].loss, result.history[0].loss);
  options.weights = dir / "run/checkpoints/best.pt";
  EXPECT_THROW(runTraining(model, options, out2, log), std::runtime_error);
  options.overwrite = true; // run2 holds the run above
  TrainResult resumed = runTraining(model, options, out2, log);
  EXPECT_GT(resumed.history[0].accuracy, 0.9);
}

TEST(RuntimeTrainer, NonFiniteLossStopsAndKeepsLastGoodCheckpoint) {
  TempDir dir;
  writeDataSet(dir);
  TinyModel model;
  model.nanAfter = 3; // epoch 1 has 3 steps with --max-steps 3
  MainResult r =
      runMain(model, {"train", "--data", dir.path(), "--out", dir / "run",
                      "--epochs", "2", "--max-steps", "3", "--no-progress"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("error: loss is nan at epoch 2 step 1"),
            std::string::npos)
      << r.err;
  // Epoch 1's checkpoint is intact and loadable.
  std::string lastPath = dir / "run/checkpoints/last.pt";
  ASSERT_TRUE(fileExists(lastPath));
  EXPECT_EQ(readFile(lastPath), readFile(dir / "run/checkpoints/best.pt"));
  EXPECT_EQ(loadStateDict(lastPath).size(), 2u);
  EXPECT_EQ(countLines(readFile(dir / "run/metrics.jsonl")), 2);
}

TEST(RuntimeTrainerMain, UsageErrorsExitTwo) {
  TinyModel model;
  struct Case {
    std::vector<std::string> args;
    std::string expect;
  };
  std::vector<Case> cases = {
      {{}, "usage:"},
      {{"fly"}, "error: unknown command 'fly'"},
      {{"trian", "--data", "x"}, "did you mean 'train'"},
      {{"train"}, "error: 'train' needs --data"},
      {{"train", "--data"}, "error: option '--data' needs a value"},
      {{"train", "--data", "d", "--epoch", "3"},
       "unknown option '--epoch' for 'train' (did you mean '--epochs'?)"},
      {{"train", "--data", "d", "--epochs", "abc"},
       "--epochs: expected an integer, got 'abc'"},
      {{"train", "--data", "d", "--epochs", "0"},
       "--epochs: must be at least 1"},
      {{"train", "--data", "d", "--lr", "0.1x"},
       "--lr: expected a number, got '0.1x'"},
      {{"train", "--data", "d", "--device", "gpu"}, "invalid device 'gpu'"},
      {{"train", "--data", "d", "stray"}, "unexpected argument 'stray'"},
      {{"eval", "--data", "d"}, "'eval' needs --weights"},
      {{"predict", "--weights", "w", "--input", "x"}, "needs --output"},
      {{"bench", "--steps", "-1"}, "--steps: must be at least 1"},
      {{"bench", "--json=1"}, "'--json' takes no value"},
  };
  for (const Case &c : cases) {
    MainResult r = runMain(model, c.args);
    std::string joined;
    for (const std::string &a : c.args)
      joined += a + " ";
    EXPECT_EQ(r.status, 2) << joined << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << joined << "\n"
                                                       << r.err;
  }
}

TEST(RuntimeTrainerMain, HelpInfoBenchAndRuntimeErrors) {
  TinyModel model;
  for (const char *cmd : {"train", "eval", "predict", "bench", "info"}) {
    MainResult r = runMain(model, {cmd, "--help"});
    EXPECT_EQ(r.status, 0) << cmd;
    EXPECT_NE(r.out.find(std::string("usage: tiny-trainer ") + cmd),
              std::string::npos)
        << r.out;
  }
  MainResult r = runMain(model, {"--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("predict"), std::string::npos);

  r = runMain(model, {"info"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("model: tiny"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("input shape: [3, 32, 32]"), std::string::npos);
  EXPECT_NE(r.out.find("parameters: 98"), std::string::npos);

  r = runMain(model,
              {"bench", "--steps", "2", "--warmup", "1", "--batch-size", "4"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("train step: "), std::string::npos) << r.out;
  // The CPU has no CUDA graphs: every timed step is eager.
  EXPECT_NE(r.out.find("2 steps, batch 4, device cpu, eager)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("images/s: "), std::string::npos);
  r = runMain(model, {"bench", "--steps", "1", "--warmup", "0", "--json"});
  EXPECT_EQ(r.status, 0);
  nlohmann::json bench = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_EQ(bench["model"], "tiny") << r.out;
  EXPECT_TRUE(bench["mean_ms"].is_number()) << r.out;
  EXPECT_EQ(bench["step_mode"], "eager") << r.out;
  // The math and input layout the compiler chose for the CPU (ModelInfo's
  // defaults here); a CUDA bench reports the CUDA kind's.
  EXPECT_EQ(bench["precision"], "fp32") << r.out;
  EXPECT_EQ(bench["layout"], "nchw") << r.out;
  TinyModel nhwcBf16;
  nhwcBf16.modelInfo.cpuPrecision = Precision::Bf16;
  nhwcBf16.modelInfo.cpuInput.nhwc = true;
  nhwcBf16.modelInfo.cudaPrecision = Precision::Tf32;
  r = runMain(nhwcBf16, {"bench", "--steps", "1", "--warmup", "0", "--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  bench = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_EQ(bench["precision"], "bf16") << r.out;
  EXPECT_EQ(bench["layout"], "nhwc") << r.out;
  r = runMain(model, {"bench", "--steps", "3", "--warmup", "4",
                      "--no-cuda-graph", "--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  bench = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_EQ(bench["steps"], 3) << r.out;
  EXPECT_EQ(bench["step_mode"], "eager") << r.out;

  TempDir dir;
  r = runMain(model, {"train", "--data", dir / "none", "--out", dir / "run"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("error: " + (dir / "none/data_batch_1.bin")),
            std::string::npos)
      << r.err;
  if (!torch::cuda::is_available()) {
    r = runMain(model, {"bench", "--device", "cuda"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("CUDA is not available"), std::string::npos) << r.err;
  }
  r = runMain(model,
              {"eval", "--data", dir.path(), "--weights", dir / "missing.pt"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("error: "), std::string::npos);
}

TEST(RuntimeTrainerMain, EvalAndPredictMatchPython) {
  TempDir dir;
  writeDataSet(dir);
  TinyModel model;
  // PyTorch makes the weights (an nn.Module state_dict), the input and the
  // expected eval-mode logits; the trainer's predict must reproduce them.
  std::string script = R"PY(
import torch, torch.nn as nn, torch.nn.functional as F
torch.manual_seed(0)
class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(48, 2)
    def forward(self, x):
        x = torch.flatten(F.adaptive_avg_pool2d(x, 4), 1)
        return self.fc(F.dropout(x, 0.1, self.training))
m = Tiny().eval()
torch.save(m.state_dict(), 'DIR/w.pt')
x = torch.randn(5, 3, 32, 32)
torch.save(x, 'DIR/x.pt')
torch.save(torch.randn(5, 3, 16, 16), 'DIR/bad.pt')
torch.save(m(x).detach(), 'DIR/expected.pt')
)PY";
  for (size_t at; (at = script.find("DIR")) != std::string::npos;)
    script.replace(at, 3, dir.path());
  std::string output;
  ASSERT_EQ(rtml::test::runPython(script, dir.path(), output), 0) << output;

  MainResult r =
      runMain(model, {"predict", "--weights", dir / "w.pt", "--input",
                      dir / "x.pt", "--output", dir / "y.pt"});
  ASSERT_EQ(r.status, 0) << r.err;
  at::Tensor ours = loadTensor(dir / "y.pt");
  at::Tensor expected = loadTensor(dir / "expected.pt");
  std::string check = "import torch\n"
                      "y = torch.load('" +
                      (dir / "y.pt") +
                      "', weights_only=True)\n"
                      "assert y.shape == (5, 2), y.shape\n";
  ASSERT_EQ(rtml::test::runPython(check, dir.path(), output), 0) << output;
  EXPECT_EQ(ours.sizes(), (std::vector<int64_t>{5, 2}));
  EXPECT_TRUE(at::allclose(ours, expected, 1e-5, 1e-6)) << ours << expected;

  r = runMain(model, {"predict", "--weights", dir / "w.pt", "--input",
                      dir / "bad.pt", "--output", dir / "y2.pt"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("input has shape [5, 3, 16, 16], model 'tiny' expects "
                       "[?, 3, 32, 32]"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fileExists(dir / "y2.pt"));

  r = runMain(model, {"eval", "--data", dir.path(), "--weights", dir / "w.pt",
                      "--batch-size", "10"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("(64 images)"), std::string::npos) << r.out;
  nlohmann::json line =
      nlohmann::json::parse(r.out.substr(r.out.find('{')), nullptr, false);
  EXPECT_EQ(line["phase"], "test") << r.out;
  EXPECT_EQ(line["images"], 64) << r.out;
}

TEST(RuntimeTrainerMain, ValidationSplitMetricsAndSummary) {
  TempDir dir;
  writeDataSet(dir);
  TinyModel model;
  MainResult r =
      runMain(model, {"train", "--data", dir.path(), "--out", dir / "run",
                      "--epochs", "2", "--val", "32", "--lr-schedule", "step",
                      "--lr-step", "1", "--lr-gamma", "0.1", "--no-progress"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("128 training, 32 validation and 64 test images"),
            std::string::npos)
      << r.out;
  std::string metrics = readFile(dir / "run/metrics.jsonl");
  std::vector<nlohmann::ordered_json> lines =
      readMetrics(dir / "run/metrics.jsonl");
  ASSERT_EQ(lines.size(), 5u) << metrics;
  std::pair<int, const char *> expect[] = {
      {1, "train"}, {1, "val"}, {2, "train"}, {2, "val"}, {2, "test"}};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(lines[i]["epoch"], expect[i].first) << lines[i];
    EXPECT_EQ(lines[i]["phase"], expect[i].second) << lines[i];
  }
  EXPECT_EQ(lines[0]["images"], 128);
  EXPECT_DOUBLE_EQ(lines[0]["lr"].get<double>(), 0.05);
  EXPECT_NEAR(lines[2]["lr"].get<double>(), 0.005, 1e-15);
  EXPECT_EQ(lines[1]["images"], 32);
  EXPECT_EQ(lines[4]["images"], 64);
  std::string summary = readFile(dir / "run/summary.json");
  for (const char *key :
       {"\"validation\": \"val\"", "\"val_images\": 32", "\"final_val\": {",
        "\"final_test\": {", "\"best_val_accuracy\": ", "\"best_epoch\": ",
        "\"lr_schedule\": \"step\"", "\"train_images\": 128"})
    EXPECT_NE(summary.find(key), std::string::npos) << key << "\n" << summary;
  EXPECT_EQ(summary.find("\"best_val_accuracy\": null"), std::string::npos);

  // The spec's 45000/5000 split scaled to a small data set.
  model.modelInfo.data.splitTrain = 45000;
  model.modelInfo.data.splitVal = 5000;
  r = runMain(model, {"train", "--data", dir.path(), "--out", dir / "run2",
                      "--epochs", "1", "--no-progress"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("split: the spec's 45000/5000 scaled to 144/16 for 160 "
                       "training images"),
            std::string::npos)
      << r.out;

  // A split that leaves nothing to train on fails before touching the run.
  r = runMain(model, {"train", "--data", dir.path(), "--out", dir / "run",
                      "--val", "160", "--no-progress"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--val 160 leaves no training images (the training "
                       "set has 160)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(readFile(dir / "run/metrics.jsonl"), metrics);

  for (auto [args, msg] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--lr-schedule", "linear"},
            "--lr-schedule: expected constant, "
            "step or cosine, got 'linear'"},
           {{"--lr-schedule", "step"},
            "--lr-schedule step needs a positive --lr-step"},
           {{"--nesterov", "--momentum", "0"},
            "--nesterov needs a positive --momentum"},
           {{"--strict-weights"}, "--strict-weights needs --weights FILE"}}) {
    std::vector<std::string> all = {"train", "--data", dir.path()};
    all.insert(all.end(), args.begin(), args.end());
    r = runMain(model, all);
    EXPECT_EQ(r.status, 2) << msg;
    EXPECT_NE(r.err.find(msg), std::string::npos) << r.err;
  }
}

TEST(RuntimeTrainer, ProgressLinesWhenNotATerminal) {
  TempDir dir;
  writeDataSet(dir);
  TinyModel model;
  TrainOptions options;
  options.dataDir = dir.path();
  options.train = model.info().train;
  options.train.epochs = 1;
  std::ostringstream out, log;
  runTraining(model, options, out, log);
  // Not a terminal: plain lines, the last batch always shown.
  EXPECT_NE(log.str().find("epoch 1/1 train 10/10 loss "), std::string::npos)
      << log.str();
  EXPECT_NE(log.str().find(" img/s ETA 0:00\n"), std::string::npos);
  EXPECT_EQ(log.str().find('\r'), std::string::npos);
}

TEST(RuntimeOptimizer, NesterovAndLearningRateSchedules) {
  at::Tensor p = at::ones({1}).set_requires_grad(true);
  Sgd sgd({p}, SgdOptions{0.1, 0.9, 0.0, true});
  for (int i = 0; i < 2; ++i) {
    sgd.zeroGrad();
    (p * 2).sum().backward();
    sgd.step();
  }
  // buf 2, p = 1 - 0.1 * (2 + 0.9 * 2); buf 3.8, p -= 0.1 * (2 + 0.9 * 3.8).
  EXPECT_NEAR(p.item<double>(), 1 - 0.38 - 0.542, 1e-6);

  TrainConfig cfg;
  cfg.learningRate = 0.1;
  cfg.epochs = 4;
  EXPECT_DOUBLE_EQ(learningRateAt(cfg, 3), 0.1);
  cfg.lrSchedule = LrSchedule::Step;
  cfg.lrStepSize = 2;
  cfg.lrGamma = 0.5;
  EXPECT_DOUBLE_EQ(learningRateAt(cfg, 1), 0.1);
  EXPECT_DOUBLE_EQ(learningRateAt(cfg, 2), 0.1);
  EXPECT_DOUBLE_EQ(learningRateAt(cfg, 3), 0.05);
  EXPECT_DOUBLE_EQ(learningRateAt(cfg, 5), 0.025);
  cfg.lrSchedule = LrSchedule::Cosine;
  cfg.lrEtaMin = 0.01;
  EXPECT_DOUBLE_EQ(learningRateAt(cfg, 1), 0.1);
  EXPECT_NEAR(learningRateAt(cfg, 3), 0.055, 1e-12); // half way
  EXPECT_NEAR(learningRateAt(cfg, 5), 0.01, 1e-12);
}

TEST(RuntimeTrainerMain, WeightsWithOtherShapesAndKeysAndExportRoundTrip) {
  TempDir dir;
  writeDataSet(dir);
  TinyModel model;
  std::string script = R"PY(
import collections, torch
sd = collections.OrderedDict()
sd['fc.weight'] = torch.full((10, 48), 0.5)   # a 10-class classifier
sd['fc.bias'] = torch.arange(2, dtype=torch.float32)
sd['bn.num_batches_tracked'] = torch.tensor(7)
torch.save(sd, 'DIR/pretrained.pt')
torch.save({'fc.weight': torch.zeros(2, 48)}, 'DIR/partial.pt')
)PY";
  for (size_t at; (at = script.find("DIR")) != std::string::npos;)
    script.replace(at, 3, dir.path());
  std::string output;
  ASSERT_EQ(rtml::test::runPython(script, dir.path(), output), 0) << output;

  // Direct: the mismatched layer keeps its initialization, the rest loads.
  ParameterRegistry fresh(model.parameters(), at::kCPU, 1),
      loaded(model.parameters(), at::kCPU, 1);
  WeightsReport report =
      loadWeights(loaded, loadStateDict(dir / "pretrained.pt"), "pretrained.pt",
                  WeightsPolicy{});
  EXPECT_EQ(report.loaded, (std::vector<std::string>{"fc.bias"}));
  EXPECT_EQ(
      report.reinitialized,
      (std::vector<std::string>{"fc.weight (file [10, 48], model [2, 48])"}));
  EXPECT_EQ(report.skipped,
            (std::vector<std::string>{"bn.num_batches_tracked"}));
  EXPECT_TRUE(at::equal(loaded.find("fc.weight"), fresh.find("fc.weight")));
  EXPECT_TRUE(at::equal(loaded.find("fc.bias"), at::arange(2).to(at::kFloat)));

  MainResult r = runMain(model, {"train", "--data", dir.path(), "--out",
                                 dir / "run", "--epochs", "1", "--weights",
                                 dir / "pretrained.pt", "--no-progress"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(
      r.out.find("weights: loaded 1 tensors from " + (dir / "pretrained.pt")),
      std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("weights: re-initialized fc.weight (file [10, 48], "
                       "model [2, 48]): shape differs"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("weights: skipped bn.num_batches_tracked: not in the "
                       "model"),
            std::string::npos)
      << r.out;
  std::string metrics = readFile(dir / "run/metrics.jsonl");

  r = runMain(model, {"train", "--data", dir.path(), "--out", dir / "run",
                      "--weights", dir / "pretrained.pt", "--strict-weights"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("pretrained.pt: weights do not match the model\n"
                       "  shape mismatch: fc.weight (file [10, 48], model "
                       "[2, 48])\n  unexpected keys (not in the model): "
                       "bn.num_batches_tracked"),
            std::string::npos)
      << r.err;
  r = runMain(model, {"train", "--data", dir.path(), "--out", dir / "run",
                      "--weights", dir / "partial.pt"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("partial.pt: weights do not match the model\n"
                       "  missing keys: fc.bias\n  (--allow-missing"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(readFile(dir / "run/metrics.jsonl"), metrics); // not lost
  r = runMain(model, {"train", "--data", dir.path(), "--out", dir / "run3",
                      "--epochs", "1", "--weights", dir / "partial.pt",
                      "--allow-missing", "--no-progress"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("kept the initialization of fc.bias: not in the file"),
            std::string::npos)
      << r.out;

  // export: the checkpoint's weights as a state dict PyTorch loads strictly.
  r = runMain(model,
              {"export", "--weights", dir / "run/checkpoints/checkpoint.pt",
               "--out", dir / "exported.pt"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(
      r.out.find("wrote 2 tensors (98 parameters) to " + (dir / "exported.pt")),
      std::string::npos)
      << r.out;
  std::string check = R"PY(
import torch, torch.nn as nn
class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(48, 2)
m = Tiny()
sd = torch.load('DIR/exported.pt', weights_only=True)
m.load_state_dict(sd, strict=True)
ck = torch.load('DIR/run/checkpoints/checkpoint.pt', weights_only=True)
assert ck['rtml_checkpoint'] == 1 and ck['model'] == 'tiny', ck.keys()
assert ck['epoch'] == 2 and ck['step'] == 0
for k, v in ck['model_state_dict'].items():
    assert torch.equal(m.state_dict()[k], v), k
assert set(ck['optimizer_state_dict']) == {'momentum_buffer.fc.weight', 'momentum_buffer.fc.bias'}
assert ck['rng']['dropout'].dtype == torch.uint8
torch.save(m.state_dict(), 'DIR/from_python.pt')
print('round trip ok')
)PY";
  for (size_t at; (at = check.find("DIR")) != std::string::npos;)
    check.replace(at, 3, dir.path());
  ASSERT_EQ(rtml::test::runPython(check, dir.path(), output), 0) << output;
  EXPECT_NE(output.find("round trip ok"), std::string::npos);
  StateDict back = loadStateDict(dir / "from_python.pt");
  StateDict exported = loadStateDict(dir / "exported.pt");
  ASSERT_EQ(back.size(), 2u);
  for (size_t i = 0; i < 2; ++i)
    EXPECT_TRUE(at::equal(back[i].second, exported[i].second));

  r = runMain(model, {"export", "--weights", dir / "pretrained.pt", "--out",
                      dir / "bad-export.pt"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("weights do not match the model"), std::string::npos);
  EXPECT_FALSE(fileExists(dir / "bad-export.pt"));
}

TEST(RuntimeTrainerMain, ARunIsNeverReplacedWithoutOverwrite) {
  TempDir dir;
  writeDataSet(dir);
  TinyModel model;
  std::vector<std::string> train = {
      "train",    "--data", dir.path(),    "--out", dir / "run",
      "--epochs", "2",      "--max-steps", "2",     "--no-progress"};
  ASSERT_EQ(runMain(model, train).status, 0);
  std::string best = readFile(dir / "run/checkpoints/best.pt");
  std::string metrics = readFile(dir / "run/metrics.jsonl");
  MainResult r = runMain(model, train);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("error: " + (dir / "run") + " holds a run ("),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("continue it with 'train --resume " + (dir / "run") +
                       "', or replace it with --overwrite"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(readFile(dir / "run/checkpoints/best.pt"), best);
  EXPECT_EQ(readFile(dir / "run/metrics.jsonl"), metrics);

  r = runMain(model, {"train", "--resume", dir / "run", "--overwrite"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--overwrite cannot be combined with --resume"),
            std::string::npos)
      << r.err;

  // --overwrite replaces it: the new run's one epoch, no stale files.
  std::vector<std::string> again = train;
  again[6] = "1";
  again.push_back("--overwrite");
  r = runMain(model, again);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(readMetrics(dir / "run/metrics.jsonl").size(), 2u);
  EXPECT_FALSE(fileExists(dir / "run/checkpoints/checkpoint.prev.pt"));
}

TEST(RuntimeTrainerMain, ASecondTrainerOnOneRunFolderFailsAtOnce) {
  TempDir dir;
  writeDataSet(dir);
  TinyModel model;
  // Another trainer holds the run folder's lock.
  ASSERT_EQ(::mkdir((dir / "run").c_str(), 0755), 0);
  int fd = ::open((dir / "run/.lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "4242\n", 5), 5);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  MainResult r = runMain(model, {"train", "--data", dir.path(), "--out",
                                 dir / "run", "--no-progress"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("error: " + (dir / "run") +
                       ": another trainer (pid 4242) is writing this run "
                       "folder"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fileExists(dir / "run/metrics.jsonl"));
  ::close(fd); // released: now it trains, and records its own pid
  r = runMain(model, {"train", "--data", dir.path(), "--out", dir / "run",
                      "--epochs", "1", "--max-steps", "1", "--no-progress"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(readFile(dir / "run/.lock"), std::to_string(::getpid()) + "\n");
}

TEST(RuntimeTrainerMain, WeightsThatTurnNonFiniteAreNeverSaved) {
  TempDir dir;
  writeDataSet(dir);
  // The update of step 3 (the last of epoch 1) makes the weights NaN while
  // that step's loss is finite: nothing of the epoch may be saved.
  TinyModel model;
  model.nanGradientAt = 3;
  std::vector<std::string> args = {
      "train",    "--data", dir.path(),    "--out", dir / "run",
      "--epochs", "2",      "--max-steps", "3",     "--no-progress"};
  MainResult r = runMain(model, args);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("error: the weights are not finite after epoch 1 step "
                       "3 (too high a learning rate?); nothing saved: the "
                       "run has no checkpoint yet"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("kept"), std::string::npos) << r.err;
  for (const char *file : {"last.pt", "best.pt", "checkpoint.pt"})
    EXPECT_FALSE(fileExists(dir / ("run/checkpoints/" + std::string(file))))
        << file;
  EXPECT_EQ(readFile(dir / "run/metrics.jsonl"), "");

  // In epoch 2: epoch 1's files stay, finite, and the message names them.
  TinyModel later;
  later.nanGradientAt = 5;
  args[4] = dir / "run2";
  r = runMain(later, args);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("error: loss is nan at epoch 2 step 3; kept " +
                       (dir / "run2/checkpoints/checkpoint.pt") +
                       " (epoch 2 step 0), last.pt (epoch 1) and best.pt "
                       "(epoch 1)"),
            std::string::npos)
      << r.err;
  for (const char *file : {"last.pt", "best.pt", "checkpoint.pt"})
    for (const auto &[name, t] :
         loadStateDict(dir / ("run2/checkpoints/" + std::string(file))))
      EXPECT_TRUE(at::isfinite(t).all().item<bool>()) << file << " " << name;
  EXPECT_EQ(readMetrics(dir / "run2/metrics.jsonl").size(), 2u);

  // A learning rate of 1e9: whatever survives is finite.
  TinyModel plain;
  r = runMain(plain, {"train", "--data", dir.path(), "--out", dir / "run3",
                      "--max-steps", "3", "--lr", "1e9", "--no-progress"});
  for (const char *file : {"last.pt", "best.pt", "checkpoint.pt"}) {
    std::string path = dir / ("run3/checkpoints/" + std::string(file));
    if (fileExists(path))
      for (const auto &[name, t] : loadStateDict(path))
        EXPECT_TRUE(at::isfinite(t).all().item<bool>()) << file << " " << name;
  }
  for (const nlohmann::ordered_json &m :
       readMetrics(dir / "run3/metrics.jsonl"))
    EXPECT_TRUE(m["loss"].is_number()) << m;
}

TEST(RuntimeTrainerMain, OutputsThatWouldReplaceTheirInputsAreRefused) {
  TempDir dir;
  writeDataSet(dir);
  TinyModel model;
  ASSERT_EQ(
      runMain(model, {"train", "--data", dir.path(), "--out", dir / "run",
                      "--epochs", "1", "--max-steps", "1", "--no-progress"})
          .status,
      0);
  std::string ckpt = dir / "run/checkpoints/checkpoint.pt";
  std::string last = dir / "run/checkpoints/last.pt";
  std::string ckptBytes = readFile(ckpt), lastBytes = readFile(last);
  ASSERT_EQ(::symlink(last.c_str(), (dir / "link.pt").c_str()), 0);
  struct Case {
    std::vector<std::string> args;
    std::string expect;
  };
  std::vector<Case> cases = {
      {{"export", "--weights", ckpt, "--out", ckpt},
       "--out " + ckpt + " is the file --weights reads"},
      {{"export", "--weights", ckpt, "--out",
        dir / "run/./checkpoints/../checkpoints/checkpoint.pt"},
       "is the file --weights reads (" + ckpt + ")"},
      {{"predict", "--weights", last, "--input", dir / "x.pt", "--output",
        dir / "link.pt"},
       "--output " + (dir / "link.pt") + " is the file --weights reads"},
      {{"predict", "--weights", last, "--input", dir / "x.pt", "--output",
        dir / "x.pt"},
       "is the file --input reads"},
  };
  for (const Case &c : cases) {
    MainResult r = runMain(model, c.args);
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
  }
  EXPECT_EQ(readFile(ckpt), ckptBytes);
  EXPECT_EQ(readFile(last), lastBytes);
}

TEST(RuntimeTrainerMain, ThreadsDefaultToTheAvailableCores) {
  TinyModel model;
  int before = at::get_num_threads();
  const char *omp = std::getenv("OMP_NUM_THREADS");
  std::string saved = omp ? omp : "";
  ::unsetenv("OMP_NUM_THREADS");
  cpu_set_t set;
  ASSERT_EQ(::sched_getaffinity(0, sizeof set, &set), 0);
  int cores = CPU_COUNT(&set);
  std::ifstream quota("/sys/fs/cgroup/cpu.max");
  std::string limit;
  bool quotaSet = quota >> limit && limit != "max";
  auto threadsOf = [&](std::vector<std::string> args) {
    MainResult r = runMain(model, args);
    nlohmann::json line = nlohmann::json::parse(r.out, nullptr, false);
    return line.is_object() ? line["threads"].get<int>() : -1;
  };
  if (!quotaSet)
    EXPECT_EQ(threadsOf({"bench", "--steps", "1", "--warmup", "0", "--json"}),
              cores);
  EXPECT_EQ(threadsOf({"bench", "--steps", "1", "--warmup", "0", "--json",
                       "--threads", "3"}),
            3);
  if (omp)
    ::setenv("OMP_NUM_THREADS", saved.c_str(), 1);
  at::set_num_threads(before);
}

TEST(RuntimeTrainerMain, HelpListsEveryFlagAndInlineValuesWork) {
  TinyModel model;
  MainResult r = runMain(model, {"train", "--help"});
  ASSERT_EQ(r.status, 0);
  for (const char *flag : {"--data DIR",
                           "--out RUN",
                           "--overwrite",
                           "--resume RUN",
                           "--epochs N",
                           "--batch-size N",
                           "--lr X",
                           "--momentum X",
                           "--nesterov",
                           "--lr-schedule KIND",
                           "--lr-step N",
                           "--lr-gamma X",
                           "--lr-min X",
                           "--weight-decay X",
                           "--seed N",
                           "--device DEV",
                           "--devices LIST",
                           "--serial-devices",
                           "--weights FILE",
                           "--strict-weights",
                           "--allow-missing",
                           "--val N",
                           "--split-seed N",
                           "--checkpoint-every N",
                           "--max-steps N",
                           "--limit-train N",
                           "--limit-test N",
                           "--threads N",
                           "--no-progress",
                           "--no-cuda-graph",
                           "--dist-timeout S",
                           "--dist-backend NAME",
                           "--help"})
    EXPECT_NE(r.out.find("\n  " + std::string(flag) + " "), std::string::npos)
        << flag << "\n"
        << r.out;
  EXPECT_NE(r.out.find("every core this process may use"), std::string::npos);
  r = runMain(model, {"eval", "--help"});
  EXPECT_NE(r.out.find("usage: tiny-trainer eval --data DIR --weights FILE "
                       "[options]"),
            std::string::npos)
      << r.out;

  r = runMain(model, {"bench", "--steps=1", "--warmup=0", "--batch-size", "2",
                      "--steps", "1", "--lr"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("unknown option '--lr' for 'bench'"), std::string::npos)
      << r.err;
  r = runMain(model, {"bench", "--steps=1", "--warmup=0", "--batch-size=2"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("1 steps, batch 2"), std::string::npos) << r.out;
  r = runMain(model, {"train", "--data", "d", "--lr", "-1"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--lr: must be positive, got -1"), std::string::npos)
      << r.err;
  r = runMain(model,
              {"train", "--data", "d", "--epochs", "010", "--epochs", "x2"});
  EXPECT_NE(r.err.find("--epochs: expected an integer, got 'x2'"),
            std::string::npos)
      << r.err;
}

// CUDA graphs only change how a GPU runs the step: on the CPU every step is
// eager, with or without --no-cuda-graph, and the metrics are the same bits;
// the flag is no training setting, so a resumed run takes it too.
TEST(RuntimeTrainerMain, NoCudaGraphChangesNothingOnTheCpu) {
  TempDir dir;
  writeDataSet(dir);
  TinyModel model;
  std::vector<std::string> args = {
      "train",       "--data", dir.path(),      "--epochs", "2",
      "--max-steps", "4",      "--no-progress", "--out"};
  std::vector<std::string> plain = args, eager = args;
  plain.push_back(dir / "plain");
  eager.push_back(dir / "eager");
  eager.push_back("--no-cuda-graph");
  MainResult a = runMain(model, plain), b = runMain(model, eager);
  ASSERT_EQ(a.status, 0) << a.err;
  ASSERT_EQ(b.status, 0) << b.err;
  EXPECT_EQ(a.out.find("cuda graph"), std::string::npos) << a.out;
  std::vector<nlohmann::ordered_json> ma = readMetrics(dir /
                                                       "plain/metrics.jsonl"),
                                      mb = readMetrics(dir /
                                                       "eager/metrics.jsonl");
  ASSERT_EQ(ma.size(), 4u);
  ASSERT_EQ(mb.size(), ma.size());
  for (size_t i = 0; i < ma.size(); ++i)
    for (const char *key : {"loss", "accuracy", "images"})
      EXPECT_EQ(ma[i][key], mb[i][key]) << i << " " << key;
  MainResult resumed =
      runMain(model, {"train", "--resume", dir / "eager", "--epochs", "3",
                      "--no-cuda-graph", "--no-progress"});
  EXPECT_EQ(resumed.status, 0) << resumed.err;
  MainResult help = runMain(model, {"bench", "--help"});
  EXPECT_NE(help.out.find("\n  --no-cuda-graph "), std::string::npos)
      << help.out;
}
