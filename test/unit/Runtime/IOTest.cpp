//===- IOTest.cpp - CIFAR-10 reader, transforms, weight files -------------===//
#include "TestUtil.h"

#include "rtml/Runtime/Data.h"
#include "rtml/Runtime/Parameters.h"
#include "rtml/Runtime/Serialization.h"
#include "rtml/Support/Shapes.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <dirent.h>
#include <iomanip>
#include <map>

using namespace rtml;
using namespace rtml::test;

namespace {

/// N CIFAR records: record i has label LABELS[i] and pixel (c, y, x) =
/// (i * 7 + c * 3 + y + x) mod 256.
std::string cifarRecords(const std::vector<int> &labels) {
  std::string bytes;
  for (size_t i = 0; i < labels.size(); ++i) {
    bytes.push_back(static_cast<char>(labels[i]));
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x)
          bytes.push_back(static_cast<char>((i * 7 + c * 3 + y + x) % 256));
  }
  return bytes;
}

} // namespace

TEST(RuntimeData, ReadsCifarRecords) {
  TempDir dir;
  writeFile(dir / "data_batch_1.bin", cifarRecords({3, 0, 9}));
  Dataset set = readCifarFile(dir / "data_batch_1.bin");
  ASSERT_EQ(set.size(), 3);
  EXPECT_EQ(set.images.sizes(), (std::vector<int64_t>{3, 3, 32, 32}));
  EXPECT_EQ(set.images.scalar_type(), at::kByte);
  EXPECT_EQ(set.labels.scalar_type(), at::kLong);
  EXPECT_EQ(set.labels[0].item<int64_t>(), 3);
  EXPECT_EQ(set.labels[2].item<int64_t>(), 9);
  // Planar layout: record 1, channel 2, row 5, column 30.
  EXPECT_EQ(set.images[1][2][5][30].item<int64_t>(), (7 + 6 + 5 + 30) % 256);
  EXPECT_EQ(set.images[2][0][31][31].item<int64_t>(), (14 + 62) % 256);
}

// A gap in the numbering is refused (CifarTest.cpp), never skipped.
TEST(RuntimeData, TrainSetConcatenatesPresentBatchesInOrder) {
  TempDir dir;
  writeFile(dir / "data_batch_1.bin", cifarRecords({1, 2}));
  writeFile(dir / "data_batch_2.bin", cifarRecords({3}));
  writeFile(dir / "test_batch.bin", cifarRecords({5, 6, 7}));
  Dataset train = readCifarTrain(dir.path());
  ASSERT_EQ(train.size(), 3);
  EXPECT_EQ(train.labels[2].item<int64_t>(), 3);
  EXPECT_EQ(readCifarTest(dir.path()).size(), 3);
  EXPECT_EQ(takeFirst(train, 2).size(), 2);
  EXPECT_EQ(takeFirst(train, 0).size(), 3);
}

TEST(RuntimeData, ErrorsNameTheFile) {
  TempDir dir;
  std::string good = cifarRecords({1, 2, 3});
  writeFile(dir / "truncated.bin", good.substr(0, good.size() - 5));
  std::string msg = errorOf([&] { readCifarFile(dir / "truncated.bin"); });
  EXPECT_NE(msg.find(dir / "truncated.bin"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;

  writeFile(dir / "empty.bin", "");
  msg = errorOf([&] { readCifarFile(dir / "empty.bin"); });
  EXPECT_NE(msg.find("empty.bin: empty"), std::string::npos) << msg;

  writeFile(dir / "label.bin", cifarRecords({1, 2, 10}));
  msg = errorOf([&] { readCifarFile(dir / "label.bin"); });
  EXPECT_NE(msg.find("label.bin"), std::string::npos) << msg;
  EXPECT_NE(msg.find("record 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("label 10"), std::string::npos) << msg;

  msg = errorOf([&] { readCifarFile(dir / "missing.bin"); });
  EXPECT_NE(msg.find("missing.bin: no such file"), std::string::npos) << msg;

  // The training set needs data_batch_1.bin even if later batches exist.
  writeFile(dir / "data_batch_2.bin", good);
  msg = errorOf([&] { readCifarTrain(dir.path()); });
  EXPECT_NE(msg.find("data_batch_1.bin"), std::string::npos) << msg;
  msg = errorOf([&] { readCifarTest(dir.path()); });
  EXPECT_NE(msg.find("test_batch.bin"), std::string::npos) << msg;
}

TEST(RuntimeData, BatchTransformResizesFlipsAndNormalizes) {
  torch::manual_seed(0);
  at::Tensor images = at::randint(0, 256, {4, 3, 32, 32}, at::kByte);
  DataConfig cfg;
  cfg.resize = 20;
  cfg.mean = {0.5, 0.4, 0.3};
  cfg.std = {0.2, 0.25, 0.5};
  at::Tensor mean = at::tensor({0.5, 0.4, 0.3}).view({1, 3, 1, 1});
  at::Tensor std = at::tensor({0.2, 0.25, 0.5}).view({1, 3, 1, 1});
  at::Tensor expected = (torch::nn::functional::interpolate(
                             images.to(at::kFloat) / 255,
                             torch::nn::functional::InterpolateFuncOptions()
                                 .size(std::vector<int64_t>{20, 20})
                                 .mode(torch::kBilinear)
                                 .align_corners(false)) -
                         mean.to(at::kFloat)) /
                        std.to(at::kFloat);
  BatchTransform plain(cfg, at::kCPU, 1);
  at::Tensor out = plain(images, /*training=*/true); // no flip configured
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{4, 3, 20, 20}));
  EXPECT_TRUE(at::allclose(out, expected, 1e-5, 1e-5));

  cfg.randomHorizontalFlip = true;
  BatchTransform flipping(cfg, at::kCPU, 1), again(cfg, at::kCPU, 1);
  EXPECT_TRUE(at::allclose(flipping(images, false), expected, 1e-5, 1e-5));
  int flipped = 0;
  for (int round = 0; round < 5; ++round) {
    at::Tensor a = flipping(images, true), b = again(images, true);
    EXPECT_TRUE(at::equal(a, b)) << "same seed, same flips";
    for (int64_t i = 0; i < 4; ++i) {
      bool same = at::allclose(a[i], expected[i], 1e-5, 1e-5);
      bool mirrored = at::allclose(a[i], expected[i].flip({2}), 1e-5, 1e-5);
      EXPECT_TRUE(same || mirrored);
      flipped += mirrored;
    }
  }
  EXPECT_GT(flipped, 2);
  EXPECT_LT(flipped, 18);
}

TEST(RuntimeData, SamplerShufflesDeterministicallyEachEpoch) {
  Dataset set{at::zeros({10, 3, 32, 32}, at::kByte), at::arange(10)};
  BatchSampler a(set, 4, true, 5), b(set, 4, true, 5),
      inOrder(set, 4, false, 5);
  EXPECT_EQ(a.numBatches(), 3);
  std::vector<at::Tensor> epochs;
  for (int e = 0; e < 2; ++e) {
    a.startEpoch();
    b.startEpoch();
    std::vector<at::Tensor> la, lb;
    for (int64_t i = 0; i < a.numBatches(); ++i) {
      la.push_back(a.batch(i).second);
      lb.push_back(b.batch(i).second);
    }
    EXPECT_EQ(la.back().size(0), 2);
    at::Tensor all = at::cat(la);
    EXPECT_TRUE(at::equal(all, at::cat(lb)));
    EXPECT_TRUE(at::equal(std::get<0>(all.sort()), at::arange(10)));
    epochs.push_back(all);
  }
  EXPECT_FALSE(at::equal(epochs[0], epochs[1]));
  inOrder.startEpoch();
  EXPECT_TRUE(at::equal(inOrder.batch(1).second, at::arange(4, 8)));
}

TEST(RuntimeData, ShardedSamplersTogetherGiveOneProcessBatches) {
  // 10 images, 2 per process and 2 processes: the combined batches are
  // one process's batches of 4, and the last leaves rank 1 nothing.
  Dataset set{at::zeros({10, 3, 32, 32}, at::kByte), at::arange(10)};
  BatchSampler single(set, 4, true, 7), rank0(set, 2, true, 7),
      rank1(set, 2, true, 7);
  rank0.shard(0, 2);
  rank1.shard(1, 2);
  single.startEpoch();
  rank0.startEpoch();
  rank1.startEpoch();
  ASSERT_EQ(rank0.numBatches(), single.numBatches());
  for (int64_t i = 0; i < single.numBatches(); ++i) {
    at::Tensor combined =
        at::cat({rank0.batch(i).second, rank1.batch(i).second});
    EXPECT_TRUE(at::equal(combined, single.batch(i).second)) << "batch " << i;
    EXPECT_EQ(rank0.globalBatchSize(i), single.batch(i).second.size(0));
  }
  EXPECT_EQ(rank1.batch(2).second.size(0), 0);
  EXPECT_EQ(rank0.globalBatchSize(2), 2);
  EXPECT_THROW(rank0.shard(2, 2), std::invalid_argument);

  // Evaluation shards: contiguous, sizes within one, covering the set.
  std::vector<at::Tensor> parts;
  for (int64_t r = 0; r < 3; ++r)
    parts.push_back(contiguousShard(set, r, 3).labels);
  EXPECT_EQ(parts[0].size(0), 3);
  EXPECT_EQ(parts[2].size(0), 4);
  EXPECT_TRUE(at::equal(at::cat(parts), at::arange(10)));
}

//===----------------------------------------------------------------------===//
// Weight files written by Python's torch.save
//===----------------------------------------------------------------------===//

namespace {

// The model whose state dict the Python side saves; every parameter holds
// arange(numel) * 0.01 so the C++ side can check values.
const std::string kModelPy = R"PY(
import collections, sys, torch, torch.nn as nn
out = sys.argv[1] if len(sys.argv) > 1 else '.'
class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
        self.fc = nn.Linear(8, 2)
m = M()
with torch.no_grad():
    for p in m.parameters():
        p.copy_(torch.arange(p.numel(), dtype=torch.float32).view_as(p) * 0.01)
)PY";
const std::string kMakeWeights = kModelPy + R"PY(
sd = m.state_dict()
assert isinstance(sd, collections.OrderedDict) and hasattr(sd, '_metadata')
torch.save(sd, 'DIR/ordered.pt')
torch.save(dict(sd), 'DIR/plain.pt')
torch.save(sd, 'DIR/proto4.pt', pickle_protocol=4)
torch.save({'epoch': 3, 'state_dict': sd, 'lr': 0.1}, 'DIR/checkpoint.pt')
torch.save(dict(m.named_parameters()), 'DIR/params.pt')
base = torch.arange(20, dtype=torch.float32)
torch.save({'t': torch.arange(12.).view(3, 4).t(), 'slice': base[5:11].view(2, 3),
            'long': torch.arange(5), 'double': torch.tensor(3.5, dtype=torch.float64),
            'half': torch.tensor([1.5, -2.0], dtype=torch.float16), 'empty': torch.zeros(0, 3)},
           'DIR/misc.pt')
torch.save(torch.arange(24.).view(2, 3, 4), 'DIR/tensor.pt')
print('OK')
)PY";

std::string withDir(std::string script, const std::string &dir) {
  for (size_t at; (at = script.find("DIR")) != std::string::npos;)
    script.replace(at, 3, dir);
  return script;
}

std::vector<ParameterSpec> modelSpecs() {
  return {{"features.0.weight", {4, 3, 3, 3}, ParamInit::FanInUniform, 27},
          {"features.0.bias", {4}, ParamInit::FanInUniform, 27},
          {"fc.weight", {2, 8}, ParamInit::FanInUniform, 8},
          {"fc.bias", {2}, ParamInit::FanInUniform, 8}};
}

at::Tensor expectedValue(const ParameterSpec &spec) {
  return at::arange(numElements(spec.shape), at::kFloat)
      .mul(0.01)
      .view(spec.shape);
}

/// Python's files, made once per build tree: every test runs in its own
/// process and starting Python with torch takes seconds. A hash of the
/// script names the directory, so editing the script makes fresh files.
std::string pythonFixtureDir() {
  std::string parent = std::string(RTML_BINARY_DIR) + "/test/unit/Runtime";
  std::string dir = parent + "/weights-" +
                    std::to_string(std::hash<std::string>{}(kMakeWeights));
  if (fileExists(dir + "/done"))
    return dir;
  std::string tmp = dir + ".tmp-XXXXXX";
  if (!::mkdtemp(tmp.data()))
    return "";
  std::string output;
  int rc = rtml::test::runPython(withDir(kMakeWeights, tmp), tmp, output);
  if (rc != 0) {
    ADD_FAILURE() << output;
    return "";
  }
  writeFile(tmp + "/done", "");
  // Another test process may have won the race; either copy is good.
  if (::rename(tmp.c_str(), dir.c_str()) != 0)
    std::system(("rm -rf '" + tmp + "'").c_str());
  return dir;
}

class RuntimeWeights : public ::testing::Test {
protected:
  static void SetUpTestSuite() { fixture = pythonFixtureDir(); }
  void SetUp() override { ASSERT_FALSE(fixture.empty()); }
  static std::string path(const std::string &name) {
    return fixture + "/" + name;
  }
  /// Files a test writes go to its own directory.
  std::string scratch(const std::string &name) const { return own / name; }

  void expectLoadsIntoModel(const std::string &file) {
    SCOPED_TRACE(file);
    ParameterRegistry reg(modelSpecs(), at::kCPU, 0);
    loadIntoRegistry(reg, loadStateDict(path(file)), file);
    for (const ParameterSpec &spec : reg.specs()) {
      at::Tensor t = reg.find(spec.name);
      EXPECT_TRUE(at::allclose(t, expectedValue(spec))) << spec.name;
      EXPECT_TRUE(t.requires_grad());
      EXPECT_TRUE(t.is_leaf());
    }
  }

  static std::string fixture;
  TempDir own;
};
std::string RuntimeWeights::fixture;

} // namespace

TEST_F(RuntimeWeights, LoadsOrderedDictFromModuleStateDict) {
  StateDict sd = loadStateDict(path("ordered.pt"));
  ASSERT_EQ(sd.size(), 4u);
  EXPECT_EQ(sd[0].first, "features.0.weight"); // file order is kept
  EXPECT_EQ(sd[3].first, "fc.bias");
  expectLoadsIntoModel("ordered.pt");
}

TEST_F(RuntimeWeights, LoadsPlainDictProtocol4CheckpointAndParameters) {
  expectLoadsIntoModel("plain.pt");
  expectLoadsIntoModel("proto4.pt");
  expectLoadsIntoModel("checkpoint.pt");
  expectLoadsIntoModel("params.pt");
}

TEST_F(RuntimeWeights, RebuildsViewsDtypesAndScalars) {
  StateDict sd = loadStateDict(path("misc.pt"));
  std::map<std::string, at::Tensor> byName(sd.begin(), sd.end());
  EXPECT_TRUE(
      at::equal(byName.at("t"), at::arange(12, at::kFloat).view({3, 4}).t()));
  EXPECT_TRUE(at::equal(byName.at("slice"),
                        at::arange(5, 11, at::kFloat).view({2, 3})));
  EXPECT_EQ(byName.at("long").scalar_type(), at::kLong);
  EXPECT_TRUE(at::equal(byName.at("long"), at::arange(5)));
  EXPECT_EQ(byName.at("double").dim(), 0);
  EXPECT_EQ(byName.at("double").item<double>(), 3.5);
  EXPECT_EQ(byName.at("half").scalar_type(), at::kHalf);
  EXPECT_EQ(byName.at("half")[1].item<double>(), -2.0);
  EXPECT_EQ(byName.at("empty").sizes(), (std::vector<int64_t>{0, 3}));
  at::Tensor t = loadTensor(path("tensor.pt"));
  EXPECT_TRUE(at::equal(t, at::arange(24, at::kFloat).view({2, 3, 4})));
  std::string msg = errorOf([&] { loadTensor(path("plain.pt")); });
  EXPECT_NE(msg.find("expected a tensor"), std::string::npos) << msg;
  msg = errorOf([&] { loadStateDict(path("tensor.pt")); });
  EXPECT_NE(msg.find("expected a state dict"), std::string::npos) << msg;
}

// A convolution weight the layout pass stores channels_last on this kind of
// device starts with the values a contiguous one draws, loads a state dict
// into that layout, and is saved as an ordinary contiguous tensor.
TEST_F(RuntimeWeights, AChannelsLastWeightHoldsAndSavesTheSameValues) {
  std::vector<ParameterSpec> specs = modelSpecs();
  specs[0].storedNhwc.cpu = true;
  EXPECT_EQ(storageFormat(specs[0], at::kCPU), at::MemoryFormat::ChannelsLast);
  EXPECT_EQ(storageFormat(specs[1], at::kCPU), at::MemoryFormat::Contiguous);
  ParameterRegistry stored(specs, at::kCPU, 7);
  ParameterRegistry plain(modelSpecs(), at::kCPU, 7);
  at::Tensor w = stored.find("features.0.weight");
  ASSERT_TRUE(w.is_contiguous(at::MemoryFormat::ChannelsLast));
  ASSERT_FALSE(w.is_contiguous());
  EXPECT_TRUE(w.is_leaf() && w.requires_grad());
  EXPECT_TRUE(at::equal(w, plain.find("features.0.weight")));
  EXPECT_TRUE(at::equal(stored.find("fc.weight"), plain.find("fc.weight")));

  loadIntoRegistry(stored, loadStateDict(path("plain.pt")), "plain.pt");
  EXPECT_TRUE(w.is_contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(at::equal(w, expectedValue(specs[0])));

  saveStateDict(registryStateDict(stored), scratch("saved.pt"));
  for (const auto &[name, t] : loadStateDict(scratch("saved.pt"))) {
    EXPECT_TRUE(t.is_contiguous()) << name;
    EXPECT_TRUE(at::equal(t, stored.find(name))) << name;
  }
}

TEST_F(RuntimeWeights, ShapeMismatchNamesKeyAndShapes) {
  std::vector<ParameterSpec> specs = modelSpecs();
  specs[2].shape = {3, 8};
  ParameterRegistry reg(specs, at::kCPU, 0);
  at::Tensor before = reg.find("features.0.bias").detach().clone();
  std::string msg = errorOf([&] {
    loadIntoRegistry(reg, loadStateDict(path("ordered.pt")), "ordered.pt");
  });
  EXPECT_NE(msg.find("ordered.pt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("fc.weight (file [2, 8], model [3, 8])"),
            std::string::npos)
      << msg;
  // Nothing is copied when anything is wrong.
  EXPECT_TRUE(at::equal(reg.find("features.0.bias"), before));
}

TEST_F(RuntimeWeights, MissingAndUnexpectedKeysAreListed) {
  std::vector<ParameterSpec> specs = modelSpecs();
  specs.push_back({"extra.weight", {2}, ParamInit::Zeros, 1});
  specs.erase(specs.begin() + 1); // features.0.bias
  ParameterRegistry reg(specs, at::kCPU, 0);
  std::string msg = errorOf([&] {
    loadIntoRegistry(reg, loadStateDict(path("plain.pt")), "plain.pt");
  });
  EXPECT_NE(msg.find("missing keys: extra.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unexpected keys (not in the model): features.0.bias"),
            std::string::npos)
      << msg;
}

TEST_F(RuntimeWeights, CorruptTruncatedAndNonFilesFailClearly) {
  std::string bytes = readFile(path("ordered.pt"));
  struct Case {
    std::string name, content, expect;
  };
  std::vector<Case> cases = {
      {"truncated.pt", bytes.substr(0, bytes.size() / 2), "truncated.pt: "},
      {"cut.pt", bytes.substr(0, 100), "cut.pt: "},
      {"garbage.pt", std::string(300, 'x'), "not a torch.save file"},
      {"empty.pt", "", "empty file"},
  };
  // Flip bytes in the middle of data.pkl's compressed-free region.
  std::string corrupt = bytes;
  size_t pkl = corrupt.find("data.pkl");
  ASSERT_NE(pkl, std::string::npos);
  for (size_t i = pkl + 40; i < pkl + 120 && i < corrupt.size(); ++i)
    corrupt[i] = static_cast<char>(0xff);
  cases.push_back({"corrupt.pt", corrupt, "corrupt.pt: "});
  for (const Case &c : cases) {
    writeFile(scratch(c.name), c.content);
    std::string msg = errorOf([&] { loadStateDict(scratch(c.name)); });
    EXPECT_NE(msg.find(c.expect), std::string::npos) << c.name << ": " << msg;
    EXPECT_NE(msg.find(scratch(c.name)), std::string::npos) << msg;
  }
  std::string msg = errorOf([&] { loadStateDict(own.path()); });
  EXPECT_NE(msg.find("not a regular file"), std::string::npos) << msg;
  msg = errorOf([&] { loadStateDict(path("nonexistent.pt")); });
  EXPECT_NE(msg.find("nonexistent.pt: cannot open"), std::string::npos) << msg;
}

TEST_F(RuntimeWeights, SavedStateDictLoadsInPythonAndBackInCpp) {
  ParameterRegistry reg(modelSpecs(), at::kCPU, 3);
  StateDict sd = registryStateDict(reg);
  std::string file = scratch("saved.pt");
  saveStateDict(sd, file);
  saveTensor(at::arange(6, at::kFloat).view({2, 3}),
             scratch("saved_tensor.pt"));
  // Back in C++.
  StateDict back = loadStateDict(file);
  ASSERT_EQ(back.size(), sd.size());
  for (size_t i = 0; i < sd.size(); ++i) {
    EXPECT_EQ(back[i].first, sd[i].first);
    EXPECT_TRUE(at::equal(back[i].second, sd[i].second));
  }
  // In Python: torch.load gives a dict that load_state_dict accepts.
  std::ostringstream expected;
  expected << std::setprecision(9)
           << reg.find("fc.weight").sum().item<double>();
  std::string script = kModelPy + R"PY(
sd = torch.load('DIR/saved.pt', weights_only=True)
assert isinstance(sd, dict), type(sd)
assert list(sd.keys()) == ['features.0.weight', 'features.0.bias', 'fc.weight', 'fc.bias'], list(sd)
m.load_state_dict(sd)
assert abs(m.fc.weight.sum().item() - EXPECTED) < 1e-5, m.fc.weight.sum().item()
t = torch.load('DIR/saved_tensor.pt', weights_only=True)
assert torch.equal(t, torch.arange(6.).view(2, 3)), t
print('LOADED')
)PY";
  script = withDir(script, own.path());
  script.replace(script.find("EXPECTED"), 8, expected.str());
  std::string output;
  EXPECT_EQ(rtml::test::runPython(script, own.path(), output), 0) << output;
  EXPECT_NE(output.find("LOADED"), std::string::npos) << output;
}

TEST(RuntimeSerialization, AtomicWriteReplacesAndLeavesNoTemporaries) {
  TempDir dir;
  std::string file = dir / "ckpt.pt";
  writeFileAtomically(file, "first", 5);
  EXPECT_EQ(readFile(file), "first");
  writeFileAtomically(file, "second!", 7);
  EXPECT_EQ(readFile(file), "second!");
  int entries = 0;
  DIR *d = ::opendir(dir.path().c_str());
  while (dirent *e = ::readdir(d))
    entries += std::string(e->d_name) != "." && std::string(e->d_name) != "..";
  ::closedir(d);
  EXPECT_EQ(entries, 1) << "temporary file left behind";
  // A failing write leaves the target untouched and says why.
  std::string msg =
      errorOf([&] { writeFileAtomically(dir / "no/such/dir/x.pt", "x", 1); });
  EXPECT_NE(msg.find("no/such/dir/x.pt"), std::string::npos) << msg;
  EXPECT_FALSE(fileExists(dir / "no"));
}

//===----------------------------------------------------------------------===//
// CIFAR-10 Python format, random_split, random_resized_crop
//===----------------------------------------------------------------------===//

TEST(RuntimeData, ReadsThePythonFormatLikeTheBinaryOne) {
  TempDir dir;
  // The same records in both formats: the Python batches as the original
  // files are (Python 2 pickles: str keys and data as BINSTRING), as
  // Python 3's protocol 2 writes bytes (_codecs.encode) and as protocol 4.
  std::string binary = cifarRecords({3, 0, 9, 4});
  writeFile(dir / "records.bin", binary);
  std::string script = R"PY(
import numpy as np, os, pickle, struct
raw = np.fromfile('DIR/records.bin', dtype=np.uint8).reshape(-1, 3073)
labels, data = [int(x) for x in raw[:, 0]], raw[:, 1:].copy()
class Py2Pickler(pickle._Pickler):
    dispatch = dict(pickle._Pickler.dispatch)
    def save_bytes(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack('<i', len(obj)) + obj)
        self.memoize(obj)
    dispatch[bytes] = save_bytes
def save(path, d, how):
    with open(path, 'wb') as f:
        if how == 'py2':
            Py2Pickler(f, 2).dump(d)
        else:
            pickle.dump(d, f, protocol=how)
for sub, how in (('py2', 'py2'), ('p2', 2), ('p4', 4)):
    out = 'DIR/' + sub + '/cifar-10-batches-py'
    os.makedirs(out)
    for name, sl in (('data_batch_1', slice(0, 3)), ('data_batch_2', slice(3, 4)), ('test_batch', slice(0, 2))):
        save(os.path.join(out, name), {b'batch_label': b'x', b'labels': labels[sl], b'data': data[sl], b'filenames': [b'a'] * len(labels[sl])}, how)
bad = 'DIR/bad/cifar-10-batches-py'
os.makedirs(bad)
with open('DIR/py2/cifar-10-batches-py/data_batch_1', 'rb') as f:
    whole = f.read()
open(bad + '/data_batch_1', 'wb').write(whole[:len(whole) // 2])
save(bad + '/label', {b'labels': [1, 10, 2], b'data': data[:3]}, 'py2')
save(bad + '/count', {b'labels': [1, 2], b'data': data[:3]}, 'py2')
save(bad + '/dtype', {b'labels': [1, 2, 3], b'data': data[:3].astype(np.float32)}, 'py2')
save(bad + '/nodata', {b'labels': [1]}, 'py2')
save(bad + '/list', [1, 2], 'py2')
)PY";
  for (size_t at; (at = script.find("DIR")) != std::string::npos;)
    script.replace(at, 3, dir.path());
  std::string output;
  ASSERT_EQ(rtml::test::runPython(script, dir.path(), output), 0) << output;

  Dataset expected = readCifarFile(dir / "records.bin");
  for (const char *sub : {"py2", "p2", "p4"}) {
    CifarLocation at = locateCifar(dir / sub);
    EXPECT_EQ(at.format, CifarFormat::Python) << sub;
    EXPECT_EQ(at.dir, dir / sub + "/cifar-10-batches-py");
    Dataset train = readCifarTrain(dir / sub);
    ASSERT_EQ(train.size(), 4) << sub;
    EXPECT_TRUE(at::equal(train.images, expected.images)) << sub;
    EXPECT_TRUE(at::equal(train.labels, expected.labels)) << sub;
    EXPECT_EQ(readCifarTest(dir / sub).size(), 2);
  }

  std::string bad = dir / "bad/cifar-10-batches-py/";
  struct Case {
    std::string file, expect;
  };
  std::vector<Case> cases = {
      {"data_batch_1", "unexpected end of pickle data (truncated"},
      {"label", "image 1 has label 10, expected 0..9"},
      {"count", "'labels' has 2 entries for 3 images"},
      {"dtype", "'data' has dtype 'f4', expected uint8"},
      {"nodata", "no 'data' entry"},
      {"list", "expected a pickled dict"},
      {"missing", "no such file (expected a CIFAR-10 Python batch)"},
  };
  for (const Case &c : cases) {
    std::string msg = errorOf([&] { readCifarPythonFile(bad + c.file); });
    EXPECT_EQ(msg.rfind(bad + c.file + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(c.expect), std::string::npos) << msg;
  }
  // The directory is recognized as the Python format; test_batch is missing.
  std::string msg = errorOf([&] { readCifarTest(dir / "bad"); });
  EXPECT_NE(msg.find(bad + "test_batch: no such file"), std::string::npos)
      << msg;
  msg = errorOf([&] { readCifarTrain(dir / "nowhere"); });
  EXPECT_NE(msg.find("nowhere is not a directory"), std::string::npos) << msg;
}

TEST(RuntimeData, RandomSplitMatchesTorchRandomSplit) {
  Dataset set{at::zeros({50, 3, 32, 32}, at::kByte), at::arange(50)};
  auto [train, val] = randomSplit(set, 40, 10, 7);
  EXPECT_EQ(train.size(), 40);
  EXPECT_EQ(val.size(), 10);
  TempDir dir;
  std::string output;
  ASSERT_EQ(rtml::test::runPython(
                "import torch\n"
                "t, v = torch.utils.data.random_split(range(50), [40, 10], "
                "generator=torch.Generator().manual_seed(7))\n"
                "print(list(v))\n",
                dir.path(), output),
            0)
      << output;
  std::string ours = "[";
  for (int64_t i = 0; i < 10; ++i)
    ours += (i ? ", " : "") + std::to_string(val.labels[i].item<int64_t>());
  EXPECT_EQ(output, ours + "]\n");
  EXPECT_TRUE(at::equal(std::get<0>(at::cat({train.labels, val.labels}).sort()),
                        at::arange(50)));
}

TEST(RuntimeData, RandomResizedCropPerImage) {
  torch::manual_seed(0);
  at::Tensor images = at::randint(0, 256, {6, 3, 32, 32}, at::kByte);
  DataConfig cfg;
  TransformConfig crop;
  crop.kind = TransformConfig::Kind::RandomResizedCrop;
  crop.size = {24, 20};
  cfg.trainTransforms = {crop};
  TransformConfig resize;
  resize.kind = TransformConfig::Kind::Resize;
  resize.size = {24, 20};
  cfg.evalTransforms = {resize};
  BatchTransform a(cfg, at::kCPU, 3), b(cfg, at::kCPU, 3), c(cfg, at::kCPU, 4);
  at::Tensor x = a(images, true);
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{6, 3, 24, 20}));
  EXPECT_TRUE(at::equal(x, b(images, true)));  // same seed, same crops
  EXPECT_FALSE(at::equal(x, c(images, true))); // another seed
  EXPECT_FALSE(at::equal(a(images, true), x)); // a new draw each batch
  at::Tensor plain = a(images, false);         // eval: the resize only
  EXPECT_TRUE(
      at::allclose(plain, torch::nn::functional::interpolate(
                              images.to(at::kFloat) / 255,
                              torch::nn::functional::InterpolateFuncOptions()
                                  .size(std::vector<int64_t>{24, 20})
                                  .mode(torch::kBilinear)
                                  .align_corners(false))));
  // Scale and ratio 1: the whole image, so the crop is the plain resize.
  crop.scale = {1.0, 1.0};
  crop.ratio = {1.0, 1.0};
  crop.size = {32, 32};
  cfg.trainTransforms = {crop};
  BatchTransform whole(cfg, at::kCPU, 5);
  EXPECT_TRUE(at::allclose(whole(images, true), images.to(at::kFloat) / 255));
  crop.size = {};
  cfg.trainTransforms = {crop};
  EXPECT_NE(errorOf([&] {
              BatchTransform(cfg, at::kCPU, 0);
            }).find("random_resized_crop need a size"),
            std::string::npos);
}
