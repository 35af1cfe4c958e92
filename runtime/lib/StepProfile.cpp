//===- StepProfile.cpp - Where a training step's time goes ----------------===//
#include "rtml/Runtime/StepProfile.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <utility>

#ifndef RTML_NO_STEP_PROFILER
#include <torch/csrc/autograd/profiler_kineto.h>
#endif

namespace rtml {

std::vector<ProfiledOp> aggregateProfile(std::vector<ProfiledEvent> events,
                                         int64_t steps) {
  // On one thread, by start and the enclosing (longer) event first: each
  // event's parent is the innermost open event that ends after it starts.
  std::stable_sort(events.begin(), events.end(),
                   [](const ProfiledEvent &a, const ProfiledEvent &b) {
                     if (a.onDevice != b.onDevice)
                       return a.onDevice < b.onDevice;
                     if (a.thread != b.thread)
                       return a.thread < b.thread;
                     if (a.startNs != b.startNs)
                       return a.startNs < b.startNs;
                     return a.durationNs > b.durationNs;
                   });
  std::vector<uint64_t> childNs(events.size(), 0);
  std::vector<size_t> open;
  for (size_t i = 0; i < events.size(); ++i) {
    const ProfiledEvent &e = events[i];
    if (e.onDevice)
      continue; // kernels on streams overlap; none contains another
    while (!open.empty()) {
      const ProfiledEvent &top = events[open.back()];
      if (top.thread == e.thread &&
          e.startNs < top.startNs + top.durationNs)
        break;
      open.pop_back();
    }
    if (!open.empty())
      childNs[open.back()] += e.durationNs;
    open.push_back(i);
  }
  std::map<std::pair<bool, std::string>, ProfiledOp> byName;
  double perStep = 1.0 / static_cast<double>(std::max<int64_t>(steps, 1));
  for (size_t i = 0; i < events.size(); ++i) {
    const ProfiledEvent &e = events[i];
    ProfiledOp &op = byName[{e.onDevice, e.name}];
    op.name = e.name;
    op.onDevice = e.onDevice;
    op.callsPerStep += 1; // divided by the steps below, exactly
    op.totalUsPerStep += e.durationNs * 1e-3 * perStep;
    // A child that outlasts its parent (clock skew) leaves no negative time.
    uint64_t self = e.durationNs - std::min(e.durationNs, childNs[i]);
    op.selfUsPerStep += self * 1e-3 * perStep;
  }
  std::vector<ProfiledOp> ops;
  for (auto &entry : byName) {
    entry.second.callsPerStep *= perStep;
    ops.push_back(std::move(entry.second));
  }
  std::stable_sort(ops.begin(), ops.end(),
                   [](const ProfiledOp &a, const ProfiledOp &b) {
                     if (a.onDevice != b.onDevice)
                       return a.onDevice > b.onDevice;
                     return a.selfUsPerStep > b.selfUsPerStep;
                   });
  return ops;
}

#ifdef RTML_NO_STEP_PROFILER

std::vector<ProfiledEvent> profileEvents(const std::function<void()> &,
                                         int64_t, bool) {
  throw std::runtime_error("--profile: this trainer was built without "
                           "LibTorch's profiler");
}

#else

namespace {

namespace profiler = torch::autograd::profiler;
namespace impl = torch::profiler::impl;

// LibTorch 2.1 and later time events in ns; 1.13 and 2.0 in us.
template <class Event>
auto startNsOf(const Event &e, int) -> decltype(uint64_t(e.startNs())) {
  return e.startNs();
}
template <class Event> uint64_t startNsOf(const Event &e, long) {
  return uint64_t(e.startUs()) * 1000;
}
template <class Event>
auto durationNsOf(const Event &e, int) -> decltype(uint64_t(e.durationNs())) {
  return e.durationNs();
}
template <class Event> uint64_t durationNsOf(const Event &e, long) {
  return uint64_t(e.durationUs()) * 1000;
}

} // namespace

std::vector<ProfiledEvent> profileEvents(const std::function<void()> &step,
                                         int64_t steps, bool cuda) {
  std::set<impl::ActivityType> activities = {impl::ActivityType::CPU};
  if (cuda)
    activities.insert(impl::ActivityType::CUDA);
  impl::ProfilerConfig config(impl::ProfilerState::KINETO);
  profiler::prepareProfiler(config, activities);
  profiler::enableProfiler(config, activities);
  try {
    for (int64_t i = 0; i < steps; ++i)
      step();
  } catch (...) {
    profiler::disableProfiler();
    throw;
  }
  std::unique_ptr<profiler::ProfilerResult> result =
      profiler::disableProfiler();
  std::vector<ProfiledEvent> events;
  for (const auto &e : result->events()) {
    ProfiledEvent out;
    out.name = e.name();
    out.onDevice = e.deviceType() != c10::DeviceType::CPU;
    out.thread = e.startThreadId();
    out.startNs = startNsOf(e, 0);
    out.durationNs = durationNsOf(e, 0);
    events.push_back(std::move(out));
  }
  return events;
}

#endif

} // namespace rtml
