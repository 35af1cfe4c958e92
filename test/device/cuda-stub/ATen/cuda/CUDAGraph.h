// Compile-only stand-in for CUDA LibTorch's ATen/cuda/CUDAGraph.h (see
// c10/cuda/CUDAStream.h here), for the runtime's StepGraph.cpp.
#pragma once

namespace at::cuda {
struct CUDAGraph {
  CUDAGraph();
  ~CUDAGraph();
  void capture_begin();
  void capture_end();
  void replay();
};
} // namespace at::cuda
