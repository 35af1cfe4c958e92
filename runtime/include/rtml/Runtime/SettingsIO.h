//===- SettingsIO.h - The training settings at the trainer's edges --------===//
//
// The trainer's flags, the checkpoint's config/ entries and summary.json's
// settings, each generated from the settings table
// (rtml/Support/TrainSettings.h): a new setting needs no edit here.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_SETTINGSIO_H
#define RTML_RUNTIME_SETTINGSIO_H

#include "rtml/Runtime/Model.h"
#include "rtml/Runtime/Serialization.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace rtml {

/// A trainer flag that sets a training setting.
struct SettingFlag {
  std::string name;    ///< without the leading "--"
  std::string metavar; ///< empty: a switch
  std::string help;    ///< with the model's default
};
/// The flags of the training settings, in table order; help texts show the
/// values in DEFAULTS (the spec's).
std::vector<SettingFlag> settingFlags(const TrainConfig &defaults);

/// Sets each setting whose flag VALUE reports (the text after --flag; "" for
/// a switch; nullopt: not given). Throws UsageError for a malformed or
/// out-of-range value, naming the flag.
void applySettingFlags(
    const std::function<std::optional<std::string>(const std::string &)> &value,
    TrainConfig &cfg);

/// "--nesterov needs a positive --momentum": a broken rule in the trainer's
/// terms.
std::string describeForFlags(const settings::Violation &v);

/// The checkpoint's entries for CFG: "config/<key>" for every setting, an
/// enumeration by its name.
void putSettings(const TrainConfig &cfg, FlatDict &flat);

/// CFG from those entries. READER has has(key), integer(key), real(key)
/// and text(key), each throwing (naming the file) for a missing entry. A
/// setting compiled into the trainer (no trainer flag, such as precision)
/// that a checkpoint written before it existed lacks keeps CFG's value
/// (a resumed run takes the trainer's precision in any case).
template <typename Reader>
void readSettings(const Reader &reader, const std::string &file,
                  TrainConfig &cfg) {
  const std::vector<settings::SettingInfo> &table = settings::trainSettings();
  for (size_t i = 0; i < table.size(); ++i) {
    const settings::SettingInfo &info = table[i];
    std::string key = std::string("config/") + info.key;
    if (!*info.flag && !reader.has(key))
      continue;
    switch (info.kind) {
    case settings::Kind::Int:
      settings::set(cfg, i, reader.integer(key));
      break;
    case settings::Kind::Float:
      settings::set(cfg, i, reader.real(key));
      break;
    case settings::Kind::Bool:
      settings::set(cfg, i, reader.integer(key) != 0);
      break;
    case settings::Kind::Enum: {
      int64_t index = settings::enumIndex(*info.enumInfo, reader.text(key));
      if (index < 0)
        throw std::runtime_error(file + ": checkpoint entry '" + key +
                                 "' is not one of " +
                                 settings::enumChoices(*info.enumInfo));
      settings::set(cfg, i, index);
      break;
    }
    }
  }
}

/// summary.json's members for CFG: "key": value per setting, in table
/// order; an enumeration by its name.
nlohmann::ordered_json settingsJson(const TrainConfig &cfg);

} // namespace rtml

#endif // RTML_RUNTIME_SETTINGSIO_H
