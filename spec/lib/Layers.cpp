//===- Layers.cpp - Expanding the layers list -----------------------------===//
//
// The layers list is expanded into the flat ModelSpec::layers: a block use
// is replaced by the block's layers, named `<use>.<inner>`, with its
// arguments substituted; a disabled layer or use is dropped and readers of
// it read its input; every `from` is resolved to the qualified name of a
// layer (or "input"), so the importer sees a plain graph in topological
// order.
//
// Block uses are expanded by BlockUses.cpp; the blocks: section is read by
// Blocks.cpp, devices by Devices.cpp and heads by Heads.cpp.
//
// Names in a list are local to it: a block's layers see the block's inputs
// (`input`, or the names in its `inputs:`), each other and the inner layers
// of the block uses in it (`b2.conv`), nothing outside.
//
//===----------------------------------------------------------------------===//
#include "Expansion.h"

#include <deque>

namespace rtml::spec {

static size_t expansionLimit = detail::kDefaultMaxExpandedItems;

void setMaxExpandedItems(size_t limit) { expansionLimit = limit; }

namespace detail {

size_t maxExpandedItems() { return expansionLimit; }

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

bool Loader::checkItemName(const YAML::Node &itemNode, const Entry *nameEntry,
                           const std::string &localName,
                           const std::string &owner, const Scope &scope,
                           bool isUse) {
  if (!nameEntry) {
    error(itemNode, owner + " is missing required key 'name'");
    return false;
  }
  if (localName.empty()) {
    error(nameEntry->value, "key 'name' of " + owner +
                                " expects a string, got " +
                                describe(nameEntry->value));
    return false;
  }
  if (!isValidName(localName)) {
    error(nameEntry->value,
          std::string("invalid ") + (isUse ? "block use" : "layer") + " name " +
              quote(localName) +
              "; use letters, digits, '_', '-' and '.' (not at either end)");
    return false;
  }
  if (localName == "input" && !scope.block) {
    error(nameEntry->value,
          "layer name 'input' is reserved for the model input");
    return false;
  }
  return true;
}

bool Loader::readPlacement(const MapView &view, const std::string &owner,
                           const Scope &scope, std::string &device,
                           SourceLocation &deviceLocation, bool &enabled) {
  bool ok = true;
  if (const Entry *d = view.find("device")) {
    if (readDevice(d->value, owner, device))
      deviceLocation = loc(d->value);
    else
      ok = false;
  } else {
    device = scope.device;
    deviceLocation = scope.deviceLocation;
  }
  const Entry *enabledEntry = view.find("enabled");
  if (enabledEntry && !readEnabled(enabledEntry->value, owner, enabled))
    ok = false;
  return ok;
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
    ItemContext c = itemContext(view, item, scope, items, localIndex, i);
    previous = item.isUse ? expandUse(view, c, previous, spec)
                          : expandLayer(view, c, previous, spec);
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

//===----------------------------------------------------------------------===//
// What a layer and a block use share
//===----------------------------------------------------------------------===//

Loader::ItemContext
Loader::itemContext(const MapView &view, const BodyItem &item,
                    const Scope &scope, const std::vector<BodyItem> &items,
                    const std::map<std::string, size_t> &localIndex,
                    size_t index) {
  ItemContext c{item, scope, items, localIndex, index};
  c.location = loc(item.node);
  c.nameEntry = view.find("name");
  if (c.nameEntry) {
    c.location = loc(c.nameEntry->keyNode);
    if (c.nameEntry->value.IsScalar())
      c.localName = c.nameEntry->value.Scalar();
  }
  c.owner =
      c.localName.empty()
          ? (item.isUse ? "block use #" : "layer #") +
                std::to_string(index + 1) +
                (scope.block ? " of block " + quote(scope.block->name) : "")
          : ownerOf(scope, c.localName, item.isUse);
  c.context = "in " + c.owner;
  return c;
}

bool Loader::checkKeysOf(MapView &view, const std::vector<std::string> &allowed,
                         const std::string &context) {
  bool failedBefore = failed;
  failed = false;
  checkKeys(view, allowed, context);
  bool ok = !failed;
  failed |= failedBefore;
  return ok;
}

bool Loader::readFrom(const MapView &view, const ItemContext &c,
                      const std::string &previous,
                      std::vector<std::string> &inputs,
                      std::vector<SourceLocation> &locations, size_t &count) {
  const Entry *from = view.find("from");
  if (!from) {
    inputs.push_back(previous);
    locations.push_back(c.location);
    count = 1;
    return true;
  }
  bool ok = true;
  std::vector<YAML::Node> refs;
  if (!fromRefs(from->value, refs)) {
    error(from->value, "key 'from' of " + c.owner +
                           " expects a layer name or a list of layer "
                           "names, got " +
                           describe(from->value));
    ok = false;
  }
  count = refs.size();
  for (const YAML::Node &ref : refs) {
    std::string target;
    if (!resolveRef(ref, c.owner, c.scope, c.items, c.localIndex, c.index,
                    target)) {
      ok = false;
      continue;
    }
    inputs.push_back(target);
    locations.push_back(loc(ref));
  }
  return ok;
}

bool Loader::standAside(const MapView &view, const ItemContext &c,
                        const std::vector<std::string> &inputs,
                        std::string &target) {
  if (inputs.size() == 1) {
    target = inputs.front();
    return true;
  }
  error(view.find("enabled")->value,
        c.owner + " reads " + plural(inputs.size(), "input") +
            " and cannot be disabled; only a " +
            (c.item.isUse ? "use" : "layer") +
            " with one input can stand aside for it");
  return false;
}

void Loader::defineItem(const ItemContext &c, const std::string &target) {
  auto local = c.localIndex.find(c.localName);
  if (c.localName.empty() || local == c.localIndex.end() ||
      local->second != c.index)
    return;
  SourceLocation at = loc(c.item.nameNode);
  auto [prev, inserted] = definedAt.emplace(c.qualified(), at);
  if (!inserted && !sameLocation(prev->second, at))
    error(at,
          "duplicate layer name " + quote(c.qualified()) +
              " after block expansion",
          {{prev->second, "first defined here"}});
  else
    alias.emplace(c.qualified(), target);
}

//===----------------------------------------------------------------------===//
// A layer
//===----------------------------------------------------------------------===//

const OpSchema *Loader::readOp(const MapView &view, const ItemContext &c,
                               LayerSpec &layer) {
  const Entry *opEntry = view.find("op");
  if (!opEntry) {
    error(layer.location, c.owner + " is missing required key 'op'");
    return nullptr;
  }
  if (!isPlainScalar(opEntry->value)) {
    error(opEntry->value, "key 'op' of " + c.owner +
                              " expects an op name, got " +
                              describe(opEntry->value));
    return nullptr;
  }
  layer.op = opEntry->value.Scalar();
  layer.opLocation = loc(opEntry->value);
  const OpSchema *schema = lookupOp(layer.op);
  if (!schema)
    error(opEntry->value,
          withSuggestion("unknown op " + quote(layer.op) + " " + c.context,
                         layer.op, opNames()));
  return schema;
}

bool Loader::checkInputCount(const MapView &view, const ItemContext &c,
                             const OpSchema &schema, size_t count,
                             const LayerSpec &layer) {
  int n = static_cast<int>(count);
  if (n >= schema.minInputs && (schema.maxInputs < 0 || n <= schema.maxInputs))
    return true;
  std::string inputs = schema.minInputs == schema.maxInputs
                           ? std::to_string(schema.minInputs)
                           : std::to_string(schema.minInputs) + " or more";
  std::string takes = "op " + quote(layer.op) + " takes " + inputs + " input" +
                      (inputs == "1" ? "" : "s");
  if (const Entry *from = view.find("from"))
    error(from->value, takes + ", but " + c.owner + " names " +
                           std::to_string(n) + " in 'from'");
  else
    error(layer.location, takes + ", but " + c.owner +
                              " reads only the previous layer; name its "
                              "inputs in 'from'");
  return false;
}

/// FIELD's default value, at WHERE (a field whose default copies another
/// one is filled in by the caller).
static FieldValue defaultValue(const FieldSchema &f,
                               const SourceLocation &where) {
  FieldValue v;
  v.location = where;
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
  return v;
}

bool Loader::readLayerFields(const MapView &view, const ItemContext &c,
                             const OpSchema &schema, LayerSpec &layer) {
  bool ok = true;
  // Given fields first, then defaults (which may copy a given one, as
  // max_pool2d's stride copies kernel).
  for (const FieldSchema &f : schema.fields) {
    if (const Entry *e = view.find(f.name)) {
      FieldValue v;
      boundSizes = true;
      bool good = readField(e->value, f,
                            "field " + quote(f.name) + " of " + c.owner, v);
      boundSizes = false;
      if (good)
        layer.fields[f.name] = v;
      else
        ok = false;
    } else if (f.required) {
      error(layer.location, c.owner + " (" + layer.op +
                                ") is missing required field " + quote(f.name));
      ok = false;
    }
  }
  for (const FieldSchema &f : schema.fields) {
    if (f.required || view.find(f.name))
      continue;
    if (!f.defaultFrom) {
      layer.fields[f.name] = defaultValue(f, layer.location);
      continue;
    }
    auto it = layer.fields.find(f.defaultFrom);
    if (it == layer.fields.end())
      continue; // its own error is reported
    FieldValue v = it->second;
    v.location = layer.location;
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
              "field 'padding' of " + c.owner + " (" +
                  std::to_string(padding.intList[i]) +
                  ") must be at most half of field 'kernel' (" +
                  std::to_string(kernel.intList[i]) + ")");
        return false;
      }
    }
  }
  return ok;
}

std::string Loader::expandLayer(MapView &view, const ItemContext &c,
                                const std::string &previous, ModelSpec &spec) {
  LayerSpec layer;
  layer.location = c.location;
  bool ok = checkItemName(c.item.node, c.nameEntry, c.localName, c.owner,
                          c.scope, /*isUse=*/false);

  // The op decides which other keys are valid.
  const OpSchema *schema = readOp(view, c, layer);
  ok &= schema != nullptr;
  if (schema) {
    std::vector<std::string> allowed = {"name", "op", "from", "device",
                                        "enabled"};
    for (const std::string &f : schema->fieldNames())
      allowed.push_back(f);
    ok &= checkKeysOf(view, allowed, c.context);
  }

  // Inputs: `from`, else the previous item (or the list's default input).
  size_t inputCount = 1;
  bool fromOk =
      readFrom(view, c, previous, layer.from, layer.fromLocations, inputCount);
  if (schema && fromOk)
    fromOk = checkInputCount(view, c, *schema, inputCount, layer);
  ok &= fromOk;

  bool enabled = true;
  ok &= readPlacement(view, c.owner, c.scope, layer.device,
                      layer.deviceLocation, enabled);
  std::string target = c.qualified();
  if (!enabled && fromOk)
    ok &= standAside(view, c, layer.from, target);
  if (schema)
    ok &= readLayerFields(view, c, *schema, layer);

  defineItem(c, target);
  if (!ok || !enabled || !schema)
    return target;
  for (auto it = uses.rbegin(); it != uses.rend(); ++it)
    layer.expansionLocations.push_back(it->location);
  layer.name = c.qualified();
  spec.layers.push_back(std::move(layer));
  return target;
}

} // namespace detail
} // namespace rtml::spec
