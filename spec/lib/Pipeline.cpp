//===- Pipeline.cpp - The train: and data: sections -----------------------===//
#include "LoaderImpl.h"

namespace rtml::spec::detail {

namespace {

std::string sizeString(const std::vector<int64_t> &hw) {
  return std::to_string(hw[0]) + "x" + std::to_string(hw[1]);
}

} // namespace

void Loader::readTrain(const YAML::Node &node, TrainSpec &train) {
  train.location = loc(node);
  if (!node.IsMap()) {
    error(node, "key 'train' expects a mapping, got " + describe(node));
    return;
  }
  MapView view = entriesOf(node, "in 'train'");
  checkKeys(view,
            {"epochs", "batch_size", "optimizer", "lr", "momentum",
             "weight_decay", "nesterov", "lr_schedule", "seed"},
            "in 'train'");
  using FT = FieldType;
  using C = Constraint;
  auto readIn = [&](const MapView &v, const std::string &section,
                    const char *key, FieldType type, Constraint c,
                    FieldValue &out) {
    const Entry *e = v.find(key);
    if (!e)
      return false;
    train.keyLocations[section.empty() ? std::string(key)
                                       : section + "." + key] = loc(e->value);
    FieldSchema schema{key, type, false, 0, nullptr, c};
    std::string where = section.empty() ? "'train'" : "'train." + section + "'";
    return readField(e->value, schema, "field " + quote(key) + " of " + where,
                     out);
  };
  auto read = [&](const char *key, FieldType type, Constraint c,
                  FieldValue &out) {
    return readIn(view, "", key, type, c, out);
  };
  FieldValue v;
  if (read("epochs", FT::Int, C::Positive, v))
    train.epochs = v.intValue;
  if (read("batch_size", FT::Int, C::Positive, v))
    train.batchSize = v.intValue;
  if (read("lr", FT::Float, C::Positive, v))
    train.learningRate = v.floatValue;
  if (read("momentum", FT::Float, C::NonNegative, v))
    train.momentum = v.floatValue;
  if (read("weight_decay", FT::Float, C::NonNegative, v))
    train.weightDecay = v.floatValue;
  if (read("seed", FT::Int, C::NonNegative, v))
    train.seed = v.intValue;
  if (read("nesterov", FT::Bool, C::None, v)) {
    train.nesterov = v.boolValue;
    if (train.nesterov && train.momentum <= 0)
      error(v.location, "'nesterov: true' in 'train' needs a positive "
                        "'momentum'");
  }
  if (read("optimizer", FT::String, C::None, v)) {
    static const std::vector<std::string> optimizers = {"sgd"};
    if (v.stringValue == "sgd") {
      train.optimizer = v.stringValue;
    } else {
      std::string message =
          "unknown optimizer " + quote(v.stringValue) + " in 'train'";
      std::string suggested =
          withSuggestion(message, v.stringValue, optimizers);
      error(v.location,
            suggested == message ? message + "; supported: 'sgd'" : suggested);
    }
  }

  const Entry *schedule = view.find("lr_schedule");
  if (!schedule)
    return;
  static const std::vector<std::string> kinds = {"constant", "step", "cosine"};
  train.keyLocations["lr_schedule"] = loc(schedule->value);
  YAML::Node typeNode;
  MapView sview;
  const YAML::Node &s = schedule->value;
  if (s.IsMap()) {
    sview = entriesOf(s, "in 'train.lr_schedule'");
    const Entry *t = sview.find("type");
    if (!t) {
      error(s, "'train.lr_schedule' is missing required key 'type' "
               "(constant, step or cosine)");
      return;
    }
    typeNode.reset(t->value);
  } else {
    typeNode.reset(s);
  }
  YAML::Node type;
  if (!resolve(typeNode, type))
    return;
  if (!isPlainScalar(type) || type.Scalar().empty()) {
    error(typeNode, "'train.lr_schedule' expects constant, step, cosine or a "
                    "mapping with 'type', got " +
                        describe(type));
    return;
  }
  const std::string &kind = type.Scalar();
  std::vector<std::string> allowed = {"type"};
  if (kind == "step")
    allowed = {"type", "step_size", "gamma"};
  else if (kind == "cosine")
    allowed = {"type", "eta_min", "t_max"};
  else if (kind != "constant") {
    error(typeNode, withSuggestion("unknown learning-rate schedule " +
                                       quote(kind) + " in 'train'",
                                   kind, kinds) +
                        (closestMatch(kind, kinds).empty()
                             ? "; supported: 'constant', 'step', 'cosine'"
                             : ""));
    return;
  }
  train.lrSchedule = kind;
  if (!s.IsMap()) {
    if (kind == "step")
      error(s, "'train.lr_schedule' of type 'step' is missing required key "
               "'step_size'; write {type: step, step_size: N}");
    return;
  }
  checkKeys(sview, allowed, "in 'train.lr_schedule'");
  if (kind == "step") {
    checkRequired(sview, {"step_size"}, loc(s),
                  "'train.lr_schedule' of type 'step'");
    if (readIn(sview, "lr_schedule", "step_size", FT::Int, C::Positive, v))
      train.stepSize = v.intValue;
    if (readIn(sview, "lr_schedule", "gamma", FT::Float, C::Positive, v))
      train.gamma = v.floatValue;
  } else if (kind == "cosine") {
    if (readIn(sview, "lr_schedule", "eta_min", FT::Float, C::NonNegative, v))
      train.etaMin = v.floatValue;
    if (readIn(sview, "lr_schedule", "t_max", FT::Int, C::Positive, v))
      train.tMax = v.intValue;
  }
}

bool Loader::readNormalize(const YAML::Node &node, const std::string &section,
                           int64_t channels, TransformSpec &out) {
  if (!node.IsMap()) {
    std::string parent = section.substr(0, section.rfind('.'));
    error(node, "field 'normalize' of '" + parent +
                    "' expects a mapping {mean, std}, got " + describe(node));
    return false;
  }
  MapView nview = entriesOf(node, "in '" + section + "'");
  checkKeys(nview, {"mean", "std"}, "in '" + section + "'");
  bool ok =
      checkRequired(nview, {"mean", "std"}, loc(node), "'" + section + "'");
  std::vector<double> lists[2];
  const char *keys[2] = {"mean", "std"};
  for (int k = 0; k < 2; ++k) {
    const Entry *e = nview.find(keys[k]);
    if (!e)
      continue;
    std::string field =
        std::string("field '") + keys[k] + "' of '" + section + "'";
    if (!readNumberList(e->value, field, lists[k])) {
      ok = false;
      continue;
    }
    if (static_cast<int64_t>(lists[k].size()) != channels) {
      error(e->value, field + " needs one value per input channel (" +
                          std::to_string(channels) + "), got " +
                          std::to_string(lists[k].size()));
      ok = false;
      continue;
    }
    if (k == 1) {
      for (double s : lists[k]) {
        if (s <= 0) {
          error(e->value,
                field + " values must be positive, got " + formatNumber(s));
          ok = false;
          break;
        }
      }
    }
  }
  out.kind = "normalize";
  out.location = loc(node);
  out.mean = lists[0];
  out.std = lists[1];
  return ok;
}

bool Loader::readTransforms(const YAML::Node &node, const std::string &what,
                            bool training, int64_t channels,
                            std::vector<TransformSpec> &out) {
  static const std::vector<std::string> kinds = {
      "resize", "random_horizontal_flip", "random_resized_crop", "normalize"};
  if (!node.IsSequence()) {
    error(node, "'" + what +
                    "' expects a list of transforms (resize, "
                    "random_horizontal_flip, random_resized_crop, normalize), "
                    "got " +
                    describe(node));
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < node.size(); ++i) {
    YAML::Node item = node[i];
    YAML::Node kindNode, arg;
    if (isPlainScalar(item)) {
      kindNode.reset(item);
    } else if (item.IsMap() && item.size() == 1 &&
               item.begin()->first.IsScalar()) {
      kindNode.reset(item.begin()->first);
      arg.reset(item.begin()->second);
    } else {
      error(item, "transform #" + std::to_string(i + 1) + " of '" + what +
                      "' expects a transform name or '{name: arguments}', "
                      "got " +
                      describe(item));
      ok = false;
      continue;
    }
    TransformSpec t;
    t.kind = kindNode.Scalar();
    t.location = loc(kindNode);
    std::string owner = "'" + what + "." + t.kind + "'";
    bool known = false;
    for (const std::string &k : kinds)
      known |= k == t.kind;
    if (!known) {
      error(kindNode, withSuggestion("unknown transform " + quote(t.kind) +
                                         " in '" + what + "'",
                                     t.kind, kinds) +
                          (closestMatch(t.kind, kinds).empty()
                               ? "; supported: 'resize', "
                                 "'random_horizontal_flip', "
                                 "'random_resized_crop', 'normalize'"
                               : ""));
      ok = false;
      continue;
    }
    if (!training && t.kind.rfind("random_", 0) == 0) {
      error(kindNode, "transform " + quote(t.kind) + " in '" + what +
                          "' is random; evaluation transforms must be "
                          "deterministic");
      ok = false;
      continue;
    }
    bool hasArg = arg && !arg.IsNull();
    FieldSchema pair{"size", FieldType::Pair, true,
                     0,      nullptr,         Constraint::Positive};
    FieldValue v;
    if (t.kind == "resize") {
      if (!hasArg) {
        error(kindNode, "transform 'resize' in '" + what +
                            "' needs a size: {resize: 224} or {resize: "
                            "[h, w]}");
        ok = false;
        continue;
      }
      if (!readField(arg, pair, "the size of " + owner, v)) {
        ok = false;
        continue;
      }
      t.size = v.intList;
    } else if (t.kind == "random_horizontal_flip") {
      if (hasArg) {
        if (!arg.IsMap()) {
          error(arg, owner + " expects a mapping {p}, got " + describe(arg));
          ok = false;
          continue;
        }
        MapView av = entriesOf(arg, "in " + owner);
        checkKeys(av, {"p"}, "in " + owner);
        if (const Entry *p = av.find("p")) {
          if (!readField(p->value,
                         {"p", FieldType::Float, false, 0, nullptr,
                          Constraint::ClosedUnitInterval},
                         "field 'p' of " + owner, v)) {
            ok = false;
            continue;
          }
          t.p = v.floatValue;
        }
      }
    } else if (t.kind == "random_resized_crop") {
      if (!hasArg) {
        error(kindNode, "transform 'random_resized_crop' in '" + what +
                            "' needs a size: {random_resized_crop: 224} or "
                            "{random_resized_crop: {size: 224, scale: "
                            "[0.08, 1.0], ratio: [0.75, 1.333]}}");
        ok = false;
        continue;
      }
      if (!arg.IsMap()) {
        if (!readField(arg, pair, "the size of " + owner, v)) {
          ok = false;
          continue;
        }
        t.size = v.intList;
      } else {
        MapView av = entriesOf(arg, "in " + owner);
        checkKeys(av, {"size", "scale", "ratio"}, "in " + owner);
        if (!checkRequired(av, {"size"}, loc(arg), owner)) {
          ok = false;
          continue;
        }
        if (readField(av.find("size")->value, pair, "field 'size' of " + owner,
                      v))
          t.size = v.intList;
        else
          ok = false;
        const char *names[2] = {"scale", "ratio"};
        std::vector<double> *targets[2] = {&t.scale, &t.ratio};
        for (int k = 0; k < 2; ++k) {
          const Entry *e = av.find(names[k]);
          if (!e)
            continue;
          std::string field =
              std::string("field '") + names[k] + "' of " + owner;
          std::vector<double> range;
          if (!readNumberList(e->value, field, range)) {
            ok = false;
            continue;
          }
          if (range.size() != 2 || range[0] <= 0 || range[0] > range[1] ||
              (k == 0 && range[1] > 1)) {
            error(e->value, field + (k == 0 ? " expects [lo, hi] with 0 < lo "
                                              "<= hi <= 1"
                                            : " expects [lo, hi] with 0 < lo "
                                              "<= hi"));
            ok = false;
            continue;
          }
          *targets[k] = range;
        }
      }
    } else if (t.kind == "normalize") {
      if (!hasArg) {
        error(kindNode, "transform 'normalize' in '" + what +
                            "' needs {mean: [...], std: [...]}");
        ok = false;
        continue;
      }
      TransformSpec n;
      if (!readNormalize(arg, what + ".normalize", channels, n)) {
        ok = false;
        continue;
      }
      t.mean = n.mean;
      t.std = n.std;
    }
    out.push_back(t);
  }
  return ok;
}

void Loader::readData(const YAML::Node &node, ModelSpec &spec) {
  DataSpec &data = spec.data;
  int64_t channels = spec.input.channels;
  data.location = loc(node);
  if (!node.IsMap()) {
    error(node, "key 'data' expects a mapping, got " + describe(node));
    return;
  }
  MapView view = entriesOf(node, "in 'data'");
  checkKeys(view,
            {"resize", "random_horizontal_flip", "normalize", "train", "eval",
             "split"},
            "in 'data'");

  // The shorthand keys describe both pipelines; `train:` / `eval:` replace
  // them.
  const Entry *trainList = view.find("train");
  const Entry *evalList = view.find("eval");
  bool ok = true;
  if (trainList || evalList) {
    for (const char *key : {"resize", "random_horizontal_flip", "normalize"}) {
      if (const Entry *e = view.find(key)) {
        error(e->keyNode,
              "key " + quote(key) +
                  " in 'data' is shorthand for both pipelines; with "
                  "'data.train' or 'data.eval' given, put it in their lists");
        ok = false;
      }
    }
  }
  std::vector<TransformSpec> shorthandTrain, shorthandEval;
  FieldValue v;
  if (const Entry *e = view.find("resize")) {
    data.keyLocations["resize"] = loc(e->value);
    if (readField(e->value,
                  {"resize", FieldType::Pair, false, 0, nullptr,
                   Constraint::Positive},
                  "field 'resize' of 'data'", v)) {
      TransformSpec t;
      t.kind = "resize";
      t.size = v.intList;
      t.location = loc(e->keyNode);
      shorthandTrain.push_back(t);
      shorthandEval.push_back(t);
    }
  }
  if (const Entry *e = view.find("random_horizontal_flip")) {
    data.keyLocations["random_horizontal_flip"] = loc(e->value);
    if (readField(e->value,
                  {"random_horizontal_flip", FieldType::Bool, false, 0, nullptr,
                   Constraint::None},
                  "field 'random_horizontal_flip' of 'data'", v) &&
        v.boolValue) {
      TransformSpec t;
      t.kind = "random_horizontal_flip";
      t.location = loc(e->keyNode);
      shorthandTrain.push_back(t);
    }
  }
  if (const Entry *e = view.find("normalize")) {
    data.keyLocations["normalize"] = loc(e->value);
    if (const YAML::Node &n = e->value; n.IsMap()) {
      for (auto it = n.begin(); it != n.end(); ++it)
        if (it->first.IsScalar() &&
            (it->first.Scalar() == "mean" || it->first.Scalar() == "std"))
          data.keyLocations["normalize." + it->first.Scalar()] =
              loc(it->second);
    }
    TransformSpec t;
    if (readNormalize(e->value, "data.normalize", channels, t)) {
      shorthandTrain.push_back(t);
      shorthandEval.push_back(t);
    }
  }
  data.trainTransforms = shorthandTrain;
  data.evalTransforms = shorthandEval;
  if (trainList) {
    data.trainTransforms.clear();
    ok &= readTransforms(trainList->value, "data.train", true, channels,
                         data.trainTransforms);
  }
  if (evalList) {
    data.evalTransforms.clear();
    ok &= readTransforms(evalList->value, "data.eval", false, channels,
                         data.evalTransforms);
  }

  // The images a pipeline ends with are what the network sees.
  std::vector<int64_t> inputSize = {spec.input.height, spec.input.width};
  for (const auto *pipeline : {&data.trainTransforms, &data.evalTransforms}) {
    const TransformSpec *last = nullptr;
    for (const TransformSpec &t : *pipeline)
      if (!t.size.empty())
        last = &t;
    if (last && spec.input.height > 0 && spec.input.width > 0 &&
        last->size != inputSize) {
      error(last->location,
            quote(last->kind) + " makes " + sizeString(last->size) +
                " images but 'input' is " + sizeString(inputSize) +
                " (height x width); the network sees what the pipeline "
                "makes");
      ok = false;
    }
  }

  // The pre-pipeline fields describe the training pipeline.
  for (const TransformSpec &t : data.trainTransforms) {
    if (t.kind == "resize")
      data.resize = t.size[0] == t.size[1] ? t.size[0] : 0;
    else if (t.kind == "random_horizontal_flip")
      data.randomHorizontalFlip = t.p > 0;
    else if (t.kind == "normalize") {
      data.mean = t.mean;
      data.std = t.std;
    }
  }

  if (const Entry *e = view.find("split")) {
    data.keyLocations["split"] = loc(e->value);
    if (!e->value.IsMap()) {
      error(e->value, "field 'split' of 'data' expects a mapping {train, "
                      "val, seed}, got " +
                          describe(e->value));
      return;
    }
    MapView sv = entriesOf(e->value, "in 'data.split'");
    checkKeys(sv, {"train", "val", "seed"}, "in 'data.split'");
    checkRequired(sv, {"val"}, loc(e->value), "'data.split'");
    struct {
      const char *key;
      Constraint c;
      int64_t *target;
    } fields[] = {{"train", Constraint::Positive, &data.splitTrain},
                  {"val", Constraint::NonNegative, &data.splitVal},
                  {"seed", Constraint::NonNegative, &data.splitSeed}};
    for (auto &f : fields) {
      const Entry *fe = sv.find(f.key);
      if (!fe)
        continue;
      data.keyLocations[std::string("split.") + f.key] = loc(fe->value);
      if (readField(fe->value, {f.key, FieldType::Int, false, 0, nullptr, f.c},
                    std::string("field '") + f.key + "' of 'data.split'", v))
        *f.target = v.intValue;
    }
  }
  (void)ok;
}

} // namespace rtml::spec::detail
