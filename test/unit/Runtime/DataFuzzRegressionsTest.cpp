//===- DataFuzzRegressionsTest.cpp - The data fuzzers' findings, in CI ----===//
//
// Every input under test/fuzz/regressions/<target>/ (a crash, hang or broken
// promise libFuzzer once found, and the seeds beside them) goes through its
// reader again: it must return or throw a std::runtime_error naming the
// file, as the fuzz targets in test/fuzz/data/ check.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include "rtml/Runtime/Data.h"
#include "rtml/Runtime/DataFiles.h"
#include "rtml/Runtime/Idx.h"
#include "rtml/Runtime/ImageDecode.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <functional>

using namespace rtml;

namespace {

/// Runs READ on every file of test/fuzz/{seeds,regressions}/TARGET; returns
/// how many there were.
int replay(const std::string &target,
           const std::function<void(const std::string &)> &read) {
  int files = 0;
  for (const char *kind : {"seeds", "regressions"}) {
    std::filesystem::path dir =
        std::filesystem::path(RTML_SOURCE_DIR) / "test/fuzz" / kind / target;
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator(dir, ec)) {
      std::string path = entry.path().string();
      ++files;
      try {
        read(path);
      } catch (const std::runtime_error &e) {
        EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u)
            << path << ": " << e.what();
      }
    }
  }
  return files;
}

} // namespace

TEST(DataFuzzRegressions, IdxFilesReturnOrFailCleanly) {
  EXPECT_GE(replay("idx",
                   [](const std::string &p) {
                     readIdxFile(p, 1);
                     readIdxFile(p, 3);
                   }),
            1);
}

TEST(DataFuzzRegressions, ImagesReturnOrFailCleanly) {
  EXPECT_GE(replay("image", [](const std::string &p) { readImageFile(p); }), 1);
}

TEST(DataFuzzRegressions, CifarBatchesReturnOrFailCleanly) {
  EXPECT_GE(
      replay("cifar-binary", [](const std::string &p) { readCifarFile(p); }),
      1);
  EXPECT_GE(replay("cifar-python",
                   [](const std::string &p) { readCifarPythonFile(p); }),
            1);
}
