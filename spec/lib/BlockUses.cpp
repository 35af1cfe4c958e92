//===- BlockUses.cpp - Expanding a block use ------------------------------===//
//
// A use of a block is replaced by the block's layers, named
// `<use>.<inner>`, with its arguments substituted and its inputs bound to
// the use's `from`.
//
//===----------------------------------------------------------------------===//
#include "Expansion.h"

namespace rtml::spec::detail {

std::string Loader::expandUse(const MapView &viewIn, const BodyItem &item,
                              const Scope &scope, const std::string &previous,
                              const std::vector<BodyItem> &items,
                              const std::map<std::string, size_t> &localIndex,
                              size_t index, ModelSpec &spec) {
  MapView view = viewIn;
  bool ok = true;
  SourceLocation location = loc(item.node);
  const Entry *nameEntry = view.find("name");
  std::string localName;
  if (nameEntry) {
    location = loc(nameEntry->keyNode);
    if (nameEntry->value.IsScalar())
      localName = nameEntry->value.Scalar();
  }
  std::string owner =
      localName.empty()
          ? "block use #" + std::to_string(index + 1) +
                (scope.block ? " of block " + quote(scope.block->name) : "")
          : ownerOf(scope, localName, true);
  std::string context = "in " + owner;
  {
    bool failedBefore = failed;
    failed = false;
    checkKeys(view, {"name", "block", "args", "from", "device", "enabled"},
              context);
    ok &= !failed;
    failed |= failedBefore;
  }
  ok &= checkItemName(item.node, nameEntry, localName, owner, scope,
                      /*isUse=*/true);

  // The block.
  BlockDef *def = nullptr;
  const Entry *blockEntry = view.find("block");
  if (!isPlainScalar(blockEntry->value)) {
    error(blockEntry->value, "key 'block' of " + owner +
                                 " expects a block name, got " +
                                 describe(blockEntry->value));
    ok = false;
  } else {
    const std::string &blockName = blockEntry->value.Scalar();
    auto it = blocks.find(blockName);
    if (it == blocks.end()) {
      std::string message = "unknown block " + quote(blockName) + " " + context;
      if (blocks.empty()) {
        error(blockEntry->value,
              message + "; the model defines no blocks ('blocks:' at the top "
                        "level)");
      } else {
        std::vector<std::string> names;
        for (const auto &b : blocks)
          names.push_back(b.first);
        error(blockEntry->value, withSuggestion(message, blockName, names));
      }
      ok = false;
    } else {
      def = &it->second;
      def->used = true;
      ok &= def->ok;
      for (size_t k = 0; k < blockStack.size(); ++k) {
        if (blockStack[k] != blockName)
          continue;
        std::string chain;
        for (size_t m = k; m < blockStack.size(); ++m)
          chain += quote(blockStack[m]) + " uses ";
        error(blockEntry->value, "block " + quote(blockName) +
                                     " uses itself: " + chain +
                                     quote(blockName));
        ok = false;
        def = nullptr;
        break;
      }
      if (def && blockStack.size() >= kMaxBlockDepth) {
        error(blockEntry->value, "blocks are nested more than " +
                                     std::to_string(kMaxBlockDepth) + " deep");
        ok = false;
        def = nullptr;
      }
    }
  }

  // Inputs.
  std::vector<std::string> inputs;
  bool fromOk = true;
  const Entry *from = view.find("from");
  if (from) {
    std::vector<YAML::Node> refs;
    if (!fromRefs(from->value, refs)) {
      error(from->value, "key 'from' of " + owner +
                             " expects a layer name or a list of layer "
                             "names, got " +
                             describe(from->value));
      fromOk = false;
    }
    for (const YAML::Node &ref : refs) {
      std::string target;
      if (resolveRef(ref, owner, scope, items, localIndex, index, target))
        inputs.push_back(target);
      else
        fromOk = false;
    }
    if (fromOk && def && refs.size() != def->inputs.size()) {
      error(from->value, "block " + quote(def->name) + " takes " +
                             plural(def->inputs.size(), "input") + ", but " +
                             owner + " names " + std::to_string(refs.size()) +
                             " in 'from'");
      fromOk = false;
    }
  } else {
    inputs.push_back(previous);
    if (def && def->inputs.size() != 1) {
      error(location, "block " + quote(def->name) + " takes " +
                          plural(def->inputs.size(), "input") + ", but " +
                          owner +
                          " reads only the previous layer; name its inputs "
                          "in 'from'");
      fromOk = false;
    }
  }
  ok &= fromOk;

  // Arguments, resolved where the use is written.
  std::map<std::string, Param> bound;
  if (def) {
    const Entry *args = view.find("args");
    std::vector<std::string> argNames;
    for (const BlockDef::Arg &a : def->args)
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
        error(value, "argument " + quote(arg.name) + " of " + owner +
                         " expects a scalar or a list of scalars, got " +
                         describe(v));
        ok = false;
        return;
      }
      bound[arg.name] = Param{v, loc(value)};
    };
    size_t required = 0;
    for (const BlockDef::Arg &a : def->args)
      required += a.hasDefault ? 0 : 1;
    if (args && args->value.IsMap()) {
      MapView av = entriesOf(args->value, "in 'args' of " + owner);
      for (const Entry &e : av.entries) {
        const BlockDef::Arg *arg = nullptr;
        for (const BlockDef::Arg &a : def->args)
          if (a.name == e.key)
            arg = &a;
        if (!arg) {
          std::string message =
              "block " + quote(def->name) + " has no argument " + quote(e.key);
          if (def->args.empty())
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
      if (n < required || n > def->args.size()) {
        std::string count = required == def->args.size()
                                ? plural(required, "argument")
                                : std::to_string(required) + " to " +
                                      plural(def->args.size(), "argument");
        error(args->value, "block " + quote(def->name) + " takes " + count +
                               ", but " + owner + " gives " +
                               std::to_string(n));
        ok = false;
      }
      for (size_t k = 0; k < n && k < def->args.size(); ++k)
        bind(def->args[k], args->value[k]);
    } else if (args && !args->value.IsNull()) {
      error(args->value, "key 'args' of " + owner +
                             " expects a mapping of argument names to "
                             "values (or a list of values in order), got " +
                             describe(args->value));
      ok = false;
    }
    bool positional = args && args->value.IsSequence();
    for (const BlockDef::Arg &a : def->args) {
      if (bound.count(a.name))
        continue;
      if (a.hasDefault) {
        // Defaults are written in the block: `$name` there means a
        // parameter.
        ScopeGuard global(currentScope, nullptr);
        bind(a, a.defaultValue);
      } else if (!positional && ok) {
        error(location,
              owner + " is missing argument " + quote(a.name) + " of block " +
                  quote(def->name),
              {{a.location, quote(a.name) + " is declared here"}});
        ok = false;
      } else if (!positional) {
        error(location, owner + " is missing argument " + quote(a.name) +
                            " of block " + quote(def->name));
        ok = false;
      }
    }
  }

  Scope inner;
  bool enabled = true;
  ok &= readPlacement(view, owner, scope, inner.device, inner.deviceLocation,
                      enabled);
  const Entry *enabledEntry = view.find("enabled");

  std::string qualified = scope.prefix + localName;
  std::string target = qualified;
  if (!enabled && fromOk) {
    if (inputs.size() == 1) {
      target = inputs.front();
    } else {
      error(enabledEntry->value,
            owner + " reads " + plural(inputs.size(), "input") +
                " and cannot be disabled; only a use with one input can "
                "stand aside for it");
      ok = false;
    }
  }

  if (ok && enabled && def && !tooLarge) {
    inner.prefix = qualified + ".";
    inner.block = def;
    inner.args = std::move(bound);
    inner.inputNames = def->inputs;
    inner.inputTargets = inputs;
    uses.push_back({qualified, def->name, location});
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

  if (!localName.empty() && localIndex.count(localName) &&
      localIndex.at(localName) == index) {
    SourceLocation at = loc(item.nameNode);
    auto [prev, inserted] = definedAt.emplace(qualified, at);
    if (!inserted && !sameLocation(prev->second, at))
      error(at,
            "duplicate layer name " + quote(qualified) +
                " after block expansion",
            {{prev->second, "first defined here"}});
    else
      alias.emplace(qualified, target);
  }
  return target;
}

} // namespace rtml::spec::detail
