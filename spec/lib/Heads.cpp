//===- Heads.cpp - The heads: section -------------------------------------===//
//
// The network's outputs and their loss weights; the main head first.
//
//===----------------------------------------------------------------------===//
#include "LoaderImpl.h"

namespace rtml::spec::detail {

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
    checkKeys(view, {"name", "from", "loss_weight", "main", "enabled"},
              "in " + owner);
    ok &= checkRequired(view, {"name", "from"}, head.location, owner);
    if (const Entry *e = view.find("enabled")) {
      bool enabled = true;
      if (!readEnabled(e->value, owner, enabled)) {
        ok = false;
      } else if (!enabled) {
        // A side head goes with the layers it reads (`enabled: $aux` on both).
        bool isMain = false;
        const Entry *m = view.find("main");
        if (m && isPlainScalar(m->value) &&
            parseBool(m->value.Scalar(), isMain) && isMain) {
          error(e->value, owner + " is the main head and cannot be disabled");
          ok = false;
        }
        continue;
      }
    }
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

} // namespace rtml::spec::detail
