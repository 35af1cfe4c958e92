//===- Layers.cpp - Layers, blocks, heads and devices ---------------------===//
//
// The layers list is expanded into the flat ModelSpec::layers: a block use
// is replaced by the block's layers, named `<use>.<inner>`, with its
// arguments substituted; a disabled layer or use is dropped and readers of
// it read its input; every `from` is resolved to the qualified name of a
// layer (or "input"), so the importer sees a plain graph in topological
// order.
//
// Names in a list are local to it: a block's layers see the block's inputs
// (`input`, or the names in its `inputs:`), each other and the inner layers
// of the block uses in it (`b2.conv`), nothing outside.
//
//===----------------------------------------------------------------------===//
#include "LoaderImpl.h"

#include <deque>

namespace rtml::spec {

static size_t expansionLimit = detail::kDefaultMaxExpandedItems;

void setMaxExpandedItems(size_t limit) { expansionLimit = limit; }

namespace detail {

size_t maxExpandedItems() { return expansionLimit; }

struct Loader::BodyItem {
  YAML::Node node;
  std::string name; ///< local; empty when missing or not a string
  YAML::Node nameNode;
  bool isUse = false;
  /// Names in `from`, for finding the cycle a forward reference closes.
  std::vector<std::string> explicitFrom;
};

namespace {

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

bool sameLocation(const SourceLocation &a, const SourceLocation &b) {
  return a.file == b.file && a.line == b.line && a.column == b.column;
}

/// A reference "a.b.c" is local to item "a" when "a" is an item name.
std::string firstComponent(const std::string &name) {
  return name.substr(0, name.find('.'));
}

std::string plural(size_t n, const std::string &word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

} // namespace

//===----------------------------------------------------------------------===//
// devices:
//===----------------------------------------------------------------------===//

void Loader::readDevices(const YAML::Node &node, ModelSpec &spec) {
  devicesGiven = true;
  if (!node.IsSequence() || node.size() == 0) {
    error(node, "key 'devices' expects a non-empty list of device names, got " +
                    describe(node));
    return;
  }
  std::map<std::string, SourceLocation> seen;
  for (size_t i = 0; i < node.size(); ++i) {
    YAML::Node item = node[i];
    if (!isPlainScalar(item) || !isValidName(item.Scalar())) {
      error(item, "invalid device name " + describe(item) +
                      " in 'devices'; use letters, digits, '_', '-' and '.'");
      continue;
    }
    auto [prev, inserted] = seen.emplace(item.Scalar(), loc(item));
    if (!inserted) {
      error(item, "duplicate device " + quote(item.Scalar()) + " in 'devices'",
            {{prev->second, "first given here"}});
      continue;
    }
    deviceNames.insert(item.Scalar());
    spec.devices.push_back(item.Scalar());
    spec.deviceLocations.push_back(loc(item));
  }
}

bool Loader::readDevice(const YAML::Node &node, const std::string &owner,
                        std::string &device) {
  YAML::Node v;
  if (!resolve(node, v))
    return false;
  if (!isPlainScalar(v) || v.Scalar().empty()) {
    error(node, "key 'device' of " + owner + " expects a device name, got " +
                    describe(v));
    return false;
  }
  const std::string &name = v.Scalar();
  if (deviceNames.count(name)) {
    device = name;
    return true;
  }
  std::string message = "unknown device " + quote(name) + " in " + owner;
  if (!devicesGiven) {
    error(node, message + "; the model declares no devices (add 'devices: "
                          "[...]' at the top level)");
    return false;
  }
  std::vector<std::string> names(deviceNames.begin(), deviceNames.end());
  std::string suggested = withSuggestion(message, name, names);
  if (suggested == message) {
    suggested += "; the model declares";
    const char *sep = " ";
    for (const std::string &d : names) {
      suggested += sep + quote(d);
      sep = ", ";
    }
  }
  error(node, suggested);
  return false;
}

bool Loader::readEnabled(const YAML::Node &node, const std::string &owner,
                         bool &enabled) {
  YAML::Node v;
  if (!resolve(node, v))
    return false;
  if (!isPlainScalar(v) || !parseBool(v.Scalar(), enabled)) {
    error(node, "key 'enabled' of " + owner + " expects true or false, got " +
                    describe(v));
    return false;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// blocks:
//===----------------------------------------------------------------------===//

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

    if (const Entry *a = bv.find("args")) {
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
          error(nameNode,
                "duplicate argument " + quote(arg.name) + " in " + owner,
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
            error(d, "the default of argument " + quote(arg.name) + " of " +
                         owner +
                         " expects a scalar or a list of scalars, "
                         "got " +
                         describe(d));
            ok = false;
            continue;
          }
        }
        def.args.push_back(arg);
      }
    }

    if (const Entry *in = bv.find("inputs")) {
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
    }

    // The names of the block's own items, for `output` and `inputs`.
    std::vector<std::string> itemNames;
    if (const Entry *l = bv.find("layers")) {
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
                  error(it->second, "layer name " + quote(input) + " in " +
                                        owner +
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
    }

    if (const Entry *o = bv.find("output")) {
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
          error(o->value,
                withSuggestion("output " + quote(def.output) + " of " + owner +
                                   " is not one of its layers",
                               def.output, itemNames));
          ok = false;
        }
      }
    }
    def.ok = ok;
    blocks.emplace(e.key, def);
  }
}

//===----------------------------------------------------------------------===//
// layers:
//===----------------------------------------------------------------------===//

std::string Loader::readLayers(const YAML::Node &node, ModelSpec &spec) {
  if (!node.IsSequence()) {
    error(node, "key 'layers' expects a list of layers, got " + describe(node));
    return "";
  }
  if (node.size() == 0) {
    error(node, "'layers' is empty; a model needs at least one layer");
    return "";
  }
  Scope top;
  return expandBody(node, top, "input", spec);
}

std::string Loader::ownerOf(const Scope &scope, const std::string &localName,
                            bool isUse) const {
  std::string owner = (isUse ? "block use " : "layer ") + quote(localName);
  if (scope.block)
    owner += " of block " + quote(scope.block->name);
  return owner;
}

std::string Loader::expandBody(const YAML::Node &body, const Scope &scope,
                               const std::string &defaultInput,
                               ModelSpec &spec) {
  ScopeGuard guard(currentScope, &scope);
  // Every name first, so that `from` can tell a later layer from an unknown
  // one, and a bad layer does not cascade into errors in its readers.
  std::vector<BodyItem> items(body.size());
  std::map<std::string, size_t> localIndex;
  for (size_t i = 0; i < body.size(); ++i) {
    BodyItem &item = items[i];
    item.node.reset(body[i]);
    if (!item.node.IsMap())
      continue;
    for (auto it = item.node.begin(); it != item.node.end(); ++it) {
      if (!it->first.IsScalar())
        continue;
      const std::string &key = it->first.Scalar();
      if (key == "name" && it->second.IsScalar() && item.name.empty()) {
        item.name = it->second.Scalar();
        item.nameNode.reset(it->second);
      } else if (key == "block") {
        item.isUse = true;
      } else if (key == "from") {
        if (it->second.IsScalar())
          item.explicitFrom.push_back(it->second.Scalar());
        else if (it->second.IsSequence())
          for (size_t k = 0; k < it->second.size(); ++k)
            if (it->second[k].IsScalar())
              item.explicitFrom.push_back(it->second[k].Scalar());
      }
    }
    if (item.name.empty())
      continue;
    auto [prev, inserted] = localIndex.emplace(item.name, i);
    if (!inserted)
      error(item.nameNode, "duplicate layer name " + quote(item.name),
            {{loc(items[prev->second].nameNode), "first defined here"}});
  }

  std::string previous = defaultInput;
  for (size_t i = 0; i < items.size() && !tooLarge; ++i) {
    const BodyItem &item = items[i];
    if (++itemsExpanded > maxExpandedItems()) {
      tooLarge = true;
      error(loc(item.node), "the model expands to more than " +
                                std::to_string(maxExpandedItems()) +
                                " layers and block uses; is a block used "
                                "inside itself too often?");
      break;
    }
    if (!item.node.IsMap()) {
      error(item.node, "layer #" + std::to_string(i + 1) +
                           " expects a mapping with 'name' and 'op' (or "
                           "'block'), got " +
                           describe(item.node));
      continue;
    }
    MapView view = entriesOf(item.node, "in layer #" + std::to_string(i + 1));
    previous = item.isUse ? expandUse(view, item, scope, previous, items,
                                      localIndex, i, spec)
                          : expandLayer(view, item, scope, previous, items,
                                        localIndex, i, spec);
  }
  return previous;
}

bool Loader::resolveRef(const YAML::Node &ref, const std::string &owner,
                        const Scope &scope, const std::vector<BodyItem> &items,
                        const std::map<std::string, size_t> &localIndex,
                        size_t index, std::string &target) {
  if (!isPlainScalar(ref)) {
    error(ref, "key 'from' of " + owner + " expects layer names, got " +
                   describe(ref));
    return false;
  }
  const std::string &name = ref.Scalar();
  for (size_t k = 0; k < scope.inputNames.size(); ++k) {
    if (scope.inputNames[k] == name) {
      target = scope.inputTargets[k];
      return true;
    }
  }
  auto local = localIndex.find(name);
  if (local == localIndex.end())
    local = localIndex.find(firstComponent(name));
  if (local != localIndex.end() && local->second == index &&
      local->first == name) {
    error(ref, owner + " reads from itself");
    return false;
  }
  if (local != localIndex.end() && local->second >= index) {
    // A forward reference: name the cycle when following the `from`s of
    // the later items leads back here.
    size_t start = local->second;
    std::map<size_t, size_t> parent;
    std::deque<size_t> queue = {start};
    parent[start] = start;
    bool cycle = false;
    while (!queue.empty() && !cycle) {
      size_t k = queue.front();
      queue.pop_front();
      for (const std::string &r : items[k].explicitFrom) {
        auto m = localIndex.find(r);
        if (m == localIndex.end())
          m = localIndex.find(firstComponent(r));
        if (m == localIndex.end() || parent.count(m->second))
          continue;
        parent[m->second] = k;
        if (m->second == index) {
          cycle = true;
          break;
        }
        queue.push_back(m->second);
      }
    }
    if (cycle && start != index) {
      std::vector<size_t> path;
      for (size_t k = index; k != start; k = parent[k])
        path.push_back(k);
      path.push_back(start);
      std::string chain = quote(items[index].name);
      for (auto it = path.rbegin(); it != path.rend(); ++it)
        chain += " reads " + quote(items[*it].name);
      error(ref, "layers form a cycle: " + chain +
                     "; a layer may only read earlier layers");
      return false;
    }
    error(ref,
          owner + " reads from " + quote(name) +
              ", which is defined later; a layer may only read earlier "
              "layers",
          {{loc(items[local->second].nameNode),
            quote(items[local->second].name) + " is defined here"}});
    return false;
  }
  auto a = alias.find(scope.prefix + name);
  if (a != alias.end()) {
    target = a->second;
    return true;
  }
  std::vector<std::string> earlier = scope.inputNames;
  for (const auto &[n, i] : localIndex)
    if (i < index)
      earlier.push_back(n);
  error(ref, withSuggestion(owner + " reads from unknown layer " + quote(name),
                            name, earlier));
  return false;
}

namespace {

/// The `from` entry of a layer or use as a list of reference nodes; false
/// when it is neither a name nor a non-empty list.
bool fromRefs(const YAML::Node &value, std::vector<YAML::Node> &refs) {
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

} // namespace

std::string Loader::expandLayer(const MapView &viewIn, const BodyItem &item,
                                const Scope &scope, const std::string &previous,
                                const std::vector<BodyItem> &items,
                                const std::map<std::string, size_t> &localIndex,
                                size_t index, ModelSpec &spec) {
  MapView view = viewIn;
  bool ok = true;
  LayerSpec layer;
  layer.location = loc(item.node);
  const Entry *nameEntry = view.find("name");
  std::string localName;
  if (nameEntry) {
    layer.location = loc(nameEntry->keyNode);
    if (nameEntry->value.IsScalar())
      localName = nameEntry->value.Scalar();
  }
  std::string owner =
      localName.empty()
          ? "layer #" + std::to_string(index + 1) +
                (scope.block ? " of block " + quote(scope.block->name) : "")
          : ownerOf(scope, localName, false);
  std::string context = "in " + owner;
  if (!nameEntry) {
    error(item.node, owner + " is missing required key 'name'");
    ok = false;
  } else if (localName.empty()) {
    error(nameEntry->value, "key 'name' of " + owner +
                                " expects a string, got " +
                                describe(nameEntry->value));
    ok = false;
  } else if (!isValidName(localName)) {
    error(nameEntry->value,
          "invalid layer name " + quote(localName) +
              "; use letters, digits, '_', '-' and '.' (not at either end)");
    ok = false;
  } else if (localName == "input" && !scope.block) {
    error(nameEntry->value,
          "layer name 'input' is reserved for the model input");
    ok = false;
  }

  // The op decides which other keys are valid.
  const OpSchema *schema = nullptr;
  const Entry *opEntry = view.find("op");
  if (!opEntry) {
    error(layer.location, owner + " is missing required key 'op'");
    ok = false;
  } else if (!isPlainScalar(opEntry->value)) {
    error(opEntry->value, "key 'op' of " + owner + " expects an op name, got " +
                              describe(opEntry->value));
    ok = false;
  } else {
    layer.op = opEntry->value.Scalar();
    layer.opLocation = loc(opEntry->value);
    schema = lookupOp(layer.op);
    if (!schema) {
      error(opEntry->value,
            withSuggestion("unknown op " + quote(layer.op) + " " + context,
                           layer.op, opNames()));
      ok = false;
    }
  }

  std::vector<std::string> allowed = {"name", "op", "from", "device",
                                      "enabled"};
  if (schema) {
    for (const std::string &f : schema->fieldNames())
      allowed.push_back(f);
    bool failedBefore = failed;
    failed = false;
    checkKeys(view, allowed, context);
    ok &= !failed;
    failed |= failedBefore;
  }

  // Inputs: `from`, else the previous item (or the list's default input).
  bool fromOk = true;
  size_t inputCount = 1;
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
    inputCount = refs.size();
    for (const YAML::Node &ref : refs) {
      std::string target;
      if (!resolveRef(ref, owner, scope, items, localIndex, index, target)) {
        fromOk = false;
        continue;
      }
      layer.from.push_back(target);
      layer.fromLocations.push_back(loc(ref));
    }
  } else {
    layer.from.push_back(previous);
    layer.fromLocations.push_back(layer.location);
  }
  if (schema && fromOk) {
    int n = static_cast<int>(inputCount);
    if (n < schema->minInputs ||
        (schema->maxInputs >= 0 && n > schema->maxInputs)) {
      std::string count = schema->minInputs == schema->maxInputs
                              ? std::to_string(schema->minInputs)
                              : std::to_string(schema->minInputs) + " or more";
      std::string takes = "op " + quote(layer.op) + " takes " + count +
                          " input" + (count == "1" ? "" : "s");
      if (from)
        error(from->value, takes + ", but " + owner + " names " +
                               std::to_string(n) + " in 'from'");
      else
        error(layer.location, takes + ", but " + owner +
                                  " reads only the previous layer; name its "
                                  "inputs in 'from'");
      fromOk = false;
    }
  }
  ok &= fromOk;

  if (const Entry *d = view.find("device")) {
    if (readDevice(d->value, owner, layer.device))
      layer.deviceLocation = loc(d->value);
    else
      ok = false;
  } else {
    layer.device = scope.device;
    layer.deviceLocation = scope.deviceLocation;
  }
  bool enabled = true;
  const Entry *enabledEntry = view.find("enabled");
  if (enabledEntry && !readEnabled(enabledEntry->value, owner, enabled))
    ok = false;

  std::string qualified = scope.prefix + localName;
  std::string target = qualified;
  if (!enabled) {
    if (fromOk && inputCount == 1 && layer.from.size() == 1) {
      target = layer.from.front();
    } else if (fromOk) {
      error(enabledEntry->value,
            owner + " reads " + plural(inputCount, "input") +
                " and cannot be disabled; only a layer with one input can "
                "stand aside for it");
      ok = false;
    }
  }

  if (schema) {
    // Normalize the op's fields: given ones first, then defaults (which may
    // copy a given one, as max_pool2d's stride copies kernel).
    for (const FieldSchema &f : schema->fields) {
      const Entry *e = view.find(f.name);
      std::string what = "field " + quote(f.name) + " of " + owner;
      if (e) {
        FieldValue v;
        boundSizes = true;
        bool good = readField(e->value, f, what, v);
        boundSizes = false;
        if (good)
          layer.fields[f.name] = v;
        else
          ok = false;
        continue;
      }
      if (f.required) {
        error(layer.location, owner + " (" + layer.op +
                                  ") is missing required field " +
                                  quote(f.name));
        ok = false;
      }
    }
    for (const FieldSchema &f : schema->fields) {
      if (f.required || view.find(f.name))
        continue;
      FieldValue v;
      v.location = layer.location;
      if (f.defaultFrom) {
        auto it = layer.fields.find(f.defaultFrom);
        if (it == layer.fields.end())
          continue; // its own error is reported
        v = it->second;
        v.location = layer.location;
      } else {
        switch (f.type) {
        case FieldType::Int:
          v.kind = FieldValue::Kind::Int;
          v.intValue = static_cast<int64_t>(f.defaultValue);
          v.floatValue = f.defaultValue;
          break;
        case FieldType::Float:
          v.kind = FieldValue::Kind::Float;
          v.floatValue = f.defaultValue;
          break;
        case FieldType::Bool:
          v.kind = FieldValue::Kind::Bool;
          v.boolValue = f.defaultValue != 0;
          break;
        case FieldType::Pair:
          v.kind = FieldValue::Kind::IntList;
          v.intList.assign(2, static_cast<int64_t>(f.defaultValue));
          break;
        case FieldType::String:
          v.kind = FieldValue::Kind::String;
          break;
        }
      }
      layer.fields[f.name] = v;
    }

    // Checks across fields that need no shapes. (Whether conv2d groups
    // divide the channels is the op's shape check, in the compiler.)
    if ((layer.op == "max_pool2d" || layer.op == "avg_pool2d") &&
        layer.fields.count("kernel") && layer.fields.count("padding")) {
      const FieldValue &kernel = layer.fields["kernel"];
      const FieldValue &padding = layer.fields["padding"];
      for (size_t i = 0; i < 2; ++i) {
        // PyTorch rejects a padding over half the window.
        if (padding.intList[i] * 2 > kernel.intList[i]) {
          error(padding.location,
                "field 'padding' of " + owner + " (" +
                    std::to_string(padding.intList[i]) +
                    ") must be at most half of field 'kernel' (" +
                    std::to_string(kernel.intList[i]) + ")");
          ok = false;
          break;
        }
      }
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
  if (!ok || !enabled || !schema)
    return target;
  for (auto it = uses.rbegin(); it != uses.rend(); ++it)
    layer.expansionLocations.push_back(it->location);
  layer.name = qualified;
  spec.layers.push_back(std::move(layer));
  return target;
}

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
  if (!nameEntry) {
    error(item.node, owner + " is missing required key 'name'");
    ok = false;
  } else if (localName.empty()) {
    error(nameEntry->value, "key 'name' of " + owner +
                                " expects a string, got " +
                                describe(nameEntry->value));
    ok = false;
  } else if (!isValidName(localName)) {
    error(nameEntry->value,
          "invalid block use name " + quote(localName) +
              "; use letters, digits, '_', '-' and '.' (not at either end)");
    ok = false;
  } else if (localName == "input" && !scope.block) {
    error(nameEntry->value,
          "layer name 'input' is reserved for the model input");
    ok = false;
  }

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
  if (const Entry *d = view.find("device")) {
    if (readDevice(d->value, owner, inner.device))
      inner.deviceLocation = loc(d->value);
    else
      ok = false;
  } else {
    inner.device = scope.device;
    inner.deviceLocation = scope.deviceLocation;
  }
  bool enabled = true;
  const Entry *enabledEntry = view.find("enabled");
  if (enabledEntry && !readEnabled(enabledEntry->value, owner, enabled))
    ok = false;

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

//===----------------------------------------------------------------------===//
// heads:
//===----------------------------------------------------------------------===//

void Loader::readHeads(const YAML::Node *node, const std::string &lastOutput,
                       const SourceLocation &lastLocation, ModelSpec &spec) {
  if (!node) {
    if (lastOutput.empty() || failed)
      return;
    if (lastOutput == "input") {
      error(lastLocation, "the model's output is its input: every layer is "
                          "disabled");
      return;
    }
    HeadSpec head;
    head.name = "main";
    head.output = lastOutput;
    head.lossWeight = 1.0;
    head.main = true;
    const LayerSpec *last = spec.layer(lastOutput);
    head.location = last ? last->location : lastLocation;
    spec.heads.push_back(head);
    return;
  }
  if (!node->IsSequence() || node->size() == 0) {
    error(*node, "key 'heads' expects a non-empty list of heads {name, from, "
                 "loss_weight, main}, got " +
                     describe(*node));
    return;
  }
  std::vector<HeadSpec> heads;
  std::vector<YAML::Node> mainNodes;
  std::map<std::string, SourceLocation> seen;
  bool ok = true;
  for (size_t i = 0; i < node->size(); ++i) {
    YAML::Node item = (*node)[i];
    std::string owner = "head #" + std::to_string(i + 1);
    if (!item.IsMap()) {
      error(item, owner +
                      " expects a mapping {name, from, loss_weight, "
                      "main}, got " +
                      describe(item));
      ok = false;
      continue;
    }
    MapView view = entriesOf(item, "in " + owner);
    HeadSpec head;
    head.location = loc(item);
    if (const Entry *n = view.find("name")) {
      head.location = loc(n->keyNode);
      if (isPlainScalar(n->value))
        owner = "head " + quote(n->value.Scalar());
    }
    checkKeys(view, {"name", "from", "loss_weight", "main"}, "in " + owner);
    ok &= checkRequired(view, {"name", "from"}, head.location, owner);
    if (const Entry *n = view.find("name")) {
      if (!isPlainScalar(n->value) || !isValidName(n->value.Scalar())) {
        error(n->value, "invalid head name " + describe(n->value) +
                            "; use letters, digits, '_', '-' and '.'");
        ok = false;
      } else {
        head.name = n->value.Scalar();
        auto [prev, inserted] = seen.emplace(head.name, loc(n->value));
        if (!inserted) {
          error(n->value, "duplicate head name " + quote(head.name),
                {{prev->second, "first defined here"}});
          ok = false;
        }
      }
    }
    if (const Entry *f = view.find("from")) {
      if (!isPlainScalar(f->value)) {
        error(f->value, "key 'from' of " + owner +
                            " expects the name of a layer, got " +
                            describe(f->value));
        ok = false;
      } else if (f->value.Scalar() == "input") {
        error(f->value, owner + " reads the model input; a head reads the "
                                "output of a layer");
        ok = false;
      } else {
        auto a = alias.find(f->value.Scalar());
        if (a != alias.end() && a->second == "input") {
          error(f->value, owner + " reads " + quote(f->value.Scalar()) +
                              ", which is disabled and stands for the model "
                              "input; a head reads the output of a layer");
          ok = false;
        } else if (a != alias.end()) {
          head.output = a->second;
        } else if (!lastOutput.empty()) {
          std::vector<std::string> names;
          for (const auto &n : alias)
            names.push_back(n.first);
          error(f->value, withSuggestion(owner + " reads from unknown layer " +
                                             quote(f->value.Scalar()),
                                         f->value.Scalar(), names));
          ok = false;
        } else {
          ok = false;
        }
      }
    }
    if (const Entry *w = view.find("loss_weight")) {
      FieldValue v;
      if (readField(w->value,
                    {"loss_weight", FieldType::Float, false, 0, nullptr,
                     Constraint::NonNegative},
                    "field 'loss_weight' of " + owner, v))
        head.lossWeight = v.floatValue;
      else
        ok = false;
    }
    if (const Entry *m = view.find("main")) {
      FieldValue v;
      if (readField(
              m->value,
              {"main", FieldType::Bool, false, 0, nullptr, Constraint::None},
              "field 'main' of " + owner, v)) {
        head.main = v.boolValue;
        if (head.main)
          mainNodes.push_back(m->value);
      } else {
        ok = false;
      }
    }
    heads.push_back(head);
  }
  if (mainNodes.size() > 1) {
    error(mainNodes[1], "a second main head; exactly one head has 'main: true'",
          {{loc(mainNodes[0]), "the first is here"}});
    return;
  }
  if (mainNodes.empty()) {
    if (heads.size() == 1 && ok) {
      heads[0].main = true;
    } else if (ok) {
      error(*node, "no main head; mark exactly one head with 'main: true'");
      return;
    }
  }
  if (!ok)
    return;
  for (const HeadSpec &h : heads)
    if (h.main)
      spec.heads.push_back(h);
  for (const HeadSpec &h : heads)
    if (!h.main)
      spec.heads.push_back(h);
}

} // namespace detail
} // namespace rtml::spec
