//===- Progress.cpp - Progress lines of training and evaluation -----------===//
#include "Progress.h"

#include "rtml/Runtime/Trainer.h"

#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

namespace rtml {

std::string formatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0)
    return "?";
  int64_t s = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", (long long)(s / 3600),
                  (long long)(s / 60 % 60), (long long)(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", (long long)(s / 60),
                  (long long)(s % 60));
  return buf;
}

std::string formatBytes(int64_t bytes) {
  if (bytes < 1000)
    return std::to_string(bytes) + " B";
  const char *units[] = {"kB", "MB", "GB", "TB"};
  double value = bytes / 1000.0;
  int unit = 0;
  for (; value >= 1000 && unit < 3; ++unit)
    value /= 1000;
  std::ostringstream os;
  os << std::fixed << std::setprecision(2) << value << " " << units[unit];
  return os.str();
}

bool Progress::due(bool force) const {
  double interval = isTty ? 0.25 : 10.0;
  return enabled && (force || secondsSince(last) >= interval);
}

void Progress::update(const std::string &prefix, int64_t batch, int64_t batches,
                      double loss, double accuracy, int64_t images,
                      double elapsed, bool force) {
  if (!due(force))
    return;
  last = Clock::now();
  double rate = elapsed > 0 ? images / elapsed : 0;
  double eta = batch > 0 ? elapsed / batch * (batches - batch) : NAN;
  std::ostringstream line;
  line << prefix << " ";
  if (isTty) {
    constexpr int kWidth = 24;
    int filled = batches > 0 ? int(kWidth * batch / batches) : 0;
    line << "[" << std::string(filled, '#') << std::string(kWidth - filled, '.')
         << "] ";
  }
  line << batch << "/" << batches << " loss " << std::fixed
       << std::setprecision(4) << loss << " acc " << std::setprecision(2)
       << accuracy * 100 << "% " << std::setprecision(1) << rate
       << " img/s ETA " << formatDuration(eta);
  if (isTty)
    log << "\r" << line.str() << "\x1b[K" << std::flush;
  else
    log << line.str() << std::endl;
  drawn = isTty;
}

void Progress::finish() {
  if (drawn)
    log << "\r\x1b[K" << std::flush;
  drawn = false;
}

} // namespace rtml
