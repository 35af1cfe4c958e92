//===- RunFolder.h - A run directory: metrics.jsonl, summary.json, weights ===//
#ifndef RTML_RUNTIME_LIB_RUNFOLDER_H
#define RTML_RUNTIME_LIB_RUNFOLDER_H

#include "rtml/Runtime/Serialization.h"
#include "rtml/Runtime/Trainer.h"

#include <nlohmann/json.hpp>

#include <string>

namespace rtml {

/// The checkpoint --resume names (a run directory or a checkpoint file), the
/// run directory it belongs to, and the hint a refused file's error ends in.
struct ResumePoint {
  std::string file, runDir, hint;
};
/// Finds RESUME's checkpoint (the previous one when the last is missing,
/// saying so on OUT); throws when there is none.
ResumePoint findResumePoint(const std::string &resume, std::ostream &out);

/// One metrics.jsonl record.
nlohmann::ordered_json metricsJson(const PhaseMetrics &m);

/// Rewrites the metrics file PATH keeping only the records of epochs before
/// FIRSTEPOCH (a resumed run writes the rest again); lines that are not a
/// JSON record (the torn end of a killed write) go too.
void truncateMetrics(const std::string &path, int64_t firstEpoch);

/// The run directory a trainer writes: RUN/metrics.jsonl, RUN/summary.json
/// and RUN/checkpoints/.
class RunFolder {
public:
  /// Claims RUN for this process: locks RUN/.lock (a second trainer on RUN
  /// fails at once, naming this one's pid), refuses a RUN that holds a run
  /// unless RESUMING it or told to OVERWRITE it (its files are removed
  /// then), creates RUN/checkpoints and opens RUN/metrics.jsonl: emptied for
  /// a new run, cut to the epochs before FIRSTEPOCH when RESUMING.
  RunFolder(std::string run, bool resuming, int64_t firstEpoch, bool overwrite);
  ~RunFolder();
  RunFolder(const RunFolder &) = delete;
  RunFolder &operator=(const RunFolder &) = delete;

  const std::string &path() const { return run; }
  std::string metricsPath() const { return run + "/metrics.jsonl"; }
  /// Appends one record; a failed write (a full disk) throws, naming the
  /// file and the reason.
  void appendMetrics(const PhaseMetrics &m);
  /// checkpoints/last.pt, and checkpoints/best.pt when BEST.
  void saveWeights(const StateDict &state, bool best);
  void writeSummary(const nlohmann::ordered_json &summary);

private:
  std::string run;
  int lockFd = -1;
  int metricsFd = -1;
};

/// The summary.json of a finished run.
nlohmann::ordered_json summaryJson(const ModelInfo &info,
                                   const TrainOptions &options,
                                   const TrainResult &result);

} // namespace rtml

#endif // RTML_RUNTIME_LIB_RUNFOLDER_H
