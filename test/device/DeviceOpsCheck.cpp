//===- DeviceOpsCheck.cpp - Runtime ops on a GPU against the CPU ----------===//
//
// Runs every op of the runtime's op library on CUDA and on the CPU with the
// same inputs and compares outputs and input gradients (the bias + ReLU
// epilogue's CUDA kernel against its CPU twin), and SGD (the CUDA
// multi-tensor kernel) against the CPU pass, its twin, and the fused
// preprocessing kernel against its CPU twin. Built and run by
// scripts/device-check.sh on a GPU machine, which has LibTorch but no
// GoogleTest: it prints one line per case and exits 1 if any differs.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Data.h"
#include "rtml/Runtime/Ops.h"
#include "rtml/Runtime/Optimizer.h"

#include <torch/torch.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace {

using OpFn = std::function<at::Tensor(const std::vector<at::Tensor> &)>;
constexpr rtml::ops::BiasAdd kEpilogue = rtml::ops::BiasAdd::InEpilogue;

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
    worst = std::max(
        worst, relativeError(gpuInputs[i].grad().cpu(), cpuInputs[i].grad()));
  bool ok = worst < tolerance;
  std::printf("%-4s %-40s max relative error %.2e\n", ok ? "PASS" : "FAIL",
              c.name.c_str(), worst);
  return ok;
}

} // namespace

/// Sgd on DEVICE against Sgd on the CPU, several steps of one setting over
/// 100 parameters (two multi-tensor lists on CUDA) and a non-contiguous one
/// (ATen's ops, the rate from device memory), with a rate change midway.
/// The kernel and the CPU pass round alike: bit for bit equal, except the
/// non-contiguous parameter (within 1e-6).
bool sgdMatchesCpu(const at::Device &device, double momentum, double decay,
                   bool nesterov) {
  torch::manual_seed(3);
  std::vector<at::Tensor> inits;
  for (int i = 0; i < 100; ++i)
    inits.push_back(torch::randn({1 + i % 7, 1 + (i * 13) % 300}));
  std::vector<at::Tensor> cpu, gpu;
  for (const at::Tensor &init : inits) {
    cpu.push_back(init.clone().requires_grad_(true));
    gpu.push_back(init.to(device).requires_grad_(true));
  }
  at::Tensor strided = torch::randn({64, 32});
  cpu.push_back(strided.t().clone().t().requires_grad_(true));
  gpu.push_back(strided.t().to(device).clone().t().requires_grad_(true));
  rtml::SgdOptions options{0.05, momentum, decay, nesterov};
  rtml::Sgd onCpu(cpu, options), onGpu(gpu, options);
  double worst = 0, worstStrided = 0;
  for (int step = 0; step < 5; ++step) {
    if (step == 3) {
      onCpu.setLearningRate(0.01);
      onGpu.setLearningRate(0.01);
    }
    for (size_t i = 0; i < cpu.size(); ++i) {
      at::Tensor grad = torch::randn(cpu[i].sizes());
      cpu[i].mutable_grad() = grad;
      gpu[i].mutable_grad() = grad.to(device);
    }
    onCpu.step();
    onGpu.step();
    for (size_t i = 0; i + 1 < cpu.size(); ++i)
      worst = std::max(
          worst,
          (gpu[i].detach().cpu() - cpu[i].detach()).abs().max().item<double>());
    worstStrided =
        std::max(worstStrided,
                 relativeError(gpu.back().detach().cpu(), cpu.back().detach()));
  }
  bool ok = worst == 0 && worstStrided < 1e-6;
  std::printf("%s  sgd momentum %g wd %g nesterov %d: max |cuda - cpu| %.3g "
              "(multi-tensor), %.3g (non-contiguous)\n",
              ok ? "PASS" : "FAIL", momentum, decay, int(nesterov), worst,
              worstStrided);
  return ok;
}

/// The fused preprocessing kernel on DEVICE (BatchTransform's default
/// there) against its CPU twin, with the same seed: two training and two
/// evaluation batches of uint8 images of CHANNELS x 40 x 48, written in
/// FORMAT. Float results agree within float rounding, bf16 ones within
/// one bf16 step.
bool preprocessMatchesCpu(const at::Device &device, const std::string &name,
                          const rtml::DataConfig &config, int64_t channels,
                          rtml::InputFormat format) {
  rtml::BatchTransform onGpu(config, device, 11, format);
  rtml::BatchTransform twin(config, at::kCPU, 11, format);
  twin.setFused(true);
  torch::manual_seed(5);
  double worst = 0;
  bool formatOk = true;
  for (int batch = 0; batch < 4; ++batch) {
    at::Tensor images = torch::randint(0, 256, {9, channels, 40, 48},
                                       at::TensorOptions().dtype(at::kByte));
    bool training = batch < 2;
    at::Tensor gpu = onGpu(images.to(device), training);
    at::Tensor cpu = twin(images, training);
    formatOk = formatOk && gpu.scalar_type() == cpu.scalar_type() &&
               gpu.is_contiguous(format.nhwc ? at::MemoryFormat::ChannelsLast
                                             : at::MemoryFormat::Contiguous);
    worst = std::max(
        worst, relativeError(gpu.cpu().to(at::kFloat), cpu.to(at::kFloat)));
  }
  bool ok = formatOk && worst < (format.bf16 ? 8e-3 : 1e-5);
  std::printf("%-4s preprocess %-34s max relative error %.2e%s\n",
              ok ? "PASS" : "FAIL", name.c_str(), worst,
              formatOk ? "" : " (wrong dtype or layout)");
  return ok;
}

rtml::TransformConfig step(rtml::TransformConfig::Kind kind) {
  rtml::TransformConfig t;
  t.kind = kind;
  return t;
}

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
      // Merged convolutions: both results, flattened into one output, so
      // that each gets its own part of the random upstream gradient.
      {"sibling_conv2d 1x1, biases (NCHW views)",
       {{2, 8, 7, 7}, {3, 8, 1, 1}, {5, 8, 1, 1}, {3}, {5}},
       [](const std::vector<at::Tensor> &t) {
         std::vector<at::Tensor> r = rtml::ops::siblingConv2d(
             t[0], {t[1], t[2]}, {t[3], t[4]}, {1, 1}, {0, 0}, {1, 1});
         return at::cat({r[0].flatten(), r[1].flatten()});
       }},
      {"sibling_conv2d 3x3/2, channels_last",
       {{2, 6, 9, 8}, {4, 6, 3, 3}, {2, 6, 3, 3}},
       [](const std::vector<at::Tensor> &t) {
         auto cl = at::MemoryFormat::ChannelsLast;
         std::vector<at::Tensor> r = rtml::ops::siblingConv2d(
             t[0].contiguous(cl), {t[1].contiguous(cl), t[2].contiguous(cl)},
             {}, {2, 2}, {1, 1}, {1, 1});
         return at::cat({r[0].flatten(), r[1].flatten()});
       }},
      {"relu",
       {{3, 5, 7, 7}},
       [](const std::vector<at::Tensor> &t) { return rtml::ops::relu(t[0]); }},
      // The bias + ReLU epilogue: the CUDA kernel against its CPU twin
      // (both told to add the bias), and with the convolutions that drop it.
      {"bias_relu epilogue (NCHW, odd sizes)",
       {{3, 5, 7, 7}, {5}},
       [](const std::vector<at::Tensor> &t) {
         return rtml::ops::biasRelu(t[0], t[1], kEpilogue, kEpilogue);
       }},
      {"bias_relu epilogue, bf16 channels_last slice",
       {{2, 24, 5, 6}, {16}},
       [](const std::vector<at::Tensor> &t) {
         at::Tensor x = t[0].contiguous(at::MemoryFormat::ChannelsLast)
                            .to(at::kBFloat16)
                            .narrow(1, 8, 16);
         return rtml::ops::biasRelu(x, t[1], kEpilogue, kEpilogue)
             .to(at::kFloat);
       }},
      {"bias_relu backward, 4-level bias sum (NHWC)",
       {{6, 16, 37, 29}, {16}},
       [](const std::vector<at::Tensor> &t) {
         return rtml::ops::biasRelu(
             t[0].contiguous(at::MemoryFormat::ChannelsLast), t[1], kEpilogue,
             kEpilogue);
       }},
      {"bias_relu backward, 3-level bias sum (NCHW bf16)",
       {{6, 16, 37, 29}, {16}},
       [](const std::vector<at::Tensor> &t) {
         return rtml::ops::biasRelu(t[0].to(at::kBFloat16), t[1], kEpilogue,
                                    kEpilogue)
             .to(at::kFloat);
       }},
      {"conv2d without its bias + bias_relu, channels_last",
       {{2, 6, 9, 8}, {8, 6, 3, 3}, {8}},
       [](const std::vector<at::Tensor> &t) {
         auto cl = at::MemoryFormat::ChannelsLast;
         at::Tensor y =
             rtml::ops::conv2d(t[0].contiguous(cl), t[1].contiguous(cl),
                               rtml::ops::convBias(t[2], kEpilogue, kEpilogue),
                               {1, 1}, {1, 1}, {1, 1}, 1);
         return rtml::ops::biasRelu(y, t[2], kEpilogue, kEpilogue);
       }},
      {"sibling_conv2d, one bias in its bias_relu",
       {{2, 8, 7, 7}, {3, 8, 1, 1}, {5, 8, 1, 1}, {3}, {5}},
       [](const std::vector<at::Tensor> &t) {
         std::vector<at::Tensor> r = rtml::ops::siblingConv2d(
             t[0], {t[1], t[2]},
             {t[3], rtml::ops::convBias(t[4], kEpilogue, kEpilogue)}, {1, 1},
             {0, 0}, {1, 1});
         at::Tensor second =
             rtml::ops::biasRelu(r[1], t[4], kEpilogue, kEpilogue);
         return at::cat({r[0].flatten(), second.flatten()});
       }},
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
  struct SgdCase {
    double momentum, decay;
    bool nesterov;
  };
  std::vector<SgdCase> sgdCases = {{0.9, 5e-4, false},
                                   {0.9, 1e-3, true},
                                   {0.0, 0.0, false},
                                   {0.0, 1e-2, false}};
  for (const SgdCase &s : sgdCases)
    failures += sgdMatchesCpu(device, s.momentum, s.decay, s.nesterov) ? 0 : 1;
  using Kind = rtml::TransformConfig::Kind;
  rtml::TransformConfig resize = step(Kind::Resize),
                        flip = step(Kind::RandomHorizontalFlip),
                        crop = step(Kind::RandomResizedCrop),
                        normalize = step(Kind::Normalize),
                        gray = step(Kind::Grayscale);
  resize.size = {64, 64};
  crop.size = {32, 32};
  normalize.mean = {0.5, 0.4, 0.3};
  normalize.std = {0.2, 0.25, 0.3};
  gray.numOutputChannels = 3;
  struct PreprocessCase {
    std::string name;
    std::vector<rtml::TransformConfig> train, eval;
    int64_t channels;
    rtml::InputFormat format;
  };
  std::vector<PreprocessCase> preprocessCases = {
      {"resize, flip, normalize (fp32 NCHW)",
       {resize, flip, normalize},
       {resize, normalize},
       3,
       {false, false}},
      {"crop, flip, normalize (bf16 NHWC)",
       {flip, crop, normalize},
       {resize, normalize},
       3,
       {true, true}},
      {"grayscale 3 of 1 channel (bf16 NCHW)",
       {gray, crop, flip},
       {gray, resize},
       1,
       {false, true}},
  };
  for (const PreprocessCase &p : preprocessCases) {
    rtml::DataConfig config;
    config.trainTransforms = p.train;
    config.evalTransforms = p.eval;
    failures +=
        preprocessMatchesCpu(device, p.name, config, p.channels, p.format) ? 0
                                                                           : 1;
  }
  size_t total = cases.size() + sgdCases.size() + preprocessCases.size();
  std::printf("%d of %zu op checks passed on %s\n",
              static_cast<int>(total) - failures, total, device.str().c_str());
  return failures ? 1 : 0;
}
