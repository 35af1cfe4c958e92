//===- SettingsTest.cpp - The settings table, and each setting's round trip
//===//
//
// Every setting of rtml/Support/TrainSettings.h, given a value other than
// its default in YAML, reaches the spec, the rtml.train / rtml.data
// attributes and the emitted model.cpp unchanged. The values are generated
// from the table, so a new setting is covered without editing this test.
//
//===----------------------------------------------------------------------===//
#include "SpecTestUtil.h"

#include "rtml/Dialect/RtmlOps.h"
#include "rtml/Dialect/SettingsAttr.h"
#include "rtml/Import/SpecImporter.h"
#include "rtml/Target/CppEmitter.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <cstdio>

using namespace rtml;
using namespace rtml::spec::testing;

namespace {

const std::string kModel = "name: m\n"
                           "input: {channels: 3, height: 8, width: 8}\n"
                           "classes: 2\n"
                           "layers:\n"
                           "  - {name: flat, op: flatten}\n"
                           "  - {name: fc, op: linear, out_features: 2}\n";

/// A value of INFO other than DEFAULTVALUE, exactly representable in YAML.
settings::Value otherValue(const settings::SettingInfo &info, size_t index,
                           const settings::Value &defaultValue) {
  switch (info.kind) {
  case settings::Kind::Int:
    return std::get<int64_t>(defaultValue) + 3 + int64_t(index);
  case settings::Kind::Float:
    return std::get<double>(defaultValue) == 0.125 * double(index % 7 + 1)
               ? 4.0
               : 0.125 * double(index % 7 + 1);
  case settings::Kind::Bool:
    return !std::get<bool>(defaultValue);
  case settings::Kind::Enum:
    return int64_t(info.enumInfo->size - 1);
  }
  return defaultValue;
}

/// The C++ spelling of V, as the emitter writes it.
std::string cppOf(const settings::SettingInfo &info, const settings::Value &v) {
  if (info.kind == settings::Kind::Enum)
    return std::string(info.enumInfo->cppType) +
           "::" + info.enumInfo->cppNames[std::get<int64_t>(v)];
  if (info.kind == settings::Kind::Float) { // round-trip precision
    char text[32];
    std::snprintf(text, sizeof text, "%.17g", std::get<double>(v));
    return text;
  }
  return settings::format(info, v);
}

/// `train:` with every setting of SCHEDULE's group and the common ones set
/// to other values, and those values.
std::string trainYaml(LrSchedule schedule, TrainSettings &expected) {
  const auto &table = settings::trainSettings();
  settings::ActiveWith group = settings::scheduleGroup(schedule);
  TrainSettings defaults;
  std::string top, nested;
  for (size_t i = 0; i < table.size(); ++i) {
    const settings::SettingInfo &info = table[i];
    if (info.activeWith != settings::ActiveWith::Any &&
        info.activeWith != group)
      continue;
    settings::Value v = otherValue(info, i, settings::get(defaults, i));
    if (std::string(info.key) == "lr_schedule")
      v = int64_t(schedule);
    settings::set(expected, i, v);
    if (std::string(info.key) == "lr_schedule")
      continue;
    (*info.section ? nested : top) +=
        std::string(*info.section ? ", " : "  ") + info.yamlKey + ": " +
        settings::format(info, v) + (*info.section ? "" : "\n");
  }
  if (expected.lrTMax == 0) // the loader's default for t_max
    expected.lrTMax = expected.epochs;
  return "train:\n" + top + "  lr_schedule: {type: " +
         settings::kLrScheduleInfo.names[int(schedule)] + nested + "}\n";
}

std::string dataYaml(DataSettings &expected) {
  const auto &table = settings::dataSettings();
  DataSettings defaults;
  std::string split;
  for (size_t i = 0; i < table.size(); ++i) {
    settings::Value v = otherValue(table[i], i, settings::get(defaults, i));
    settings::set(expected, i, v);
    split += std::string(split.empty() ? "" : ", ") + table[i].yamlKey + ": " +
             settings::format(table[i], v);
  }
  return "data:\n  split: {" + split +
         "}\n  eval: [{grayscale: {num_output_channels: 3}}]\n";
}

struct Emitted {
  TrainSettings train;
  DataSettings data;
  std::string cpp;
};

Emitted importAndEmit(const spec::ModelSpec &spec) {
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module = importModelSpec(spec, context);
  EXPECT_TRUE(module);
  Emitted out;
  if (!module)
    return out;
  out.train = trainSettingsOf(
      (*module)->getAttrOfType<mlir::DictionaryAttr>(kTrainAttr));
  out.data =
      dataSettingsOf((*module)->getAttrOfType<mlir::DictionaryAttr>(kDataAttr));
  llvm::raw_string_ostream os(out.cpp);
  EXPECT_TRUE(mlir::succeeded(emitModelCpp(*module, os)));
  return out;
}

TEST(Settings, EveryTrainSettingReachesTheIrAndTheEmittedCode) {
  for (LrSchedule schedule : {LrSchedule::Step, LrSchedule::Cosine}) {
    TrainSettings expected;
    std::string yaml = trainYaml(schedule, expected);
    Result r = load(kModel + yaml);
    ASSERT_TRUE(r.spec) << yaml << r.printed;
    Emitted emitted = importAndEmit(*r.spec);
    const auto &table = settings::trainSettings();
    for (size_t i = 0; i < table.size(); ++i) {
      const settings::SettingInfo &info = table[i];
      settings::Value want = settings::get(expected, i);
      EXPECT_EQ(settings::get(r.spec->train, i), want) << info.key << yaml;
      EXPECT_EQ(settings::get(emitted.train, i), want) << info.key;
      std::string line = std::string("info_.train.") + info.member + " = " +
                         cppOf(info, want) + ";";
      EXPECT_NE(emitted.cpp.find(line), std::string::npos) << line;
    }
  }
}

TEST(Settings, EveryDataSettingAndGrayscaleReachTheEmittedCode) {
  DataSettings expected;
  std::string yaml = dataYaml(expected);
  Result r = load(kModel + yaml);
  ASSERT_TRUE(r.spec) << yaml << r.printed;
  Emitted emitted = importAndEmit(*r.spec);
  const auto &table = settings::dataSettings();
  for (size_t i = 0; i < table.size(); ++i) {
    settings::Value want = settings::get(expected, i);
    EXPECT_EQ(settings::get(r.spec->data, i), want) << table[i].key;
    EXPECT_EQ(settings::get(emitted.data, i), want) << table[i].key;
    std::string line = std::string("info_.data.") + table[i].member + " = " +
                       cppOf(table[i], want) + ";";
    EXPECT_NE(emitted.cpp.find(line), std::string::npos) << line;
  }
  EXPECT_NE(
      emitted.cpp.find("t.kind = rtml::TransformConfig::Kind::Grayscale;\n"
                       "      t.numOutputChannels = 3;"),
      std::string::npos)
      << emitted.cpp;
}

TEST(Settings, DefaultsOfTheTableAreTheStructsDefaults) {
  // The loader fills nothing itself but t_max (the epochs) and split_seed
  // (the seed): a spec without train: or data: has the table's defaults.
  Result r = load(kModel);
  ASSERT_TRUE(r.spec) << r.printed;
  TrainSettings defaults;
  EXPECT_EQ(r.spec->train.epochs, defaults.epochs);
  EXPECT_EQ(r.spec->train.learningRate, defaults.learningRate);
  EXPECT_EQ(r.spec->train.lrTMax, defaults.epochs);
  EXPECT_EQ(r.spec->data.splitSeed, defaults.seed);
}

TEST(Settings, RulesAreCheckedOnce) {
  TrainSettings s;
  EXPECT_TRUE(settings::check(s).empty());

  s.nesterov = true;
  std::vector<settings::Violation> v = settings::check(s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_STREQ(v[0].setting->key, "momentum");
  EXPECT_STREQ(v[0].cause->key, "nesterov");
  s.momentum = 0.9;
  EXPECT_TRUE(settings::check(s).empty());

  // A schedule's settings count only under that schedule.
  s.lrSchedule = LrSchedule::Step;
  v = settings::check(s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_STREQ(v[0].setting->key, "step_size");
  EXPECT_STREQ(v[0].cause->key, "lr_schedule");
  EXPECT_EQ(settings::format(*v[0].cause, v[0].causeValue), "step");
  s.lrStepSize = 5;
  EXPECT_TRUE(settings::check(s).empty());

  s.batchSize = 0;
  v = settings::check(s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_STREQ(v[0].setting->key, "batch_size");
  EXPECT_EQ(v[0].cause, nullptr);
}

TEST(Settings, EnumerationsAreSpelledOnce) {
  EXPECT_EQ(settings::enumChoices(settings::kLrScheduleInfo),
            "constant, step or cosine");
  EXPECT_EQ(settings::enumIndex(settings::kLrScheduleInfo, "cosine"),
            int64_t(LrSchedule::Cosine));
  EXPECT_EQ(settings::enumIndex(settings::kLrScheduleInfo, "linear"), -1);
  EXPECT_STREQ(settings::kOptimizerInfo.cppNames[int(Optimizer::Sgd)], "Sgd");
  // Keys are unique across the train table.
  const auto &table = settings::trainSettings();
  for (size_t i = 0; i < table.size(); ++i)
    EXPECT_EQ(settings::findTrainSetting(table[i].key), &table[i]);
}

} // namespace
