//===- Loader.cpp - model.yaml -> ModelSpec -------------------------------===//
//
// Reads the YAML with yaml-cpp, then walks it checking every key against what
// the format allows (spec/FORMAT.md), normalizing layer fields through the op
// table (OpSchema.cpp). Errors go to the DiagnosticEngine at the offending
// node; the walk goes on after an error so that one run reports every
// independent problem. yaml-cpp throws: every exception stops here.
//
// This file: the top level, values, parameters. Layers.cpp expands layers
// and blocks; Pipeline.cpp reads `train:` and `data:`.
//
//===----------------------------------------------------------------------===//
#include "LoaderImpl.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace rtml::spec {
namespace detail {

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

/// A model name becomes the trainer's file name and its folder's: far below
/// the 255 bytes a file name may have.
constexpr size_t kMaxModelNameLength = 128;

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

std::string formatNumber(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

std::string withSuggestion(std::string message, const std::string &word,
                           const std::vector<std::string> &candidates,
                           const std::string &prefix) {
  std::string suggestion = closestMatch(word, candidates);
  if (!suggestion.empty())
    message += "; did you mean " + quote(prefix + suggestion) + "?";
  return message;
}

SourceLocation Loader::loc(const YAML::Node &node) const {
  if (forcedLocation)
    return *forcedLocation;
  YAML::Mark m = node.Mark();
  if (m.is_null())
    return {file, 0, 0};
  return {file, m.line + 1, m.column + 1};
}

void Loader::error(const SourceLocation &where, const std::string &message,
                   const Notes &notes) {
  failed = true;
  if (!reported.emplace(where.line, where.column, message).second)
    return;
  diag.error(where, message);
  for (const auto &[at, text] : notes)
    diag.note(at, text);
  for (auto it = uses.rbegin(); it != uses.rend(); ++it)
    diag.note(it->location,
              "in " + quote(it->name) + ", a use of block " + quote(it->block));
}

void Loader::warning(const SourceLocation &where, const std::string &message) {
  if (!reported.emplace(where.line, where.column, message).second)
    return;
  diag.warning(where, message);
}

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
      error(key, "duplicate key " + quote(key.Scalar()) + " " + context,
            {{loc(prev->second), "first given here"}});
      continue;
    }
    view.entries.push_back({key.Scalar(), key, it->second});
  }
  return view;
}

void Loader::checkKeys(MapView &view, const std::vector<std::string> &allowed,
                       const std::string &context) {
  for (Entry &e : view.entries) {
    bool known = false;
    for (const std::string &a : allowed)
      known |= a == e.key;
    if (known || e.dropped)
      continue;
    e.dropped = true;
    error(e.keyNode,
          withSuggestion("unknown key " + quote(e.key) + " " + context, e.key,
                         allowed));
  }
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
  std::vector<std::string> names;
  if (currentScope) {
    auto it = currentScope->args.find(name);
    if (it != currentScope->args.end()) {
      out.reset(it->second.value);
      return true;
    }
    for (const auto &a : currentScope->args)
      names.push_back(a.first);
  }
  if (badParams.count(name))
    return false; // its own error is reported
  auto it = params.find(name);
  if (it != params.end()) {
    out.reset(it->second.value);
    return true;
  }
  for (const auto &p : params)
    names.push_back(p.first);
  std::string what = currentScope && currentScope->block
                         ? "unknown argument or parameter "
                         : "unknown parameter ";
  error(node, withSuggestion(what + quote(node.Scalar()), name, names, "$"));
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
  case Constraint::ClosedUnitInterval:
    if (value >= 0 && value <= 1)
      return true;
    error(node, what + " must be in [0, 1], got " + text);
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
  if (!checkConstraint(node, resolved.Scalar(), static_cast<double>(out),
                       field.constraint, what))
    return false;
  if (boundSizes && out > kMaxSize) {
    error(node, what + " is too large, got " + resolved.Scalar() +
                    " (at most " + std::to_string(kMaxSize) + ")");
    return false;
  }
  return true;
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
    boundSizes = true;
    if (e && readField(e->value, schema,
                       "field " + quote(keys[i]) + " of 'input'", v))
      *targets[i] = v.intValue;
    boundSizes = false;
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

namespace {

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

} // namespace

std::optional<ModelSpec>
Loader::load(const std::string &text,
             const std::vector<ParamOverride> &overrides) {
  diag.addSource(file, text);
  YAML::Node root;
  try {
    root.reset(YAML::Load(text));
  } catch (const YAML::Exception &e) {
    error(e.mark.is_null() ? SourceLocation{file, 1, 1} : loc(e.mark),
          "invalid YAML: " + e.msg);
    return std::nullopt;
  }
  SourceLocation top{file, 1, 1};
  if (!root.IsMap()) {
    error(root.IsNull() || root.Mark().is_null() ? top : loc(root),
          "expected a mapping with keys 'name', 'input', 'classes' and "
          "'layers' at the top level, got " +
              (root.IsNull() ? std::string("an empty document")
                             : describe(root)));
    return std::nullopt;
  }
  if (!root.Mark().is_null())
    top = loc(root);

  ModelSpec spec;
  spec.file = file;
  MapView view = entriesOf(root, "at the top level");
  checkKeys(view,
            {"format", "name", "input", "classes", "params", "devices",
             "blocks", "layers", "heads", "train", "data"},
            "at the top level");
  checkRequired(view, {"name", "input", "classes", "layers"}, top, "the model");

  if (const Entry *e = view.find("format")) {
    FieldValue v;
    if (readField(
            e->value,
            {"format", FieldType::Int, false, 0, nullptr, Constraint::None},
            "key 'format'", v)) {
      if (v.intValue > kLatestFormat)
        error(e->value, "format " + std::to_string(v.intValue) +
                            " is newer than this rtmlc supports (1.." +
                            std::to_string(kLatestFormat) + ")");
      else if (v.intValue < 1)
        error(e->value, "invalid format " + std::to_string(v.intValue) +
                            "; formats are numbered from 1 (this rtmlc "
                            "supports 1.." +
                            std::to_string(kLatestFormat) + ")");
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
    boundSizes = true;
    bool good = readField(
        value,
        {"classes", FieldType::Int, true, 0, nullptr, Constraint::Positive},
        "key 'classes'", v);
    boundSizes = false;
    if (good)
      spec.classes = v.intValue;
    else
      badParams.insert("classes");
    forcedLocation.reset();
  }
  for (const auto &[name, p] : params)
    spec.params[name] = paramValue(p.value, p.location);

  if (const Entry *e = view.find("name")) {
    spec.nameLocation = loc(e->value);
    if (!isPlainScalar(e->value))
      error(e->value, "key 'name' expects a string, got " + describe(e->value));
    else if (e->value.Scalar().size() > kMaxModelNameLength)
      // Not quoted: the name may be megabytes long.
      error(e->value, "model name is " +
                          std::to_string(e->value.Scalar().size()) +
                          " characters long; at most " +
                          std::to_string(kMaxModelNameLength) +
                          " (it names the trainer and its folder)");
    else if (!isValidName(e->value.Scalar()))
      error(e->value, "invalid model name " + quote(e->value.Scalar()) +
                          "; use letters, digits, '_', '-' and '.'");
    else
      spec.name = e->value.Scalar();
  }
  if (const Entry *e = view.find("input"))
    readInput(e->value, spec.input);
  if (const Entry *e = view.find("devices"))
    readDevices(e->value, spec);
  if (const Entry *e = view.find("blocks"))
    readBlocks(e->value);
  std::string lastOutput;
  SourceLocation lastLocation = top;
  if (const Entry *e = view.find("layers")) {
    lastOutput = readLayers(e->value, spec);
    if (!spec.layers.empty())
      lastLocation = spec.layers.back().location;
  }
  const Entry *heads = view.find("heads");
  if (view.find("layers"))
    readHeads(heads ? &heads->value : nullptr, lastOutput, lastLocation, spec);
  for (const auto &[name, block] : blocks)
    if (!block.used && block.ok)
      warning(block.location, "block " + quote(name) + " is never used");
  if (const Entry *e = view.find("train"))
    readTrain(e->value, spec.train);
  if (spec.train.lrTMax == 0)
    spec.train.lrTMax = spec.train.epochs;
  spec.data.splitSeed = spec.train.seed;
  if (const Entry *e = view.find("data"))
    readData(e->value, spec);

  if (failed)
    return std::nullopt;
  return spec;
}

} // namespace detail

namespace {

using detail::Loader;

std::string lowerFirst(std::string s) {
  if (!s.empty())
    s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
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
    diag.error({file, e.mark.is_null() ? 1 : e.mark.line + 1,
                e.mark.is_null() ? 1 : e.mark.column + 1},
               "invalid YAML: " + e.msg);
  } catch (const std::exception &e) {
    diag.error({file, 1, 1},
               std::string("internal error while reading the model: ") +
                   e.what());
  } catch (...) {
    diag.error({file, 1, 1}, "internal error while reading the model");
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
