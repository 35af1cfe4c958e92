//===- RunningStats.h - Sums of one phase of one epoch --------------------===//
#ifndef RTML_RUNTIME_LIB_RUNNINGSTATS_H
#define RTML_RUNTIME_LIB_RUNNINGSTATS_H

#include "rtml/Runtime/Trainer.h"

#include <ATen/core/Tensor.h>

#include <vector>

namespace rtml {

/// Sums of one phase of one epoch; saved in checkpoints, so that an epoch
/// resumed mid-way reports what an uninterrupted one does. The loss and
/// accuracy sums are accumulated on the device by DeviceSums and copied
/// here when read.
struct RunningStats {
  double lossSum = 0;
  int64_t correct = 0;
  int64_t images = 0;
  double batchTime = 0;
  int64_t batches = 0;
  double elapsed = 0; ///< seconds spent in earlier sessions
  std::vector<double> headLossSum;
  std::vector<int64_t> headCorrect;

  /// Counts one batch of IMAGES images that took SECONDS (host-side sums).
  void countBatch(int64_t batchImages, double seconds);
  /// Data parallel: the sums over every process (times stay this one's).
  void sumOver(Communicator &comm, size_t heads);
  double loss() const;
  double accuracy() const;
  PhaseMetrics metrics(int64_t epoch, const char *phase, double time,
                       const CompiledModel &model) const;
};

/// The first non-finite batch loss DeviceSums saw.
struct NonFiniteLoss {
  int64_t step = 0; ///< its 1-based step in the epoch; 0: every loss finite
  bool isNan = false;
};

/// The loss and accuracy sums of RunningStats, kept as tensors on the step's
/// device: adding a batch only queues a few small kernels, so a training
/// step never waits for the device; reading waits once. The sums are running
/// totals, never reset by a read, and add each batch in float64 in the order
/// RunningStats did on the host, so the values (and a resumed epoch's) are
/// the same bits whenever and however often they are read.
class DeviceSums {
public:
  /// Continues START's sums on DEVICE, whose next batch is step FIRSTSTEP+1.
  DeviceSums(const RunningStats &start, at::Device device, size_t heads,
             int64_t firstStep = 0);

  /// Adds a batch: its mean LOSS (0-dim), the correct predictions of LOGITS
  /// against LABELS, and whether LOSS is the first non-finite one.
  void add(const at::Tensor &loss, const at::Tensor &logits,
           const at::Tensor &labels);
  /// Adds each side head's mean loss (LOSSES, 0-dim each) and correct count.
  void addHeads(const std::vector<at::Tensor> &heads,
                const std::vector<at::Tensor> &losses,
                const at::Tensor &labels);
  /// Starts over from START at FIRSTSTEP, in place: a captured CUDA graph
  /// that adds to these tensors stays valid.
  void restart(const RunningStats &start, int64_t firstStep);
  /// Waits for the device and writes the sums into STATS.
  NonFiniteLoss readInto(RunningStats &stats) const;

private:
  at::Device device;
  size_t numHeads;
  at::Tensor lossSum, correct;         ///< float64, int64 (0-dim)
  at::Tensor headLossSum, headCorrect; ///< float64, int64 [heads]
  at::Tensor step;                     ///< int64: the batches added so far
  at::Tensor firstNonFinite;           ///< int64 step, 0 while none
  at::Tensor firstNonFiniteIsNan;      ///< bool
};

} // namespace rtml

#endif // RTML_RUNTIME_LIB_RUNNINGSTATS_H
