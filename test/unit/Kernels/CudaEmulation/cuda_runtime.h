//===- cuda_runtime.h - Runs the runtime's CUDA kernels as host code ------===//
//
// The test suite has no GPU, so nvcc only compiles the kernels; this header
// lets the suite also run them. It stands in for CUDA's own cuda_runtime.h
// (the emulation tests include it first in every source, with -include,
// and its folder comes first on their include path). It defines what the kernels
// use of CUDA as plain C++: the qualifiers, threadIdx and friends, __ldg,
// the round-to-nearest intrinsics, float4, __syncthreads and shared memory,
// and RTML_LAUNCH (HostDevice.h), which here runs a kernel's whole grid
// before it returns.
//
// A launch runs the blocks one after another, and the threads of a block
// as fibers (ucontext) on the calling thread, each until it reaches
// __syncthreads or returns: one round over the block's fibers is one
// barrier phase, so no thread passes a barrier before all of the block's
// live threads have reached it, and the block's __shared__ arrays
// (function-local statics here) are shared by its threads alone. Threads
// that return early leave the later barriers of their block, as on the
// device. Warps are not emulated: a kernel that relies on
// warp-synchronous execution (shuffles, votes) needs more than this header.
//
// It checks what the device would enforce: a block over 1024 threads, or
// a grid dimension of 0, fails the launch (cudaGetLastError reports it).
//
//===----------------------------------------------------------------------===//
#ifndef RTML_TEST_CUDA_EMULATION_CUDA_RUNTIME_H
#define RTML_TEST_CUDA_EMULATION_CUDA_RUNTIME_H

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <ucontext.h>

#define RTML_KERNEL_CODE 1

// Inline: a header may define a non-template kernel (Sgd.cuh), and both a
// test and the launcher's own source include it here.
#define __global__ inline
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
// One array per kernel instantiation, shared by the threads of the block
// that runs (blocks run one at a time).
#define __shared__ static

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1)
      : x(vx), y(vy), z(vz) {}
};

// Fibers share the calling thread: the launch sets these before it
// resumes each one.
inline dim3 threadIdx;
inline dim3 blockIdx;
inline dim3 blockDim;
inline dim3 gridDim;

struct alignas(16) float4 {
  float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) {
  return {x, y, z, w};
}

template <class T> inline T __ldg(const T *p) { return *p; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
// Built with -ffp-contract=off: the product and the sum are rounded apart.
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }

typedef struct CUstream_st *cudaStream_t;
enum cudaError_t { cudaSuccess = 0, cudaErrorInvalidConfiguration = 9 };

namespace rtml::cuda_emulation {

inline cudaError_t &lastError() {
  static cudaError_t error = cudaSuccess;
  return error;
}

/// The threads of the running block, as fibers.
class Block {
public:
  /// Runs BODY as THREADS threads of block AT of a launch of GRID x SHAPE.
  void run(dim3 grid, dim3 shape, dim3 at, int threads,
           const std::function<void()> &body) {
    gridDim = grid;
    blockDim = shape;
    blockIdx = at;
    running = &body;
    if (static_cast<int>(fibers.size()) < threads)
      fibers.resize(threads);
    for (int t = 0; t < threads; ++t) {
      Fiber &f = fibers[t];
      if (!f.stack)
        f.stack = std::make_unique<char[]>(kStackBytes);
      getcontext(&f.context);
      f.context.uc_stack.ss_sp = f.stack.get();
      f.context.uc_stack.ss_size = kStackBytes;
      f.context.uc_link = &scheduler;
      makecontext(&f.context, &Block::entry, 0);
      f.index = dim3(t % shape.x, (t / shape.x) % shape.y,
                     t / (shape.x * shape.y));
      f.done = false;
    }
    // Each round resumes every live thread once: it runs to its next
    // barrier or to its end.
    for (int live = threads; live > 0;) {
      live = 0;
      for (int t = 0; t < threads; ++t) {
        Fiber &f = fibers[t];
        if (f.done)
          continue;
        current = t;
        threadIdx = f.index;
        swapcontext(&scheduler, &f.context);
        live += !f.done;
      }
    }
  }

  /// __syncthreads: back to the launch until the next round.
  void sync() {
    Fiber &f = fibers[current];
    swapcontext(&f.context, &scheduler);
  }

  static Block &instance() {
    static Block block;
    return block;
  }

private:
  static constexpr size_t kStackBytes = 64 * 1024;
  struct Fiber {
    ucontext_t context;
    std::unique_ptr<char[]> stack;
    dim3 index;
    bool done = true;
  };

  static void entry() {
    Block &b = instance();
    (*b.running)();
    b.fibers[b.current].done = true; // uc_link returns to the launch
  }

  ucontext_t scheduler;
  std::vector<Fiber> fibers;
  int current = 0;
  const std::function<void()> *running = nullptr;
};

/// KERNEL over GRID x BLOCK, run to the end when called with its arguments.
template <class Kernel> struct Launch {
  dim3 grid, block;
  Kernel kernel;

  template <class... Args> void operator()(const Args &...args) const {
    const int64_t threads = int64_t(block.x) * block.y * block.z;
    if (threads < 1 || threads > 1024 || grid.x == 0 || grid.y == 0 ||
        grid.z == 0) {
      lastError() = cudaErrorInvalidConfiguration;
      return;
    }
    // By value, as a launch copies them.
    const std::function<void()> body = [&] { kernel(args...); };
    for (unsigned bz = 0; bz < grid.z; ++bz)
      for (unsigned by = 0; by < grid.y; ++by)
        for (unsigned bx = 0; bx < grid.x; ++bx)
          Block::instance().run(grid, block, dim3(bx, by, bz),
                                static_cast<int>(threads), body);
  }
};

template <class Kernel>
Launch<Kernel> launch(dim3 grid, dim3 block, Kernel kernel) {
  return {grid, block, kernel};
}

} // namespace rtml::cuda_emulation

inline void __syncthreads() { rtml::cuda_emulation::Block::instance().sync(); }

inline cudaError_t cudaGetLastError() {
  cudaError_t e = rtml::cuda_emulation::lastError();
  rtml::cuda_emulation::lastError() = cudaSuccess;
  return e;
}
inline const char *cudaGetErrorString(cudaError_t e) {
  return e == cudaSuccess ? "no error" : "invalid configuration argument";
}

#define RTML_LAUNCH(GRID, BLOCK, STREAM, ...)                                  \
  ((void)(STREAM), ::rtml::cuda_emulation::launch((GRID), (BLOCK), __VA_ARGS__))

#endif // RTML_TEST_CUDA_EMULATION_CUDA_RUNTIME_H
