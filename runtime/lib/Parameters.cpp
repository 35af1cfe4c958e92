//===- Parameters.cpp - Parameter registry, SGD and loss ------------------===//
//
// Grouped in one translation unit because each is small and LibTorch headers
// are slow to compile.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Parameters.h"
#include "rtml/Runtime/DeviceMap.h"
#include "rtml/Runtime/Optimizer.h"

#include "rtml/Support/Shapes.h"

#include <ATen/record_function.h>

#include "SgdKernel.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

#ifdef RTML_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace rtml {

at::Tensor initParameter(const ParameterSpec &spec, at::Generator &gen) {
  at::Tensor t = at::empty(spec.shape, at::TensorOptions().dtype(spec.dtype));
  switch (spec.init) {
  case ParamInit::FanInUniform: {
    if (spec.fanIn <= 0)
      throw std::invalid_argument("parameter '" + spec.name +
                                  "': fanIn must be positive, got " +
                                  std::to_string(spec.fanIn));
    double bound = 1.0 / std::sqrt(static_cast<double>(spec.fanIn));
    t.uniform_(-bound, bound, gen);
    break;
  }
  case ParamInit::Zeros:
    t.zero_();
    break;
  case ParamInit::Ones:
    t.fill_(1.0);
    break;
  }
  return t;
}

int64_t countParameters(const std::vector<ParameterSpec> &specs) {
  int64_t total = 0;
  for (const ParameterSpec &spec : specs)
    if (spec.trainable)
      total += numElements(spec.shape);
  return total;
}

ParameterRegistry::ParameterRegistry(std::vector<ParameterSpec> specs,
                                     at::Device device, uint64_t seed)
    : paramSpecs(std::move(specs)), dev(device) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  values.reserve(paramSpecs.size());
  for (size_t i = 0; i < paramSpecs.size(); ++i) {
    const ParameterSpec &spec = paramSpecs[i];
    if (!byName.emplace(spec.name, i).second)
      throw std::invalid_argument("duplicate parameter name '" + spec.name +
                                  "'");
    // A partitioned model's parameters live on their op's device.
    at::Device target = spec.device == 0 ? device : physicalDevice(spec.device);
    at::Tensor t = initParameter(spec, gen).to(target).contiguous(
        storageFormat(spec, target));
    at::Tensor copy;
    if (spec.trainable && t.scalar_type() == at::kFloat &&
        readsBf16Copy(spec, target)) {
      copy = at::empty_like(t, t.options().dtype(at::kBFloat16),
                            storageFormat(spec, target));
      copy.copy_(t);
      copy.set_requires_grad(true);
    }
    if (spec.trainable) {
      t.set_requires_grad(true);
      trainable.push_back(t);
      trainableCopy.push_back(copy);
    }
    values.push_back(t);
    copies.push_back(copy);
    forwardValues.push_back(copy.defined() ? copy : t);
    copiedVersions.push_back(t._version());
  }
}

const std::vector<at::Tensor> &ParameterRegistry::forwardTensors() const {
  for (size_t i = 0; i < copies.size(); ++i)
    if (copies[i].defined() && values[i]._version() != copiedVersions[i]) {
      c10::NoGradGuard noGrad;
      copies[i].copy_(values[i]);
      copiedVersions[i] = values[i]._version();
    }
  return forwardValues;
}

at::Tensor ParameterRegistry::find(const std::string &name) const {
  auto it = byName.find(name);
  return it == byName.end() ? at::Tensor() : values[it->second];
}

int64_t ParameterRegistry::indexOf(const std::string &name) const {
  auto it = byName.find(name);
  return it == byName.end() ? -1 : static_cast<int64_t>(it->second);
}

/// Elements per thread below which a parameter's update stays on one thread.
static constexpr int64_t kSgdGrainSize = 1 << 16;

Sgd::Sgd(std::vector<at::Tensor> parameters, SgdOptions options,
         std::vector<at::Tensor> bf16Copies)
    : params(std::move(parameters)), copies(std::move(bf16Copies)),
      buffers(params.size()), opts(options) {
  if (copies.empty())
    copies.resize(params.size());
  TORCH_CHECK(copies.size() == params.size(), "Sgd: ", copies.size(),
              " copies for ", params.size(), " parameters");
  for (const at::Tensor &p : params)
    if (p.is_cuda() && !learningRateOn(p.device()).defined())
      deviceLearningRates.emplace_back(
          p.device(),
          at::full({}, opts.learningRate,
                   at::TensorOptions().dtype(at::kFloat).device(p.device())));
}

void Sgd::setLearningRate(double lr) {
  opts.learningRate = lr;
  for (auto &[device, rate] : deviceLearningRates)
    rate.fill_(lr);
}

at::Tensor Sgd::learningRateOn(at::Device device) const {
  for (const auto &[on, rate] : deviceLearningRates)
    if (on == device)
      return rate;
  return at::Tensor();
}

void Sgd::zeroGrad() {
  for (auto *tensors : {&params, &copies})
    for (at::Tensor &t : *tensors)
      if (t.defined() && t.grad().defined())
        t.mutable_grad().reset();
}

void Sgd::moveCopyGradientsToParameters() {
  c10::NoGradGuard noGrad;
  for (size_t i = 0; i < params.size(); ++i)
    if (copies[i].defined() && copies[i].grad().defined()) {
      if (!params[i].grad().defined())
        params[i].mutable_grad() = copies[i].grad().to(at::kFloat);
      else
        params[i].mutable_grad().add_(copies[i].grad());
      copies[i].mutable_grad().reset();
    }
}

at::Tensor Sgd::gradientOf(size_t i) const {
  if (params[i].grad().defined() || !copies[i].defined())
    return params[i].grad();
  return copies[i].grad();
}

namespace {

/// Whether a multi-tensor kernel can update P: floats, dense, with the
/// gradient (and the buffer once it exists) laid out as P (contiguous, or
/// a channels_last convolution weight), on the CPU or, in a CUDA build, one
/// GPU. The kernels treat the three as flat arrays; elements are
/// independent, so any common order updates the same values.
bool fusedStepApplies(const at::Tensor &p, const at::Tensor &grad,
                      const at::Tensor &buf, const at::Tensor &copy) {
#ifdef RTML_WITH_CUDA
  bool deviceHasKernel = p.device().is_cpu() || p.device().is_cuda();
#else
  bool deviceHasKernel = p.device().is_cpu();
#endif
  // The same element at the same offset: equal strides wherever the size
  // is not 1 (a 1x1 convolution's weight is both contiguous and
  // channels_last, and autograd may hand it a gradient with the other's
  // strides).
  auto sameOrder = [&](const at::Tensor &t) {
    for (int64_t d = 0; d < p.dim(); ++d)
      if (p.size(d) != 1 && t.stride(d) != p.stride(d))
        return false;
    return true;
  };
  auto plain = [&](const at::Tensor &t, at::ScalarType type) {
    return t.device() == p.device() && t.scalar_type() == type &&
           t.layout() == at::kStrided && t.sizes() == p.sizes() &&
           t.is_non_overlapping_and_dense() && sameOrder(t);
  };
  // A copy's bf16 gradient, or the parameter's own f32 one.
  at::ScalarType gradType =
      copy.defined() && grad.scalar_type() == at::kBFloat16 ? at::kBFloat16
                                                            : at::kFloat;
  return deviceHasKernel && plain(p, at::kFloat) && plain(grad, gradType) &&
         (!buf.defined() || plain(buf, at::kFloat)) &&
         (!copy.defined() || plain(copy, at::kBFloat16));
}

/// The CPU twin of sgdMultiTensorCuda: each tensor of LIST in one pass
/// split over threads. Elements are independent, so any split gives the
/// same bits.
void sgdMultiTensorCpu(const kernels::SgdTensorList &list,
                       const kernels::SgdConstants &c, float learningRate) {
  for (int t = 0; t < list.count; ++t) {
    float *param = list.params[t];
    const float *grad = list.grads[t];
    const kernels::Bf16 *bf16Grad = list.bf16Grads[t];
    kernels::Bf16 *copy = list.copies[t];
    float *buffer = list.buffers[t];
    bool initBuffer = (list.initBuffers >> t) & 1;
    at::parallel_for(0, list.offsets[t + 1] - list.offsets[t], kSgdGrainSize,
                     [&](int64_t begin, int64_t end) {
                       detail::sgdUpdate(
                           param + begin, grad ? grad + begin : nullptr,
                           bf16Grad ? bf16Grad + begin : nullptr,
                           copy ? copy + begin : nullptr,
                           buffer ? buffer + begin : nullptr, initBuffer,
                           end - begin, c, learningRate);
                     });
  }
}

} // namespace

void Sgd::step() {
  RECORD_USER_SCOPE("rtml::sgd_step"); // named in bench --profile
  c10::NoGradGuard noGrad;
  const kernels::SgdConstants constants{static_cast<float>(opts.momentum),
                                        static_cast<float>(opts.weightDecay),
                                        opts.nesterov};
  // The tensors the multi-tensor kernels take, one list per device, each
  // launched when full and at the end: one pass over all of them instead
  // of four ATen kernels per parameter.
  std::vector<std::pair<at::Device, kernels::SgdTensorList>> lists;
  auto launch = [&](at::Device device, kernels::SgdTensorList &list) {
    if (list.count == 0)
      return;
    if (device.is_cpu()) {
      sgdMultiTensorCpu(list, constants, static_cast<float>(opts.learningRate));
    } else {
#ifdef RTML_WITH_CUDA
      c10::cuda::CUDAGuard onDevice(device);
      kernels::sgdMultiTensorCuda(
          list, constants, learningRateOn(device).data_ptr<float>(),
          c10::cuda::getCurrentCUDAStream(device.index()).stream());
#endif
    }
    list.count = 0;
    list.initBuffers = 0;
  };
  for (size_t i = 0; i < params.size(); ++i) {
    at::Tensor &p = params[i];
    at::Tensor dp = gradientOf(i);
    if (!dp.defined())
      continue;
    at::Tensor &buf = buffers[i];
    const at::Tensor &copy = copies[i];
    if (fusedStepApplies(p, dp, buf, copy)) {
      bool initBuffer = opts.momentum != 0 && !buf.defined();
      if (initBuffer)
        buf = at::empty_like(p, at::MemoryFormat::Preserve);
      auto it = std::find_if(lists.begin(), lists.end(), [&](const auto &l) {
        return l.first == p.device();
      });
      if (it == lists.end()) {
        lists.emplace_back(p.device(), kernels::SgdTensorList{});
        it = std::prev(lists.end());
        it->second.count = 0;
        it->second.initBuffers = 0;
        it->second.offsets[0] = 0;
      }
      kernels::SgdTensorList &list = it->second;
      int t = list.count++;
      bool bf16Grad = dp.scalar_type() == at::kBFloat16;
      list.params[t] = p.data_ptr<float>();
      list.grads[t] = bf16Grad ? nullptr : dp.data_ptr<float>();
      list.bf16Grads[t] =
          bf16Grad ? static_cast<const kernels::Bf16 *>(dp.data_ptr())
                   : nullptr;
      list.buffers[t] = buf.defined() ? buf.data_ptr<float>() : nullptr;
      list.copies[t] = copy.defined()
                           ? static_cast<kernels::Bf16 *>(copy.data_ptr())
                           : nullptr;
      list.initBuffers |= uint64_t(initBuffer) << t;
      list.offsets[t + 1] = list.offsets[t] + p.numel();
      if (list.count == kernels::kSgdListCapacity)
        launch(it->first, list);
      continue;
    }
    dp = dp.to(at::kFloat); // a copy's gradient: exact
    if (opts.weightDecay != 0)
      dp = dp.add(p, opts.weightDecay);
    if (opts.momentum != 0) {
      if (!buf.defined())
        buf = dp.clone().detach();
      else
        buf.mul_(opts.momentum).add_(dp);
      dp = opts.nesterov ? dp.add(buf, opts.momentum) : buf;
    }
    // On a GPU the rate comes from device memory here too, so that a
    // captured step replays with the current epoch's (one rounding more
    // than torch's fused p - lr * d_p).
    at::Tensor rate = learningRateOn(p.device());
    if (rate.defined())
      p.sub_(dp.mul(rate));
    else
      p.add_(dp, -opts.learningRate);
    if (copy.defined())
      copy.copy_(p);
  }
  for (auto &[device, list] : lists)
    launch(device, list);
}

void Sgd::setMomentumBuffer(size_t index, const at::Tensor &buffer) {
  TORCH_CHECK(index < params.size(), "momentum buffer index out of range");
  TORCH_CHECK(buffer.sizes() == params[index].sizes(), "momentum buffer shape ",
              buffer.sizes(), " does not match parameter shape ",
              params[index].sizes());
  // In the parameter's layout, as the step's own buffers.
  buffers[index] = at::empty_like(params[index], at::MemoryFormat::Preserve)
                       .copy_(buffer.detach());
}

at::Tensor crossEntropy(const at::Tensor &logits, const at::Tensor &targets) {
  return at::cross_entropy_loss(logits, targets);
}

} // namespace rtml

namespace rtml {

at::Tensor combineHeadLosses(const CompiledModel &model,
                             const std::vector<at::Tensor> &heads,
                             const at::Tensor &targets,
                             std::vector<at::Tensor> *headLosses) {
  const std::vector<HeadInfo> &info = model.info().heads;
  if (heads.empty() || (!info.empty() && info.size() != heads.size()))
    throw std::logic_error("model '" + model.info().name + "' returned " +
                           std::to_string(heads.size()) + " heads, expected " +
                           std::to_string(info.empty() ? 1 : info.size()));
  at::Tensor loss;
  if (headLosses)
    headLosses->clear();
  for (size_t i = 0; i < heads.size(); ++i) {
    double weight = info.empty() ? 1.0 : info[i].lossWeight;
    at::Tensor term = crossEntropy(heads[i], targets);
    if (headLosses)
      headLosses->push_back(term.detach());
    if (weight != 1.0)
      term = term * weight;
    loss = loss.defined() ? loss + term : term;
  }
  return loss;
}

at::Tensor trainingLoss(const CompiledModel &model, const at::Tensor &input,
                        const std::vector<at::Tensor> &params,
                        const at::Tensor &targets, at::Tensor *mainLogits) {
  std::vector<at::Tensor> heads = model.forwardHeads(input, params, true);
  at::Tensor loss = combineHeadLosses(model, heads, targets);
  if (mainLogits)
    *mainLogits = heads.front();
  return loss;
}

double learningRateAt(const TrainConfig &config, int64_t epoch) {
  double lr = config.learningRate;
  int64_t done = std::max<int64_t>(epoch - 1, 0);
  switch (config.lrSchedule) {
  case LrSchedule::Constant:
    return lr;
  case LrSchedule::Step:
    if (config.lrStepSize <= 0)
      return lr;
    return lr * std::pow(config.lrGamma,
                         static_cast<double>(done / config.lrStepSize));
  case LrSchedule::Cosine: {
    int64_t tMax = config.lrTMax > 0 ? config.lrTMax : config.epochs;
    if (tMax <= 0)
      return lr;
    return config.lrEtaMin +
           (lr - config.lrEtaMin) * (1 + std::cos(M_PI * done / tMax)) / 2;
  }
  }
  return lr;
}

} // namespace rtml
