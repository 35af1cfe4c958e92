//===- SettingsIO.cpp - The training settings at the trainer's edges ------===//
#include "rtml/Runtime/SettingsIO.h"
#include "rtml/Runtime/Trainer.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace rtml {

namespace {

std::string flagOf(const settings::SettingInfo &info) {
  return std::string("--") + info.flag;
}

int64_t parseInteger(const settings::SettingInfo &info,
                     const std::string &text) {
  errno = 0;
  char *end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE)
    throw UsageError(flagOf(info) + ": expected an integer, got '" + text +
                     "'");
  return v;
}

double parseReal(const settings::SettingInfo &info, const std::string &text) {
  errno = 0;
  char *end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v))
    throw UsageError(flagOf(info) + ": expected a number, got '" + text + "'");
  return v;
}

} // namespace

std::vector<SettingFlag> settingFlags(const TrainConfig &defaults) {
  std::vector<SettingFlag> flags;
  const std::vector<settings::SettingInfo> &table = settings::trainSettings();
  for (size_t i = 0; i < table.size(); ++i) {
    const settings::SettingInfo &info = table[i];
    if (!*info.flag)
      continue;
    settings::Value v = settings::get(defaults, i);
    if (info.kind == settings::Kind::Bool) {
      flags.push_back({info.flag, "",
                       std::string(info.help) +
                           (std::get<bool>(v) ? " (the spec's default)" : "")});
      continue;
    }
    const char *metavar = info.kind == settings::Kind::Int    ? "N"
                          : info.kind == settings::Kind::Enum ? "KIND"
                                                              : "X";
    flags.push_back({info.flag, metavar,
                     std::string(info.help) + " (default " +
                         settings::format(info, v) + ")"});
  }
  return flags;
}

void applySettingFlags(
    const std::function<std::optional<std::string>(const std::string &)> &value,
    TrainConfig &cfg) {
  const std::vector<settings::SettingInfo> &table = settings::trainSettings();
  for (size_t i = 0; i < table.size(); ++i) {
    const settings::SettingInfo &info = table[i];
    std::optional<std::string> text =
        *info.flag ? value(info.flag) : std::nullopt;
    if (!text)
      continue;
    settings::Value v;
    double number = 0;
    switch (info.kind) {
    case settings::Kind::Int:
      v = parseInteger(info, *text);
      number = double(std::get<int64_t>(v));
      break;
    case settings::Kind::Float:
      v = parseReal(info, *text);
      number = std::get<double>(v);
      break;
    case settings::Kind::Bool:
      v = true;
      break;
    case settings::Kind::Enum: {
      int64_t index = settings::enumIndex(*info.enumInfo, *text);
      if (index < 0)
        throw UsageError(flagOf(info) + ": expected " +
                         settings::enumChoices(*info.enumInfo) + ", got '" +
                         *text + "'");
      v = index;
      break;
    }
    }
    if (!settings::satisfies(info.constraint, number)) {
      // Integers say their bound: "--epochs: must be at least 1".
      std::string bound =
          info.kind != settings::Kind::Int ? settings::describe(info.constraint)
          : info.constraint == settings::Constraint::Positive ? "at least 1"
                                                              : "at least 0";
      throw UsageError(flagOf(info) + ": must be " + bound + ", got " + *text);
    }
    settings::set(cfg, i, v);
  }
}

std::string describeForFlags(const settings::Violation &v) {
  auto spelled = [](const settings::SettingInfo &info) {
    return *info.flag ? flagOf(info) : std::string(info.key);
  };
  std::string needed = std::string("a ") + settings::describe(v.needed) + " " +
                       spelled(*v.setting);
  if (!v.cause)
    return spelled(*v.setting) + " must be " + settings::describe(v.needed);
  std::string cause = spelled(*v.cause);
  if (v.cause->kind != settings::Kind::Bool)
    cause += " " + settings::format(*v.cause, v.causeValue);
  return cause + " needs " + needed;
}

void putSettings(const TrainConfig &cfg, FlatDict &flat) {
  const std::vector<settings::SettingInfo> &table = settings::trainSettings();
  for (size_t i = 0; i < table.size(); ++i) {
    const settings::SettingInfo &info = table[i];
    settings::Value v = settings::get(cfg, i);
    CheckpointValue entry;
    switch (info.kind) {
    case settings::Kind::Int:
      entry = CheckpointValue::of(std::get<int64_t>(v));
      break;
    case settings::Kind::Float:
      entry = CheckpointValue::of(std::get<double>(v));
      break;
    case settings::Kind::Bool:
      entry = CheckpointValue::of(int64_t(std::get<bool>(v)));
      break;
    case settings::Kind::Enum:
      entry = CheckpointValue::of(settings::format(info, v));
      break;
    }
    flat.emplace_back(std::string("config/") + info.key, entry);
  }
}

nlohmann::ordered_json settingsJson(const TrainConfig &cfg) {
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  const std::vector<settings::SettingInfo> &table = settings::trainSettings();
  for (size_t i = 0; i < table.size(); ++i) {
    const settings::SettingInfo &info = table[i];
    settings::Value v = settings::get(cfg, i);
    switch (info.kind) {
    case settings::Kind::Int:
      json[info.key] = std::get<int64_t>(v);
      break;
    case settings::Kind::Float:
      json[info.key] = std::get<double>(v);
      break;
    case settings::Kind::Bool:
      json[info.key] = std::get<bool>(v);
      break;
    case settings::Kind::Enum:
      json[info.key] = settings::format(info, v);
      break;
    }
  }
  return json;
}

} // namespace rtml
