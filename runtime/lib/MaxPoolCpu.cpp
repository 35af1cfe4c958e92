//===- MaxPoolCpu.cpp - max_pool2d on the CPU in SSE lanes ----------------===//
#include "MaxPoolCpu.h"

#include "rtml/Runtime/Kernels/CpuLanes.h"
#include "rtml/Support/Shapes.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <limits>
#include <vector>

namespace rtml::detail {

namespace {

constexpr int64_t kMaxExactPlane = int64_t(1) << 24;

using kernels::forEachLane;
using kernels::pick;
using kernels::ScalarLanes;
using kernels::takesOverMax;

/// An index held in a float lane, stored as the caller keeps it: as an
/// integer (the op's indices) or as the float (the separable scan's rows).
template <class L, class V> void storeIndex(int64_t *p, V v) {
  L::storeInteger(p, v);
}
template <class L, class V> void storeIndex(float *p, V v) { L::store(p, v); }

/// The windows of outputs [FIRST, FIRST + lanes) of row OY, whose columns
/// [KWLO, KWHI) of the kernel are inside the plane (all of them for the
/// lanes; the clipped ones at the edges, one output at a time).
template <class L, class Index>
void poolOutputs(const float *in, int64_t width, const PoolGeometry &g,
                 int64_t rowLo, int64_t rowHi, int64_t ox, int64_t kwLo,
                 int64_t kwHi, float *out, Index *indices) {
  using V = decltype(L::load(in));
  const int64_t left = ox * g.strideW - g.padW;
  // ATen starts from -inf at the window's first position inside the plane.
  V best(-std::numeric_limits<float>::infinity());
  // Each lane's index is the window position's plus the lane's offset (whole
  // numbers below 2^24, so the float sums are exact).
  const V laneOffsets = L::iota(0.0f, float(g.strideW));
  V bestIndex = V(float(rowLo * width + left + kwLo)) + laneOffsets;
  for (int64_t ih = rowLo; ih < rowHi; ++ih)
    for (int64_t kw = kwLo; kw < kwHi; ++kw) {
      const int64_t at = ih * width + left + kw;
      V v = g.strideW == 1 ? L::load(in + at)
                           : L::loadStrided(in + at, g.strideW);
      auto wins = takesOverMax(v, best);
      best = pick(wins, v, best);
      bestIndex = pick(wins, V(float(at)) + laneOffsets, bestIndex);
    }
  L::store(out, best);
  storeIndex<L>(indices, bestIndex);
}

/// Calls OUTPUTS(lanes, ox, kwLo, kwHi) for every output column: the
/// clipped windows at both edges one at a time (ScalarLanes), the windows
/// inside the plane in lanes.
template <class Fn>
void forEachOutputColumn(int64_t width, const PoolGeometry &g, int64_t outWidth,
                         Fn &&outputs) {
  // Outputs whose window lies inside the plane horizontally: left >= 0 and
  // left + kernelW <= width.
  int64_t firstInside = (g.padW + g.strideW - 1) / g.strideW;
  int64_t endInside = width - g.kernelW + g.padW < 0
                          ? 0
                          : (width - g.kernelW + g.padW) / g.strideW + 1;
  firstInside = std::min(firstInside, outWidth);
  endInside = std::clamp(endInside, firstInside, outWidth);
  auto clipped = [&](int64_t ox) {
    const int64_t left = ox * g.strideW - g.padW;
    outputs(ScalarLanes{}, ox, std::max<int64_t>(-left, 0),
            std::min(g.kernelW, width - left));
  };
  for (int64_t ox = 0; ox < firstInside; ++ox)
    clipped(ox);
  forEachLane(endInside - firstInside, [&](auto lanes, int64_t i) {
    outputs(lanes, firstInside + i, int64_t(0), g.kernelW);
  });
  for (int64_t ox = endInside; ox < outWidth; ++ox)
    clipped(ox);
}

/// Stride 1 in both directions (the inceptions' 3x3/1 pools): the window
/// is separable. Each input row's horizontal maximum (with its flat index)
/// for every output column first, then the rows of each window. Scanning
/// row by row, each from -inf with a strict "greater, or NaN" rule, picks
/// the same element as one row-major scan of the whole window: the first
/// maximum, or the last NaN. kernelH + kernelW compares per output instead
/// of kernelH * kernelW.
void maxPoolPlaneSeparable(const float *in, int64_t height, int64_t width,
                           const PoolGeometry &g, float *out, int64_t *indices,
                           int64_t outHeight, int64_t outWidth) {
  // Per thread, reused across planes and calls: rows x outWidth maxima and
  // their indices.
  thread_local std::vector<float> scratch;
  scratch.resize(static_cast<size_t>(2 * height * outWidth));
  float *rowMax = scratch.data(), *rowIndex = rowMax + height * outWidth;
  for (int64_t ih = 0; ih < height; ++ih)
    forEachOutputColumn(
        width, g, outWidth,
        [&](auto lanes, int64_t ox, int64_t kwLo, int64_t kwHi) {
          using L = decltype(lanes);
          poolOutputs<L>(in, width, g, ih, ih + 1, ox, kwLo, kwHi,
                         rowMax + ih * outWidth + ox,
                         rowIndex + ih * outWidth + ox);
        });
  for (int64_t oy = 0; oy < outHeight; ++oy) {
    const int64_t top = oy - g.padH;
    const int64_t rowLo = std::max<int64_t>(top, 0);
    const int64_t rowHi = std::min(top + g.kernelH, height);
    // The first row's scan is where the window's scan stands after it.
    forEachLane(outWidth, [&](auto lanes, int64_t ox) {
      using L = decltype(lanes);
      auto best = L::load(rowMax + rowLo * outWidth + ox);
      auto bestIndex = L::load(rowIndex + rowLo * outWidth + ox);
      for (int64_t ih = rowLo + 1; ih < rowHi; ++ih) {
        auto v = L::load(rowMax + ih * outWidth + ox);
        auto wins = takesOverMax(v, best);
        best = pick(wins, v, best);
        bestIndex =
            pick(wins, L::load(rowIndex + ih * outWidth + ox), bestIndex);
      }
      L::store(out + oy * outWidth + ox, best);
      L::storeInteger(indices + oy * outWidth + ox, bestIndex);
    });
  }
}

} // namespace

void maxPoolPlane(const float *in, int64_t height, int64_t width,
                  const PoolGeometry &g, float *out, int64_t *indices,
                  int64_t outHeight, int64_t outWidth) {
  if (g.strideH == 1 && g.strideW == 1 && g.kernelH > 1) {
    maxPoolPlaneSeparable(in, height, width, g, out, indices, outHeight,
                          outWidth);
    return;
  }
  for (int64_t oy = 0; oy < outHeight; ++oy) {
    const int64_t top = oy * g.strideH - g.padH;
    const int64_t rowLo = std::max<int64_t>(top, 0);
    const int64_t rowHi = std::min(top + g.kernelH, height);
    float *outRow = out + oy * outWidth;
    int64_t *indexRow = indices + oy * outWidth;
    forEachOutputColumn(
        width, g, outWidth,
        [&](auto lanes, int64_t ox, int64_t kwLo, int64_t kwHi) {
          using L = decltype(lanes);
          poolOutputs<L>(in, width, g, rowLo, rowHi, ox, kwLo, kwHi,
                         outRow + ox, indexRow + ox);
        });
  }
}

namespace {

/// Forward by maxPoolPlane over every plane; backward by ATen's
/// max_pool2d_with_indices_backward from the saved indices.
struct MaxPoolFunction : torch::autograd::Function<MaxPoolFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext *ctx,
                            const at::Tensor &input, PoolGeometry g,
                            int64_t outHeight, int64_t outWidth) {
    // Named in bench --profile: this kernel runs outside ATen's dispatcher
    // (the backward is ATen's, and named by it).
    RECORD_USER_SCOPE("rtml::max_pool2d");
    const int64_t planes = input.size(0) * input.size(1);
    const int64_t height = input.size(2), width = input.size(3);
    at::Tensor out = at::empty(
        {input.size(0), input.size(1), outHeight, outWidth}, input.options());
    at::Tensor indices =
        at::empty(out.sizes(), input.options().dtype(at::kLong));
    const float *in = input.data_ptr<float>();
    float *o = out.data_ptr<float>();
    int64_t *idx = indices.data_ptr<int64_t>();
    const int64_t plane = height * width, outPlane = outHeight * outWidth;
    at::parallel_for(0, planes, 1, [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p)
        maxPoolPlane(in + p * plane, height, width, g, o + p * outPlane,
                     idx + p * outPlane, outHeight, outWidth);
    });
    ctx->save_for_backward({input, indices});
    ctx->saved_data["geometry"] =
        std::vector<int64_t>{g.kernelH, g.kernelW, g.strideH,         g.strideW,
                             g.padH,    g.padW,    g.ceilMode ? 1 : 0};
    ctx->mark_non_differentiable({indices});
    return out;
  }

  static torch::autograd::variable_list
  backward(torch::autograd::AutogradContext *ctx,
           torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    std::vector<int64_t> g = ctx->saved_data["geometry"].toIntVector();
    at::Tensor gradInput = at::max_pool2d_with_indices_backward(
        grads[0], saved[0], {g[0], g[1]}, {g[2], g[3]}, {g[4], g[5]}, {1, 1},
        g[6] != 0, saved[1]);
    return {gradInput, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

} // namespace

std::optional<at::Tensor> maxPool2dCpu(const at::Tensor &input,
                                       const PoolGeometry &g) {
  if (!input.device().is_cpu() || input.scalar_type() != at::kFloat ||
      input.dim() != 4 || !input.is_contiguous() || input.numel() == 0)
    return std::nullopt;
  if (g.kernelH < 1 || g.kernelW < 1 || g.strideH < 1 || g.strideW < 1 ||
      g.padH < 0 || g.padW < 0 || g.padH > g.kernelH / 2 ||
      g.padW > g.kernelW / 2)
    return std::nullopt;
  int64_t outHeight =
      poolOutputSize(input.size(2), g.kernelH, g.strideH, g.padH, g.ceilMode);
  int64_t outWidth =
      poolOutputSize(input.size(3), g.kernelW, g.strideW, g.padW, g.ceilMode);
  // The lanes hold an index into the plane in a float: exact below 2^24.
  if (outHeight < 1 || outWidth < 1 ||
      input.size(2) * input.size(3) > kMaxExactPlane)
    return std::nullopt;
  return MaxPoolFunction::apply(input, g, outHeight, outWidth);
}

} // namespace rtml::detail
