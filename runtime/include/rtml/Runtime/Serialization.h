//===- Serialization.h - Weight files PyTorch reads and writes ------------===//
//
// Loading reads the zip archive torch.save writes (PyTorch >= 1.6) with
// caffe2's PyTorchStreamReader and runs its data.pkl through a small pickle
// machine of our own (PickleReader.cpp, bounded by PickleBounds.cpp and
// PickleFiles.cpp). LibTorch's torch::pickle_load cannot be used for state
// dicts: it rejects the collections.OrderedDict (with its _metadata
// attribute) that nn.Module.state_dict() returns. Files are untrusted: every
// extent is checked, nesting and sizes are capped, and anything else is
// refused with an error naming the file and the problem.
//
// Saving (TorchSaveWriter.cpp) writes what torch.save(dict_of_tensors)
// writes, so that torch.load reads it in PyTorch 1.13 and 2.x (weights_only
// too) and nn.Module.load_state_dict accepts it; files are replaced
// atomically (AtomicFile.cpp). StateDictLoading.cpp holds the one loader
// that copies a state dict into a model, per a WeightsPolicy.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_SERIALIZATION_H
#define RTML_RUNTIME_SERIALIZATION_H

#include "rtml/Runtime/PickleKind.h"

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

/// loadWeights with WeightsPolicy::exact(): every parameter must be present
/// with its exact shape and every key must name a parameter; otherwise
/// nothing is copied and the std::runtime_error lists the unexpected keys,
/// the missing keys and each shape mismatch (key, file shape, model shape).
/// SOURCE names the file in messages.
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
/// As above; when PREVIOUS is not empty and PATH exists, PATH's current file
/// becomes PREVIOUS (hard link, then rename) before the new one replaces it,
/// so PATH and PREVIOUS are the last two good files at every instant.
void writeFileAtomically(const std::string &path, const void *data, size_t size,
                         const std::string &previous);

/// The registry's parameters (detached, CPU) as a state dict.
StateDict registryStateDict(const ParameterRegistry &registry);

/// How a state dict that does not fit the model exactly is loaded. Whatever
/// the policy, a tensor of an integer or bool dtype for a floating-point
/// parameter is an error; float64, float16 and bfloat16 values are converted
/// to the parameter's dtype.
struct WeightsPolicy {
  /// Shape mismatches and unexpected keys are errors (otherwise the layer
  /// keeps its fresh initialization, the key is skipped, and both are
  /// reported).
  bool strict = false;
  /// Parameters the file lacks keep their initialization (otherwise an
  /// error).
  bool allowMissing = false;
  /// Errors name the trainer flags that relax them (--allow-missing).
  bool hintFlags = true;

  /// Every parameter present with its shape, nothing else: eval, predict,
  /// export and resume.
  static WeightsPolicy exact();
};

/// What loadWeights did: keys loaded, re-initialized (shape differs: "name
/// (file [..], model [..])"), skipped (not in the model) and missing (kept
/// their initialization).
struct WeightsReport {
  std::vector<std::string> loaded, reinitialized, skipped, missing;
};

/// Loads STATE into REGISTRY per POLICY (see WeightsPolicy). On error
/// nothing is copied and the std::runtime_error names SOURCE and lists every
/// problem.
WeightsReport loadWeights(ParameterRegistry &registry, const StateDict &state,
                          const std::string &source,
                          const WeightsPolicy &policy);

//===----------------------------------------------------------------------===//
// Checkpoints: nested dicts of tensors, ints, floats and strings
//===----------------------------------------------------------------------===//

/// A leaf of a checkpoint file.
struct CheckpointValue {
  enum class Kind { Tensor, Int, Float, String };
  Kind kind = Kind::Int;
  at::Tensor tensor;
  int64_t integer = 0;
  double real = 0;
  std::string text;

  static CheckpointValue of(at::Tensor t);
  static CheckpointValue of(int64_t v);
  static CheckpointValue of(double v);
  static CheckpointValue of(std::string v);
};

/// Nested dicts flattened: d["a"]["b"] is key "a/b". Keys are in file order.
using FlatDict = std::vector<std::pair<std::string, CheckpointValue>>;

/// The torch.save-compatible bytes of FLAT as nested dicts (torch.load
/// returns dicts of tensors, ints and strs; weights_only=True accepts it).
/// Floats are written as 0-dim float64 tensors (exact, and PyTorch 1.13's
/// weights_only unpickler has no float opcode); they load back as tensors.
std::vector<char> serializeFlatDict(const FlatDict &flat);
/// Reads a file written by serializeFlatDict (or any torch.save of nested
/// dicts of those leaves). Errors name PATH, as loadStateDict's do.
FlatDict loadFlatDict(const std::string &path);

/// A value of a plain pickle, for the data set readers (CIFAR-10's Python
/// batches): what the pickle machine rebuilt, copied out. A global is
/// copied out called (Object); a storage or tensor keeps only its kind.
struct PickleValue {
  using Kind = PickleKind;
  Kind kind = Kind::None;
  int64_t integer = 0;            ///< Bool, Int
  double real = 0;                ///< Float
  std::string text;               ///< String, Bytes; Object: "module.name"
  std::vector<PickleValue> items; ///< Tuple, List; Object: its arguments
  std::vector<std::pair<PickleValue, PickleValue>> entries; ///< Dict
  std::vector<PickleValue> state; ///< Object: what BUILD set (0 or 1 value)
};

/// The most nesting and the most values parsePlainPickle copies out; deeper
/// or larger pickles are refused (a data set file needs a few levels).
constexpr int kMaxPickleValueDepth = 64;
constexpr int64_t kMaxPickleValues = int64_t(1) << 20;

/// Runs the plain pickle (protocol 2 or later) in DATA and returns its
/// top-level value. Throws std::runtime_error saying what is wrong (the
/// caller names the file).
PickleValue parsePlainPickle(const uint8_t *data, size_t size);

} // namespace rtml

#endif // RTML_RUNTIME_SERIALIZATION_H
