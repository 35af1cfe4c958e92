//===- Serialization.h - Weight files PyTorch reads and writes ------------===//
//
// Loading reads the zip archive torch.save writes (PyTorch >= 1.6) with
// caffe2's PyTorchStreamReader and runs its data.pkl through a small pickle
// machine of our own. LibTorch's torch::pickle_load cannot be used for state
// dicts: it rejects the collections.OrderedDict (with its _metadata
// attribute) that nn.Module.state_dict() returns. The machine understands
// the opcodes torch.save emits (protocol 2 to 5) and rebuilds tensors from
// torch._utils._rebuild_tensor_v2 / _rebuild_parameter calls, for files from
// LibTorch 1.13 and 2.x alike.
//
// Saving writes what torch.save(dict_of_tensors) writes (a zip archive via
// PyTorchStreamWriter, pickle protocol 2, only globals on torch.load's
// weights_only allowlist), so that torch.load reads it in PyTorch 1.13 and
// 2.x (weights_only=True being the default since 2.6), and
// nn.Module.load_state_dict accepts it.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_SERIALIZATION_H
#define RTML_RUNTIME_SERIALIZATION_H

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

namespace rtml {

class ParameterRegistry;

/// Name -> tensor, in file order.
using StateDict = std::vector<std::pair<std::string, at::Tensor>>;

/// Reads a state dict saved by torch.save(dict) or
/// torch.save(model.state_dict()) (an OrderedDict); a checkpoint dict holding
/// the state dict under "state_dict" or "model_state_dict" also works.
/// Tensors come back on the CPU in their saved dtype. Throws
/// std::runtime_error naming PATH when it is not a file, not a torch.save zip
/// archive, truncated or corrupt, or holds something other than a dict of
/// tensors.
StateDict loadStateDict(const std::string &path);

/// Reads a single tensor saved by torch.save(tensor) (CPU, saved dtype).
at::Tensor loadTensor(const std::string &path);

/// Copies STATE into REGISTRY's parameters (converted to float32 on the
/// registry's device). Every parameter must be present with its exact shape
/// and every key must name a parameter; otherwise nothing is copied and the
/// std::runtime_error lists the unexpected keys, the missing keys and each
/// shape mismatch (key, file shape, model shape). SOURCE names the file in
/// messages.
void loadIntoRegistry(ParameterRegistry &registry, const StateDict &state,
                      const std::string &source);

/// The torch.save-compatible bytes of STATE as a plain dict (tensors are
/// copied to the CPU and made contiguous).
std::vector<char> serializeStateDict(const StateDict &state);

/// Writes STATE atomically (see writeFileAtomically).
void saveStateDict(const StateDict &state, const std::string &path);
/// Writes a single tensor so that torch.load(PATH) returns it.
void saveTensor(const at::Tensor &tensor, const std::string &path);

/// Writes DATA to a temporary file in PATH's directory, flushes and fsyncs
/// it, then renames it over PATH: readers see the old or the new file, never
/// a partial one. Throws std::runtime_error on failure (PATH untouched).
void writeFileAtomically(const std::string &path, const void *data,
                         size_t size);

/// The registry's parameters (detached, CPU) as a state dict.
StateDict registryStateDict(const ParameterRegistry &registry);

} // namespace rtml

#endif // RTML_RUNTIME_SERIALIZATION_H
