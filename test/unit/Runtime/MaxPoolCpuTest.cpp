//===- MaxPoolCpuTest.cpp - The lanes' max pool is ATen's, bit for bit ----===//
#include "MaxPoolCpu.h"

#include "rtml/Runtime/Ops.h"
#include "rtml/Runtime/StepProfile.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using rtml::detail::maxPool2dCpu;
using rtml::detail::maxPoolPlane;
using rtml::detail::PoolGeometry;

namespace {

/// Inputs with many ties (a few small integers), and with NaN and -inf, in
/// every spot a window can start, end or be clipped.
at::Tensor tiedInput(int64_t n, int64_t c, int64_t h, int64_t w, bool special) {
  at::Tensor x = at::randint(-2, 3, {n, c, h, w}).to(at::kFloat);
  if (special) {
    at::Tensor flat = x.view(-1);
    for (int64_t i = 0; i < flat.numel(); i += 7)
      flat[i] = std::numeric_limits<float>::quiet_NaN();
    for (int64_t i = 3; i < flat.numel(); i += 11)
      flat[i] = -std::numeric_limits<float>::infinity();
  }
  return x;
}

void expectSameAsAten(const at::Tensor &x, const PoolGeometry &g) {
  SCOPED_TRACE(::testing::Message()
               << "input " << x.sizes() << " kernel " << g.kernelH << "x"
               << g.kernelW << " stride " << g.strideH << "x" << g.strideW
               << " pad " << g.padH << "x" << g.padW << " ceil " << g.ceilMode);
  auto [expected, expectedIndices] = at::max_pool2d_with_indices(
      x, {g.kernelH, g.kernelW}, {g.strideH, g.strideW}, {g.padH, g.padW},
      {1, 1}, g.ceilMode);
  // The planes directly, for the indices.
  at::Tensor out = at::empty_like(expected);
  at::Tensor indices = at::empty_like(expectedIndices);
  at::Tensor input = x.contiguous();
  const int64_t planes = x.size(0) * x.size(1);
  for (int64_t p = 0; p < planes; ++p)
    maxPoolPlane(input.data_ptr<float>() + p * x.size(2) * x.size(3), x.size(2),
                 x.size(3), g,
                 out.data_ptr<float>() + p * out.size(2) * out.size(3),
                 indices.data_ptr<int64_t>() + p * out.size(2) * out.size(3),
                 out.size(2), out.size(3));
  EXPECT_TRUE(at::equal(indices, expectedIndices));
  // NaN != NaN: compare the bits.
  EXPECT_TRUE(at::equal(out.view(at::kInt), expected.view(at::kInt)));

  // Through autograd: the same output and the same input gradient.
  at::Tensor leaf = x.clone().requires_grad_(true);
  std::optional<at::Tensor> y = maxPool2dCpu(leaf, g);
  ASSERT_TRUE(y.has_value());
  EXPECT_TRUE(at::equal(y->view(at::kInt), expected.view(at::kInt)));
  at::Tensor upstream = at::randn(expected.sizes());
  y->backward(upstream);
  at::Tensor reference = x.clone().requires_grad_(true);
  at::max_pool2d(reference, {g.kernelH, g.kernelW}, {g.strideH, g.strideW},
                 {g.padH, g.padW}, {1, 1}, g.ceilMode)
      .backward(upstream);
  EXPECT_TRUE(at::equal(leaf.grad(), reference.grad()));
}

} // namespace

TEST(MaxPoolCpu, EqualsAtenForEveryGeometry) {
  at::manual_seed(0);
  // The networks' pools (3x3 stride 1 pad 1, 3x3 stride 2 ceil, 2x2 stride
  // 2), and edge cases: 1x1, wide kernels, stride 3, rectangular windows,
  // widths that leave a scalar tail and planes narrower than four outputs.
  const PoolGeometry geometries[] = {
      {3, 3, 1, 1, 1, 1, false},
      {3, 3, 2, 2, 0, 0, true},
      {3, 3, 2, 2, 0, 0, false},
      {2, 2, 2, 2, 0, 0, false},
      {1, 1, 1, 1, 0, 0, false},
      {5, 5, 1, 1, 2, 2, false},
      {3, 2, 3, 1, 1, 1, true},
      {2, 4, 1, 3, 1, 2, true},
      {4, 4, 3, 3, 2, 0, true},
      // Stride 1 takes the separable scan: rectangular, even and
      // one-column windows, with and without padding and ceil mode.
      {2, 3, 1, 1, 1, 1, true},
      {4, 1, 1, 1, 2, 0, false},
      {3, 5, 1, 1, 0, 2, false}};
  for (const PoolGeometry &g : geometries)
    for (auto [h, w] : {std::pair<int64_t, int64_t>{13, 17},
                        {8, 8},
                        {5, 3},
                        {28, 28},
                        {6, 9}})
      for (bool special : {false, true})
        if (h + 2 * g.padH >= g.kernelH && w + 2 * g.padW >= g.kernelW)
          expectSameAsAten(tiedInput(2, 3, h, w, special), g);
}

TEST(MaxPoolCpu, AllMinusInfinityWindowsPointAtTheirFirstPosition) {
  at::Tensor x =
      at::full({1, 1, 4, 6}, -std::numeric_limits<float>::infinity());
  expectSameAsAten(x, {3, 3, 1, 1, 1, 1, false});
}

TEST(MaxPoolCpu, OtherTensorsAndGeometriesAreLeftToAten) {
  at::Tensor x = at::randn({2, 3, 8, 8});
  PoolGeometry g{3, 3, 2, 2, 1, 1, false};
  EXPECT_TRUE(maxPool2dCpu(x, g).has_value());
  EXPECT_FALSE(maxPool2dCpu(x.to(at::kDouble), g).has_value());
  EXPECT_FALSE(maxPool2dCpu(x.contiguous(at::MemoryFormat::ChannelsLast), g)
                   .has_value());
  EXPECT_FALSE(maxPool2dCpu(x[0], g).has_value()); // 3-D
  EXPECT_FALSE(maxPool2dCpu(x, {3, 3, 2, 2, 2, 2, false}).has_value());
  EXPECT_FALSE(maxPool2dCpu(x, {9, 9, 1, 1, 0, 0, false}).has_value());
  // A plane over 2^24 positions, whose indices a float lane cannot hold.
  EXPECT_TRUE(maxPool2dCpu(at::zeros({1, 1, 4096, 4096}), g).has_value());
  EXPECT_FALSE(maxPool2dCpu(at::zeros({1, 1, 4096, 4097}), g).has_value());
  // ops::maxPool2d still gives ATen's answer, and ATen's errors, there.
  at::Tensor nhwc = x.contiguous(at::MemoryFormat::ChannelsLast);
  EXPECT_TRUE(
      at::equal(rtml::ops::maxPool2d(nhwc, {3, 3}, {2, 2}, {1, 1}, false),
                at::max_pool2d(nhwc, {3, 3}, {2, 2}, {1, 1})));
  EXPECT_THROW(rtml::ops::maxPool2d(x, {3, 3}, {2, 2}, {2, 2}, false),
               c10::Error);
}

// The lanes run outside ATen's dispatcher: bench --profile sees them only by
// the forward's own scope, once per call; ATen's fallback is named by ATen.
TEST(MaxPoolCpu, NamedInTheProfileOnlyWhereItRuns) {
  at::Tensor x = at::randn({2, 3, 8, 8});
  at::Tensor nhwc = x.contiguous(at::MemoryFormat::ChannelsLast);
  int lanes = 0, aten = 0;
  for (const rtml::ProfiledEvent &e : rtml::profileEvents(
           [&] {
             rtml::ops::maxPool2d(x, {3, 3}, {2, 2}, {1, 1}, false);
             rtml::ops::maxPool2d(nhwc, {3, 3}, {2, 2}, {1, 1}, false);
           },
           2, false)) {
    lanes += e.name == "rtml::max_pool2d";
    aten += e.name == "aten::max_pool2d";
  }
  EXPECT_EQ(lanes, 2);
  EXPECT_EQ(aten, 2);
}
