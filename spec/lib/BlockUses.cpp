//===- BlockUses.cpp - Expanding a block use ------------------------------===//
//
// A use of a block is replaced by the block's layers, named
// `<use>.<inner>`, with its arguments substituted and its inputs bound to
// the use's `from`.
//
//===----------------------------------------------------------------------===//
#include "Expansion.h"

#include <algorithm>

namespace rtml::spec::detail {

BlockDef *Loader::findBlock(const Entry &blockEntry, const ItemContext &c) {
  if (!isPlainScalar(blockEntry.value)) {
    error(blockEntry.value, "key 'block' of " + c.owner +
                                " expects a block name, got " +
                                describe(blockEntry.value));
    return nullptr;
  }
  const std::string &blockName = blockEntry.value.Scalar();
  auto it = blocks.find(blockName);
  if (it == blocks.end()) {
    std::string message = "unknown block " + quote(blockName) + " " + c.context;
    if (blocks.empty()) {
      error(blockEntry.value,
            message + "; the model defines no blocks ('blocks:' at the top "
                      "level)");
    } else {
      std::vector<std::string> names;
      for (const auto &b : blocks)
        names.push_back(b.first);
      error(blockEntry.value, withSuggestion(message, blockName, names));
    }
    return nullptr;
  }
  BlockDef *def = &it->second;
  def->used = true;
  for (size_t k = 0; k < blockStack.size(); ++k) {
    if (blockStack[k] != blockName)
      continue;
    std::string chain;
    for (size_t m = k; m < blockStack.size(); ++m)
      chain += quote(blockStack[m]) + " uses ";
    error(blockEntry.value, "block " + quote(blockName) +
                                " uses itself: " + chain + quote(blockName));
    return nullptr;
  }
  if (blockStack.size() >= kMaxBlockDepth) {
    error(blockEntry.value, "blocks are nested more than " +
                                std::to_string(kMaxBlockDepth) + " deep");
    return nullptr;
  }
  return def;
}

bool Loader::checkUseInputs(const MapView &view, const ItemContext &c,
                            const BlockDef &def, size_t count) {
  if (count == def.inputs.size())
    return true;
  std::string takes = "block " + quote(def.name) + " takes " +
                      plural(def.inputs.size(), "input") + ", but " + c.owner;
  if (const Entry *from = view.find("from"))
    error(from->value,
          takes + " names " + std::to_string(count) + " in 'from'");
  else
    error(c.location, takes + " reads only the previous layer; name its "
                              "inputs in 'from'");
  return false;
}

bool Loader::bindArgs(const MapView &view, const ItemContext &c,
                      const BlockDef &def,
                      std::map<std::string, Param> &bound) {
  bool ok = true;
  const Entry *args = view.find("args");
  std::vector<std::string> argNames;
  for (const BlockDef::Arg &a : def.args)
    argNames.push_back(a.name);
  auto bind = [&](const BlockDef::Arg &arg, const YAML::Node &value) {
    YAML::Node v;
    if (!resolve(value, v)) {
      ok = false;
      return;
    }
    if (v.IsSequence()) {
      // Elements may be `$name`s of this scope too.
      YAML::Node copy(YAML::NodeType::Sequence);
      for (size_t k = 0; k < v.size(); ++k) {
        YAML::Node element;
        if (!resolve(v[k], element)) {
          ok = false;
          return;
        }
        copy.push_back(element);
      }
      v.reset(copy);
    } else if (!v.IsScalar()) {
      error(value, "argument " + quote(arg.name) + " of " + c.owner +
                       " expects a scalar or a list of scalars, got " +
                       describe(v));
      ok = false;
      return;
    }
    bound[arg.name] = Param{v, loc(value)};
  };
  size_t required = 0;
  for (const BlockDef::Arg &a : def.args)
    required += a.hasDefault ? 0 : 1;
  if (args && args->value.IsMap()) {
    MapView av = entriesOf(args->value, "in 'args' of " + c.owner);
    for (const Entry &e : av.entries) {
      auto arg =
          std::find_if(def.args.begin(), def.args.end(),
                       [&](const BlockDef::Arg &a) { return a.name == e.key; });
      if (arg == def.args.end()) {
        std::string message =
            "block " + quote(def.name) + " has no argument " + quote(e.key);
        if (def.args.empty())
          message += "; it takes none";
        else
          message = withSuggestion(message, e.key, argNames);
        error(e.keyNode, message);
        ok = false;
        continue;
      }
      bind(*arg, e.value);
    }
  } else if (args && args->value.IsSequence()) {
    size_t n = args->value.size();
    if (n < required || n > def.args.size()) {
      std::string count = required == def.args.size()
                              ? plural(required, "argument")
                              : std::to_string(required) + " to " +
                                    plural(def.args.size(), "argument");
      error(args->value, "block " + quote(def.name) + " takes " + count +
                             ", but " + c.owner + " gives " +
                             std::to_string(n));
      ok = false;
    }
    for (size_t k = 0; k < n && k < def.args.size(); ++k)
      bind(def.args[k], args->value[k]);
  } else if (args && !args->value.IsNull()) {
    error(args->value, "key 'args' of " + c.owner +
                           " expects a mapping of argument names to "
                           "values (or a list of values in order), got " +
                           describe(args->value));
    ok = false;
  }
  bool positional = args && args->value.IsSequence();
  for (const BlockDef::Arg &a : def.args) {
    if (bound.count(a.name))
      continue;
    if (a.hasDefault) {
      // Defaults are written in the block: `$name` there means a parameter.
      ScopeGuard global(currentScope, nullptr);
      bind(a, a.defaultValue);
    } else if (!positional && ok) {
      error(c.location,
            c.owner + " is missing argument " + quote(a.name) + " of block " +
                quote(def.name),
            {{a.location, quote(a.name) + " is declared here"}});
      ok = false;
    } else if (!positional) {
      error(c.location, c.owner + " is missing argument " + quote(a.name) +
                            " of block " + quote(def.name));
      ok = false;
    }
  }
  return ok;
}

std::string Loader::expandUse(MapView &view, const ItemContext &c,
                              const std::string &previous, ModelSpec &spec) {
  bool ok = checkKeysOf(
      view, {"name", "block", "args", "from", "device", "enabled"}, c.context);
  ok &= checkItemName(c.item.node, c.nameEntry, c.localName, c.owner, c.scope,
                      /*isUse=*/true);
  BlockDef *def = findBlock(*view.find("block"), c);
  // A block with errors of its own (reported) is not expanded.
  ok &= def != nullptr && def->ok;

  // Inputs.
  std::vector<std::string> inputs;
  std::vector<SourceLocation> inputLocations;
  size_t inputCount = 1;
  bool fromOk = readFrom(view, c, previous, inputs, inputLocations, inputCount);
  if (fromOk && def)
    fromOk = checkUseInputs(view, c, *def, inputCount);
  ok &= fromOk;

  // Arguments, resolved where the use is written.
  std::map<std::string, Param> bound;
  if (def)
    ok &= bindArgs(view, c, *def, bound);

  Scope inner;
  bool enabled = true;
  ok &= readPlacement(view, c.owner, c.scope, inner.device,
                      inner.deviceLocation, enabled);
  std::string target = c.qualified();
  if (!enabled && fromOk)
    ok &= standAside(view, c, inputs, target);

  if (ok && enabled && def && !tooLarge) {
    inner.prefix = c.qualified() + ".";
    inner.block = def;
    inner.args = std::move(bound);
    inner.inputNames = def->inputs;
    inner.inputTargets = inputs;
    uses.push_back({c.qualified(), def->name, c.location});
    blockStack.push_back(def->name);
    std::string last = expandBody(def->layers, inner, inputs.front(), spec);
    blockStack.pop_back();
    uses.pop_back();
    target = last;
    if (!def->output.empty()) {
      auto out = alias.find(inner.prefix + def->output);
      if (out != alias.end())
        target = out->second;
    }
  }
  defineItem(c, target);
  return target;
}

} // namespace rtml::spec::detail
