//===- ConcatReluTest.cpp - Fused concat of ReLUs vs a float64 reference --===//
//
// The CPU twin behind rtml::kernels::concatRelu, through its autograd
// function, against at::cat of at::relu of each input evaluated in double
// with autograd's gradient: forward and every input's gradient within 1e-5
// relative error, over 1 to 5 inputs, odd channel counts, batches of 1 and
// more, trailing dimensions none to 3-D, parallel chunks that split inputs
// and images, and non-contiguous inputs; then a chain (conv -> concatRelu ->
// loss) against the same chain unfused. The NHWC (channels_last) kernels
// against the NCHW ones, forward, gradients and running statistics. The bf16
// variant against the same references within bf16 rounding, and bit for bit
// against the float kernel on its values, rounded once; in NHWC too.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Kernels/ConcatReluOp.h"
#include "rtml/Runtime/StepProfile.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace {

struct One {
  static constexpr int kInputs = 1;
  static constexpr int64_t kChannels[kInputs] = {7};
  static constexpr int64_t kTotalChannels = 7;
};
struct Two {
  static constexpr int kInputs = 2;
  static constexpr int64_t kChannels[kInputs] = {1, 3};
  static constexpr int64_t kTotalChannels = 4;
};
struct Three {
  static constexpr int kInputs = 3;
  static constexpr int64_t kChannels[kInputs] = {64, 128, 32};
  static constexpr int64_t kTotalChannels = 224;
};
struct Four {
  static constexpr int kInputs = 4;
  static constexpr int64_t kChannels[kInputs] = {5, 11, 3, 9};
  static constexpr int64_t kTotalChannels = 28;
};
struct Five {
  static constexpr int kInputs = 5;
  static constexpr int64_t kChannels[kInputs] = {3, 1, 5, 13, 2};
  static constexpr int64_t kTotalChannels = 24;
};

/// Largest |a - b| relative to the largest |b|.
double relativeError(const at::Tensor &a, const at::Tensor &b) {
  at::Tensor bd = b.to(at::kDouble);
  double scale = bd.abs().max().item<double>();
  double diff = (a.to(at::kDouble) - bd).abs().max().item<double>();
  return scale > 0 ? diff / scale : diff;
}

at::Tensor referenceConcatRelu(const std::vector<at::Tensor> &inputs) {
  std::vector<at::Tensor> relus;
  for (const at::Tensor &x : inputs)
    relus.push_back(at::relu(x));
  return at::cat(relus, 1);
}

/// Forward and input gradients of the kernel on XS (float32, any layout)
/// against the float64 reference, for a random upstream gradient.
template <class Config>
void expectMatchesFloat64Reference(const std::vector<at::Tensor> &xs) {
  SCOPED_TRACE(std::to_string(Config::kInputs) + " inputs, input 0 " +
               std::to_string(xs[0].dim()) + "-D, batch " +
               std::to_string(xs[0].size(0)) +
               (xs[0].is_contiguous() ? "" : ", non-contiguous"));
  std::vector<at::Tensor> leaves, leavesD;
  for (const at::Tensor &x : xs) {
    // Leaves aliasing XS, so the kernel sees their strides.
    leaves.push_back(x.detach().requires_grad_(true));
    leavesD.push_back(x.detach().to(at::kDouble).requires_grad_(true));
  }
  at::Tensor y = rtml::kernels::concatRelu<Config>(leaves);
  at::Tensor yRef = referenceConcatRelu(leavesD);
  ASSERT_EQ(y.sizes(), yRef.sizes());
  ASSERT_EQ(y.scalar_type(), at::kFloat);
  ASSERT_TRUE(y.is_contiguous());
  EXPECT_LT(relativeError(y, yRef), 1e-5);

  at::Tensor upstream = torch::randn(y.sizes(), at::kDouble);
  y.backward(upstream.to(at::kFloat));
  yRef.backward(upstream);
  for (size_t i = 0; i < xs.size(); ++i) {
    ASSERT_TRUE(leaves[i].grad().defined()) << "input " << i;
    ASSERT_EQ(leaves[i].grad().sizes(), xs[i].sizes()) << "input " << i;
    EXPECT_LT(relativeError(leaves[i].grad(), leavesD[i].grad()), 1e-5)
        << "input " << i;
  }
}

/// Inputs of CONFIG with batch N and trailing SPATIAL sizes.
template <class Config>
std::vector<at::Tensor> randomInputs(int64_t n,
                                     const std::vector<int64_t> &spatial) {
  std::vector<at::Tensor> xs;
  for (int i = 0; i < Config::kInputs; ++i) {
    std::vector<int64_t> shape = {n, Config::kChannels[i]};
    shape.insert(shape.end(), spatial.begin(), spatial.end());
    xs.push_back(torch::randn(shape));
  }
  return xs;
}

template <class Config> void checkShapes() {
  torch::manual_seed(10 * Config::kInputs);
  const std::vector<std::pair<int64_t, std::vector<int64_t>>> shapes = {
      {1, {3, 3}}, {2, {4, 5}},    {3, {7, 7}}, {1, {1, 1}}, {4, {}},
      {2, {9}},    {2, {3, 2, 5}}, {5, {6, 6}}, {2, {28, 28}}};
  for (const auto &[n, spatial] : shapes)
    expectMatchesFloat64Reference<Config>(randomInputs<Config>(n, spatial));
}

} // namespace

TEST(ConcatReluKernel, OneInputMatchesFloat64) { checkShapes<One>(); }
TEST(ConcatReluKernel, TwoInputsMatchFloat64) { checkShapes<Two>(); }
TEST(ConcatReluKernel, ThreeInputsMatchFloat64) { checkShapes<Three>(); }
TEST(ConcatReluKernel, FourOddInputsMatchFloat64) { checkShapes<Four>(); }
TEST(ConcatReluKernel, FiveOddInputsMatchFloat64) { checkShapes<Five>(); }

TEST(ConcatReluKernel, NonContiguousInputs) {
  torch::manual_seed(11);
  // Channels last in memory, every other column, and a transposed image.
  std::vector<at::Tensor> xs = {
      torch::randn({2, 6, 7, 5}).permute({0, 3, 1, 2}),
      torch::randn({2, 11, 6, 14}).slice(3, 0, 14, 2),
      torch::randn({2, 3, 7, 6}).transpose(2, 3),
      torch::randn({2, 9, 6, 7}).contiguous(at::MemoryFormat::ChannelsLast)};
  for (int i = 0; i < 3; ++i)
    ASSERT_FALSE(xs[i].is_contiguous()) << i;
  expectMatchesFloat64Reference<Four>(xs);
}

// Only some inputs want a gradient: the others get none, the rest are right.
TEST(ConcatReluKernel, SomeInputsWithoutGradient) {
  torch::manual_seed(12);
  std::vector<at::Tensor> xs = randomInputs<Three>(2, {5, 5});
  std::vector<at::Tensor> leaves = {xs[0], xs[1].clone().requires_grad_(true),
                                    xs[2]};
  at::Tensor upstream = torch::randn({2, 224, 5, 5});
  rtml::kernels::concatRelu<Three>(leaves).backward(upstream);
  EXPECT_FALSE(leaves[0].grad().defined());
  EXPECT_FALSE(leaves[2].grad().defined());
  at::Tensor expected =
      upstream.slice(1, 64, 192) * (xs[1] > 0).to(at::kFloat);
  EXPECT_TRUE(at::equal(leaves[1].grad(), expected));
}

// The forward equals LibTorch's float32 relu + cat bit for bit, and so does
// the backward (both are selects).
TEST(ConcatReluKernel, EqualsLibTorchInFloat) {
  torch::manual_seed(13);
  std::vector<at::Tensor> xs = randomInputs<Five>(3, {8, 9});
  std::vector<at::Tensor> a, b;
  for (const at::Tensor &x : xs) {
    a.push_back(x.clone().requires_grad_(true));
    b.push_back(x.clone().requires_grad_(true));
  }
  at::Tensor y = rtml::kernels::concatRelu<Five>(a);
  at::Tensor yRef = referenceConcatRelu(b);
  EXPECT_TRUE(at::equal(y, yRef));
  at::Tensor upstream = torch::randn(y.sizes());
  y.backward(upstream);
  yRef.backward(upstream);
  for (size_t i = 0; i < xs.size(); ++i)
    EXPECT_TRUE(at::equal(a[i].grad(), b[i].grad())) << "input " << i;
}

// In a chain (convs -> fused op -> conv -> loss) the gradients of every
// leaf equal the float64 unfused chain's.
TEST(ConcatReluKernel, GradientsFlowThroughAChain) {
  torch::manual_seed(14);
  at::Tensor x0 = torch::randn({2, 3, 9, 9});
  std::vector<at::Tensor> w0 = {torch::randn({5, 3, 1, 1}),
                                torch::randn({11, 3, 3, 3}),
                                torch::randn({3, 3, 3, 3}),
                                torch::randn({9, 3, 1, 1})};
  at::Tensor head0 = torch::randn({4, 28, 3, 3});
  at::Tensor target = torch::randn({2, 4, 7, 7});
  auto run = [&](at::ScalarType type, bool fused) {
    // Fresh leaves (a copy even when TYPE is already float).
    auto leaf = [&](const at::Tensor &t) {
      return t.to(type, /*non_blocking=*/false, /*copy=*/true)
          .requires_grad_(true);
    };
    at::Tensor x = leaf(x0), head = leaf(head0);
    std::vector<at::Tensor> ws, branches;
    for (const at::Tensor &w : w0)
      ws.push_back(leaf(w));
    for (const at::Tensor &w : ws)
      branches.push_back(at::conv2d(x, w, {}, 1, w.size(2) / 2));
    at::Tensor mid = fused ? rtml::kernels::concatRelu<Four>(branches)
                           : referenceConcatRelu(branches);
    at::Tensor loss =
        (at::conv2d(mid, head) - target.to(type)).pow(2).sum();
    loss.backward();
    std::vector<at::Tensor> out = {loss, x.grad(), head.grad()};
    for (const at::Tensor &w : ws)
      out.push_back(w.grad());
    return out;
  };
  auto fused = run(at::kFloat, true);
  auto reference = run(at::kDouble, false);
  ASSERT_EQ(fused.size(), reference.size());
  for (size_t i = 0; i < fused.size(); ++i)
    EXPECT_LT(relativeError(fused[i], reference[i]), 1e-5) << "output " << i;
}

// The CPU twin gives identical bits whatever [begin, end) row ranges the
// output is split into (the glue's parallel_for picks them).
TEST(ConcatReluKernel, CpuTwinIndependentOfRangeSplit) {
  torch::manual_seed(15);
  const int64_t n = 3, hw = 10, rows = n * Five::kTotalChannels;
  std::vector<at::Tensor> xs = randomInputs<Five>(n, {hw});
  at::Tensor g = torch::randn({n, Five::kTotalChannels, hw});
  const float *xd[5];
  for (int i = 0; i < 5; ++i)
    xd[i] = xs[i].data_ptr<float>();
  auto run = [&](int64_t piece) {
    at::Tensor y = torch::full({n, Five::kTotalChannels, hw}, 42.0f);
    std::vector<at::Tensor> gx;
    float *gxd[5];
    for (int i = 0; i < 5; ++i) {
      gx.push_back(torch::full_like(xs[i], 42.0f));
      gxd[i] = gx.back().data_ptr<float>();
    }
    for (int64_t b = 0; b < rows; b += piece) {
      int64_t e = std::min(rows, b + piece);
      rtml::kernels::concatReluForwardCpu<Five>(xd, y.data_ptr<float>(), n,
                                                hw, b, e);
      rtml::kernels::concatReluBackwardCpu<Five>(
          g.data_ptr<float>(), y.data_ptr<float>(), gxd, n, hw, b, e);
    }
    gx.push_back(y);
    return gx;
  };
  auto whole = run(rows);
  EXPECT_TRUE(at::equal(whole.back(), referenceConcatRelu(xs)));
  for (int64_t piece : {1, 2, 5, 23, 25}) {
    auto split = run(piece);
    for (size_t i = 0; i < whole.size(); ++i)
      EXPECT_TRUE(at::equal(whole[i], split[i])) << "piece " << piece;
  }
}

TEST(ConcatReluKernel, InferenceWithoutGrad) {
  torch::manual_seed(16);
  std::vector<at::Tensor> xs = randomInputs<Three>(2, {4, 4});
  at::Tensor y;
  {
    torch::NoGradGuard guard;
    y = rtml::kernels::concatRelu<Three>(xs);
  }
  EXPECT_FALSE(y.requires_grad());
  EXPECT_TRUE(at::equal(y, referenceConcatRelu(xs)));
}

TEST(ConcatReluKernel, RejectsWhatDoesNotMatchTheConfig) {
  using rtml::kernels::concatRelu;
  auto expectError = [](const std::vector<at::Tensor> &xs,
                        const std::string &message) {
    try {
      concatRelu<Two>(xs);
      ADD_FAILURE() << "no error, expected: " << message;
    } catch (const c10::Error &e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos)
          << e.what();
    }
  };
  expectError({torch::randn({2, 1, 3, 3})}, "expected 2 inputs");
  expectError({torch::randn({2, 1, 3, 3}), torch::randn({2, 4, 3, 3})},
              "input 1 has 4 channels, the config expects 3");
  expectError({torch::randn({2, 1, 3, 3}), torch::randn({2, 3, 3, 4})},
              "all but the channels must be equal");
  expectError({torch::randn({2, 1, 3, 3}), torch::randn({1, 3, 3, 3})},
              "all but the channels must be equal");
  expectError({torch::randn({2, 1, 3, 3}), torch::randn({2, 3, 9})},
              "dimensions");
  expectError({torch::randn({2, 1, 3, 3}),
               torch::randn({2, 3, 3, 3}, at::kDouble)},
              "only float32");
  expectError({torch::randn({2}), torch::randn({2, 3})},
              "at least 2 dimensions");
}

TEST(ConcatReluKernel, EmptyBatch) {
  std::vector<at::Tensor> xs = {torch::randn({0, 1, 3, 3}).requires_grad_(true),
                                torch::randn({0, 3, 3, 3}).requires_grad_(true)};
  at::Tensor y = rtml::kernels::concatRelu<Two>(xs);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{0, 4, 3, 3}));
  y.sum().backward();
  EXPECT_EQ(xs[1].grad().sizes(), xs[1].sizes());
}

//===----------------------------------------------------------------------===//
// Batch norm epilogues: relu(batch_norm(x)) per input, against at::batch_norm
// + at::relu + at::cat in float64
//===----------------------------------------------------------------------===//

namespace {

struct BnOne {
  static constexpr int kInputs = 1;
  static constexpr int64_t kChannels[kInputs] = {7};
  static constexpr int64_t kTotalChannels = 7;
  static constexpr bool kBatchNorm[kInputs] = {true};
  static constexpr double kEps[kInputs] = {1e-5};
  static constexpr double kMomentum[kInputs] = {0.1};
};
struct BnTwo {
  static constexpr int kInputs = 2;
  static constexpr int64_t kChannels[kInputs] = {3, 64};
  static constexpr int64_t kTotalChannels = 67;
  static constexpr bool kBatchNorm[kInputs] = {true, true};
  static constexpr double kEps[kInputs] = {1e-3, 1e-5};
  static constexpr double kMomentum[kInputs] = {0.1, 0.3};
};
// Mixed with plain ReLUs, odd channel counts, momentum 0 and 1.
struct BnMixed {
  static constexpr int kInputs = 5;
  static constexpr int64_t kChannels[kInputs] = {5, 1, 11, 3, 9};
  static constexpr int64_t kTotalChannels = 29;
  static constexpr bool kBatchNorm[kInputs] = {true, false, true, true, false};
  static constexpr double kEps[kInputs] = {1e-3, 0, 1e-5, 1e-2, 0};
  static constexpr double kMomentum[kInputs] = {0.1, 0, 1.0, 0.0, 0};
};

/// One batch norm's parameters in float32 (what the kernel gets) and the
/// same values in float64 (the reference's).
struct BatchNormParams {
  at::Tensor weight, bias, runningMean, runningVar, numBatchesTracked;
  at::Tensor weightD, biasD, runningMeanD, runningVarD;

  explicit BatchNormParams(int64_t channels) {
    at::Tensor w = torch::rand({channels}) + 0.5, b = torch::randn({channels});
    at::Tensor m = torch::randn({channels}) * 0.3;
    at::Tensor v = torch::rand({channels}) + 0.5;
    weight = w.clone().requires_grad_(true);
    bias = b.clone().requires_grad_(true);
    runningMean = m.clone();
    runningVar = v.clone();
    numBatchesTracked = torch::zeros({}, at::kLong);
    weightD = w.to(at::kDouble).requires_grad_(true);
    biasD = b.to(at::kDouble).requires_grad_(true);
    runningMeanD = m.to(at::kDouble);
    runningVarD = v.to(at::kDouble);
  }
};

/// Forward, the gradients of every input, weight and bias, and the running
/// statistics after the call, of the kernel in TRAINING or evaluation,
/// against the float64 reference.
template <class Config>
void expectBatchNormMatchesFloat64(const std::vector<at::Tensor> &xs,
                                   bool training) {
  using T = rtml::kernels::ConcatReluTraits<Config>;
  SCOPED_TRACE(std::string(training ? "training" : "eval") + ", " +
               std::to_string(Config::kInputs) + " inputs, input 0 " +
               std::to_string(xs[0].dim()) + "-D, batch " +
               std::to_string(xs[0].size(0)));
  std::vector<at::Tensor> leaves, leavesD, bnParams, relusD;
  std::vector<BatchNormParams> norms;
  for (int i = 0; i < Config::kInputs; ++i) {
    leaves.push_back(xs[i].detach().requires_grad_(true));
    leavesD.push_back(xs[i].detach().to(at::kDouble).requires_grad_(true));
    if (!T::batchNorm(i)) {
      relusD.push_back(at::relu(leavesD[i]));
      continue;
    }
    const BatchNormParams &p = norms.emplace_back(Config::kChannels[i]);
    bnParams.insert(bnParams.end(), {p.weight, p.bias, p.runningMean,
                                     p.runningVar, p.numBatchesTracked});
    relusD.push_back(at::relu(at::batch_norm(
        leavesD[i], p.weightD, p.biasD, p.runningMeanD, p.runningVarD, training,
        T::momentum(i), T::eps(i), /*cudnn_enabled=*/false)));
  }
  at::Tensor y = rtml::kernels::concatRelu<Config>(leaves, bnParams, training);
  at::Tensor yRef = at::cat(relusD, 1);
  ASSERT_EQ(y.sizes(), yRef.sizes());
  EXPECT_LT(relativeError(y, yRef), 1e-5);
  for (size_t k = 0; k < norms.size(); ++k) {
    const BatchNormParams &p = norms[k];
    EXPECT_LT(relativeError(p.runningMean, p.runningMeanD), 1e-6) << k;
    EXPECT_LT(relativeError(p.runningVar, p.runningVarD), 1e-6) << k;
    EXPECT_EQ(p.numBatchesTracked.item<int64_t>(), training ? 1 : 0) << k;
  }

  at::Tensor upstream = torch::randn(y.sizes(), at::kDouble);
  y.backward(upstream.to(at::kFloat));
  yRef.backward(upstream);
  for (int i = 0; i < Config::kInputs; ++i) {
    ASSERT_TRUE(leaves[i].grad().defined()) << "input " << i;
    EXPECT_LT(relativeError(leaves[i].grad(), leavesD[i].grad()), 1e-5)
        << "input " << i;
  }
  for (size_t k = 0; k < norms.size(); ++k) {
    const BatchNormParams &p = norms[k];
    ASSERT_TRUE(p.weight.grad().defined() && p.bias.grad().defined()) << k;
    EXPECT_LT(relativeError(p.weight.grad(), p.weightD.grad()), 1e-5) << k;
    EXPECT_LT(relativeError(p.bias.grad(), p.biasD.grad()), 1e-5) << k;
  }
}

template <class Config> void checkBatchNormShapes() {
  torch::manual_seed(20 * Config::kInputs);
  const std::vector<std::pair<int64_t, std::vector<int64_t>>> shapes = {
      {2, {3, 3}}, {1, {4, 5}},    {3, {7, 7}}, {4, {}},
      {2, {9}},    {2, {3, 2, 5}}, {5, {6, 6}}, {2, {28, 28}}};
  for (bool training : {true, false}) {
    for (const auto &[n, spatial] : shapes)
      expectBatchNormMatchesFloat64<Config>(randomInputs<Config>(n, spatial),
                                            training);
    // Values far from zero mean and unit variance.
    std::vector<at::Tensor> shifted = randomInputs<Config>(3, {5, 5});
    for (at::Tensor &x : shifted)
      x = x * 4 + 3;
    expectBatchNormMatchesFloat64<Config>(shifted, training);
  }
  // One value per channel is enough in evaluation.
  expectBatchNormMatchesFloat64<Config>(randomInputs<Config>(1, {1, 1}), false);
}

} // namespace

TEST(ConcatReluKernel, BatchNormOneInputMatchesFloat64) {
  checkBatchNormShapes<BnOne>();
}
TEST(ConcatReluKernel, BatchNormTwoInputsMatchFloat64) {
  checkBatchNormShapes<BnTwo>();
}
TEST(ConcatReluKernel, BatchNormMixedWithReluMatchesFloat64) {
  checkBatchNormShapes<BnMixed>();
}

// The running statistics and the counter change as the unfused float32
// batch norm (at::batch_norm, counted as runtime ops::batchNorm does) changes
// them, over several training steps, and not in evaluation.
TEST(ConcatReluKernel, BatchNormRunningStatsAsLibTorch) {
  torch::manual_seed(21);
  BatchNormParams fused(64), unfused(64);
  unfused.runningMean.copy_(fused.runningMean);
  unfused.runningVar.copy_(fused.runningVar);
  at::Tensor other = torch::randn({2, 3, 4, 4});
  for (int step = 0; step < 3; ++step) {
    at::Tensor x = torch::randn({2, 64, 4, 4}) * 2 + 1;
    BatchNormParams first(3);
    std::vector<at::Tensor> bnParams = {first.weight,
                                        first.bias,
                                        first.runningMean,
                                        first.runningVar,
                                        first.numBatchesTracked,
                                        fused.weight,
                                        fused.bias,
                                        fused.runningMean,
                                        fused.runningVar,
                                        fused.numBatchesTracked};
    rtml::kernels::concatRelu<BnTwo>({other, x}, bnParams, true);
    at::batch_norm(x, unfused.weight, unfused.bias, unfused.runningMean,
                   unfused.runningVar, true, BnTwo::kMomentum[1],
                   BnTwo::kEps[1], false);
    EXPECT_LT(relativeError(fused.runningMean, unfused.runningMean), 1e-6);
    EXPECT_LT(relativeError(fused.runningVar, unfused.runningVar), 1e-6);
    EXPECT_EQ(fused.numBatchesTracked.item<int64_t>(), step + 1);
  }
  at::Tensor mean = fused.runningMean.clone();
  rtml::kernels::concatRelu<BnTwo>(
      {other, torch::randn({2, 64, 4, 4})},
      {torch::ones({3}), torch::zeros({3}), torch::zeros({3}), torch::ones({3}),
       torch::zeros({}, at::kLong), fused.weight, fused.bias, fused.runningMean,
       fused.runningVar, fused.numBatchesTracked},
      false);
  EXPECT_TRUE(at::equal(mean, fused.runningMean));
  EXPECT_EQ(fused.numBatchesTracked.item<int64_t>(), 3);
}

TEST(ConcatReluKernel, BatchNormRejectsBadParams) {
  using rtml::kernels::concatRelu;
  std::vector<at::Tensor> xs = {torch::randn({2, 7, 3, 3})};
  auto expectError = [&](const std::vector<at::Tensor> &xs,
                         const std::vector<at::Tensor> &params, bool training,
                         const std::string &message) {
    try {
      concatRelu<BnOne>(xs, params, training);
      ADD_FAILURE() << "no error, expected: " << message;
    } catch (const c10::Error &e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos)
          << e.what();
    }
  };
  at::Tensor c = torch::ones({7}), n = torch::zeros({}, at::kLong);
  expectError(xs, {}, true, "expected 5 batch norm parameters");
  expectError(xs, {c, c, c, torch::ones({6}), n}, true,
              "batch norm parameter 3 of input 0 must be float32 [channels]");
  expectError(xs, {c, c, c, c, torch::zeros({})}, true,
              "batch norm parameter 4 of input 0 must be an int64 scalar");
  expectError({torch::randn({1, 7, 1, 1})}, {c, c, c, c, n}, true,
              "needs more than 1 value per channel in training");
}

//===----------------------------------------------------------------------===//
// NHWC (channels_last): the same numbers as NCHW, in the inputs' layout
//===----------------------------------------------------------------------===//

namespace {

/// One run of the kernel on copies of XS in FORMAT, with fresh copies of the
/// batch norm parameters made from SEED: the output, every gradient and the
/// running statistics afterwards.
template <class Config>
std::vector<at::Tensor> runConcatRelu(const std::vector<at::Tensor> &xs,
                                      const at::Tensor &upstream,
                                      at::MemoryFormat format, bool training,
                                      uint64_t seed) {
  using T = rtml::kernels::ConcatReluTraits<Config>;
  torch::manual_seed(seed);
  std::vector<at::Tensor> leaves, bnParams;
  std::vector<BatchNormParams> norms;
  for (int i = 0; i < Config::kInputs; ++i) {
    leaves.push_back(xs[i].detach().contiguous(format).requires_grad_(true));
    if (!T::batchNorm(i))
      continue;
    const BatchNormParams &p = norms.emplace_back(Config::kChannels[i]);
    bnParams.insert(bnParams.end(), {p.weight, p.bias, p.runningMean,
                                     p.runningVar, p.numBatchesTracked});
  }
  at::Tensor y = rtml::kernels::concatRelu<Config>(leaves, bnParams, training);
  EXPECT_TRUE(y.is_contiguous(format));
  y.backward(upstream.contiguous(format));
  std::vector<at::Tensor> results = {y};
  for (const at::Tensor &leaf : leaves) {
    EXPECT_TRUE(leaf.grad().is_contiguous(format));
    results.push_back(leaf.grad());
  }
  for (const BatchNormParams &p : norms)
    results.insert(results.end(), {p.weight.grad(), p.bias.grad(),
                                   p.runningMean, p.runningVar});
  return results;
}

/// The kernel on XS in NCHW and in channels_last agrees within float
/// rounding: forward, gradients and running statistics. With batch norms,
/// ATen's batch norm reductions (statistics, weight and bias gradient sums)
/// add in another order per layout and per thread count: float sums of
/// about 1,600 terms here, about sqrt(n) * 2^-24 = 2.4e-6 apart.
template <class Config>
void expectNhwcEqualsNchw(const std::vector<at::Tensor> &xs, bool training) {
  SCOPED_TRACE(std::string(training ? "training" : "eval") + ", " +
               std::to_string(Config::kInputs) + " inputs, [" +
               std::to_string(xs[0].size(0)) + ", " +
               std::to_string(xs[0].size(2)) + ", " +
               std::to_string(xs[0].size(3)) + "]");
  std::vector<int64_t> sizes = xs[0].sizes().vec();
  sizes[1] = Config::kTotalChannels;
  at::Tensor upstream = torch::randn(sizes);
  auto nchw = runConcatRelu<Config>(xs, upstream,
                                    at::MemoryFormat::Contiguous, training, 7);
  auto nhwc = runConcatRelu<Config>(
      xs, upstream, at::MemoryFormat::ChannelsLast, training, 7);
  ASSERT_EQ(nchw.size(), nhwc.size());
  const double tolerance =
      rtml::kernels::ConcatReluTraits<Config>::kBatchNorms > 0 ? 1e-5 : 1e-6;
  for (size_t i = 0; i < nchw.size(); ++i)
    EXPECT_LT(relativeError(nhwc[i], nchw[i]), tolerance) << "result " << i;
}

template <class Config> void checkNhwcShapes() {
  torch::manual_seed(30 * Config::kInputs);
  const std::vector<std::pair<int64_t, std::vector<int64_t>>> shapes = {
      {2, {3, 3}}, {1, {4, 5}}, {3, {7, 7}}, {5, {6, 6}}, {2, {28, 28}}};
  for (bool training : {true, false})
    for (const auto &[n, spatial] : shapes)
      expectNhwcEqualsNchw<Config>(randomInputs<Config>(n, spatial), training);
}

// Channel counts that are all multiples of 4 (the CUDA kernels' float4 path).
struct ByFour {
  static constexpr int kInputs = 3;
  static constexpr int64_t kChannels[kInputs] = {8, 4, 12};
  static constexpr int64_t kTotalChannels = 24;
};

} // namespace

TEST(ConcatReluKernelNhwc, OneInputEqualsNchw) { checkNhwcShapes<One>(); }
TEST(ConcatReluKernelNhwc, ThreeInputsEqualNchw) { checkNhwcShapes<Three>(); }
TEST(ConcatReluKernelNhwc, FiveOddInputsEqualNchw) { checkNhwcShapes<Five>(); }
TEST(ConcatReluKernelNhwc, MultiplesOfFourEqualNchw) {
  checkNhwcShapes<ByFour>();
}
TEST(ConcatReluKernelNhwc, BatchNormTwoInputsEqualNchw) {
  checkNhwcShapes<BnTwo>();
}
TEST(ConcatReluKernelNhwc, BatchNormMixedWithReluEqualsNchw) {
  checkNhwcShapes<BnMixed>();
}

// Channels_last inputs against the float64 reference too; with one input
// NCHW (a mixed set) the kernels run in NCHW, as for any other layout.
TEST(ConcatReluKernelNhwc, MatchesFloat64) {
  torch::manual_seed(31);
  std::vector<at::Tensor> xs = randomInputs<Four>(3, {5, 6});
  for (at::Tensor &x : xs)
    x = x.contiguous(at::MemoryFormat::ChannelsLast);
  for (bool mixed : {false, true}) {
    SCOPED_TRACE(mixed ? "input 2 NCHW" : "all channels_last");
    std::vector<at::Tensor> leaves, leavesD;
    for (size_t i = 0; i < xs.size(); ++i) {
      at::Tensor x = mixed && i == 2 ? xs[i].contiguous() : xs[i];
      leaves.push_back(x.detach().requires_grad_(true));
      leavesD.push_back(xs[i].detach().to(at::kDouble).requires_grad_(true));
    }
    at::Tensor y = rtml::kernels::concatRelu<Four>(leaves);
    at::Tensor yRef = referenceConcatRelu(leavesD);
    EXPECT_EQ(y.is_contiguous(at::MemoryFormat::ChannelsLast), !mixed);
    EXPECT_EQ(y.is_contiguous(), mixed);
    EXPECT_LT(relativeError(y, yRef), 1e-6);
    at::Tensor upstream = torch::randn(y.sizes(), at::kDouble);
    y.backward(upstream.to(at::kFloat));
    yRef.backward(upstream);
    for (size_t i = 0; i < xs.size(); ++i)
      EXPECT_LT(relativeError(leaves[i].grad(), leavesD[i].grad()), 1e-6)
          << i;
  }
}

// Inputs that are channel slices of one channels_last tensor (as
// ops::siblingConv2d returns them: dense in neither layout) run the NHWC
// kernels, read where they are (no copy), and give the bits of dense
// channels_last inputs, forward and backward, the gradients reaching the
// tensor they were cut from.
TEST(ConcatReluKernelNhwc, ChannelSlicesOfChannelsLastRunNhwcInPlace) {
  torch::manual_seed(33);
  at::Tensor whole = torch::randn({2, Four::kTotalChannels + 3, 5, 6})
                         .contiguous(at::MemoryFormat::ChannelsLast);
  at::Tensor upstream = torch::randn({2, Four::kTotalChannels, 5, 6});
  at::Tensor sliced = whole.detach().requires_grad_(true);
  std::vector<at::Tensor> slices =
      sliced.split_with_sizes({Four::kChannels[0], Four::kChannels[1],
                               Four::kChannels[2], Four::kChannels[3], 3},
                              /*dim=*/1);
  slices.pop_back();
  std::vector<at::Tensor> dense;
  for (const at::Tensor &x : slices) {
    ASSERT_FALSE(x.is_contiguous(at::MemoryFormat::ChannelsLast));
    dense.push_back(x.detach()
                        .contiguous(at::MemoryFormat::ChannelsLast)
                        .requires_grad_(true));
  }
  at::Tensor y;
  int copies = 0;
  for (const rtml::ProfiledEvent &e : rtml::profileEvents(
           [&] { y = rtml::kernels::concatRelu<Four>(slices); }, 1, false))
    copies += e.name == "aten::copy_";
  EXPECT_EQ(copies, 0);
  at::Tensor yDense = rtml::kernels::concatRelu<Four>(dense);
  EXPECT_TRUE(y.is_contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(at::equal(y, yDense));
  y.backward(upstream);
  yDense.backward(upstream);
  at::Tensor expected =
      at::cat({dense[0].grad(), dense[1].grad(), dense[2].grad(),
               dense[3].grad(), at::zeros({2, 3, 5, 6})},
              /*dim=*/1);
  EXPECT_TRUE(at::equal(sliced.grad(), expected));
}

// Which tensors the NHWC forward reads in place, and with what pixel
// stride: dense channels_last and channel slices of it, whatever sizes are
// 1; not NCHW, nor spatial crops (whose pixels are not evenly spaced).
TEST(ConcatReluKernelNhwc, PixelStrideOfChannelsLastTensorsAndSlices) {
  using rtml::kernels::detail::nhwcPixelStride;
  auto nhwc = [](std::vector<int64_t> sizes) {
    return torch::zeros(sizes).contiguous(at::MemoryFormat::ChannelsLast);
  };
  EXPECT_EQ(nhwcPixelStride(nhwc({2, 6, 4, 5})), 6);
  EXPECT_EQ(nhwcPixelStride(nhwc({2, 6, 4, 5}).narrow(1, 2, 3)), 6);
  EXPECT_EQ(nhwcPixelStride(nhwc({2, 6, 4, 1}).narrow(1, 1, 4)), 6);
  EXPECT_EQ(nhwcPixelStride(nhwc({3, 6, 1, 1}).narrow(1, 0, 2)), 6);
  EXPECT_EQ(nhwcPixelStride(nhwc({1, 6, 1, 1}).narrow(1, 0, 2)), 2);
  EXPECT_EQ(nhwcPixelStride(torch::zeros({2, 6, 4, 5})), 0);
  EXPECT_EQ(nhwcPixelStride(nhwc({2, 6, 4, 5}).narrow(3, 0, 4)), 0);
  EXPECT_EQ(nhwcPixelStride(nhwc({2, 6, 4, 5}).narrow(2, 1, 2)), 0);
  EXPECT_EQ(nhwcPixelStride(torch::zeros({2, 6, 5})), 0);
}

// The NHWC twin's positions are independent: any split gives the same bits.
TEST(ConcatReluKernelNhwc, CpuTwinIndependentOfRangeSplit) {
  torch::manual_seed(32);
  const int64_t n = 2, hw = 13;
  std::vector<at::Tensor> xs;
  const float *xd[Five::kInputs];
  for (int i = 0; i < Five::kInputs; ++i) {
    xs.push_back(torch::randn({n, hw, Five::kChannels[i]}));
    xd[i] = xs.back().data_ptr<float>();
  }
  at::Tensor g = torch::randn({n, hw, Five::kTotalChannels});
  auto run = [&](int64_t piece) {
    at::Tensor y = torch::empty({n, hw, Five::kTotalChannels});
    std::vector<at::Tensor> gx;
    float *gxd[Five::kInputs];
    for (int i = 0; i < Five::kInputs; ++i) {
      gx.push_back(torch::empty_like(xs[i]));
      gxd[i] = gx.back().data_ptr<float>();
    }
    for (int64_t b = 0; b < n * hw; b += piece) {
      int64_t e = std::min(b + piece, n * hw);
      rtml::kernels::concatReluForwardNhwcCpu<Five>(xd, y.data_ptr<float>(), n,
                                                    hw, b, e);
      rtml::kernels::concatReluBackwardNhwcCpu<Five>(
          g.data_ptr<float>(), y.data_ptr<float>(), gxd, n, hw, b, e);
    }
    gx.insert(gx.begin(), y);
    return gx;
  };
  auto whole = run(n * hw);
  for (int64_t piece : {1, 5, 14}) {
    auto split = run(piece);
    for (size_t i = 0; i < whole.size(); ++i)
      EXPECT_TRUE(at::equal(whole[i], split[i])) << "piece " << piece;
  }
}

//===----------------------------------------------------------------------===//
// The bf16 variant: bf16 in and out, float arithmetic and statistics inside
//===----------------------------------------------------------------------===//

namespace {

/// The bf16 variant on XS (bf16 values) in TRAINING or evaluation: its
/// output, input, weight and bias gradients and running statistics within
/// bf16 rounding of the float64 reference on the same values, and bit for
/// bit the float kernel's on those values, rounded once to bf16 (the same
/// arithmetic, in float).
template <class Config>
void expectBf16MatchesReferences(const std::vector<at::Tensor> &xs,
                                 bool training) {
  using T = rtml::kernels::ConcatReluTraits<Config>;
  SCOPED_TRACE(std::string("bf16, ") + (training ? "training" : "eval") +
               ", " + std::to_string(Config::kInputs) + " inputs, batch " +
               std::to_string(xs[0].size(0)));
  // Three runs on the same values: bf16 kernel, float kernel, float64.
  struct Run {
    std::vector<at::Tensor> leaves, bnParams;
    std::vector<BatchNormParams> norms;
    at::Tensor y;
  } bf16, f32, f64;
  auto prepare = [&](Run &run, at::ScalarType type) {
    torch::manual_seed(99); // the same batch norm parameters in every run
    for (int i = 0; i < Config::kInputs; ++i) {
      run.leaves.push_back(xs[i].detach().to(type).requires_grad_(true));
      if (!T::batchNorm(i))
        continue;
      const BatchNormParams &p = run.norms.emplace_back(Config::kChannels[i]);
      run.bnParams.insert(run.bnParams.end(),
                          {p.weight, p.bias, p.runningMean, p.runningVar,
                           p.numBatchesTracked});
    }
  };
  prepare(bf16, at::kBFloat16);
  prepare(f32, at::kFloat);
  prepare(f64, at::kDouble);
  bf16.y = rtml::kernels::concatRelu<Config>(bf16.leaves, bf16.bnParams,
                                             training);
  f32.y = rtml::kernels::concatRelu<Config>(f32.leaves, f32.bnParams, training);
  std::vector<at::Tensor> epiloguesD;
  for (int i = 0, k = 0; i < Config::kInputs; ++i) {
    at::Tensor x = f64.leaves[i];
    if (T::batchNorm(i)) {
      BatchNormParams &p = f64.norms[k++];
      x = at::batch_norm(x, p.weightD, p.biasD, p.runningMeanD, p.runningVarD,
                         training, T::momentum(i), T::eps(i),
                         /*cudnn_enabled=*/false);
    }
    epiloguesD.push_back(at::relu(x));
  }
  f64.y = at::cat(epiloguesD, 1);
  ASSERT_EQ(bf16.y.scalar_type(), at::kBFloat16);
  EXPECT_LT(relativeError(bf16.y, f64.y), 5e-3);
  EXPECT_TRUE(at::equal(bf16.y, f32.y.to(at::kBFloat16)));
  for (size_t k = 0; k < bf16.norms.size(); ++k) {
    EXPECT_LT(relativeError(bf16.norms[k].runningMean, f64.norms[k].runningMeanD),
              1e-5)
        << k;
    EXPECT_LT(relativeError(bf16.norms[k].runningVar, f64.norms[k].runningVarD),
              1e-5)
        << k;
    EXPECT_TRUE(at::equal(bf16.norms[k].runningVar, f32.norms[k].runningVar));
  }

  at::Tensor upstream = torch::randn(bf16.y.sizes()).to(at::kBFloat16);
  bf16.y.backward(upstream);
  f32.y.backward(upstream.to(at::kFloat));
  f64.y.backward(upstream.to(at::kDouble));
  for (int i = 0; i < Config::kInputs; ++i) {
    const at::Tensor &g = bf16.leaves[i].grad();
    ASSERT_TRUE(g.defined()) << "input " << i;
    ASSERT_EQ(g.scalar_type(), at::kBFloat16) << "input " << i;
    EXPECT_LT(relativeError(g, f64.leaves[i].grad()), 5e-3) << "input " << i;
    EXPECT_TRUE(at::equal(g, f32.leaves[i].grad().to(at::kBFloat16)))
        << "input " << i;
  }
  for (size_t k = 0; k < bf16.norms.size(); ++k) {
    const BatchNormParams &p = bf16.norms[k];
    // The parameters are float (master weights), so are their gradients.
    ASSERT_EQ(p.weight.grad().scalar_type(), at::kFloat) << k;
    EXPECT_LT(relativeError(p.weight.grad(), f64.norms[k].weightD.grad()), 1e-4)
        << k;
    EXPECT_LT(relativeError(p.bias.grad(), f64.norms[k].biasD.grad()), 1e-4)
        << k;
    EXPECT_TRUE(at::equal(p.weight.grad(), f32.norms[k].weight.grad())) << k;
    EXPECT_TRUE(at::equal(p.bias.grad(), f32.norms[k].bias.grad())) << k;
  }
}

template <class Config> void checkBf16Shapes() {
  torch::manual_seed(30 * Config::kInputs);
  const std::vector<std::pair<int64_t, std::vector<int64_t>>> shapes = {
      {2, {3, 3}}, {3, {7, 7}}, {4, {}}, {2, {3, 2, 5}}, {2, {28, 28}}};
  for (bool training : {true, false})
    for (const auto &[n, spatial] : shapes) {
      std::vector<at::Tensor> xs = randomInputs<Config>(n, spatial);
      for (at::Tensor &x : xs)
        x = (x * 2 + 0.5).to(at::kBFloat16);
      expectBf16MatchesReferences<Config>(xs, training);
    }
}

} // namespace

TEST(ConcatReluKernelBf16, ThreeReluInputsMatchReferences) {
  checkBf16Shapes<Three>();
}
TEST(ConcatReluKernelBf16, FiveOddReluInputsMatchReferences) {
  checkBf16Shapes<Five>();
}
TEST(ConcatReluKernelBf16, BatchNormTwoInputsMatchReferences) {
  checkBf16Shapes<BnTwo>();
}
TEST(ConcatReluKernelBf16, BatchNormMixedWithReluMatchesReferences) {
  checkBf16Shapes<BnMixed>();
}

TEST(ConcatReluKernelBf16, RejectsMixedElementTypes) {
  try {
    rtml::kernels::concatRelu<Two>(
        {torch::randn({2, 1, 3, 3}).to(at::kBFloat16),
         torch::randn({2, 3, 3, 3})});
    ADD_FAILURE() << "no error";
  } catch (const c10::Error &e) {
    EXPECT_NE(std::string(e.what()).find("input 1 is Float but input 0 is "
                                         "BFloat16"),
              std::string::npos)
        << e.what();
  }
}

//===----------------------------------------------------------------------===//
// bf16 in NHWC: the element type and the layout combine
//===----------------------------------------------------------------------===//

namespace {

/// The kernel on XS (bf16 values) in channels_last, once in bf16 and once in
/// float: every result of the bf16 run is channels_last (runConcatRelu
/// checks), its output and input gradients are bit for bit the float run's
/// rounded once to bf16, and the batch norms' weight and bias gradients and
/// running statistics (float in both) are the float run's exactly.
template <class Config>
void expectBf16NhwcMatchesFloatNhwc(const std::vector<at::Tensor> &xs,
                                    bool training) {
  SCOPED_TRACE(std::string("bf16 NHWC, ") + (training ? "training" : "eval") +
               ", " + std::to_string(Config::kInputs) + " inputs, [" +
               std::to_string(xs[0].size(0)) + ", " +
               std::to_string(xs[0].size(2)) + ", " +
               std::to_string(xs[0].size(3)) + "]");
  std::vector<int64_t> sizes = xs[0].sizes().vec();
  sizes[1] = Config::kTotalChannels;
  at::Tensor upstream = torch::randn(sizes).to(at::kBFloat16);
  std::vector<at::Tensor> xsFloat;
  for (const at::Tensor &x : xs)
    xsFloat.push_back(x.to(at::kFloat));
  auto bf16 = runConcatRelu<Config>(
      xs, upstream, at::MemoryFormat::ChannelsLast, training, 9);
  auto f32 = runConcatRelu<Config>(xsFloat, upstream.to(at::kFloat),
                                   at::MemoryFormat::ChannelsLast, training, 9);
  ASSERT_EQ(bf16.size(), f32.size());
  // The output, then the inputs' gradients, then 4 per batch norm.
  for (size_t i = 0; i < bf16.size(); ++i) {
    if (i <= static_cast<size_t>(Config::kInputs)) {
      ASSERT_EQ(bf16[i].scalar_type(), at::kBFloat16) << "result " << i;
      EXPECT_TRUE(at::equal(bf16[i], f32[i].to(at::kBFloat16)))
          << "result " << i;
    } else {
      EXPECT_TRUE(at::equal(bf16[i], f32[i])) << "result " << i;
    }
  }
}

template <class Config> void checkBf16NhwcShapes() {
  torch::manual_seed(40 * Config::kInputs);
  const std::vector<std::pair<int64_t, std::vector<int64_t>>> shapes = {
      {2, {3, 3}}, {3, {7, 7}}, {2, {28, 28}}};
  for (bool training : {true, false})
    for (const auto &[n, spatial] : shapes) {
      std::vector<at::Tensor> xs = randomInputs<Config>(n, spatial);
      for (at::Tensor &x : xs)
        x = (x * 2 + 0.5).to(at::kBFloat16);
      expectBf16NhwcMatchesFloatNhwc<Config>(xs, training);
    }
}

} // namespace

TEST(ConcatReluKernelBf16Nhwc, FiveOddReluInputsMatchFloatNhwc) {
  checkBf16NhwcShapes<Five>();
}
TEST(ConcatReluKernelBf16Nhwc, MultiplesOfFourMatchFloatNhwc) {
  checkBf16NhwcShapes<ByFour>();
}
TEST(ConcatReluKernelBf16Nhwc, BatchNormMixedWithReluMatchesFloatNhwc) {
  checkBf16NhwcShapes<BnMixed>();
}

//===----------------------------------------------------------------------===//
// Convolution biases added by the plain ReLU inputs (rtml-bias-epilogue)
//===----------------------------------------------------------------------===//

namespace {

/// Inputs 0 and 2 may add a bias; 4 % 4 == 0 channels take the float4 NHWC
/// path, 5 and 3 do not.
struct Biased {
  static constexpr int kInputs = 3;
  static constexpr int64_t kChannels[kInputs] = {4, 5, 3};
  static constexpr int64_t kTotalChannels = 12;
  static constexpr bool kBias[kInputs] = {true, false, true};
};
struct BiasedByFour {
  static constexpr int kInputs = 2;
  static constexpr int64_t kChannels[kInputs] = {8, 4};
  static constexpr int64_t kTotalChannels = 12;
  static constexpr bool kBias[kInputs] = {true, true};
};

/// The kernel on XS with BIASES (some undefined) against relu(x + bias)
/// per input in float64: forward, and every input's and bias's gradient.
template <class Config>
void expectBiasesMatchFloat64(const std::vector<at::Tensor> &xs,
                              const std::vector<at::Tensor> &biases,
                              double tolerance) {
  std::vector<at::Tensor> leaves, leavesD, biasLeaves, biasLeavesD, relus;
  for (size_t i = 0; i < xs.size(); ++i) {
    leaves.push_back(xs[i].detach().requires_grad_(true));
    leavesD.push_back(xs[i].detach().to(at::kDouble).requires_grad_(true));
    at::Tensor b = biases[i];
    biasLeaves.push_back(b.defined() ? b.detach().requires_grad_(true) : b);
    biasLeavesD.push_back(
        b.defined() ? b.detach().to(at::kDouble).requires_grad_(true) : b);
    at::Tensor pre = leavesD[i];
    if (b.defined()) {
      std::vector<int64_t> shape(xs[i].dim(), 1);
      shape[1] = -1;
      pre = pre + biasLeavesD[i].view(shape);
    }
    relus.push_back(at::relu(pre));
  }
  at::Tensor y =
      rtml::kernels::concatRelu<Config>(leaves, {}, true, biasLeaves);
  at::Tensor yRef = at::cat(relus, 1);
  ASSERT_EQ(y.sizes(), yRef.sizes());
  EXPECT_LT(relativeError(y, yRef), tolerance);
  at::Tensor upstream = torch::randn(y.sizes(), at::kDouble);
  y.backward(upstream.to(y.scalar_type()));
  yRef.backward(upstream);
  for (size_t i = 0; i < xs.size(); ++i) {
    EXPECT_LT(relativeError(leaves[i].grad(), leavesD[i].grad()), tolerance)
        << "input " << i;
    if (!biases[i].defined())
      continue;
    ASSERT_TRUE(biasLeaves[i].grad().defined()) << "bias " << i;
    EXPECT_EQ(biasLeaves[i].grad().scalar_type(), at::kFloat);
    EXPECT_LT(relativeError(biasLeaves[i].grad(), biasLeavesD[i].grad()),
              2 * tolerance)
        << "bias " << i;
    // Exactly its input's gradient summed over the batch and positions, in
    // float.
    std::vector<int64_t> dims = {0};
    for (int64_t d = 2; d < xs[i].dim(); ++d)
      dims.push_back(d);
    EXPECT_LT(relativeError(biasLeaves[i].grad(),
                            leaves[i].grad().to(at::kFloat).sum(dims)),
              1e-6)
        << "bias " << i;
  }
}

template <class Config>
std::vector<at::Tensor> randomBiases(const std::vector<bool> &defined) {
  std::vector<at::Tensor> biases;
  for (int i = 0; i < Config::kInputs; ++i)
    biases.push_back(defined[i] ? torch::randn({Config::kChannels[i]})
                                : at::Tensor());
  return biases;
}

} // namespace

TEST(ConcatReluKernelBias, BiasesMatchFloat64InEitherLayout) {
  torch::manual_seed(41);
  for (auto format :
       {at::MemoryFormat::Contiguous, at::MemoryFormat::ChannelsLast})
    for (const std::vector<int64_t> &spatial :
         {std::vector<int64_t>{5, 6}, {4, 4}, {1, 1}}) {
      SCOPED_TRACE(format == at::MemoryFormat::ChannelsLast ? "nhwc" : "nchw");
      std::vector<at::Tensor> xs = randomInputs<Biased>(3, spatial);
      for (at::Tensor &x : xs)
        x = x.contiguous(format);
      expectBiasesMatchFloat64<Biased>(
          xs, randomBiases<Biased>({true, false, true}), 1e-5);
      // A bias the device kind leaves in the convolution is undefined.
      expectBiasesMatchFloat64<Biased>(
          xs, randomBiases<Biased>({false, false, true}), 1e-5);
      std::vector<at::Tensor> byFour = randomInputs<BiasedByFour>(2, spatial);
      for (at::Tensor &x : byFour)
        x = x.contiguous(format);
      expectBiasesMatchFloat64<BiasedByFour>(
          byFour, randomBiases<BiasedByFour>({true, true}), 1e-5);
    }
  // No biases at all: the plain concat.
  expectBiasesMatchFloat64<Biased>(randomInputs<Biased>(2, {3, 3}),
                                   {at::Tensor(), at::Tensor(), at::Tensor()},
                                   1e-5);
}

TEST(ConcatReluKernelBias, BiasedChannelSlicesAreReadInPlace) {
  // The merged 1x1 convolutions' results, channel slices of one
  // channels_last output, with their biases.
  torch::manual_seed(42);
  at::Tensor wide =
      torch::randn({2, 9, 5, 4}).contiguous(at::MemoryFormat::ChannelsLast);
  std::vector<at::Tensor> xs = {
      wide.narrow(1, 1, 4),
      torch::randn({2, 5, 5, 4}).contiguous(at::MemoryFormat::ChannelsLast),
      wide.narrow(1, 6, 3)};
  expectBiasesMatchFloat64<Biased>(
      xs, randomBiases<Biased>({true, false, true}), 1e-5);
}

TEST(ConcatReluKernelBias, Bf16BiasesMatchFloat64) {
  torch::manual_seed(43);
  for (auto format :
       {at::MemoryFormat::Contiguous, at::MemoryFormat::ChannelsLast}) {
    std::vector<at::Tensor> xs = randomInputs<Biased>(2, {4, 5});
    for (at::Tensor &x : xs)
      x = x.to(at::kBFloat16).contiguous(format);
    // bf16 outputs and gradients: within its rounding (2^-8).
    expectBiasesMatchFloat64<Biased>(
        xs, randomBiases<Biased>({true, false, true}), 1e-2);
  }
}

TEST(ConcatReluKernelBias, RejectsBiasesTheConfigDoesNotAdd) {
  std::vector<at::Tensor> xs = randomInputs<Biased>(2, {3, 3});
  auto fails = [&](const std::vector<at::Tensor> &biases,
                   const std::string &message) {
    try {
      rtml::kernels::concatRelu<Biased>(xs, {}, false, biases);
      ADD_FAILURE() << "no error for " << message;
    } catch (const c10::Error &e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos)
          << e.what();
    }
  };
  fails({torch::randn({4}), torch::randn({5}), at::Tensor()},
        "input 1 has a bias, but this config adds none there");
  fails({torch::randn({3}), at::Tensor(), at::Tensor()},
        "the bias of input 0 must be float32 [4]");
  fails({torch::randn({4})}, "expected no biases or 3");
  // A config without kBias takes none.
  try {
    rtml::kernels::concatRelu<Three>(
        randomInputs<Three>(1, {2, 2}), {}, false,
        {torch::randn({64}), at::Tensor(), at::Tensor()});
    ADD_FAILURE() << "no error for a bias on a config without kBias";
  } catch (const c10::Error &) {
  }
}
