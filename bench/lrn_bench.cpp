//===- lrn_bench.cpp - Fused ReLU+LRN against PyTorch's, forward+backward -===//
//
//   rtml-lrn-bench [--batch N] [--reps R] [--threads T]
//
// Times forward plus backward (autograd, from a random upstream gradient) of
// rtml's kernel (rtml::kernels::localResponseNorm, the CPU twin here) and of
// PyTorch's at::relu + torch::nn::functional::local_response_norm at the LRN
// shapes of AlexNet and GoogLeNet (seed constants: size 5, alpha 1e-4, beta
// 0.75, k 2), alternating them every repetition so that all see the same
// machine state, and prints the median times and their ratio per shape.
// Where the ReLU is fused, it also times what rtmlc --no-fuse runs: at::relu
// and then rtml's LRN kernel alone (the fusion's own gain). It also times
// rtml's kernel on the same input in channels_last (what rtmlc
// --layout=nhwc runs), against its NCHW time.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Kernels/LrnOp.h"

#include "BenchHarness.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace F = torch::nn::functional;

namespace {

struct SeedRelu {
  static constexpr int kSize = 5;
  static constexpr float kAlpha = 1.0e-4f;
  static constexpr float kBeta = 0.75f;
  static constexpr float kK = 2.0f;
  static constexpr bool kRelu = true;
};
struct Seed {
  static constexpr int kSize = 5;
  static constexpr float kAlpha = 1.0e-4f;
  static constexpr float kBeta = 0.75f;
  static constexpr float kK = 2.0f;
  static constexpr bool kRelu = false;
};

struct Shape {
  const char *where;
  bool relu; // fused with the ReLU before it, as the model has it
  int64_t c, h, w;
};

} // namespace

int main(int argc, char **argv) {
  rtml::bench::BenchArgs args;
  args.reps = 10;
  rtml::bench::parseBenchArgs(argc, argv, args);
  const int64_t batch = args.batch;
  const int reps = args.reps;

  const std::vector<Shape> shapes = {
      {"AlexNet LRN1 (relu+lrn)", true, 64, 55, 55},
      {"AlexNet LRN2 (relu+lrn)", true, 192, 27, 27},
      {"AlexNet tower LRN1 (relu+lrn)", true, 48, 55, 55},
      {"AlexNet tower LRN2 (relu+lrn)", true, 128, 27, 27},
      {"GoogLeNet LRN1 (lrn, after pool)", false, 64, 56, 56},
      {"GoogLeNet LRN2 (relu+lrn)", true, 192, 56, 56},
  };
  const auto options =
      F::LocalResponseNormFuncOptions(5).alpha(1e-4).beta(0.75).k(2.0);
  std::printf("LRN forward+backward on the CPU, batch %lld, %d threads, "
              "median of %d interleaved repetitions\n",
              static_cast<long long>(batch), at::get_num_threads(), reps);
  double logSum = 0;
  for (const Shape &s : shapes) {
    torch::manual_seed(0);
    at::Tensor x = torch::randn({batch, s.c, s.h, s.w});
    at::Tensor upstream = torch::randn(x.sizes());
    const at::Tensor xNhwc = x.contiguous(at::MemoryFormat::ChannelsLast);
    const at::Tensor upstreamNhwc =
        upstream.contiguous(at::MemoryFormat::ChannelsLast);
    std::function<at::Tensor(const at::Tensor &)> ours, theirs, unfused;
    if (s.relu) {
      unfused = [](const at::Tensor &t) {
        return rtml::kernels::localResponseNorm<Seed>(at::relu(t));
      };
      ours = [](const at::Tensor &t) {
        return rtml::kernels::localResponseNorm<SeedRelu>(t);
      };
      theirs = [&](const at::Tensor &t) {
        return F::local_response_norm(at::relu(t), options);
      };
    } else {
      ours = [](const at::Tensor &t) {
        return rtml::kernels::localResponseNorm<Seed>(t);
      };
      theirs = [&](const at::Tensor &t) {
        return F::local_response_norm(t, options);
      };
    }
    // One untimed round each: allocator warm-up, first-touch page faults.
    rtml::bench::timeOnLeaf(ours, x, upstream);
    rtml::bench::timeOnLeaf(theirs, x, upstream);
    rtml::bench::timeOnLeaf(ours, xNhwc, upstreamNhwc);
    if (unfused)
      rtml::bench::timeOnLeaf(unfused, x, upstream);
    std::vector<double> tOurs, tTheirs, tUnfused, tNhwc;
    for (int r = 0; r < reps; ++r) {
      tOurs.push_back(rtml::bench::timeOnLeaf(ours, x, upstream));
      tTheirs.push_back(rtml::bench::timeOnLeaf(theirs, x, upstream));
      tNhwc.push_back(rtml::bench::timeOnLeaf(ours, xNhwc, upstreamNhwc));
      if (unfused)
        tUnfused.push_back(rtml::bench::timeOnLeaf(unfused, x, upstream));
    }
    double a = rtml::bench::median(tOurs), b = rtml::bench::median(tTheirs);
    logSum += std::log(b / a);
    std::printf("%-34s [%lld, %lld, %lld, %lld]: rtml %8.2f ms, PyTorch "
                "%8.2f ms, ratio %5.2fx\n",
                s.where, static_cast<long long>(batch),
                static_cast<long long>(s.c), static_cast<long long>(s.h),
                static_cast<long long>(s.w), a, b, b / a);
    const double nhwc = rtml::bench::median(tNhwc);
    std::printf("%-34s   rtml in NHWC %8.2f ms, NHWC/NCHW %5.2fx\n", "", nhwc,
                nhwc / a);
    if (unfused) {
      double u = rtml::bench::median(tUnfused);
      std::printf("%-34s   unfused (relu, then rtml's LRN) %8.2f ms, "
                  "unfused/fused %5.2fx\n",
                  "", u, u / a);
    }
  }
  std::printf("geometric mean ratio (PyTorch / rtml): %.2fx\n",
              std::exp(logSum / shapes.size()));
  return 0;
}
