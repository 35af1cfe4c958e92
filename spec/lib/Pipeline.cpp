//===- Pipeline.cpp - The train: and data: sections -----------------------===//
#include "LoaderImpl.h"

namespace rtml::spec::detail {

namespace {

std::string sizeString(const std::vector<int64_t> &hw) {
  return std::to_string(hw[0]) + "x" + std::to_string(hw[1]);
}

} // namespace

namespace {

FieldSchema fieldSchemaOf(const settings::SettingInfo &info) {
  FieldType type = FieldType::Int;
  switch (info.kind) {
  case settings::Kind::Int:
    type = FieldType::Int;
    break;
  case settings::Kind::Float:
    type = FieldType::Float;
    break;
  case settings::Kind::Bool:
    type = FieldType::Bool;
    break;
  case settings::Kind::Enum:
    type = FieldType::String;
    break;
  }
  Constraint c = info.constraint == settings::Constraint::Positive
                     ? Constraint::Positive
                 : info.constraint == settings::Constraint::NonNegative
                     ? Constraint::NonNegative
                     : Constraint::None;
  return {info.yamlKey, type, false, 0, nullptr, c};
}

std::vector<std::string> enumNames(const settings::EnumInfo &info) {
  return std::vector<std::string>(info.names, info.names + info.size);
}

/// "; supported: 'a', 'b'" when no name is close to WORD.
std::string unknownEnumMessage(const settings::EnumInfo &info,
                               const std::string &word) {
  std::vector<std::string> names = enumNames(info);
  std::string message =
      "unknown " + std::string(info.noun) + " " + quote(word) + " in 'train'";
  std::string suggested = withSuggestion(message, word, names);
  if (suggested != message)
    return suggested;
  std::string supported;
  for (const std::string &n : names)
    supported += (supported.empty() ? "" : ", ") + quote(n);
  return message + "; supported: " + supported;
}

/// Settings a schedule needs that have no usable default; t_max defaults to
/// the epochs (Loader::load), so only step's step_size.
bool isRequired(const settings::SettingInfo &info) {
  return !settings::satisfies(info.constraint, 0) &&
         std::string(info.key) != "t_max";
}

} // namespace

bool Loader::readSetting(const YAML::Node &node,
                         const settings::SettingInfo &info, size_t index,
                         TrainSpec &train) {
  std::string where = *info.section
                          ? "'train." + std::string(info.section) + "'"
                          : std::string("'train'");
  train.keyLocations[info.key] = loc(node);
  FieldValue v;
  if (!readField(node, fieldSchemaOf(info),
                 "field " + quote(info.yamlKey) + " of " + where, v))
    return false;
  switch (info.kind) {
  case settings::Kind::Int:
    settings::set(train, index, v.intValue);
    break;
  case settings::Kind::Float:
    settings::set(train, index, v.floatValue);
    break;
  case settings::Kind::Bool:
    settings::set(train, index, v.boolValue);
    break;
  case settings::Kind::Enum: {
    int64_t i = settings::enumIndex(*info.enumInfo, v.stringValue);
    if (i < 0) {
      error(v.location, unknownEnumMessage(*info.enumInfo, v.stringValue));
      return false;
    }
    settings::set(train, index, i);
    break;
  }
  }
  return true;
}

void Loader::readTrain(const YAML::Node &node, TrainSpec &train) {
  train.location = loc(node);
  if (!node.IsMap()) {
    error(node, "key 'train' expects a mapping, got " + describe(node));
    return;
  }
  const std::vector<settings::SettingInfo> &table = settings::trainSettings();
  MapView view = entriesOf(node, "in 'train'");
  std::vector<std::string> topKeys;
  for (const settings::SettingInfo &info : table)
    if (!*info.section)
      topKeys.push_back(info.yamlKey);
  checkKeys(view, topKeys, "in 'train'");
  for (size_t i = 0; i < table.size(); ++i) {
    const settings::SettingInfo &info = table[i];
    const Entry *e = *info.section ? nullptr : view.find(info.yamlKey);
    if (!e)
      continue;
    if (info.kind == settings::Kind::Enum &&
        info.enumInfo == &settings::kLrScheduleInfo)
      readSchedule(e->value, train);
    else
      readSetting(e->value, info, i, train);
  }

  // A schedule's own settings were checked as they were read; the rules
  // between settings are the table's.
  for (const settings::Violation &v : settings::check(train)) {
    if (!v.cause || v.setting->activeWith != settings::ActiveWith::Any)
      continue;
    auto at = train.keyLocations.find(v.cause->key);
    error(at != train.keyLocations.end() ? at->second : train.location,
          "'" + std::string(v.cause->yamlKey) + ": " +
              settings::format(*v.cause, v.causeValue) +
              "' in 'train' needs a " + settings::describe(v.needed) + " " +
              quote(v.setting->yamlKey));
  }
}

void Loader::readSchedule(const YAML::Node &s, TrainSpec &train) {
  const settings::EnumInfo &schedules = settings::kLrScheduleInfo;
  train.keyLocations["lr_schedule"] = loc(s);
  YAML::Node typeNode;
  MapView sview;
  std::string choices = settings::enumChoices(schedules);
  if (s.IsMap()) {
    sview = entriesOf(s, "in 'train.lr_schedule'");
    const Entry *t = sview.find("type");
    if (!t) {
      error(s, "'train.lr_schedule' is missing required key 'type' (" +
                   choices + ")");
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
    error(typeNode, "'train.lr_schedule' expects a schedule name (" + choices +
                        ") or a mapping with 'type', got " + describe(type));
    return;
  }
  const std::string &kind = type.Scalar();
  int64_t index = settings::enumIndex(schedules, kind);
  if (index < 0) {
    error(typeNode, unknownEnumMessage(schedules, kind));
    return;
  }
  train.lrSchedule = static_cast<LrSchedule>(index);
  settings::ActiveWith group = settings::scheduleGroup(train.lrSchedule);
  const std::vector<settings::SettingInfo> &table = settings::trainSettings();
  std::vector<std::string> allowed = {"type"}, required;
  for (const settings::SettingInfo &info : table) {
    if (group == settings::ActiveWith::Any || info.activeWith != group)
      continue;
    allowed.push_back(info.yamlKey);
    if (isRequired(info))
      required.push_back(info.yamlKey);
  }
  std::string owner = "'train.lr_schedule' of type " + quote(kind);
  if (!s.IsMap()) {
    for (const std::string &key : required)
      error(s, owner + " is missing required key " + quote(key) +
                   "; write {type: " + kind + ", " + key + ": N}");
    return;
  }
  checkKeys(sview, allowed, "in 'train.lr_schedule'");
  checkRequired(sview, required, loc(s), owner);
  for (size_t i = 0; i < table.size(); ++i)
    if (table[i].activeWith == group)
      if (const Entry *e = sview.find(table[i].yamlKey))
        readSetting(e->value, table[i], i, train);
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
    int64_t given = static_cast<int64_t>(lists[k].size());
    if (channels > 0 && given != channels) {
      error(e->value, field + " needs one value per input channel (" +
                          std::to_string(channels) + "), got " +
                          std::to_string(given));
      ok = false;
      continue;
    }
    if (channels <= 0 && given != 1 && given != 3) {
      error(e->value, field + " before 'grayscale' needs one value per "
                              "channel of the data set (1 or 3), got " +
                          std::to_string(given));
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
      "resize", "random_horizontal_flip", "random_resized_crop", "normalize",
      "grayscale"};
  std::string kindList;
  for (const std::string &k : kinds)
    kindList += (kindList.empty() ? "" : ", ") + k;
  if (!node.IsSequence()) {
    error(node, "'" + what + "' expects a list of transforms (" + kindList +
                    "), got " + describe(node));
    return false;
  }
  // The data set's channels are what the network takes unless a grayscale
  // step makes them so; before it, they are unknown (1 or 3).
  bool makesChannels = false;
  for (size_t i = 0; i < node.size(); ++i) {
    YAML::Node item = node[i];
    YAML::Node name = item.IsMap() && item.size() == 1 ? item.begin()->first
                                                       : item;
    makesChannels |= name.IsScalar() && name.Scalar() == "grayscale";
  }
  int64_t inputChannels = channels;
  if (makesChannels)
    channels = -1;
  const TransformSpec *lastGrayscale = nullptr;
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
                               ? "; supported: " + kindList
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
      channels = static_cast<int64_t>(t.mean.size());
    } else if (t.kind == "grayscale") {
      if (hasArg) {
        if (!arg.IsMap()) {
          error(arg, owner + " expects a mapping {num_output_channels}, got " +
                         describe(arg));
          ok = false;
          continue;
        }
        MapView av = entriesOf(arg, "in " + owner);
        checkKeys(av, {"num_output_channels"}, "in " + owner);
        if (const Entry *n = av.find("num_output_channels")) {
          if (!readField(n->value,
                         {"num_output_channels", FieldType::Int, false, 0,
                          nullptr, Constraint::Positive},
                         "field 'num_output_channels' of " + owner, v)) {
            ok = false;
            continue;
          }
          if (v.intValue != 1 && v.intValue != 3) {
            error(n->value, "field 'num_output_channels' of " + owner +
                                " must be 1 or 3, got " +
                                std::to_string(v.intValue));
            ok = false;
            continue;
          }
          t.numOutputChannels = v.intValue;
        }
      }
      if (channels > 0 && channels != 1 && channels != 3) {
        error(kindNode, "transform 'grayscale' in '" + what +
                            "' takes 1- or 3-channel images, got " +
                            std::to_string(channels));
        ok = false;
        continue;
      }
      channels = t.numOutputChannels;
    }
    out.push_back(t);
    if (t.kind == "grayscale")
      lastGrayscale = &out.back();
  }
  // What the last grayscale makes is what the network sees.
  if (ok && lastGrayscale && channels != inputChannels) {
    error(lastGrayscale->location,
          "'grayscale' makes " + std::to_string(channels) +
              "-channel images but 'input' has " +
              std::to_string(inputChannels) +
              " channels; set num_output_channels to match");
    ok = false;
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

  if (const Entry *e = view.find("split")) {
    data.keyLocations["split"] = loc(e->value);
    if (!e->value.IsMap()) {
      error(e->value, "field 'split' of 'data' expects a mapping {train, "
                      "val, seed}, got " +
                          describe(e->value));
      return;
    }
    MapView sv = entriesOf(e->value, "in 'data.split'");
    const std::vector<settings::SettingInfo> &table = settings::dataSettings();
    std::vector<std::string> keys;
    for (const settings::SettingInfo &info : table)
      keys.push_back(info.yamlKey);
    checkKeys(sv, keys, "in 'data.split'");
    checkRequired(sv, {"val"}, loc(e->value), "'data.split'");
    for (size_t i = 0; i < table.size(); ++i) {
      const Entry *fe = sv.find(table[i].yamlKey);
      if (!fe)
        continue;
      data.keyLocations[table[i].key] = loc(fe->value);
      if (readField(fe->value, fieldSchemaOf(table[i]),
                    "field " + quote(table[i].yamlKey) + " of 'data.split'", v))
        settings::set(data, i, v.intValue);
    }
  }
  (void)ok;
}

} // namespace rtml::spec::detail
