//===- StopSignals.h - SIGINT/SIGTERM as a flag the training loop checks --===//
#ifndef RTML_RUNTIME_LIB_STOPSIGNALS_H
#define RTML_RUNTIME_LIB_STOPSIGNALS_H

#include <csignal>

namespace rtml {

/// The signal that asked training to stop (SIGINT, SIGTERM), or 0. Set by
/// the handler SignalGuard installs; the loop checks it between batches.
extern volatile std::sig_atomic_t gStopSignal;

/// While alive (and enabled), SIGINT and SIGTERM set gStopSignal. The
/// handler resets itself, so a second signal acts at once.
class SignalGuard {
public:
  explicit SignalGuard(bool enabled);
  ~SignalGuard();
  SignalGuard(const SignalGuard &) = delete;
  SignalGuard &operator=(const SignalGuard &) = delete;

private:
  bool enabled;
  struct sigaction oldInt, oldTerm;
};

inline const char *stopSignalName(int sig) {
  return sig == SIGINT ? "SIGINT" : "SIGTERM";
}

} // namespace rtml

#endif // RTML_RUNTIME_LIB_STOPSIGNALS_H
