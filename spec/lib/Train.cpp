//===- Train.cpp - The train: section -------------------------------------===//
//
// Every training setting is read through the settings table
// (rtml/Support/TrainSettings.h): its type, default, constraint and names
// are declared there once; the learning-rate schedule is a name or a
// mapping of the schedule's own settings.
//
//===----------------------------------------------------------------------===//
#include "LoaderImpl.h"

namespace rtml::spec::detail {

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

namespace {

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

} // namespace rtml::spec::detail
