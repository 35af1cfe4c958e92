//===- Loader.cpp - model.yaml -> ModelSpec -------------------------------===//
//
// Reads the YAML with yaml-cpp, then walks it checking every key against what
// the format allows (spec/FORMAT.md), normalizing layer fields through the op
// table (OpSchema.cpp). Errors go to the DiagnosticEngine at the offending
// node; the walk goes on after an error so that one run reports every
// independent problem. yaml-cpp throws: every exception stops here.
//
//===----------------------------------------------------------------------===//
#include "rtml/Spec/Loader.h"

#include "OpSchema.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace rtml::spec {

namespace {

/// One `key: value` of a mapping, keeping the key node for its location.
struct Entry {
  std::string key;
  YAML::Node keyNode;
  YAML::Node value;
};

/// The entries of a mapping in file order, without duplicates.
struct MapView {
  std::vector<Entry> entries;

  const Entry *find(const std::string &key) const {
    for (const Entry &e : entries)
      if (e.key == key)
        return &e;
    return nullptr;
  }
};

/// A named parameter that `$name` refers to.
struct Param {
  YAML::Node value;
  SourceLocation location;
};

std::string quote(const std::string &s) { return "'" + s + "'"; }

/// The value as shown in "got ..." parts of messages.
std::string describe(const YAML::Node &node) {
  switch (node.Type()) {
  case YAML::NodeType::Scalar:
    if (node.Tag() == "!")
      return "the quoted string " + quote(node.Scalar());
    return quote(node.Scalar());
  case YAML::NodeType::Sequence:
    return "a list of " + std::to_string(node.size()) + " value" +
           (node.size() == 1 ? "" : "s");
  case YAML::NodeType::Map:
    return "a mapping";
  case YAML::NodeType::Null:
  case YAML::NodeType::Undefined:
    break;
  }
  return "nothing";
}

bool isPlainScalar(const YAML::Node &node) {
  return node.IsScalar() && node.Tag() != "!";
}

bool parseInt(const std::string &text, int64_t &out) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0])))
    return false;
  errno = 0;
  char *end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0')
    return false;
  out = v;
  return true;
}

bool parseFloat(const std::string &text, double &out) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0])))
    return false;
  errno = 0;
  char *end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (errno != 0 || *end != '\0' || !std::isfinite(v))
    return false;
  out = v;
  return true;
}

bool parseBool(const std::string &text, bool &out) {
  // YAML 1.2 core schema spellings only: `yes`/`no` are strings there.
  if (text == "true" || text == "True" || text == "TRUE") {
    out = true;
    return true;
  }
  if (text == "false" || text == "False" || text == "FALSE") {
    out = false;
    return true;
  }
  return false;
}

/// Layer and model names become parameter keys and C++ identifiers (after
/// mangling), so keep them to a portable alphabet.
bool isValidName(const std::string &name) {
  if (name.empty() || name.front() == '.' || name.back() == '.')
    return false;
  for (size_t i = 0; i < name.size(); ++i) {
    unsigned char c = name[i];
    if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.'))
      return false;
    if (c == '.' && i + 1 < name.size() && name[i + 1] == '.')
      return false;
  }
  return true;
}

bool isIdentifier(const std::string &name) {
  if (name.empty() ||
      !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_'))
    return false;
  for (unsigned char c : name)
    if (!(std::isalnum(c) || c == '_'))
      return false;
  return true;
}

std::string lowerFirst(std::string s) {
  if (!s.empty())
    s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

std::string formatNumber(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

class Loader {
public:
  Loader(const std::string &file, DiagnosticEngine &diag)
      : file(file), diag(diag) {}

  std::optional<ModelSpec> load(const std::string &text,
                                const std::vector<ParamOverride> &overrides);

private:
  const std::string &file;
  DiagnosticEngine &diag;
  std::map<std::string, Param> params;
  bool failed = false;
  /// Set while reading a value given on the command line, which has no
  /// place in the file.
  std::optional<SourceLocation> forcedLocation;
  /// Parameters whose value was reported bad: uses of them stay silent.
  std::set<std::string> badParams;

  SourceLocation loc(const YAML::Node &node) const {
    if (forcedLocation)
      return *forcedLocation;
    YAML::Mark m = node.Mark();
    if (m.is_null())
      return {file, 0, 0};
    return {file, m.line + 1, m.column + 1};
  }
  SourceLocation loc(const YAML::Mark &m) const {
    return {file, m.line + 1, m.column + 1};
  }
  void error(const SourceLocation &where, std::string message) {
    failed = true;
    diag.error(where, std::move(message));
  }
  void error(const YAML::Node &node, std::string message) {
    error(loc(node), std::move(message));
  }

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

  /// Replaces a `$name` scalar by the parameter's value. False (reported)
  /// for an unknown parameter.
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

  void readParams(const YAML::Node &node);
  void applyOverrides(const std::vector<ParamOverride> &overrides);
  void readInput(const YAML::Node &node, InputSpec &input);
  void readLayers(const YAML::Node &node, ModelSpec &spec);
  bool readLayer(const YAML::Node &node, size_t index,
                 const std::map<std::string, size_t> &firstIndex,
                 const std::vector<YAML::Node> &nameNodes, LayerSpec &layer);
  void readTrain(const YAML::Node &node, TrainSpec &train);
  void readData(const YAML::Node &node, int64_t channels, DataSpec &data);
  bool readNumberList(const YAML::Node &node, const std::string &what,
                      std::vector<double> &out);
};

MapView Loader::entriesOf(const YAML::Node &map, const std::string &context) {
  MapView view;
  std::map<std::string, YAML::Node> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    YAML::Node key = it->first;
    if (!key.IsScalar()) {
      error(key, "expected a key name " + context + ", got " + describe(key));
      continue;
    }
    auto [prev, inserted] = seen.emplace(key.Scalar(), key);
    if (!inserted) {
      error(key, "duplicate key " + quote(key.Scalar()) + " " + context);
      diag.note(loc(prev->second), "first given here");
      continue;
    }
    view.entries.push_back({key.Scalar(), key, it->second});
  }
  return view;
}

void Loader::checkKeys(MapView &view, const std::vector<std::string> &allowed,
                       const std::string &context) {
  std::vector<Entry> kept;
  for (Entry &e : view.entries) {
    bool known = false;
    for (const std::string &a : allowed)
      known |= a == e.key;
    if (known) {
      kept.push_back(std::move(e));
      continue;
    }
    std::string message = "unknown key " + quote(e.key) + " " + context;
    std::string suggestion = closestMatch(e.key, allowed);
    if (!suggestion.empty())
      message += "; did you mean " + quote(suggestion) + "?";
    error(e.keyNode, message);
  }
  view.entries = std::move(kept);
}

bool Loader::checkRequired(const MapView &view,
                           const std::vector<std::string> &required,
                           const SourceLocation &where,
                           const std::string &owner) {
  bool ok = true;
  for (const std::string &key : required) {
    if (view.find(key))
      continue;
    error(where, owner + " is missing required key " + quote(key));
    ok = false;
  }
  return ok;
}

bool Loader::resolve(const YAML::Node &node, YAML::Node &out) {
  // Node::operator= on a bound node overwrites the node it refers to (in
  // the document); reset() only rebinds the handle.
  out.reset(node);
  if (!isPlainScalar(node) || node.Scalar().empty() || node.Scalar()[0] != '$')
    return true;
  std::string name = node.Scalar().substr(1);
  if (badParams.count(name))
    return false; // its own error is reported
  auto it = params.find(name);
  if (it != params.end()) {
    out.reset(it->second.value);
    return true;
  }
  std::vector<std::string> names;
  for (const auto &p : params)
    names.push_back(p.first);
  std::string message = "unknown parameter " + quote(node.Scalar());
  std::string suggestion = closestMatch(name, names);
  if (!suggestion.empty())
    message += "; did you mean " + quote("$" + suggestion) + "?";
  error(node, message);
  return false;
}

bool Loader::checkConstraint(const YAML::Node &node, const std::string &text,
                             double value, Constraint c,
                             const std::string &what) {
  switch (c) {
  case Constraint::None:
    return true;
  case Constraint::Positive:
    if (value > 0)
      return true;
    error(node, what + " must be positive, got " + text);
    return false;
  case Constraint::NonNegative:
    if (value >= 0)
      return true;
    error(node, what + " must not be negative, got " + text);
    return false;
  case Constraint::UnitInterval:
    if (value >= 0 && value < 1)
      return true;
    error(node, what + " must be in [0, 1), got " + text);
    return false;
  }
  return true;
}

bool Loader::readScalarInt(const YAML::Node &node, const YAML::Node &resolved,
                           const FieldSchema &field, const std::string &what,
                           int64_t &out) {
  if (!isPlainScalar(resolved) || !parseInt(resolved.Scalar(), out)) {
    error(node, what + " expects " + describeType(field.type) + ", got " +
                    describe(resolved));
    return false;
  }
  return checkConstraint(node, resolved.Scalar(), static_cast<double>(out),
                         field.constraint, what);
}

bool Loader::readField(const YAML::Node &node, const FieldSchema &field,
                       const std::string &what, FieldValue &out) {
  YAML::Node v;
  if (!resolve(node, v))
    return false;
  out.location = loc(node);
  auto typeError = [&]() {
    error(node, what + " expects " + describeType(field.type) + ", got " +
                    describe(v));
    return false;
  };
  switch (field.type) {
  case FieldType::Int:
    out.kind = FieldValue::Kind::Int;
    if (!readScalarInt(node, v, field, what, out.intValue))
      return false;
    out.floatValue = static_cast<double>(out.intValue);
    return true;
  case FieldType::Float:
    out.kind = FieldValue::Kind::Float;
    if (!isPlainScalar(v) || !parseFloat(v.Scalar(), out.floatValue))
      return typeError();
    return checkConstraint(node, v.Scalar(), out.floatValue, field.constraint,
                           what);
  case FieldType::Bool:
    out.kind = FieldValue::Kind::Bool;
    if (!isPlainScalar(v) || !parseBool(v.Scalar(), out.boolValue))
      return typeError();
    return true;
  case FieldType::String:
    out.kind = FieldValue::Kind::String;
    if (!v.IsScalar() || v.Scalar().empty())
      return typeError();
    out.stringValue = v.Scalar();
    return true;
  case FieldType::Pair: {
    out.kind = FieldValue::Kind::IntList;
    out.intList.clear();
    if (v.IsScalar()) {
      int64_t x = 0;
      if (!readScalarInt(node, v, field, what, x))
        return false;
      out.intList = {x, x};
      return true;
    }
    if (!v.IsSequence() || v.size() != 2)
      return typeError();
    bool ok = true;
    for (size_t i = 0; i < 2; ++i) {
      YAML::Node element = v[i], ev;
      int64_t x = 0;
      // An element of a list written in the file is located at itself; one
      // that came from a parameter at the `$name` that brought it.
      const YAML::Node &at = v.is(node) ? element : node;
      if (!resolve(element, ev) || !readScalarInt(at, ev, field, what, x)) {
        ok = false;
        continue;
      }
      out.intList.push_back(x);
    }
    return ok;
  }
  }
  return false;
}

void Loader::readParams(const YAML::Node &node) {
  if (!node.IsMap()) {
    error(node, "key 'params' expects a mapping of parameter names to "
                "values, got " +
                    describe(node));
    return;
  }
  MapView view = entriesOf(node, "in 'params'");
  for (const Entry &e : view.entries) {
    if (!isIdentifier(e.key)) {
      error(e.keyNode, "invalid parameter name " + quote(e.key) +
                           "; use letters, digits and '_'");
      continue;
    }
    if (e.key == "classes") {
      error(e.keyNode, "parameter 'classes' is the top-level key 'classes'; "
                       "set it there");
      continue;
    }
    bool scalarList = e.value.IsSequence();
    for (size_t i = 0; scalarList && i < e.value.size(); ++i)
      scalarList = e.value[i].IsScalar();
    if (!e.value.IsScalar() && !scalarList) {
      error(e.value, "parameter " + quote(e.key) +
                         " expects a scalar or a list of scalars, got " +
                         describe(e.value));
      continue;
    }
    params.emplace(e.key, Param{e.value, loc(e.keyNode)});
  }
}

void Loader::applyOverrides(const std::vector<ParamOverride> &overrides) {
  SourceLocation commandLine{"<command line>", 0, 0};
  for (const ParamOverride &o : overrides) {
    auto it = params.find(o.name);
    if (it == params.end()) {
      std::vector<std::string> names;
      for (const auto &p : params)
        names.push_back(p.first);
      std::string message = "--set " + quote(o.name) +
                            ": the model has no parameter of that name";
      std::string suggestion = closestMatch(o.name, names);
      if (!suggestion.empty())
        message += "; did you mean " + quote(suggestion) + "?";
      error(commandLine, message);
      continue;
    }
    YAML::Node value;
    try {
      value.reset(YAML::Load(o.value));
    } catch (const YAML::Exception &e) {
      error(commandLine, "--set " + quote(o.name) + ": invalid value " +
                             quote(o.value) + ": " + e.msg);
      continue;
    }
    if (!value.IsScalar() && !value.IsSequence()) {
      error(commandLine, "--set " + quote(o.name) +
                             ": expects a scalar or a list, got " +
                             describe(value));
      continue;
    }
    it->second.value.reset(value);
  }
}

void Loader::readInput(const YAML::Node &node, InputSpec &input) {
  input.location = loc(node);
  if (!node.IsMap()) {
    error(node, "key 'input' expects a mapping {channels, height, width}, "
                "got " +
                    describe(node));
    return;
  }
  MapView view = entriesOf(node, "in 'input'");
  std::vector<std::string> keys = {"channels", "height", "width"};
  checkKeys(view, keys, "in 'input'");
  checkRequired(view, keys, loc(node), "'input'");
  int64_t *targets[] = {&input.channels, &input.height, &input.width};
  for (size_t i = 0; i < keys.size(); ++i) {
    const Entry *e = view.find(keys[i]);
    FieldValue v;
    FieldSchema schema{keys[i].c_str(), FieldType::Int,      true, 0,
                       nullptr,         Constraint::Positive};
    if (e && readField(e->value, schema,
                       "field " + quote(keys[i]) + " of 'input'", v))
      *targets[i] = v.intValue;
  }
}

bool Loader::readLayer(const YAML::Node &node, size_t index,
                       const std::map<std::string, size_t> &firstIndex,
                       const std::vector<YAML::Node> &nameNodes,
                       LayerSpec &layer) {
  bool ok = true;
  MapView view = entriesOf(node, "in layer #" + std::to_string(index + 1));
  const Entry *nameEntry = view.find("name");
  std::string context = "in layer #" + std::to_string(index + 1);
  layer.location = loc(node);
  if (nameEntry) {
    layer.location = loc(nameEntry->keyNode);
    if (nameEntry->value.IsScalar()) {
      layer.name = nameEntry->value.Scalar();
      context = "in layer " + quote(layer.name);
    }
  }
  std::string owner = context.substr(3); // "layer 'x'"
  if (!nameEntry) {
    error(node, owner + " is missing required key 'name'");
    ok = false;
  } else if (!nameEntry->value.IsScalar()) {
    error(nameEntry->value, "key 'name' of " + owner +
                                " expects a string, got " +
                                describe(nameEntry->value));
    ok = false;
  } else if (!isValidName(layer.name)) {
    error(nameEntry->value,
          "invalid layer name " + quote(layer.name) +
              "; use letters, digits, '_', '-' and '.' (not at either end)");
    ok = false;
  } else if (layer.name == "input") {
    error(nameEntry->value,
          "layer name 'input' is reserved for the model input");
    ok = false;
  }

  // The op decides which other keys are valid.
  const OpSchema *schema = nullptr;
  const Entry *opEntry = view.find("op");
  if (!opEntry) {
    error(layer.location, owner + " is missing required key 'op'");
    ok = false;
  } else if (!isPlainScalar(opEntry->value)) {
    error(opEntry->value, "key 'op' of " + owner + " expects an op name, got " +
                              describe(opEntry->value));
    ok = false;
  } else {
    layer.op = opEntry->value.Scalar();
    layer.opLocation = loc(opEntry->value);
    schema = lookupOp(layer.op);
    if (!schema) {
      std::string message = "unknown op " + quote(layer.op) + " " + context;
      std::string suggestion = closestMatch(layer.op, opNames());
      if (!suggestion.empty())
        message += "; did you mean " + quote(suggestion) + "?";
      error(opEntry->value, message);
      ok = false;
    }
  }

  std::vector<std::string> allowed = {"name", "op", "from"};
  if (schema) {
    for (const std::string &f : schema->fieldNames())
      allowed.push_back(f);
    size_t before = diag.errorCount();
    checkKeys(view, allowed, context);
    ok &= diag.errorCount() == static_cast<int>(before);
  }

  if (const Entry *from = view.find("from")) {
    bool fromOk = true;
    std::vector<YAML::Node> refs;
    if (from->value.IsScalar()) {
      refs.push_back(from->value);
    } else if (from->value.IsSequence() && from->value.size() > 0) {
      for (size_t i = 0; i < from->value.size(); ++i)
        refs.push_back(from->value[i]);
    } else {
      error(from->value, "key 'from' of " + owner +
                             " expects a layer name or a list of layer "
                             "names, got " +
                             describe(from->value));
      fromOk = false;
    }
    for (const YAML::Node &ref : refs) {
      if (!ref.IsScalar()) {
        error(ref, "key 'from' of " + owner + " expects layer names, got " +
                       describe(ref));
        fromOk = false;
        continue;
      }
      std::string target = ref.Scalar();
      auto it = firstIndex.find(target);
      if (target == "input") {
        // The model input.
      } else if (it == firstIndex.end()) {
        std::vector<std::string> earlier = {"input"};
        for (const auto &[name, i] : firstIndex)
          if (i < index)
            earlier.push_back(name);
        std::string message =
            owner + " reads from unknown layer " + quote(target);
        std::string suggestion = closestMatch(target, earlier);
        if (!suggestion.empty())
          message += "; did you mean " + quote(suggestion) + "?";
        error(ref, message);
        fromOk = false;
        continue;
      } else if (it->second == index) {
        error(ref, owner + " reads from itself");
        fromOk = false;
        continue;
      } else if (it->second > index) {
        error(ref, owner + " reads from " + quote(target) +
                       ", which is defined later; a layer may only read "
                       "earlier layers");
        diag.note(loc(nameNodes[it->second]),
                  quote(target) + " is defined here");
        fromOk = false;
        continue;
      }
      layer.from.push_back(target);
      layer.fromLocations.push_back(loc(ref));
    }
    if (schema && fromOk && !refs.empty()) {
      int n = static_cast<int>(refs.size());
      if (n < schema->minInputs ||
          (schema->maxInputs >= 0 && n > schema->maxInputs)) {
        std::string count =
            schema->minInputs == schema->maxInputs
                ? std::to_string(schema->minInputs)
                : std::to_string(schema->minInputs) + " or more";
        error(from->value, "op " + quote(layer.op) + " takes " + count +
                               " input" + (count == "1" ? "" : "s") + ", but " +
                               owner + " names " + std::to_string(n) +
                               " in 'from'");
        fromOk = false;
      }
    }
    ok &= fromOk;
  }

  if (!schema)
    return false;

  // Normalize the op's fields: given ones first, then defaults (which may
  // copy a given one, as max_pool2d's stride copies kernel).
  for (const FieldSchema &f : schema->fields) {
    const Entry *e = view.find(f.name);
    std::string what = "field " + quote(f.name) + " of " + owner;
    if (e) {
      FieldValue v;
      if (readField(e->value, f, what, v))
        layer.fields[f.name] = v;
      else
        ok = false;
      continue;
    }
    if (f.required) {
      error(layer.location, owner + " (" + layer.op +
                                ") is missing required field " + quote(f.name));
      ok = false;
    }
  }
  for (const FieldSchema &f : schema->fields) {
    if (f.required || view.find(f.name))
      continue;
    FieldValue v;
    v.location = layer.location;
    if (f.defaultFrom) {
      auto it = layer.fields.find(f.defaultFrom);
      if (it == layer.fields.end())
        continue; // its own error is reported
      v = it->second;
      v.location = layer.location;
    } else {
      switch (f.type) {
      case FieldType::Int:
        v.kind = FieldValue::Kind::Int;
        v.intValue = static_cast<int64_t>(f.defaultValue);
        v.floatValue = f.defaultValue;
        break;
      case FieldType::Float:
        v.kind = FieldValue::Kind::Float;
        v.floatValue = f.defaultValue;
        break;
      case FieldType::Bool:
        v.kind = FieldValue::Kind::Bool;
        v.boolValue = f.defaultValue != 0;
        break;
      case FieldType::Pair:
        v.kind = FieldValue::Kind::IntList;
        v.intList.assign(2, static_cast<int64_t>(f.defaultValue));
        break;
      case FieldType::String:
        v.kind = FieldValue::Kind::String;
        break;
      }
    }
    layer.fields[f.name] = v;
  }

  // Checks across fields that need no shapes.
  if (layer.op == "conv2d" && layer.fields.count("out_channels") &&
      layer.fields.count("groups")) {
    const FieldValue &out = layer.fields["out_channels"];
    const FieldValue &groups = layer.fields["groups"];
    if (out.intValue % groups.intValue != 0) {
      error(groups.location, "field 'out_channels' of " + owner + " (" +
                                 std::to_string(out.intValue) +
                                 ") must be divisible by field 'groups' (" +
                                 std::to_string(groups.intValue) + ")");
      ok = false;
    }
  }
  if (layer.op == "max_pool2d" && layer.fields.count("kernel") &&
      layer.fields.count("padding")) {
    const FieldValue &kernel = layer.fields["kernel"];
    const FieldValue &padding = layer.fields["padding"];
    for (size_t i = 0; i < 2; ++i) {
      // PyTorch rejects a padding over half the window.
      if (padding.intList[i] * 2 > kernel.intList[i]) {
        error(padding.location,
              "field 'padding' of " + owner + " (" +
                  std::to_string(padding.intList[i]) +
                  ") must be at most half of field 'kernel' (" +
                  std::to_string(kernel.intList[i]) + ")");
        ok = false;
        break;
      }
    }
  }
  return ok;
}

void Loader::readLayers(const YAML::Node &node, ModelSpec &spec) {
  if (!node.IsSequence()) {
    error(node, "key 'layers' expects a list of layers, got " + describe(node));
    return;
  }
  if (node.size() == 0) {
    error(node, "'layers' is empty; a model needs at least one layer");
    return;
  }
  // Every name first, so that `from` can tell a later layer from an unknown
  // one, and a bad layer does not cascade into errors in its readers.
  std::map<std::string, size_t> firstIndex;
  std::vector<YAML::Node> nameNodes(node.size());
  for (size_t i = 0; i < node.size(); ++i) {
    YAML::Node item = node[i];
    if (!item.IsMap())
      continue;
    for (auto it = item.begin(); it != item.end(); ++it) {
      if (!it->first.IsScalar() || it->first.Scalar() != "name" ||
          !it->second.IsScalar())
        continue;
      nameNodes[i].reset(it->second);
      auto [prev, inserted] = firstIndex.emplace(it->second.Scalar(), i);
      if (!inserted) {
        error(it->second, "duplicate layer name " + quote(it->second.Scalar()));
        diag.note(loc(nameNodes[prev->second]), "first defined here");
      }
      break;
    }
  }
  for (size_t i = 0; i < node.size(); ++i) {
    YAML::Node item = node[i];
    if (!item.IsMap()) {
      error(item, "layer #" + std::to_string(i + 1) +
                      " expects a mapping with 'name' and 'op', got " +
                      describe(item));
      continue;
    }
    LayerSpec layer;
    if (readLayer(item, i, firstIndex, nameNodes, layer))
      spec.layers.push_back(std::move(layer));
  }
}

void Loader::readTrain(const YAML::Node &node, TrainSpec &train) {
  train.location = loc(node);
  if (!node.IsMap()) {
    error(node, "key 'train' expects a mapping, got " + describe(node));
    return;
  }
  MapView view = entriesOf(node, "in 'train'");
  checkKeys(view,
            {"epochs", "batch_size", "optimizer", "lr", "momentum",
             "weight_decay", "seed"},
            "in 'train'");
  using FT = FieldType;
  using C = Constraint;
  auto read = [&](const char *key, FieldType type, Constraint c,
                  FieldValue &out) {
    const Entry *e = view.find(key);
    if (!e)
      return false;
    train.keyLocations[key] = loc(e->value);
    FieldSchema schema{key, type, false, 0, nullptr, c};
    return readField(e->value, schema, "field " + quote(key) + " of 'train'",
                     out);
  };
  FieldValue v;
  if (read("epochs", FT::Int, C::Positive, v))
    train.epochs = v.intValue;
  if (read("batch_size", FT::Int, C::Positive, v))
    train.batchSize = v.intValue;
  if (read("lr", FT::Float, C::Positive, v))
    train.learningRate = v.floatValue;
  if (read("momentum", FT::Float, C::NonNegative, v))
    train.momentum = v.floatValue;
  if (read("weight_decay", FT::Float, C::NonNegative, v))
    train.weightDecay = v.floatValue;
  if (read("seed", FT::Int, C::NonNegative, v))
    train.seed = v.intValue;
  if (read("optimizer", FT::String, C::None, v)) {
    static const std::vector<std::string> optimizers = {"sgd"};
    bool known = false;
    for (const std::string &o : optimizers)
      known |= o == v.stringValue;
    if (known) {
      train.optimizer = v.stringValue;
    } else {
      std::string message =
          "unknown optimizer " + quote(v.stringValue) + " in 'train'";
      std::string suggestion = closestMatch(v.stringValue, optimizers);
      if (!suggestion.empty())
        message += "; did you mean " + quote(suggestion) + "?";
      else
        message += "; supported: 'sgd'";
      error(v.location, message);
    }
  }
}

bool Loader::readNumberList(const YAML::Node &node, const std::string &what,
                            std::vector<double> &out) {
  YAML::Node v;
  if (!resolve(node, v))
    return false;
  if (!v.IsSequence()) {
    error(node, what + " expects a list of numbers, got " + describe(v));
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < v.size(); ++i) {
    YAML::Node element = v[i], ev;
    double x = 0;
    const YAML::Node &at = v.is(node) ? element : node;
    if (!resolve(element, ev))
      ok = false;
    else if (!isPlainScalar(ev) || !parseFloat(ev.Scalar(), x)) {
      error(at, what + " expects a list of numbers, got " + describe(ev) +
                    " in it");
      ok = false;
    } else {
      out.push_back(x);
    }
  }
  return ok;
}

void Loader::readData(const YAML::Node &node, int64_t channels,
                      DataSpec &data) {
  data.location = loc(node);
  if (!node.IsMap()) {
    error(node, "key 'data' expects a mapping, got " + describe(node));
    return;
  }
  MapView view = entriesOf(node, "in 'data'");
  checkKeys(view, {"resize", "random_horizontal_flip", "normalize"},
            "in 'data'");
  FieldValue v;
  if (const Entry *e = view.find("resize")) {
    data.keyLocations["resize"] = loc(e->value);
    if (readField(
            e->value,
            {"resize", FieldType::Int, false, 0, nullptr, Constraint::Positive},
            "field 'resize' of 'data'", v))
      data.resize = v.intValue;
  }
  if (const Entry *e = view.find("random_horizontal_flip")) {
    data.keyLocations["random_horizontal_flip"] = loc(e->value);
    if (readField(e->value,
                  {"random_horizontal_flip", FieldType::Bool, false, 0, nullptr,
                   Constraint::None},
                  "field 'random_horizontal_flip' of 'data'", v))
      data.randomHorizontalFlip = v.boolValue;
  }
  const Entry *norm = view.find("normalize");
  if (!norm)
    return;
  data.keyLocations["normalize"] = loc(norm->value);
  if (!norm->value.IsMap()) {
    error(norm->value, "field 'normalize' of 'data' expects a mapping "
                       "{mean, std}, got " +
                           describe(norm->value));
    return;
  }
  MapView nview = entriesOf(norm->value, "in 'data.normalize'");
  checkKeys(nview, {"mean", "std"}, "in 'data.normalize'");
  checkRequired(nview, {"mean", "std"}, loc(norm->value), "'data.normalize'");
  std::vector<double> lists[2];
  bool good[2] = {false, false};
  const char *keys[2] = {"mean", "std"};
  for (int k = 0; k < 2; ++k) {
    const Entry *e = nview.find(keys[k]);
    if (!e)
      continue;
    data.keyLocations[std::string("normalize.") + keys[k]] = loc(e->value);
    std::string what =
        std::string("field '") + keys[k] + "' of 'data.normalize'";
    if (!readNumberList(e->value, what, lists[k]))
      continue;
    if (static_cast<int64_t>(lists[k].size()) != channels) {
      error(e->value, what + " needs one value per input channel (" +
                          std::to_string(channels) + "), got " +
                          std::to_string(lists[k].size()));
      continue;
    }
    good[k] = true;
    if (k == 1) {
      for (double s : lists[k]) {
        if (s <= 0) {
          error(e->value,
                what + " values must be positive, got " + formatNumber(s));
          good[k] = false;
          break;
        }
      }
    }
  }
  if (good[0] && good[1]) {
    data.mean = lists[0];
    data.std = lists[1];
  }
}

/// A parameter's value as recorded in ModelSpec::params.
FieldValue paramValue(const YAML::Node &value, const SourceLocation &where) {
  FieldValue v;
  v.location = where;
  if (value.IsSequence()) {
    v.kind = FieldValue::Kind::IntList;
    for (size_t i = 0; i < value.size(); ++i) {
      int64_t x = 0;
      if (value[i].IsScalar() && parseInt(value[i].Scalar(), x)) {
        v.intList.push_back(x);
      } else {
        v.kind = FieldValue::Kind::String;
        break;
      }
    }
    return v;
  }
  std::string text = value.IsScalar() ? value.Scalar() : "";
  if (isPlainScalar(value) && parseInt(text, v.intValue)) {
    v.kind = FieldValue::Kind::Int;
    v.floatValue = static_cast<double>(v.intValue);
  } else if (isPlainScalar(value) && parseFloat(text, v.floatValue)) {
    v.kind = FieldValue::Kind::Float;
  } else if (isPlainScalar(value) && parseBool(text, v.boolValue)) {
    v.kind = FieldValue::Kind::Bool;
  } else {
    v.kind = FieldValue::Kind::String;
    v.stringValue = text;
  }
  return v;
}

std::optional<ModelSpec>
Loader::load(const std::string &text,
             const std::vector<ParamOverride> &overrides) {
  diag.addSource(file, text);
  YAML::Node root;
  try {
    root.reset(YAML::Load(text));
  } catch (const YAML::Exception &e) {
    error(loc(e.mark), "invalid YAML: " + e.msg);
    return std::nullopt;
  }
  SourceLocation top{file, 1, 1};
  if (!root.IsMap()) {
    error(root.IsNull() ? top : loc(root),
          "expected a mapping with keys 'name', 'input', 'classes' and "
          "'layers' at the top level, got " +
              (root.IsNull() ? std::string("an empty document")
                             : describe(root)));
    return std::nullopt;
  }
  top = loc(root);

  ModelSpec spec;
  spec.file = file;
  MapView view = entriesOf(root, "at the top level");
  checkKeys(view,
            {"format", "name", "input", "classes", "params", "layers", "train",
             "data"},
            "at the top level");
  checkRequired(view, {"name", "input", "classes", "layers"}, top, "the model");

  if (const Entry *e = view.find("format")) {
    FieldValue v;
    if (readField(
            e->value,
            {"format", FieldType::Int, false, 0, nullptr, Constraint::None},
            "key 'format'", v)) {
      if (v.intValue != 1)
        error(e->value, "unsupported format version " +
                            std::to_string(v.intValue) +
                            "; this rtml reads format 1");
      spec.format = v.intValue;
    }
  }

  // Parameters before anything that may refer to them. `classes` is one, so
  // `--set classes=100` and `$classes` work like any other.
  if (const Entry *e = view.find("params"))
    readParams(e->value);
  const Entry *classes = view.find("classes");
  if (classes)
    params.emplace("classes", Param{classes->value, loc(classes->keyNode)});
  applyOverrides(overrides);
  if (classes) {
    spec.classesLocation = loc(classes->value);
    FieldValue v;
    YAML::Node value = params["classes"].value;
    if (!value.is(classes->value))
      forcedLocation = SourceLocation{"<command line>", 0, 0};
    if (readField(
            value,
            {"classes", FieldType::Int, true, 0, nullptr, Constraint::Positive},
            "key 'classes'", v))
      spec.classes = v.intValue;
    else
      badParams.insert("classes");
    forcedLocation.reset();
  }
  for (const auto &[name, p] : params)
    spec.params[name] = paramValue(p.value, p.location);

  if (const Entry *e = view.find("name")) {
    spec.nameLocation = loc(e->value);
    if (!e->value.IsScalar())
      error(e->value, "key 'name' expects a string, got " + describe(e->value));
    else if (!isValidName(e->value.Scalar()))
      error(e->value, "invalid model name " + quote(e->value.Scalar()) +
                          "; use letters, digits, '_', '-' and '.'");
    else
      spec.name = e->value.Scalar();
  }
  if (const Entry *e = view.find("input"))
    readInput(e->value, spec.input);
  if (const Entry *e = view.find("layers"))
    readLayers(e->value, spec);
  if (const Entry *e = view.find("train"))
    readTrain(e->value, spec.train);
  if (const Entry *e = view.find("data"))
    readData(e->value, spec.input.channels, spec.data);

  if (failed)
    return std::nullopt;
  return spec;
}

std::optional<ModelSpec>
guardedLoad(const std::string &text, const std::string &file,
            DiagnosticEngine &diag,
            const std::vector<ParamOverride> &overrides) {
  // Nothing may escape: the driver promises a diagnostic, never a crash.
  try {
    Loader loader(file, diag);
    return loader.load(text, overrides);
  } catch (const YAML::Exception &e) {
    diag.error({file, e.mark.is_null() ? 0 : e.mark.line + 1,
                e.mark.is_null() ? 0 : e.mark.column + 1},
               "invalid YAML: " + e.msg);
  } catch (const std::exception &e) {
    diag.error({file, 0, 0},
               std::string("internal error while reading the model: ") +
                   e.what());
  } catch (...) {
    diag.error({file, 0, 0}, "internal error while reading the model");
  }
  return std::nullopt;
}

} // namespace

bool parseParamOverride(const std::string &arg, ParamOverride &out) {
  size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0)
    return false;
  out.name = arg.substr(0, eq);
  out.value = arg.substr(eq + 1);
  return true;
}

std::optional<ModelSpec>
parseModelSpec(const std::string &text, const std::string &file,
               DiagnosticEngine &diag,
               const std::vector<ParamOverride> &overrides) {
  return guardedLoad(text, file, diag, overrides);
}

std::optional<ModelSpec> parseModelSpec(const std::string &text,
                                        const std::string &file,
                                        DiagnosticEngine &diag) {
  return guardedLoad(text, file, diag, {});
}

std::optional<ModelSpec>
loadModelSpec(const std::string &file, DiagnosticEngine &diag,
              const std::vector<ParamOverride> &overrides) {
  std::string text;
  try {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      diag.error({file, 0, 0},
                 "cannot open model file: " + lowerFirst(std::strerror(errno)));
      return std::nullopt;
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) {
      diag.error({file, 0, 0}, "cannot read model file");
      return std::nullopt;
    }
    text = buffer.str();
  } catch (const std::exception &e) {
    diag.error({file, 0, 0},
               std::string("cannot read model file: ") + e.what());
    return std::nullopt;
  }
  return guardedLoad(text, file, diag, overrides);
}

std::optional<ModelSpec> loadModelSpec(const std::string &file,
                                       DiagnosticEngine &diag) {
  return loadModelSpec(file, diag, {});
}

} // namespace rtml::spec
