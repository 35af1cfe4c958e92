//===- BatchNormSums.cuh - The CUDA kernels of BatchNormSums.h ------------===//
//
// Included by runtime/lib/BatchNormSumsCuda.cu (nvcc, no torch header),
// which defines the launcher declared in BatchNormSums.h, and by the
// suite's CUDA emulation. The tree's first level reads its elements once, a
// thread per (segment, channel) in NHWC (consecutive threads take
// consecutive channels of a row) or per (image, channel, chunk) in NCHW;
// ChannelSums.cuh runs the further levels.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_BATCHNORMSUMS_CUH
#define RTML_RUNTIME_KERNELS_BATCHNORMSUMS_CUH

#include "rtml/Runtime/Kernels/BatchNormSums.h"
#include "rtml/Runtime/Kernels/ChannelSums.cuh"

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace rtml::kernels {
namespace cuda_detail {

/// Adds the values of element AT (of a channel whose mean is MEAN) to SUMS.
template <BatchNormSum kKind>
__device__ __forceinline__ void
batchNormSumsAdd(const BatchNormSumsArgs &a, int64_t at, float mean,
                 float (&sums)[batchNormSumCount(kKind)]) {
  float v[batchNormSumCount(kKind)];
  batchNormSumValues<kKind>(
      kernelLdg(a.x + at),
      kKind == BatchNormSum::Gradient ? kernelLdg(a.dz + at) : 0.0f, mean, v);
#pragma unroll
  for (int j = 0; j < batchNormSumCount(kKind); ++j)
    sums[j] += v[j];
}

/// Writes SUMS as channel C's sums of first-level segment S.
template <int kSums>
__device__ __forceinline__ void batchNormSumsStore(float *partial, int64_t s,
                                                   int64_t channels, int64_t c,
                                                   const float (&sums)[kSums]) {
#pragma unroll
  for (int j = 0; j < kSums; ++j)
    partial[(s * kSums + j) * channels + c] = sums[j];
}

template <BatchNormSum kKind>
__global__ void __launch_bounds__(kChannelSumThreads)
    batchNormSumsNhwcKernel(const BatchNormSumsArgs a, float *partial,
                            int64_t segments) {
  constexpr int kSums = batchNormSumCount(kKind);
  const int64_t t = channelSumThread();
  if (t >= segments * a.channels)
    return;
  const int64_t s = t / a.channels, c = t - s * a.channels;
  int64_t first;
  const int64_t count = channelSumNhwcRows(s, a.n * a.pixels, first);
  const float mean = kKind == BatchNormSum::Mean ? 0.0f : __ldg(a.mean + c);
  float sums[kSums] = {};
  for (int64_t r = first; r < first + count; ++r)
    batchNormSumsAdd<kKind>(a, r * a.channels + c, mean, sums);
  batchNormSumsStore(partial, s, a.channels, c, sums);
}

template <BatchNormSum kKind>
__global__ void __launch_bounds__(kChannelSumThreads)
    batchNormSumsNchwKernel(const BatchNormSumsArgs a, float *partial,
                            int64_t chunks) {
  constexpr int kSums = batchNormSumCount(kKind);
  const int64_t t = channelSumThread();
  if (t >= a.n * a.channels * chunks)
    return;
  const ChannelSumChunk run =
      channelSumNchwChunk(t, a.channels, a.pixels, chunks);
  const float mean =
      kKind == BatchNormSum::Mean ? 0.0f : __ldg(a.mean + run.channel);
  float sums[kSums] = {};
  for (int64_t p = 0; p < run.count; ++p)
    batchNormSumsAdd<kKind>(a, run.at + p, mean, sums);
  batchNormSumsStore(partial, run.segment, a.channels, run.channel, sums);
}

template <BatchNormSum kKind>
void batchNormSumsFirstLevel(const BatchNormSumsArgs &a, float *partial,
                             cudaStream_t stream) {
  const ChannelSumShape shape = a.shape();
  // No elements: the NHWC kernel's one segment of no rows writes the zeros.
  if (a.nhwc || a.n * a.pixels == 0) {
    const int64_t segments = channelSumSegments(shape);
    RTML_LAUNCH(channelSumBlocks(segments * a.channels), kChannelSumThreads,
                stream, batchNormSumsNhwcKernel<kKind>)
    (a, partial, segments);
  } else {
    const int64_t chunks = channelSumChunks(shape);
    RTML_LAUNCH(channelSumBlocks(a.n * a.channels * chunks), kChannelSumThreads,
                stream, batchNormSumsNchwKernel<kKind>)
    (a, partial, chunks);
  }
}

} // namespace cuda_detail

/// The body of batchNormSumsCuda (see BatchNormSums.h).
inline void launchBatchNormSumsCuda(const BatchNormSumsArgs &a, void *stream) {
  using namespace cuda_detail;
  if (a.channels == 0)
    return;
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  const ChannelSumShape shape = a.shape();
  float *partial = channelSumFirstLevel(shape, a.scratch, a.sums);
  switch (a.kind) {
  case BatchNormSum::Mean:
    batchNormSumsFirstLevel<BatchNormSum::Mean>(a, partial, s);
    break;
  case BatchNormSum::CenteredSquares:
    batchNormSumsFirstLevel<BatchNormSum::CenteredSquares>(a, partial, s);
    break;
  case BatchNormSum::Gradient:
    batchNormSumsFirstLevel<BatchNormSum::Gradient>(a, partial, s);
    break;
  }
  channelSumInnerLevelsCuda(shape, a.scratch, a.sums, s);
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    throw std::runtime_error(
        std::string("rtml batch norm sums: kernel launch failed: ") +
        cudaGetErrorString(err));
}

} // namespace rtml::kernels

#endif // RTML_RUNTIME_KERNELS_BATCHNORMSUMS_CUH
