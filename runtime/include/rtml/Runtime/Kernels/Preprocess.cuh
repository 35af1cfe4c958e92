//===- Preprocess.cuh - The fused preprocessing kernel --------------------===//
//
// Included by runtime/lib/PreprocessCuda.cu (nvcc, no torch header), which
// defines the launcher declared in Preprocess.h. One thread per output
// pixel, the threads in the output's memory order (a warp writes a run of
// one row), each reading its taps of every input channel (a few bytes,
// cached) and writing every output channel: preprocessPixel and
// storePixel, the CPU twin's element functions.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_PREPROCESS_CUH
#define RTML_RUNTIME_KERNELS_PREPROCESS_CUH

#include "rtml/Runtime/Kernels/Preprocess.h"

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace rtml::kernels {
namespace cuda_detail {

constexpr int kPreprocessThreads = 256;

__global__ void preprocessKernel(const PreprocessArgs a) {
  const int64_t pixels = a.n * a.outHeight * a.outWidth;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t p = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; p < pixels;
       p += stride) {
    const int64_t x = p % a.outWidth;
    const int64_t y = (p / a.outWidth) % a.outHeight;
    const int64_t i = p / (a.outWidth * a.outHeight);
    float values[kPreprocessMaxChannels];
    preprocessPixel(a, i, y, x, values);
    storePixel(a, i, y, x, values);
  }
}

} // namespace cuda_detail

/// The body of preprocessCuda (see Preprocess.h).
inline void launchPreprocessCuda(const PreprocessArgs &a, void *stream) {
  using namespace cuda_detail;
  const int64_t pixels = a.n * a.outHeight * a.outWidth;
  if (pixels == 0)
    return;
  int64_t blocks = (pixels + kPreprocessThreads - 1) / kPreprocessThreads;
  if (blocks > (int64_t(1) << 20))
    blocks = int64_t(1) << 20; // the grid stride covers the rest
  RTML_LAUNCH(unsigned(blocks), kPreprocessThreads,
              static_cast<cudaStream_t>(stream), preprocessKernel)
  (a);
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    throw std::runtime_error(
        std::string("rtml preprocessing: kernel launch failed: ") +
        cudaGetErrorString(err));
}

} // namespace rtml::kernels

#endif // RTML_RUNTIME_KERNELS_PREPROCESS_CUH
