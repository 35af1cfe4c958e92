//===- LrnTest.cpp - Fused ReLU+LRN and LRN kernels vs float64 references -===//
//
// The CPU twin behind rtml::kernels::localResponseNorm, through its autograd
// function, against relu + PyTorch's local_response_norm formula evaluated
// in double with autograd's gradient: forward and input gradient within
// 1e-5 relative error, over window sizes 1..7 and 11 (even windows are
// asymmetric), channel counts smaller than, equal to and larger than the
// window, batches of 1 and more, trailing dimensions 1-D to 3-D, tiles and
// parallel chunks that split images, and non-contiguous inputs. The NHWC
// (channels_last) kernels against the NCHW ones, forward and gradient, bit
// for bit, and against the same references. The bf16 variant against the same
// reference within bf16 rounding, and bit for bit against the float kernel on
// its inputs, rounded once; in NHWC, bit for bit against itself in NCHW.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Kernels/LrnOp.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace F = torch::nn::functional;

namespace {

// The seed's constants, fused and plain. alpha = 1e-4 barely normalizes, so
// the other configs use large alphas where the window term dominates the
// gradient, and cover each special-cased beta and the generic pow.
RTML_LRN_CONFIG(SeedRelu, 5, 1.0e-4f, 0.75f, 2.0f, true)
RTML_LRN_CONFIG(Seed, 5, 1.0e-4f, 0.75f, 2.0f, false)
RTML_LRN_CONFIG(Size1Relu, 1, 0.5f, 0.75f, 1.0f, true)
RTML_LRN_CONFIG(Size2, 2, 0.3f, 0.5f, 1.0f, false)
RTML_LRN_CONFIG(Size3Relu, 3, 1.0f, 1.0f, 1.5f, true)
RTML_LRN_CONFIG(Size4, 4, 0.5f, 0.6f, 1.0f, false)
RTML_LRN_CONFIG(Size4Relu, 4, 0.7f, 0.75f, 1.0f, true)
RTML_LRN_CONFIG(Size5Relu, 5, 2.0f, 0.75f, 1.0f, true)
RTML_LRN_CONFIG(Size5, 5, 2.0f, 0.75f, 1.0f, false)
RTML_LRN_CONFIG(Size7Relu, 7, 0.8f, 0.75f, 2.0f, true)
RTML_LRN_CONFIG(Size11, 11, 0.9f, 0.7f, 1.0f, false)

/// relu (if RELU) then local_response_norm, in double, differentiable.
at::Tensor referenceLrn(const at::Tensor &x, int size, double alpha,
                        double beta, double k, bool relu) {
  at::Tensor a = relu ? at::relu(x) : x;
  return F::local_response_norm(
      a, F::LocalResponseNormFuncOptions(size).alpha(alpha).beta(beta).k(k));
}

template <class Config>
at::Tensor referenceLrn(const at::Tensor &x) {
  return referenceLrn(x, Config::kSize, Config::kAlpha, Config::kBeta,
                      Config::kK, Config::kRelu);
}

/// Largest |a - b| relative to the largest |b|.
double relativeError(const at::Tensor &a, const at::Tensor &b) {
  at::Tensor bd = b.to(at::kDouble);
  double scale = bd.abs().max().item<double>();
  double diff = (a.to(at::kDouble) - bd).abs().max().item<double>();
  return scale > 0 ? diff / scale : diff;
}

/// Forward and input gradient of the kernel on X (float32, any layout)
/// against the float64 reference, for a random upstream gradient.
template <class Config>
void expectMatchesFloat64Reference(const at::Tensor &x) {
  SCOPED_TRACE("size " + std::to_string(Config::kSize) +
               (Config::kRelu ? " relu" : "") + ", input " +
               std::to_string(x.dim()) + "-D [" + std::to_string(x.size(0)) +
               ", " + std::to_string(x.size(1)) + ", ...], " +
               (x.is_contiguous() ? "contiguous" : "non-contiguous"));
  // A leaf aliasing X, so the kernel sees X's strides.
  at::Tensor xf = x.detach().requires_grad_(true);
  at::Tensor xd = x.detach().to(at::kDouble).requires_grad_(true);

  at::Tensor y = rtml::kernels::localResponseNorm<Config>(xf);
  at::Tensor yRef = referenceLrn<Config>(xd);
  ASSERT_EQ(y.sizes(), yRef.sizes());
  ASSERT_EQ(y.scalar_type(), at::kFloat);
  EXPECT_LT(relativeError(y, yRef), 1e-5);

  at::Tensor upstream = torch::randn(y.sizes(), at::kDouble);
  y.backward(upstream.to(at::kFloat));
  yRef.backward(upstream);
  ASSERT_TRUE(xf.grad().defined());
  EXPECT_LT(relativeError(xf.grad(), xd.grad()), 1e-5);
}

// Each tensor has enough elements that its largest gradient is not near one
// of the gradient's zero crossings: there float32 cancellation (the two
// terms of dL/da nearly cancel) dominates a max-relative error of a tiny
// tensor.
template <class Config> void checkShapes() {
  // RTML_TEST_SEED varies the inputs (to probe the bound with many seeds).
  const char *extra = std::getenv("RTML_TEST_SEED");
  torch::manual_seed(100 * Config::kSize + Config::kRelu +
                     (extra ? 1000 * std::atoll(extra) : 0));
  const std::vector<std::vector<int64_t>> shapes = {
      {1, 1, 3, 3},   {2, 3, 4, 5},   {1, 7, 5, 5},  {3, 13, 6, 7},
      {2, 64, 9, 9},  {1, 2, 3, 3},   {4, 5, 2, 3},  {2, 13, 10},
      {2, 7, 3, 3, 2}};
  for (const auto &shape : shapes)
    expectMatchesFloat64Reference<Config>(torch::randn(shape) * 2);
}

} // namespace

TEST(LrnKernel, SeedConstantsFusedMatchesFloat64) { checkShapes<SeedRelu>(); }
TEST(LrnKernel, SeedConstantsPlainMatchesFloat64) { checkShapes<Seed>(); }
TEST(LrnKernel, Size1FusedMatchesFloat64) { checkShapes<Size1Relu>(); }
TEST(LrnKernel, Size2PlainMatchesFloat64) { checkShapes<Size2>(); }
TEST(LrnKernel, Size3FusedMatchesFloat64) { checkShapes<Size3Relu>(); }
TEST(LrnKernel, Size4PlainGenericBetaMatchesFloat64) { checkShapes<Size4>(); }
TEST(LrnKernel, Size4FusedMatchesFloat64) { checkShapes<Size4Relu>(); }
TEST(LrnKernel, Size5FusedLargeAlphaMatchesFloat64) {
  checkShapes<Size5Relu>();
}
TEST(LrnKernel, Size5PlainLargeAlphaMatchesFloat64) { checkShapes<Size5>(); }
TEST(LrnKernel, Size7FusedMatchesFloat64) { checkShapes<Size7Relu>(); }
TEST(LrnKernel, Size11PlainMatchesFloat64) { checkShapes<Size11>(); }

// Tiles of the CPU twin and at::parallel_for chunks both split images here
// (hw = 1517 is more than one tile, and several chunks per image).
TEST(LrnKernel, LargeImagesSplitAcrossTilesAndThreads) {
  torch::manual_seed(3);
  expectMatchesFloat64Reference<Size5Relu>(torch::randn({3, 13, 37, 41}));
  expectMatchesFloat64Reference<SeedRelu>(torch::randn({2, 96, 27, 27}));
  expectMatchesFloat64Reference<Size4>(torch::randn({2, 3, 64, 65}));
}

TEST(LrnKernel, NonContiguousInputs) {
  torch::manual_seed(4);
  // [2, 13, 6, 7] viewed from [2, 6, 7, 13] (channels last in memory).
  at::Tensor permuted = torch::randn({2, 6, 7, 13}).permute({0, 3, 1, 2});
  ASSERT_FALSE(permuted.is_contiguous());
  expectMatchesFloat64Reference<Size5Relu>(permuted);
  expectMatchesFloat64Reference<Size4>(permuted);
  // Every other channel and column of a larger tensor.
  at::Tensor strided =
      torch::randn({3, 14, 5, 12}).slice(1, 0, 14, 2).slice(3, 0, 12, 2);
  ASSERT_FALSE(strided.is_contiguous());
  expectMatchesFloat64Reference<Size3Relu>(strided);
  expectMatchesFloat64Reference<Seed>(strided);
  at::Tensor channelsLast = torch::randn({2, 7, 5, 6}).contiguous(
      at::MemoryFormat::ChannelsLast);
  expectMatchesFloat64Reference<Size7Relu>(channelsLast);
}

// Same float input: the kernel and PyTorch's float32 local_response_norm
// agree to float rounding.
TEST(LrnKernel, EqualsLibTorchLocalResponseNormInFloat) {
  torch::manual_seed(5);
  for (const auto &shape : std::vector<std::vector<int64_t>>{
           {4, 64, 13, 13}, {2, 13, 7, 9}, {1, 3, 5, 5}}) {
    at::Tensor x = torch::randn(shape) * 3;
    auto options =
        F::LocalResponseNormFuncOptions(5).alpha(1e-4).beta(0.75).k(2.0);
    EXPECT_LT(relativeError(rtml::kernels::localResponseNorm<SeedRelu>(x),
                            F::local_response_norm(at::relu(x), options)),
              1e-6);
    EXPECT_LT(relativeError(rtml::kernels::localResponseNorm<Seed>(x),
                            F::local_response_norm(x, options)),
              1e-6);
    auto strong =
        F::LocalResponseNormFuncOptions(5).alpha(2.0).beta(0.75).k(1.0);
    EXPECT_LT(relativeError(rtml::kernels::localResponseNorm<Size5Relu>(x),
                            F::local_response_norm(at::relu(x), strong)),
              1e-6);
  }
}

// In a chain (conv -> fused op -> loss) the gradients of every leaf equal
// the float64 chain's.
TEST(LrnKernel, GradientsFlowThroughAChain) {
  torch::manual_seed(6);
  at::Tensor x0 = torch::randn({2, 3, 9, 9}), w0 = torch::randn({11, 3, 3, 3});
  at::Tensor target = torch::randn({2, 11, 7, 7});
  at::Tensor x = x0.clone().requires_grad_(true),
             w = w0.clone().requires_grad_(true);
  at::Tensor xd = x0.to(at::kDouble).requires_grad_(true),
             wd = w0.to(at::kDouble).requires_grad_(true);
  at::Tensor loss =
      (rtml::kernels::localResponseNorm<Size5Relu>(at::conv2d(x, w)) * 3 -
       target)
          .pow(2)
          .sum();
  at::Tensor lossRef =
      (referenceLrn<Size5Relu>(at::conv2d(xd, wd)) * 3 - target.to(at::kDouble))
          .pow(2)
          .sum();
  loss.backward();
  lossRef.backward();
  EXPECT_LT(relativeError(loss, lossRef), 1e-5);
  EXPECT_LT(relativeError(x.grad(), xd.grad()), 1e-5);
  EXPECT_LT(relativeError(w.grad(), wd.grad()), 1e-5);
}

// The backward is the derivative of the kernel's own forward: central
// finite differences of sum(y * r), in float with a step large enough for
// float rounding, on a tiny input away from the ReLU kink.
TEST(LrnKernel, BackwardMatchesFiniteDifferences) {
  torch::manual_seed(7);
  at::Tensor x0 = torch::randn({1, 4, 2, 2}) * 2;
  x0 = torch::where(x0.abs() < 0.2, x0.sign() * 0.5 + 0.25, x0);
  at::Tensor r = torch::randn({1, 4, 2, 2});
  at::Tensor x = x0.clone().requires_grad_(true);
  (rtml::kernels::localResponseNorm<Size3Relu>(x) * r).sum().backward();
  at::Tensor grad = x.grad();
  const double eps = 1e-2;
  at::Tensor flat = x0.flatten();
  for (int64_t i = 0; i < flat.numel(); ++i) {
    at::Tensor plus = flat.clone(), minus = flat.clone();
    plus[i] += eps;
    minus[i] -= eps;
    double lp = (rtml::kernels::localResponseNorm<Size3Relu>(
                     plus.view(x0.sizes())) *
                 r)
                    .sum()
                    .item<double>();
    double lm = (rtml::kernels::localResponseNorm<Size3Relu>(
                     minus.view(x0.sizes())) *
                 r)
                    .sum()
                    .item<double>();
    EXPECT_NEAR((lp - lm) / (2 * eps), grad.flatten()[i].item<double>(), 2e-3)
        << "element " << i;
  }
}

// No gradient wanted (inference): the forward skips saving scale^-beta and
// gives the same values.
TEST(LrnKernel, InferenceWithoutGradSameValues) {
  torch::manual_seed(8);
  at::Tensor x = torch::randn({2, 13, 6, 6});
  at::Tensor withGrad = rtml::kernels::localResponseNorm<Size5Relu>(
      x.clone().requires_grad_(true));
  at::Tensor noGrad;
  {
    torch::NoGradGuard guard;
    noGrad = rtml::kernels::localResponseNorm<Size5Relu>(x);
  }
  EXPECT_FALSE(noGrad.requires_grad());
  EXPECT_TRUE(at::equal(withGrad.detach(), noGrad));
}

// The CPU twin gives identical bits whatever [begin, end) ranges the
// positions are split into (the glue's parallel_for picks them).
TEST(LrnKernel, CpuTwinIndependentOfRangeSplit) {
  torch::manual_seed(9);
  const int64_t n = 2, c = 13, hw = 50;
  at::Tensor x = torch::randn({n, c, hw}), g = torch::randn({n, c, hw});
  auto run = [&](int64_t piece) {
    at::Tensor y = torch::empty_like(x), gx = torch::empty_like(x);
    for (int64_t b = 0; b < n * hw; b += piece) {
      int64_t e = std::min(n * hw, b + piece);
      rtml::kernels::lrnForwardCpu<Size4Relu>(
          x.data_ptr<float>(), y.data_ptr<float>(), n, c, hw, b, e);
      rtml::kernels::lrnBackwardCpu<Size4Relu>(
          x.data_ptr<float>(), g.data_ptr<float>(), gx.data_ptr<float>(), n, c,
          hw, b, e);
    }
    return std::vector<at::Tensor>{y, gx};
  };
  auto whole = run(n * hw);
  for (int64_t piece : {1, 7, 33, 64}) {
    auto split = run(piece);
    for (size_t i = 0; i < whole.size(); ++i)
      EXPECT_TRUE(at::equal(whole[i], split[i])) << "piece " << piece;
  }
}

TEST(LrnKernel, RejectsWhatItDoesNotSupport) {
  EXPECT_THROW(rtml::kernels::localResponseNorm<Seed>(
                   torch::randn({2, 5, 3, 3}, at::kDouble)),
               c10::Error);
  EXPECT_THROW(rtml::kernels::localResponseNorm<Seed>(torch::randn({2, 5})),
               c10::Error);
}

TEST(LrnKernel, EmptyBatch) {
  at::Tensor x = torch::randn({0, 5, 3, 3}).requires_grad_(true);
  at::Tensor y = rtml::kernels::localResponseNorm<SeedRelu>(x);
  EXPECT_EQ(y.sizes(), x.sizes());
  y.sum().backward();
  EXPECT_EQ(x.grad().sizes(), x.sizes());
}

//===----------------------------------------------------------------------===//
// NHWC (channels_last): the same numbers as NCHW, in the input's layout
//===----------------------------------------------------------------------===//

namespace {

/// The kernel on X in NCHW and in channels_last, with the same upstream
/// gradient: the NHWC result and gradient are channels_last (no copy back)
/// and equal the NCHW ones bit for bit (the same sums in the same order).
template <class Config> void expectNhwcEqualsNchw(const at::Tensor &x) {
  SCOPED_TRACE("size " + std::to_string(Config::kSize) +
               (Config::kRelu ? " relu" : "") + ", [" +
               std::to_string(x.size(0)) + ", " + std::to_string(x.size(1)) +
               ", " + std::to_string(x.size(2)) + ", " +
               std::to_string(x.size(3)) + "]");
  // Leaves of their own, in each layout.
  at::Tensor nchw = x.detach().contiguous().requires_grad_(true);
  at::Tensor nhwc = x.detach()
                        .contiguous(at::MemoryFormat::ChannelsLast)
                        .requires_grad_(true);
  at::Tensor y = rtml::kernels::localResponseNorm<Config>(nchw);
  at::Tensor yNhwc = rtml::kernels::localResponseNorm<Config>(nhwc);
  EXPECT_TRUE(y.is_contiguous());
  EXPECT_TRUE(yNhwc.is_contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(at::equal(yNhwc.contiguous(), y));

  at::Tensor upstream = torch::randn(y.sizes());
  y.backward(upstream);
  yNhwc.backward(upstream.contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(nhwc.grad().is_contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(at::equal(nhwc.grad().contiguous(), nchw.grad()));
}

template <class Config> void checkNhwcShapes() {
  torch::manual_seed(200 * Config::kSize + Config::kRelu);
  const std::vector<std::vector<int64_t>> shapes = {
      {2, 3, 4, 5},
      {1, 7, 5, 5},
      {3, 13, 6, 7},
      {2, 64, 9, 9},
      {4, 5, 2, 3},
      // Channels the lanes split unevenly: all clipped, a scalar tail only,
      // one set of lanes and a tail.
      {1, 2, 3, 3},
      {2, 6, 3, 4},
      {1, 10, 3, 3}};
  for (const auto &shape : shapes) {
    at::Tensor x = torch::randn(shape) * 2;
    expectNhwcEqualsNchw<Config>(x);
    expectMatchesFloat64Reference<Config>(
        x.contiguous(at::MemoryFormat::ChannelsLast));
  }
}

} // namespace

TEST(LrnKernelNhwc, SeedConstantsFusedEqualsNchw) {
  checkNhwcShapes<SeedRelu>();
}
TEST(LrnKernelNhwc, SeedConstantsPlainEqualsNchw) { checkNhwcShapes<Seed>(); }
TEST(LrnKernelNhwc, Size1FusedEqualsNchw) { checkNhwcShapes<Size1Relu>(); }
TEST(LrnKernelNhwc, Size2PlainEqualsNchw) { checkNhwcShapes<Size2>(); }
TEST(LrnKernelNhwc, Size4GenericBetaEqualsNchw) { checkNhwcShapes<Size4>(); }
TEST(LrnKernelNhwc, Size7FusedEqualsNchw) { checkNhwcShapes<Size7Relu>(); }
TEST(LrnKernelNhwc, Size11PlainEqualsNchw) { checkNhwcShapes<Size11>(); }

// A 1x1 image is contiguous in both layouts: it takes the NCHW kernels and
// stays contiguous.
TEST(LrnKernelNhwc, OnePixelImagesStayNchw) {
  at::Tensor x = torch::randn({3, 9, 1, 1}).contiguous(
      at::MemoryFormat::ChannelsLast);
  at::Tensor y = rtml::kernels::localResponseNorm<SeedRelu>(x);
  EXPECT_TRUE(y.is_contiguous());
  EXPECT_LT(relativeError(y, referenceLrn<SeedRelu>(x.to(at::kDouble))),
            1e-5);
}

// The NHWC twin's positions are independent: any split of the range gives
// the same bits.
TEST(LrnKernelNhwc, CpuTwinIndependentOfRangeSplit) {
  torch::manual_seed(8);
  const int64_t n = 2, c = 11, hw = 15;
  at::Tensor x = torch::randn({n, hw, c}), g = torch::randn({n, hw, c});
  auto run = [&](int64_t piece) {
    at::Tensor y = torch::empty_like(x), gx = torch::empty_like(x);
    for (int64_t b = 0; b < n * hw; b += piece) {
      int64_t e = std::min(b + piece, n * hw);
      rtml::kernels::lrnForwardNhwcCpu<Size4Relu>(
          x.data_ptr<float>(), y.data_ptr<float>(), n, c, hw, b, e);
      rtml::kernels::lrnBackwardNhwcCpu<Size4Relu>(
          x.data_ptr<float>(), g.data_ptr<float>(), gx.data_ptr<float>(), n, c,
          hw, b, e);
    }
    return std::vector<at::Tensor>{y, gx};
  };
  auto whole = run(n * hw);
  for (int64_t piece : {1, 4, 17}) {
    auto split = run(piece);
    for (size_t i = 0; i < whole.size(); ++i)
      EXPECT_TRUE(at::equal(whole[i], split[i])) << "piece " << piece;
  }
}

//===----------------------------------------------------------------------===//
// The bf16 variant: bf16 in and out, float arithmetic inside
//===----------------------------------------------------------------------===//

namespace {

/// The bf16 variant on X (bf16) with upstream gradient G (bf16): forward and
/// input gradient within bf16 rounding of the float64 reference on the same
/// (bf16-valued) inputs, and bit for bit the float kernel's results on those
/// inputs rounded once to bf16 (the same arithmetic, in float).
template <class Config>
void expectBf16MatchesReferences(const at::Tensor &x, const at::Tensor &g) {
  SCOPED_TRACE("bf16, size " + std::to_string(Config::kSize) +
               (Config::kRelu ? " relu" : "") + ", [" +
               std::to_string(x.size(0)) + ", " + std::to_string(x.size(1)) +
               ", ...]");
  ASSERT_EQ(x.scalar_type(), at::kBFloat16);
  at::Tensor xb = x.detach().requires_grad_(true);
  at::Tensor y = rtml::kernels::localResponseNorm<Config>(xb);
  ASSERT_EQ(y.scalar_type(), at::kBFloat16);
  y.backward(g);
  ASSERT_EQ(xb.grad().scalar_type(), at::kBFloat16);

  at::Tensor xd = x.detach().to(at::kDouble).requires_grad_(true);
  at::Tensor yRef = referenceLrn<Config>(xd);
  yRef.backward(g.to(at::kDouble));
  // One bf16 rounding of the output (2^-9 relative) and float's error.
  EXPECT_LT(relativeError(y, yRef), 5e-3);
  EXPECT_LT(relativeError(xb.grad(), xd.grad()), 5e-3);

  at::Tensor xf = x.detach().to(at::kFloat).requires_grad_(true);
  at::Tensor yf = rtml::kernels::localResponseNorm<Config>(xf);
  yf.backward(g.to(at::kFloat));
  EXPECT_TRUE(at::equal(y, yf.to(at::kBFloat16)));
  EXPECT_TRUE(at::equal(xb.grad(), xf.grad().to(at::kBFloat16)));
}

template <class Config> void checkBf16Shapes() {
  torch::manual_seed(500 + 10 * Config::kSize + Config::kRelu);
  for (const auto &shape : std::vector<std::vector<int64_t>>{
           {1, 1, 3, 3}, {2, 7, 5, 5}, {3, 13, 6, 7}, {2, 64, 9, 9},
           {2, 96, 27, 27}, {2, 7, 3, 3, 2}}) {
    at::Tensor x = (torch::randn(shape) * 2).to(at::kBFloat16);
    at::Tensor g = torch::randn(shape).to(at::kBFloat16);
    expectBf16MatchesReferences<Config>(x, g);
  }
}

} // namespace

TEST(LrnKernelBf16, SeedConstantsFusedMatchesReferences) {
  checkBf16Shapes<SeedRelu>();
}
TEST(LrnKernelBf16, SeedConstantsPlainMatchesReferences) {
  checkBf16Shapes<Seed>();
}
TEST(LrnKernelBf16, LargeAlphaFusedMatchesReferences) {
  checkBf16Shapes<Size5Relu>();
}
TEST(LrnKernelBf16, EvenWindowGenericBetaMatchesReferences) {
  checkBf16Shapes<Size4>();
}
TEST(LrnKernelBf16, Size7FusedMatchesReferences) {
  checkBf16Shapes<Size7Relu>();
}

// A float upstream gradient (autograd hands the output's type back, but a
// caller of the backward may not) is taken in bf16, as the output was.
TEST(LrnKernelBf16, GradientOfAFloatLossReachesABf16Input) {
  torch::manual_seed(11);
  at::Tensor x = torch::randn({2, 13, 4, 4}).to(at::kBFloat16);
  at::Tensor xb = x.clone().requires_grad_(true);
  rtml::kernels::localResponseNorm<SeedRelu>(xb).to(at::kFloat).sum().backward();
  at::Tensor xf = x.to(at::kFloat).requires_grad_(true);
  rtml::kernels::localResponseNorm<SeedRelu>(xf).sum().backward();
  EXPECT_TRUE(at::equal(xb.grad(), xf.grad().to(at::kBFloat16)));
}

// The torch-free conversions equal c10's on every rounding case: exact,
// ties to even both ways, overflow to infinity, subnormals, NaN.
TEST(LrnKernelBf16, ConversionsEqualC10) {
  std::vector<float> values = {0.0f,       -0.0f,        1.0f,   -2.5f,
                               1.00390625f, 1.01171875f, 3.4e38f, -3.4e38f,
                               1e-40f,      -1e-45f,     INFINITY, -INFINITY,
                               NAN,         65504.0f};
  at::Tensor random = torch::randn({4096}) * 100;
  for (int64_t i = 0; i < random.numel(); ++i)
    values.push_back(random[i].item<float>());
  for (float v : values) {
    rtml::kernels::Bf16 mine = rtml::kernels::kernelStore<rtml::kernels::Bf16>(v);
    c10::BFloat16 theirs(v);
    EXPECT_EQ(mine.bits, theirs.x) << v;
    float back = rtml::kernels::kernelLoad(mine),
          c10Back = static_cast<float>(theirs);
    EXPECT_EQ(std::memcmp(&back, &c10Back, sizeof back), 0) << v;
  }
}

//===----------------------------------------------------------------------===//
// bf16 in NHWC: the element type and the layout combine
//===----------------------------------------------------------------------===//

namespace {

/// The bf16 kernel on X (bf16) in channels_last, with upstream gradient G:
/// bf16 channels_last out and back (no copy to NCHW), bit for bit the float
/// NHWC kernel's results on the same inputs rounded once (the same float
/// arithmetic), and bit for bit the bf16 NCHW results (the float NHWC and
/// NCHW kernels agree bit for bit).
template <class Config>
void expectBf16NhwcMatchesFloatNhwc(const at::Tensor &x, const at::Tensor &g) {
  SCOPED_TRACE("bf16 NHWC, size " + std::to_string(Config::kSize) +
               (Config::kRelu ? " relu" : "") + ", [" +
               std::to_string(x.size(0)) + ", " + std::to_string(x.size(1)) +
               ", " + std::to_string(x.size(2)) + ", " +
               std::to_string(x.size(3)) + "]");
  ASSERT_EQ(x.scalar_type(), at::kBFloat16);
  const at::MemoryFormat cl = at::MemoryFormat::ChannelsLast;
  at::Tensor xb = x.detach().contiguous(cl).requires_grad_(true);
  at::Tensor y = rtml::kernels::localResponseNorm<Config>(xb);
  ASSERT_EQ(y.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(y.is_contiguous(cl));
  y.backward(g.contiguous(cl));
  ASSERT_EQ(xb.grad().scalar_type(), at::kBFloat16);
  EXPECT_TRUE(xb.grad().is_contiguous(cl));

  at::Tensor xf =
      x.detach().to(at::kFloat).contiguous(cl).requires_grad_(true);
  at::Tensor yf = rtml::kernels::localResponseNorm<Config>(xf);
  yf.backward(g.to(at::kFloat).contiguous(cl));
  EXPECT_TRUE(at::equal(y, yf.to(at::kBFloat16)));
  EXPECT_TRUE(at::equal(xb.grad(), xf.grad().to(at::kBFloat16)));

  at::Tensor xn = x.detach().contiguous().requires_grad_(true);
  at::Tensor yn = rtml::kernels::localResponseNorm<Config>(xn);
  yn.backward(g.contiguous());
  EXPECT_TRUE(at::equal(y.contiguous(), yn));
  EXPECT_TRUE(at::equal(xb.grad().contiguous(), xn.grad()));
}

template <class Config> void checkBf16NhwcShapes() {
  torch::manual_seed(700 + 10 * Config::kSize + Config::kRelu);
  for (const auto &shape : std::vector<std::vector<int64_t>>{
           {2, 7, 5, 5}, {3, 13, 6, 7}, {2, 64, 9, 9}, {2, 96, 27, 27}}) {
    at::Tensor x = (torch::randn(shape) * 2).to(at::kBFloat16);
    at::Tensor g = torch::randn(shape).to(at::kBFloat16);
    expectBf16NhwcMatchesFloatNhwc<Config>(x, g);
  }
}

} // namespace

TEST(LrnKernelBf16Nhwc, SeedConstantsFusedMatchesFloatNhwc) {
  checkBf16NhwcShapes<SeedRelu>();
}
TEST(LrnKernelBf16Nhwc, EvenWindowGenericBetaMatchesFloatNhwc) {
  checkBf16NhwcShapes<Size4>();
}
TEST(LrnKernelBf16Nhwc, Size7FusedMatchesFloatNhwc) {
  checkBf16NhwcShapes<Size7Relu>();
}
