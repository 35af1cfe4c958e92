//===- LoaderImpl.h - The loader's state, shared by its source files ------===//
//
// Private to spec/lib. Loader.cpp holds the top level, values and
// parameters; Layers.cpp and BlockUses.cpp the expansion of the layers
// list, Blocks.cpp the blocks, Heads.cpp the heads, Devices.cpp devices and
// variants; Train.cpp, Data.cpp and Transforms.cpp the `train:` and
// `data:` sections.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_SPEC_LIB_LOADERIMPL_H
#define RTML_SPEC_LIB_LOADERIMPL_H

#include "rtml/Spec/Loader.h"

#include "OpSchema.h"

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace rtml::spec::detail {

/// One `key: value` of a mapping, keeping the key node for its location.
struct Entry {
  std::string key;
  YAML::Node keyNode;
  YAML::Node value;
  bool dropped = false; ///< an unknown key, reported and ignored
};

/// The entries of a mapping in file order, without duplicates. Pointers
/// from find() stay valid while the view lives (checkKeys only marks).
struct MapView {
  std::vector<Entry> entries;

  const Entry *find(const std::string &key) const {
    for (const Entry &e : entries)
      if (e.key == key && !e.dropped)
        return &e;
    return nullptr;
  }
};

/// A named value that `$name` refers to: a parameter or a block argument.
struct Param {
  YAML::Node value;
  SourceLocation location;
};

/// A block definition from `blocks:`, checked once; its layers are expanded
/// at every use.
struct BlockDef {
  std::string name;
  SourceLocation location; ///< of the name key
  struct Arg {
    std::string name;
    bool hasDefault = false;
    YAML::Node defaultValue;
    SourceLocation location;
  };
  std::vector<Arg> args;
  std::vector<std::string> inputs = {"input"};
  std::string output; ///< empty: the last item
  SourceLocation outputLocation;
  YAML::Node layers;
  bool ok = false; ///< well-formed enough to expand
  bool used = false;
};

/// Where names and `$name` resolve while a list of layers is expanded.
struct Scope {
  std::string prefix;              ///< "" at the top level, else "use."
  const BlockDef *block = nullptr; ///< null at the top level
  std::map<std::string, Param> args;
  std::vector<std::string> inputNames = {"input"};
  std::vector<std::string> inputTargets = {"input"};
  std::string device; ///< inherited; empty: none
  SourceLocation deviceLocation;
};

/// A block use being expanded, for the notes that say which one.
struct UseFrame {
  std::string name; ///< qualified use name
  std::string block;
  SourceLocation location;
};

std::string quote(const std::string &s);
std::string describe(const YAML::Node &node);
bool isPlainScalar(const YAML::Node &node);
bool parseInt(const std::string &text, int64_t &out);
bool parseFloat(const std::string &text, double &out);
bool parseBool(const std::string &text, bool &out);
bool isValidName(const std::string &name);
/// A `params:` value as the spec records it: an int, float, bool, int list
/// or string, located at WHERE.
FieldValue paramValue(const YAML::Node &value, const SourceLocation &where);
bool isIdentifier(const std::string &name);
std::string formatNumber(double v);
/// "unknown X 'w'" + "; did you mean 'y'?" when one is close.
std::string withSuggestion(std::string message, const std::string &word,
                           const std::vector<std::string> &candidates,
                           const std::string &prefix = "");

/// Upper bounds that keep a hostile file from exhausting time or memory.
constexpr size_t kDefaultMaxExpandedItems = 10000;
/// The bound in force (setMaxExpandedItems).
size_t maxExpandedItems();
constexpr size_t kMaxBlockDepth = 64;
/// The largest size a layer field, the input or `classes` may have, so that
/// shape arithmetic downstream cannot overflow.
constexpr int64_t kMaxSize = int64_t(1) << 20;

/// The field schema a setting of the settings table is read with.
FieldSchema fieldSchemaOf(const settings::SettingInfo &info);

class Loader {
public:
  Loader(const std::string &file, DiagnosticEngine &diag)
      : file(file), diag(diag) {}

  std::optional<ModelSpec> load(const std::string &text,
                                const std::vector<ParamOverride> &overrides);

  // --- Locations and diagnostics (Loader.cpp) ---
  SourceLocation loc(const YAML::Node &node) const;
  SourceLocation loc(const YAML::Mark &m) const {
    return {file, m.line + 1, m.column + 1};
  }
  using Notes = std::vector<std::pair<SourceLocation, std::string>>;
  /// Reports an error, with NOTES and, inside a block use, a note per use.
  /// The same message at the same place is reported once (a block used
  /// many times repeats the errors of its text).
  void error(const SourceLocation &where, const std::string &message,
             const Notes &notes = {});
  void error(const YAML::Node &node, const std::string &message,
             const Notes &notes = {}) {
    error(loc(node), message, notes);
  }
  void warning(const SourceLocation &where, const std::string &message);

  /// The entries of MAP; reports keys that are not scalars and repeated keys.
  MapView entriesOf(const YAML::Node &map, const std::string &context);
  /// Reports every key of VIEW not in ALLOWED (with a suggestion) and drops
  /// it from VIEW.
  void checkKeys(MapView &view, const std::vector<std::string> &allowed,
                 const std::string &context);
  /// Reports every key of REQUIRED missing from VIEW, at WHERE.
  bool checkRequired(const MapView &view,
                     const std::vector<std::string> &required,
                     const SourceLocation &where, const std::string &owner);

  /// Replaces a `$name` scalar by the block argument's or the parameter's
  /// value. False (reported) for an unknown name.
  bool resolve(const YAML::Node &node, YAML::Node &out);

  /// Reads NODE as FIELD's type and checks its constraint. WHAT names it in
  /// messages ("field 'kernel' of layer 'conv1'").
  bool readField(const YAML::Node &node, const FieldSchema &field,
                 const std::string &what, FieldValue &out);
  bool readScalarInt(const YAML::Node &node, const YAML::Node &resolved,
                     const FieldSchema &field, const std::string &what,
                     int64_t &out);
  bool checkConstraint(const YAML::Node &node, const std::string &text,
                       double value, Constraint c, const std::string &what);
  /// A plain scalar or list of numbers (resolving `$name`).
  bool readNumberList(const YAML::Node &node, const std::string &what,
                      std::vector<double> &out);

  void readParams(const YAML::Node &node);
  void applyOverrides(const std::vector<ParamOverride> &overrides);
  void readInput(const YAML::Node &node, InputSpec &input);

  // --- Layers, blocks, heads, devices (Layers.cpp) ---
  void readDevices(const YAML::Node &node, ModelSpec &spec);
  void readBlocks(const YAML::Node &node);
  /// A block's `args`, `inputs`, `layers` (ITEMNAMES: its items' names) and
  /// `output`, into DEF; false after an error.
  bool readBlockArgs(const Entry *a, const std::string &owner, BlockDef &def);
  bool readBlockInputs(const Entry *in, const std::string &owner,
                       BlockDef &def);
  bool readBlockLayers(const Entry *l, const std::string &owner, BlockDef &def,
                       std::vector<std::string> &itemNames);
  bool readBlockOutput(const Entry *o, const std::string &owner,
                       const std::vector<std::string> &itemNames,
                       BlockDef &def);
  /// Expands the top-level `layers:`; returns the output of the last item
  /// ("" when there is none).
  std::string readLayers(const YAML::Node &node, ModelSpec &spec);
  void readHeads(const YAML::Node *node, const std::string &lastOutput,
                 const SourceLocation &lastLocation, ModelSpec &spec);

  // --- train: and data: (Train.cpp, Data.cpp, Transforms.cpp) ---
  void readTrain(const YAML::Node &node, TrainSpec &train);
  /// `lr_schedule:`, a name or {type, the schedule's settings}.
  void readSchedule(const YAML::Node &node, TrainSpec &train);
  /// NODE as the INDEX-th setting of the table; false (reported) if not.
  bool readSetting(const YAML::Node &node, const settings::SettingInfo &info,
                   size_t index, TrainSpec &train);
  void readData(const YAML::Node &node, ModelSpec &spec);

private:
  struct BodyItem;
  std::string expandBody(const YAML::Node &body, const Scope &scope,
                         const std::string &defaultInput, ModelSpec &spec);
  bool resolveRef(const YAML::Node &ref, const std::string &owner,
                  const Scope &scope, const std::vector<BodyItem> &items,
                  const std::map<std::string, size_t> &localIndex, size_t index,
                  std::string &target);
  struct ItemContext;
  ItemContext itemContext(const MapView &view, const BodyItem &item,
                          const Scope &scope,
                          const std::vector<BodyItem> &items,
                          const std::map<std::string, size_t> &localIndex,
                          size_t index);
  /// Expand the item C (a layer / a block use) that follows PREVIOUS into
  /// SPEC; return the name readers of it read.
  std::string expandLayer(MapView &view, const ItemContext &c,
                          const std::string &previous, ModelSpec &spec);
  std::string expandUse(MapView &view, const ItemContext &c,
                        const std::string &previous, ModelSpec &spec);
  /// checkKeys, saying whether it reported anything.
  bool checkKeysOf(MapView &view, const std::vector<std::string> &allowed,
                   const std::string &context);
  /// The item's inputs: the layers its `from` names (resolved, and where
  /// they are named), else PREVIOUS; COUNT is how many `from` names.
  bool readFrom(const MapView &view, const ItemContext &c,
                const std::string &previous, std::vector<std::string> &inputs,
                std::vector<SourceLocation> &locations, size_t &count);
  /// A disabled item's readers read its one input (TARGET); an item with
  /// more inputs cannot be disabled.
  bool standAside(const MapView &view, const ItemContext &c,
                  const std::vector<std::string> &inputs, std::string &target);
  /// Makes the item's qualified name stand for TARGET, once.
  void defineItem(const ItemContext &c, const std::string &target);
  const OpSchema *readOp(const MapView &view, const ItemContext &c,
                         LayerSpec &layer);
  bool checkInputCount(const MapView &view, const ItemContext &c,
                       const OpSchema &schema, size_t count,
                       const LayerSpec &layer);
  /// The op's fields: the given ones, checked, then the defaults.
  bool readLayerFields(const MapView &view, const ItemContext &c,
                       const OpSchema &schema, LayerSpec &layer);
  /// The block a use names, or null (reported): unknown, used inside
  /// itself, or nested too deep.
  BlockDef *findBlock(const Entry &blockEntry, const ItemContext &c);
  bool checkUseInputs(const MapView &view, const ItemContext &c,
                      const BlockDef &def, size_t count);
  /// The use's `args` bound to DEF's arguments (defaults filled in).
  bool bindArgs(const MapView &view, const ItemContext &c, const BlockDef &def,
                std::map<std::string, Param> &bound);
  bool readDevice(const YAML::Node &node, const std::string &owner,
                  std::string &device);
  bool readEnabled(const YAML::Node &node, const std::string &owner,
                   bool &enabled);
  /// Checks the `name` of a layer or block use (ISUSE) in a list: present,
  /// a string, a valid name, not `input` at the top level. Reports at the
  /// name, or at ITEMNODE when there is none.
  bool checkItemName(const YAML::Node &itemNode, const Entry *nameEntry,
                     const std::string &localName, const std::string &owner,
                     const Scope &scope, bool isUse);
  /// A layer's or block use's `device:` (else the enclosing scope's) and
  /// `enabled:`; false after an error.
  bool readPlacement(const MapView &view, const std::string &owner,
                     const Scope &scope, std::string &device,
                     SourceLocation &deviceLocation, bool &enabled);
  std::string ownerOf(const Scope &scope, const std::string &localName,
                      bool isUse) const;
  bool readTransforms(const YAML::Node &node, const std::string &what,
                      bool training, int64_t channels,
                      std::vector<TransformSpec> &out);
  /// The arguments of transform T (its kind set) from ARG; CHANNELS follows
  /// the images through it.
  bool readTransformArgs(const YAML::Node &kindNode, const YAML::Node &arg,
                         const std::string &what, int64_t &channels,
                         TransformSpec &t);
  bool readResizedCropArgs(const YAML::Node &arg, const std::string &owner,
                           TransformSpec &t);
  /// ARG, absent or a mapping whose only key is FIELD's name: V and GIVEN
  /// say what it holds.
  bool readOptionalArg(const YAML::Node &arg, const std::string &owner,
                       const FieldSchema &field, FieldValue &v, bool &given);
  bool readNormalize(const YAML::Node &node, const std::string &section,
                     int64_t channels, TransformSpec &out);

  const std::string &file;
  DiagnosticEngine &diag;
  std::map<std::string, Param> params;
  bool failed = false;
  /// Set while reading a value given on the command line, which has no
  /// place in the file.
  std::optional<SourceLocation> forcedLocation;
  /// Parameters whose value was reported bad: uses of them stay silent.
  std::set<std::string> badParams;
  /// Errors already reported (location and message), reported once.
  std::set<std::tuple<int, int, std::string>> reported;

  /// The scope `$name` resolves in (block arguments); null at the top.
  const Scope *currentScope = nullptr;
  std::vector<UseFrame> uses;
  std::vector<std::string> blockStack;
  std::map<std::string, BlockDef> blocks;
  std::set<std::string> deviceNames;
  bool devicesGiven = false;
  /// Every qualified name defined so far (layers, disabled layers, block
  /// uses) -> the layer (or "input") it stands for.
  std::map<std::string, std::string> alias;
  std::map<std::string, SourceLocation> definedAt;
  size_t itemsExpanded = 0;
  /// Set while reading sizes that kMaxSize bounds.
  bool boundSizes = false;
  bool tooLarge = false;
};

} // namespace rtml::spec::detail

#endif // RTML_SPEC_LIB_LOADERIMPL_H
