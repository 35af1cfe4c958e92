//===- CifarTest.cpp - CIFAR-10 batches: none dropped, none scrambled -----===//
#include "TestUtil.h"

#include "rtml/Runtime/Data.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sys/stat.h>
#include <unistd.h>

using namespace rtml;
using namespace rtml::test;

namespace {

std::string records(int n, int label) {
  std::string bytes;
  for (int i = 0; i < n; ++i) {
    bytes.push_back(char(label));
    for (int p = 0; p < 3072; ++p)
      bytes.push_back(char((i + p) % 251));
  }
  return bytes;
}

/// data_batch_N.bin for each N in BATCHES (two records labelled N) and a
/// test batch.
void writeBatches(const TempDir &dir, std::initializer_list<int> batches) {
  for (int n : batches)
    writeFile(dir / ("data_batch_" + std::to_string(n) + ".bin"),
              records(2, n));
  writeFile(dir / "test_batch.bin", records(1, 0));
}

} // namespace

TEST(CifarBatches, AContiguousPrefixIsTheTrainingSet) {
  TempDir dir;
  writeBatches(dir, {1, 2});
  Dataset train = readCifarTrain(dir.path());
  EXPECT_EQ(train.size(), 4);
  EXPECT_TRUE(train.labels.equal(at::tensor({1, 1, 2, 2}, at::kLong)));
}

TEST(CifarBatches, AGapIsRefusedNamingTheMissingBatch) {
  TempDir dir;
  writeBatches(dir, {1, 2, 4, 5});
  std::string msg = errorOf([&] { readCifarTrain(dir.path()); });
  EXPECT_EQ(msg.rfind(dir / "data_batch_3.bin: no such file, but " +
                          dir / "data_batch_5.bin exists",
                      0),
            0u)
      << msg;
  EXPECT_NE(msg.find("data_batch_1 .. data_batch_N with none missing"),
            std::string::npos);
}

TEST(CifarBatches, ABatchThatIsNotARegularFileIsRefused) {
  struct Case {
    const char *what;
    std::function<void(const std::string &)> make;
    const char *expect;
  } cases[] = {
      {"fifo",
       [](const std::string &p) { ASSERT_EQ(::mkfifo(p.c_str(), 0644), 0); },
       "not a regular file: a FIFO"},
      {"directory",
       [](const std::string &p) { ASSERT_EQ(::mkdir(p.c_str(), 0755), 0); },
       "not a regular file: a directory"},
      {"dangling link",
       [](const std::string &p) {
         ASSERT_EQ(::symlink((p + ".nowhere").c_str(), p.c_str()), 0);
       },
       "no such file: a dangling symbolic link"},
  };
  for (const Case &c : cases) {
    TempDir dir;
    writeBatches(dir, {1, 3});
    c.make(dir / "data_batch_2.bin");
    // Neither hangs on the FIFO nor trains on batches 1 alone.
    std::string msg = errorOf([&] { readCifarTrain(dir.path()); });
    EXPECT_EQ(msg.rfind(dir / "data_batch_2.bin: ", 0), 0u) << c.what << msg;
    EXPECT_NE(msg.find(c.expect), std::string::npos) << c.what << ": " << msg;
  }
}

TEST(CifarBatches, PermissionDeniedIsSaidSo) {
  if (::geteuid() == 0)
    GTEST_SKIP() << "root reads files whatever their mode";
  TempDir dir;
  writeBatches(dir, {1});
  ASSERT_EQ(::chmod((dir / "data_batch_1.bin").c_str(), 0), 0);
  std::string msg = errorOf([&] { readCifarTrain(dir.path()); });
  EXPECT_NE(msg.find("data_batch_1.bin: permission denied"), std::string::npos)
      << msg;
}

TEST(CifarBatches, FortranOrderedPythonArraysReadAsTheirImages) {
  TempDir dir;
  std::string script = R"PY(
import numpy as np, pickle
rng = np.random.default_rng(1)
data = rng.integers(0, 256, (5, 3072), dtype=np.uint8)
labels = [3, 1, 4, 1, 5]
data.tofile('DIR/c.raw')
for name, arr, proto in (('c2', data, 2), ('f2', np.asfortranarray(data), 2),
                         ('f4', np.asfortranarray(data), 4),
                         ('f5', np.asfortranarray(data), 5)):
    assert name[0] == 'c' or not arr.flags.c_contiguous
    with open('DIR/' + name, 'wb') as f:
        pickle.dump({b'data': arr, b'labels': labels}, f, protocol=proto)
)PY";
  for (size_t at; (at = script.find("DIR")) != std::string::npos;)
    script.replace(at, 3, dir.path());
  std::string output;
  ASSERT_EQ(runPython(script, dir.path(), output), 0) << output;
  std::string raw = rtml::test::readFile(dir / "c.raw");
  ASSERT_EQ(raw.size(), 5u * 3072);
  at::Tensor expected =
      at::from_blob(raw.data(), {5, 3, 32, 32}, at::kByte).clone();
  for (const char *name : {"c2", "f2", "f4"}) {
    Dataset set = readCifarPythonFile(dir / name);
    EXPECT_TRUE(at::equal(set.images, expected)) << name;
    EXPECT_TRUE(set.labels.equal(at::tensor({3, 1, 4, 1, 5}, at::kLong)));
  }
  // Protocol 5 (numpy's out-of-band-capable _frombuffer): read correctly or
  // refused naming the file, never scrambled.
  std::string msg;
  try {
    Dataset set = readCifarPythonFile(dir / "f5");
    EXPECT_TRUE(at::equal(set.images, expected));
  } catch (const std::exception &e) {
    msg = e.what();
    EXPECT_EQ(msg.rfind(dir / "f5: ", 0), 0u) << msg;
  }
}
