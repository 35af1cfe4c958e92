//===- BatchNormGrad.h - A batch norm's weight and bias gradients ---------===//
//
// The reductions of a batch norm's backward, sum(dz) and sum(dz * (x -
// mean)) per channel, in float, read straight from bf16 data: the fused
// concat's batch norm inputs (ConcatReluOp.h) took them from float copies
// of dz and x before, three passes of 4-byte elements where this is one
// of 2-byte ones. Summed by ChannelSums.h's tree, so the CPU twin (below)
// and the CUDA kernels (BatchNormGrad.cuh) agree bit for bit.
//
// No torch header.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_BATCHNORMGRAD_H
#define RTML_RUNTIME_KERNELS_BATCHNORMGRAD_H

#include "rtml/Runtime/Kernels/Bf16.h"
#include "rtml/Runtime/Kernels/ChannelSums.h"

#include <cstdint>

namespace rtml::kernels {

/// One launch. DZ and X are bf16, dense in the layout (ChannelSums.h);
/// MEAN is float [channels]. SUMS gets float [2][channels]: sum(dz), then
/// sum(dz * (x - mean)). SCRATCH holds batchNormGradScratch(*this) floats.
struct BatchNormGradArgs {
  const Bf16 *dz, *x;
  const float *mean;
  float *scratch, *sums;
  int64_t n, channels, pixels;
  bool nhwc;

  ChannelSumShape shape() const { return {n, channels, pixels, nhwc, 2}; }
};

inline int64_t batchNormGradScratch(const BatchNormGradArgs &a) {
  return channelSumScratch(a.shape());
}

/// The product dz * (x - mean), rounded apart from the sum it is added to
/// (nvcc would contract the two into an FMA, the CPU does not).
RTML_HOST_DEVICE inline float batchNormGradTerm(float dz, float x, float mean) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(dz, x - mean);
#else
  return dz * (x - mean);
#endif
}

/// The CPU twin, with channelSumsCpu's PARALLELFOR.
template <class ParallelFor>
void batchNormGradCpu(const BatchNormGradArgs &a, ParallelFor &&parallelFor) {
  channelSumsCpu<2>(
      a.shape(), a.scratch, a.sums,
      [&](int64_t at, int64_t c, float(&v)[2]) {
        v[0] = kernelLoad(a.dz[at]);
        v[1] = batchNormGradTerm(v[0], kernelLoad(a.x[at]), a.mean[c]);
      },
      parallelFor);
}

/// The CUDA kernels over A on STREAM. Defined by
/// runtime/lib/BatchNormGradCuda.cu in a CUDA build; throws
/// std::runtime_error when a launch fails.
void batchNormGradCuda(const BatchNormGradArgs &a, void *stream);

} // namespace rtml::kernels

#endif // RTML_RUNTIME_KERNELS_BATCHNORMGRAD_H
