//===- ConcatRelu.cuh - CUDA kernels of the fused concat of ReLUs ---------===//
//
// Included by a model's kernels.cu (compiled by nvcc, never with torch
// headers), which instantiates the launchers declared in ConcatRelu.h for
// each of its configs:
//
//   #include "kernels.h"
//   #include "rtml/Runtime/Kernels/ConcatRelu.cuh"
//   RTML_INSTANTIATE_CONCAT_RELU_CUDA(ConcatReluConfig_0)
//
// One thread per output element (or per 4 consecutive elements of one
// channel, as one float4, when hw is a multiple of 4 and every pointer is
// 16-byte aligned), over a grid of (elements of one image, images): the
// output channel of an element selects its input among the config's
// offsets, which reach the kernel by value (a ConcatReluLayout in the
// kernel's parameters), with the input pointers. Consecutive threads touch
// consecutive addresses of the output and of one input, so every access of a
// warp is coalesced; each element is read once and written once. The bf16
// variant (ConcatRelu.h) takes one element per thread.
//
// NHWC (channels_last, the *Nhwc launchers): the same, with the output
// channel of an element its index modulo the total channels; float4 (float
// only, as in NCHW) when every input's channel count (and, in the forward,
// pixel stride) is a multiple of 4. One
// kernel body serves every (element type, layout) pair: the layout only
// changes where an element's input and channel are (concatReluLocate).
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_CONCATRELU_CUH
#define RTML_RUNTIME_KERNELS_CONCATRELU_CUH

#include "rtml/Runtime/Kernels/ConcatRelu.h"

#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace rtml::kernels {
namespace cuda_detail {

constexpr int kConcatReluThreads = 256;
/// Images per launch: gridDim.y is at most 65535.
constexpr int64_t kConcatReluMaxImages = 65535;
/// Elements per thread where the layout allows: 4 (one float4) for float, 1
/// for bf16.
template <class Elem>
constexpr int kConcatReluVec = std::is_same_v<Elem, float> ? 4 : 1;

inline void concatReluCheckLaunch(const char *what) {
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    throw std::runtime_error(std::string("rtml concat+ReLU: ") + what +
                             " launch failed: " + cudaGetErrorString(err));
}

/// Everything a kernel needs to find an element's input, by value.
template <class Pointer, int kInputs> struct ConcatReluArgs {
  Pointer inputs[kInputs]; // the inputs (forward) or their gradients
  ConcatReluLayout<kInputs> layout;
  // NHWC: elements from one pixel's channels of an input to the next's (its
  // channels where dense; more for a channel slice of a wider tensor).
  int64_t pixelStrides[kInputs];
};

/// The input holding output channel CH: its pointer, channels, offset and
/// pixel stride, chosen by an unrolled compare chain (no dynamic indexing of
/// the parameters, which would spill them to local memory).
template <class Pointer, int kInputs>
__device__ __forceinline__ void
concatReluSelect(const ConcatReluArgs<Pointer, kInputs> &args, int64_t ch,
                 Pointer &ptr, int64_t &channels, int64_t &offset,
                 int64_t &pixelStride) {
  ptr = args.inputs[0];
  channels = args.layout.channels[0];
  offset = 0;
  pixelStride = args.pixelStrides[0];
#pragma unroll
  for (int i = 1; i < kInputs; ++i)
    if (ch >= args.layout.offsets[i]) {
      ptr = args.inputs[i];
      channels = args.layout.channels[i];
      offset = args.layout.offsets[i];
      pixelStride = args.pixelStrides[i];
    }
}

/// Element (or first of kVec elements) IDX of image FIRSTIMAGE + blockIdx.y:
/// its output channel and the offsets of it in the image's output and in
/// the image's block of its input. Index is 32-bit when an image fits.
/// kNhwc: the image is [hw, total channels] in memory, and each input's
/// [hw, channels] with its pixel stride; CH is the element's output
/// channel.
template <bool kNhwc, class Index, class Pointer, int kInputs>
__device__ __forceinline__ bool
concatReluLocate(const ConcatReluArgs<Pointer, kInputs> &args, Index idx,
                 Index perImage, Index hw, int64_t image, Pointer &ptr,
                 int64_t &outAt, int64_t &inAt, Index &ch) {
  if (idx >= perImage)
    return false;
  int64_t channels, offset, pixelStride;
  outAt = image * static_cast<int64_t>(perImage) + idx;
  if constexpr (kNhwc) {
    const Index total = perImage / hw, pixel = idx / total;
    ch = idx - pixel * total;
    concatReluSelect(args, static_cast<int64_t>(ch), ptr, channels, offset,
                     pixelStride);
    inAt = (image * static_cast<int64_t>(hw) + pixel) * pixelStride +
           (static_cast<int64_t>(ch) - offset);
  } else {
    ch = idx / hw;
    concatReluSelect(args, static_cast<int64_t>(ch), ptr, channels, offset,
                     pixelStride);
    inAt = image * channels * static_cast<int64_t>(hw) +
           (static_cast<int64_t>(idx) - offset * static_cast<int64_t>(hw));
  }
  return true;
}

/// The batch norm constants of output channel CH's input, at its own
/// channel (all null for a plain ReLU input), and its convolution bias
/// there (null: none), by the same compare chain.
template <int kInputs>
__device__ __forceinline__ void
concatReluSelectNorm(const ConcatReluNorms<kInputs> &norms,
                     const ConcatReluLayout<kInputs> &layout, int64_t ch,
                     const float *&mean, const float *&scale,
                     const float *&beta, const float *&bias) {
  mean = norms.mean[0];
  scale = norms.scale[0];
  beta = norms.beta[0];
  bias = norms.bias[0];
  int64_t offset = 0;
#pragma unroll
  for (int i = 1; i < kInputs; ++i)
    if (ch >= layout.offsets[i]) {
      mean = norms.mean[i];
      scale = norms.scale[i];
      beta = norms.beta[i];
      bias = norms.bias[i];
      offset = layout.offsets[i];
    }
  if (mean) {
    mean += ch - offset;
    scale += ch - offset;
    beta += ch - offset;
  }
  if (bias)
    bias += ch - offset;
}

/// kNorm: some input has a batch norm or a convolution bias (NORMS is read
/// at all). Elem: float or Bf16 in memory (float arithmetic). kNhwc: NHWC
/// data (see concatReluLocate).
template <class Index, int kVec, int kInputs, bool kNorm, class Elem,
          bool kNhwc>
__global__ void __launch_bounds__(kConcatReluThreads)
    concatReluForwardKernel(ConcatReluArgs<const Elem *, kInputs> args,
                            ConcatReluNorms<kInputs> norms,
                            Elem *__restrict__ output, Index perImage,
                            Index hw, int64_t firstImage) {
  static_assert(kVec == 1 || std::is_same_v<Elem, float>,
                "float4 takes floats");
  const Index idx =
      (static_cast<Index>(blockIdx.x) * kConcatReluThreads + threadIdx.x) *
      kVec;
  const Elem *x;
  int64_t outAt, inAt;
  Index ch;
  if (!concatReluLocate<kNhwc>(args, idx, perImage, hw,
                               firstImage + blockIdx.y, x, outAt, inAt, ch))
    return;
  const float *mean = nullptr, *scale = nullptr, *beta = nullptr,
              *bias = nullptr;
  if constexpr (kNorm)
    concatReluSelectNorm(norms, args.layout, static_cast<int64_t>(ch), mean,
                         scale, beta, bias);
  // With kVec == 4 in NCHW, hw % 4 == 0: the 4 elements share one channel.
  auto activate = [&](float v) {
    return mean
               ? concatBnReluActivate(v, __ldg(mean), __ldg(scale), __ldg(beta))
           : bias ? concatBiasReluActivate(v, __ldg(bias))
                  : reluOf(v);
  };
  if constexpr (kVec == 4 && kNhwc) {
    // Every C_i % 4 == 0: 4 consecutive channels of one input and pixel.
    float4 v = __ldg(reinterpret_cast<const float4 *>(x + inAt));
    auto activateAt = [&](float value, int k) {
      return mean   ? concatBnReluActivate(value, __ldg(mean + k),
                                           __ldg(scale + k), __ldg(beta + k))
             : bias ? concatBiasReluActivate(value, __ldg(bias + k))
                    : reluOf(value);
    };
    v.x = activateAt(v.x, 0);
    v.y = activateAt(v.y, 1);
    v.z = activateAt(v.z, 2);
    v.w = activateAt(v.w, 3);
    *reinterpret_cast<float4 *>(output + outAt) = v;
  } else if constexpr (kVec == 4) {
    float4 v = __ldg(reinterpret_cast<const float4 *>(x + inAt));
    v.x = activate(v.x);
    v.y = activate(v.y);
    v.z = activate(v.z);
    v.w = activate(v.w);
    *reinterpret_cast<float4 *>(output + outAt) = v;
  } else {
    output[outAt] = kernelStore<Elem>(activate(kernelLdg(x + inAt)));
  }
}

template <class Index, int kVec, int kInputs, class Elem, bool kNhwc>
__global__ void __launch_bounds__(kConcatReluThreads)
    concatReluBackwardKernel(ConcatReluArgs<Elem *, kInputs> args,
                             const Elem *__restrict__ gradOutput,
                             const Elem *__restrict__ output, Index perImage,
                             Index hw, int64_t firstImage) {
  static_assert(kVec == 1 || std::is_same_v<Elem, float>,
                "float4 takes floats");
  const Index idx =
      (static_cast<Index>(blockIdx.x) * kConcatReluThreads + threadIdx.x) *
      kVec;
  Elem *gx;
  int64_t outAt, inAt;
  Index ch;
  if (!concatReluLocate<kNhwc>(args, idx, perImage, hw,
                               firstImage + blockIdx.y, gx, outAt, inAt, ch) ||
      !gx)
    return;
  if constexpr (kVec == 4) {
    const float4 g = __ldg(reinterpret_cast<const float4 *>(gradOutput + outAt));
    const float4 y = __ldg(reinterpret_cast<const float4 *>(output + outAt));
    float4 r;
    r.x = zeroWhereNonPositive(y.x, g.x);
    r.y = zeroWhereNonPositive(y.y, g.y);
    r.z = zeroWhereNonPositive(y.z, g.z);
    r.w = zeroWhereNonPositive(y.w, g.w);
    *reinterpret_cast<float4 *>(gx + inAt) = r;
  } else {
    gx[inAt] = kernelStore<Elem>(zeroWhereNonPositive(
        kernelLdg(output + outAt), kernelLdg(gradOutput + outAt)));
  }
}

inline bool concatReluAligned(const void *p) {
  return p == nullptr || reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}

/// Launches KERNEL<Index, kVec> over every image in chunks of at most
/// kConcatReluMaxImages, with float4 accesses when RUN % 4 == 0 and ALIGNED.
/// RUN: the length of the runs of elements that share an input and a
/// channel (NCHW: hw) or an input and a pixel (NHWC: a divisor of every C_i).
template <int kInputs, class Args, class Launch>
void concatReluLaunch(int64_t n, int64_t perImage, int64_t run, bool aligned,
                      Launch &&launch) {
  const int vec = (run % 4 == 0 && aligned) ? 4 : 1;
  const int64_t threads = (perImage + vec - 1) / vec;
  const unsigned blocks = static_cast<unsigned>(
      (threads + kConcatReluThreads - 1) / kConcatReluThreads);
  const bool narrow = perImage + kConcatReluThreads * 4 <= INT32_MAX;
  for (int64_t first = 0; first < n; first += kConcatReluMaxImages) {
    const int64_t count =
        n - first < kConcatReluMaxImages ? n - first : kConcatReluMaxImages;
    dim3 grid(blocks, static_cast<unsigned>(count));
    launch(grid, first, vec, narrow);
  }
}

} // namespace cuda_detail

namespace cuda_detail {
/// 4 when every input's channel count is a multiple of 4 (NHWC float4
/// accesses then never straddle two inputs), else 1.
template <class Config> constexpr int64_t concatReluNhwcRun() {
  using T = ConcatReluTraits<Config>;
  for (int i = 0; i < T::kInputs; ++i)
    if (Config::kChannels[i] % 4 != 0)
      return 1;
  return 4;
}

/// PIXELSTRIDES (NHWC only; null: dense inputs) as concatReluForwardNhwcCpu.
template <class Config, class Elem, bool kNhwc>
void concatReluForward(
    const Elem *const *inputs, Elem *output, int64_t n, int64_t hw,
    const ConcatReluNorms<ConcatReluTraits<Config>::kInputs> &norms,
    const int64_t *pixelStrides, void *stream) {
  using T = ConcatReluTraits<Config>;
  const int64_t perImage = T::kTotalChannels * hw;
  if (n == 0 || perImage == 0)
    return;
  ConcatReluArgs<const Elem *, T::kInputs> args;
  args.layout = T::layout();
  // bf16 never takes the float4 path: "not aligned" keeps vec at 1.
  constexpr int kVec = kConcatReluVec<Elem>;
  bool aligned = kVec == 4 && concatReluAligned(output);
  for (int i = 0; i < T::kInputs; ++i) {
    args.inputs[i] = inputs[i];
    args.pixelStrides[i] =
        pixelStrides ? pixelStrides[i] : args.layout.channels[i];
    // A float4 of 4 channels stays inside one pixel's run of its input.
    aligned = aligned && concatReluAligned(inputs[i]) &&
              (!kNhwc || args.pixelStrides[i] % 4 == 0);
  }
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  concatReluLaunch<T::kInputs, decltype(args)>(
      n, perImage, kNhwc ? concatReluNhwcRun<Config>() : hw, aligned,
      [&](dim3 grid, int64_t first, int vec, bool narrow) {
        constexpr bool kNorm = T::kBatchNorms > 0 || T::kBiases > 0;
        constexpr int kIn = T::kInputs;
        if (narrow && vec == 4)
          RTML_LAUNCH(
              grid, kConcatReluThreads, s,
              concatReluForwardKernel<uint32_t, kVec, kIn, kNorm, Elem, kNhwc>)
        (args, norms, output, static_cast<uint32_t>(perImage),
         static_cast<uint32_t>(hw), first);
        else if (narrow) RTML_LAUNCH(
            grid, kConcatReluThreads, s,
            concatReluForwardKernel<uint32_t, 1, kIn, kNorm, Elem, kNhwc>)(
            args, norms, output, static_cast<uint32_t>(perImage),
            static_cast<uint32_t>(hw), first);
        else if (vec == 4) RTML_LAUNCH(
            grid, kConcatReluThreads, s,
            concatReluForwardKernel<int64_t, kVec, kIn, kNorm, Elem, kNhwc>)(
            args, norms, output, perImage, hw, first);
        else RTML_LAUNCH(
            grid, kConcatReluThreads, s,
            concatReluForwardKernel<int64_t, 1, kIn, kNorm, Elem, kNhwc>)(
            args, norms, output, perImage, hw, first);
        concatReluCheckLaunch("forward");
      });
}

template <class Config, class Elem, bool kNhwc>
void concatReluBackward(const Elem *gradOutput, const Elem *output,
                        Elem *const *gradInputs, int64_t n, int64_t hw,
                        void *stream) {
  using T = ConcatReluTraits<Config>;
  const int64_t perImage = T::kTotalChannels * hw;
  if (n == 0 || perImage == 0)
    return;
  ConcatReluArgs<Elem *, T::kInputs> args;
  args.layout = T::layout();
  constexpr int kVec = kConcatReluVec<Elem>;
  bool aligned =
      kVec == 4 && concatReluAligned(gradOutput) && concatReluAligned(output);
  for (int i = 0; i < T::kInputs; ++i) {
    args.inputs[i] = gradInputs[i]; // dense
    args.pixelStrides[i] = args.layout.channels[i];
    aligned = aligned && concatReluAligned(gradInputs[i]);
  }
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  concatReluLaunch<T::kInputs, decltype(args)>(
      n, perImage, kNhwc ? concatReluNhwcRun<Config>() : hw, aligned,
      [&](dim3 grid, int64_t first, int vec, bool narrow) {
        constexpr int kIn = T::kInputs;
        if (narrow && vec == 4)
          RTML_LAUNCH(
              grid, kConcatReluThreads, s,
              concatReluBackwardKernel<uint32_t, kVec, kIn, Elem, kNhwc>)
        (args, gradOutput, output, static_cast<uint32_t>(perImage),
         static_cast<uint32_t>(hw), first);
        else if (narrow) RTML_LAUNCH(
            grid, kConcatReluThreads, s,
            concatReluBackwardKernel<uint32_t, 1, kIn, Elem, kNhwc>)(
            args, gradOutput, output, static_cast<uint32_t>(perImage),
            static_cast<uint32_t>(hw), first);
        else if (vec == 4) RTML_LAUNCH(
            grid, kConcatReluThreads, s,
            concatReluBackwardKernel<int64_t, kVec, kIn, Elem, kNhwc>)(
            args, gradOutput, output, perImage, hw, first);
        else RTML_LAUNCH(
            grid, kConcatReluThreads, s,
            concatReluBackwardKernel<int64_t, 1, kIn, Elem, kNhwc>)(
            args, gradOutput, output, perImage, hw, first);
        concatReluCheckLaunch("backward");
      });
}
} // namespace cuda_detail

template <class Config, class Elem>
void concatReluForwardCuda(
    const Elem *const *inputs, Elem *output, int64_t n, int64_t hw,
    const ConcatReluNorms<ConcatReluTraits<Config>::kInputs> &norms,
    void *stream) {
  cuda_detail::concatReluForward<Config, Elem, false>(inputs, output, n, hw,
                                                      norms, nullptr, stream);
}

template <class Config, class Elem>
void concatReluForwardNhwcCuda(
    const Elem *const *inputs, Elem *output, int64_t n, int64_t hw,
    const ConcatReluNorms<ConcatReluTraits<Config>::kInputs> &norms,
    const int64_t *pixelStrides, void *stream) {
  cuda_detail::concatReluForward<Config, Elem, true>(
      inputs, output, n, hw, norms, pixelStrides, stream);
}

template <class Config, class Elem>
void concatReluBackwardCuda(const Elem *gradOutput, const Elem *output,
                            Elem *const *gradInputs, int64_t n, int64_t hw,
                            void *stream) {
  cuda_detail::concatReluBackward<Config, Elem, false>(
      gradOutput, output, gradInputs, n, hw, stream);
}

template <class Config, class Elem>
void concatReluBackwardNhwcCuda(const Elem *gradOutput, const Elem *output,
                                Elem *const *gradInputs, int64_t n, int64_t hw,
                                void *stream) {
  cuda_detail::concatReluBackward<Config, Elem, true>(
      gradOutput, output, gradInputs, n, hw, stream);
}

namespace cuda_detail {
/// One thread per element of GRAD ([n, channels, hw], or [n, hw, channels]
/// with kNhwc), grid-stride; a template, as its launcher, so that a header
/// can define it.
template <class Config, class Elem, bool kNhwc>
__global__ void __launch_bounds__(kConcatReluThreads)
    concatBnReluInputGradKernel(Elem *__restrict__ grad,
                                const Elem *__restrict__ x,
                                const float *__restrict__ mean,
                                const float *__restrict__ scale,
                                const float *__restrict__ meanDz,
                                const float *__restrict__ xhatCoef,
                                int64_t total, int64_t channels, int64_t hw) {
  for (int64_t e =
           static_cast<int64_t>(blockIdx.x) * kConcatReluThreads + threadIdx.x;
       e < total; e += static_cast<int64_t>(gridDim.x) * kConcatReluThreads) {
    const int64_t c = kNhwc ? e % channels : (e / hw) % channels;
    grad[e] = kernelStore<Elem>(concatBnReluInputGrad(
        kernelLoad(grad[e]), kernelLdg(x + e), __ldg(mean + c),
        __ldg(scale + c), __ldg(meanDz + c), __ldg(xhatCoef + c)));
  }
}

template <class Config, class Elem, bool kNhwc>
void concatBnReluInputGrad(Elem *grad, const Elem *x, const float *mean,
                           const float *scale, const float *meanDz,
                           const float *xhatCoef, int64_t n, int64_t channels,
                           int64_t hw, void *stream) {
  const int64_t total = n * channels * hw;
  if (total == 0)
    return;
  // Grid-stride beyond 2^16 blocks: enough to fill any GPU.
  const int64_t blocks = (total + kConcatReluThreads - 1) / kConcatReluThreads;
  const unsigned grid = static_cast<unsigned>(blocks < 65536 ? blocks : 65536);
  RTML_LAUNCH(grid, kConcatReluThreads, static_cast<cudaStream_t>(stream),
              concatBnReluInputGradKernel<Config, Elem, kNhwc>)
  (grad, x, mean, scale, meanDz, xhatCoef, total, channels, hw);
  concatReluCheckLaunch("batch norm backward");
}
} // namespace cuda_detail

template <class Config, class Elem>
void concatBnReluInputGradCuda(Elem *grad, const Elem *x, const float *mean,
                               const float *scale, const float *meanDz,
                               const float *xhatCoef, int64_t n,
                               int64_t channels, int64_t hw, void *stream) {
  cuda_detail::concatBnReluInputGrad<Config, Elem, false>(
      grad, x, mean, scale, meanDz, xhatCoef, n, channels, hw, stream);
}

template <class Config, class Elem>
void concatBnReluInputGradNhwcCuda(Elem *grad, const Elem *x, const float *mean,
                                   const float *scale, const float *meanDz,
                                   const float *xhatCoef, int64_t n,
                                   int64_t channels, int64_t hw, void *stream) {
  cuda_detail::concatBnReluInputGrad<Config, Elem, true>(
      grad, x, mean, scale, meanDz, xhatCoef, n, channels, hw, stream);
}

} // namespace rtml::kernels

/// Explicit instantiations of the launchers (NCHW and NHWC) for CONFIG and
/// element ELEM, at global scope in a .cu file that has CONFIG's definition.
#define RTML_INSTANTIATE_CONCAT_RELU_CUDA_ELEM(Config, Elem)                   \
  template void ::rtml::kernels::concatReluForwardCuda<Config, Elem>(          \
      const Elem *const *, Elem *, int64_t, int64_t,                           \
      const ::rtml::kernels::ConcatReluNorms<                                  \
          ::rtml::kernels::ConcatReluTraits<Config>::kInputs> &,               \
      void *);                                                                 \
  template void ::rtml::kernels::concatReluBackwardCuda<Config, Elem>(         \
      const Elem *, const Elem *, Elem *const *, int64_t, int64_t, void *);    \
  template void ::rtml::kernels::concatBnReluInputGradCuda<Config, Elem>(      \
      Elem *, const Elem *, const float *, const float *, const float *,       \
      const float *, int64_t, int64_t, int64_t, void *);                       \
  template void ::rtml::kernels::concatReluForwardNhwcCuda<Config, Elem>(      \
      const Elem *const *, Elem *, int64_t, int64_t,                           \
      const ::rtml::kernels::ConcatReluNorms<                                  \
          ::rtml::kernels::ConcatReluTraits<Config>::kInputs> &,               \
      const int64_t *, void *);                                                \
  template void ::rtml::kernels::concatReluBackwardNhwcCuda<Config, Elem>(     \
      const Elem *, const Elem *, Elem *const *, int64_t, int64_t, void *);    \
  template void ::rtml::kernels::concatBnReluInputGradNhwcCuda<Config, Elem>(  \
      Elem *, const Elem *, const float *, const float *, const float *,       \
      const float *, int64_t, int64_t, int64_t, void *);
/// Both element types: the float and the bf16 variant, each in both layouts.
#define RTML_INSTANTIATE_CONCAT_RELU_CUDA(Config)                              \
  RTML_INSTANTIATE_CONCAT_RELU_CUDA_ELEM(Config, float)                        \
  RTML_INSTANTIATE_CONCAT_RELU_CUDA_ELEM(Config, ::rtml::kernels::Bf16)

#endif // RTML_RUNTIME_KERNELS_CONCATRELU_CUH
