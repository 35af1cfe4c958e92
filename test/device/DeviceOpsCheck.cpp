//===- DeviceOpsCheck.cpp - Runtime ops on a GPU against the CPU ----------===//
//
// Runs every op of the runtime's op library on CUDA and on the CPU with the
// same inputs and compares outputs and input gradients. Built and run by
// scripts/device-check.sh on a GPU machine, which has LibTorch but no
// GoogleTest: it prints one line per case and exits 1 if any differs.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Ops.h"

#include <torch/torch.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace {

using OpFn = std::function<at::Tensor(const std::vector<at::Tensor> &)>;

struct Case {
  std::string name;
  std::vector<std::vector<int64_t>> shapes; // inputs, all differentiable
  OpFn op;
};

/// Largest |a - b| relative to the largest |b| (at least 1).
double relativeError(const at::Tensor &a, const at::Tensor &b) {
  double scale = std::max(1.0, b.abs().max().item<double>());
  return (a - b).abs().max().item<double>() / scale;
}

bool runCase(const Case &c, const at::Device &device, double tolerance) {
  torch::manual_seed(0);
  std::vector<at::Tensor> cpuInputs, gpuInputs;
  for (const auto &shape : c.shapes) {
    at::Tensor x = torch::randn(shape, torch::kFloat32);
    cpuInputs.push_back(x.clone().requires_grad_(true));
    gpuInputs.push_back(x.to(device).requires_grad_(true));
  }
  at::Tensor cpuOut = c.op(cpuInputs);
  at::Tensor gpuOut = c.op(gpuInputs);
  at::Tensor seed = torch::randn(cpuOut.sizes());
  (cpuOut * seed).sum().backward();
  (gpuOut * seed.to(device)).sum().backward();

  double worst = relativeError(gpuOut.cpu(), cpuOut.detach());
  for (size_t i = 0; i < cpuInputs.size(); ++i)
    worst = std::max(worst, relativeError(gpuInputs[i].grad().cpu(),
                                          cpuInputs[i].grad()));
  bool ok = worst < tolerance;
  std::printf("%-4s %-40s max relative error %.2e\n", ok ? "PASS" : "FAIL",
              c.name.c_str(), worst);
  return ok;
}

} // namespace

int main() {
  if (!torch::cuda::is_available()) {
    std::fprintf(stderr, "error: CUDA is not available\n");
    return 1;
  }
  // Compare full-precision results: TF32 would differ from the CPU by ~1e-3.
  at::globalContext().setAllowTF32CuBLAS(false);
  at::globalContext().setAllowTF32CuDNN(false);
  const at::Device device(torch::kCUDA, 0);
  const at::Tensor none;

  std::vector<Case> cases = {
      {"conv2d 11x11/4 pad 2 (AlexNet conv1)",
       {{2, 3, 63, 63}, {8, 3, 11, 11}, {8}},
       [](const std::vector<at::Tensor> &t) {
         return rtml::ops::conv2d(t[0], t[1], t[2], {4, 4}, {2, 2}, {1, 1}, 1);
       }},
      {"conv2d 3x3 groups 2, no bias",
       {{2, 6, 9, 7}, {4, 3, 3, 3}},
       [none](const std::vector<at::Tensor> &t) {
         return rtml::ops::conv2d(t[0], t[1], none, {1, 1}, {1, 1}, {1, 1}, 2);
       }},
      {"relu",
       {{3, 5, 7, 7}},
       [](const std::vector<at::Tensor> &t) { return rtml::ops::relu(t[0]); }},
      {"lrn size 5 (7 channels)",
       {{2, 7, 5, 5}},
       [](const std::vector<at::Tensor> &t) {
         return rtml::ops::lrn(t[0], 5, 1e-4, 0.75, 2.0);
       }},
      {"lrn size 4, large alpha",
       {{2, 9, 4, 6}},
       [](const std::vector<at::Tensor> &t) {
         return rtml::ops::lrn(t[0], 4, 0.5, 0.75, 1.0);
       }},
      {"max_pool2d 3/2",
       {{2, 4, 13, 13}},
       [](const std::vector<at::Tensor> &t) {
         return rtml::ops::maxPool2d(t[0], {3, 3}, {2, 2}, {0, 0}, false);
       }},
      {"max_pool2d 3/2 ceil_mode pad 1",
       {{2, 4, 10, 11}},
       [](const std::vector<at::Tensor> &t) {
         return rtml::ops::maxPool2d(t[0], {3, 3}, {2, 2}, {1, 1}, true);
       }},
      {"adaptive_avg_pool2d 6x6 from 13x13",
       {{2, 4, 13, 13}},
       [](const std::vector<at::Tensor> &t) {
         return rtml::ops::adaptiveAvgPool2d(t[0], {6, 6});
       }},
      {"flatten",
       {{2, 4, 3, 3}},
       [](const std::vector<at::Tensor> &t) {
         return rtml::ops::flatten(t[0]);
       }},
      {"dropout (eval mode)",
       {{4, 10}},
       [](const std::vector<at::Tensor> &t) {
         return rtml::ops::dropout(t[0], 0.5, false);
       }},
      {"linear 37 -> 11",
       {{5, 37}, {11, 37}, {11}},
       [](const std::vector<at::Tensor> &t) {
         return rtml::ops::linear(t[0], t[1], t[2]);
       }},
  };

  int failures = 0;
  for (const Case &c : cases)
    failures += runCase(c, device, 1e-4) ? 0 : 1;
  std::printf("%d of %zu op checks passed on %s\n",
              static_cast<int>(cases.size()) - failures, cases.size(),
              device.str().c_str());
  return failures ? 1 : 0;
}
