//===- OpSchema.h - The fields each layer op accepts ----------------------===//
//
// One table entry per op: its fields with type, default and constraint, and
// how many inputs it reads. The loader validates and normalizes a layer
// against its entry. The entries are generated from the ops' declarations
// in compiler/include/rtml/Dialect/RtmlOps.td.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_SPEC_LIB_OPSCHEMA_H
#define RTML_SPEC_LIB_OPSCHEMA_H

#include <cstdint>
#include <string>
#include <vector>

namespace rtml::spec {

enum class FieldType {
  Int,    ///< an integer
  Float,  ///< a number (integers accepted)
  Bool,   ///< true / false
  Pair,   ///< an integer or [h, w]; normalized to [h, w]
  String, ///< any scalar
};

enum class Constraint {
  None,
  Positive,          ///< > 0 (every element of a pair)
  NonNegative,       ///< >= 0
  UnitInterval,      ///< in [0, 1): probabilities such as dropout's p
  ClosedUnitInterval ///< in [0, 1]: batch_norm's momentum
};

struct FieldSchema {
  const char *name;
  FieldType type;
  bool required;
  /// Default of an optional field (Int/Float/Pair: the number, both elements
  /// of a pair; Bool: nonzero is true); unused when defaultFrom is set.
  double defaultValue;
  /// The default is the value of this other field (max_pool2d's stride).
  const char *defaultFrom;
  Constraint constraint;
};

struct OpSchema {
  const char *name;
  std::vector<FieldSchema> fields;
  int minInputs; ///< the number of layers `from` may name
  int maxInputs; ///< -1: any number
  const char *summary;

  const FieldSchema *field(const std::string &name) const;
  std::vector<std::string> fieldNames() const;
};

/// The schema of OP, or nullptr for an unknown op.
const OpSchema *lookupOp(const std::string &op);
/// Every known op name, in table order (for suggestions and documentation).
std::vector<std::string> opNames();

/// "an integer", "a pair of integers", ... as used in type errors.
const char *describeType(FieldType type);

} // namespace rtml::spec

#endif // RTML_SPEC_LIB_OPSCHEMA_H
