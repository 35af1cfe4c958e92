//===- Values.cpp - YAML values, keys and fields of the spec ------------===//
//
// The pieces every section's reader shares: describing and parsing scalars,
// names, the diagnostics at a node, checking a mapping's keys, resolving
// `$param` references and reading a field through its schema.
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


namespace rtml::spec::detail {

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


} // namespace rtml::spec::detail
