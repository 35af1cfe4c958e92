//===- StepEngineTest.cpp - Device-side metrics, fused SGD, step modes ----===//
#include "RunningStats.h"
#include "StepGraph.h"

#include "rtml/Runtime/Optimizer.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <memory>

using namespace rtml;

namespace {

/// One batch as a training step sees it.
struct Batch {
  at::Tensor logits, labels, loss;
  std::vector<at::Tensor> heads, headLosses;
};

std::vector<Batch> randomBatches(int count, size_t heads) {
  at::manual_seed(7);
  std::vector<Batch> batches;
  for (int b = 0; b < count; ++b) {
    int64_t n = 3 + b % 5; // uneven batches, as an epoch's last one
    Batch batch;
    batch.labels = at::randint(0, 10, {n}, at::kLong);
    batch.logits = at::randn({n, 10}) * 3;
    batch.loss = crossEntropy(batch.logits, batch.labels);
    for (size_t h = 0; h < heads; ++h) {
      batch.heads.push_back(at::randn({n, 10}));
      batch.headLosses.push_back(crossEntropy(batch.heads[h], batch.labels));
    }
    batches.push_back(batch);
  }
  return batches;
}

/// The loop's accumulation before the sums moved to the device: each
/// batch's loss read to the host as a double, sums kept on the host.
RunningStats hostSums(const std::vector<Batch> &batches, size_t heads) {
  RunningStats s;
  s.headLossSum.resize(heads);
  s.headCorrect.resize(heads);
  for (const Batch &b : batches) {
    int64_t n = b.labels.size(0);
    s.lossSum += b.loss.item<double>() * n;
    s.correct += b.logits.argmax(1).eq(b.labels).sum().item<int64_t>();
    for (size_t h = 0; h < heads; ++h) {
      s.headLossSum[h] += b.headLosses[h].item<double>() * n;
      s.headCorrect[h] +=
          b.heads[h].argmax(1).eq(b.labels).sum().item<int64_t>();
    }
  }
  return s;
}

uint64_t bitsOf(double x) {
  uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
}

void expectSameSums(const RunningStats &got, const RunningStats &want) {
  EXPECT_EQ(bitsOf(got.lossSum), bitsOf(want.lossSum))
      << got.lossSum << " vs " << want.lossSum;
  EXPECT_EQ(got.correct, want.correct);
  ASSERT_EQ(got.headLossSum.size(), want.headLossSum.size());
  for (size_t h = 0; h < want.headLossSum.size(); ++h) {
    EXPECT_EQ(bitsOf(got.headLossSum[h]), bitsOf(want.headLossSum[h])) << h;
    EXPECT_EQ(got.headCorrect[h], want.headCorrect[h]) << h;
  }
}

} // namespace

TEST(DeviceSums, EqualTheHostLoopsSumsBitForBit) {
  for (size_t heads : {size_t(0), size_t(2)}) {
    std::vector<Batch> batches = randomBatches(40, heads);
    DeviceSums sums(RunningStats(), at::kCPU, heads);
    RunningStats got;
    for (size_t b = 0; b < batches.size(); ++b) {
      sums.add(batches[b].loss, batches[b].logits, batches[b].labels);
      if (heads)
        sums.addHeads(batches[b].heads, batches[b].headLosses,
                      batches[b].labels);
      if (b % 7 == 3) // reading in between changes nothing
        EXPECT_EQ(sums.readInto(got).step, 0);
    }
    NonFiniteLoss bad = sums.readInto(got);
    EXPECT_EQ(bad.step, 0);
    RunningStats want = hostSums(batches, heads);
    ASSERT_GT(want.correct, 0);
    expectSameSums(got, want);
  }
}

TEST(DeviceSums, AResumedEpochContinuesTheSameSums) {
  std::vector<Batch> batches = randomBatches(20, 1);
  // A checkpoint after 9 batches holds the host sums so far; a resumed
  // epoch continues them on the device.
  RunningStats saved = hostSums({batches.begin(), batches.begin() + 9}, 1);
  DeviceSums sums(saved, at::kCPU, 1, /*firstStep=*/9);
  for (size_t b = 9; b < batches.size(); ++b) {
    sums.add(batches[b].loss, batches[b].logits, batches[b].labels);
    sums.addHeads(batches[b].heads, batches[b].headLosses, batches[b].labels);
  }
  RunningStats got = saved;
  sums.readInto(got);
  expectSameSums(got, hostSums(batches, 1));

  // Restarted in place (as each epoch does, for a captured step's sake):
  // the same as a fresh one from the same start.
  sums.restart(saved, 9);
  for (size_t b = 9; b < batches.size(); ++b) {
    sums.add(batches[b].loss, batches[b].logits, batches[b].labels);
    sums.addHeads(batches[b].heads, batches[b].headLosses, batches[b].labels);
  }
  RunningStats again = saved;
  EXPECT_EQ(sums.readInto(again).step, 0);
  expectSameSums(again, hostSums(batches, 1));
}

TEST(DeviceSums, NameTheFirstNonFiniteLossAndItsKind) {
  std::vector<Batch> batches = randomBatches(8, 0);
  float nan = std::numeric_limits<float>::quiet_NaN();
  float inf = std::numeric_limits<float>::infinity();
  auto run = [&](int64_t firstStep, std::map<size_t, float> bad) {
    DeviceSums sums(RunningStats(), at::kCPU, 0, firstStep);
    for (size_t b = 0; b < batches.size(); ++b) {
      at::Tensor loss = batches[b].loss;
      if (bad.count(b))
        loss = at::scalar_tensor(bad[b], at::kFloat);
      sums.add(loss, batches[b].logits, batches[b].labels);
    }
    RunningStats stats;
    return sums.readInto(stats);
  };
  NonFiniteLoss none = run(0, {});
  EXPECT_EQ(none.step, 0);
  NonFiniteLoss first = run(0, {{2, nan}, {5, inf}});
  EXPECT_EQ(first.step, 3);
  EXPECT_TRUE(first.isNan);
  NonFiniteLoss infinite = run(4, {{1, inf}, {6, nan}});
  EXPECT_EQ(infinite.step, 6); // step 4 + 2: a resumed epoch counts on
  EXPECT_FALSE(infinite.isNan);
}

TEST(DeviceSums, RefusesAWrongNumberOfHeads) {
  std::vector<Batch> batches = randomBatches(1, 2);
  DeviceSums sums(RunningStats(), at::kCPU, 1);
  EXPECT_THROW(
      sums.addHeads(batches[0].heads, batches[0].headLosses, batches[0].labels),
      std::logic_error);
}

namespace {
/// torch.optim.SGD over PARAMS with CASE's settings: the reference.
struct SgdCase {
  double lr, momentum, wd;
  bool nesterov;
};
std::unique_ptr<torch::optim::SGD> torchSgd(std::vector<at::Tensor> params,
                                            const SgdCase &c) {
  return std::make_unique<torch::optim::SGD>(std::move(params),
                                             torch::optim::SGDOptions(c.lr)
                                                 .momentum(c.momentum)
                                                 .weight_decay(c.wd)
                                                 .nesterov(c.nesterov));
}
} // namespace

// Sgd::step gathers the parameters into lists of up to 64 (one launch each
// on CUDA; on the CPU its twin, one threaded pass per tensor): over more
// than one list, with a parameter left without a gradient, buffers that
// start in different steps (the first step, buffer = d_p, included) and a
// tensor that spans several threads' grains and ends in a partial vector,
// it gives torch.optim.SGD's bits.
TEST(MultiTensorSgd, ListsOfParametersEqualTorchOptimSgdBitForBit) {
  at::set_num_threads(2);
  for (SgdCase c :
       {SgdCase{0.01, 0.9, 5e-4, false}, SgdCase{0.05, 0.9, 1e-3, true},
        SgdCase{0.1, 0.0, 0.0, false}, SgdCase{0.02, 0.0, 1e-2, false},
        SgdCase{0.03, 0.5, 0.0, true}, SgdCase{0.03, 0.5, 0.0, false}}) {
    SCOPED_TRACE("momentum " + std::to_string(c.momentum) + " wd " +
                 std::to_string(c.wd) + " nesterov " +
                 std::to_string(c.nesterov));
    torch::manual_seed(21);
    std::vector<at::Tensor> inits;
    for (int i = 0; i < 150; ++i) // 150 > 2 lists of 64
      inits.push_back(at::randn({1 + (i * 37) % 11, 1 + i % 5}));
    // 300,007 elements: several 65,536-element grains and a ragged tail.
    inits.push_back(at::randn({300007}));
    std::vector<at::Tensor> ours, theirs;
    for (const at::Tensor &init : inits) {
      ours.push_back(init.clone().requires_grad_(true));
      theirs.push_back(init.clone().requires_grad_(true));
    }
    Sgd sgd(ours, SgdOptions{c.lr, c.momentum, c.wd, c.nesterov});
    auto ref = torchSgd(theirs, c);
    for (int step = 0; step < 4; ++step) {
      sgd.zeroGrad();
      ref->zero_grad();
      for (size_t i = 0; i < inits.size(); ++i) {
        // Parameter 3 has no gradient before step 2: its buffer starts
        // later than the others'; parameter 5 never has one.
        if (i == 5 || (i == 3 && step < 2))
          continue;
        at::Tensor grad = at::randn_like(inits[i]);
        ours[i].mutable_grad() = grad.clone();
        theirs[i].mutable_grad() = grad.clone();
      }
      if (step == 2) { // a new epoch's rate
        sgd.setLearningRate(c.lr / 2);
        for (auto &group : ref->param_groups())
          static_cast<torch::optim::SGDOptions &>(group.options()).lr(c.lr / 2);
      }
      sgd.step();
      ref->step();
      for (size_t i = 0; i < ours.size(); ++i)
        ASSERT_TRUE(at::equal(ours[i], theirs[i]))
            << "step " << step << " param " << i << " max diff "
            << (ours[i] - theirs[i]).abs().max().item<double>();
    }
    EXPECT_TRUE(at::equal(ours[5], inits[5]));
    EXPECT_EQ(sgd.momentumBuffers()[5].defined(), false);
    EXPECT_EQ(sgd.momentumBuffers()[3].defined(), c.momentum != 0);
  }
}

// Convolution weights the layout pass stores channels_last: with gradients
// in the same layout (what autograd gives such a leaf) the step keeps
// torch.optim.SGD's bits and the momentum buffer takes the weight's layout;
// a gradient in another layout (here contiguous) is still applied by value,
// not by memory order; a buffer restored from a contiguous checkpoint
// tensor is kept in the weight's layout and continues the same updates.
TEST(MultiTensorSgd, ChannelsLastWeightsEqualTorchOptimSgdBitForBit) {
  at::set_num_threads(2);
  torch::manual_seed(5);
  const auto channelsLast = at::MemoryFormat::ChannelsLast;
  // The 1x1 weight is contiguous and channels_last at once; its gradients
  // below come with either's strides.
  std::vector<at::Tensor> inits = {at::randn({8, 3, 5, 5}),
                                   at::randn({16, 8, 3, 3}),
                                   at::randn({16, 8, 1, 1}), at::randn({16})};
  auto stored = [&](const at::Tensor &t) {
    return t.dim() == 4 ? t.clone(channelsLast) : t.clone();
  };
  std::vector<at::Tensor> ours, theirs;
  for (const at::Tensor &init : inits) {
    ours.push_back(stored(init).requires_grad_(true));
    theirs.push_back(init.clone().requires_grad_(true));
  }
  ASSERT_TRUE(ours[0].is_contiguous(channelsLast) && !ours[0].is_contiguous());
  SgdOptions options{0.05, 0.9, 5e-4, false};
  auto sgd = std::make_unique<Sgd>(ours, options);
  torch::optim::SGD ref(theirs, torch::optim::SGDOptions(options.learningRate)
                                    .momentum(options.momentum)
                                    .weight_decay(options.weightDecay));
  auto step = [&](bool gradsChannelsLast) {
    sgd->zeroGrad();
    ref.zero_grad();
    for (size_t i = 0; i < inits.size(); ++i) {
      at::Tensor grad = at::randn_like(inits[i]);
      ours[i].mutable_grad() = gradsChannelsLast ? stored(grad) : grad.clone();
      theirs[i].mutable_grad() = grad.clone();
    }
    sgd->step();
    ref.step();
  };
  auto expectTorchValues = [&](const char *when) {
    for (size_t i = 0; i < ours.size(); ++i) {
      ASSERT_TRUE(at::equal(ours[i], theirs[i]))
          << when << ": param " << i << " max diff "
          << (ours[i] - theirs[i]).abs().max().item<double>();
      EXPECT_EQ(ours[i].strides(), stored(inits[i]).strides())
          << when << ": param " << i << " changed its layout";
    }
  };
  for (int i = 0; i < 3; ++i)
    step(/*gradsChannelsLast=*/true);
  expectTorchValues("channels_last gradients");
  EXPECT_TRUE(sgd->momentumBuffers()[1].is_contiguous(channelsLast));
  step(/*gradsChannelsLast=*/false);
  expectTorchValues("contiguous gradients");

  // Resume: the buffers as a checkpoint holds them, contiguous.
  std::vector<at::Tensor> resumed;
  for (const at::Tensor &p : ours)
    resumed.push_back(p.detach().clone().requires_grad_(true));
  auto restored = std::make_unique<Sgd>(resumed, options);
  for (size_t i = 0; i < ours.size(); ++i)
    restored->setMomentumBuffer(i, sgd->momentumBuffers()[i].contiguous());
  EXPECT_TRUE(restored->momentumBuffers()[0].is_contiguous(channelsLast));
  ours = resumed;
  sgd = std::move(restored);
  step(/*gradsChannelsLast=*/true);
  expectTorchValues("after the buffers were restored");
}

// Parameters read from bf16 copies (rtml-bf16-weight-copies): the step
// takes each copy's bf16 gradient, updates the f32 parameter exactly as
// torch.optim.SGD does from that gradient cast to f32 (what the cast's
// backward gives it), and leaves in the copy the parameter cast to bf16;
// in the fused pass (dense tensors, channels_last weights, several grains
// and a ragged tail), in ATen's ops (a non-dense parameter), and where a
// parameter has an f32 gradient of its own (moved there from its copy, as
// data parallel does). A parameter without a copy is unchanged.
TEST(MultiTensorSgd, Bf16CopiesTakeTheCastsValuesBitForBit) {
  at::set_num_threads(2);
  const auto channelsLast = at::MemoryFormat::ChannelsLast;
  for (SgdCase c :
       {SgdCase{0.01, 0.9, 5e-4, false}, SgdCase{0.05, 0.9, 1e-3, true},
        SgdCase{0.1, 0.0, 1e-2, false}}) {
    SCOPED_TRACE("momentum " + std::to_string(c.momentum) + " nesterov " +
                 std::to_string(c.nesterov));
    torch::manual_seed(8);
    std::vector<at::Tensor> inits = {
        at::randn({16, 8, 3, 3}).contiguous(channelsLast), at::randn({16}),
        at::randn({300007}),
        at::randn({6, 10}).t(), // not dense in its order: ATen's ops
        at::randn({7, 5})};     // no copy
    std::vector<at::Tensor> ours, copies, theirs;
    for (size_t i = 0; i < inits.size(); ++i) {
      ours.push_back(
          inits[i].clone(at::MemoryFormat::Preserve).requires_grad_(true));
      theirs.push_back(inits[i].clone().requires_grad_(true));
      copies.push_back(i + 1 == inits.size()
                           ? at::Tensor()
                           : inits[i]
                                 .to(at::kBFloat16)
                                 .clone(at::MemoryFormat::Preserve)
                                 .requires_grad_(true));
    }
    Sgd sgd(ours, SgdOptions{c.lr, c.momentum, c.wd, c.nesterov}, copies);
    auto ref = torchSgd(theirs, c);
    for (int step = 0; step < 4; ++step) {
      sgd.zeroGrad();
      ref->zero_grad();
      for (size_t i = 0; i < inits.size(); ++i) {
        at::Tensor grad = at::randn_like(inits[i]).to(at::kBFloat16);
        at::Tensor &holder = copies[i].defined() ? copies[i] : ours[i];
        holder.mutable_grad() = grad.to(holder.scalar_type());
        theirs[i].mutable_grad() = grad.to(at::kFloat);
      }
      if (step == 3) // data parallel's f32 gradients
        sgd.moveCopyGradientsToParameters();
      sgd.step();
      ref->step();
      for (size_t i = 0; i < ours.size(); ++i) {
        ASSERT_TRUE(at::equal(ours[i], theirs[i]))
            << "step " << step << " param " << i << " max diff "
            << (ours[i] - theirs[i]).abs().max().item<double>();
        if (copies[i].defined())
          ASSERT_TRUE(at::equal(copies[i], theirs[i].to(at::kBFloat16)))
              << "step " << step << ": copy " << i << " is not the cast";
      }
    }
    EXPECT_TRUE(copies[0].is_contiguous(channelsLast));
    for (const at::Tensor &copy : copies)
      if (copy.defined())
        EXPECT_FALSE(copy.grad().defined()) << "moved to the parameter";
  }
}

namespace {
/// A full batch of a one-GPU model in a CUDA build, warmed up, no graph yet.
StepConditions graphable() {
  StepConditions c;
  c.graphsEnabled = true;
  c.graphsBuilt = true;
  c.onCuda = true;
  c.physicalDevices = 1;
  c.batchImages = 128;
  c.fullBatch = 128;
  c.eagerStepsDone = kGraphWarmupSteps;
  return c;
}
} // namespace

TEST(StepMode, CapturesAfterTheWarmUpThenReplays) {
  StepConditions c = graphable();
  c.eagerStepsDone = 0;
  EXPECT_EQ(stepMode(c), StepMode::Eager);
  c.eagerStepsDone = kGraphWarmupSteps - 1;
  EXPECT_EQ(stepMode(c), StepMode::Eager);
  c.eagerStepsDone = kGraphWarmupSteps;
  EXPECT_EQ(stepMode(c), StepMode::Capture);
  c.captured = true;
  EXPECT_EQ(stepMode(c), StepMode::Replay);
  EXPECT_STREQ(stepModeName(StepMode::Replay), "replay");
}

TEST(StepMode, FallsBackToTheEagerStepWhereAGraphCannotHold) {
  struct Case {
    const char *why;
    void (*change)(StepConditions &);
  };
  for (Case k : std::initializer_list<Case>{
           {"--no-cuda-graph",
            [](StepConditions &c) { c.graphsEnabled = false; }},
           {"a runtime built without CUDA",
            [](StepConditions &c) { c.graphsBuilt = false; }},
           {"the CPU", [](StepConditions &c) { c.onCuda = false; }},
           {"a model split over two GPUs",
            [](StepConditions &c) { c.physicalDevices = 2; }},
           {"data parallel", [](StepConditions &c) { c.dataParallel = true; }},
           {"the epoch's last, short batch",
            [](StepConditions &c) { c.batchImages = 40; }},
           {"an empty data-parallel share",
            [](StepConditions &c) { c.batchImages = 0; }}}) {
    for (bool captured : {false, true}) {
      StepConditions c = graphable();
      c.captured = captured;
      k.change(c);
      EXPECT_EQ(stepMode(c), StepMode::Eager)
          << k.why << (captured ? " (after a capture)" : "");
    }
  }
}

// What the training loop does on the CPU (the only device here): every step
// eager, whatever the flag says, and the graph cannot be asked for.
TEST(StepMode, ACpuRunIsEagerAndThisBuildCapturesNothing) {
  StepConditions c;
  c.graphsBuilt = StepGraph::built();
  c.batchImages = c.fullBatch = 16;
  for (int64_t done : {0, 3, 100}) {
    c.eagerStepsDone = done;
    EXPECT_EQ(stepMode(c), StepMode::Eager);
  }
#ifndef RTML_WITH_CUDA
  EXPECT_FALSE(StepGraph::built());
  StepGraph graph;
  EXPECT_FALSE(graph.captured());
  EXPECT_THROW(graph.capture(0, [] {}), std::logic_error);
  EXPECT_THROW(graph.replay(), std::logic_error);
#endif
}
