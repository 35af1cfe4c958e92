//===- BenchHarness.h - What the C++ kernel benchmarks share --------------===//
//
// The flags (--batch, --reps, --threads), the median of repetitions, and the
// timing of one forward+backward, so every benchmark measures the same way:
// under the trainer's malloc policy, which keeps freed blocks for reuse.
// Without it, glibc returns a large freed block to the system, and whichever
// variant runs after one that freed many (PyTorch's unfused ops) pays for
// page-faulting its buffers back in, which the trainer never does.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_BENCH_BENCHHARNESS_H
#define RTML_BENCH_BENCHHARNESS_H

#include "HeapReuse.h"

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace rtml::bench {

struct BenchArgs {
  int64_t batch = 16;
  int reps = 10;
  int threads = 0; ///< 0: LibTorch's default
};

/// Parses --batch N, --reps R, --threads T into ARGS (defaults as given);
/// exits on a bad flag, with status 0 for --help. Sets the trainer's malloc
/// policy.
inline void parseBenchArgs(int argc, char **argv, BenchArgs &args) {
  keepFreedMemoryForReuse();
  for (int i = 1; i < argc; ++i) {
    auto next = [&]() -> const char * {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "error: %s needs a value\n", argv[i]);
        std::exit(1);
      }
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--batch"))
      args.batch = std::atoll(next());
    else if (!std::strcmp(argv[i], "--reps"))
      args.reps = std::atoi(next());
    else if (!std::strcmp(argv[i], "--threads"))
      args.threads = std::atoi(next());
    else {
      std::fprintf(stderr, "usage: %s [--batch N] [--reps R] [--threads T]\n",
                   argv[0]);
      std::exit(argv[i] == std::string("--help") ? 0 : 1);
    }
  }
  if (args.threads > 0)
    at::set_num_threads(args.threads);
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Milliseconds of one forward+backward: FORWARD builds the output from
/// fresh leaves, which then takes UPSTREAM as its gradient.
template <typename Forward>
double timeForwardBackward(Forward forward, const at::Tensor &upstream) {
  auto start = std::chrono::steady_clock::now();
  at::Tensor y = forward();
  y.backward(upstream);
  auto stop = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(stop - start).count();
}

/// Milliseconds of one forward+backward of FN on a fresh leaf copy of X.
template <typename Fn>
double timeOnLeaf(Fn &&fn, const at::Tensor &x, const at::Tensor &upstream) {
  at::Tensor leaf = x.detach().requires_grad_(true);
  return timeForwardBackward([&] { return fn(leaf); }, upstream);
}

} // namespace rtml::bench

#endif // RTML_BENCH_BENCHHARNESS_H
