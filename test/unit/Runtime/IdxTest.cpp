//===- IdxTest.cpp - IDX data sets (MNIST, Fashion-MNIST) -----------------===//
#include "TestUtil.h"

#include "rtml/Runtime/Data.h"
#include "rtml/Runtime/DataFiles.h"
#include "rtml/Runtime/Idx.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <zlib.h>

using namespace rtml;
using namespace rtml::test;

namespace {

std::string be32(uint32_t v) {
  return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}

/// An IDX file of unsigned bytes with DIMS and the elements BODY.
std::string idx(const std::vector<uint32_t> &dims, const std::string &body) {
  std::string s = {0, 0, 8, char(dims.size())};
  for (uint32_t d : dims)
    s += be32(d);
  return s + body;
}

/// N images of H x W, pixel (i, y, x) = i * 31 + y * W + x (mod 256).
std::string pixels(int n, int h, int w) {
  std::string s;
  for (int i = 0; i < n; ++i)
    for (int p = 0; p < h * w; ++p)
      s.push_back(char((i * 31 + p) % 256));
  return s;
}

std::string gzipped(const std::string &bytes) {
  z_stream z{};
  EXPECT_EQ(
      deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
      Z_OK);
  std::string out(deflateBound(&z, bytes.size()), '\0');
  z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(bytes.data()));
  z.avail_in = bytes.size();
  z.next_out = reinterpret_cast<Bytef *>(out.data());
  z.avail_out = out.size();
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

void writeSplit(const std::string &dir, const std::string &prefix, int n,
                const std::string &labels, bool gz) {
  std::string images = idx({uint32_t(n), 4, 5}, pixels(n, 4, 5));
  std::string lab = idx({uint32_t(labels.size())}, labels);
  std::string ext = gz ? ".gz" : "";
  writeFile(dir + "/" + prefix + "-images-idx3-ubyte" + ext,
            gz ? gzipped(images) : images);
  writeFile(dir + "/" + prefix + "-labels-idx1-ubyte" + ext,
            gz ? gzipped(lab) : lab);
}

} // namespace

TEST(IdxData, ReadsPlainAndGzippedSplits) {
  for (bool gz : {false, true}) {
    TempDir dir;
    writeSplit(dir.path(), "train", 3, {2, 0, 9}, gz);
    writeSplit(dir.path(), "t10k", 2, {1, 5}, gz);
    DataLocation at = locateData(dir.path());
    EXPECT_EQ(at.format, DataFormat::Idx);
    Dataset train = readTrainSet(dir.path());
    ASSERT_EQ(train.images.sizes(), (std::vector<int64_t>{3, 1, 4, 5})) << gz;
    EXPECT_EQ(train.images.dtype(), at::kByte);
    EXPECT_TRUE(train.labels.equal(at::tensor({2, 0, 9}, at::kLong)));
    EXPECT_EQ(train.images[2][0][1][3].item<int>(), (2 * 31 + 1 * 5 + 3) % 256);
    Dataset test = readTestSet(dir.path());
    EXPECT_EQ(test.size(), 2);
    EXPECT_TRUE(test.labels.equal(at::tensor({1, 5}, at::kLong)));
  }
}

TEST(IdxData, FindsTorchvisionRawFolders) {
  TempDir dir;
  std::string raw = dir / "FashionMNIST/raw";
  ASSERT_EQ(std::system(("mkdir -p '" + raw + "'").c_str()), 0);
  writeSplit(raw, "train", 2, {3, 4}, true);
  writeSplit(raw, "t10k", 1, {7}, false);
  DataLocation at = locateData(dir.path());
  EXPECT_EQ(at.format, DataFormat::Idx);
  EXPECT_EQ(at.dir, raw);
  EXPECT_EQ(readTrainSet(dir.path()).size(), 2);
  EXPECT_EQ(readTestSet(dir.path()).size(), 1);
}

TEST(IdxData, RefusesBrokenFilesNamingFileAndProblem) {
  std::string body = pixels(2, 4, 5);
  struct Case {
    std::string name, bytes, expect;
  } cases[] = {
      {"empty", "", "truncated"},
      {"magic", "\x01\x02" + idx({2, 4, 5}, body).substr(2), "not an IDX file"},
      {"type",
       std::string("\0\0\x0d\x03", 4) + be32(2) + be32(4) + be32(5) + body,
       "0x0d (float) is not supported"},
      {"rank", idx({2, 20}, body), "has 2 dimensions, expected 3"},
      {"zero", idx({0, 4, 5}, ""), "dimension 0 is 0"},
      {"huge", idx({0xffffffff, 0xffffffff, 0xffffffff}, ""),
       "declares more than 2147483648 bytes"},
      {"short", idx({2, 4, 5}, body.substr(0, 39)), "truncated"},
      {"trailing", idx({2, 4, 5}, body + "x"), "trailing bytes"},
      {"gz-trailing", gzipped(idx({2, 4, 5}, body + "x")), "trailing bytes"},
      {"gz-short", gzipped(idx({2, 4, 5}, body.substr(0, 10))), "truncated"},
      {"gz-cut", gzipped(idx({2, 4, 5}, body)).substr(0, 30), "truncated"},
      {"gz-corrupt", "\x1f\x8b" + std::string(40, '\x55'), "corrupt gzip"},
  };
  TempDir dir;
  for (const Case &c : cases) {
    std::string path = dir / c.name;
    writeFile(path, c.bytes);
    std::string msg = errorOf([&] { readIdxFile(path, 3); });
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << c.name << ": " << msg;
    EXPECT_NE(msg.find(c.expect), std::string::npos) << c.name << ": " << msg;
  }
}

TEST(IdxData, RefusesPairsThatDisagree) {
  TempDir dir;
  writeSplit(dir.path(), "train", 3, {1, 2}, false);
  std::string msg = errorOf([&] { readTrainSet(dir.path()); });
  EXPECT_NE(msg.find("train-labels-idx1-ubyte: 2 labels, but"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("holds 3 images"), std::string::npos) << msg;

  writeSplit(dir.path(), "train", 3, {1, 10, 2}, false);
  msg = errorOf([&] { readTrainSet(dir.path()); });
  EXPECT_NE(msg.find("train-labels-idx1-ubyte: label 1 is 10, expected 0..9"),
            std::string::npos)
      << msg;

  // A split with its labels missing names the file it needs.
  TempDir lonely;
  writeFile(lonely / "t10k-images-idx3-ubyte", idx({1, 4, 5}, pixels(1, 4, 5)));
  msg = errorOf([&] { readTestSet(lonely.path()); });
  EXPECT_NE(msg.find(lonely / "t10k-labels-idx1-ubyte"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("no such file"), std::string::npos) << msg;
}

TEST(IdxData, ReadsDebianFashionMnist) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (fileStatus(dir + "/train-images-idx3-ubyte.gz") != FileStatus::Regular)
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Dataset train = readTrainSet(dir), test = readTestSet(dir);
  EXPECT_EQ(train.images.sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  EXPECT_EQ(test.images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  // Fashion-MNIST is balanced: 6,000 and 1,000 images per class.
  EXPECT_TRUE(
      at::bincount(train.labels).equal(at::full({10}, 6000, at::kLong)));
  EXPECT_TRUE(at::bincount(test.labels).equal(at::full({10}, 1000, at::kLong)));
  // The first training image is an ankle boot (9), as in torchvision.
  EXPECT_EQ(train.labels[0].item<int64_t>(), 9);
}
