//===- BiasRelu.cuh - The CUDA kernels of rtml.bias_relu ------------------===//
//
// Included by runtime/lib/BiasReluCuda.cu (nvcc, no torch header), which
// defines the launchers declared in BiasRelu.h, and by the suite's CUDA
// emulation. One thread per 16 bytes of output (4 floats or 8 bf16 values
// along the dense dimension: pixels in NCHW, channels in NHWC) where the
// strides and pointers allow it, else per element, over a grid of
// (elements of one image, images): consecutive threads touch consecutive
// addresses, each element is read once and written once, and the index
// arithmetic within an image is 32-bit when an image fits.
//
// The backward (ChannelSums.h's summation tree) is one launch that writes the
// masked gradient and each segment's channel sums, 16 bytes per access where
// it can, then one small launch per further level of the tree: the few
// partial sums of each are read coalesced, a channel per thread.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_BIASRELU_CUH
#define RTML_RUNTIME_KERNELS_BIASRELU_CUH

#include "rtml/Runtime/Kernels/BiasRelu.h"
#include "rtml/Runtime/Kernels/ChannelSums.cuh"

#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace rtml::kernels {
namespace cuda_detail {

constexpr int kBiasReluThreads = 256;
/// Images per launch: gridDim.y is at most 65535.
constexpr int64_t kBiasReluMaxImages = 65535;

/// K elements moved as one aligned access.
template <class Elem, int K> struct alignas(sizeof(Elem) * K) BiasReluPacket {
  Elem v[K];
};

template <class Elem, int K, bool kNhwc, class Index>
__global__ void __launch_bounds__(kBiasReluThreads)
    biasReluKernel(const BiasReluArgs a, int64_t firstImage) {
  const Index perImage = static_cast<Index>(a.channels * a.pixels);
  const Index idx =
      (static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x) * K;
  if (idx >= perImage)
    return;
  const int64_t image = firstImage + blockIdx.y;
  Index c;
  int64_t inAt;
  if constexpr (kNhwc) {
    const Index pixel = idx / static_cast<Index>(a.channels);
    c = idx - pixel * static_cast<Index>(a.channels);
    inAt = image * a.imageStride + static_cast<int64_t>(pixel) * a.pixelStride +
           static_cast<int64_t>(c);
  } else {
    c = idx / static_cast<Index>(a.pixels); // K divides pixels: one channel
    inAt = image * a.imageStride + static_cast<int64_t>(idx);
  }
  const int64_t outAt = image * static_cast<int64_t>(perImage) + idx;
  using Packet = BiasReluPacket<Elem, K>;
  const Packet x =
      *reinterpret_cast<const Packet *>(static_cast<const Elem *>(a.in) + inAt);
  Packet y;
#pragma unroll
  for (int k = 0; k < K; ++k) {
    const float bias = __ldg(a.bias + c + (kNhwc ? k : 0));
    y.v[k] = kernelStore<Elem>(biasReluValue(kernelLoad(x.v[k]), bias));
  }
  *reinterpret_cast<Packet *>(static_cast<Elem *>(a.out) + outAt) = y;
}

/// The elements per thread for A: 16 bytes' worth where the dense
/// dimension, the strides and both pointers are multiples of them, else 1.
template <class Elem> int biasReluVector(const BiasReluArgs &a) {
  constexpr int kWide = 16 / sizeof(Elem);
  const int64_t run = a.nhwc ? a.channels : a.pixels;
  const bool fits = run % kWide == 0 && a.imageStride % kWide == 0 &&
                    (!a.nhwc || a.pixelStride % kWide == 0) &&
                    reinterpret_cast<uintptr_t>(a.in) % 16 == 0 &&
                    reinterpret_cast<uintptr_t>(a.out) % 16 == 0;
  return fits ? kWide : 1;
}

template <class Elem, int K, bool kNhwc>
void biasReluLaunch(const BiasReluArgs &a, cudaStream_t stream) {
  const int64_t perImage = a.channels * a.pixels;
  const int64_t threads = perImage / K;
  const unsigned blocks = static_cast<unsigned>(
      (threads + kBiasReluThreads - 1) / kBiasReluThreads);
  const bool narrow = perImage + int64_t(kBiasReluThreads) * K <= INT32_MAX;
  for (int64_t first = 0; first < a.n; first += kBiasReluMaxImages) {
    const int64_t count =
        a.n - first < kBiasReluMaxImages ? a.n - first : kBiasReluMaxImages;
    const dim3 grid(blocks, static_cast<unsigned>(count));
    if (narrow)
      RTML_LAUNCH(grid, kBiasReluThreads, stream,
                  biasReluKernel<Elem, K, kNhwc, int32_t>)
    (a, first);
    else RTML_LAUNCH(grid, kBiasReluThreads, stream,
                     biasReluKernel<Elem, K, kNhwc, int64_t>)(a, first);
  }
}

template <class Elem>
void biasReluDispatch(const BiasReluArgs &a, cudaStream_t stream) {
  constexpr int kWide = 16 / sizeof(Elem);
  const bool wide = biasReluVector<Elem>(a) == kWide;
  if (a.nhwc)
    wide ? biasReluLaunch<Elem, kWide, true>(a, stream)
         : biasReluLaunch<Elem, 1, true>(a, stream);
  else
    wide ? biasReluLaunch<Elem, kWide, false>(a, stream)
         : biasReluLaunch<Elem, 1, false>(a, stream);
}

//===----------------------------------------------------------------------===//
// Backward (BiasRelu.h): the tree's first level fused with the masked
// gradient, then one small launch per further level
//===----------------------------------------------------------------------===//

/// The backward's three tensors as packets of K elements from element AT.
template <class Elem, int K> struct BiasGradPackets {
  using Packet = BiasReluPacket<Elem, K>;
  const Packet *gradOut, *out;
  Packet *gradIn;

  __device__ BiasGradPackets(const BiasReluBackwardArgs &a, int64_t at)
      : gradOut(reinterpret_cast<const Packet *>(
            static_cast<const Elem *>(a.gradOut) + at)),
        out(reinterpret_cast<const Packet *>(static_cast<const Elem *>(a.out) +
                                             at)),
        gradIn(reinterpret_cast<Packet *>(static_cast<Elem *>(a.gradIn) + at)) {
  }

  /// Writes packet I of gradIn (gradOut's, masked) and its values into V.
  __device__ __forceinline__ void mask(int64_t i, float (&v)[K]) const {
    const Packet g = gradOut[i], o = out[i];
    Packet d;
#pragma unroll
    for (int k = 0; k < K; ++k) {
      v[k] = biasReluGradValue(kernelLoad(o.v[k]), kernelLoad(g.v[k]));
      d.v[k] = kernelStore<Elem>(v[k]);
    }
    gradIn[i] = d;
  }
};

/// NHWC first level: one thread per (segment, K channels). Consecutive
/// threads take consecutive channel groups of a row, so each row's loads
/// and stores are coalesced; the thread walks its segment's rows.
template <class Elem, int K>
__global__ void __launch_bounds__(kChannelSumThreads)
    biasGradNhwcKernel(const BiasReluBackwardArgs a, float *partial,
                       int64_t segments) {
  const int64_t groups = a.channels / K;
  const int64_t t = channelSumThread();
  if (t >= groups * segments)
    return;
  const int64_t s = t / groups, c0 = (t - s * groups) * K;
  int64_t first;
  const int64_t count = channelSumNhwcRows(s, a.n * a.pixels, first);
  const BiasGradPackets<Elem, K> run(a, first * a.channels + c0);
  const int64_t step = a.channels / K; // packets per row
  float sums[K];
#pragma unroll
  for (int k = 0; k < K; ++k)
    sums[k] = 0.0f;
  for (int64_t r = 0; r < count; ++r) {
    float v[K];
    run.mask(r * step, v);
#pragma unroll
    for (int k = 0; k < K; ++k)
      sums[k] += v[k];
  }
#pragma unroll
  for (int k = 0; k < K; ++k)
    partial[s * a.channels + c0 + k] = sums[k];
}

/// NCHW first level: one thread per (image, channel, chunk of pixels), the
/// chunks of a row on consecutive threads; each thread reads its chunk's
/// kChannelSumFanout contiguous elements, K at a time.
template <class Elem, int K>
__global__ void __launch_bounds__(kChannelSumThreads)
    biasGradNchwKernel(const BiasReluBackwardArgs a, float *partial,
                       int64_t chunks) {
  const int64_t t = channelSumThread();
  if (t >= a.n * a.channels * chunks)
    return;
  const ChannelSumChunk chunk =
      channelSumNchwChunk(t, a.channels, a.pixels, chunks);
  const BiasGradPackets<Elem, K> run(a, chunk.at);
  float sum = 0.0f;
  for (int64_t p = 0; p < chunk.count / K; ++p) {
    float v[K];
    run.mask(p, v);
#pragma unroll
    for (int k = 0; k < K; ++k)
      sum += v[k];
  }
  partial[chunk.segment * a.channels + chunk.channel] = sum;
}

/// K elements per access where the dense run (channels in NHWC, pixels in
/// NCHW) and the three pointers allow 16 bytes, else 1.
template <class Elem>
bool biasGradWide(const BiasReluBackwardArgs &a, int64_t run) {
  constexpr int kWide = 16 / sizeof(Elem);
  return run % kWide == 0 && reinterpret_cast<uintptr_t>(a.gradOut) % 16 == 0 &&
         reinterpret_cast<uintptr_t>(a.out) % 16 == 0 &&
         reinterpret_cast<uintptr_t>(a.gradIn) % 16 == 0;
}

template <class Elem>
void biasGradFirstLevel(const BiasReluBackwardArgs &a, float *partial,
                        cudaStream_t stream) {
  constexpr int kWide = 16 / sizeof(Elem);
  const int64_t segments = channelSumSegments(a.sums());
  // No elements: the NHWC kernel's one segment of no rows writes the zeros.
  if (a.nhwc || a.n * a.pixels == 0) {
    if (biasGradWide<Elem>(a, a.channels))
      RTML_LAUNCH(channelSumBlocks(segments * (a.channels / kWide)),
                  kChannelSumThreads, stream, biasGradNhwcKernel<Elem, kWide>)
    (a, partial, segments);
    else RTML_LAUNCH(channelSumBlocks(segments * a.channels),
                     kChannelSumThreads, stream,
                     biasGradNhwcKernel<Elem, 1>)(a, partial, segments);
    return;
  }
  const int64_t chunks = channelSumChunks(a.sums());
  const unsigned blocks = channelSumBlocks(a.n * a.channels * chunks);
  if (biasGradWide<Elem>(a, a.pixels))
    RTML_LAUNCH(blocks, kChannelSumThreads, stream,
                biasGradNchwKernel<Elem, kWide>)
  (a, partial, chunks);
  else RTML_LAUNCH(blocks, kChannelSumThreads, stream,
                   biasGradNchwKernel<Elem, 1>)(a, partial, chunks);
}

} // namespace cuda_detail

/// The body of biasReluBackwardCuda (see BiasRelu.h).
inline void launchBiasReluBackwardCuda(const BiasReluBackwardArgs &a,
                                       void *stream) {
  using namespace cuda_detail;
  if (a.channels == 0)
    return;
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  float *partial = channelSumFirstLevel(a.sums(), a.scratch, a.gradBias);
  if (a.bf16)
    biasGradFirstLevel<Bf16>(a, partial, s);
  else
    biasGradFirstLevel<float>(a, partial, s);
  channelSumInnerLevelsCuda(a.sums(), a.scratch, a.gradBias, s);
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    throw std::runtime_error(
        std::string("rtml bias+ReLU backward: kernel launch failed: ") +
        cudaGetErrorString(err));
}

/// The body of biasReluCuda (see BiasRelu.h).
inline void launchBiasReluCuda(const BiasReluArgs &a, void *stream) {
  using namespace cuda_detail;
  if (a.n == 0 || a.channels * a.pixels == 0)
    return;
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  if (a.bf16)
    biasReluDispatch<Bf16>(a, s);
  else
    biasReluDispatch<float>(a, s);
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    throw std::runtime_error(
        std::string("rtml bias+ReLU: kernel launch failed: ") +
        cudaGetErrorString(err));
}

} // namespace rtml::kernels

#endif // RTML_RUNTIME_KERNELS_BIASRELU_CUH
