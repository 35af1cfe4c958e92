//===- max_pool_bench.cpp - The runtime's CPU max pooling against ATen's --===//
//
//   rtml-max-pool-bench [--batch N] [--reps R] [--threads T]
//
// Times the forward alone and forward plus backward (autograd, from a random
// upstream gradient) of rtml::ops::maxPool2d and of at::max_pool2d at the
// zoo's pooling shapes (GoogLeNet's inception pools, 3x3 stride 1, and its
// and AlexNet's 3x3 stride 2 ones), alternating the two every repetition,
// and prints the median times and their ratios.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Ops.h"

#include "BenchHarness.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

namespace {

struct PoolShape {
  const char *where;
  int64_t channels, size, kernel, stride, padding;
  bool ceilMode;
};

// GoogLeNet's pools at 224x224 (models/googlenet.yaml) and AlexNet's first.
const PoolShape kShapes[] = {
    {"GoogLeNet pool1 (3x3/2, ceil)", 64, 112, 3, 2, 0, true},
    {"GoogLeNet inception 3a pool (3x3/1)", 192, 28, 3, 1, 1, false},
    {"GoogLeNet inception 4a pool (3x3/1)", 480, 14, 3, 1, 1, false},
    {"GoogLeNet inception 5a pool (3x3/1)", 832, 7, 3, 1, 1, false},
    {"AlexNet pool1 (3x3/2)", 96, 55, 3, 2, 0, false},
};

using Pool = std::function<at::Tensor(const at::Tensor &)>;

double timeForward(const Pool &pool, const at::Tensor &x) {
  torch::NoGradGuard noGrad;
  auto start = std::chrono::steady_clock::now();
  at::Tensor y = pool(x);
  auto stop = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(stop - start).count();
}

} // namespace

int main(int argc, char **argv) {
  rtml::bench::BenchArgs args;
  args.reps = 20;
  rtml::bench::parseBenchArgs(argc, argv, args);
  std::printf("max pooling on the CPU, %d threads, batch %lld, median of %d "
              "interleaved repetitions (ratio: ATen's time over rtml's)\n",
              at::get_num_threads(), static_cast<long long>(args.batch),
              args.reps);
  torch::manual_seed(0);
  for (const PoolShape &s : kShapes) {
    at::Tensor x = torch::randn({args.batch, s.channels, s.size, s.size});
    Pool ours = [&](const at::Tensor &in) {
      return rtml::ops::maxPool2d(in, {s.kernel, s.kernel},
                                  {s.stride, s.stride}, {s.padding, s.padding},
                                  s.ceilMode);
    };
    Pool theirs = [&](const at::Tensor &in) {
      return at::max_pool2d(in, {s.kernel, s.kernel}, {s.stride, s.stride},
                            {s.padding, s.padding}, {1, 1}, s.ceilMode);
    };
    at::Tensor upstream = torch::randn(theirs(x).sizes());
    // One untimed round each: allocator warm-up, first-touch page faults.
    rtml::bench::timeOnLeaf(ours, x, upstream);
    rtml::bench::timeOnLeaf(theirs, x, upstream);
    std::vector<double> fOurs, fTheirs, fbOurs, fbTheirs;
    for (int r = 0; r < args.reps; ++r) {
      fOurs.push_back(timeForward(ours, x));
      fTheirs.push_back(timeForward(theirs, x));
      fbOurs.push_back(rtml::bench::timeOnLeaf(ours, x, upstream));
      fbTheirs.push_back(rtml::bench::timeOnLeaf(theirs, x, upstream));
    }
    using rtml::bench::median;
    const double fa = median(fOurs), fb = median(fTheirs);
    const double fba = median(fbOurs), fbb = median(fbTheirs);
    std::printf("%-36s [%lld, %lld, %lld, %lld]\n", s.where,
                static_cast<long long>(args.batch),
                static_cast<long long>(s.channels),
                static_cast<long long>(s.size), static_cast<long long>(s.size));
    std::printf("  forward           rtml %8.2f ms, ATen %8.2f ms, ratio "
                "%5.2fx\n",
                fa, fb, fb / fa);
    std::printf("  forward+backward  rtml %8.2f ms, ATen %8.2f ms, ratio "
                "%5.2fx\n",
                fba, fbb, fbb / fba);
  }
  return 0;
}
