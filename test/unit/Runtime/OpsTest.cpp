//===- OpsTest.cpp - Ops, parameter init, SGD and loss vs LibTorch --------===//
#include "rtml/Runtime/Ops.h"
#include "rtml/Runtime/DeviceMap.h"
#include "rtml/Runtime/Optimizer.h"
#include "rtml/Runtime/Parameters.h"
#include "rtml/Runtime/StepProfile.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

using namespace rtml;
namespace F = torch::nn::functional;

namespace {

/// Forward values and the input's (and extra leaves') gradients of FN and REF
/// agree for a random upstream gradient.
template <typename Fn, typename Ref>
void expectSameForwardAndGrad(const at::Tensor &input, Fn fn, Ref ref,
                              double tol = 1e-6) {
  at::Tensor a = input.detach().clone().requires_grad_(true);
  at::Tensor b = input.detach().clone().requires_grad_(true);
  at::Tensor outA = fn(a), outB = ref(b);
  ASSERT_EQ(outA.sizes(), outB.sizes());
  EXPECT_TRUE(at::allclose(outA, outB, tol, tol))
      << "max diff " << (outA - outB).abs().max().item<double>();
  at::Tensor upstream = at::randn(outA.sizes());
  outA.backward(upstream);
  outB.backward(upstream);
  EXPECT_TRUE(at::allclose(a.grad(), b.grad(), tol, tol))
      << "max grad diff " << (a.grad() - b.grad()).abs().max().item<double>();
}

/// The LRN formula evaluated element by element in double.
at::Tensor naiveLrn(const at::Tensor &x, int64_t size, double alpha,
                    double beta, double k) {
  at::Tensor xd = x.to(at::kDouble).contiguous();
  at::Tensor out = at::empty_like(xd);
  auto in = xd.accessor<double, 4>();
  auto o = out.accessor<double, 4>();
  int64_t C = x.size(1);
  for (int64_t n = 0; n < x.size(0); ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < x.size(2); ++h)
        for (int64_t w = 0; w < x.size(3); ++w) {
          double sum = 0;
          for (int64_t j = c - size / 2; j <= c + (size - 1) / 2; ++j)
            if (j >= 0 && j < C)
              sum += in[n][j][h][w] * in[n][j][h][w];
          o[n][c][h][w] =
              in[n][c][h][w] / std::pow(k + alpha / size * sum, beta);
        }
  return out;
}

} // namespace

TEST(RuntimeOps, Conv2dMatchesLibTorch) {
  torch::manual_seed(1);
  at::Tensor w = at::randn({5, 3, 3, 3}), b = at::randn({5});
  for (bool bias : {true, false})
    expectSameForwardAndGrad(
        at::randn({2, 3, 9, 7}),
        [&](const at::Tensor &x) {
          return ops::conv2d(x, w, bias ? b : at::Tensor(), {2, 1}, {1, 2},
                             {1, 1}, 1);
        },
        [&](const at::Tensor &x) {
          auto opts = F::Conv2dFuncOptions().stride({2, 1}).padding({1, 2});
          if (bias)
            opts = opts.bias(b);
          return F::conv2d(x, w, opts);
        },
        1e-5);
  // Grouped convolution.
  at::Tensor wg = at::randn({4, 2, 3, 3});
  expectSameForwardAndGrad(
      at::randn({1, 4, 6, 6}),
      [&](const at::Tensor &x) {
        return ops::conv2d(x, wg, at::Tensor(), {1, 1}, {0, 0}, {1, 1}, 2);
      },
      [&](const at::Tensor &x) {
        return F::conv2d(x, wg, F::Conv2dFuncOptions().groups(2));
      },
      1e-5);
}

TEST(RuntimeOps, WeightGradientOfConvAndLinear) {
  torch::manual_seed(2);
  at::Tensor x = at::randn({3, 2, 5, 5});
  at::Tensor w1 = at::randn({4, 2, 3, 3}).requires_grad_(true);
  at::Tensor w2 = w1.detach().clone().requires_grad_(true);
  at::Tensor lw1 = at::randn({3, 36}).requires_grad_(true);
  at::Tensor lw2 = lw1.detach().clone().requires_grad_(true);
  at::Tensor lb1 = at::randn({3}).requires_grad_(true);
  at::Tensor lb2 = lb1.detach().clone().requires_grad_(true);
  at::Tensor a = ops::linear(
      ops::flatten(ops::conv2d(x, w1, at::Tensor(), {1, 1}, {0, 0}, {1, 1}, 1)),
      lw1, lb1);
  at::Tensor b = F::linear(torch::flatten(F::conv2d(x, w2), 1), lw2, lb2);
  a.sum().backward();
  b.sum().backward();
  EXPECT_TRUE(at::allclose(w1.grad(), w2.grad(), 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(lw1.grad(), lw2.grad(), 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(lb1.grad(), lb2.grad(), 1e-5, 1e-5));
}

// One convolution by the concatenated weights, split: each result, the
// input's gradient and every weight's and bias's gradient are those of the
// separate convolutions, with and without biases, in both layouts.
TEST(RuntimeOps, SiblingConv2dIsTheSeparateConvolutions) {
  torch::manual_seed(3);
  const std::vector<int64_t> channels = {2, 5, 1};
  for (bool bias : {true, false})
    for (auto format :
         {at::MemoryFormat::Contiguous, at::MemoryFormat::ChannelsLast}) {
      SCOPED_TRACE(
          std::string(bias ? "bias, " : "no bias, ") +
          (format == at::MemoryFormat::ChannelsLast ? "nhwc" : "nchw"));
      at::Tensor x = at::randn({3, 4, 7, 6}).contiguous(format);
      std::vector<at::Tensor> weights[2], biases[2];
      at::Tensor inputs[2];
      for (int side = 0; side < 2; ++side)
        inputs[side] = x.detach().clone(format).requires_grad_(true);
      for (int64_t out : channels) {
        at::Tensor w = at::randn({out, 4, 3, 3}).contiguous(format);
        at::Tensor b = at::randn({out});
        for (int side = 0; side < 2; ++side) {
          weights[side].push_back(
              w.detach().clone(format).requires_grad_(true));
          if (bias)
            biases[side].push_back(b.detach().clone().requires_grad_(true));
        }
      }
      std::vector<at::Tensor> merged = ops::siblingConv2d(
          inputs[0], weights[0], biases[0], {2, 1}, {1, 0}, {1, 2});
      ASSERT_EQ(merged.size(), channels.size());
      at::Tensor lossMerged = at::zeros({}), lossSeparate = at::zeros({});
      for (size_t i = 0; i < channels.size(); ++i) {
        at::Tensor separate = ops::conv2d(inputs[1], weights[1][i],
                                          bias ? biases[1][i] : at::Tensor(),
                                          {2, 1}, {1, 0}, {1, 2}, 1);
        ASSERT_EQ(merged[i].sizes(), separate.sizes());
        // The results are views of one output, no copy, laid out as it is;
        // in channels_last a ReLU of one is dense channels_last, so the next
        // convolution stays in it.
        EXPECT_TRUE(merged[i].is_alias_of(merged[0])) << "result " << i;
        EXPECT_EQ(merged[i].suggest_memory_format(), format) << "result " << i;
        if (format == at::MemoryFormat::ChannelsLast)
          EXPECT_TRUE(ops::relu(merged[i]).is_contiguous(format))
              << "result " << i;
        EXPECT_TRUE(at::allclose(merged[i], separate, 1e-5, 1e-5))
            << "result " << i;
        // A different upstream gradient per result, so that a gradient
        // sent to the wrong weight shows.
        at::Tensor upstream = at::randn(separate.sizes());
        lossMerged = lossMerged + (merged[i] * upstream).sum();
        lossSeparate = lossSeparate + (separate * upstream).sum();
      }
      lossMerged.backward();
      lossSeparate.backward();
      EXPECT_TRUE(at::allclose(inputs[0].grad(), inputs[1].grad(), 1e-4, 1e-4));
      for (size_t i = 0; i < channels.size(); ++i) {
        EXPECT_TRUE(at::allclose(weights[0][i].grad(), weights[1][i].grad(),
                                 1e-4, 1e-4))
            << "weight " << i;
        if (bias)
          EXPECT_TRUE(at::allclose(biases[0][i].grad(), biases[1][i].grad(),
                                   1e-4, 1e-4))
              << "bias " << i;
      }
    }
}

TEST(RuntimeOps, ReluMaxPoolAdaptiveAvgPoolFlattenLinear) {
  torch::manual_seed(3);
  expectSameForwardAndGrad(
      at::randn({2, 3, 4, 4}), [](const at::Tensor &x) { return ops::relu(x); },
      [](const at::Tensor &x) { return torch::relu(x); });
  for (bool ceil : {false, true})
    expectSameForwardAndGrad(
        at::randn({2, 3, 13, 13}),
        [&](const at::Tensor &x) {
          return ops::maxPool2d(x, {3, 3}, {2, 2}, {0, 0}, ceil);
        },
        [&](const at::Tensor &x) {
          return F::max_pool2d(
              x, F::MaxPool2dFuncOptions(3).stride(2).ceil_mode(ceil));
        });
  at::Tensor pooled =
      ops::maxPool2d(at::randn({1, 1, 13, 13}), {3, 3}, {2, 2}, {0, 0}, true);
  EXPECT_EQ(pooled.size(2), 6); // ceil((13-3)/2)+1
  expectSameForwardAndGrad(
      at::randn({2, 3, 13, 11}),
      [](const at::Tensor &x) {
        return ops::adaptiveAvgPool2d(x, {6, 6});
      },
      [](const at::Tensor &x) {
        return F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(6));
      });
  at::Tensor f = ops::flatten(at::randn({4, 3, 2, 5}));
  EXPECT_EQ(f.sizes(), (std::vector<int64_t>{4, 30}));
  at::Tensor w = at::randn({7, 30}), b = at::randn({7});
  expectSameForwardAndGrad(
      at::randn({4, 30}),
      [&](const at::Tensor &x) { return ops::linear(x, w, b); },
      [&](const at::Tensor &x) { return F::linear(x, w, b); }, 1e-5);
  expectSameForwardAndGrad(
      at::randn({4, 30}),
      [&](const at::Tensor &x) { return ops::linear(x, w, at::Tensor()); },
      [&](const at::Tensor &x) { return F::linear(x, w); }, 1e-5);
}

// The activations against their formulas (in double, differentiated by
// autograd), forward and gradient, on values of both signs.
TEST(RuntimeOps, TanhMatchesItsFormula) {
  torch::manual_seed(5);
  expectSameForwardAndGrad(
      at::randn({2, 3, 4, 4}) * 3,
      [](const at::Tensor &x) { return ops::tanh(x); },
      [](const at::Tensor &x) {
        at::Tensor d = x.to(at::kDouble);
        return ((d.exp() - (-d).exp()) / (d.exp() + (-d).exp())).to(at::kFloat);
      });
}

TEST(RuntimeOps, SigmoidMatchesItsFormula) {
  torch::manual_seed(6);
  expectSameForwardAndGrad(
      at::randn({2, 3, 4, 4}) * 3,
      [](const at::Tensor &x) { return ops::sigmoid(x); },
      [](const at::Tensor &x) {
        return (1 / (1 + (-x.to(at::kDouble)).exp())).to(at::kFloat);
      });
}

TEST(RuntimeOps, LeakyReluMatchesItsFormula) {
  torch::manual_seed(7);
  for (double slope : {0.01, 0.2, -0.5})
    expectSameForwardAndGrad(
        at::randn({2, 3, 4, 4}),
        [&](const at::Tensor &x) { return ops::leakyRelu(x, slope); },
        [&](const at::Tensor &x) {
          return at::clamp_min(x, 0) + slope * at::clamp_max(x, 0);
        });
}

TEST(RuntimeOps, DropoutOnlyWhenTraining) {
  torch::manual_seed(4);
  at::Tensor x = at::ones({100000});
  EXPECT_TRUE(at::equal(ops::dropout(x, 0.5, false), x));
  at::Tensor y = ops::dropout(x, 0.5, true);
  double zeros = y.eq(0).to(at::kDouble).mean().item<double>();
  EXPECT_NEAR(zeros, 0.5, 0.01);
  // Survivors are scaled by 1/(1-p), as nn.Dropout.
  EXPECT_TRUE(at::all(y.eq(0).logical_or(y.eq(2.0))).item<bool>());
  at::Tensor g = at::ones({1000}).requires_grad_(true);
  at::Tensor out = ops::dropout(g, 0.3, true);
  out.sum().backward();
  EXPECT_TRUE(at::allclose(g.grad(), out.detach()));
}

TEST(RuntimeOps, LrnMatchesLibTorchAndFormula) {
  torch::manual_seed(5);
  struct Case {
    int64_t channels, size;
    double alpha, beta, k;
  };
  // Odd and even channel counts and window sizes, the seed's AlexNet values,
  // and a large alpha so that the normalization actually matters.
  for (Case c : {Case{7, 5, 1e-4, 0.75, 2.0}, Case{64, 5, 1e-4, 0.75, 2.0},
                 Case{5, 3, 0.5, 0.75, 1.0}, Case{6, 4, 2.0, 0.5, 1.0},
                 Case{3, 1, 1.0, 1.0, 1.0}, Case{2, 7, 3.0, 0.9, 0.5}}) {
    SCOPED_TRACE("C=" + std::to_string(c.channels) +
                 " size=" + std::to_string(c.size));
    at::Tensor x = at::randn({2, c.channels, 5, 3}) * 3;
    expectSameForwardAndGrad(
        x,
        [&](const at::Tensor &t) {
          return ops::lrn(t, c.size, c.alpha, c.beta, c.k);
        },
        [&](const at::Tensor &t) {
          return F::local_response_norm(t,
                                        F::LocalResponseNormFuncOptions(c.size)
                                            .alpha(c.alpha)
                                            .beta(c.beta)
                                            .k(c.k));
        },
        0);
    at::Tensor ref = naiveLrn(x, c.size, c.alpha, c.beta, c.k);
    EXPECT_TRUE(
        at::allclose(ops::lrn(x, c.size, c.alpha, c.beta, c.k).to(at::kDouble),
                     ref, 1e-5, 1e-6));
  }
}

TEST(RuntimeOps, LrnGradientMatchesFiniteDifferences) {
  torch::manual_seed(6);
  at::Tensor x =
      at::randn({1, 5, 2, 2}, at::kDouble).mul(2).requires_grad_(true);
  auto f = [](const at::Tensor &t) { return ops::lrn(t, 3, 0.8, 0.75, 1.0); };
  at::Tensor w = at::randn({1, 5, 2, 2}, at::kDouble);
  (f(x) * w).sum().backward();
  at::Tensor numeric = at::zeros_like(x);
  c10::NoGradGuard noGrad;
  double eps = 1e-6;
  at::Tensor flat = x.detach().clone().view(-1);
  for (int64_t i = 0; i < flat.numel(); ++i) {
    double saved = flat[i].item<double>();
    flat[i] = saved + eps;
    double plus = (f(flat.view(x.sizes())) * w).sum().item<double>();
    flat[i] = saved - eps;
    double minus = (f(flat.view(x.sizes())) * w).sum().item<double>();
    flat[i] = saved;
    numeric.view(-1)[i] = (plus - minus) / (2 * eps);
  }
  EXPECT_TRUE(at::allclose(x.grad(), numeric, 1e-5, 1e-7)) << x.grad() << "\n"
                                                           << numeric;
}

TEST(RuntimeOps, AvgPool2dMatchesLibTorch) {
  at::manual_seed(11);
  at::Tensor x = at::randn({2, 3, 9, 10});
  // GoogLeNet's side classifier (5x5/3) and the ceil_mode/padding corners.
  for (bool ceil : {false, true})
    for (bool includePad : {false, true})
      expectSameForwardAndGrad(
          x,
          [&](const at::Tensor &t) {
            return ops::avgPool2d(t, {3, 3}, {2, 2}, {1, 1}, ceil, includePad);
          },
          [&](const at::Tensor &t) {
            return F::avg_pool2d(t, F::AvgPool2dFuncOptions({3, 3})
                                        .stride({2, 2})
                                        .padding({1, 1})
                                        .ceil_mode(ceil)
                                        .count_include_pad(includePad));
          });
  expectSameForwardAndGrad(
      at::randn({2, 4, 14, 14}),
      [](const at::Tensor &t) {
        return ops::avgPool2d(t, {5, 5}, {3, 3}, {0, 0}, false, true);
      },
      [](const at::Tensor &t) {
        return F::avg_pool2d(t, F::AvgPool2dFuncOptions({5, 5}).stride(3));
      });
}

TEST(RuntimeOps, BatchNormMatchesTorchModuleInTrainingAndEval) {
  at::manual_seed(12);
  torch::nn::BatchNorm2d reference(
      torch::nn::BatchNorm2dOptions(5).eps(1e-3).momentum(0.1));
  at::Tensor weight = at::rand({5}) + 0.5, bias = at::randn({5});
  {
    torch::NoGradGuard noGrad;
    reference->weight.copy_(weight);
    reference->bias.copy_(bias);
  }
  at::Tensor mean = at::zeros({5}), var = at::ones({5});
  at::Tensor count = at::zeros({}, at::kLong);
  at::Tensor w = weight.clone().requires_grad_(true);
  at::Tensor b = bias.clone().requires_grad_(true);
  // Two training batches update the running statistics as PyTorch does.
  for (int step = 0; step < 2; ++step) {
    at::Tensor x = at::randn({4, 5, 3, 3}) * 2 + 1;
    at::Tensor xa = x.clone().requires_grad_(true);
    at::Tensor xb = x.clone().requires_grad_(true);
    reference->train();
    at::Tensor expected = reference->forward(xb);
    at::Tensor actual =
        ops::batchNorm(xa, w, b, mean, var, count, 1e-3, 0.1, true);
    EXPECT_TRUE(at::allclose(actual, expected, 1e-5, 1e-5));
    at::Tensor upstream = at::randn(actual.sizes());
    actual.backward(upstream);
    expected.backward(upstream);
    EXPECT_TRUE(at::allclose(xa.grad(), xb.grad(), 1e-5, 1e-5));
  }
  EXPECT_TRUE(at::allclose(mean, reference->running_mean, 1e-6, 1e-6));
  EXPECT_TRUE(at::allclose(var, reference->running_var, 1e-6, 1e-6));
  EXPECT_EQ(count.item<int64_t>(),
            reference->num_batches_tracked.item<int64_t>());
  EXPECT_TRUE(at::allclose(w.grad(), reference->weight.grad(), 1e-4, 1e-4));
  // Evaluation uses the running statistics and changes nothing.
  reference->eval();
  at::Tensor x = at::randn({2, 5, 3, 3});
  at::Tensor before = mean.clone();
  EXPECT_TRUE(
      at::allclose(ops::batchNorm(x, w, b, mean, var, count, 1e-3, 0.1, false),
                   reference->forward(x), 1e-5, 1e-5));
  EXPECT_TRUE(at::equal(mean, before));
  EXPECT_EQ(count.item<int64_t>(), 2);
}

// A channel slice of a channels_last tensor (siblingConv2d's results) is
// normalized as its dense copy is, and the result is dense channels_last;
// a slice of either layout is copied once.
TEST(RuntimeOps, BatchNormOfAChannelsLastSliceIsThatOfItsDenseCopy) {
  at::manual_seed(13);
  at::Tensor whole =
      at::randn({4, 9, 5, 6}).contiguous(at::MemoryFormat::ChannelsLast);
  at::Tensor slice = whole.narrow(1, 2, 5);
  ASSERT_FALSE(slice.is_contiguous(at::MemoryFormat::ChannelsLast));
  at::Tensor dense = slice.contiguous(at::MemoryFormat::ChannelsLast);
  at::Tensor weight = at::rand({5}) + 0.5, bias = at::randn({5});
  at::Tensor means[2], vars[2], counts[2], ys[2];
  for (int side = 0; side < 2; ++side) {
    means[side] = at::zeros({5});
    vars[side] = at::ones({5});
    counts[side] = at::zeros({}, at::kLong);
    ys[side] = ops::batchNorm(side == 0 ? slice : dense, weight, bias,
                              means[side], vars[side], counts[side], 1e-5, 0.1,
                              /*training=*/true);
  }
  EXPECT_TRUE(ys[0].is_contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(at::equal(ys[0], ys[1]));
  EXPECT_TRUE(at::equal(means[0], means[1]));
  EXPECT_TRUE(at::equal(vars[0], vars[1]));
  // Either layout's slice is copied once, not twice (ATen's CPU batch norm
  // copies a non-contiguous input itself).
  for (at::Tensor x : {slice, at::randn({4, 9, 5, 6}).narrow(1, 2, 5)}) {
    int copies = 0;
    for (const rtml::ProfiledEvent &e : rtml::profileEvents(
             [&] {
               ops::batchNorm(x, weight, bias, means[0], vars[0], counts[0],
                              1e-5, 0.1, /*training=*/true);
             },
             1, false))
      copies += e.name == "aten::copy_";
    EXPECT_EQ(copies, 1) << x.strides();
  }
}

TEST(RuntimeOps, ConcatAndAddMatchLibTorch) {
  at::manual_seed(13);
  at::Tensor a = at::randn({2, 3, 4, 4}).requires_grad_(true);
  at::Tensor b = at::randn({2, 5, 4, 4}).requires_grad_(true);
  at::Tensor cat = ops::concat({a, b});
  EXPECT_TRUE(at::equal(cat, at::cat({a, b}, 1)));
  at::Tensor upstream = at::randn(cat.sizes());
  cat.backward(upstream);
  EXPECT_TRUE(at::equal(a.grad(), upstream.narrow(1, 0, 3)));
  EXPECT_TRUE(at::equal(b.grad(), upstream.narrow(1, 3, 5)));

  at::Tensor c = at::randn({2, 3, 4, 4});
  at::Tensor d = at::randn({2, 3, 4, 4});
  at::Tensor e = at::randn({2, 3, 4, 4});
  EXPECT_TRUE(at::allclose(ops::add({c, d, e}), c + d + e));
}

TEST(RuntimeOps, ToDeviceOnTheSameDeviceIsTheIdentity) {
  setSingleDevice(at::Device(at::kCPU));
  at::Tensor x = at::randn({3, 2}).requires_grad_(true);
  resetTransferBytes();
  at::Tensor y = ops::toDevice(x, 1, 0);
  // Logical device 1 of a one-device run is the CPU: no copy at all.
  EXPECT_EQ(y.data_ptr(), x.data_ptr());
  // Counted all the same: forward, and the gradient x needs back.
  EXPECT_EQ(transferBytes().forward, 3 * 2 * 4);
  EXPECT_EQ(transferBytes().backward, 3 * 2 * 4);
  {
    c10::NoGradGuard noGrad; // evaluation: no gradient comes back
    ops::toDevice(x.to(at::kDouble), 0, 1);
  }
  EXPECT_EQ(transferBytes().forward, 3 * 2 * 4 + 3 * 2 * 8);
  EXPECT_EQ(transferBytes().backward, 3 * 2 * 4);
  resetTransferBytes();
  EXPECT_EQ(transferBytes().forward, 0);
  EXPECT_EQ(setDeviceMap({"gpu0", "gpu1", "gpu2"}, {at::Device(at::kCPU)}),
            "note: 3 logical devices share 1 physical: gpu0->cpu gpu1->cpu "
            "gpu2->cpu");
  EXPECT_EQ(physicalDevice(2), at::Device(at::kCPU));
  EXPECT_THROW(parseDeviceList("cpu,gpu7"), std::invalid_argument);
  EXPECT_EQ(parseDeviceList("cpu,cpu").size(), 2u);
  setSingleDevice(at::Device(at::kCPU));
}

// What the step's CUDA graph decides from (StepConditions::physicalDevices):
// towers sharing a GPU are one device, a split over two GPUs two. Devices
// are only named here; nothing runs on them.
TEST(RuntimeDeviceMap, PhysicalDeviceCountIsOfDistinctDevices) {
  const at::Device gpu0("cuda:0"), gpu1("cuda:1");
  setDeviceMap({"gpu0", "gpu1"}, {gpu0, gpu0});
  EXPECT_EQ(physicalDeviceCount(2), 1);
  setDeviceMap({"gpu0", "gpu1"}, {gpu0});
  EXPECT_EQ(physicalDeviceCount(2), 1);
  setDeviceMap({"gpu0", "gpu1"}, {gpu0, gpu1});
  EXPECT_EQ(physicalDeviceCount(2), 2);
  EXPECT_EQ(physicalDeviceCount(1), 1);
  setDeviceMap({"a", "b", "c", "d"}, {gpu0, gpu1});
  EXPECT_EQ(physicalDeviceCount(4), 2);
  setSingleDevice(gpu1);
  EXPECT_EQ(physicalDeviceCount(4), 1);
  EXPECT_EQ(physicalDeviceCount(0), 1);
  setSingleDevice(at::Device(at::kCPU));
}

TEST(RuntimeParams, FanInUniformBoundsAndStatistics) {
  std::vector<ParameterSpec> specs = {
      {"conv.weight", {64, 3, 11, 11}, ParamInit::FanInUniform, 363},
      {"conv.bias", {64}, ParamInit::FanInUniform, 363},
      {"fc.weight", {1000, 4096}, ParamInit::FanInUniform, 4096},
      {"bn.weight", {8}, ParamInit::Ones, 1},
      {"bn.bias", {8}, ParamInit::Zeros, 1},
  };
  ParameterRegistry reg(specs, at::kCPU, 42);
  ASSERT_EQ(reg.tensors().size(), specs.size());
  EXPECT_EQ(reg.numParameters(), 64 * 363 + 64 + 1000 * 4096 + 16);
  for (size_t i = 0; i < 3; ++i) {
    const at::Tensor &t = reg.tensors()[i];
    double bound = 1.0 / std::sqrt(double(specs[i].fanIn));
    EXPECT_EQ(t.sizes(), at::IntArrayRef(specs[i].shape));
    EXPECT_EQ(t.scalar_type(), at::kFloat);
    EXPECT_TRUE(t.requires_grad());
    EXPECT_TRUE(t.is_leaf());
    EXPECT_LE(t.abs().max().item<double>(), bound);
    if (t.numel() > 1000) {
      EXPECT_GT(t.abs().max().item<double>(), 0.99 * bound);
      EXPECT_NEAR(t.mean().item<double>(), 0, 0.02 * bound);
      // Var of U(-b, b) is b^2/3.
      EXPECT_NEAR(t.var().item<double>(), bound * bound / 3,
                  0.03 * bound * bound / 3);
    }
  }
  EXPECT_TRUE(at::equal(reg.find("bn.weight"), at::ones({8})));
  EXPECT_TRUE(at::equal(reg.find("bn.bias"), at::zeros({8})));
  EXPECT_FALSE(reg.find("nope").defined());
  EXPECT_EQ(reg.indexOf("fc.weight"), 2);
  EXPECT_EQ(reg.indexOf("nope"), -1);
}

// A parameter read from a bf16 copy on this kind of device: the registry
// keeps the f32 tensor (what is saved and trained) and hands forward the
// copy, the cast of it, in the tensor's layout, as a leaf of its own; where
// the f32 tensor is written in place (a load, a broadcast) the copy is made
// again before the next forward. Specs without one, or with one only on
// CUDA, are read as they are.
TEST(RuntimeParams, Bf16CopiesAreTheCastsAndFollowWrites) {
  ParameterSpec conv{"conv.weight", {4, 3, 3, 3}, ParamInit::FanInUniform, 27};
  conv.storedNhwc = {true, true};
  conv.bf16Copy = {true, true};
  ParameterSpec bias{"conv.bias", {4}, ParamInit::FanInUniform, 27};
  bias.bf16Copy = {false, true}; // auto: bf16 on CUDA only
  ParameterSpec plain{"fc.weight", {2, 4}, ParamInit::FanInUniform, 4};
  ParameterRegistry reg({conv, bias, plain}, at::kCPU, 3);
  const std::vector<at::Tensor> &forward = reg.forwardTensors();
  ASSERT_EQ(forward.size(), 3u);
  EXPECT_EQ(reg.tensors()[0].scalar_type(), at::kFloat);
  EXPECT_EQ(forward[0].scalar_type(), at::kBFloat16);
  EXPECT_TRUE(at::equal(forward[0], reg.tensors()[0].to(at::kBFloat16)));
  EXPECT_TRUE(forward[0].is_contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(forward[0].is_leaf() && forward[0].requires_grad());
  EXPECT_TRUE(forward[1].is_same(reg.tensors()[1]));
  EXPECT_TRUE(forward[2].is_same(reg.tensors()[2]));
  ASSERT_EQ(reg.trainableCopies().size(), 3u);
  EXPECT_TRUE(reg.trainableCopies()[0].is_same(forward[0]));
  EXPECT_FALSE(reg.trainableCopies()[1].defined());

  {
    at::NoGradGuard noGrad;
    reg.tensors()[0].copy_(at::full({4, 3, 3, 3}, 0.3f));
  }
  EXPECT_TRUE(at::equal(reg.forwardTensors()[0],
                        at::full({4, 3, 3, 3}, 0.3f).to(at::kBFloat16)));
  EXPECT_TRUE(reg.forwardTensors()[0].is_same(forward[0])) << "made in place";
}

TEST(RuntimeParams, SeedDeterminism) {
  std::vector<ParameterSpec> specs = {
      {"a", {10, 20}, ParamInit::FanInUniform, 20},
      {"b", {10}, ParamInit::FanInUniform, 20}};
  ParameterRegistry r1(specs, at::kCPU, 7), r2(specs, at::kCPU, 7),
      r3(specs, at::kCPU, 8);
  for (size_t i = 0; i < specs.size(); ++i) {
    EXPECT_TRUE(at::equal(r1.tensors()[i], r2.tensors()[i]));
    EXPECT_FALSE(at::equal(r1.tensors()[i], r3.tensors()[i]));
  }
  EXPECT_THROW(ParameterRegistry({{"a", {2}}, {"a", {3}}}, at::kCPU, 0),
               std::invalid_argument);
}

TEST(RuntimeOptim, SgdMatchesTorchOptimSgd) {
  struct Case {
    double lr, momentum, wd;
  };
  for (Case c : {Case{0.01, 0.9, 5e-4}, Case{0.1, 0.0, 0.0},
                 Case{0.05, 0.5, 0.0}, Case{0.02, 0.0, 1e-2}}) {
    SCOPED_TRACE("momentum " + std::to_string(c.momentum) + " wd " +
                 std::to_string(c.wd));
    torch::manual_seed(9);
    at::Tensor init1 = at::randn({4, 3}), init2 = at::randn({3});
    std::vector<at::Tensor> ours = {init1.clone().requires_grad_(true),
                                    init2.clone().requires_grad_(true)};
    std::vector<at::Tensor> theirs = {init1.clone().requires_grad_(true),
                                      init2.clone().requires_grad_(true)};
    Sgd sgd(ours, SgdOptions{c.lr, c.momentum, c.wd});
    torch::optim::SGD ref(
        theirs,
        torch::optim::SGDOptions(c.lr).momentum(c.momentum).weight_decay(c.wd));
    at::Tensor x = at::randn({5, 4}), target = at::randn({5, 3});
    auto loss = [&](const std::vector<at::Tensor> &p) {
      return (at::matmul(x, p[0]).add(p[1]).sub(target)).pow(2).mean();
    };
    for (int step = 0; step < 6; ++step) {
      sgd.zeroGrad();
      ref.zero_grad();
      loss(ours).backward();
      loss(theirs).backward();
      sgd.step();
      ref.step();
      for (size_t i = 0; i < ours.size(); ++i)
        EXPECT_TRUE(at::allclose(ours[i], theirs[i], 1e-6, 1e-7))
            << "step " << step << " param " << i;
    }
    if (c.momentum != 0) {
      ASSERT_TRUE(sgd.momentumBuffers()[0].defined());
      EXPECT_FALSE(sgd.momentumBuffers()[0].requires_grad());
    } else {
      EXPECT_FALSE(sgd.momentumBuffers()[0].defined());
    }
  }
}

TEST(RuntimeOptim, MomentumBufferRestoreContinuesTrajectory) {
  torch::manual_seed(10);
  at::Tensor init = at::randn({6});
  at::Tensor p1 = init.clone().requires_grad_(true);
  Sgd a({p1}, SgdOptions{0.1, 0.9, 1e-3});
  auto stepOn = [](Sgd &sgd, at::Tensor &p) {
    sgd.zeroGrad();
    p.pow(3).sum().backward();
    sgd.step();
  };
  stepOn(a, p1);
  stepOn(a, p1);
  // Resume from p1 and its buffer in a fresh optimizer.
  at::Tensor p2 = p1.detach().clone().requires_grad_(true);
  Sgd b({p2}, SgdOptions{0.1, 0.9, 1e-3});
  b.setMomentumBuffer(0, a.momentumBuffers()[0]);
  stepOn(a, p1);
  stepOn(b, p2);
  EXPECT_TRUE(at::allclose(p1, p2));
  EXPECT_ANY_THROW(b.setMomentumBuffer(0, at::zeros({5})));
}

TEST(RuntimeOptim, CrossEntropyIsMeanNegativeLogSoftmax) {
  torch::manual_seed(11);
  at::Tensor logits = at::randn({8, 10}).requires_grad_(true);
  at::Tensor target = at::randint(10, {8}, at::kLong);
  at::Tensor ours = crossEntropy(logits, target);
  at::Tensor manual =
      -at::log_softmax(logits, 1).gather(1, target.view({-1, 1})).mean();
  EXPECT_EQ(ours.dim(), 0);
  EXPECT_NEAR(ours.item<double>(), manual.item<double>(), 1e-6);
  EXPECT_NEAR(ours.item<double>(),
              F::cross_entropy(logits, target).item<double>(), 1e-7);
  at::Tensor g1 = torch::autograd::grad({ours}, {logits})[0];
  at::Tensor g2 = torch::autograd::grad({manual}, {logits})[0];
  EXPECT_TRUE(at::allclose(g1, g2, 1e-6, 1e-7));
}

// rtml.to_layout on the CPU: the CPU's layout applies (the CUDA one is for
// CUDA tensors); a tensor already in it is returned as is, and the gradient
// comes back in the input's layout.
TEST(RuntimeOps, ToLayoutAppliesTheLayoutOfTheTensorsDevice) {
  at::Tensor x = at::randn({2, 3, 4, 5}).requires_grad_(true);
  at::Tensor same = ops::toLayout(x, ops::Layout::Nchw, ops::Layout::Nhwc);
  EXPECT_EQ(same.data_ptr(), x.data_ptr());

  at::Tensor nhwc = ops::toLayout(x, ops::Layout::Nhwc, ops::Layout::Nchw);
  EXPECT_FALSE(nhwc.is_contiguous());
  EXPECT_TRUE(nhwc.is_contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(at::equal(nhwc, x));
  at::Tensor again = ops::toLayout(nhwc, ops::Layout::Nhwc, ops::Layout::Nhwc);
  EXPECT_EQ(again.data_ptr(), nhwc.data_ptr());
  at::Tensor back = ops::toLayout(nhwc, ops::Layout::Nchw, ops::Layout::Nhwc);
  EXPECT_TRUE(back.is_contiguous());
  EXPECT_TRUE(at::equal(back, x));

  at::Tensor upstream = at::randn(x.sizes());
  back.backward(upstream);
  EXPECT_TRUE(x.grad().is_contiguous());
  EXPECT_TRUE(at::equal(x.grad(), upstream));
}
