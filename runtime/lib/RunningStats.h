//===- RunningStats.h - Sums of one phase of one epoch --------------------===//
#ifndef RTML_RUNTIME_LIB_RUNNINGSTATS_H
#define RTML_RUNTIME_LIB_RUNNINGSTATS_H

#include "rtml/Runtime/Trainer.h"

#include <ATen/core/Tensor.h>

#include <vector>

namespace rtml {

/// Sums of one phase of one epoch; saved in checkpoints, so that an epoch
/// resumed mid-way reports what an uninterrupted one does.
struct RunningStats {
  double lossSum = 0;
  int64_t correct = 0;
  int64_t images = 0;
  double batchTime = 0;
  int64_t batches = 0;
  double elapsed = 0; ///< seconds spent in earlier sessions
  std::vector<double> headLossSum;
  std::vector<int64_t> headCorrect;

  void add(const at::Tensor &logits, const at::Tensor &labels, double loss,
           double seconds);
  void addHeads(const std::vector<at::Tensor> &heads,
                const std::vector<double> &losses, const at::Tensor &labels);
  /// Data parallel: the sums over every process (times stay this one's).
  void sumOver(Communicator &comm, size_t heads);
  double loss() const;
  double accuracy() const;
  PhaseMetrics metrics(int64_t epoch, const char *phase, double time,
                       const CompiledModel &model) const;
};

} // namespace rtml

#endif // RTML_RUNTIME_LIB_RUNNINGSTATS_H
