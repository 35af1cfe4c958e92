//===- ShapesTest.cpp - Shape arithmetic against PyTorch's results --------===//
//
// Every expected value below was produced by nn.Conv2d / nn.MaxPool2d of
// PyTorch 1.13 on a zero tensor of the given size.
//
//===----------------------------------------------------------------------===//
#include "rtml/Support/Shapes.h"

#include <gtest/gtest.h>

using namespace rtml;

TEST(Shapes, ConvOutputSize) {
  EXPECT_EQ(convOutputSize(224, 11, 4, 2), 55);  // AlexNet conv1
  EXPECT_EQ(convOutputSize(27, 5, 1, 2), 27);    // AlexNet conv2
  EXPECT_EQ(convOutputSize(224, 7, 2, 3), 112);  // GoogLeNet conv1
  EXPECT_EQ(convOutputSize(32, 3, 2, 0, 2), 14); // dilation 2
  EXPECT_EQ(convOutputSize(10, 3, 2, 0), 4);
  // Too small: no output (callers report it).
  EXPECT_LT(convOutputSize(2, 5, 1, 0), 1);
  EXPECT_EQ(convOutputSize(10, 3, 0, 0), 0); // stride 0 never divides
}

struct PoolCase {
  int64_t in, kernel, stride, pad;
  bool ceil;
  int64_t expected;
};

TEST(Shapes, PoolOutputSizeMatchesPyTorch) {
  const PoolCase cases[] = {
      {55, 3, 2, 0, false, 27},
      {27, 3, 2, 0, false, 13},
      {13, 3, 2, 0, false, 6},
      {6, 3, 2, 0, false, 2},
      {6, 3, 2, 0, true, 3},
      {112, 3, 2, 0, true, 56},
      {14, 3, 2, 0, true, 7},
      {7, 3, 2, 1, true, 4},
      {10, 3, 1, 1, true, 10},
      {1, 1, 2, 0, true, 1},
      // ceil_mode's last window would start in the right padding: dropped.
      {5, 2, 2, 1, true, 3},
      {8, 2, 3, 1, true, 3},
      {4, 3, 3, 1, true, 2},
  };
  for (const PoolCase &c : cases)
    EXPECT_EQ(poolOutputSize(c.in, c.kernel, c.stride, c.pad, c.ceil),
              c.expected)
        << "in " << c.in << " kernel " << c.kernel << " stride " << c.stride
        << " pad " << c.pad << " ceil " << c.ceil;
  // nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True) on 9x9.
  EXPECT_EQ(poolOutputSize(9, 3, 2, 1, true, 2), 4);
}

TEST(Shapes, ParamsAndMacs) {
  // AlexNet conv1 and a grouped convolution.
  EXPECT_EQ(conv2dParams(3, 64, 11, 11, 1, true), 23296);
  EXPECT_EQ(conv2dParams(3, 64, 11, 11, 1, false), 23232);
  EXPECT_EQ(conv2dParams(64, 128, 3, 3, 2, true), 128 * 32 * 9 + 128);
  EXPECT_EQ(conv2dMacs(3, 64, 11, 11, 1, 55, 55), 64LL * 55 * 55 * 3 * 121);
  EXPECT_EQ(numElements({2, 3, 4}), 24);
  EXPECT_EQ(numElements({}), 1);
}

TEST(Shapes, GroupDigits) {
  EXPECT_EQ(groupDigits(57044810), "57,044,810");
  EXPECT_EQ(groupDigits(10635134), "10,635,134");
  EXPECT_EQ(groupDigits(0), "0");
  EXPECT_EQ(groupDigits(999), "999");
  EXPECT_EQ(groupDigits(1000), "1,000");
  EXPECT_EQ(groupDigits(100000), "100,000");
  EXPECT_EQ(groupDigits(-1234567), "-1,234,567");
}

TEST(Shapes, ShapeString) {
  EXPECT_EQ(shapeString({-1, 3, 224, 224}), "[?, 3, 224, 224]");
  EXPECT_EQ(shapeString({}), "[]");
}
