//===- BiasRelu.cuh - The CUDA kernel of rtml.bias_relu -------------------===//
//
// Included by runtime/lib/BiasReluCuda.cu (nvcc, no torch header), which
// defines the launcher declared in BiasRelu.h, and by the suite's CUDA
// emulation. One thread per 16 bytes of output (4 floats or 8 bf16 values
// along the dense dimension: pixels in NCHW, channels in NHWC) where the
// strides and pointers allow it, else per element, over a grid of
// (elements of one image, images): consecutive threads touch consecutive
// addresses, each element is read once and written once, and the index
// arithmetic within an image is 32-bit when an image fits.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_BIASRELU_CUH
#define RTML_RUNTIME_KERNELS_BIASRELU_CUH

#include "rtml/Runtime/Kernels/BiasRelu.h"

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

} // namespace cuda_detail

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
