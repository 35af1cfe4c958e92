//===- concat_relu_bench.cpp - Fused concat of ReLUs against relu + cat ---===//
//
//   rtml-concat-relu-bench [--batch N] [--reps R] [--threads T]
//
// Times forward plus backward (autograd, from a random upstream gradient) of
// rtml::kernels::concatRelu (the CPU twin here) and of at::relu per branch +
// at::cat at GoogLeNet's inception 3a output (64, 128, 32, 32 channels at
// 28x28), alternating the two every repetition, and prints the median times
// and their ratio.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Kernels/ConcatReluOp.h"

#include "BenchHarness.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace {

struct Inception3a {
  static constexpr int kInputs = 4;
  static constexpr int64_t kChannels[kInputs] = {64, 128, 32, 32};
  static constexpr int64_t kTotalChannels = 256;
};

using Fn = std::function<at::Tensor(const std::vector<at::Tensor> &)>;

/// Milliseconds of one forward+backward of FN on fresh leaf copies of XS.
double timeOnce(const Fn &fn, const std::vector<at::Tensor> &xs,
                const at::Tensor &upstream) {
  std::vector<at::Tensor> leaves;
  for (const at::Tensor &x : xs)
    leaves.push_back(x.detach().requires_grad_(true));
  return rtml::bench::timeForwardBackward([&] { return fn(leaves); },
                                          upstream);
}

} // namespace

int main(int argc, char **argv) {
  rtml::bench::BenchArgs args;
  args.reps = 20;
  rtml::bench::parseBenchArgs(argc, argv, args);
  const int64_t batch = args.batch;
  const int reps = args.reps;

  torch::manual_seed(0);
  std::vector<at::Tensor> xs;
  for (int64_t c : Inception3a::kChannels)
    xs.push_back(torch::randn({batch, c, 28, 28}));
  at::Tensor upstream = torch::randn({batch, Inception3a::kTotalChannels, 28, 28});
  Fn ours = [](const std::vector<at::Tensor> &in) {
    return rtml::kernels::concatRelu<Inception3a>(in);
  };
  Fn theirs = [](const std::vector<at::Tensor> &in) {
    std::vector<at::Tensor> relus;
    for (const at::Tensor &x : in)
      relus.push_back(at::relu(x));
    return at::cat(relus, 1);
  };
  // One untimed round each: allocator warm-up, first-touch page faults.
  timeOnce(ours, xs, upstream);
  timeOnce(theirs, xs, upstream);
  std::vector<double> tOurs, tTheirs;
  for (int r = 0; r < reps; ++r) {
    tOurs.push_back(timeOnce(ours, xs, upstream));
    tTheirs.push_back(timeOnce(theirs, xs, upstream));
  }
  double a = rtml::bench::median(tOurs), b = rtml::bench::median(tTheirs);
  std::printf("concat of ReLUs forward+backward on the CPU, %d threads, "
              "median of %d interleaved repetitions\n",
              at::get_num_threads(), reps);
  std::printf("GoogLeNet inception 3a [%lld, 64+128+32+32, 28, 28]: rtml "
              "%8.2f ms, PyTorch relu+cat %8.2f ms, ratio %5.2fx\n",
              static_cast<long long>(batch), a, b, b / a);
  return 0;
}
