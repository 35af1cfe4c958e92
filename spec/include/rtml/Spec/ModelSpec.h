//===- ModelSpec.h - A network spec as loaded from YAML -------------------===//
//
// The in-memory form of a model.yaml after loading and validation: every
// node keeps the file:line:col it came from, every layer's fields are
// normalized (defaults filled, `kernel: 3` expanded to [3, 3]) so that the
// importer reads them without re-checking. The format is documented in
// spec/FORMAT.md.
//
// This header is plain data (no yaml-cpp), so code built without exceptions
// (the MLIR importer) can include it.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_SPEC_MODELSPEC_H
#define RTML_SPEC_MODELSPEC_H

#include "rtml/Support/Diagnostics.h"
#include "rtml/Support/TrainSettings.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace rtml::spec {

/// One op-specific field of a layer, after normalization.
struct FieldValue {
  enum class Kind { Int, Float, Bool, String, IntList };
  Kind kind = Kind::Int;
  int64_t intValue = 0;
  double floatValue = 0.0; ///< also set (converted) for Int fields
  bool boolValue = false;
  std::string stringValue;
  std::vector<int64_t> intList; ///< pairs such as kernel/stride: [h, w]
  SourceLocation location;      ///< of the value; of the layer if defaulted
};

struct LayerSpec {
  /// Unique; parameters are NAME.weight / NAME.bias. A layer that comes from
  /// a block is named `<use name>.<inner name>` (`inception3a.b2.conv`).
  std::string name;
  std::string op; ///< conv2d, relu, lrn, max_pool2d, adaptive_avg_pool2d,
                  ///< flatten, dropout, linear, concat, add, batch_norm,
                  ///< avg_pool2d
  /// Qualified names of the layers this one reads, in order; always filled
  /// by the loader (the default input, block inputs and outputs, disabled
  /// layers are all resolved), each naming an earlier layer of `layers` or
  /// "input" (the model input). An empty list (only in a hand-built spec)
  /// means the previous layer, or the model input for the first layer.
  std::vector<std::string> from;
  std::map<std::string, FieldValue> fields;

  SourceLocation location;   ///< of the layer's `name:` key
  SourceLocation opLocation; ///< of the `op:` value
  /// Of each `from` entry as written; of the layer for a default input.
  std::vector<SourceLocation> fromLocations;

  /// Logical device (one of ModelSpec::devices) from the layer's own
  /// `device:` or the innermost block use that has one; empty when nothing
  /// says (the default device, ModelSpec::devices[0] if any).
  std::string device;
  SourceLocation deviceLocation; ///< of the `device:` value that decided it

  /// For a layer that comes from a block: the `name:` of each block use it
  /// was expanded from, innermost first (for "in use X" notes). Empty for a
  /// layer written directly in the top-level `layers:`.
  std::vector<SourceLocation> expansionLocations;

  const FieldValue &field(const std::string &key) const {
    return fields.at(key);
  }
};

struct InputSpec {
  int64_t channels = 3;
  int64_t height = 0;
  int64_t width = 0;
  SourceLocation location;
};

/// The `train:` section: every setting of the settings table
/// (rtml/Support/TrainSettings.h), defaults filled, and where each was
/// written.
struct TrainSpec : TrainSettings {
  SourceLocation location;
  /// Location of the value of each key given in the file (absent:
  /// defaulted), by its key in the table ("lr", "eta_min", "lr_schedule").
  std::map<std::string, SourceLocation> keyLocations;
};

/// One step of an input pipeline (torchvision.transforms), applied after the
/// pixels are scaled to [0, 1] (ToTensor).
struct TransformSpec {
  /// "resize" (size), "random_horizontal_flip" (p), "random_resized_crop"
  /// (size, scale, ratio), "normalize" (mean, std), "grayscale"
  /// (numOutputChannels).
  std::string kind;
  std::vector<int64_t> size;               ///< [h, w]
  double p = 0.5;                          ///< flip probability
  std::vector<double> scale = {0.08, 1.0}; ///< area fraction [lo, hi]
  std::vector<double> ratio = {3.0 / 4.0, 4.0 / 3.0}; ///< aspect [lo, hi]
  std::vector<double> mean, std;                      ///< one per channel
  int64_t numOutputChannels = 1;                      ///< grayscale: 1 or 3
  SourceLocation location;
};

/// The `data:` section: the split's settings (the settings table's data
/// part, rtml/Support/TrainSettings.h) and the two pipelines.
struct DataSpec : DataSettings {
  /// The pipelines, in order. From `data.train` / `data.eval`, or from the
  /// shorthand keys, which the loader expands here once: train = resize,
  /// flip, normalize; eval = resize, normalize.
  std::vector<TransformSpec> trainTransforms;
  std::vector<TransformSpec> evalTransforms;
  SourceLocation location;
  /// Location of each key given in the file (absent: defaulted);
  /// "normalize.mean" / "normalize.std" for the nested ones, the table's key
  /// ("split_val") for the split's.
  std::map<std::string, SourceLocation> keyLocations;
};

/// An output of the network with a loss: the main head is the prediction
/// (evaluation and predict use it); side heads add loss_weight times their
/// cross-entropy to the training loss. Every head's output is [N, classes].
struct HeadSpec {
  std::string name;
  std::string output; ///< qualified name of the layer it reads
  double lossWeight = 1.0;
  bool main = false;
  SourceLocation location; ///< of the head's `name:` (of the last layer for
                           ///< the implicit main head)
};

/// The newest `format:` this loader reads; a file may say 1..kLatestFormat.
constexpr int64_t kLatestFormat = 1;

struct ModelSpec {
  std::string file; ///< path as given, used in every location
  int64_t format = 1;
  std::string name;
  SourceLocation nameLocation;
  InputSpec input;
  int64_t classes = 0;
  SourceLocation classesLocation;
  /// Flat, in a topological order, blocks expanded, disabled layers gone.
  std::vector<LayerSpec> layers;
  /// Always at least one; the main head first. Without `heads:`, one main
  /// head named "main" reading the last layer, weight 1.
  std::vector<HeadSpec> heads;
  /// Logical devices from `devices:`; the first is the default. Empty when
  /// the file declares none.
  std::vector<std::string> devices;
  std::vector<SourceLocation> deviceLocations;
  TrainSpec train;
  DataSpec data;
  /// Named parameters after `--set` overrides: the `params:` section plus
  /// `classes`; layer fields written `$name` are already substituted.
  std::map<std::string, FieldValue> params;

  /// The main head (heads.front() once loaded).
  const HeadSpec &mainHead() const { return heads.front(); }

  /// The layer called NAME, or nullptr.
  const LayerSpec *layer(const std::string &layerName) const {
    for (const LayerSpec &l : layers)
      if (l.name == layerName)
        return &l;
    return nullptr;
  }
};

} // namespace rtml::spec

#endif // RTML_SPEC_MODELSPEC_H
