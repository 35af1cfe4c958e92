//===- BiasReluTest.cpp - rtml.bias_relu and the biases it takes ----------===//
//
// The epilogue (Kernels/BiasRelu.h's CPU twins behind ops::biasRelu) against
// float64 and against LibTorch's relu(x + bias), forward and backward, in
// both layouts and element types and on channel slices; the bias gradient's
// fixed summation order; convBias and
// siblingConv2d with the biases the epilogues take.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Ops.h"
#include "rtml/Runtime/StepProfile.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>

using namespace rtml;
using ops::BiasAdd;

namespace {

at::Tensor channelBias(const at::Tensor &bias, int64_t dims) {
  std::vector<int64_t> shape(dims, 1);
  shape[1] = -1;
  return bias.view(shape);
}

/// relu(X + BIAS) and its gradients for UPSTREAM, in float64.
struct Reference {
  at::Tensor out, gradInput, gradBias;
};
Reference reference(const at::Tensor &x, const at::Tensor &bias,
                    const at::Tensor &upstream) {
  at::Tensor xd = x.detach().to(at::kDouble).requires_grad_(true);
  at::Tensor bd = bias.detach().to(at::kDouble).requires_grad_(true);
  at::Tensor out = at::relu(xd + channelBias(bd, x.dim()));
  out.backward(upstream.to(at::kDouble));
  return {out.detach(), xd.grad(), bd.grad()};
}

double maxError(const at::Tensor &a, const at::Tensor &b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

/// ops::biasRelu with the bias added in the epilogue on X's device, forward
/// and backward, against float64 and LibTorch.
void checkEpilogue(const at::Tensor &x, const at::Tensor &bias) {
  at::Tensor input = x.detach().requires_grad_(true);
  at::Tensor b = bias.detach().clone().requires_grad_(true);
  at::Tensor out =
      ops::biasRelu(input, b, BiasAdd::InEpilogue, BiasAdd::InEpilogue);
  ASSERT_EQ(out.sizes(), x.sizes());
  ASSERT_EQ(out.scalar_type(), x.scalar_type());
  // Dense in the input's layout.
  at::MemoryFormat format =
      x.dim() == 4 && !x.is_contiguous() &&
              x.suggest_memory_format() == at::MemoryFormat::ChannelsLast
          ? at::MemoryFormat::ChannelsLast
          : at::MemoryFormat::Contiguous;
  EXPECT_TRUE(out.is_contiguous(format));
  // The sum in float, rounded once to the element type: LibTorch's float
  // ops, cast, give the same bits.
  at::Tensor expected =
      at::relu(x.to(at::kFloat) + channelBias(bias, x.dim())).to(x.dtype());
  EXPECT_TRUE(at::equal(out, expected))
      << "max diff " << maxError(out, expected);

  at::Tensor upstream = at::randn(x.sizes()).to(x.dtype());
  out.backward(upstream);
  Reference ref = reference(x, bias, upstream);
  double tol = x.scalar_type() == at::kBFloat16 ? 1e-2 : 1e-6;
  EXPECT_LE(maxError(out, ref.out),
            tol * (1 + ref.out.abs().max().item<double>()));
  // The input's gradient is the upstream one where the output is positive:
  // exact. The bias's is a float sum over the batch and pixels.
  EXPECT_TRUE(at::equal(input.grad(),
                        at::threshold_backward(upstream, out.detach(), 0)));
  ASSERT_EQ(b.grad().scalar_type(), at::kFloat);
  EXPECT_LE(maxError(b.grad(), ref.gradBias),
            1e-4 * (1 + ref.gradBias.abs().max().item<double>()))
      << b.grad() << ref.gradBias;
}

TEST(BiasRelu, EpilogueIsReluOfInputPlusBias) {
  at::manual_seed(1);
  for (auto dtype : {at::kFloat, at::kBFloat16})
    for (auto format :
         {at::MemoryFormat::Contiguous, at::MemoryFormat::ChannelsLast}) {
      SCOPED_TRACE(
          std::string(dtype == at::kFloat ? "float" : "bf16") +
          (format == at::MemoryFormat::ChannelsLast ? " nhwc" : " nchw"));
      for (std::vector<int64_t> shape :
           {std::vector<int64_t>{3, 5, 7, 6},
            {2, 16, 4, 4},
            {1, 1, 1, 1},
            {4, 8, 33, 35}}) { // the last: a bias gradient of four levels
        at::Tensor x = at::randn(shape).to(dtype).contiguous(format);
        checkEpilogue(x, at::randn({shape[1]}));
      }
    }
  // Not 4-D: NCHW only, pixels flattened.
  checkEpilogue(at::randn({4, 6}), at::randn({6}));
  checkEpilogue(at::randn({2, 3, 5}), at::randn({3}));
}

/// Input and bias gradients of ops::biasRelu for X and UPSTREAM.
std::pair<at::Tensor, at::Tensor>
epilogueGradients(const at::Tensor &x, const at::Tensor &bias,
                  const at::Tensor &upstream) {
  at::Tensor input = x.detach().requires_grad_(true);
  at::Tensor b = bias.detach().clone().requires_grad_(true);
  ops::biasRelu(input, b, BiasAdd::InEpilogue, BiasAdd::InEpilogue)
      .backward(upstream);
  return {input.grad(), b.grad()};
}

TEST(BiasRelu, BackwardIsTheSameForEveryThreadCount) {
  // The bias's gradient is summed in an order fixed by the shape alone
  // (Kernels/BiasRelu.h), so it keeps its bits however the CPU splits the
  // work, as the CUDA kernels do on every card.
  at::manual_seed(7);
  const int threads = at::get_num_threads();
  for (auto dtype : {at::kFloat, at::kBFloat16})
    for (auto format :
         {at::MemoryFormat::Contiguous, at::MemoryFormat::ChannelsLast}) {
      at::Tensor x = at::randn({6, 8, 37, 29}).to(dtype).contiguous(format);
      at::Tensor bias = at::randn({8});
      at::Tensor upstream = at::randn(x.sizes()).to(dtype);
      at::set_num_threads(1);
      auto one = epilogueGradients(x, bias, upstream);
      at::set_num_threads(3);
      auto three = epilogueGradients(x, bias, upstream);
      at::set_num_threads(threads);
      EXPECT_TRUE(at::equal(one.first, three.first));
      EXPECT_TRUE(at::equal(one.second, three.second))
          << (one.second - three.second).abs().max();
    }
}

TEST(BiasRelu, BackwardTakesAnUpstreamGradientInEitherLayout) {
  at::manual_seed(8);
  at::Tensor x =
      at::randn({2, 6, 5, 4}).contiguous(at::MemoryFormat::ChannelsLast);
  at::Tensor bias = at::randn({6});
  at::Tensor upstream = at::randn(x.sizes()); // NCHW, the output is NHWC
  auto nchw = epilogueGradients(x, bias, upstream);
  auto nhwc = epilogueGradients(
      x, bias, upstream.contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(at::equal(nchw.first, nhwc.first));
  EXPECT_TRUE(at::equal(nchw.second, nhwc.second));
  at::Tensor out =
      ops::biasRelu(x, bias, BiasAdd::InEpilogue, BiasAdd::InEpilogue);
  EXPECT_TRUE(at::equal(nchw.first, at::threshold_backward(upstream, out, 0)));
}

TEST(BiasRelu, NoElementsGiveAZeroBiasGradient) {
  for (std::vector<int64_t> shape :
       {std::vector<int64_t>{0, 3, 4, 4}, {2, 3, 0, 4}}) {
    at::Tensor x = at::randn(shape);
    auto grads = epilogueGradients(x, at::randn({3}), at::randn(shape));
    EXPECT_EQ(grads.first.sizes(), x.sizes());
    EXPECT_TRUE(at::equal(grads.second, at::zeros({3})));
  }
}

TEST(BiasRelu, ChannelSlicesAreReadInPlace) {
  at::manual_seed(2);
  // What rtml.sibling_conv2d returns: channel slices of one output, in
  // either layout.
  for (auto dtype : {at::kFloat, at::kBFloat16})
    for (auto format :
         {at::MemoryFormat::Contiguous, at::MemoryFormat::ChannelsLast}) {
      at::Tensor wide = at::randn({3, 11, 5, 4}).to(dtype).contiguous(format);
      at::Tensor bias = at::randn({6});
      at::Tensor slice = wide.narrow(1, 3, 6);
      at::Tensor fromSlice =
          ops::biasRelu(slice, bias, BiasAdd::InEpilogue, BiasAdd::InEpilogue);
      at::Tensor fromDense =
          ops::biasRelu(slice.contiguous(format), bias, BiasAdd::InEpilogue,
                        BiasAdd::InEpilogue);
      EXPECT_TRUE(at::equal(fromSlice, fromDense));
      EXPECT_TRUE(fromSlice.is_contiguous(format));
      int copies = 0;
      for (const rtml::ProfiledEvent &e : rtml::profileEvents(
               [&] {
                 ops::biasRelu(slice, bias, BiasAdd::InEpilogue,
                               BiasAdd::InEpilogue);
               },
               1, false))
        copies += e.name == "aten::copy_";
      EXPECT_EQ(copies, 0) << slice.strides();
      checkEpilogue(slice, bias);
    }
  // A layout the kernel cannot read (a transposed image) is copied first.
  at::Tensor odd = at::randn({2, 3, 4, 5}).transpose(2, 3);
  checkEpilogue(odd, at::randn({3}));
}

TEST(BiasRelu, WhereTheConvolutionAddsTheBiasItIsAPlainRelu) {
  at::manual_seed(3);
  at::Tensor x = at::randn({2, 4, 3, 3});
  at::Tensor bias = at::randn({4});
  // On the CPU with the CPU's default: at::relu, the bias untouched.
  at::Tensor out = ops::biasRelu(x, bias, BiasAdd::InConv, BiasAdd::InEpilogue);
  EXPECT_TRUE(at::equal(out, at::relu(x)));
  // convBias keeps the bias where the convolution adds it, and drops it
  // where the epilogue does.
  EXPECT_TRUE(
      ops::convBias(bias, BiasAdd::InConv, BiasAdd::InEpilogue).is_same(bias));
  EXPECT_FALSE(
      ops::convBias(bias, BiasAdd::InEpilogue, BiasAdd::InConv).defined());
  EXPECT_FALSE(
      ops::convBias(at::Tensor(), BiasAdd::InConv, BiasAdd::InConv).defined());
}

TEST(BiasRelu, ConvolutionAndEpilogueEqualTheBiasedConvolutionAndRelu) {
  at::manual_seed(4);
  for (auto format :
       {at::MemoryFormat::Contiguous, at::MemoryFormat::ChannelsLast}) {
    at::Tensor x = at::randn({2, 3, 8, 8}).contiguous(format);
    at::Tensor w = at::randn({5, 3, 3, 3}).contiguous(format);
    at::Tensor b = at::randn({5});
    at::Tensor leaves[2][3];
    at::Tensor outs[2];
    for (int side = 0; side < 2; ++side) {
      leaves[side][0] = x.detach().clone(format).requires_grad_(true);
      leaves[side][1] = w.detach().clone(format).requires_grad_(true);
      leaves[side][2] = b.detach().clone().requires_grad_(true);
      BiasAdd where = side == 0 ? BiasAdd::InEpilogue : BiasAdd::InConv;
      at::Tensor y = ops::conv2d(leaves[side][0], leaves[side][1],
                                 ops::convBias(leaves[side][2], where, where),
                                 {1, 1}, {1, 1}, {1, 1}, 1);
      outs[side] = ops::biasRelu(y, leaves[side][2], where, where);
    }
    EXPECT_LE(maxError(outs[0], outs[1]), 1e-5);
    at::Tensor upstream = at::randn(outs[0].sizes());
    for (int side = 0; side < 2; ++side)
      outs[side].backward(upstream);
    for (int leaf = 0; leaf < 3; ++leaf)
      EXPECT_LE(maxError(leaves[0][leaf].grad(), leaves[1][leaf].grad()), 1e-4)
          << "leaf " << leaf;
  }
}

TEST(BiasRelu, SiblingConvolutionAddsOnlyTheBiasesItKeeps) {
  at::manual_seed(5);
  at::Tensor x = at::randn({2, 4, 5, 5});
  std::vector<at::Tensor> weights = {at::randn({2, 4, 1, 1}),
                                     at::randn({3, 4, 1, 1}),
                                     at::randn({4, 4, 1, 1})};
  std::vector<at::Tensor> biases = {at::randn({2}), at::randn({3}),
                                    at::randn({4})};
  // The middle result's bias is its epilogue's: the convolution drops it.
  std::vector<at::Tensor> kept = {biases[0], at::Tensor(), biases[2]};
  std::vector<at::Tensor> merged =
      ops::siblingConv2d(x, weights, kept, {1, 1}, {0, 0}, {1, 1});
  ASSERT_EQ(merged.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    at::Tensor separate =
        ops::conv2d(x, weights[i], kept[i], {1, 1}, {0, 0}, {1, 1}, 1);
    EXPECT_LE(maxError(merged[i], separate), 1e-5) << "result " << i;
  }
  // The middle one, through its epilogue, is relu(conv + bias).
  at::Tensor relu1 = ops::biasRelu(merged[1], biases[1], BiasAdd::InEpilogue,
                                   BiasAdd::InEpilogue);
  at::Tensor expected = at::relu(
      ops::conv2d(x, weights[1], biases[1], {1, 1}, {0, 0}, {1, 1}, 1));
  EXPECT_LE(maxError(relu1, expected), 1e-5);
}

TEST(BiasRelu, ProfileNamesBothDirections) {
  // The kernel runs outside ATen's dispatcher: `bench --profile` sees it
  // through the scopes its autograd function opens, once per call.
  at::manual_seed(6);
  std::map<std::string, int> counts;
  for (const rtml::ProfiledEvent &e : rtml::profileEvents(
           [] {
             at::Tensor x = at::randn({2, 4, 3, 3}).requires_grad_(true);
             ops::biasRelu(x, at::randn({4}), BiasAdd::InEpilogue,
                           BiasAdd::InEpilogue)
                 .sum()
                 .backward();
           },
           2, false))
    if (!e.onDevice)
      ++counts[e.name];
  EXPECT_EQ(counts["rtml::bias_relu"], 2);
  EXPECT_EQ(counts["rtml::bias_relu_backward"], 2);
}

TEST(BiasRelu, BadOperandsAreClearErrors) {
  at::Tensor x = at::randn({2, 4, 3, 3});
  auto fails = [&](const at::Tensor &input, const at::Tensor &bias,
                   const std::string &message) {
    try {
      ops::biasRelu(input, bias, BiasAdd::InEpilogue, BiasAdd::InEpilogue);
      ADD_FAILURE() << "no error for " << message;
    } catch (const c10::Error &e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos)
          << e.what();
    }
  };
  fails(x, at::randn({3}), "expected a float32 bias of 4 channels");
  fails(x, at::randn({4}).to(at::kDouble), "expected a float32 bias");
  fails(x.to(at::kDouble), at::randn({4}), "only float32 and bfloat16");
  fails(at::randn({4}), at::randn({4}), "expected an input [N, C, ...]");
}

} // namespace
