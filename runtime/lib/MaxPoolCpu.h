//===- MaxPoolCpu.h - max_pool2d on the CPU in SSE lanes ---------*- C++
//-*-===//
//
// Private to the runtime: ops::maxPool2d runs this on contiguous float NCHW
// CPU tensors. ATen 1.13's CPU max pooling scans each window one output at a
// time, a fifth of GoogLeNet's CPU step; this one scans four neighbouring
// outputs at once (CpuLanes.h) and gives ATen's outputs and indices
// exactly: the first maximum of each window in row-major order, a NaN
// winning, padding never chosen. Stride-1 windows are scanned separably
// (row maxima, then the window's rows), with the same result. The backward is
// ATen's, from the indices. Planes over 2^24 positions, whose indices a float
// lane cannot hold exactly, are left to ATen.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_LIB_MAXPOOLCPU_H
#define RTML_RUNTIME_LIB_MAXPOOLCPU_H

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>

namespace rtml::detail {

/// One pooling's geometry (dilation 1), as at::max_pool2d takes it.
struct PoolGeometry {
  int64_t kernelH, kernelW, strideH, strideW, padH, padW;
  bool ceilMode;
};

/// The max pool of one [H, W] plane IN into OUT and INDICES ([OH, OW], the
/// flat index into the plane of each output's input).
void maxPoolPlane(const float *in, int64_t height, int64_t width,
                  const PoolGeometry &g, float *out, int64_t *indices,
                  int64_t outHeight, int64_t outWidth);

/// at::max_pool2d(INPUT, ...) with autograd, computed by maxPoolPlane, or
/// nothing when INPUT is not a contiguous float [N, C, H, W] CPU tensor or
/// the geometry is one ATen refuses (ATen then runs, and says why).
std::optional<at::Tensor> maxPool2dCpu(const at::Tensor &input,
                                       const PoolGeometry &g);

} // namespace rtml::detail

#endif // RTML_RUNTIME_LIB_MAXPOOLCPU_H
