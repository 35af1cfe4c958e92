//===- Expansion.h - What layer and block-use expansion share ------------===//
//
// Private to spec/lib: Layers.cpp expands the layers list and its layers,
// BlockUses.cpp the block uses in it; both read these.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_SPEC_LIB_EXPANSION_H
#define RTML_SPEC_LIB_EXPANSION_H

#include "LoaderImpl.h"

namespace rtml::spec::detail {

struct Loader::BodyItem {
  YAML::Node node;
  std::string name; ///< local; empty when missing or not a string
  YAML::Node nameNode;
  bool isUse = false;
  /// Names in `from`, for finding the cycle a forward reference closes.
  std::vector<std::string> explicitFrom;
};

/// One layer or block use of a list as expandBody hands it on: the item,
/// where it stands among its neighbours, its name and how messages call it.
struct Loader::ItemContext {
  const BodyItem &item;
  const Scope &scope;
  const std::vector<BodyItem> &items;
  const std::map<std::string, size_t> &localIndex;
  size_t index;
  /// The `name` entry (null when missing) and its string ("" when missing
  /// or not a string).
  const Entry *nameEntry = nullptr;
  std::string localName;
  SourceLocation location; ///< of the name's key, else of the item
  std::string owner;       ///< "layer 'conv1' of block 'b'", "block use #2"
  std::string context;     ///< "in " + owner

  std::string qualified() const { return scope.prefix + localName; }
};

/// Sets the scope `$name` resolves in for the lifetime of the guard.
class ScopeGuard {
public:
  ScopeGuard(const Scope *&slot, const Scope *scope) : slot(slot), saved(slot) {
    slot = scope;
  }
  ~ScopeGuard() { slot = saved; }

private:
  const Scope *&slot;
  const Scope *saved;
};

inline bool sameLocation(const SourceLocation &a, const SourceLocation &b) {
  return a.file == b.file && a.line == b.line && a.column == b.column;
}

/// A reference "a.b.c" is local to item "a" when "a" is an item name.
inline std::string firstComponent(const std::string &name) {
  return name.substr(0, name.find('.'));
}

inline std::string plural(size_t n, const std::string &word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

/// The `from` entry of a layer or use as a list of reference nodes; false
/// when it is neither a name nor a non-empty list.
inline bool fromRefs(const YAML::Node &value, std::vector<YAML::Node> &refs) {
  if (value.IsScalar()) {
    refs.push_back(value);
    return true;
  }
  if (!value.IsSequence() || value.size() == 0)
    return false;
  for (size_t i = 0; i < value.size(); ++i)
    refs.push_back(value[i]);
  return true;
}

} // namespace rtml::spec::detail

#endif // RTML_SPEC_LIB_EXPANSION_H
