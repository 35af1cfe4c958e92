//===- ConcatReluTest.cpp - Fused concat of ReLUs vs a float64 reference --===//
//
// The CPU twin behind rtml::kernels::concatRelu, through its autograd
// function, against at::cat of at::relu of each input evaluated in double
// with autograd's gradient: forward and every input's gradient within 1e-5
// relative error, over 1 to 5 inputs, odd channel counts, batches of 1 and
// more, trailing dimensions none to 3-D, parallel chunks that split inputs
// and images, and non-contiguous inputs; then a chain (conv -> concatRelu ->
// loss) against the same chain unfused.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Kernels/ConcatReluOp.h"

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
