//===- CpuLanesTest.cpp - SSE lanes give the scalar code's bits -----------===//
//
// The CPU twins run each loop body on F4 lanes and then on a scalar tail;
// both must give the same bits, special values included, and forEachLane
// must visit every element exactly once.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Kernels/CpuLanes.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

using namespace rtml::kernels;

namespace {

uint32_t bitsOf(float v) {
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  return u;
}

/// Values where a select, a mask or a rounding could go wrong.
std::vector<float> specialValues() {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  return {0.0f,  -0.0f,  1.0f,   -1.0f, 2.5f,     -3.75f,
          inf,   -inf,   nan,    -nan,  1e-40f,   -1e-40f,
          1e30f, -1e30f, 0.125f, 7.0f,  1.0f / 3, -1e-20f};
}

/// Applies BODY to every element of IN through forEachLane (lanes and tail)
/// and element by element with floats; the two results must be bitwise
/// equal.
template <class Body> void expectLanesEqualScalar(const Body &body) {
  std::vector<float> in = specialValues();
  std::vector<float> lanes(in.size()), scalar(in.size());
  forEachLane(static_cast<int64_t>(in.size()), [&](auto l, int64_t i) {
    using L = decltype(l);
    L::store(lanes.data() + i, body(L::load(in.data() + i)));
  });
  for (size_t i = 0; i < in.size(); ++i)
    scalar[i] = body(in[i]);
  for (size_t i = 0; i < in.size(); ++i)
    EXPECT_EQ(bitsOf(lanes[i]), bitsOf(scalar[i]))
        << "input " << in[i] << " (element " << i << ")";
}

} // namespace

TEST(CpuLanes, ReluKeepsNaNAndNegativeZeroAsTheScalarSelect) {
  expectLanesEqualScalar([](auto x) { return reluOf(x); });
  EXPECT_TRUE(std::isnan(reluOf(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_EQ(bitsOf(reluOf(-0.0f)), bitsOf(-0.0f));
  EXPECT_EQ(bitsOf(reluOf(-2.0f)), bitsOf(0.0f));
}

TEST(CpuLanes, MasksAgreeWithTheirScalarForms) {
  expectLanesEqualScalar(
      [](auto x) { return whereXPositive(x, x * decltype(x)(3.0f)); });
  expectLanesEqualScalar(
      [](auto x) { return zeroWhereNonPositive(x, x + decltype(x)(1.0f)); });
  // The two masks differ on NaN: threshold_backward passes the gradient.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(whereXPositive(nan, 5.0f), 0.0f);
  EXPECT_EQ(zeroWhereNonPositive(nan, 5.0f), 5.0f);
}

TEST(CpuLanes, TheMaxScanTakesOverOnGreaterOrNaNAsTheScalarCode) {
  expectLanesEqualScalar([](auto x) {
    using V = decltype(x);
    return pick(takesOverMax(x, V(1.0f)), x, V(0.5f));
  });
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(takesOverMax(nan, 1.0f));
  EXPECT_FALSE(takesOverMax(1.0f, 1.0f)); // a tie keeps the first
  EXPECT_FALSE(takesOverMax(0.0f, nan));  // nothing beats a NaN but a NaN
}

TEST(CpuLanes, ArithmeticSqrtAndPowRoundAsTheScalarCode) {
  expectLanesEqualScalar([](auto x) {
    using V = decltype(x);
    return (x * V(0.5f) + V(2.0f)) / (x - V(7.0f));
  });
  expectLanesEqualScalar([](auto x) { return sqrtOf(x * x + decltype(x)(1)); });
  expectLanesEqualScalar([](auto x) { return powOf(x * x, -0.6f); });
}

TEST(CpuLanes, EveryElementIsVisitedOnceInOrderForEveryLength) {
  for (int64_t len = 0; len <= 11; ++len) {
    std::vector<int> visits(len, 0);
    int64_t next = 0;
    forEachLane(len, [&](auto l, int64_t i) {
      using L = decltype(l);
      EXPECT_EQ(i, next) << "length " << len;
      for (int k = 0; k < L::kWidth; ++k)
        ++visits[i + k];
      next = i + L::kWidth;
    });
    EXPECT_EQ(next, len);
    for (int64_t i = 0; i < len; ++i)
      EXPECT_EQ(visits[i], 1) << "length " << len << ", element " << i;
  }
}

TEST(CpuLanes, Bf16LanesRoundAsTheScalarConversion) {
  std::vector<float> in = specialValues();
  std::vector<Bf16> lanes(in.size()), scalar(in.size());
  forEachLane(static_cast<int64_t>(in.size()), [&](auto l, int64_t i) {
    using L = decltype(l);
    L::store(lanes.data() + i,
             L::load(in.data() + i) * decltype(L::load(in.data()))(1.5f));
  });
  for (size_t i = 0; i < in.size(); ++i)
    scalar[i] = kernelStore<Bf16>(in[i] * 1.5f);
  for (size_t i = 0; i < in.size(); ++i)
    EXPECT_EQ(lanes[i].bits, scalar[i].bits) << "input " << in[i];
}

// Every bf16 widens as the scalar conversion widens it, and every float
// rounds as it does: all 2^16 top halves, each with the low halves around
// a tie (below, at, above), zero and all ones.
TEST(CpuLanes, Bf16LanesConvertEveryBitPatternAsTheScalarCode) {
  std::vector<Bf16> halves(1 << 16);
  for (uint32_t h = 0; h < halves.size(); ++h)
    halves[h].bits = static_cast<uint16_t>(h);
  std::vector<float> widened(halves.size());
  forEachLane(static_cast<int64_t>(halves.size()), [&](auto l, int64_t i) {
    using L = decltype(l);
    L::store(widened.data() + i, L::load(halves.data() + i));
  });
  for (size_t h = 0; h < halves.size(); ++h) {
    float expected = kernelLoad(halves[h]);
    ASSERT_EQ(std::memcmp(&widened[h], &expected, sizeof expected), 0)
        << "bf16 bits " << h;
  }

  std::vector<float> floats;
  for (uint32_t h = 0; h < (1u << 16); ++h)
    for (uint32_t low : {0x0000u, 0x7fffu, 0x8000u, 0x8001u, 0xffffu}) {
      uint32_t u = h << 16 | low;
      float f;
      std::memcpy(&f, &u, sizeof f);
      floats.push_back(f);
    }
  std::vector<Bf16> rounded(floats.size());
  forEachLane(static_cast<int64_t>(floats.size()), [&](auto l, int64_t i) {
    using L = decltype(l);
    L::store(rounded.data() + i, L::load(floats.data() + i));
  });
  for (size_t i = 0; i < floats.size(); ++i) {
    uint32_t u;
    std::memcpy(&u, &floats[i], sizeof u);
    ASSERT_EQ(rounded[i].bits, kernelStore<Bf16>(floats[i]).bits)
        << "float bits 0x" << std::hex << u;
  }
}
