//===- StopSignals.cpp - SIGINT/SIGTERM as a flag -------------------------===//
#include "StopSignals.h"

#include <cstring>

namespace rtml {

volatile std::sig_atomic_t gStopSignal = 0;

extern "C" void rtmlOnStopSignal(int sig) { gStopSignal = sig; }

SignalGuard::SignalGuard(bool enabled) : enabled(enabled) {
  gStopSignal = 0;
  if (!enabled)
    return;
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = rtmlOnStopSignal;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &oldInt);
  ::sigaction(SIGTERM, &sa, &oldTerm);
}

SignalGuard::~SignalGuard() {
  if (!enabled)
    return;
  ::sigaction(SIGINT, &oldInt, nullptr);
  ::sigaction(SIGTERM, &oldTerm, nullptr);
}

} // namespace rtml
