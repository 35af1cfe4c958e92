//===- ChannelSums.cuh - The summation tree's further levels on CUDA ------===//
//
// Included by the .cu sources whose kernels fuse the first level of
// ChannelSums.h's tree (nvcc, no torch header), and by the suite's CUDA
// emulation. Each further level is one launch, a thread per (output
// segment, column): a warp reads consecutive columns of each input
// segment, so the loads are coalesced.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_CHANNELSUMS_CUH
#define RTML_RUNTIME_KERNELS_CHANNELSUMS_CUH

#include "rtml/Runtime/Kernels/ChannelSums.h"

#include <cuda_runtime.h>

namespace rtml::kernels {
namespace cuda_detail {

constexpr int kChannelSumThreads = 256;

inline unsigned channelSumBlocks(int64_t threads) {
  return static_cast<unsigned>((threads + kChannelSumThreads - 1) /
                               kChannelSumThreads);
}

/// This thread's index in a 1-D launch of kChannelSumThreads per block.
__device__ __forceinline__ int64_t channelSumThread() {
  return static_cast<int64_t>(blockIdx.x) * kChannelSumThreads + threadIdx.x;
}

/// A first-level NCHW thread's run: CHUNKS per (image, channel) row, thread
/// T taking chunk T % CHUNKS of row T / CHUNKS.
struct ChannelSumChunk {
  int64_t at;      ///< dense index of its first element
  int64_t count;   ///< its elements (kChannelSumFanout, or fewer at the end)
  int64_t channel; ///< their channel
  int64_t segment; ///< its first-level segment
};

__device__ __forceinline__ ChannelSumChunk channelSumNchwChunk(int64_t t,
                                                               int64_t channels,
                                                               int64_t pixels,
                                                               int64_t chunks) {
  const int64_t row = t / chunks, q = t - row * chunks;
  const int64_t image = row / channels, from = q * kChannelSumFanout;
  const int64_t count =
      pixels - from < kChannelSumFanout ? pixels - from : kChannelSumFanout;
  return {row * pixels + from, count, row - image * channels,
          image * chunks + q};
}

/// The rows of NHWC first-level segment S of ROWS: the first, and how many.
__device__ __forceinline__ int64_t channelSumNhwcRows(int64_t s, int64_t rows,
                                                      int64_t &first) {
  first = s * kChannelSumFanout;
  return rows - first < kChannelSumFanout ? rows - first : kChannelSumFanout;
}

/// OUT[t][k] = the sum of IN[s][k] over t's input segments, ascending.
/// Static: every .cu that includes this header gets its own copy, where one
/// kernel with external linkage in several would clash at link time.
static __global__ void __launch_bounds__(kChannelSumThreads)
    channelSumLevelKernel(const float *in, float *out, int64_t segments,
                          int64_t next, int64_t columns) {
  const int64_t t = channelSumThread();
  if (t >= next * columns)
    return;
  const int64_t o = t / columns, k = t - o * columns;
  const int64_t first = o * kChannelSumFanout;
  const int64_t last = segments - first < kChannelSumFanout
                           ? segments
                           : first + kChannelSumFanout;
  float sum = 0.0f;
  for (int64_t s = first; s < last; ++s)
    sum += in[s * columns + k];
  out[t] = sum;
}

/// Launches the levels after the first on STREAM; the launcher that ran
/// the first level checks for launch errors.
inline void channelSumInnerLevelsCuda(const ChannelSumShape &s, float *scratch,
                                      float *result, cudaStream_t stream) {
  channelSumInnerLevels(
      s, scratch, result,
      [&](int64_t segments, int64_t next, const float *in, float *out) {
        RTML_LAUNCH(channelSumBlocks(next * s.columns()), kChannelSumThreads,
                    stream, channelSumLevelKernel)
        (in, out, segments, next, s.columns());
      });
}

} // namespace cuda_detail
} // namespace rtml::kernels

#endif // RTML_RUNTIME_KERNELS_CHANNELSUMS_CUH
