//===- HostileFilesTest.cpp - Crafted weight files are refused, not read --===//
//
// Every reader entry point (state dict for --weights and export, nested
// checkpoint for --resume, bare tensor for predict --input, the CIFAR-10
// Python batch) on files that read outside their storage, contain
// themselves, nest 10^5..10^6 deep or inflate to a gigabyte: each refused
// with the file's name and the problem. CheckpointTest runs the same files
// through the trainer's subcommands.
//
//===----------------------------------------------------------------------===//
#include "HostileFiles.h"
#include "TinyModel.h"

#include "rtml/Runtime/Data.h"
#include "rtml/Runtime/Parameters.h"
#include "rtml/Runtime/Serialization.h"

#include "PickleReader.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <dirent.h>
#include <filesystem>
#include <functional>

using namespace rtml;
using namespace rtml::test;

namespace {

std::string errorOf(const std::function<void()> &f) {
  try {
    f();
  } catch (const std::exception &e) {
    return e.what();
  }
  return "";
}

class HostileFiles : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir = new TempDir();
    writeHostileFiles(dir->path());
  }
  static void TearDownTestSuite() {
    delete dir;
    dir = nullptr;
  }
  static std::string path(const std::string &name) { return *dir / name; }
  static TempDir *dir;
};
TempDir *HostileFiles::dir = nullptr;

} // namespace

TEST_F(HostileFiles, EveryReaderRefusesEveryCraftedFile) {
  ASSERT_FALSE(HasFatalFailure());
  for (const HostileFile &f : hostileFiles()) {
    std::string file = path(f.name);
    std::vector<std::pair<const char *, std::function<void()>>> readers = {
        {"loadStateDict", [&] { loadStateDict(file); }},
        {"loadFlatDict", [&] { loadFlatDict(file); }},
        {"loadTensor", [&] { loadTensor(file); }},
    };
    for (const auto &[reader, read] : readers) {
      std::string msg = errorOf(read);
      EXPECT_EQ(msg.rfind(file + ": ", 0), 0u)
          << reader << "(" << f.name << "): " << msg;
      EXPECT_NE(msg.find(f.problem), std::string::npos)
          << reader << "(" << f.name << "): " << msg;
    }
  }
}

TEST_F(HostileFiles, ViewsAreCheckedInUnsignedArithmetic) {
  // The offset that wrapped the old signed check, and its neighbours.
  int64_t big = std::numeric_limits<int64_t>::max();
  EXPECT_NE(viewOutsideStorage(big - 1, {4}, {1}, 96), "");
  EXPECT_NE(viewOutsideStorage(0, {3}, {int64_t(1) << 62}, 96), "");
  EXPECT_NE(viewOutsideStorage(0, {big, 2}, {0, 0}, 96), "");
  EXPECT_NE(viewOutsideStorage(-1, {1}, {1}, 96), "");
  EXPECT_NE(viewOutsideStorage(0, {2}, {-1}, 96), "");
  EXPECT_NE(viewOutsideStorage(97, {0}, {1}, 96), "");
  EXPECT_NE(viewOutsideStorage(48, {2, 48}, {48, 1}, 96), "");
  // What honest files hold.
  EXPECT_EQ(viewOutsideStorage(0, {2, 48}, {48, 1}, 96), "");
  EXPECT_EQ(viewOutsideStorage(48, {48}, {1}, 96), "");
  EXPECT_EQ(viewOutsideStorage(95, {}, {}, 96), "");
  EXPECT_EQ(viewOutsideStorage(96, {0}, {1}, 96), "");
  EXPECT_EQ(viewOutsideStorage(0, {1000, 96}, {0, 1}, 96), "");
  EXPECT_EQ(viewOutsideStorage(0, {0, 3}, {3, 1}, 0), "");
}

TEST_F(HostileFiles, SharedSubDictsAreNotWalkedForever) {
  std::string msg = errorOf([&] { loadFlatDict(path("shared_dicts.pt")); });
  EXPECT_NE(msg.find("shared_dicts.pt: checkpoint has more than"),
            std::string::npos)
      << msg;
}

TEST_F(HostileFiles, PlainPicklesAreBoundedToo) {
  // The CIFAR-10 Python batch reader runs the same machine on plain pickles.
  std::string zip = readFile(path("nested_1e5.pt"));
  size_t start = zip.find(std::string("\x80\x02}X", 4));
  ASSERT_NE(start, std::string::npos);
  std::string pkl = zip.substr(start, 8 * 100000 + 4);
  ASSERT_EQ(pkl.back(), '.');
  writeFile(path("data_batch_1"), pkl);
  std::string msg =
      errorOf([&] { readCifarPythonFile(path("data_batch_1")); });
  EXPECT_NE(msg.find(path("data_batch_1") + ": "), std::string::npos) << msg;
  EXPECT_NE(msg.find("nested deeper than 100 levels"), std::string::npos)
      << msg;
  // A list that holds itself: APPEND of the memoized list onto itself.
  writeFile(path("data_batch_2"), std::string("\x80\x02]q\x00h\x00"
                                              "a.",
                                              9));
  msg = errorOf([&] { readCifarPythonFile(path("data_batch_2")); });
  EXPECT_NE(msg.find("list contains itself"), std::string::npos) << msg;
}

TEST_F(HostileFiles, IntegerAndBoolWeightsAreRefusedByName) {
  TinyModel model;
  for (const char *name : {"int_weights.pt", "bool_weights.pt"}) {
    StateDict state = loadStateDict(path(name));
    ParameterRegistry reg(model.parameters(), at::kCPU, 1);
    at::Tensor before = reg.find("fc.weight").clone();
    for (const WeightsPolicy &policy :
         {WeightsPolicy{}, WeightsPolicy::exact()}) {
      std::string msg =
          errorOf([&] { loadWeights(reg, state, path(name), policy); });
      EXPECT_EQ(msg.rfind(path(name) + ": ", 0), 0u) << msg;
      EXPECT_NE(msg.find("wrong dtype"), std::string::npos) << msg;
    }
    // Nothing was copied.
    EXPECT_TRUE(at::equal(reg.find("fc.weight"), before));
  }
  StateDict ints = loadStateDict(path("int_weights.pt"));
  ParameterRegistry reg(model.parameters(), at::kCPU, 1);
  std::string msg =
      errorOf([&] { loadIntoRegistry(reg, ints, "int_weights.pt"); });
  EXPECT_NE(msg.find("fc.weight is Long"), std::string::npos) << msg;
  msg = errorOf([&] {
    loadIntoRegistry(reg, loadStateDict(path("bool_weights.pt")), "b.pt");
  });
  EXPECT_NE(msg.find("fc.bias is Bool"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("fc.weight is"), std::string::npos) << msg;
}

TEST_F(HostileFiles, FloatWeightsOfOtherWidthsAreConverted) {
  TinyModel model;
  ParameterRegistry reg(model.parameters(), at::kCPU, 1);
  WeightsReport report =
      loadWeights(reg, loadStateDict(path("half_weights.pt")),
                  path("half_weights.pt"), WeightsPolicy::exact());
  EXPECT_EQ(report.loaded.size(), 2u);
  EXPECT_EQ(reg.find("fc.weight").scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(reg.find("fc.weight"), at::full({2, 48}, 0.5)));
  EXPECT_TRUE(at::equal(reg.find("fc.bias"), at::tensor({1.0f, 2.0f})));
}

namespace {

/// The regular files in DIR (may not exist: no findings yet).
std::vector<std::string> filesUnder(const std::string &dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto &entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.is_regular_file())
      files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

} // namespace

// The fuzzers' seeds load; their findings are refused with the file's name.
TEST(FuzzRegressions, TorchReadersLoadSeedsAndRefuseFindings) {
  std::string fuzz = RTML_SOURCE_DIR "/test/fuzz/";
  std::vector<std::string> seeds = filesUnder(fuzz + "seeds/torch-file");
  ASSERT_GE(seeds.size(), 3u);
  for (const std::string &file : seeds) {
    EXPECT_EQ(errorOf([&] { loadFlatDict(file); }), "<no error>") << file;
    if (file.find("checkpoint") == std::string::npos)
      EXPECT_EQ(errorOf([&] { loadStateDict(file); }), "<no error>") << file;
  }
  seeds = filesUnder(fuzz + "seeds/torch-tensor");
  ASSERT_GE(seeds.size(), 3u);
  for (const std::string &file : seeds)
    EXPECT_EQ(errorOf([&] { loadTensor(file); }), "<no error>") << file;

  TinyModel model;
  for (const char *target : {"torch-file", "torch-tensor"})
    for (const std::string &file : filesUnder(fuzz + "regressions/" + target)) {
      std::string msg = errorOf([&] {
        ParameterRegistry reg(model.parameters(), at::kCPU, 1);
        loadWeights(reg, loadStateDict(file), file, WeightsPolicy{});
      });
      EXPECT_TRUE(msg.empty() || msg.rfind(file + ": ", 0) == 0)
          << file << ": " << msg;
      for (auto read : {std::function<void()>([&] { loadFlatDict(file); }),
                        std::function<void()>([&] { loadTensor(file); })}) {
        msg = errorOf(read);
        EXPECT_TRUE(msg.empty() || msg.rfind(file + ": ", 0) == 0)
            << file << ": " << msg;
      }
    }
}
