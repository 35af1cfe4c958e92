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
  auto start = std::chrono::steady_clock::now();
  at::Tensor y = fn(leaves);
  y.backward(upstream);
  auto stop = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(stop - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

} // namespace

int main(int argc, char **argv) {
  int64_t batch = 16;
  int reps = 20, threads = 0;
  for (int i = 1; i < argc; ++i) {
    auto next = [&]() -> const char * {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "error: %s needs a value\n", argv[i]);
        std::exit(1);
      }
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--batch"))
      batch = std::atoll(next());
    else if (!std::strcmp(argv[i], "--reps"))
      reps = std::atoi(next());
    else if (!std::strcmp(argv[i], "--threads"))
      threads = std::atoi(next());
    else {
      std::fprintf(stderr,
                   "usage: %s [--batch N] [--reps R] [--threads T]\n",
                   argv[0]);
      return argv[i] == std::string("--help") ? 0 : 1;
    }
  }
  if (threads > 0)
    at::set_num_threads(threads);

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
  double a = median(tOurs), b = median(tTheirs);
  std::printf("concat of ReLUs forward+backward on the CPU, %d threads, "
              "median of %d interleaved repetitions\n",
              at::get_num_threads(), reps);
  std::printf("GoogLeNet inception 3a [%lld, 64+128+32+32, 28, 28]: rtml "
              "%8.2f ms, PyTorch relu+cat %8.2f ms, ratio %5.2fx\n",
              static_cast<long long>(batch), a, b, b / a);
  return 0;
}
