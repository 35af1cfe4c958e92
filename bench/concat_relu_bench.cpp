//===- concat_relu_bench.cpp - Fused concat of ReLUs against relu + cat ---===//
//
//   rtml-concat-relu-bench [--batch N] [--reps R] [--threads T]
//
// Times forward plus backward (autograd, from a random upstream gradient) of
// rtml::kernels::concatRelu (the CPU twin here) and of the unfused ops at
// GoogLeNet's inception 3a output (64, 128, 32, 32 channels at 28x28), in
// training: once with plain ReLUs (against at::relu per branch + at::cat),
// once with a batch norm before each ReLU, as googlenet_bn's branches end
// (against at::batch_norm + at::relu per branch + at::cat), alternating the
// two every repetition, and prints the median times and their ratios.
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
#include <utility>
#include <vector>

namespace {

struct Inception3a {
  static constexpr int kInputs = 4;
  static constexpr int64_t kChannels[kInputs] = {64, 128, 32, 32};
  static constexpr int64_t kTotalChannels = 256;
};

/// The same with a batch norm before every ReLU (PyTorch's defaults).
struct Inception3aBn : Inception3a {
  static constexpr bool kBatchNorm[kInputs] = {true, true, true, true};
  static constexpr double kEps[kInputs] = {1e-5, 1e-5, 1e-5, 1e-5};
  static constexpr double kMomentum[kInputs] = {0.1, 0.1, 0.1, 0.1};
};

/// A branch's batch norm: weight, bias (learnt) and the running statistics.
struct BatchNormParams {
  at::Tensor weight, bias, runningMean, runningVar, numBatchesTracked;
  explicit BatchNormParams(int64_t channels)
      : weight(torch::ones({channels}).requires_grad_(true)),
        bias(torch::zeros({channels}).requires_grad_(true)),
        runningMean(torch::zeros({channels})),
        runningVar(torch::ones({channels})),
        numBatchesTracked(torch::zeros({}, at::kLong)) {}
};

using Fn = std::function<at::Tensor(const std::vector<at::Tensor> &)>;

/// Milliseconds of one forward+backward of FN on fresh leaf copies of XS.
double timeOnce(const Fn &fn, const std::vector<at::Tensor> &xs,
                const at::Tensor &upstream) {
  std::vector<at::Tensor> leaves;
  for (const at::Tensor &x : xs)
    leaves.push_back(x.detach().requires_grad_(true));
  return rtml::bench::timeForwardBackward([&] { return fn(leaves); }, upstream);
}

/// Median milliseconds of OURS and THEIRS, alternated for REPS repetitions
/// after an untimed round each (allocator warm-up, first-touch page faults).
std::pair<double, double> timeBoth(const Fn &ours, const Fn &theirs,
                                   const std::vector<at::Tensor> &xs,
                                   const at::Tensor &upstream, int reps) {
  timeOnce(ours, xs, upstream);
  timeOnce(theirs, xs, upstream);
  std::vector<double> tOurs, tTheirs;
  for (int r = 0; r < reps; ++r) {
    tOurs.push_back(timeOnce(ours, xs, upstream));
    tTheirs.push_back(timeOnce(theirs, xs, upstream));
  }
  return {rtml::bench::median(tOurs), rtml::bench::median(tTheirs)};
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
  at::Tensor upstream =
      torch::randn({batch, Inception3a::kTotalChannels, 28, 28});
  Fn ours = [](const std::vector<at::Tensor> &in) {
    return rtml::kernels::concatRelu<Inception3a>(in);
  };
  Fn theirs = [](const std::vector<at::Tensor> &in) {
    std::vector<at::Tensor> relus;
    for (const at::Tensor &x : in)
      relus.push_back(at::relu(x));
    return at::cat(relus, 1);
  };
  auto [a, b] = timeBoth(ours, theirs, xs, upstream, reps);

  std::vector<BatchNormParams> oursBn, theirsBn;
  std::vector<at::Tensor> bnParams;
  for (int64_t c : Inception3a::kChannels) {
    oursBn.emplace_back(c);
    theirsBn.emplace_back(c);
    const BatchNormParams &p = oursBn.back();
    bnParams.insert(bnParams.end(), {p.weight, p.bias, p.runningMean,
                                     p.runningVar, p.numBatchesTracked});
  }
  Fn oursWithBn = [&](const std::vector<at::Tensor> &in) {
    return rtml::kernels::concatRelu<Inception3aBn>(in, bnParams,
                                                    /*training=*/true);
  };
  Fn theirsWithBn = [&](const std::vector<at::Tensor> &in) {
    std::vector<at::Tensor> relus;
    for (size_t i = 0; i < in.size(); ++i) {
      const BatchNormParams &p = theirsBn[i];
      relus.push_back(at::relu(
          at::batch_norm(in[i], p.weight, p.bias, p.runningMean, p.runningVar,
                         /*training=*/true, Inception3aBn::kMomentum[i],
                         Inception3aBn::kEps[i], /*cudnn_enabled=*/false)));
    }
    return at::cat(relus, 1);
  };
  auto [c, d] = timeBoth(oursWithBn, theirsWithBn, xs, upstream, reps);

  std::printf("concat of ReLUs forward+backward on the CPU, %d threads, "
              "median of %d interleaved repetitions\n",
              at::get_num_threads(), reps);
  std::printf("GoogLeNet inception 3a [%lld, 64+128+32+32, 28, 28]: rtml "
              "%8.2f ms, PyTorch relu+cat %8.2f ms, ratio %5.2fx\n",
              static_cast<long long>(batch), a, b, b / a);
  std::printf("  with a batch norm before each ReLU (training): rtml "
              "%8.2f ms, PyTorch batch_norm+relu+cat %8.2f ms, ratio "
              "%5.2fx\n",
              c, d, d / c);
  return 0;
}
