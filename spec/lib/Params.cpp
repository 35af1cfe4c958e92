//===- Params.cpp - The `params:` section and --set overrides -----------===//
#include "LoaderImpl.h"

namespace rtml::spec::detail {

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

} // namespace rtml::spec::detail
