//===- StepGraph.cpp - The whole training step as a CUDA graph ------------===//
#include "StepGraph.h"

#include "Evaluation.h"
#include "rtml/Support/EnumNames.h"

#include <c10/util/Exception.h>

#include <stdexcept>

#ifdef RTML_WITH_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace rtml {

StepMode stepMode(const StepConditions &c) {
  bool graphable = c.graphsEnabled && c.graphsBuilt && c.onCuda &&
                   c.physicalDevices <= 1 && !c.dataParallel &&
                   c.fullBatch > 0 && c.batchImages == c.fullBatch;
  if (!graphable)
    return StepMode::Eager;
  if (c.captured)
    return StepMode::Replay;
  return c.eagerStepsDone >= kGraphWarmupSteps ? StepMode::Capture
                                               : StepMode::Eager;
}

const char *stepModeName(StepMode mode) {
  static constexpr const char *kNames[] = {"eager", "capture", "replay"};
  static_assert(std::size(kNames) == size_t(StepMode::Replay) + 1);
  return enumName(kNames, mode);
}

#ifdef RTML_WITH_CUDA

struct StepGraph::State {
  at::cuda::CUDAGraph graph;
  bool captured = false;
};

StepGraph::StepGraph() : state(std::make_unique<State>()) {}
StepGraph::~StepGraph() = default;

bool StepGraph::built() { return true; }

void StepGraph::capture(int deviceIndex, const std::function<void()> &step) {
  c10::cuda::CUDAStream ambient = c10::cuda::getCurrentCUDAStream(deviceIndex);
  // A graph is captured on a stream other than the default one; the side
  // stream starts after the work queued so far, and the ambient stream's
  // later work (the next batch's copy) after the captured step.
  c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(false, deviceIndex);
  ambient.synchronize();
  {
    c10::cuda::CUDAStreamGuard onSide(side);
    state->graph.capture_begin();
    try {
      step();
    } catch (...) {
      // Ends the capture so that the stream is usable for the error path.
      try {
        state->graph.capture_end();
      } catch (...) {
      }
      throw;
    }
    state->graph.capture_end();
  }
  state->captured = true;
  // Capturing recorded the step without running it: run it once now.
  replay();
}

void StepGraph::replay() { state->graph.replay(); }

bool StepGraph::captured() const { return state->captured; }

#else // !RTML_WITH_CUDA: no graphs; stepMode never asks for one.

struct StepGraph::State {};

StepGraph::StepGraph() = default;
StepGraph::~StepGraph() = default;

bool StepGraph::built() { return false; }

void StepGraph::capture(int, const std::function<void()> &) {
  throw std::logic_error("CUDA graphs need a runtime built with CUDA");
}

void StepGraph::replay() {
  throw std::logic_error("CUDA graphs need a runtime built with CUDA");
}

bool StepGraph::captured() const { return false; }

#endif

std::string StepGraph::tryCapture(int deviceIndex,
                                  const std::function<void()> &step) {
  try {
    capture(deviceIndex, step);
    return "";
  } catch (const c10::Error &e) {
    std::string what = e.what_without_backtrace();
    if (isOutOfMemory(what))
      throw;
    state.reset(new State());
    return what.substr(0, what.find('\n'));
  }
}

} // namespace rtml
