//===- Evaluation.h - Loss and accuracy over a data set, out of memory ----===//
#ifndef RTML_RUNTIME_LIB_EVALUATION_H
#define RTML_RUNTIME_LIB_EVALUATION_H

#include "rtml/Runtime/Trainer.h"

#include <string>

namespace rtml {

class Progress;

/// Whether a LibTorch error message reports an allocation failure.
bool isOutOfMemory(const std::string &message);
/// Throws the std::runtime_error that names the device, WHERE and the batch
/// size, and suggests a smaller one.
[[noreturn]] void throwOutOfMemory(const std::string &message,
                                   at::Device device, int64_t batchSize,
                                   const std::string &where);

/// Where and how one evaluation reports.
struct EvalContext {
  int64_t epoch = 0;
  const char *phase = "test";
  Progress *progress = nullptr; ///< optional
  std::string prefix;           ///< of the progress lines
  /// Stops early (partial sums) once a stop signal arrived.
  bool interruptible = false;
  /// Data parallel: SET is this process's shard; the sums cover them all.
  Communicator *comm = nullptr;
};

/// Loss and accuracy of PARAMS on SET in eval mode (no dropout, no flips).
PhaseMetrics evaluatePhase(const CompiledModel &model,
                           const std::vector<at::Tensor> &params,
                           const Dataset &set, at::Device device,
                           int64_t batchSize, const EvalContext &context);

} // namespace rtml

#endif // RTML_RUNTIME_LIB_EVALUATION_H
