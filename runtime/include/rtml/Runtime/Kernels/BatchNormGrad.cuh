//===- BatchNormGrad.cuh - The CUDA kernels of BatchNormGrad.h ------------===//
//
// Included by runtime/lib/BatchNormGradCuda.cu (nvcc, no torch header),
// which defines the launcher declared in BatchNormGrad.h, and by the
// suite's CUDA emulation. The tree's first level reads dz and x once, a
// thread per (segment, channel) in NHWC (consecutive threads take
// consecutive channels of a row) or per (image, channel, chunk) in NCHW;
// ChannelSums.cuh runs the further levels.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_BATCHNORMGRAD_CUH
#define RTML_RUNTIME_KERNELS_BATCHNORMGRAD_CUH

#include "rtml/Runtime/Kernels/BatchNormGrad.h"
#include "rtml/Runtime/Kernels/ChannelSums.cuh"

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace rtml::kernels {
namespace cuda_detail {

/// Adds the two values of element AT (channel C) to SUM and TERM.
__device__ __forceinline__ void batchNormGradAdd(const BatchNormGradArgs &a,
                                                 int64_t at, float mean,
                                                 float &sum, float &term) {
  const float dz = kernelLdg(a.dz + at);
  sum += dz;
  term += batchNormGradTerm(dz, kernelLdg(a.x + at), mean);
}

__global__ void __launch_bounds__(kChannelSumThreads)
    batchNormGradNhwcKernel(const BatchNormGradArgs a, float *partial,
                            int64_t segments) {
  const int64_t t = channelSumThread();
  if (t >= segments * a.channels)
    return;
  const int64_t s = t / a.channels, c = t - s * a.channels;
  int64_t first;
  const int64_t count = channelSumNhwcRows(s, a.n * a.pixels, first);
  const float mean = __ldg(a.mean + c);
  float sum = 0.0f, term = 0.0f;
  for (int64_t r = first; r < first + count; ++r)
    batchNormGradAdd(a, r * a.channels + c, mean, sum, term);
  partial[s * 2 * a.channels + c] = sum;
  partial[s * 2 * a.channels + a.channels + c] = term;
}

__global__ void __launch_bounds__(kChannelSumThreads)
    batchNormGradNchwKernel(const BatchNormGradArgs a, float *partial,
                            int64_t chunks) {
  const int64_t t = channelSumThread();
  if (t >= a.n * a.channels * chunks)
    return;
  const ChannelSumChunk run =
      channelSumNchwChunk(t, a.channels, a.pixels, chunks);
  const float mean = __ldg(a.mean + run.channel);
  float sum = 0.0f, term = 0.0f;
  for (int64_t p = 0; p < run.count; ++p)
    batchNormGradAdd(a, run.at + p, mean, sum, term);
  partial[run.segment * 2 * a.channels + run.channel] = sum;
  partial[run.segment * 2 * a.channels + a.channels + run.channel] = term;
}

} // namespace cuda_detail

/// The body of batchNormGradCuda (see BatchNormGrad.h).
inline void launchBatchNormGradCuda(const BatchNormGradArgs &a, void *stream) {
  using namespace cuda_detail;
  if (a.channels == 0)
    return;
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  const ChannelSumShape shape = a.shape();
  float *partial = channelSumFirstLevel(shape, a.scratch, a.sums);
  const int64_t segments = channelSumSegments(shape);
  // No elements: the NHWC kernel's one segment of no rows writes the zeros.
  if (a.nhwc || a.n * a.pixels == 0) {
    RTML_LAUNCH(channelSumBlocks(segments * a.channels), kChannelSumThreads, s,
                batchNormGradNhwcKernel)
    (a, partial, segments);
  } else {
    const int64_t chunks = channelSumChunks(shape);
    RTML_LAUNCH(channelSumBlocks(a.n * a.channels * chunks), kChannelSumThreads,
                s, batchNormGradNchwKernel)
    (a, partial, chunks);
  }
  channelSumInnerLevelsCuda(shape, a.scratch, a.sums, s);
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    throw std::runtime_error(
        std::string("rtml batch norm gradient sums: kernel launch failed: ") +
        cudaGetErrorString(err));
}

} // namespace rtml::kernels

#endif // RTML_RUNTIME_KERNELS_BATCHNORMGRAD_CUH
