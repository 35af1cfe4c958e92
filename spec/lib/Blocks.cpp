//===- Blocks.cpp - The blocks: section -----------------------------------===//
//
// Reads the reusable groups of layers, their arguments and inputs; their
// bodies are expanded where they are used (BlockUses.cpp).
//
//===----------------------------------------------------------------------===//
#include "LoaderImpl.h"

namespace rtml::spec::detail {

bool Loader::readBlockArgs(const Entry *a, const std::string &owner,
                           BlockDef &def) {
  bool ok = true;
  if (!a->value.IsSequence()) {
    error(a->value, "key 'args' of " + owner +
                        " expects a list of argument names ('name' or "
                        "'{name: default}'), got " +
                        describe(a->value));
    ok = false;
  }
  std::map<std::string, SourceLocation> seen;
  for (size_t i = 0; a->value.IsSequence() && i < a->value.size(); ++i) {
    YAML::Node item = a->value[i];
    BlockDef::Arg arg;
    YAML::Node nameNode;
    if (isPlainScalar(item)) {
      nameNode.reset(item);
    } else if (item.IsMap() && item.size() == 1 &&
               item.begin()->first.IsScalar()) {
      nameNode.reset(item.begin()->first);
      arg.hasDefault = true;
      arg.defaultValue.reset(item.begin()->second);
    } else {
      error(item, "argument #" + std::to_string(i + 1) + " of " + owner +
                      " expects a name or '{name: default}', got " +
                      describe(item));
      ok = false;
      continue;
    }
    arg.name = nameNode.Scalar();
    arg.location = loc(nameNode);
    if (!isIdentifier(arg.name)) {
      error(nameNode, "invalid argument name " + quote(arg.name) + " in " +
                          owner + "; use letters, digits and '_'");
      ok = false;
      continue;
    }
    auto [prev, inserted] = seen.emplace(arg.name, arg.location);
    if (!inserted) {
      error(nameNode, "duplicate argument " + quote(arg.name) + " in " + owner,
            {{prev->second, "first given here"}});
      ok = false;
      continue;
    }
    if (arg.hasDefault) {
      const YAML::Node &d = arg.defaultValue;
      bool scalarList = d.IsSequence();
      for (size_t k = 0; scalarList && k < d.size(); ++k)
        scalarList = d[k].IsScalar();
      if (!d.IsScalar() && !scalarList) {
        error(d, "the default of argument " + quote(arg.name) + " of " + owner +
                     " expects a scalar or a list of scalars, "
                     "got " +
                     describe(d));
        ok = false;
        continue;
      }
    }
    def.args.push_back(arg);
  }
  return ok;
}

bool Loader::readBlockInputs(const Entry *in, const std::string &owner,
                             BlockDef &def) {
  bool ok = true;
  std::vector<YAML::Node> names;
  if (in->value.IsScalar())
    names.push_back(in->value);
  else if (in->value.IsSequence() && in->value.size() > 0)
    for (size_t i = 0; i < in->value.size(); ++i)
      names.push_back(in->value[i]);
  else {
    error(in->value, "key 'inputs' of " + owner +
                         " expects a name or a non-empty list of names, "
                         "got " +
                         describe(in->value));
    ok = false;
  }
  def.inputs.clear();
  for (const YAML::Node &n : names) {
    if (!isPlainScalar(n) || !isValidName(n.Scalar())) {
      error(n, "invalid input name " + describe(n) + " in " + owner +
                   "; use letters, digits, '_', '-' and '.'");
      ok = false;
      continue;
    }
    for (const std::string &prev : def.inputs) {
      if (prev == n.Scalar()) {
        error(n, "duplicate input " + quote(prev) + " in " + owner);
        ok = false;
      }
    }
    def.inputs.push_back(n.Scalar());
  }
  if (def.inputs.empty())
    def.inputs = {"input"};
  return ok;
}

bool Loader::readBlockLayers(const Entry *l, const std::string &owner,
                             BlockDef &def,
                             std::vector<std::string> &itemNames) {
  bool ok = true;
  if (!l->value.IsSequence() || l->value.size() == 0) {
    error(l->value, "key 'layers' of " + owner +
                        " expects a non-empty list of layers, got " +
                        describe(l->value));
    ok = false;
  } else {
    def.layers.reset(l->value);
    for (size_t i = 0; i < l->value.size(); ++i) {
      YAML::Node item = l->value[i];
      if (!item.IsMap())
        continue;
      for (auto it = item.begin(); it != item.end(); ++it) {
        if (it->first.IsScalar() && it->first.Scalar() == "name" &&
            isPlainScalar(it->second)) {
          itemNames.push_back(it->second.Scalar());
          for (const std::string &input : def.inputs) {
            if (input == it->second.Scalar()) {
              error(it->second, "layer name " + quote(input) + " in " + owner +
                                    " is the name of an input "
                                    "of the block");
              ok = false;
            }
          }
          break;
        }
      }
    }
  }
  return ok;
}

bool Loader::readBlockOutput(const Entry *o, const std::string &owner,
                             const std::vector<std::string> &itemNames,
                             BlockDef &def) {
  bool ok = true;
  def.outputLocation = loc(o->value);
  if (!isPlainScalar(o->value)) {
    error(o->value, "key 'output' of " + owner +
                        " expects the name of one of its layers, got " +
                        describe(o->value));
    ok = false;
  } else {
    def.output = o->value.Scalar();
    bool known = false;
    for (const std::string &n : itemNames)
      known |= n == def.output;
    if (!known && !itemNames.empty()) {
      error(o->value, withSuggestion("output " + quote(def.output) + " of " +
                                         owner + " is not one of its layers",
                                     def.output, itemNames));
      ok = false;
    }
  }
  return ok;
}

void Loader::readBlocks(const YAML::Node &node) {
  if (!node.IsMap()) {
    error(node, "key 'blocks' expects a mapping of block names to blocks, "
                "got " +
                    describe(node));
    return;
  }
  MapView view = entriesOf(node, "in 'blocks'");
  for (const Entry &e : view.entries) {
    BlockDef def;
    def.name = e.key;
    def.location = loc(e.keyNode);
    std::string owner = "block " + quote(e.key);
    bool ok = true;
    if (!isValidName(e.key)) {
      error(e.keyNode, "invalid block name " + quote(e.key) +
                           "; use letters, digits, '_', '-' and '.'");
      ok = false;
    }
    if (!e.value.IsMap()) {
      error(e.value, owner + " expects a mapping with 'layers', got " +
                         describe(e.value));
      blocks.emplace(e.key, def);
      continue;
    }
    MapView bv = entriesOf(e.value, "in " + owner);
    checkKeys(bv, {"args", "inputs", "output", "layers"}, "in " + owner);
    ok &= checkRequired(bv, {"layers"}, def.location, owner);

    if (const Entry *a = bv.find("args"))
      ok &= readBlockArgs(a, owner, def);
    if (const Entry *in = bv.find("inputs"))
      ok &= readBlockInputs(in, owner, def);

    // The names of the block's own items, for `output` and `inputs`.
    std::vector<std::string> itemNames;
    if (const Entry *l = bv.find("layers"))
      ok &= readBlockLayers(l, owner, def, itemNames);

    if (const Entry *o = bv.find("output"))
      ok &= readBlockOutput(o, owner, itemNames, def);
    def.ok = ok;
    blocks.emplace(e.key, def);
  }
}

} // namespace rtml::spec::detail
