//===- StepProfile.h - Where a training step's time goes ---------*- C++ -*-===//
//
// `bench --profile FILE` runs a few more steps under LibTorch's profiler and
// writes, per op and per GPU kernel, the calls and time of one step: the
// breakdown a session on a GPU brings back for the sessions without one.
// The profiler's API is used only through enableProfiler, disableProfiler
// and the events' names, threads and times, which LibTorch 1.13 to 2.x
// share; a build whose LibTorch lacks even that defines
// RTML_NO_STEP_PROFILER, and --profile then says so.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_STEPPROFILE_H
#define RTML_RUNTIME_STEPPROFILE_H

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace rtml {

/// One event as the profiler records it: a CPU op (or CUDA runtime call) on
/// a host thread, or a kernel (or copy) on the GPU.
struct ProfiledEvent {
  std::string name;
  bool onDevice = false;
  uint64_t thread = 0; ///< host thread; events on one nest by time
  uint64_t startNs = 0, durationNs = 0;
};

/// The events of one name, summed over the profiled steps and divided by
/// their number. Self time is the time not spent in events nested inside
/// on the same thread (a kernel's self time is its time).
struct ProfiledOp {
  std::string name;
  bool onDevice = false;
  double callsPerStep = 0, totalUsPerStep = 0, selfUsPerStep = 0;
};

/// EVENTS aggregated by (name, onDevice) over STEPS steps, device events
/// first, each side by self time, longest first.
std::vector<ProfiledOp> aggregateProfile(std::vector<ProfiledEvent> events,
                                         int64_t steps);

/// Runs STEP STEPS times under the profiler (CPU ops, and CUDA kernels when
/// CUDA is set) and returns the recorded events. Throws std::runtime_error
/// where this build has no profiler.
std::vector<ProfiledEvent> profileEvents(const std::function<void()> &step,
                                         int64_t steps, bool cuda);

} // namespace rtml

#endif // RTML_RUNTIME_STEPPROFILE_H
