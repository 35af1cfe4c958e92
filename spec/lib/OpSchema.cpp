//===- OpSchema.cpp - The table of layer ops ------------------------------===//
//
// The table is generated from the ops' declarations in RtmlOps.td
// (rtml-tblgen -gen-op-schema), as is FORMAT.md's op table.
//
//===----------------------------------------------------------------------===//
#include "OpSchema.h"

#include "rtml/Support/EnumNames.h"

namespace rtml::spec {

namespace {

const std::vector<OpSchema> &table() {
  using FT = FieldType;
  using C = Constraint;
  static const std::vector<OpSchema> ops = {
#include "rtml/Dialect/RtmlOpSchema.inc"
  };
  return ops;
}

} // namespace

const FieldSchema *OpSchema::field(const std::string &key) const {
  for (const FieldSchema &f : fields)
    if (key == f.name)
      return &f;
  return nullptr;
}

std::vector<std::string> OpSchema::fieldNames() const {
  std::vector<std::string> names;
  for (const FieldSchema &f : fields)
    names.push_back(f.name);
  return names;
}

const OpSchema *lookupOp(const std::string &op) {
  for (const OpSchema &s : table())
    if (op == s.name)
      return &s;
  return nullptr;
}

std::vector<std::string> opNames() {
  std::vector<std::string> names;
  for (const OpSchema &s : table())
    names.push_back(s.name);
  return names;
}

const char *describeType(FieldType type) {
  static constexpr const char *kNames[] = {
      "an integer", "a number", "true or false",
      "an integer or a pair of integers", "a string"};
  static_assert(std::size(kNames) == size_t(FieldType::String) + 1);
  return enumName(kNames, type, "a value");
}

} // namespace rtml::spec
