//===- SettingsIOTest.cpp - Training settings in flags, checkpoint, summary
//===//
//
// Every setting of the settings table, given a value other than its default,
// survives the trainer's flags, the checkpoint and summary.json; the values
// come from the table, so a new setting is covered without editing this
// test. A resume on another data set is refused.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"
#include "TinyModel.h"

#include "rtml/Runtime/SettingsIO.h"
#include "rtml/Runtime/Trainer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

using namespace rtml;
using namespace rtml::test;

namespace {

/// Non-default values for every setting, the step schedule's included.
TrainConfig otherSettings() {
  TrainConfig s;
  const auto &table = settings::trainSettings();
  for (size_t i = 0; i < table.size(); ++i) {
    const settings::SettingInfo &info = table[i];
    settings::Value v = settings::get(s, i);
    switch (info.kind) {
    case settings::Kind::Int:
      v = std::get<int64_t>(v) + 5 + int64_t(i);
      break;
    case settings::Kind::Float:
      v = 0.125 * double(i + 1);
      break;
    case settings::Kind::Bool:
      v = !std::get<bool>(v);
      break;
    case settings::Kind::Enum:
      v = int64_t(info.enumInfo->size - 1);
      break;
    }
    settings::set(s, i, v);
  }
  return s;
}

/// CheckpointReader's interface over a loaded file.
struct MapReader {
  std::map<std::string, CheckpointValue> map;
  bool has(const std::string &k) const { return map.count(k) != 0; }
  int64_t integer(const std::string &k) const { return map.at(k).integer; }
  double real(const std::string &k) const {
    const CheckpointValue &v = map.at(k);
    return v.kind == CheckpointValue::Kind::Tensor
               ? v.tensor.to(at::kDouble).item<double>()
               : v.real;
  }
  const std::string &text(const std::string &k) const { return map.at(k).text; }
};

TEST(RuntimeSettings, EverySettingSurvivesTheCheckpoint) {
  TempDir dir;
  TrainConfig written = otherSettings();
  FlatDict flat;
  putSettings(written, flat);
  std::vector<char> bytes = serializeFlatDict(flat);
  writeFile(dir / "c.pt", std::string(bytes.begin(), bytes.end()));
  FlatDict loaded = loadFlatDict(dir / "c.pt");
  MapReader reader{{loaded.begin(), loaded.end()}};
  EXPECT_EQ(reader.text("config/lr_schedule"), "cosine");

  TrainConfig read;
  readSettings(reader, dir / "c.pt", read);
  const auto &table = settings::trainSettings();
  for (size_t i = 0; i < table.size(); ++i)
    EXPECT_EQ(settings::get(read, i), settings::get(written, i))
        << table[i].key;

  reader.map["config/lr_schedule"] = CheckpointValue::of(std::string("cos"));
  try {
    readSettings(reader, "c.pt", read);
    ADD_FAILURE() << "an unknown schedule was read";
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find(
                  "c.pt: checkpoint entry 'config/lr_schedule' is not one of "
                  "constant, step or cosine"),
              std::string::npos)
        << e.what();
  }
}

TEST(RuntimeSettings, EveryFlagSetsItsSetting) {
  TrainConfig wanted = otherSettings();
  std::map<std::string, std::string> given;
  const auto &table = settings::trainSettings();
  for (size_t i = 0; i < table.size(); ++i)
    if (*table[i].flag)
      given[table[i].flag] =
          table[i].kind == settings::Kind::Bool
              ? ""
              : settings::format(table[i], settings::get(wanted, i));
  TrainConfig cfg;
  applySettingFlags(
      [&](const std::string &flag) -> std::optional<std::string> {
        auto it = given.find(flag);
        if (it == given.end())
          return std::nullopt;
        return it->second;
      },
      cfg);
  for (size_t i = 0; i < table.size(); ++i)
    if (*table[i].flag)
      EXPECT_EQ(settings::get(cfg, i), settings::get(wanted, i))
          << table[i].flag;

  // The help lists each flag once, with the model's default.
  std::vector<SettingFlag> flags = settingFlags(wanted);
  EXPECT_EQ(flags.size(), given.size());
  for (const SettingFlag &f : flags)
    if (f.name == "lr-schedule")
      EXPECT_NE(f.help.find("(default cosine)"), std::string::npos) << f.help;

  for (auto [flag, text, message] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"lr-schedule", "linear",
            "--lr-schedule: expected constant, step or cosine, got 'linear'"},
           {"epochs", "0", "--epochs: must be at least 1, got 0"},
           {"lr", "0", "--lr: must be positive, got 0"},
           {"momentum", "x", "--momentum: expected a number, got 'x'"}}) {
    try {
      applySettingFlags(
          [&](const std::string &f) -> std::optional<std::string> {
            return f == flag ? std::optional<std::string>(text) : std::nullopt;
          },
          cfg);
      ADD_FAILURE() << message;
    } catch (const UsageError &e) {
      EXPECT_EQ(std::string(e.what()), message);
    }
  }
}

TEST(RuntimeSettings, RulesInTheTrainersTerms) {
  TrainConfig cfg;
  cfg.nesterov = true;
  std::vector<settings::Violation> v = settings::check(cfg);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(describeForFlags(v[0]), "--nesterov needs a positive --momentum");
  cfg.nesterov = false;
  cfg.lrSchedule = LrSchedule::Step;
  v = settings::check(cfg);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(describeForFlags(v[0]),
            "--lr-schedule step needs a positive --lr-step");
}

TEST(RuntimeSettings, SummaryHasEverySetting) {
  TrainConfig cfg = otherSettings();
  nlohmann::ordered_json json = settingsJson(cfg);
  ASSERT_EQ(json.size(), settings::trainSettings().size()) << json.dump();
  for (const settings::SettingInfo &info : settings::trainSettings())
    EXPECT_TRUE(json.contains(info.key)) << info.key << json.dump();
  EXPECT_EQ(json["lr_schedule"], "cosine");
  EXPECT_EQ(json["optimizer"], "sgd");
  EXPECT_EQ(json["epochs"], cfg.epochs);
  EXPECT_EQ(json["lr"], cfg.learningRate);
  EXPECT_EQ(json["nesterov"], cfg.nesterov);
}

TEST(RuntimeSettings, ResumeOnAnotherDataSetIsRefused) {
  TempDir dir;
  std::filesystem::create_directories(dir / "a");
  std::filesystem::create_directories(dir / "b");
  std::filesystem::create_directories(dir / "moved");
  for (const char *sub : {"a", "moved"}) {
    writeFile(dir / (std::string(sub) + "/data_batch_1.bin"),
              separableRecords(64, 1));
    writeFile(dir / (std::string(sub) + "/test_batch.bin"),
              separableRecords(32, 3));
  }
  writeFile(dir / "b/data_batch_1.bin", separableRecords(64, 7));
  writeFile(dir / "b/test_batch.bin", separableRecords(32, 3));
  TinyModel model;
  MainResult r =
      runMain(model, {"train", "--data", dir / "a", "--out", dir / "run",
                      "--epochs", "1", "--threads", "1", "--no-progress"});
  ASSERT_EQ(r.status, 0) << r.err;

  r = runMain(model, {"train", "--resume", dir / "run", "--data", dir / "b",
                      "--epochs", "2", "--threads", "1", "--no-progress"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("--data " + (dir / "b") +
                       " is not the data set this run trained on: it holds "
                       "64 training and 32 test images, fingerprint "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("the run's (" + (dir / "a") + ", recorded in "),
            std::string::npos)
      << r.err;

  // The same images elsewhere are the same data set.
  r = runMain(model, {"train", "--resume", dir / "run", "--data", dir / "moved",
                      "--epochs", "2", "--threads", "1", "--no-progress"});
  EXPECT_EQ(r.status, 0) << r.err;

  // A checkpoint written before the identity was recorded is not checked.
  std::string file = dir / "run/checkpoints/checkpoint.pt";
  FlatDict flat = loadFlatDict(file);
  size_t before = flat.size();
  flat.erase(std::remove_if(flat.begin(), flat.end(),
                            [](const auto &entry) {
                              return entry.first == "config/data_identity";
                            }),
             flat.end());
  ASSERT_EQ(flat.size(), before - 1);
  std::vector<char> bytes = serializeFlatDict(flat);
  writeFile(file, std::string(bytes.begin(), bytes.end()));
  r = runMain(model, {"train", "--resume", dir / "run", "--data", dir / "b",
                      "--epochs", "3", "--threads", "1", "--no-progress"});
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST(RuntimeSettings, CheckpointWithoutPrecisionResumes) {
  TempDir dir;
  writeFile(dir / "data_batch_1.bin", separableRecords(64, 1));
  writeFile(dir / "test_batch.bin", separableRecords(32, 3));
  TinyModel model;
  MainResult r =
      runMain(model, {"train", "--data", dir.path(), "--out", dir / "run",
                      "--epochs", "1", "--threads", "1", "--no-progress"});
  ASSERT_EQ(r.status, 0) << r.err;
  // Written before the precision was recorded: the trainer's own is taken.
  std::string file = dir / "run/checkpoints/checkpoint.pt";
  FlatDict flat = loadFlatDict(file);
  size_t before = flat.size();
  flat.erase(std::remove_if(flat.begin(), flat.end(),
                            [](const auto &entry) {
                              return entry.first == "config/precision";
                            }),
             flat.end());
  ASSERT_EQ(flat.size(), before - 1);
  std::vector<char> bytes = serializeFlatDict(flat);
  writeFile(file, std::string(bytes.begin(), bytes.end()));
  r = runMain(model, {"train", "--resume", dir / "run", "--epochs", "2",
                      "--threads", "1", "--no-progress"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::ifstream summary(dir / "run/summary.json");
  nlohmann::json json = nlohmann::json::parse(summary);
  EXPECT_EQ(json["precision"], "auto") << json.dump();
  // A missing setting the run chose (a trainer flag) is still an error.
  flat.erase(std::remove_if(flat.begin(), flat.end(),
                            [](const auto &entry) {
                              return entry.first == "config/lr";
                            }),
             flat.end());
  bytes = serializeFlatDict(flat);
  writeFile(file, std::string(bytes.begin(), bytes.end()));
  r = runMain(model, {"train", "--resume", dir / "run", "--epochs", "3",
                      "--threads", "1", "--no-progress"});
  EXPECT_NE(r.status, 0);
}

} // namespace
