//===- StepGraph.h - The whole training step as a CUDA graph ----*- C++ -*-===//
//
// After a few eager steps the training loop captures one whole step
// (forward, backward, SGD, the metric sums) as a CUDA graph and replays it
// for every later full batch: one launch instead of hundreds, and nothing
// for the host to do but copy the next batch in. stepMode decides, as a
// pure function, when a step can be a graph and when it falls back to the
// eager step.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_LIB_STEPGRAPH_H
#define RTML_RUNTIME_LIB_STEPGRAPH_H

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace rtml {

enum class StepMode {
  Eager,   ///< run the step's ops as they come
  Capture, ///< run it once while recording it as a graph
  Replay,  ///< launch the recorded graph
};

/// What stepMode decides from.
struct StepConditions {
  bool graphsEnabled = true;  ///< not --no-cuda-graph
  bool graphsBuilt = false;   ///< the runtime was built with CUDA (graphs)
  bool onCuda = false;        ///< the step's device is a GPU
  /// Physical devices the model's logical ones are on (physicalDeviceCount):
  /// towers sharing a GPU are 1 (their streams fork from and join the
  /// captured stream), a model split over GPUs is more.
  int64_t physicalDevices = 1;
  bool dataParallel = false;  ///< a collective in every step
  int64_t batchImages = 0;    ///< this step's batch
  int64_t fullBatch = 0;      ///< --batch-size
  int64_t eagerStepsDone = 0; ///< eager steps of this session so far
  bool captured = false;      ///< a graph of the full-batch step exists
};

/// Eager steps before the capture: cuDNN's autotuning times its algorithms
/// on the first, the allocator and the momentum buffers settle by then.
constexpr int64_t kGraphWarmupSteps = 3;

/// Replay when a graph of this step exists; capture once the warm-up is
/// done; eager otherwise: graphs off or not built, a CPU, a model split over
/// several GPUs (copies between devices, which one device's graph does not
/// hold) or a data-parallel job (a host collective per step), and any batch
/// but a full one (the epoch's last, short batch: the graph's shapes are
/// fixed). Logical devices sharing one GPU are captured with both (every)
/// stream: DeviceStreams makes each tower's stream wait for the captured
/// one before its first op and the captured one wait for it at the end, so
/// the towers' kernels join the capture; a capture that fails anyway falls
/// back (tryCapture).
StepMode stepMode(const StepConditions &c);

/// Lowercase name of MODE, for the log and tests.
const char *stepModeName(StepMode mode);

/// One captured step. In a runtime built without CUDA it cannot capture
/// (stepMode never asks it to: graphsBuilt is false).
class StepGraph {
public:
  StepGraph();
  ~StepGraph();
  StepGraph(const StepGraph &) = delete;
  StepGraph &operator=(const StepGraph &) = delete;

  /// Whether this build can capture (RTML_WITH_CUDA).
  static bool built();
  /// Runs STEP on a side stream of DEVICE (its current stream waits for it)
  /// while recording its kernels; afterwards replay() repeats them, on the
  /// same memory. Throws when capture fails.
  void capture(int deviceIndex, const std::function<void()> &step);
  /// As capture, but a step that a graph cannot hold (an op that waits for
  /// the device, say) is no error: nothing of it ran, and the answer is why
  /// (its first line), for the caller to run it eagerly. Empty: captured.
  /// Running out of memory still throws.
  std::string tryCapture(int deviceIndex, const std::function<void()> &step);
  /// Launches the recorded step on the current stream.
  void replay();
  bool captured() const;

private:
  struct State;
  std::unique_ptr<State> state;
};

} // namespace rtml

#endif // RTML_RUNTIME_LIB_STEPGRAPH_H
