//===- StepProfileTest.cpp - bench --profile's aggregation and file -------===//
#include "TestUtil.h"
#include "TinyModel.h"

#include "rtml/Runtime/StepProfile.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

using namespace rtml;
using namespace rtml::test;

namespace {

const ProfiledOp &find(const std::vector<ProfiledOp> &ops,
                       const std::string &name, bool onDevice) {
  for (const ProfiledOp &op : ops)
    if (op.name == name && op.onDevice == onDevice)
      return op;
  static const ProfiledOp none;
  ADD_FAILURE() << "no " << name;
  return none;
}

TEST(StepProfile, SelfTimeIsWhatNestedEventsLeave) {
  // Two steps. Thread 1: a step op (0-100 us) holding conv (10-50, itself
  // holding gemm 20-40) and relu (60-70); then the same again at 1000 us.
  // Thread 2: a gemm that overlaps thread 1's times but nests in nothing.
  // The GPU: kernels that overlap each other and nest in nothing.
  std::vector<ProfiledEvent> events;
  for (uint64_t base : {0ull, 1000000ull}) {
    events.push_back({"step", false, 1, base, 100000});
    events.push_back({"conv", false, 1, base + 10000, 40000});
    events.push_back({"gemm", false, 1, base + 20000, 20000});
    events.push_back({"relu", false, 1, base + 60000, 10000});
    events.push_back({"kernel", true, 1, base + 5000, 30000});
    events.push_back({"kernel", true, 1, base + 6000, 10000});
  }
  events.push_back({"gemm", false, 2, 15000, 50000});
  std::vector<ProfiledOp> ops = aggregateProfile(events, 2);
  ASSERT_EQ(ops.size(), 5u);
  // The GPU's first, then each side by self time.
  EXPECT_TRUE(ops[0].onDevice);
  EXPECT_EQ(ops[0].name, "kernel");
  EXPECT_DOUBLE_EQ(ops[0].callsPerStep, 2);
  EXPECT_DOUBLE_EQ(ops[0].selfUsPerStep, 40);
  EXPECT_DOUBLE_EQ(ops[0].totalUsPerStep, 40);
  const ProfiledOp &step = find(ops, "step", false);
  EXPECT_DOUBLE_EQ(step.selfUsPerStep, 100 - 40 - 10);
  EXPECT_DOUBLE_EQ(step.totalUsPerStep, 100);
  const ProfiledOp &conv = find(ops, "conv", false);
  EXPECT_DOUBLE_EQ(conv.selfUsPerStep, 20);
  const ProfiledOp &gemm = find(ops, "gemm", false);
  EXPECT_DOUBLE_EQ(gemm.callsPerStep, 1.5);
  EXPECT_DOUBLE_EQ(gemm.selfUsPerStep, (20 + 20 + 50) / 2.0);
  EXPECT_DOUBLE_EQ(find(ops, "relu", false).selfUsPerStep, 10);
  for (size_t i = 2; i < ops.size(); ++i)
    EXPECT_GE(ops[i - 1].selfUsPerStep, ops[i].selfUsPerStep) << i;
}

TEST(StepProfile, ChildOutlastingItsParentLeavesNoNegativeTime) {
  std::vector<ProfiledEvent> events = {{"outer", false, 1, 0, 10000},
                                       {"inner", false, 1, 0, 10000},
                                       {"late", false, 1, 5000, 8000}};
  std::vector<ProfiledOp> ops = aggregateProfile(events, 1);
  for (const ProfiledOp &op : ops)
    EXPECT_GE(op.selfUsPerStep, 0) << op.name;
  EXPECT_DOUBLE_EQ(find(ops, "outer", false).selfUsPerStep, 0);
}

TEST(StepProfile, BenchWritesOneStepsOpsAndNamesTheSgdStep) {
  TinyModel model;
  TempDir dir;
  std::string file = dir / "profile.json";
  MainResult r = runMain(model, {"bench", "--steps", "1", "--warmup", "1",
                                 "--batch-size", "4", "--json", "--profile",
                                 file, "--profile-steps", "2"});
  ASSERT_EQ(r.status, 0) << r.err;
  // stdout keeps its one JSON line; the table goes to stderr.
  EXPECT_FALSE(nlohmann::json::parse(r.out, nullptr, false).is_discarded())
      << r.out;
  EXPECT_NE(r.err.find("profile (" + file + "): CPU ops by self time"),
            std::string::npos)
      << r.err;
  std::ifstream in(file);
  nlohmann::json profile = nlohmann::json::parse(in, nullptr, false);
  ASSERT_TRUE(profile.is_object()) << file;
  EXPECT_EQ(profile["model"], "tiny");
  EXPECT_EQ(profile["profile_steps"], 2);
  EXPECT_EQ(profile["step_mode"], "eager");
  ASSERT_TRUE(profile["profiled_step_ms"].is_number());
  double namedUs = 0, wallUs = profile["profiled_step_ms"].get<double>() * 1e3;
  ASSERT_TRUE(profile["ops"].is_array());
  bool sgd = false, linear = false;
  for (const auto &op : profile["ops"]) {
    EXPECT_EQ(op["on"], "cpu");
    EXPECT_LE(op["self_us_per_step"].get<double>(),
              op["total_us_per_step"].get<double>() + 1e-9)
        << op;
    namedUs += op["self_us_per_step"].get<double>();
    if (op["name"] == "rtml::sgd_step") {
      sgd = true;
      EXPECT_DOUBLE_EQ(op["calls_per_step"].get<double>(), 1) << op;
    }
    linear |= op["name"] == "aten::addmm";
  }
  // One thread ran the ops: their self times fit in the steps' wall time.
  EXPECT_GT(namedUs, 0);
  EXPECT_LE(namedUs, wallUs) << profile.dump(1);
  EXPECT_TRUE(sgd) << profile.dump(1);
  EXPECT_TRUE(linear) << profile.dump(1);
}

TEST(StepProfile, BenchRefusesAProfileItCouldNotWriteBeforeTiming) {
  TinyModel model;
  TempDir dir;
  std::string file = dir / "missing/profile.json";
  MainResult r = runMain(model, {"bench", "--steps", "1", "--profile", file});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--profile " + file + ": " + (dir / "missing") +
                       " is not a directory"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.out.find("train step"), std::string::npos) << r.out;

  r = runMain(model, {"bench", "--profile-steps", "2"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--profile-steps requires --profile"),
            std::string::npos)
      << r.err;
}

} // namespace
