//===- Optimizer.h - SGD and the loss -------------------------------------===//
//
// torch.optim.SGD (dampening 0, optionally Nesterov) and torch's mean
// cross-entropy, so that a trainer follows the same trajectory as the PyTorch
// reference.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_OPTIMIZER_H
#define RTML_RUNTIME_OPTIMIZER_H

#include "rtml/Runtime/Model.h"

#include <ATen/core/Tensor.h>

#include <utility>
#include <vector>

namespace rtml {

struct SgdOptions {
  double learningRate = 0.01;
  double momentum = 0.0;
  double weightDecay = 0.0;
  bool nesterov = false;
};

class Sgd {
public:
  /// COPIES, if not empty, holds for each of PARAMS its bf16 copy or an
  /// undefined tensor (ParameterRegistry::trainableCopies()): a parameter
  /// with a copy takes the copy's gradient where it has none of its own,
  /// and each step rewrites the copy from the updated parameter.
  Sgd(std::vector<at::Tensor> params, SgdOptions options,
      std::vector<at::Tensor> copies = {});

  /// Drops every gradient, the copies' too (PyTorch 2's
  /// zero_grad(set_to_none=True)).
  void zeroGrad();
  /// Makes each copy's bf16 gradient its parameter's f32 one (exactly), for
  /// code that reads the parameters' gradients (data parallel sums them in
  /// f32, as it would a cast's).
  void moveCopyGradientsToParameters();
  /// d_p = g + wd*p; buf = momentum*buf + d_p (buf = d_p on the first step);
  /// p -= lr*buf, or with Nesterov p -= lr*(d_p + momentum*buf). Parameters
  /// without a gradient are skipped, as in PyTorch. Contiguous float
  /// parameters take a multi-tensor pass that gives torch.optim.SGD's bits:
  /// on the CPU split over threads, on CUDA (a CUDA build) one kernel launch
  /// per device for up to 64 parameters, reading the learning rate from
  /// device memory (so a captured CUDA graph replays with the current one);
  /// others take ATen's ops.
  void step();

  const SgdOptions &options() const { return opts; }
  /// Also writes the rate to each GPU's copy (a queued fill, no wait):
  /// call it outside a CUDA graph capture.
  void setLearningRate(double lr);

  /// One buffer per parameter; undefined until that parameter's first step.
  const std::vector<at::Tensor> &momentumBuffers() const { return buffers; }
  /// Restores a saved buffer (copied to the parameter's device).
  void setMomentumBuffer(size_t index, const at::Tensor &buffer);

private:
  /// The learning rate on DEVICE, a float32 scalar; undefined for the CPU.
  at::Tensor learningRateOn(at::Device device) const;

  /// The gradient of parameter I: its own, else its copy's, else none.
  at::Tensor gradientOf(size_t i) const;

  std::vector<at::Tensor> params;
  std::vector<at::Tensor> copies; ///< per parameter; undefined: none
  std::vector<at::Tensor> buffers;
  SgdOptions opts;
  std::vector<std::pair<at::Device, at::Tensor>> deviceLearningRates;
};

/// The learning rate of epoch EPOCH (1-based) under CONFIG's schedule.
double learningRateAt(const TrainConfig &config, int64_t epoch);

/// Mean cross-entropy of LOGITS [N, K] against class indices TARGETS [N].
at::Tensor crossEntropy(const at::Tensor &logits, const at::Tensor &targets);

/// The training loss of MODEL on a batch: the sum over its heads of
/// lossWeight * crossEntropy (a single-head model: the main head's
/// cross-entropy). MAINLOGITS, if given, receives the main head's logits.
at::Tensor trainingLoss(const CompiledModel &model, const at::Tensor &input,
                        const std::vector<at::Tensor> &params,
                        const at::Tensor &targets,
                        at::Tensor *mainLogits = nullptr);

/// As trainingLoss, from the heads' logits HEADS (what forwardHeads gave);
/// HEADLOSSES, if given, receives each head's unweighted cross-entropy
/// (0-dim tensors on the heads' device: reading them is left to the caller).
at::Tensor combineHeadLosses(const CompiledModel &model,
                             const std::vector<at::Tensor> &heads,
                             const at::Tensor &targets,
                             std::vector<at::Tensor> *headLosses = nullptr);

} // namespace rtml

#endif // RTML_RUNTIME_OPTIMIZER_H
