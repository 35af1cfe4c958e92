//===- Loader.cpp - model.yaml -> ModelSpec -------------------------------===//
//
// Reads the YAML with yaml-cpp, then walks it checking every key against what
// the format allows (spec/FORMAT.md), normalizing layer fields through the op
// table (OpSchema.cpp). Errors go to the DiagnosticEngine at the offending
// node; the walk goes on after an error so that one run reports every
// independent problem. yaml-cpp throws: every exception stops here.
//
// This file: the top level and the public API; Values.cpp the values, keys
// and fields every section reads, Params.cpp `params:`. Layers.cpp expands layers
// and blocks; Train.cpp, Data.cpp and Transforms.cpp read `train:` and `data:`.
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

/// A model name becomes the trainer's file name and its folder's: far below
/// the 255 bytes a file name may have.
constexpr size_t kMaxModelNameLength = 128;

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
