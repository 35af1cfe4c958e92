//===- Bench.cpp - Timing full training steps on random data --------------===//
#include "DeviceSelection.h"
#include "Progress.h"
#include "StepGraph.h"

#include "rtml/Runtime/DeviceMap.h"
#include "rtml/Runtime/Optimizer.h"
#include "rtml/Runtime/Parameters.h"
#include "rtml/Runtime/Trainer.h"

#include <ATen/ATen.h>
#include <torch/cuda.h>

#include <algorithm>
#include <iostream>

namespace rtml {

BenchResult benchTrainStep(const CompiledModel &model, at::Device device,
                           int64_t batchSize, int64_t steps, int64_t warmup,
                           uint64_t seed, bool cudaGraphs,
                           int64_t profileSteps) {
  checkDeviceAvailable(device);
  enableCudnnAutotuning(device);
  const ModelInfo &info = model.info();
  ParameterRegistry registry(model.parameters(), device, seed);
  const TrainConfig &cfg = info.train;
  Sgd sgd(
      registry.trainableTensors(),
      SgdOptions{cfg.learningRate, cfg.momentum, cfg.weightDecay, cfg.nesterov},
      registry.trainableCopies());
  at::manual_seed(seed);
  std::vector<int64_t> shape = {batchSize};
  shape.insert(shape.end(), info.inputShape.begin(), info.inputShape.end());
  at::Tensor x = at::randn(shape).to(device);
  at::Tensor y =
      at::randint(std::max<int64_t>(info.numClasses, 1), {batchSize}, at::kLong)
          .to(device);
  auto synchronize = [&] {
    if (device.is_cuda())
      torch::cuda::synchronize(device.index());
  };
  auto step = [&] {
    trainingLoss(model, x, registry.forwardTensors(), y).backward();
    sgd.step();
  };
  StepGraph graph;
  bool graphFailed = false;
  BenchResult result;
  for (int64_t i = 0; int64_t(result.stepMs.size()) < steps; ++i) {
    StepConditions c;
    c.graphsEnabled = cudaGraphs && !graphFailed;
    c.graphsBuilt = StepGraph::built();
    c.onCuda = device.is_cuda();
    c.physicalDevices =
        physicalDeviceCount(static_cast<int64_t>(info.devices.size()));
    c.batchImages = c.fullBatch = batchSize;
    c.eagerStepsDone = i;
    c.captured = graph.captured();
    StepMode mode = stepMode(c);
    synchronize();
    TransferBytes before = transferBytes();
    auto start = Clock::now();
    if (mode == StepMode::Replay) {
      graph.replay();
    } else {
      sgd.zeroGrad();
      if (mode == StepMode::Capture) {
        std::string failure = graph.tryCapture(device.index(), step);
        graphFailed = !failure.empty();
        if (graphFailed) {
          std::cerr << "cuda graph: the step cannot be captured (" << failure
                    << "); timing eager steps" << std::endl;
          sgd.zeroGrad(); // what the failed capture's backward left
        }
      }
      if (mode == StepMode::Eager || graphFailed)
        step();
    }
    synchronize();
    // The capture is a one-off: never timed, it counts as warm-up.
    if (i >= warmup && mode != StepMode::Capture) {
      result.stepMs.push_back(secondsSince(start) * 1e3);
      result.stepMode = mode == StepMode::Replay ? "cuda-graph" : "eager";
    }
    TransferBytes after = transferBytes();
    result.transferPerStep = {after.forward - before.forward,
                              after.backward - before.backward};
  }
  if (profileSteps > 0) {
    bool replay = result.stepMode == "cuda-graph";
    auto profiledStep = [&] {
      if (replay) {
        graph.replay();
      } else {
        sgd.zeroGrad();
        step();
      }
      synchronize();
    };
    synchronize();
    auto start = Clock::now();
    std::vector<ProfiledEvent> events =
        profileEvents(profiledStep, profileSteps, device.is_cuda());
    result.profiledStepMs = secondsSince(start) * 1e3 / profileSteps;
    result.profile = aggregateProfile(std::move(events), profileSteps);
  }
  if (!result.stepMs.empty()) {
    std::vector<double> sorted = result.stepMs;
    std::sort(sorted.begin(), sorted.end());
    size_t n = sorted.size();
    result.medianMs =
        n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    double sum = 0;
    for (double ms : sorted)
      sum += ms;
    result.meanMs = sum / n;
    result.imagesPerS = batchSize / (result.meanMs / 1e3);
  }
  return result;
}

} // namespace rtml
