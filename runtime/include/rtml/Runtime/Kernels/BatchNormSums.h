//===- BatchNormSums.h - A batch norm's per-channel sums, from bf16 data --===//
//
// The reductions of a batch norm over bf16 data, in float, read straight
// from the bf16 elements: on CUDA the fused concat's batch norm inputs
// (ConcatReluOp.h) took them from float copies before, a conversion pass
// and a reduction over 4-byte elements where each sum here is one pass over
// 2-byte ones. (On the CPU ATen's vector loops over float copies win in
// NCHW, so the CPU keeps them; the twin below is the CUDA kernels'
// reference.) Three kinds:
//
//   Mean:            sum(x)                     (the batch mean, times count)
//   CenteredSquares: sum((x - mean)^2)          (the batch variance, likewise)
//   Gradient:        sum(dz), sum(dz * (x - mean))   (bias and weight grads)
//
// Summed by ChannelSums.h's tree, so the CPU twin (below) and the CUDA
// kernels (BatchNormSums.cuh) agree bit for bit. Each product is rounded
// apart from the sum it is added to: nvcc would contract the two into an
// FMA, the CPU twin does not.
//
// No torch header.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_BATCHNORMSUMS_H
#define RTML_RUNTIME_KERNELS_BATCHNORMSUMS_H

#include "rtml/Runtime/Kernels/Bf16.h"
#include "rtml/Runtime/Kernels/ChannelSums.h"

#include <cstdint>

namespace rtml::kernels {

enum class BatchNormSum { Mean, CenteredSquares, Gradient };

/// Sums per channel of KIND.
RTML_HOST_DEVICE constexpr int batchNormSumCount(BatchNormSum kind) {
  return kind == BatchNormSum::Gradient ? 2 : 1;
}

/// One launch. X (and, for Gradient, DZ) is bf16, dense in the layout
/// (ChannelSums.h); MEAN is float [channels] (not read by Mean). SUMS gets
/// float [batchNormSumCount(kind)][channels]. SCRATCH holds
/// batchNormSumsScratch(*this) floats.
struct BatchNormSumsArgs {
  BatchNormSum kind;
  const Bf16 *x, *dz;
  const float *mean;
  float *scratch, *sums;
  int64_t n, channels, pixels;
  bool nhwc;

  ChannelSumShape shape() const {
    return {n, channels, pixels, nhwc, batchNormSumCount(kind)};
  }
};

inline int64_t batchNormSumsScratch(const BatchNormSumsArgs &a) {
  return channelSumScratch(a.shape());
}

/// A * B, rounded before it is added to anything.
RTML_HOST_DEVICE inline float batchNormSumProduct(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

/// The values KIND sums for one element: X, its channel's MEAN and (for
/// Gradient) DZ.
template <BatchNormSum kKind>
RTML_HOST_DEVICE inline void
batchNormSumValues(float x, float dz, float mean,
                   float (&v)[batchNormSumCount(kKind)]) {
  if constexpr (kKind == BatchNormSum::Mean) {
    v[0] = x;
  } else if constexpr (kKind == BatchNormSum::CenteredSquares) {
    const float d = x - mean;
    v[0] = batchNormSumProduct(d, d);
  } else {
    v[0] = dz;
    v[1] = batchNormSumProduct(dz, x - mean);
  }
}

template <BatchNormSum kKind, class ParallelFor>
void batchNormSumsRunCpu(const BatchNormSumsArgs &a,
                         ParallelFor &&parallelFor) {
  constexpr int kSums = batchNormSumCount(kKind);
  channelSumsCpu<kSums>(
      a.shape(), a.scratch, a.sums,
      [&](int64_t at, int64_t c, float(&v)[kSums]) {
        batchNormSumValues<kKind>(
            kernelLoad(a.x[at]),
            kKind == BatchNormSum::Gradient ? kernelLoad(a.dz[at]) : 0.0f,
            kKind == BatchNormSum::Mean ? 0.0f : a.mean[c], v);
      },
      parallelFor);
}

/// The CPU twin, with channelSumsCpu's PARALLELFOR.
template <class ParallelFor>
void batchNormSumsCpu(const BatchNormSumsArgs &a, ParallelFor &&parallelFor) {
  switch (a.kind) {
  case BatchNormSum::Mean:
    return batchNormSumsRunCpu<BatchNormSum::Mean>(a, parallelFor);
  case BatchNormSum::CenteredSquares:
    return batchNormSumsRunCpu<BatchNormSum::CenteredSquares>(a, parallelFor);
  case BatchNormSum::Gradient:
    return batchNormSumsRunCpu<BatchNormSum::Gradient>(a, parallelFor);
  }
}

/// The CUDA kernels over A on STREAM. Defined by
/// runtime/lib/BatchNormSumsCuda.cu in a CUDA build; throws
/// std::runtime_error when a launch fails.
void batchNormSumsCuda(const BatchNormSumsArgs &a, void *stream);

} // namespace rtml::kernels

#endif // RTML_RUNTIME_KERNELS_BATCHNORMSUMS_H
