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
  SourceLocation location;       ///< of the value; of the layer if defaulted
};

struct LayerSpec {
  std::string name; ///< unique; parameters are NAME.weight / NAME.bias
  std::string op;   ///< conv2d, relu, lrn, max_pool2d, adaptive_avg_pool2d,
                    ///< flatten, dropout, linear
  /// Names of the layers this one reads, in order. Empty: the previous layer,
  /// or the model input for the first layer. "input" names the model input.
  std::vector<std::string> from;
  std::map<std::string, FieldValue> fields;

  SourceLocation location;                ///< of the layer's `name:` key
  SourceLocation opLocation;              ///< of the `op:` value
  std::vector<SourceLocation> fromLocations;

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

struct TrainSpec {
  int64_t epochs = 1;
  int64_t batchSize = 32;
  double learningRate = 0.01;
  double momentum = 0.0;
  double weightDecay = 0.0;
  int64_t seed = 0;
  std::string optimizer = "sgd"; ///< the only one for now
  SourceLocation location;
  /// Location of each key given in the file (absent: defaulted).
  std::map<std::string, SourceLocation> keyLocations;
};

struct DataSpec {
  int64_t resize = 0; ///< 0: no resize
  bool randomHorizontalFlip = false;
  std::vector<double> mean; ///< empty: no normalization
  std::vector<double> std;
  SourceLocation location;
  /// Location of each key given in the file (absent: defaulted);
  /// "normalize.mean" / "normalize.std" for the nested ones.
  std::map<std::string, SourceLocation> keyLocations;
};

struct ModelSpec {
  std::string file; ///< path as given, used in every location
  int64_t format = 1;
  std::string name;
  SourceLocation nameLocation;
  InputSpec input;
  int64_t classes = 0;
  SourceLocation classesLocation;
  std::vector<LayerSpec> layers;
  TrainSpec train;
  DataSpec data;
  /// Named parameters after `--set` overrides: the `params:` section plus
  /// `classes`; layer fields written `$name` are already substituted.
  std::map<std::string, FieldValue> params;

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
