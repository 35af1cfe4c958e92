//===- ChannelSums.h - Per-channel sums in an order fixed by the shape ----===//
//
// The reductions of the fused kernels' backward passes (a bias's gradient,
// a batch norm's weight and bias gradients) are sums over the images and
// pixels of each channel of an [n, channels, pixels] tensor, dense in NCHW
// ((i * channels + c) * pixels + p) or NHWC ((i * pixels + p) * channels + c).
// They are summed in float, in an order that depends on the shape alone, so
// that a CPU twin and its CUDA kernels agree bit for bit and the CPU's result
// is the same for any thread count: a tree of fan-out kChannelSumFanout.
//
// Its first level sums runs of the tensor:
//   NHWC: segment s is the rows s*F .. s*F+F-1 of the [n * pixels, channels]
//         matrix (the last segment may be short);
//   NCHW: segment s = i * chunks + q is image i's pixels q*F .. q*F+F-1,
//         chunks = ceil(pixels / F) per image;
// partial[s][j * channels + c] being the j-th of the tree's SUMS sums of
// channel c's elements of segment s, in ascending order. Each further level
// sums F consecutive segments of the one before, in ascending order, until
// one remains: the result, [sums][channels]. Each sum starts at 0 and adds
// one value at a time.
//
// The first level is fused into the kernel that reads the tensor (it may
// also write a result per element); the further levels are
// channelSumLevelCpu here and one small launch each on CUDA
// (ChannelSums.cuh).
//
// No torch header: compiled as plain C++17 and by nvcc.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_CHANNELSUMS_H
#define RTML_RUNTIME_KERNELS_CHANNELSUMS_H

#include "rtml/Runtime/Kernels/HostDevice.h"

#include <algorithm>
#include <cstdint>

namespace rtml::kernels {

/// Fan-out of the summation tree.
constexpr int64_t kChannelSumFanout = 16;

/// The tensor a tree sums, and how many sums it takes per channel.
struct ChannelSumShape {
  int64_t n, channels, pixels;
  bool nhwc;
  int sums;

  /// Columns of each level's [segments, columns] sums.
  int64_t columns() const { return sums * channels; }
};

RTML_HOST_DEVICE inline int64_t channelSumCeilDiv(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

/// NCHW: the first level's segments per image.
inline int64_t channelSumChunks(const ChannelSumShape &s) {
  return channelSumCeilDiv(s.pixels, kChannelSumFanout);
}

/// Segments of the first level: at least one, also for no elements, so that
/// the result is always written (zeros).
inline int64_t channelSumSegments(const ChannelSumShape &s) {
  int64_t segments = s.nhwc
                         ? channelSumCeilDiv(s.n * s.pixels, kChannelSumFanout)
                         : s.n * channelSumChunks(s);
  return segments > 0 ? segments : 1;
}

/// Where the first level's sums go: SCRATCH, or RESULT where that level is
/// the only one.
inline float *channelSumFirstLevel(const ChannelSumShape &s, float *scratch,
                                   float *result) {
  return channelSumSegments(s) > 1 ? scratch : result;
}

/// Calls LEVEL(SEGMENTS, NEXT, IN, OUT) for each level after the first, in
/// order: it sums IN's SEGMENTS segments into OUT's NEXT. Each level's sums
/// follow the one before it in SCRATCH; the last level's are RESULT.
template <class Level>
void channelSumInnerLevels(const ChannelSumShape &s, float *scratch,
                           float *result, Level &&level) {
  float *in = channelSumFirstLevel(s, scratch, result);
  for (int64_t segments = channelSumSegments(s); segments > 1;) {
    const int64_t next = channelSumCeilDiv(segments, kChannelSumFanout);
    float *out = next > 1 ? in + segments * s.columns() : result;
    level(segments, next, static_cast<const float *>(in), out);
    in = out;
    segments = next;
  }
}

/// Scratch floats a tree over S needs: the sums of every level but the last.
inline int64_t channelSumScratch(const ChannelSumShape &s) {
  int64_t floats = 0;
  for (int64_t segments = channelSumSegments(s); segments > 1;
       segments = channelSumCeilDiv(segments, kChannelSumFanout))
    floats += segments * s.columns();
  return floats;
}

/// The first level on the CPU, segments [BEGIN, END), into PARTIAL.
/// VALUES(AT, C, V) gives the SUMS values V[0..] of the element at dense
/// index AT, of channel C (and may write that element's results); it is
/// called in each segment's order.
template <int kSums, class Values>
void channelSumFirstLevelCpu(const ChannelSumShape &s, float *partial,
                             int64_t begin, int64_t end, Values &&values) {
  const int64_t c = s.channels;
  for (int64_t seg = begin; seg < end; ++seg) {
    float *sums = partial + seg * kSums * c;
    for (int64_t j = 0; j < kSums * c; ++j)
      sums[j] = 0.0f;
    float v[kSums];
    if (s.nhwc) {
      const int64_t rows = s.n * s.pixels;
      const int64_t last = std::min(rows, (seg + 1) * kChannelSumFanout);
      for (int64_t r = seg * kChannelSumFanout; r < last; ++r)
        for (int64_t ch = 0; ch < c; ++ch) {
          values(r * c + ch, ch, v);
          for (int j = 0; j < kSums; ++j)
            sums[j * c + ch] += v[j];
        }
      continue;
    }
    const int64_t chunks = channelSumChunks(s);
    if (seg >= s.n * chunks) // the one segment of no elements
      continue;
    const int64_t i = seg / chunks, q = seg % chunks;
    const int64_t from = q * kChannelSumFanout;
    const int64_t to = std::min(s.pixels, from + kChannelSumFanout);
    for (int64_t ch = 0; ch < c; ++ch) {
      const int64_t row = (i * c + ch) * s.pixels;
      for (int64_t p = from; p < to; ++p) {
        values(row + p, ch, v);
        for (int j = 0; j < kSums; ++j)
          sums[j * c + ch] += v[j];
      }
    }
  }
}

/// One further level on the CPU, output segments [BEGIN, END): OUT[t][k] =
/// the sum of IN[s][k] over s in [t * F, min(t * F + F, SEGMENTS)),
/// ascending, for each of the COLUMNS k.
inline void channelSumLevelCpu(const float *in, float *out, int64_t segments,
                               int64_t columns, int64_t begin, int64_t end) {
  for (int64_t t = begin; t < end; ++t) {
    float *sums = out + t * columns;
    for (int64_t k = 0; k < columns; ++k)
      sums[k] = 0.0f;
    const int64_t last = std::min(segments, (t + 1) * kChannelSumFanout);
    for (int64_t seg = t * kChannelSumFanout; seg < last; ++seg)
      for (int64_t k = 0; k < columns; ++k)
        sums[k] += in[seg * columns + k];
  }
}

/// The whole tree on the CPU: RESULT ([kSums][channels]) from VALUES (as
/// channelSumFirstLevelCpu's), with channelSumScratch(S) floats of SCRATCH.
/// PARALLELFOR(COUNT, GRAIN, FN) runs FN(BEGIN, END) over disjoint ranges
/// covering [0, COUNT), serially or at::parallel_for: each range's sums are
/// its own, so the result is the same either way.
template <int kSums, class Values, class ParallelFor>
void channelSumsCpu(const ChannelSumShape &s, float *scratch, float *result,
                    Values &&values, ParallelFor &&parallelFor) {
  if (s.channels == 0)
    return;
  float *partial = channelSumFirstLevel(s, scratch, result);
  const int64_t grain =
      std::max<int64_t>(1, 32768 / (s.channels * kChannelSumFanout));
  parallelFor(channelSumSegments(s), grain, [&](int64_t begin, int64_t end) {
    channelSumFirstLevelCpu<kSums>(s, partial, begin, end, values);
  });
  channelSumInnerLevels(
      s, scratch, result,
      [&](int64_t segments, int64_t next, const float *in, float *out) {
        parallelFor(next, grain, [&](int64_t begin, int64_t end) {
          channelSumLevelCpu(in, out, segments, s.columns(), begin, end);
        });
      });
}

} // namespace rtml::kernels

#endif // RTML_RUNTIME_KERNELS_CHANNELSUMS_H
