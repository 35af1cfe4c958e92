//===- Parameters.h - The tensors behind a CompiledModel's parameters -----===//
//
// The registry owns one leaf tensor per ParameterSpec, initialized the way
// PyTorch's nn.Conv2d/nn.Linear do by default, from a seeded generator so
// that a run is reproducible. Values are drawn on the CPU and then moved, so a
// seed gives the same initial weights on every device.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_PARAMETERS_H
#define RTML_RUNTIME_PARAMETERS_H

#include "rtml/Runtime/Model.h"

#include <ATen/core/Generator.h>
#include <c10/core/Device.h>

#include <map>

namespace rtml {

/// A float32 CPU tensor of SPEC's shape, initialized per SPEC.init from GEN
/// (a CPU generator).
at::Tensor initParameter(const ParameterSpec &spec, at::Generator &gen);

/// Total number of scalar parameters of SPECS.
int64_t countParameters(const std::vector<ParameterSpec> &specs);

class ParameterRegistry {
public:
  ParameterRegistry(std::vector<ParameterSpec> specs, at::Device device,
                    uint64_t seed);

  /// Every parameter and buffer, in the model's order, in f32: what is
  /// saved, loaded and broadcast.
  const std::vector<at::Tensor> &tensors() const { return values; }
  /// What forward takes: tensors(), but the bf16 copy of each parameter
  /// read from one on this device (ParameterSpec::bf16Copy). A copy whose
  /// f32 tensor was written in place since it was made (a load, a
  /// broadcast) is made again first; the optimizer rewrites the copies of
  /// what it updates itself.
  const std::vector<at::Tensor> &forwardTensors() const;
  /// The leaf tensors with requires_grad (what the optimizer updates).
  const std::vector<at::Tensor> &trainableTensors() const { return trainable; }
  /// For each of trainableTensors(), its bf16 copy (a leaf with
  /// requires_grad, where the forward pass leaves the gradient) or an
  /// undefined tensor.
  const std::vector<at::Tensor> &trainableCopies() const {
    return trainableCopy;
  }
  const std::vector<ParameterSpec> &specs() const { return paramSpecs; }
  at::Device device() const { return dev; }

  /// The parameter called NAME, or an undefined tensor.
  at::Tensor find(const std::string &name) const;
  /// Index of NAME in specs(), or -1.
  int64_t indexOf(const std::string &name) const;
  /// Number of scalar trainable parameters (buffers excluded, as PyTorch
  /// counts).
  int64_t numParameters() const { return countParameters(paramSpecs); }

private:
  std::vector<ParameterSpec> paramSpecs;
  std::vector<at::Tensor> values;
  std::vector<at::Tensor> copies;        ///< per value; undefined: none
  std::vector<at::Tensor> forwardValues; ///< copies[i] or values[i]
  /// values[i]._version() when copies[i] was made from it (a cache's key).
  mutable std::vector<int64_t> copiedVersions;
  std::vector<at::Tensor> trainable;
  std::vector<at::Tensor> trainableCopy;
  std::map<std::string, size_t> byName;
  at::Device dev;
};

} // namespace rtml

#endif // RTML_RUNTIME_PARAMETERS_H
