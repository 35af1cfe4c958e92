//===- Progress.h - Progress lines of training and evaluation -------------===//
#ifndef RTML_RUNTIME_LIB_PROGRESS_H
#define RTML_RUNTIME_LIB_PROGRESS_H

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace rtml {

using Clock = std::chrono::steady_clock;

inline double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// "m:ss" or "h:mm:ss"; "?" when not finite.
std::string formatDuration(double seconds);

/// Progress on the log stream: a bar redrawn in place on a terminal, a
/// plain line every few seconds otherwise (logs stay short).
class Progress {
public:
  Progress(std::ostream &log, bool enabled, bool isTty)
      : log(log), enabled(enabled), isTty(isTty) {}

  /// Whether update(..., FORCE) would draw now: callers read values that
  /// wait for the device only then.
  bool due(bool force) const;
  void update(const std::string &prefix, int64_t batch, int64_t batches,
              double loss, double accuracy, int64_t images, double elapsed,
              bool force);
  /// Clears a bar drawn in place, so that the next line starts clean.
  void finish();

private:
  std::ostream &log;
  bool enabled, isTty;
  bool drawn = false;
  Clock::time_point last = Clock::now();
};

} // namespace rtml

#endif // RTML_RUNTIME_LIB_PROGRESS_H
