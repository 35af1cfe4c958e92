//===- Evaluation.cpp - Loss and accuracy over a data set -----------------===//
#include "Evaluation.h"

#include "Progress.h"
#include "RunningStats.h"
#include "StopSignals.h"

#include "rtml/Runtime/Optimizer.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

namespace rtml {

bool isOutOfMemory(const std::string &message) {
  return message.find("out of memory") != std::string::npos ||
         message.find("not enough memory") != std::string::npos;
}

void throwOutOfMemory(const std::string &message, at::Device device,
                      int64_t batchSize, const std::string &where) {
  std::string first = message.substr(0, message.find('\n'));
  throw std::runtime_error("out of memory on " + device.str() + " " + where +
                           " with batch size " + std::to_string(batchSize) +
                           " (" + first + "); try a smaller --batch-size");
}

PhaseMetrics evaluatePhase(const CompiledModel &model,
                           const std::vector<at::Tensor> &params,
                           const Dataset &set, at::Device device,
                           int64_t batchSize, const EvalContext &context) {
  c10::NoGradGuard noGrad;
  BatchTransform transform(model.info().data, device, /*seed=*/0,
                           model.info().inputOn(device));
  BatchSampler sampler(set, batchSize, /*shuffle=*/false, 0);
  bool multiHead = model.info().heads.size() > 1;
  size_t heads = multiHead ? model.info().heads.size() : 0;
  RunningStats stats;
  DeviceSums sums(stats, device, heads);
  auto start = Clock::now();
  int64_t n = sampler.numBatches();
  for (int64_t i = 0; i < n; ++i) {
    if (context.interruptible && gStopSignal)
      break;
    auto batchStart = Clock::now();
    auto [images, labels] = sampler.batch(i);
    try {
      at::Tensor x = transform(images, /*training=*/false);
      at::Tensor y = uploadToDevice(labels, device);
      if (multiHead) {
        std::vector<at::Tensor> outputs = model.forwardHeads(x, params, false);
        std::vector<at::Tensor> losses;
        combineHeadLosses(model, outputs, y, &losses);
        sums.add(losses.front(), outputs.front(), y);
        sums.addHeads(outputs, losses, y);
      } else {
        at::Tensor logits = model.forward(x, params, /*training=*/false);
        sums.add(crossEntropy(logits, y), logits, y);
      }
      stats.countBatch(y.size(0), secondsSince(batchStart));
    } catch (const c10::Error &e) {
      if (!isOutOfMemory(e.what_without_backtrace()))
        throw;
      throwOutOfMemory(e.what_without_backtrace(), device, batchSize,
                       std::string("evaluating (") + context.phase + ")");
    }
    if (context.progress && context.progress->due(false)) {
      sums.readInto(stats);
      context.progress->update(context.prefix, i + 1, n, stats.loss(),
                               stats.accuracy(), stats.images,
                               secondsSince(start), false);
    }
  }
  sums.readInto(stats);
  if (context.progress)
    context.progress->finish();
  if (context.comm)
    stats.sumOver(*context.comm, multiHead ? model.info().heads.size() : 0);
  return stats.metrics(context.epoch, context.phase, secondsSince(start),
                       model);
}

PhaseMetrics evaluate(const CompiledModel &model,
                      const std::vector<at::Tensor> &params, const Dataset &set,
                      at::Device device, int64_t batchSize) {
  return evaluatePhase(model, params, set, device, batchSize, EvalContext{});
}

} // namespace rtml
