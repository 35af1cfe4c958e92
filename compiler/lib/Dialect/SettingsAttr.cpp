//===- SettingsAttr.cpp - rtml.train and rtml.data from the settings table ===//
#include "rtml/Dialect/SettingsAttr.h"
#include "rtml/Dialect/RtmlOps.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;

namespace rtml {

Attribute settingAttr(Builder &b, const settings::SettingInfo &info,
                      const settings::Value &value) {
  switch (info.kind) {
  case settings::Kind::Int:
    return b.getI64IntegerAttr(std::get<int64_t>(value));
  case settings::Kind::Float:
    return b.getF64FloatAttr(std::get<double>(value));
  case settings::Kind::Bool:
    return b.getBoolAttr(std::get<bool>(value));
  case settings::Kind::Enum:
    return b.getStringAttr(settings::format(info, value));
  }
  return {};
}

std::optional<settings::Value> settingValue(const settings::SettingInfo &info,
                                            Attribute attr,
                                            std::string &problem) {
  switch (info.kind) {
  case settings::Kind::Int: {
    auto i = dyn_cast<IntegerAttr>(attr);
    if (!i || !i.getType().isInteger(64)) {
      problem = "must be an i64";
      return std::nullopt;
    }
    return settings::Value(i.getInt());
  }
  case settings::Kind::Float: {
    auto f = dyn_cast<FloatAttr>(attr);
    if (!f || !f.getType().isF64()) {
      problem = "must be an f64";
      return std::nullopt;
    }
    return settings::Value(f.getValueAsDouble());
  }
  case settings::Kind::Bool: {
    auto v = dyn_cast<BoolAttr>(attr);
    if (!v) {
      problem = "must be a bool";
      return std::nullopt;
    }
    return settings::Value(v.getValue());
  }
  case settings::Kind::Enum: {
    auto s = dyn_cast<StringAttr>(attr);
    int64_t index = s ? settings::enumIndex(*info.enumInfo, s.str()) : -1;
    if (index < 0) {
      problem = "must be one of " + settings::enumChoices(*info.enumInfo);
      return std::nullopt;
    }
    return settings::Value(index);
  }
  }
  return std::nullopt;
}

DictionaryAttr trainAttr(Builder &b, const TrainSettings &s) {
  SmallVector<NamedAttribute> entries;
  for (auto [i, info] : llvm::enumerate(settings::trainSettings()))
    entries.push_back(
        b.getNamedAttr(info.key, settingAttr(b, info, settings::get(s, i))));
  return b.getDictionaryAttr(entries);
}

SmallVector<NamedAttribute> dataSettingsEntries(Builder &b,
                                                const DataSettings &s) {
  SmallVector<NamedAttribute> entries;
  for (auto [i, info] : llvm::enumerate(settings::dataSettings()))
    entries.push_back(
        b.getNamedAttr(info.key, settingAttr(b, info, settings::get(s, i))));
  return entries;
}

template <typename Settings>
static Settings settingsOf(DictionaryAttr dict,
                           const std::vector<settings::SettingInfo> &table) {
  Settings s;
  std::string problem;
  for (auto [i, info] : llvm::enumerate(table))
    if (Attribute a = dict ? dict.get(info.key) : Attribute())
      if (auto v = settingValue(info, a, problem))
        settings::set(s, i, *v);
  return s;
}

TrainSettings trainSettingsOf(DictionaryAttr train) {
  return settingsOf<TrainSettings>(train, settings::trainSettings());
}

DataSettings dataSettingsOf(DictionaryAttr data) {
  return settingsOf<DataSettings>(data, settings::dataSettings());
}

ArrayRef<TransformKind> transformKinds() {
  static const TransformKind kinds[] = {
      {"resize", "Resize"},
      {"random_horizontal_flip", "RandomHorizontalFlip"},
      {"random_resized_crop", "RandomResizedCrop"},
      {"normalize", "Normalize"},
      {"grayscale", "Grayscale"}};
  return kinds;
}

/// Checks DICT against TABLE: no unknown entry, each present one typed.
template <typename Settings>
static LogicalResult
verifySettings(Operation *op, StringRef attrName, DictionaryAttr dict,
               const std::vector<settings::SettingInfo> &table,
               llvm::ArrayRef<StringRef> otherEntries, Settings &out) {
  for (NamedAttribute entry : dict) {
    StringRef key = entry.getName().getValue();
    bool known = llvm::is_contained(otherEntries, key) ||
                 llvm::any_of(table, [&](const settings::SettingInfo &s) {
                   return key == s.key;
                 });
    if (!known)
      return op->emitOpError()
             << "unknown entry '" << key << "' in '" << attrName << "'";
  }
  for (auto [i, info] : llvm::enumerate(table)) {
    Attribute value = dict.get(info.key);
    if (!value)
      continue;
    std::string problem;
    std::optional<settings::Value> v = settingValue(info, value, problem);
    if (!v && info.kind == settings::Kind::Enum && isa<StringAttr>(value))
      return op->emitOpError()
             << "unknown " << info.key << " '"
             << cast<StringAttr>(value).getValue() << "' in '" << attrName
             << "' (" << settings::enumChoices(*info.enumInfo) << ")";
    if (!v)
      return op->emitOpError()
             << "'" << attrName << "' entry '" << info.key << "' " << problem;
    settings::set(out, i, *v);
  }
  return success();
}

/// Every setting of TABLE is in DICT: the emitter has no defaults.
static LogicalResult
verifyComplete(Operation *op, StringRef attrName, DictionaryAttr dict,
               const std::vector<settings::SettingInfo> &table) {
  for (const settings::SettingInfo &info : table)
    if (!dict.get(info.key))
      return op->emitOpError() << "'" << attrName << "' is missing entry '"
                               << info.key << "' (" << info.help << ")";
  return success();
}

LogicalResult verifyTrainAttr(Operation *op, DictionaryAttr train) {
  TrainSettings s;
  if (failed(verifySettings(op, kTrainAttr, train, settings::trainSettings(),
                            {}, s)))
    return failure();
  for (const settings::Violation &v : settings::check(s)) {
    InFlightDiagnostic diag =
        op->emitOpError() << "'" << kTrainAttr << "' entry '" << v.setting->key
                          << "' must be " << settings::describe(v.needed);
    if (v.cause)
      diag << " with " << v.cause->key << " = "
           << settings::format(*v.cause, v.causeValue);
    return diag;
  }
  return verifyComplete(op, kTrainAttr, train, settings::trainSettings());
}

namespace {
enum class EntryType {
  Size,
  Probability,
  Range,
  Floats,
  PositiveFloats,
  Channels
};
struct TransformEntry {
  StringRef kind;
  StringRef name;
  EntryType type;
};
} // namespace

/// The entries each transform kind carries, all required: the emitter
/// writes each into the runtime's TransformConfig.
static const TransformEntry kTransformEntries[] = {
    {"resize", "size", EntryType::Size},
    {"random_horizontal_flip", "p", EntryType::Probability},
    {"random_resized_crop", "size", EntryType::Size},
    {"random_resized_crop", "scale", EntryType::Range},
    {"random_resized_crop", "ratio", EntryType::Range},
    {"normalize", "mean", EntryType::Floats},
    {"normalize", "std", EntryType::PositiveFloats},
    {"grayscale", "num_output_channels", EntryType::Channels}};

static const char *checkTransformEntry(EntryType type, Attribute value) {
  switch (type) {
  case EntryType::Size: {
    auto a = dyn_cast<DenseI64ArrayAttr>(value);
    if (!a || a.size() != 2 ||
        llvm::any_of(a.asArrayRef(), [](int64_t v) { return v <= 0; }))
      return "must be array<i64> [h, w] of positive sizes";
    return nullptr;
  }
  case EntryType::Probability: {
    auto f = dyn_cast<FloatAttr>(value);
    if (!f || !f.getType().isF64() || f.getValueAsDouble() < 0 ||
        f.getValueAsDouble() > 1)
      return "must be an f64 in [0, 1]";
    return nullptr;
  }
  case EntryType::Range: {
    auto a = dyn_cast<DenseF64ArrayAttr>(value);
    if (!a || a.size() != 2 || a[0] <= 0 || a[0] > a[1])
      return "must be array<f64> [lo, hi] with 0 < lo <= hi";
    return nullptr;
  }
  case EntryType::Floats:
  case EntryType::PositiveFloats: {
    auto a = dyn_cast<DenseF64ArrayAttr>(value);
    if (!a || a.empty())
      return "must be a non-empty array<f64>";
    if (type == EntryType::PositiveFloats &&
        llvm::any_of(a.asArrayRef(), [](double v) { return v <= 0; }))
      return "must be positive";
    return nullptr;
  }
  case EntryType::Channels: {
    auto i = dyn_cast<IntegerAttr>(value);
    if (!i || !i.getType().isInteger(64) ||
        (i.getInt() != 1 && i.getInt() != 3))
      return "must be an i64, 1 or 3";
    return nullptr;
  }
  }
  return nullptr;
}

static LogicalResult verifyTransforms(Operation *op, StringRef listName,
                                      Attribute value) {
  auto fail = [&](size_t index) {
    return op->emitOpError() << "'" << kDataAttr << "' entry '" << listName
                             << "' transform #" << index + 1;
  };
  auto list = dyn_cast<ArrayAttr>(value);
  if (!list)
    return op->emitOpError() << "'" << kDataAttr << "' entry '" << listName
                             << "' must be an array of transforms";
  for (auto [index, item] : llvm::enumerate(list)) {
    auto dict = dyn_cast<DictionaryAttr>(item);
    auto kind = dict ? dict.getAs<StringAttr>("kind") : StringAttr();
    if (!kind)
      return fail(index) << " must be a dictionary with a 'kind'";
    if (!llvm::any_of(transformKinds(), [&](const TransformKind &k) {
          return k.name == kind.getValue();
        }))
      return fail(index) << " has unknown kind '" << kind.getValue() << "'";
    for (NamedAttribute entry : dict) {
      StringRef name = entry.getName().getValue();
      if (name != "kind" &&
          !llvm::any_of(kTransformEntries, [&](const TransformEntry &e) {
            return e.kind == kind.getValue() && e.name == name;
          }))
        return fail(index) << " ('" << kind.getValue()
                           << "') has unknown entry '" << name << "'";
    }
    for (const TransformEntry &e : kTransformEntries) {
      if (e.kind != kind.getValue())
        continue;
      Attribute v = dict.get(e.name);
      if (!v)
        return fail(index) << " ('" << kind.getValue()
                           << "') is missing entry '" << e.name << "'";
      if (const char *problem = checkTransformEntry(e.type, v))
        return fail(index) << " ('" << kind.getValue() << "') entry '" << e.name
                           << "' " << problem;
    }
    auto mean = dict.getAs<DenseF64ArrayAttr>("mean");
    auto std = dict.getAs<DenseF64ArrayAttr>("std");
    if (mean && std && mean.size() != std.size())
      return fail(index) << " ('normalize') needs 'mean' and 'std' of equal "
                            "length";
  }
  return success();
}

LogicalResult verifyDataAttr(Operation *op, DictionaryAttr data) {
  static const StringRef lists[] = {"train_transforms", "eval_transforms"};
  DataSettings s;
  if (failed(verifySettings(op, kDataAttr, data, settings::dataSettings(),
                            lists, s)))
    return failure();
  for (auto [i, info] : llvm::enumerate(settings::dataSettings()))
    if (data.get(info.key) &&
        !settings::satisfies(info.constraint,
                             std::get<int64_t>(settings::get(s, i))))
      return op->emitOpError()
             << "'" << kDataAttr << "' entry '" << info.key << "' must be "
             << settings::describe(info.constraint);
  for (StringRef list : lists)
    if (Attribute value = data.get(list))
      if (failed(verifyTransforms(op, list, value)))
        return failure();
  if (failed(verifyComplete(op, kDataAttr, data, settings::dataSettings())))
    return failure();
  for (StringRef list : lists)
    if (!data.get(list))
      return op->emitOpError() << "'" << kDataAttr << "' is missing entry '"
                               << list << "' (a list of transforms)";
  return success();
}

} // namespace rtml
