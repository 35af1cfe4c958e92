//===- DeviceKernelsCheck.cpp - rtml's CUDA kernels against their CPU twins
//===//
//
// Built and run by scripts/device-check.sh on a GPU machine, linked with
// DeviceKernelsCheck.cu's object (compiled by nvcc on the development
// machine) and built with RTML_WITH_CUDA. It has no GoogleTest there:
//
// 1. every config of DeviceKernelsConfigs.h, on several shapes: the CUDA
//    launchers against the CPU twin (output, saved scale^-beta, input
//    gradient), then the autograd op on CUDA tensors (contiguous or not)
//    against the same op on the CPU; relative error under 1e-5;
// 2. every fused concat config (rtml.concat_relu: ReLU or batch norm + ReLU
//    epilogues), on several shapes, in training and in evaluation: the
//    autograd op on CUDA against the op on the CPU (the CPU twin) from the
//    same inputs, batch norm parameters, running statistics and upstream
//    gradient: output, input gradients, gamma and beta gradients and the
//    updated running statistics, relative error under 1e-5, and the batch
//    counter equal (no upstream gradient where a pre-ReLU value is within
//    1e-4 of 0, where the devices may round the ReLU's decision apart);
// 2b. both, on 4-D shapes: the op on CUDA in NHWC (channels_last) against
//    the op on CUDA in NCHW from the same values (the NHWC kernels), and
//    the NHWC result still channels_last; and the inputs as channel slices
//    of one channels_last tensor (read in place) against NCHW too;
// 3. fused ReLU+LRN (and GoogLeNet's plain first LRN) forward+backward on
//    CUDA against PyTorch's relu + local_response_norm, at AlexNet's and
//    GoogLeNet's LRN shapes, batch 128 (RTML_BENCH_BATCH overrides),
//    alternating the two, median of several repetitions.
//
// It prints one line per case and two summary lines, the last two lines of
// its output, which device-check.sh puts in its table:
//   SUMMARY-CHECK: <passed> of <total> kernel checks passed on cuda:0
//   SUMMARY-BENCH: fused ReLU+LRN fwd+bwd vs PyTorch, ...
// and exits 1 if a check failed.
//
// With --bf16 it checks the bf16 variants instead (device-check.sh's
// kernels-bf16 section): each LRN and fused concat config on CUDA against
// its CPU twin, both in bf16 and in NCHW and NHWC alike (the bf16 NHWC
// kernels on both devices), within two bf16 roundings (nvcc contracts to
// FMAs, so a float result may round to the neighbouring bf16), and times the
// bf16 fused ReLU+LRN against PyTorch's relu + local_response_norm under
// bf16 autocast, in NCHW and in NHWC (the layout a trainer runs on CUDA),
// with the same two summary lines.
//
//===----------------------------------------------------------------------===//
#include "DeviceKernelsConfigs.h"
#include "rtml/Runtime/Kernels/ConcatReluOp.h"
#include "rtml/Runtime/Kernels/LrnOp.h"

#include <ATen/autocast_mode.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#ifndef RTML_WITH_CUDA

int main() {
  std::fprintf(stderr, "error: DeviceKernelsCheck was built without "
                       "RTML_WITH_CUDA; scripts/device-check.sh builds it "
                       "with CUDA on a GPU machine\n");
  return 1;
}

#else

namespace F = torch::nn::functional;

namespace {

using Shape = std::vector<int64_t>;

double relativeError(const at::Tensor &a, const at::Tensor &b) {
  at::Tensor ad = a.detach().cpu().to(at::kDouble);
  at::Tensor bd = b.detach().cpu().to(at::kDouble);
  double scale = bd.abs().max().item<double>();
  double diff = (ad - bd).abs().max().item<double>();
  return scale > 0 ? diff / scale : diff;
}

std::string shapeString(const Shape &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int gPassed = 0, gTotal = 0;

/// One check's line: PASS when WORST (a max relative error) is under
/// TOLERANCE.
void report(const std::string &what, double worst, double tolerance = 1e-5) {
  bool ok = worst < tolerance;
  ++gTotal;
  gPassed += ok;
  std::printf("%-4s %-62s max relative error %.2e\n", ok ? "PASS" : "FAIL",
              what.c_str(), worst);
  std::fflush(stdout);
}

/// The CUDA launchers against the CPU twin on the same input.
template <class Config>
void checkLaunchers(const char *name, const Shape &shape) {
  torch::manual_seed(1);
  at::Tensor x = torch::randn(shape) * 2, g = torch::randn(shape);
  const int64_t n = shape[0], c = shape[1], hw = x.numel() / (n * c);
  at::Tensor y = torch::empty_like(x), gx = torch::empty_like(x);
  rtml::kernels::lrnForwardCpu<Config>(x.data_ptr<float>(), y.data_ptr<float>(),
                                       n, c, hw, 0, n * hw);
  rtml::kernels::lrnBackwardCpu<Config>(
      x.data_ptr<float>(), g.data_ptr<float>(), gx.data_ptr<float>(), n, c, hw,
      0, n * hw);

  at::Tensor xc = x.cuda(), gc = g.cuda();
  at::Tensor yc = torch::empty_like(xc), gxc = torch::empty_like(xc);
  void *stream = c10::cuda::getCurrentCUDAStream().stream();
  rtml::kernels::lrnForwardCuda<Config>(xc.data_ptr<float>(),
                                        yc.data_ptr<float>(), n, c, hw, stream);
  rtml::kernels::lrnBackwardCuda<Config>(
      xc.data_ptr<float>(), gc.data_ptr<float>(), gxc.data_ptr<float>(), n, c,
      hw, stream);
  double worst = std::max(relativeError(yc, y), relativeError(gxc, gx));
  report(std::string(name) + " launchers " + shapeString(shape), worst);
}

/// The autograd op on CUDA against the op on the CPU; PERMUTE makes the
/// input non-contiguous (channels innermost in memory).
template <class Config>
void checkAutograd(const char *name, const Shape &shape, bool permute) {
  torch::manual_seed(2);
  at::Tensor x = torch::randn(shape) * 2;
  if (permute)
    x = x.permute({0, 2, 3, 1}).contiguous().permute({0, 3, 1, 2});
  at::Tensor up = torch::randn(shape);
  at::Tensor xCpu = x.detach().requires_grad_(true);
  at::Tensor xGpu = x.cuda().requires_grad_(true);
  at::Tensor yCpu = rtml::kernels::localResponseNorm<Config>(xCpu);
  at::Tensor yGpu = rtml::kernels::localResponseNorm<Config>(xGpu);
  yCpu.backward(up);
  yGpu.backward(up.cuda());
  double worst = std::max(relativeError(yGpu, yCpu),
                          relativeError(xGpu.grad(), xCpu.grad()));
  report(std::string(name) + " autograd op " + shapeString(shape) +
             (permute ? " non-contiguous" : ""),
         worst);
}

/// The autograd op on CUDA in NHWC (channels_last) against the same op on
/// CUDA in NCHW, from the same values: the layouts agree.
template <class Config>
void checkLayoutsAgree(const char *name, const Shape &shape) {
  torch::manual_seed(5);
  at::Tensor x = torch::randn(shape, at::kCUDA) * 2;
  at::Tensor up = torch::randn(shape, at::kCUDA);
  at::Tensor nchw = x.contiguous().requires_grad_(true);
  at::Tensor nhwc =
      x.contiguous(at::MemoryFormat::ChannelsLast).requires_grad_(true);
  at::Tensor y = rtml::kernels::localResponseNorm<Config>(nchw);
  at::Tensor yNhwc = rtml::kernels::localResponseNorm<Config>(nhwc);
  y.backward(up);
  yNhwc.backward(up.contiguous(at::MemoryFormat::ChannelsLast));
  double worst = std::max(relativeError(yNhwc, y),
                          relativeError(nhwc.grad(), nchw.grad()));
  // The NHWC kernels keep the layout: no copy back to NCHW.
  if (!yNhwc.is_contiguous(at::MemoryFormat::ChannelsLast))
    worst = 1.0;
  report(std::string(name) + " NHWC vs NCHW on cuda " + shapeString(shape),
         worst);
}

template <class Config> void checkConfig(const char *name) {
  // 2048 channels fill one NHWC tile with one pixel; 2049 take the NHWC
  // walk that serves pixels wider than a tile (Lrn.cuh).
  const std::vector<Shape> shapes = {
      {2, 13, 7, 9},    {3, 64, 13, 13}, {1, 3, 5, 5},    {2, 1, 4, 4},
      {4, 192, 27, 27}, {2, 7, 300},     {2, 2048, 2, 3}, {1, 2049, 3, 2}};
  for (const Shape &shape : shapes) {
    try {
      checkLaunchers<Config>(name, shape);
      if (shape.size() == 4) {
        checkAutograd<Config>(name, shape, /*permute=*/shape[1] > 1);
        checkLayoutsAgree<Config>(name, shape);
      } else
        checkAutograd<Config>(name, shape, false);
    } catch (const std::exception &e) {
      ++gTotal;
      std::printf("FAIL %s %s: %s\n", name, shapeString(shape).c_str(),
                  e.what());
    }
  }
}

/// A copy of X on DEVICE that shares no storage with X (x.to() would return
/// X itself for its own device), detached.
at::Tensor copyTo(const at::Tensor &x, at::Device device) {
  return x.detach().to(x.options().device(device), /*non_blocking=*/false,
                       /*copy=*/true);
}

at::Tensor definedOrThrow(const at::Tensor &t, const std::string &what) {
  TORCH_CHECK(t.defined(), what, " is undefined");
  return t;
}

/// The fused concat on DEVICE from copies of XS, BNPARAMS (5 per batch
/// norm, as concatRelu takes them) and BIASES (one per input, undefined for
/// none), backward from UP; PERMUTE makes 4-D inputs non-contiguous
/// (channels_last); SLICES makes them channel slices of one channels_last
/// tensor with a channel more, as the merged 1x1 convolutions give them.
/// Returns the output, each input's gradient, then per batch norm its
/// weight and bias gradients, running mean, running variance and batch
/// counter (as updated by the forward), then each bias's gradient.
template <class Config>
std::vector<at::Tensor> runConcatRelu(const std::vector<at::Tensor> &xs,
                                      const std::vector<at::Tensor> &bnParams,
                                      const std::vector<at::Tensor> &biases,
                                      const at::Tensor &up, bool training,
                                      bool permute, at::Device device,
                                      bool slices = false) {
  std::vector<at::Tensor> leaves, params;
  at::Tensor whole; // SLICES: the tensor they are cut from, the leaf
  std::vector<int64_t> channels;
  if (slices) {
    std::vector<at::Tensor> parts(xs.begin(), xs.end());
    for (const at::Tensor &x : xs)
      channels.push_back(x.size(1));
    Shape extra = xs[0].sizes().vec();
    extra[1] = 1;
    parts.push_back(torch::zeros(extra));
    channels.push_back(1);
    whole = copyTo(at::cat(parts, 1), device)
                .contiguous(at::MemoryFormat::ChannelsLast)
                .requires_grad_(true);
    leaves = whole.split_with_sizes(channels, 1);
    leaves.pop_back();
  } else {
    for (const at::Tensor &x : xs) {
      at::Tensor leaf = copyTo(x, device);
      if (permute && leaf.dim() == 4)
        leaf = leaf.permute({0, 2, 3, 1}).contiguous().permute({0, 3, 1, 2});
      leaves.push_back(leaf.requires_grad_(true));
    }
  }
  for (size_t k = 0; k < bnParams.size(); ++k) {
    at::Tensor p = copyTo(bnParams[k], device);
    // Weight and bias take gradients; the running statistics do not.
    params.push_back(k % 5 < 2 ? p.requires_grad_(true) : p);
  }
  std::vector<at::Tensor> biasLeaves;
  for (const at::Tensor &b : biases)
    biasLeaves.push_back(b.defined() ? copyTo(b, device).requires_grad_(true)
                                     : at::Tensor());
  at::Tensor y =
      rtml::kernels::concatRelu<Config>(leaves, params, training, biasLeaves);
  y.backward(copyTo(up, device));
  std::vector<at::Tensor> results = {y};
  std::vector<at::Tensor> sliceGrads;
  if (slices)
    sliceGrads =
        definedOrThrow(whole.grad(), "grad").split_with_sizes(channels, 1);
  for (size_t i = 0; i < leaves.size(); ++i)
    results.push_back(
        slices ? sliceGrads[i]
               : definedOrThrow(leaves[i].grad(),
                                "input " + std::to_string(i) + " grad"));
  for (size_t k = 0; k < params.size(); k += 5)
    results.insert(results.end(),
                   {definedOrThrow(params[k].grad(), "weight grad"),
                    definedOrThrow(params[k + 1].grad(), "bias grad"),
                    params[k + 2], params[k + 3], params[k + 4]});
  for (const at::Tensor &b : biasLeaves)
    if (b.defined())
      results.push_back(definedOrThrow(b.grad(), "conv bias grad"));
  return results;
}

/// Where each input's epilogue decides its ReLU: |pre-ReLU value| < BAND,
/// computed in float64 from XS, BNPARAMS and BIASES as the op computes it
/// (batch statistics in TRAINING, running ones otherwise), concatenated as
/// the output.
template <class Config>
at::Tensor nearReluThreshold(const std::vector<at::Tensor> &xs,
                             const std::vector<at::Tensor> &bnParams,
                             const std::vector<at::Tensor> &biases,
                             bool training, double band) {
  using T = rtml::kernels::ConcatReluTraits<Config>;
  std::vector<at::Tensor> near;
  for (int i = 0, param = 0; i < T::kInputs; ++i) {
    at::Tensor z = xs[i].to(at::kDouble);
    if (i < static_cast<int>(biases.size()) && biases[i].defined()) {
      Shape channelShape(z.dim(), 1);
      channelShape[1] = z.size(1);
      z = z + biases[i].to(at::kDouble).view(channelShape);
    }
    if (T::batchNorm(i)) {
      auto p = [&](int k) {
        Shape channelShape(z.dim(), 1);
        channelShape[1] = z.size(1);
        return bnParams[param + k].to(at::kDouble).view(channelShape);
      };
      at::Tensor mean = p(2), var = p(3);
      if (training) {
        Shape reduced; // every dimension but the channels
        for (int64_t d = 0; d < z.dim(); ++d)
          if (d != 1)
            reduced.push_back(d);
        std::tie(var, mean) = at::var_mean(z, reduced, /*unbiased=*/false,
                                           /*keepdim=*/true);
      }
      z = (z - mean) * at::rsqrt(var + T::eps(i)) * p(0) + p(1);
      param += 5;
    }
    near.push_back(z.abs() < band);
  }
  return at::cat(near, 1);
}

/// The largest relative error between the results A and B of two
/// runConcatRelu calls (1 where the exact batch counters differ).
double worstError(const std::vector<at::Tensor> &a,
                  const std::vector<at::Tensor> &b) {
  double worst = 0;
  for (size_t k = 0; k < a.size(); ++k) {
    if (a[k].scalar_type() == at::kLong)
      worst = std::max(worst, at::equal(a[k].cpu(), b[k].cpu()) ? 0.0 : 1.0);
    else
      worst = std::max(worst, relativeError(a[k], b[k]));
  }
  return worst;
}

/// The fused concat's autograd op on CUDA against the same op on the CPU
/// from the same random values, batch N with trailing sizes SPATIAL.
template <class Config>
void checkConcatReluCase(const char *name, int64_t n, const Shape &spatial,
                         bool training, bool permute) {
  using T = rtml::kernels::ConcatReluTraits<Config>;
  torch::manual_seed(3);
  std::vector<at::Tensor> xs, bnParams, biases;
  for (int i = 0; i < T::kInputs; ++i) {
    Shape shape = {n, Config::kChannels[i]};
    shape.insert(shape.end(), spatial.begin(), spatial.end());
    // Off zero mean and unit variance, so that the statistics matter.
    xs.push_back(torch::randn(shape) * 2 + 0.5);
    biases.push_back(T::bias(i) ? torch::randn({Config::kChannels[i]})
                                : at::Tensor());
    if (!T::batchNorm(i))
      continue;
    const int64_t c = Config::kChannels[i];
    bnParams.insert(bnParams.end(),
                    {torch::rand({c}) + 0.5, torch::randn({c}),
                     torch::randn({c}) * 0.3, torch::rand({c}) + 0.5,
                     torch::zeros({}, at::kLong)});
  }
  Shape outShape = {n, T::kTotalChannels};
  outShape.insert(outShape.end(), spatial.begin(), spatial.end());
  // A batch norm's pre-ReLU value rounds differently on the two devices
  // (nvcc contracts to FMAs), so one within rounding of 0 may pass the ReLU
  // on one and not the other: no upstream gradient there, so that such a tie
  // changes no gradient (the outputs then differ by a rounding error only).
  at::Tensor up = torch::randn(outShape).masked_fill(
      nearReluThreshold<Config>(xs, bnParams, biases, training, 1e-4), 0);

  std::vector<at::Tensor> cpu = runConcatRelu<Config>(
      xs, bnParams, biases, up, training, permute, at::Device(at::kCPU));
  std::vector<at::Tensor> gpu = runConcatRelu<Config>(
      xs, bnParams, biases, up, training, permute, at::Device(at::kCUDA, 0));
  const std::string what = std::string(name) +
                           (training ? " training " : " eval ") +
                           shapeString(outShape);
  report(what + (permute ? " non-contiguous" : ""), worstError(gpu, cpu));
  if (spatial.size() != 2)
    return;
  // 4-D: the other layout on CUDA (PERMUTE is channels_last) agrees too.
  const at::Device cuda(at::kCUDA, 0);
  std::vector<at::Tensor> other =
      runConcatRelu<Config>(xs, bnParams, biases, up, training, !permute, cuda);
  report(what + " NHWC vs NCHW on cuda", worstError(other, gpu));
  // And channel slices of one NHWC tensor, which the ReLU inputs read in
  // place.
  std::vector<at::Tensor> sliced = runConcatRelu<Config>(
      xs, bnParams, biases, up, training, false, cuda, /*slices=*/true);
  report(what + " channel slices vs " + (permute ? "NHWC" : "NCHW") +
             " on cuda",
         worstError(sliced, gpu));
}

template <class Config> void checkConcatReluConfig(const char *name) {
  struct Case {
    int64_t n;
    Shape spatial;
    bool permute;
  };
  // Odd hw (scalar accesses), hw % 4 == 0 (float4), no trailing sizes, 3-D
  // trailing sizes, one image, and more images than one launch's grid holds.
  const std::vector<Case> cases = {{2, {7, 9}, false},    {3, {4, 4}, false},
                                   {8, {28, 28}, false},  {4, {}, false},
                                   {2, {3, 2, 5}, false}, {1, {5, 5}, true},
                                   {65537, {}, false}};
  for (bool training : {true, false}) {
    for (const Case &c : cases) {
      try {
        checkConcatReluCase<Config>(name, c.n, c.spatial, training, c.permute);
      } catch (const std::exception &e) {
        ++gTotal;
        std::printf("FAIL %s %s n=%lld: %s\n", name,
                    training ? "training" : "eval", static_cast<long long>(c.n),
                    e.what());
      }
    }
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Milliseconds per forward+backward of FN, ITERS back to back.
double timeIters(const std::function<at::Tensor(const at::Tensor &)> &fn,
                 const at::Tensor &x, const at::Tensor &up, int iters) {
  torch::cuda::synchronize();
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) {
    at::Tensor leaf = x.detach().requires_grad_(true);
    fn(leaf).backward(up);
  }
  torch::cuda::synchronize();
  auto stop = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(stop - start).count() /
         iters;
}

struct BenchShape {
  const char *where;
  bool relu;
  int64_t c, h, w;
};

using TensorFn = std::function<at::Tensor(const at::Tensor &)>;

/// One table of side-by-side timings: each row times OURS and THEIRS
/// interleaved (3 untimed calls each, then 7 rounds of 10) and prints their
/// medians; the ratios (theirs / ours) are kept for the summary line.
struct TimingTable {
  const char *precision; ///< after the shape: "" or " bf16"
  const char *theirs;    ///< "PyTorch", "PyTorch autocast"
  int64_t batch;
  std::string ratios;
  double minRatio = 1e30;

  void row(const BenchShape &s, const TensorFn &ours, const TensorFn &their,
           const at::Tensor &x, const at::Tensor &up) {
    timeIters(ours, x, up, 3);
    timeIters(their, x, up, 3);
    std::vector<double> a, b;
    for (int r = 0; r < 7; ++r) {
      a.push_back(timeIters(ours, x, up, 10));
      b.push_back(timeIters(their, x, up, 10));
    }
    double ta = median(a), tb = median(b);
    minRatio = std::min(minRatio, tb / ta);
    std::printf("TIME %-28s [%lld, %lld, %lld, %lld]%s: rtml %7.3f ms, "
                "%s %7.3f ms, ratio %5.2fx\n",
                s.where, static_cast<long long>(batch),
                static_cast<long long>(s.c), static_cast<long long>(s.h),
                static_cast<long long>(s.w), precision, ta, theirs, tb,
                tb / ta);
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%s%.1fx", ratios.empty() ? "" : ", ",
                  tb / ta);
    ratios += buf;
    std::fflush(stdout);
  }

  void failed(const BenchShape &s, const std::exception &e) {
    std::printf("TIME %s: FAILED: %s\n", s.where, e.what());
    ratios += ratios.empty() ? "failed" : ", failed";
    std::fflush(stdout);
  }

  /// The smallest ratio, 0 when no row was timed.
  double smallest() const { return minRatio > 1e29 ? 0.0 : minRatio; }
};

//===----------------------------------------------------------------------===//
// --bf16: the bf16 variants
//===----------------------------------------------------------------------===//

/// Two bf16 roundings apart at most, relative to the largest value.
constexpr double kBf16Tolerance = 8e-3;

void reportBf16(const std::string &what, double worst) {
  report(what, worst, kBf16Tolerance);
}

/// The bf16 LRN op on CUDA against the bf16 op on the CPU (the twin), both
/// in FORMAT (channels_last: the bf16 NHWC kernels on both devices).
template <class Config>
void checkBf16Lrn(const char *name, const Shape &shape,
                  at::MemoryFormat format = at::MemoryFormat::Contiguous) {
  torch::manual_seed(4);
  at::Tensor x = (torch::randn(shape) * 2).to(at::kBFloat16).contiguous(format);
  at::Tensor up = torch::randn(shape).to(at::kBFloat16).contiguous(format);
  at::Tensor xCpu = x.detach().requires_grad_(true);
  at::Tensor xGpu = x.cuda().contiguous(format).requires_grad_(true);
  at::Tensor yCpu = rtml::kernels::localResponseNorm<Config>(xCpu);
  at::Tensor yGpu = rtml::kernels::localResponseNorm<Config>(xGpu);
  yCpu.backward(up);
  yGpu.backward(up.cuda().contiguous(format));
  // bf16 out, in the input's layout (the NHWC kernels copy nothing back).
  bool typed = yGpu.scalar_type() == at::kBFloat16 &&
               xGpu.grad().scalar_type() == at::kBFloat16 &&
               yGpu.is_contiguous(format) && xGpu.grad().is_contiguous(format);
  double worst = std::max(relativeError(yGpu, yCpu),
                          relativeError(xGpu.grad(), xCpu.grad()));
  const bool nhwc = format == at::MemoryFormat::ChannelsLast;
  reportBf16(std::string(name) + " bf16 " + (nhwc ? "NHWC " : "") +
                 shapeString(shape),
             typed ? worst : 1.0);
}

/// The bf16 fused concat on CUDA against the bf16 op on the CPU, in
/// training: output, input gradients and running means; the inputs in
/// FORMAT (channels_last: the bf16 NHWC kernels on both devices).
template <class Config>
void checkBf16ConcatRelu(
    const char *name, int64_t n, const Shape &spatial,
    at::MemoryFormat format = at::MemoryFormat::Contiguous) {
  using T = rtml::kernels::ConcatReluTraits<Config>;
  torch::manual_seed(5);
  std::vector<at::Tensor> xs, bnParams;
  for (int i = 0; i < T::kInputs; ++i) {
    Shape shape = {n, Config::kChannels[i]};
    shape.insert(shape.end(), spatial.begin(), spatial.end());
    xs.push_back((torch::randn(shape) * 2 + 0.5).to(at::kBFloat16));
    if (!T::batchNorm(i))
      continue;
    const int64_t c = Config::kChannels[i];
    bnParams.insert(bnParams.end(),
                    {torch::rand({c}) + 0.5, torch::randn({c}),
                     torch::randn({c}) * 0.3, torch::rand({c}) + 0.5,
                     torch::zeros({}, at::kLong)});
  }
  Shape outShape = {n, T::kTotalChannels};
  outShape.insert(outShape.end(), spatial.begin(), spatial.end());
  // No upstream gradient where a pre-ReLU value is within rounding of 0
  // (the devices may decide that ReLU apart), as the float check.
  torch::manual_seed(6);
  at::Tensor up =
      torch::randn(outShape)
          .masked_fill(nearReluThreshold<Config>(xs, bnParams, {}, true, 1e-3),
                       0)
          .to(at::kBFloat16);
  auto run = [&](const at::Device &device) {
    std::vector<at::Tensor> leaves, params;
    for (const at::Tensor &x : xs)
      leaves.push_back(x.to(device).contiguous(format).requires_grad_(true));
    for (const at::Tensor &p : bnParams)
      params.push_back(p.to(device, /*non_blocking=*/false, /*copy=*/true));
    at::Tensor y = rtml::kernels::concatRelu<Config>(leaves, params, true);
    y.backward(up.to(device).contiguous(format));
    std::vector<at::Tensor> out = {y};
    for (const at::Tensor &l : leaves)
      out.push_back(l.grad());
    for (size_t k = 2; k < params.size(); k += 5) // running means
      out.push_back(params[k]);
    return out;
  };
  std::vector<at::Tensor> cpu = run(at::Device(at::kCPU));
  std::vector<at::Tensor> gpu = run(at::Device(at::kCUDA, 0));
  double worst = 0;
  for (size_t k = 0; k < cpu.size(); ++k)
    worst = std::max(worst, relativeError(gpu[k], cpu[k]));
  // The output keeps the inputs' layout (no copy back to NCHW).
  if (!gpu[0].is_contiguous(format))
    worst = 1.0;
  const bool nhwc = format == at::MemoryFormat::ChannelsLast;
  reportBf16(std::string(name) + " bf16 training " + (nhwc ? "NHWC " : "") +
                 shapeString(outShape),
             worst);
}

/// PyTorch's bf16 autocast on CUDA on or off (its API changed in 2.4).
void setCudaAutocast(bool on) {
#if TORCH_VERSION_MAJOR > 2 ||                                                 \
    (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCUDA, on);
#else
  at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  at::autocast::set_enabled(on);
#endif
  if (!on)
    at::autocast::clear_cache();
}

/// --bf16: the checks, then the bench against PyTorch under autocast.
int mainBf16(int64_t batch) {
  std::printf("== bf16 LRN kernels: CUDA against the CPU twin\n");
  for (const Shape &shape : std::vector<Shape>{
           {2, 13, 7, 9}, {4, 64, 13, 13}, {1, 3, 5, 5}, {3, 96, 27, 27}}) {
    // Each in NCHW and in NHWC: the bf16 kernels have both layouts.
    for (at::MemoryFormat format :
         {at::MemoryFormat::Contiguous, at::MemoryFormat::ChannelsLast}) {
#define RTML_CHECK_CONFIG(NAME) checkBf16Lrn<NAME>(#NAME, shape, format);
      RTML_DEVICE_LRN_CONFIGS(RTML_CHECK_CONFIG)
#undef RTML_CHECK_CONFIG
    }
  }
  std::printf("\n== bf16 fused concat: CUDA against the CPU twin\n");
  for (const auto &[n, spatial] : std::vector<std::pair<int64_t, Shape>>{
           {2, {7, 9}}, {8, {28, 28}}, {4, {}}}) {
    // Images also in NHWC (channels_last needs 4-D inputs).
    std::vector<at::MemoryFormat> formats = {at::MemoryFormat::Contiguous};
    if (spatial.size() == 2)
      formats.push_back(at::MemoryFormat::ChannelsLast);
    for (at::MemoryFormat format : formats) {
#define RTML_CHECK_CONFIG(NAME)                                                \
  checkBf16ConcatRelu<NAME>(#NAME, n, spatial, format);
      RTML_DEVICE_CONCAT_RELU_CONFIGS(RTML_CHECK_CONFIG)
#undef RTML_CHECK_CONFIG
    }
  }

  std::printf("\n== bf16 forward+backward on CUDA, batch %lld: rtml against "
              "PyTorch's relu + local_response_norm under bf16 autocast "
              "(median ms)\n",
              static_cast<long long>(batch));
  const auto options =
      F::LocalResponseNormFuncOptions(5).alpha(1e-4).beta(0.75).k(2.0);
  const std::vector<BenchShape> shapes = {
      {"AlexNet LRN1 (relu+lrn)", true, 64, 55, 55},
      {"AlexNet LRN2 (relu+lrn)", true, 192, 27, 27},
      {"GoogLeNet LRN2 (relu+lrn)", true, 192, 56, 56},
  };
  TimingTable table{" bf16", "PyTorch autocast", batch};
  // NCHW, then NHWC: the layout a trainer runs on CUDA, and the one a tuned
  // PyTorch model (channels_last) hands its LRN.
  for (at::MemoryFormat format :
       {at::MemoryFormat::Contiguous, at::MemoryFormat::ChannelsLast})
    for (BenchShape s : shapes) {
      const std::string label =
          std::string(s.where) +
          (format == at::MemoryFormat::ChannelsLast ? " NHWC" : " NCHW");
      s.where = label.c_str();
      try {
        torch::manual_seed(0);
        at::Tensor x = torch::randn({batch, s.c, s.h, s.w}, at::kCUDA)
                           .to(at::kBFloat16)
                           .contiguous(format);
        at::Tensor up = torch::randn(x.sizes(), at::kCUDA)
                            .to(at::kBFloat16)
                            .contiguous(format);
        TensorFn ours = [](const at::Tensor &t) {
          return rtml::kernels::localResponseNorm<SeedRelu>(t);
        };
        // What a PyTorch user writes: the same ops under autocast, each in
        // the type autocast picks for it, the result in bf16.
        TensorFn theirs = [&](const at::Tensor &t) {
          setCudaAutocast(true);
          at::Tensor y = F::local_response_norm(at::relu(t), options);
          setCudaAutocast(false);
          return y.to(at::kBFloat16);
        };
        table.row(s, ours, theirs, x, up);
      } catch (const std::exception &e) {
        table.failed(s, e);
      }
    }
  std::printf("\nSUMMARY-CHECK: %d of %d bf16 kernel checks passed on "
              "cuda:0\n",
              gPassed, gTotal);
  std::printf("SUMMARY-BENCH: bf16 fused ReLU+LRN fwd+bwd vs PyTorch "
              "autocast, batch %lld, AlexNet 1/2, GoogLeNet 2 in NCHW, then "
              "NHWC: %s (min %.2fx)\n",
              static_cast<long long>(batch), table.ratios.c_str(),
              table.smallest());
  return gPassed == gTotal ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
  if (!torch::cuda::is_available()) {
    std::fprintf(stderr, "error: CUDA is not available\n");
    return 1;
  }
  if (argc > 1 && std::string(argv[1]) == "--bf16") {
    int64_t batch = 128;
    if (const char *env = std::getenv("RTML_BENCH_BATCH"))
      batch = std::max<int64_t>(1, std::atoll(env));
    return mainBf16(batch);
  }
  std::printf("== LRN kernels: CUDA against the CPU twin\n");
#define RTML_CHECK_CONFIG(NAME) checkConfig<NAME>(#NAME);
  RTML_DEVICE_LRN_CONFIGS(RTML_CHECK_CONFIG)
#undef RTML_CHECK_CONFIG

  std::printf("\n== fused concat (ReLU, batch norm + ReLU epilogues): CUDA "
              "against the CPU twin\n");
#define RTML_CHECK_CONFIG(NAME) checkConcatReluConfig<NAME>(#NAME);
  RTML_DEVICE_CONCAT_RELU_CONFIGS(RTML_CHECK_CONFIG)
#undef RTML_CHECK_CONFIG

  int64_t batch = 128;
  if (const char *env = std::getenv("RTML_BENCH_BATCH"))
    batch = std::max<int64_t>(1, std::atoll(env));
  std::printf("\n== forward+backward on CUDA, batch %lld: rtml against "
              "PyTorch's relu + local_response_norm (median ms)\n",
              static_cast<long long>(batch));
  const std::vector<BenchShape> shapes = {
      {"AlexNet LRN1 (relu+lrn)", true, 64, 55, 55},
      {"AlexNet LRN2 (relu+lrn)", true, 192, 27, 27},
      {"GoogLeNet LRN1 (lrn)", false, 64, 56, 56},
      {"GoogLeNet LRN2 (relu+lrn)", true, 192, 56, 56},
  };
  const auto options =
      F::LocalResponseNormFuncOptions(5).alpha(1e-4).beta(0.75).k(2.0);
  TimingTable table{"", "PyTorch", batch};
  for (const BenchShape &s : shapes) {
    try {
      torch::manual_seed(0);
      at::Tensor x = torch::randn({batch, s.c, s.h, s.w}, at::kCUDA);
      at::Tensor up = torch::randn(x.sizes(), at::kCUDA);
      TensorFn ours, theirs;
      if (s.relu) {
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
      table.row(s, ours, theirs, x, up);
    } catch (const std::exception &e) {
      table.failed(s, e);
    }
  }
  std::printf("\nSUMMARY-CHECK: %d of %d kernel checks passed on cuda:0\n",
              gPassed, gTotal);
  std::printf("SUMMARY-BENCH: fused ReLU+LRN fwd+bwd vs PyTorch, batch "
              "%lld, AlexNet 1/2, GoogLeNet 1/2: %s (min %.2fx)\n",
              static_cast<long long>(batch), table.ratios.c_str(),
              table.smallest());
  return gPassed == gTotal ? 0 : 1;
}

#endif // RTML_WITH_CUDA
