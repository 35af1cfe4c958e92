//===- TrainSettings.cpp - The settings table and its rules ---------------===//
#include "rtml/Support/TrainSettings.h"
#include "rtml/Support/EnumNames.h"

#include <cstring>
#include <sstream>

namespace rtml::settings {

#define RTML_SETTINGS_NAME(name, spelling) spelling,
#define RTML_SETTINGS_CPP_NAME(name, spelling) #name,
static const char *const kLrScheduleNames[] = {
    RTML_LR_SCHEDULES(RTML_SETTINGS_NAME)};
static const char *const kLrScheduleCppNames[] = {
    RTML_LR_SCHEDULES(RTML_SETTINGS_CPP_NAME)};
static const char *const kOptimizerNames[] = {
    RTML_OPTIMIZERS(RTML_SETTINGS_NAME)};
static const char *const kOptimizerCppNames[] = {
    RTML_OPTIMIZERS(RTML_SETTINGS_CPP_NAME)};
static const char *const kPrecisionNames[] = {
    RTML_PRECISIONS(RTML_SETTINGS_NAME)};
static const char *const kPrecisionCppNames[] = {
    RTML_PRECISIONS(RTML_SETTINGS_CPP_NAME)};
#undef RTML_SETTINGS_NAME
#undef RTML_SETTINGS_CPP_NAME

const EnumInfo kLrScheduleInfo = {"rtml::LrSchedule", "learning-rate schedule",
                                  kLrScheduleNames, kLrScheduleCppNames,
                                  std::size(kLrScheduleNames)};
const EnumInfo kOptimizerInfo = {"rtml::Optimizer", "optimizer",
                                 kOptimizerNames, kOptimizerCppNames,
                                 std::size(kOptimizerNames)};
const EnumInfo kPrecisionInfo = {"rtml::Precision", "precision",
                                 kPrecisionNames, kPrecisionCppNames,
                                 std::size(kPrecisionNames)};

namespace {

template <typename T> constexpr Kind kindOf() {
  if constexpr (std::is_same_v<T, bool>)
    return Kind::Bool;
  else if constexpr (std::is_enum_v<T>)
    return Kind::Enum;
  else if constexpr (std::is_floating_point_v<T>)
    return Kind::Float;
  else
    return Kind::Int;
}

template <typename T> const EnumInfo *enumInfoOf() {
  if constexpr (std::is_same_v<T, LrSchedule>)
    return &kLrScheduleInfo;
  else if constexpr (std::is_same_v<T, Optimizer>)
    return &kOptimizerInfo;
  else if constexpr (std::is_same_v<T, Precision>)
    return &kPrecisionInfo;
  else
    return nullptr;
}

template <typename T> Value toValue(const T &v) {
  if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, double>)
    return v;
  else
    return static_cast<int64_t>(v);
}

template <typename T> void fromValue(const Value &v, T &out) {
  if constexpr (std::is_same_v<T, bool>)
    out = std::get<bool>(v);
  else if constexpr (std::is_same_v<T, double>)
    out = std::get<double>(v);
  else
    out = static_cast<T>(std::get<int64_t>(v));
}

} // namespace

#define RTML_SETTINGS_INFO(member, type, dflt, key, section, constraint,       \
                           active, flag, help)                                 \
  {#member,                                                                    \
   key,                                                                        \
   section,                                                                    \
   key,                                                                        \
   kindOf<type>(),                                                             \
   enumInfoOf<type>(),                                                         \
   Constraint::constraint,                                                     \
   ActiveWith::active,                                                         \
   flag,                                                                       \
   help},

const std::vector<SettingInfo> &trainSettings() {
  static const std::vector<SettingInfo> table = {
      RTML_TRAIN_SETTINGS(RTML_SETTINGS_INFO)};
  return table;
}

const std::vector<SettingInfo> &dataSettings() {
  static std::vector<SettingInfo> table = [] {
    std::vector<SettingInfo> t = {RTML_DATA_SETTINGS(RTML_SETTINGS_INFO)};
    // In YAML the split's keys drop the "split_" of their IR key.
    for (SettingInfo &s : t)
      s.yamlKey += std::strlen("split_");
    return t;
  }();
  return table;
}
#undef RTML_SETTINGS_INFO

const SettingInfo *findTrainSetting(const std::string &key) {
  for (const SettingInfo &s : trainSettings())
    if (key == s.key)
      return &s;
  return nullptr;
}

#define RTML_SETTINGS_GET(member, ...)                                         \
  if (index == n++)                                                            \
    return toValue(s.member);
#define RTML_SETTINGS_SET(member, ...)                                         \
  if (index == n++)                                                            \
    return fromValue(v, s.member);

/// get and set of the settings struct TYPE, whose X-macro list is LIST.
#define RTML_SETTINGS_ACCESSORS(Type, LIST)                                    \
  Value get(const Type &s, size_t index) {                                     \
    size_t n = 0;                                                              \
    LIST(RTML_SETTINGS_GET)                                                    \
    return Value();                                                            \
  }                                                                            \
  void set(Type &s, size_t index, const Value &v) {                            \
    size_t n = 0;                                                              \
    LIST(RTML_SETTINGS_SET)                                                    \
  }

RTML_SETTINGS_ACCESSORS(TrainSettings, RTML_TRAIN_SETTINGS)
RTML_SETTINGS_ACCESSORS(DataSettings, RTML_DATA_SETTINGS)
#undef RTML_SETTINGS_ACCESSORS
#undef RTML_SETTINGS_GET
#undef RTML_SETTINGS_SET

bool satisfies(Constraint c, double value) {
  switch (c) {
  case Constraint::None:
    return true;
  case Constraint::Positive:
    return value > 0;
  case Constraint::NonNegative:
    return value >= 0;
  }
  return true;
}

const char *describe(Constraint c) {
  static constexpr const char *kNames[] = {"", "positive", "non-negative"};
  static_assert(std::size(kNames) == size_t(Constraint::NonNegative) + 1);
  return enumName(kNames, c, "");
}

std::string format(const SettingInfo &info, const Value &v) {
  switch (info.kind) {
  case Kind::Int:
    return std::to_string(std::get<int64_t>(v));
  case Kind::Float: {
    std::ostringstream os;
    os << std::get<double>(v);
    return os.str();
  }
  case Kind::Bool:
    return std::get<bool>(v) ? "true" : "false";
  case Kind::Enum: {
    int64_t i = std::get<int64_t>(v);
    return i >= 0 && size_t(i) < info.enumInfo->size ? info.enumInfo->names[i]
                                                     : std::to_string(i);
  }
  }
  return "";
}

int64_t enumIndex(const EnumInfo &info, const std::string &spelling) {
  for (size_t i = 0; i < info.size; ++i)
    if (spelling == info.names[i])
      return static_cast<int64_t>(i);
  return -1;
}

std::string enumChoices(const EnumInfo &info) {
  std::string s;
  for (size_t i = 0; i < info.size; ++i)
    s += std::string(i == 0               ? ""
                     : i + 1 == info.size ? " or "
                                          : ", ") +
         info.names[i];
  return s;
}

static double numeric(const Value &v) {
  if (auto *i = std::get_if<int64_t>(&v))
    return static_cast<double>(*i);
  if (auto *f = std::get_if<double>(&v))
    return *f;
  return 0;
}

std::vector<Violation> check(const TrainSettings &s) {
  const std::vector<SettingInfo> &table = trainSettings();
  const SettingInfo *schedule = findTrainSetting("lr_schedule");
  const SettingInfo *nesterov = findTrainSetting("nesterov");
  ActiveWith active = scheduleGroup(s.lrSchedule);
  std::vector<Violation> out;
  for (size_t i = 0; i < table.size(); ++i) {
    const SettingInfo &info = table[i];
    if (info.activeWith != ActiveWith::Any && info.activeWith != active)
      continue;
    if (satisfies(info.constraint, numeric(get(s, i))))
      continue;
    if (info.activeWith == ActiveWith::Any)
      out.push_back({&info, nullptr, Value(), info.constraint});
    else
      out.push_back({&info, schedule, toValue(s.lrSchedule), info.constraint});
  }
  if (s.nesterov && !(s.momentum > 0))
    out.push_back({findTrainSetting("momentum"), nesterov, Value(true),
                   Constraint::Positive});
  return out;
}

} // namespace rtml::settings
