//===- EmulatedCudaTest.cpp - The CUDA kernels, run on the CPU ------------===//
//
// The runtime's CUDA kernels (the .cuh headers a model's kernels.cu and the
// runtime's .cu files include), compiled as host code against
// CudaEmulation/cuda_runtime.h and run through their own launchers, against
// their CPU twins. The twins are tested against float64 and LibTorch
// elsewhere; here the kernels' indexing, tiling, shared memory and
// barriers are. Built with -ffp-contract=off, as the twins' arithmetic is
// compiled, so that each result is the twin's, bit for bit. On the device,
// nvcc contracts some products and sums into FMAs and the results differ in
// the last bits; scripts/device-check.sh compares them there with a
// tolerance.
//
//===----------------------------------------------------------------------===//
// CudaEmulation/cuda_runtime.h comes first, by -include (CMakeLists.txt).
#include "rtml/Runtime/Kernels/BatchNormSums.cuh"
#include "rtml/Runtime/Kernels/BiasRelu.cuh"
#include "rtml/Runtime/Kernels/ConcatRelu.cuh"
#include "rtml/Runtime/Kernels/Lrn.cuh"
#include "rtml/Runtime/Kernels/Preprocess.cuh"
#include "rtml/Runtime/Kernels/Sgd.cuh"

#include "SgdKernel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using rtml::kernels::Bf16;
using rtml::kernels::kernelLoad;
using rtml::kernels::kernelStore;

RTML_LRN_CONFIG(SeedRelu, 5, 1.0e-4f, 0.75f, 2.0f, true)
RTML_LRN_CONFIG(Size4Relu, 4, 0.5f, 0.6f, 1.0f, true)
RTML_LRN_CONFIG(Size11, 11, 0.9f, 1.0f, 1.0f, false)

struct Shape {
  int64_t n, c, hw;
};

std::string describe(const Shape &s) {
  return std::to_string(s.n) + "x" + std::to_string(s.c) + "x" +
         std::to_string(s.hw);
}

template <class Elem> std::vector<Elem> randomData(int64_t count, int seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<Elem> v(count);
  for (Elem &e : v)
    e = kernelStore<Elem>(normal(gen));
  return v;
}

template <class Elem> uint32_t bitsOf(Elem v) {
  uint32_t bits = 0;
  std::memcpy(&bits, &v, sizeof v);
  return bits;
}

/// The index of the first element where A and B differ in any bit, or -1.
template <class Elem>
int64_t firstDifference(const std::vector<Elem> &a, const std::vector<Elem> &b) {
  for (size_t i = 0; i < a.size(); ++i)
    if (bitsOf(a[i]) != bitsOf(b[i]))
      return static_cast<int64_t>(i);
  return -1;
}

/// The four CUDA launchers (NCHW, NHWC; forward, backward) against the
/// CPU twins of the same layout, on SHAPE.
template <class Config, class Elem> void checkLrnAgainstTwins(const Shape &s) {
  namespace k = rtml::kernels;
  const int64_t count = s.n * s.c * s.hw;
  std::vector<Elem> x = randomData<Elem>(count, 1), gy = randomData<Elem>(count, 2);
  for (bool nhwc : {false, true}) {
    SCOPED_TRACE(describe(s) + (nhwc ? " NHWC" : " NCHW"));
    std::vector<Elem> yTwin(count), gxTwin(count), yCuda(count, Elem{}),
        gxCuda(count, Elem{});
    if (nhwc) {
      k::lrnForwardNhwcCpu<Config>(x.data(), yTwin.data(), s.n, s.c, s.hw, 0,
                                   s.n * s.hw);
      k::lrnBackwardNhwcCpu<Config>(x.data(), gy.data(), gxTwin.data(), s.n,
                                    s.c, s.hw, 0, s.n * s.hw);
      k::lrnForwardNhwcCuda<Config>(x.data(), yCuda.data(), s.n, s.c, s.hw,
                                    nullptr);
      k::lrnBackwardNhwcCuda<Config>(x.data(), gy.data(), gxCuda.data(), s.n,
                                     s.c, s.hw, nullptr);
    } else {
      k::lrnForwardCpu<Config>(x.data(), yTwin.data(), s.n, s.c, s.hw, 0,
                               s.n * s.hw);
      k::lrnBackwardCpu<Config>(x.data(), gy.data(), gxTwin.data(), s.n, s.c,
                                s.hw, 0, s.n * s.hw);
      k::lrnForwardCuda<Config>(x.data(), yCuda.data(), s.n, s.c, s.hw,
                                nullptr);
      k::lrnBackwardCuda<Config>(x.data(), gy.data(), gxCuda.data(), s.n, s.c,
                                 s.hw, nullptr);
    }
    int64_t at = firstDifference(yCuda, yTwin);
    EXPECT_EQ(at, -1) << "forward differs at " << at << ": "
                      << kernelLoad(yCuda[at < 0 ? 0 : at]) << " vs "
                      << kernelLoad(yTwin[at < 0 ? 0 : at]);
    at = firstDifference(gxCuda, gxTwin);
    EXPECT_EQ(at, -1) << "backward differs at " << at << ": "
                      << kernelLoad(gxCuda[at < 0 ? 0 : at]) << " vs "
                      << kernelLoad(gxTwin[at < 0 ? 0 : at]);
  }
}

// Shapes that reach every path of the launchers: one NHWC tile holding
// many pixels with a short last one (64 and 192 channels), a pixel that
// fills a tile alone (2048), one wider than a tile, which takes the
// walking kernel (2049), a single channel, and NCHW grids of several
// blocks with a partial last block.
const std::vector<Shape> kLrnShapes = {{2, 64, 35},  {3, 192, 7}, {1, 2048, 3},
                                       {1, 2049, 2}, {2, 1, 300}, {1, 13, 1}};

TEST(EmulatedCudaLrn, FusedSeedConstantsEqualTheCpuTwinsBitForBit) {
  for (const Shape &s : kLrnShapes)
    checkLrnAgainstTwins<SeedRelu, float>(s);
}

TEST(EmulatedCudaLrn, EvenWindowGenericBetaEqualsTheCpuTwinsBitForBit) {
  for (const Shape &s : kLrnShapes)
    checkLrnAgainstTwins<Size4Relu, float>(s);
}

TEST(EmulatedCudaLrn, WideWindowEqualsTheCpuTwinsBitForBit) {
  for (const Shape &s : kLrnShapes)
    checkLrnAgainstTwins<Size11, float>(s);
}

TEST(EmulatedCudaLrn, Bf16EqualsTheBf16CpuTwinsBitForBit) {
  for (const Shape &s : kLrnShapes) {
    checkLrnAgainstTwins<SeedRelu, Bf16>(s);
    checkLrnAgainstTwins<Size4Relu, Bf16>(s);
  }
}

TEST(EmulatedCudaLrn, EmptyInputsLaunchNothing) {
  float x = 1.0f, y = 7.0f;
  rtml::kernels::lrnForwardNhwcCuda<SeedRelu>(&x, &y, 0, 64, 9, nullptr);
  rtml::kernels::lrnForwardNhwcCuda<SeedRelu>(&x, &y, 2, 0, 9, nullptr);
  rtml::kernels::lrnForwardCuda<SeedRelu>(&x, &y, 2, 64, 0, nullptr);
  EXPECT_EQ(y, 7.0f);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

// Concat configs: odd channel counts (one element per thread), counts that
// are multiples of 4 (float4 in NHWC, and in NCHW where hw is too), and
// googlenet_bn's mix of batch norm epilogues and a plain ReLU.
struct Odd3 {
  static constexpr int kInputs = 3;
  static constexpr int64_t kChannels[kInputs] = {3, 1, 5};
  static constexpr int64_t kTotalChannels = 9;
};
struct ByFour {
  static constexpr int kInputs = 2;
  static constexpr int64_t kChannels[kInputs] = {8, 4};
  static constexpr int64_t kTotalChannels = 12;
};
struct MixedBatchNorm {
  static constexpr int kInputs = 3;
  static constexpr int64_t kChannels[kInputs] = {6, 3, 4};
  static constexpr int64_t kTotalChannels = 13;
  static constexpr bool kBatchNorm[kInputs] = {true, false, true};
  static constexpr double kEps[kInputs] = {0.001, 0, 0.001};
  static constexpr double kMomentum[kInputs] = {0.1, 0, 0.1};
};
// Convolution biases on plain ReLU inputs (rtml-bias-epilogue), next to a
// batch norm and a ReLU without one; and on the float4 paths.
struct MixedBias {
  static constexpr int kInputs = 3;
  static constexpr int64_t kChannels[kInputs] = {6, 3, 5};
  static constexpr int64_t kTotalChannels = 14;
  static constexpr bool kBatchNorm[kInputs] = {true, false, false};
  static constexpr double kEps[kInputs] = {0.001, 0, 0};
  static constexpr double kMomentum[kInputs] = {0.1, 0, 0};
  static constexpr bool kBias[kInputs] = {false, true, false};
};
struct ByFourBias {
  static constexpr int kInputs = 2;
  static constexpr int64_t kChannels[kInputs] = {8, 4};
  static constexpr int64_t kTotalChannels = 12;
  static constexpr bool kBias[kInputs] = {true, true};
};

/// The concat launchers (forward, backward and, for inputs with a batch
/// norm, its input-gradient pass) against the CPU twins, in LAYOUT.
template <class Config, class Elem>
void checkConcatAgainstTwins(int64_t n, int64_t hw, bool nhwc) {
  namespace k = rtml::kernels;
  using T = k::ConcatReluTraits<Config>;
  constexpr int kIn = T::kInputs;
  SCOPED_TRACE("n " + std::to_string(n) + " hw " + std::to_string(hw) +
               (nhwc ? " NHWC" : " NCHW"));
  std::vector<std::vector<Elem>> inputs;
  std::vector<const Elem *> inputPtrs;
  std::vector<std::vector<float>> constants; // mean, scale, beta, meanDz, coef
  std::vector<std::vector<float>> biases;
  biases.reserve(kIn); // the norms point into them
  constants.reserve(5 * kIn);
  k::ConcatReluNorms<kIn> norms{};
  for (int i = 0; i < kIn; ++i) {
    inputs.push_back(randomData<Elem>(n * Config::kChannels[i] * hw, 20 + i));
    inputPtrs.push_back(inputs.back().data());
    if (T::bias(i)) {
      biases.push_back(randomData<float>(Config::kChannels[i], 60 + i));
      norms.bias[i] = biases.back().data();
    }
    if (!T::batchNorm(i))
      continue;
    for (int j = 0; j < 5; ++j)
      constants.push_back(randomData<float>(Config::kChannels[i], 40 + 5 * i + j));
    const size_t at = constants.size() - 5;
    norms.mean[i] = constants[at].data();
    norms.scale[i] = constants[at + 1].data();
    norms.beta[i] = constants[at + 2].data();
  }
  const int64_t outCount = n * T::kTotalChannels * hw;
  std::vector<Elem> yTwin(outCount), yCuda(outCount, Elem{});
  const std::vector<Elem> gy = randomData<Elem>(outCount, 3);
  if (nhwc) {
    k::concatReluForwardNhwcCpu<Config>(inputPtrs.data(), yTwin.data(), n, hw,
                                        0, n * hw, &norms);
    k::concatReluForwardNhwcCuda<Config>(inputPtrs.data(), yCuda.data(), n, hw,
                                         norms, nullptr, nullptr);
  } else {
    k::concatReluForwardCpu<Config>(inputPtrs.data(), yTwin.data(), n, hw, 0,
                                    n * T::kTotalChannels, &norms);
    k::concatReluForwardCuda<Config>(inputPtrs.data(), yCuda.data(), n, hw,
                                     norms, nullptr);
  }
  EXPECT_EQ(firstDifference(yCuda, yTwin), -1) << "forward";

  std::vector<std::vector<Elem>> gxTwin, gxCuda;
  std::vector<Elem *> twinPtrs, cudaPtrs;
  for (int i = 0; i < kIn; ++i) {
    gxTwin.emplace_back(n * Config::kChannels[i] * hw);
    gxCuda.emplace_back(n * Config::kChannels[i] * hw, Elem{});
    // Input 1 wants no gradient: the launchers skip it.
    twinPtrs.push_back(i == 1 ? nullptr : gxTwin.back().data());
    cudaPtrs.push_back(i == 1 ? nullptr : gxCuda.back().data());
  }
  if (nhwc) {
    k::concatReluBackwardNhwcCpu<Config>(gy.data(), yTwin.data(),
                                         twinPtrs.data(), n, hw, 0, n * hw);
    k::concatReluBackwardNhwcCuda<Config>(gy.data(), yTwin.data(),
                                          cudaPtrs.data(), n, hw, nullptr);
  } else {
    k::concatReluBackwardCpu<Config>(gy.data(), yTwin.data(), twinPtrs.data(),
                                     n, hw, 0, n * T::kTotalChannels);
    k::concatReluBackwardCuda<Config>(gy.data(), yTwin.data(), cudaPtrs.data(),
                                      n, hw, nullptr);
  }
  for (int i = 0, bn = 0; i < kIn; ++i) {
    SCOPED_TRACE("input " + std::to_string(i));
    if (T::batchNorm(i) && twinPtrs[i]) {
      const int64_t c = Config::kChannels[i];
      const float *mean = constants[5 * bn].data(),
                  *scale = constants[5 * bn + 1].data(),
                  *meanDz = constants[5 * bn + 3].data(),
                  *coef = constants[5 * bn + 4].data();
      const Elem *x = inputs[i].data();
      if (nhwc) {
        k::concatBnReluInputGradNhwcCpu(twinPtrs[i], x, mean, scale, meanDz,
                                        coef, c, 0, n * hw);
        k::concatBnReluInputGradNhwcCuda<Config>(cudaPtrs[i], x, mean, scale,
                                                 meanDz, coef, n, c, hw,
                                                 nullptr);
      } else {
        k::concatBnReluInputGradCpu(twinPtrs[i], x, mean, scale, meanDz, coef,
                                    c, hw, 0, n * c);
        k::concatBnReluInputGradCuda<Config>(cudaPtrs[i], x, mean, scale,
                                             meanDz, coef, n, c, hw, nullptr);
      }
    }
    bn += T::batchNorm(i);
    EXPECT_EQ(firstDifference(gxCuda[i], gxTwin[i]), -1) << "backward";
  }
}

template <class Config, class Elem> void checkConcatShapes() {
  for (bool nhwc : {false, true})
    for (auto [n, hw] : std::vector<std::pair<int64_t, int64_t>>{
             {2, 12}, {3, 7}, {1, 1}, {2, 300}})
      checkConcatAgainstTwins<Config, Elem>(n, hw, nhwc);
}

TEST(EmulatedCudaConcatRelu, OddChannelsEqualTheCpuTwinsBitForBit) {
  checkConcatShapes<Odd3, float>();
  checkConcatShapes<Odd3, Bf16>();
}

TEST(EmulatedCudaConcatRelu, Float4PathsEqualTheCpuTwinsBitForBit) {
  checkConcatShapes<ByFour, float>();
}

TEST(EmulatedCudaConcatRelu, BatchNormEpiloguesEqualTheCpuTwinsBitForBit) {
  checkConcatShapes<MixedBatchNorm, float>();
  checkConcatShapes<MixedBatchNorm, Bf16>();
}

TEST(EmulatedCudaConcatRelu, BiasEpiloguesEqualTheCpuTwinsBitForBit) {
  checkConcatShapes<MixedBias, float>();
  checkConcatShapes<MixedBias, Bf16>();
  checkConcatShapes<ByFourBias, float>();
}

/// NHWC inputs that are channel slices of wider tensors (each pixel's run
/// EXTRA[i] channels longer, the slice SKIP[i] channels into it): the CUDA
/// forward reads them as the CPU twin does, and both give the bits of the
/// same inputs packed dense.
template <class Config, class Elem>
void checkConcatSlicesAgainstTwin(int64_t n, int64_t hw,
                                  const std::vector<int64_t> &extra,
                                  const std::vector<int64_t> &skip) {
  namespace k = rtml::kernels;
  using T = k::ConcatReluTraits<Config>;
  constexpr int kIn = T::kInputs;
  SCOPED_TRACE("n " + std::to_string(n) + " hw " + std::to_string(hw) +
               " extra " + std::to_string(extra[0]) + " skip " +
               std::to_string(skip[0]));
  std::vector<std::vector<Elem>> wide, dense;
  std::vector<const Elem *> slicePtrs, densePtrs;
  int64_t strides[kIn];
  for (int i = 0; i < kIn; ++i) {
    const int64_t c = Config::kChannels[i];
    strides[i] = c + extra[i];
    wide.push_back(randomData<Elem>(n * hw * strides[i], 60 + i));
    dense.emplace_back(n * hw * c);
    for (int64_t pos = 0; pos < n * hw; ++pos)
      for (int64_t ch = 0; ch < c; ++ch)
        dense[i][pos * c + ch] = wide[i][pos * strides[i] + skip[i] + ch];
    slicePtrs.push_back(wide[i].data() + skip[i]);
    densePtrs.push_back(dense[i].data());
  }
  const int64_t outCount = n * T::kTotalChannels * hw;
  std::vector<Elem> yDense(outCount), yTwin(outCount), yCuda(outCount, Elem{});
  k::concatReluForwardNhwcCpu<Config>(densePtrs.data(), yDense.data(), n, hw, 0,
                                      n * hw);
  k::concatReluForwardNhwcCpu<Config>(slicePtrs.data(), yTwin.data(), n, hw, 0,
                                      n * hw, nullptr, strides);
  k::concatReluForwardNhwcCuda<Config>(slicePtrs.data(), yCuda.data(), n, hw,
                                       k::ConcatReluNorms<kIn>{}, strides,
                                       nullptr);
  EXPECT_EQ(firstDifference(yTwin, yDense), -1) << "twin";
  EXPECT_EQ(firstDifference(yCuda, yTwin), -1) << "CUDA";
}

TEST(EmulatedCudaConcatRelu, ChannelSliceInputsEqualDenseOnesBitForBit) {
  for (auto [n, hw] :
       std::vector<std::pair<int64_t, int64_t>>{{2, 12}, {1, 1}, {3, 7}}) {
    // Strides and offsets that are multiples of 4 keep the float4 path;
    // the others take one element per thread.
    checkConcatSlicesAgainstTwin<ByFour, float>(n, hw, {4, 8}, {0, 4});
    checkConcatSlicesAgainstTwin<ByFour, float>(n, hw, {3, 1}, {1, 0});
    checkConcatSlicesAgainstTwin<Odd3, float>(n, hw, {2, 0, 5}, {1, 0, 3});
    checkConcatSlicesAgainstTwin<Odd3, Bf16>(n, hw, {2, 0, 5}, {1, 0, 3});
  }
}

/// The fused preprocessing kernel against its CPU twin: IN_CHANNELS-channel
/// images to OUT_CHANNELS at OUT_HEIGHT x OUT_WIDTH, through crops (some
/// flipped, one the whole image), in each element type and layout.
void checkPreprocessAgainstTwin(int64_t inChannels, int64_t outChannels,
                                int64_t outHeight, int64_t outWidth) {
  namespace k = rtml::kernels;
  const int64_t n = 3, inHeight = 11, inWidth = 9;
  std::mt19937 gen(7);
  std::vector<uint8_t> images(n * inChannels * inHeight * inWidth);
  for (uint8_t &v : images)
    v = static_cast<uint8_t>(gen() & 0xff);
  const std::vector<k::ImageWindow> windows = {
      {0, 0, int32_t(inHeight), int32_t(inWidth), 0},
      {2, 1, 5, 7, 1},
      {10, 8, 1, 1, 1}};
  k::PreprocessArgs a{};
  a.images = images.data();
  a.windows = windows.data();
  a.n = n;
  a.inChannels = inChannels;
  a.inHeight = inHeight;
  a.inWidth = inWidth;
  a.outChannels = outChannels;
  a.outHeight = outHeight;
  a.outWidth = outWidth;
  for (int64_t o = 0; o < outChannels; ++o) {
    a.map.bias[o] = -0.5f + 0.25f * o;
    for (int64_t c = 0; c < inChannels; ++c)
      a.map.weight[o][c] = (1.0f + o + 2 * c) / 255.0f;
  }
  const int64_t count = n * outChannels * outHeight * outWidth;
  for (bool bf16 : {false, true})
    for (bool nhwc : {false, true}) {
      SCOPED_TRACE(std::to_string(inChannels) + " to " +
                   std::to_string(outChannels) + " channels, " +
                   std::to_string(outHeight) + "x" + std::to_string(outWidth) +
                   (bf16 ? " bf16" : " float") + (nhwc ? " NHWC" : " NCHW"));
      a.bf16 = bf16;
      a.nhwc = nhwc;
      std::vector<float> twin(count, -1.0f), cuda(count, -2.0f);
      a.out = twin.data();
      k::preprocessRowsCpu(a, 0, n * outHeight);
      a.out = cuda.data();
      k::preprocessCuda(a, nullptr);
      // bf16 fills the first half of each buffer; the rest stays as set.
      EXPECT_EQ(firstDifference(cuda, twin), bf16 ? count / 2 : -1);
      if (bf16)
        EXPECT_EQ(
            firstDifference(
                std::vector<float>(cuda.begin(), cuda.begin() + count / 2),
                std::vector<float>(twin.begin(), twin.begin() + count / 2)),
            -1);
    }
}

TEST(EmulatedCudaPreprocess, EqualsTheCpuTwinBitForBit) {
  checkPreprocessAgainstTwin(3, 3, 8, 6);   // RGB, downsampled crops
  checkPreprocessAgainstTwin(1, 3, 16, 12); // gray to 3 channels, upsampled
  checkPreprocessAgainstTwin(3, 1, 4, 5);   // to grayscale
}

/// The CUDA multi-tensor SGD against the CPU pass, tensor by tensor, over
/// several steps (the first initializes the buffers). Tensor t % 3 == 1
/// has a bf16 copy and takes the copy's bf16 gradient; t % 3 == 2 has a
/// copy and an f32 gradient of its own; the copies must agree too.
void checkSgdAgainstCpu(const rtml::kernels::SgdConstants &c) {
  namespace k = rtml::kernels;
  // Sizes around the block size and one over the grid's reach (the grid
  // stride), and a tensor of one element.
  const std::vector<int64_t> sizes = {1, 255, 256, 1000,
                                      k::cuda_detail::kSgdMaxBlocks * 256 + 3};
  std::vector<std::vector<float>> pCuda, pCpu, bCuda, bCpu, grads;
  std::vector<std::vector<k::Bf16>> cCuda, cCpu, bf16Grads;
  auto toBf16 = [](const std::vector<float> &v) {
    std::vector<k::Bf16> out;
    for (float x : v)
      out.push_back(k::kernelStore<k::Bf16>(x));
    return out;
  };
  for (size_t t = 0; t < sizes.size(); ++t) {
    pCuda.push_back(randomData<float>(sizes[t], 10 + int(t)));
    pCpu.push_back(pCuda.back());
    bCuda.emplace_back(sizes[t], -99.0f); // overwritten by the first step
    bCpu.emplace_back(sizes[t], -99.0f);
    cCuda.push_back(toBf16(pCuda.back()));
    cCpu.push_back(cCuda.back());
  }
  const float rate = 0.05f;
  for (int step = 0; step < 3; ++step) {
    k::SgdTensorList list{};
    list.offsets[0] = 0;
    for (size_t t = 0; t < sizes.size(); ++t) {
      grads.push_back(randomData<float>(sizes[t], 100 * step + int(t)));
      bf16Grads.push_back(toBf16(grads.back()));
      bool copy = t % 3 != 0, bf16Grad = t % 3 == 1;
      list.params[t] = pCuda[t].data();
      list.grads[t] = bf16Grad ? nullptr : grads.back().data();
      list.bf16Grads[t] = bf16Grad ? bf16Grads.back().data() : nullptr;
      list.buffers[t] = c.momentum != 0 ? bCuda[t].data() : nullptr;
      list.copies[t] = copy ? cCuda[t].data() : nullptr;
      list.offsets[t + 1] = list.offsets[t] + sizes[t];
      rtml::detail::sgdUpdate(pCpu[t].data(), list.grads[t], list.bf16Grads[t],
                              copy ? cCpu[t].data() : nullptr,
                              c.momentum != 0 ? bCpu[t].data() : nullptr,
                              step == 0, sizes[t], c, rate);
    }
    list.count = static_cast<int>(sizes.size());
    list.initBuffers = step == 0 && c.momentum != 0 ? ~uint64_t(0) : 0;
    k::sgdMultiTensorCuda(list, c, &rate, nullptr);
  }
  auto bits = [](const std::vector<k::Bf16> &v) {
    std::vector<uint16_t> out;
    for (k::Bf16 x : v)
      out.push_back(x.bits);
    return out;
  };
  for (size_t t = 0; t < sizes.size(); ++t) {
    SCOPED_TRACE("tensor of " + std::to_string(sizes[t]));
    EXPECT_EQ(firstDifference(pCuda[t], pCpu[t]), -1);
    if (c.momentum != 0)
      EXPECT_EQ(firstDifference(bCuda[t], bCpu[t]), -1);
    if (t % 3 != 0) {
      EXPECT_EQ(bits(cCuda[t]), bits(cCpu[t]));
      EXPECT_EQ(bits(cCpu[t]), bits(toBf16(pCpu[t]))) << "the copy is the cast";
    }
  }
}

TEST(EmulatedCudaSgd, MultiTensorEqualsTheCpuPassBitForBit) {
  checkSgdAgainstCpu({0.9f, 5e-4f, false});
  checkSgdAgainstCpu({0.9f, 0.0f, true});
  checkSgdAgainstCpu({0.0f, 1e-3f, false});
}

/// The bias + ReLU kernel against its CPU twin, in both layouts and element
/// types, on dense inputs and on channel slices of a wider tensor (what
/// rtml.sibling_conv2d returns), with channel and pixel counts that take
/// the 16-byte path and ones that do not; the output's padding beyond the
/// result must stay as it was.
template <class Elem>
void checkBiasReluAgainstTwin(int64_t n, int64_t channels, int64_t pixels,
                              int64_t sliceOffset, int64_t wider) {
  namespace k = rtml::kernels;
  const int64_t total = channels + wider;
  std::vector<Elem> in = randomData<Elem>(n * total * pixels, 3);
  std::vector<float> bias(channels);
  for (int64_t c = 0; c < channels; ++c)
    bias[c] = 0.25f * static_cast<float>(c % 7) - 0.75f;
  const int64_t count = n * channels * pixels;
  for (bool nhwc : {false, true}) {
    SCOPED_TRACE(std::to_string(n) + "x" + std::to_string(channels) + "x" +
                 std::to_string(pixels) + " of " + std::to_string(total) +
                 " channels" + (nhwc ? " NHWC" : " NCHW"));
    k::BiasReluArgs a{};
    // The slice starts SLICEOFFSET channels into each image (NCHW) or pixel
    // (NHWC).
    a.in = in.data() + sliceOffset * (nhwc ? 1 : pixels);
    a.bias = bias.data();
    a.n = n;
    a.channels = channels;
    a.pixels = pixels;
    a.imageStride = total * pixels;
    a.pixelStride = nhwc ? total : 1;
    a.bf16 = std::is_same_v<Elem, Bf16>;
    a.nhwc = nhwc;
    std::vector<Elem> cuda(count + 8, kernelStore<Elem>(-7.0f)),
        twin(count + 8, kernelStore<Elem>(-7.0f));
    a.out = cuda.data();
    k::biasReluCuda(a, nullptr);
    a.out = twin.data();
    k::biasReluCpu(a, 0, k::biasReluRows(a));
    EXPECT_EQ(firstDifference(cuda, twin), -1);
    // The twin is the element function at every element.
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < channels; ++c)
        for (int64_t p = 0; p < pixels; ++p) {
          int64_t at = nhwc ? (i * pixels + p) * channels + c
                            : (i * channels + c) * pixels + p;
          int64_t from = nhwc ? i * total * pixels + p * total + sliceOffset + c
                              : (i * total + sliceOffset + c) * pixels + p;
          float want = k::biasReluValue(kernelLoad(in[from]), bias[c]);
          ASSERT_EQ(bitsOf(twin[at]), bitsOf(kernelStore<Elem>(want)))
              << "image " << i << " channel " << c << " pixel " << p;
        }
    EXPECT_EQ(bitsOf(twin[count]), bitsOf(kernelStore<Elem>(-7.0f)));
  }
}

TEST(EmulatedCudaBiasRelu, EqualsTheCpuTwinBitForBit) {
  for (bool bf16 : {false, true}) {
    SCOPED_TRACE(bf16 ? "bf16" : "float");
    auto check =
        bf16 ? checkBiasReluAgainstTwin<Bf16> : checkBiasReluAgainstTwin<float>;
    check(2, 16, 16, 0, 0); // dense, 16-byte accesses in either layout
    check(3, 5, 7, 0, 0);   // odd sizes: one element per thread
    check(2, 8, 24, 8, 8);  // a slice at an aligned offset: 16 bytes
    check(2, 6, 9, 3, 5);   // a slice at an odd offset
    check(1, 1, 1, 0, 0);
  }
}

TEST(EmulatedCudaBiasRelu, NanStaysNanAndEmptyLaunchesNothing) {
  namespace k = rtml::kernels;
  std::vector<float> in = {std::nanf(""), -1.0f, 0.5f, -0.25f};
  std::vector<float> bias = {0.0f, 0.5f};
  std::vector<float> out(4, 9.0f);
  k::BiasReluArgs a{in.data(), bias.data(), out.data(), 1,     2,
                    2,         4,           1,          false, false};
  k::biasReluCuda(a, nullptr);
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_EQ(out[1], 0.0f);
  EXPECT_EQ(out[2], 1.0f);
  EXPECT_EQ(out[3], 0.25f);
  a.n = 0;
  std::vector<float> untouched(4, 9.0f);
  a.out = untouched.data();
  k::biasReluCuda(a, nullptr);
  EXPECT_EQ(untouched, std::vector<float>(4, 9.0f));
}

/// The bias + ReLU backward's kernels against its CPU twin, bit for bit:
/// the masked gradient and the bias's, whose summation tree has one level
/// (a few elements), or several (kBiasGradFanout^3 and more rows), with the
/// 16-byte path and without, in both layouts and element types; the bias's
/// gradient is also checked against a float64 sum, and the scratch against
/// its size.
template <class Elem>
void checkBiasReluBackwardAgainstTwin(int64_t n, int64_t channels,
                                      int64_t pixels) {
  namespace k = rtml::kernels;
  const int64_t count = n * channels * pixels;
  std::vector<Elem> gradOut = randomData<Elem>(count, 5),
                    out = randomData<Elem>(count, 6);
  for (bool nhwc : {false, true}) {
    SCOPED_TRACE(std::to_string(n) + "x" + std::to_string(channels) + "x" +
                 std::to_string(pixels) + (nhwc ? " NHWC" : " NCHW"));
    k::BiasReluBackwardArgs a{};
    a.gradOut = gradOut.data();
    a.out = out.data();
    a.n = n;
    a.channels = channels;
    a.pixels = pixels;
    a.bf16 = std::is_same_v<Elem, Bf16>;
    a.nhwc = nhwc;
    const int64_t scratch = k::biasReluBackwardScratch(a);
    const float canary = -1234.5f;
    std::vector<Elem> gxCuda(count + 1, kernelStore<Elem>(-7.0f)),
        gxTwin = gxCuda;
    std::vector<float> gbCuda(channels + 1, canary),
        gbTwin = gbCuda, scratchCuda(scratch + 1, canary),
        scratchTwin = scratchCuda;
    a.gradIn = gxCuda.data();
    a.gradBias = gbCuda.data();
    a.scratch = scratchCuda.data();
    k::biasReluBackwardCuda(a, nullptr);
    a.gradIn = gxTwin.data();
    a.gradBias = gbTwin.data();
    a.scratch = scratchTwin.data();
    k::biasReluBackwardCpu(
        a, [](int64_t all, int64_t, const auto &fn) { fn(0, all); });
    EXPECT_EQ(firstDifference(gxCuda, gxTwin), -1);
    EXPECT_EQ(firstDifference(gbCuda, gbTwin), -1);
    EXPECT_EQ(gbTwin[channels], canary) << "past the bias's gradient";
    EXPECT_EQ(scratchCuda[scratch], canary) << "past the scratch";
    EXPECT_EQ(scratchTwin[scratch], canary) << "past the scratch";
    EXPECT_EQ(bitsOf(gxTwin[count]), bitsOf(kernelStore<Elem>(-7.0f)));
    std::vector<double> sums(channels, 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < channels; ++c)
        for (int64_t p = 0; p < pixels; ++p) {
          const int64_t at = nhwc ? (i * pixels + p) * channels + c
                                  : (i * channels + c) * pixels + p;
          const float want = k::biasReluGradValue(kernelLoad(out[at]),
                                                  kernelLoad(gradOut[at]));
          ASSERT_EQ(bitsOf(gxTwin[at]), bitsOf(kernelStore<Elem>(want)))
              << "image " << i << " channel " << c << " pixel " << p;
          sums[c] += want;
        }
    for (int64_t c = 0; c < channels; ++c)
      EXPECT_NEAR(gbTwin[c], sums[c],
                  1e-5 * (1.0 + std::abs(sums[c])) +
                      1e-6 * static_cast<double>(count))
          << "channel " << c;
  }
}

TEST(EmulatedCudaBiasRelu, BackwardEqualsTheCpuTwinBitForBit) {
  for (bool bf16 : {false, true}) {
    SCOPED_TRACE(bf16 ? "bf16" : "float");
    auto check = bf16 ? checkBiasReluBackwardAgainstTwin<Bf16>
                      : checkBiasReluBackwardAgainstTwin<float>;
    check(2, 16, 16);      // 16-byte accesses in either layout, 2-4 levels
    check(3, 5, 7);        // odd sizes: one element per access
    check(2, 8, 40 * 41);  // NCHW chunks with a short last one
    check(5, 16, 33 * 35); // four levels in NHWC (5775 rows)
    check(1, 3, 1);        // one level: the first writes the result
    check(0, 4, 9);        // no images: the bias's gradient is zero
    check(2, 4, 0);        // no pixels
  }
}

/// The batch norm sums' kernels against their CPU twin, bit for bit, for
/// each kind, in both layouts, with one level and several; against float64
/// sums; the scratch and the result within their sizes.
void checkBatchNormSumsAgainstTwin(int64_t n, int64_t channels,
                                   int64_t pixels) {
  namespace k = rtml::kernels;
  using k::BatchNormSum;
  const int64_t count = n * channels * pixels;
  std::vector<Bf16> dz = randomData<Bf16>(count, 7),
                    x = randomData<Bf16>(count, 8);
  std::vector<float> mean(channels);
  for (int64_t c = 0; c < channels; ++c)
    mean[c] = 0.125f * static_cast<float>(c % 5) - 0.25f;
  for (BatchNormSum kind : {BatchNormSum::Mean, BatchNormSum::CenteredSquares,
                            BatchNormSum::Gradient})
    for (bool nhwc : {false, true}) {
      SCOPED_TRACE(std::to_string(n) + "x" + std::to_string(channels) + "x" +
                   std::to_string(pixels) + (nhwc ? " NHWC" : " NCHW") +
                   " kind " + std::to_string(static_cast<int>(kind)));
      const int sums = k::batchNormSumCount(kind);
      k::BatchNormSumsArgs a{};
      a.kind = kind;
      a.x = x.data();
      a.dz = kind == BatchNormSum::Gradient ? dz.data() : nullptr;
      a.mean = kind == BatchNormSum::Mean ? nullptr : mean.data();
      a.n = n;
      a.channels = channels;
      a.pixels = pixels;
      a.nhwc = nhwc;
      const int64_t scratch = k::batchNormSumsScratch(a);
      const float canary = -1234.5f;
      std::vector<float> sumsCuda(sums * channels + 1, canary),
          sumsTwin = sumsCuda, scratchCuda(scratch + 1, canary),
          scratchTwin = scratchCuda;
      a.sums = sumsCuda.data();
      a.scratch = scratchCuda.data();
      k::batchNormSumsCuda(a, nullptr);
      a.sums = sumsTwin.data();
      a.scratch = scratchTwin.data();
      k::batchNormSumsCpu(
          a, [](int64_t all, int64_t, const auto &fn) { fn(0, all); });
      EXPECT_EQ(firstDifference(sumsCuda, sumsTwin), -1);
      EXPECT_EQ(sumsTwin[sums * channels], canary) << "past the sums";
      EXPECT_EQ(scratchCuda[scratch], canary) << "past the scratch";
      std::vector<double> want(sums * channels, 0.0);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t c = 0; c < channels; ++c)
          for (int64_t p = 0; p < pixels; ++p) {
            const int64_t at = nhwc ? (i * pixels + p) * channels + c
                                    : (i * channels + c) * pixels + p;
            const double xv = kernelLoad(x[at]), g = kernelLoad(dz[at]);
            if (kind == BatchNormSum::Mean) {
              want[c] += xv;
            } else if (kind == BatchNormSum::CenteredSquares) {
              want[c] += (xv - mean[c]) * (xv - mean[c]);
            } else {
              want[c] += g;
              want[channels + c] += g * (xv - mean[c]);
            }
          }
      const double slack = 1e-5 * static_cast<double>(count) + 1e-5;
      for (int64_t j = 0; j < sums * channels; ++j)
        EXPECT_NEAR(sumsTwin[j], want[j], slack) << "sum " << j;
    }
}

TEST(EmulatedCudaBatchNormSums, EqualTheCpuTwinBitForBit) {
  checkBatchNormSumsAgainstTwin(2, 16, 16);     // 2 levels
  checkBatchNormSumsAgainstTwin(3, 5, 7);       // odd sizes
  checkBatchNormSumsAgainstTwin(5, 6, 33 * 35); // four levels in NHWC
  checkBatchNormSumsAgainstTwin(1, 3, 1);       // one level
  checkBatchNormSumsAgainstTwin(0, 4, 9);       // no images: zeros
  checkBatchNormSumsAgainstTwin(2, 4, 0);       // no pixels: zeros
}

} // namespace
