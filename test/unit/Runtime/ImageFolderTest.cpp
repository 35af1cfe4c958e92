//===- ImageFolderTest.cpp - torchvision's ImageFolder layout -------------===//
#include "TestUtil.h"

#include "rtml/Runtime/Data.h"
#include "rtml/Runtime/ImageDecode.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

using namespace rtml;
using namespace rtml::test;

namespace {

/// Writes an ImageFolder tree under DIR with PIL (PNG and JPEG; RGB,
/// grayscale, RGBA and palette images; a nested folder; a file that is not
/// an image), and torchvision's view of it: DIR/expected.raw (the images of
/// train/ as np.array(img.convert('RGB')), N x H x W x 3) and
/// DIR/expected.txt (classes, then the targets).
void writeTree(const TempDir &dir, bool mixedSizes) {
  std::string script = R"PY(
import os, numpy as np, torchvision
from PIL import Image
rng = np.random.default_rng(0)
root = 'DIR'
def img(h, w):
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
def save(path, image, **kw):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image.save(path, **kw)
H, W = 6, 5
for split, n in (('train', 2), ('val', 1)):
    for cls in ('dog', 'Cat', 'ant_b', 'ant'):
        for i in range(n):
            base = f'{root}/{split}/{cls}/img{i}'
            save(base + '.png', Image.fromarray(img(H, W)))
            save(base + '_gray.PNG', Image.fromarray(img(H, W)[:, :, 0]))
        save(f'{root}/{split}/{cls}/z/deep.jpg', Image.fromarray(img(H, W)), quality=95)
save(f'{root}/train/dog/rgba.png', Image.fromarray(np.dstack([img(H, W), img(H, W)[:, :, :1]])))
save(f'{root}/train/Cat/palette.png', Image.fromarray(img(H, W)).convert('P'))
save(f'{root}/train/ant/gray.jpg', Image.fromarray(img(H, W)[:, :, 0]))
if MIXED:
    save(f'{root}/train/ant/big.png', Image.fromarray(img(9, 7)))
open(f'{root}/train/dog/notes.txt', 'w').write('not an image')
ds = torchvision.datasets.ImageFolder(root + '/train')
if not MIXED:
    np.stack([np.array(Image.open(p).convert('RGB')) for p, _ in ds.samples]).tofile(root + '/expected.raw')
with open(root + '/expected.txt', 'w') as f:
    f.write(' '.join(ds.classes) + '\n' + ' '.join(str(t) for _, t in ds.samples) + '\n')
    f.write(str(len(torchvision.datasets.ImageFolder(root + '/val'))) + '\n')
)PY";
  for (size_t at; (at = script.find("DIR")) != std::string::npos;)
    script.replace(at, 3, dir.path());
  script.replace(script.find("MIXED"), 5, mixedSizes ? "True" : "False");
  script.replace(script.find("MIXED"), 5, mixedSizes ? "True" : "False");
  std::string output;
  ASSERT_EQ(runPython(script, dir.path(), output), 0) << output;
}

std::vector<std::string> lines(const std::string &text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

} // namespace

TEST(ImageFolderData, MatchesTorchvisionImageFolder) {
  TempDir dir;
  writeTree(dir, false);
  EXPECT_EQ(locateData(dir.path()).format, DataFormat::ImageFolder);
  Dataset train = readTrainSet(dir.path());
  std::vector<std::string> expected = lines(readFile(dir / "expected.txt"));
  ASSERT_EQ(expected.size(), 3u);
  // torchvision sorts class folders by name in byte order: Cat ant ant_b dog.
  EXPECT_EQ(expected[0], "Cat ant ant_b dog");
  std::string targets;
  for (int64_t i = 0; i < train.size(); ++i)
    targets += (i ? " " : "") + std::to_string(train.labels[i].item<int64_t>());
  EXPECT_EQ(targets, expected[1]);
  ASSERT_EQ(train.images.sizes(),
            (std::vector<int64_t>{train.size(), 3, 6, 5}));
  std::string raw = readFile(dir / "expected.raw");
  ASSERT_EQ(raw.size(), size_t(train.images.numel()));
  at::Tensor reference =
      at::from_blob(raw.data(), {train.size(), 6, 5, 3}, at::kByte)
          .permute({0, 3, 1, 2});
  // PNG decodes exactly; JPEG within libjpeg-turbo's IDCT rounding.
  at::Tensor diff = (train.images.to(at::kInt) - reference.to(at::kInt)).abs();
  EXPECT_LE(diff.max().item<int>(), 2);
  EXPECT_EQ(readTestSet(dir.path()).size(), std::stoll(expected[2]));
}

TEST(ImageFolderData, MixedSizesNeedAResize) {
  TempDir dir;
  writeTree(dir, true);
  std::string msg = errorOf([&] { readTrainSet(dir.path()); });
  EXPECT_NE(msg.find("images of different sizes need a resize"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find(dir / "train/"), std::string::npos) << msg;
  DataConfig config;
  config.resize = 8;
  Dataset train = readTrainSet(dir.path(), config);
  EXPECT_EQ(train.images.sizes(),
            (std::vector<int64_t>{train.size(), 3, 8, 8}));
}

TEST(ImageFolderData, RefusesBrokenImagesNamingTheFile) {
  TempDir dir;
  writeTree(dir, false);
  std::string png = readFile(dir / "train/dog/img0.png");
  writeFile(dir / "train/dog/img0.png", png.substr(0, png.size() / 2));
  std::string msg = errorOf([&] { readTrainSet(dir.path()); });
  EXPECT_EQ(msg.rfind(dir / "train/dog/img0.png: ", 0), 0u) << msg;
  EXPECT_NE(msg.find("PNG"), std::string::npos) << msg;

  std::string jpg = readFile(dir / "train/ant/z/deep.jpg");
  std::string msgJpeg = errorOf([&] {
    decodeImage(reinterpret_cast<const uint8_t *>(jpg.data()), jpg.size() / 2,
                "cut.jpg");
  });
  EXPECT_EQ(msgJpeg.rfind("cut.jpg: ", 0), 0u) << msgJpeg;
  EXPECT_NE(msgJpeg.find("JPEG"), std::string::npos) << msgJpeg;
  EXPECT_NE(errorOf([&] {
              decodeImage(reinterpret_cast<const uint8_t *>("GIF89a"), 6,
                          "x.gif");
            }).find("x.gif: not a JPEG or PNG image"),
            std::string::npos);
  // A class in val/ that train/ lacks.
  ASSERT_EQ(std::system(("mkdir -p '" + dir / "val/zebra" + "' && cp '" +
                         dir / "train/Cat/img0.png" + "' '" +
                         dir / "val/zebra/" + "'")
                            .c_str()),
            0);
  msg = errorOf([&] { readTestSet(dir.path()); });
  EXPECT_NE(
      msg.find("val/zebra: a class folder the training set does not have"),
      std::string::npos)
      << msg;
}

namespace {

/// Sets RTML_IMAGE_CACHE_MB for the scope: 0 streams every split.
/// Every batch of two epochs of SAMPLER, concatenated.
std::pair<at::Tensor, at::Tensor> twoEpochs(BatchSampler &sampler) {
  std::vector<at::Tensor> images, labels;
  for (int epoch = 0; epoch < 2; ++epoch) {
    sampler.startEpoch();
    for (int64_t i = 0; i < sampler.numBatches(); ++i) {
      auto [x, y] = sampler.batch(i);
      images.push_back(x);
      labels.push_back(y);
    }
  }
  return {at::cat(images), at::cat(labels)};
}

} // namespace

TEST(ImageFolderData, SplitsLargerThanTheCacheAreStreamedAsTheSameBatches) {
  TempDir dir;
  writeTree(dir, true); // mixed sizes: the resize happens on load
  DataConfig config;
  config.resize = 8;
  Dataset inMemory = readTrainSet(dir.path(), config);
  ASSERT_FALSE(inMemory.streamed());
  Dataset streamed;
  {
    ScopedEnv limit("RTML_IMAGE_CACHE_MB", "0");
    EXPECT_EQ(imageCacheBytes(), 0u);
    streamed = readTrainSet(dir.path(), config);
  }
  ASSERT_TRUE(streamed.streamed());
  EXPECT_FALSE(streamed.images.defined());
  EXPECT_EQ(streamed.size(), inMemory.size());
  EXPECT_EQ(streamed.imageShape(), (std::vector<int64_t>{3, 8, 8}));
  EXPECT_TRUE(at::equal(streamed.loadImages(), inMemory.images));

  // Shuffled batches (a last short one included), prefetched ahead, equal
  // the in-memory set's; so do the split, the first N and a shard.
  for (bool shuffle : {true, false}) {
    BatchSampler a(inMemory, 4, shuffle, 7), b(streamed, 4, shuffle, 7);
    auto [xa, ya] = twoEpochs(a);
    auto [xb, yb] = twoEpochs(b);
    EXPECT_TRUE(at::equal(xa, xb)) << "shuffle " << shuffle;
    EXPECT_TRUE(at::equal(ya, yb)) << "shuffle " << shuffle;
  }
  auto [trainA, valA] = randomSplit(inMemory, 10, 5, 3);
  auto [trainB, valB] = randomSplit(streamed, 10, 5, 3);
  EXPECT_TRUE(at::equal(trainA.images, trainB.loadImages()));
  EXPECT_TRUE(at::equal(valA.labels, valB.labels));
  EXPECT_TRUE(at::equal(valA.images, valB.loadImages()));
  EXPECT_TRUE(at::equal(takeFirst(inMemory, 3).images,
                        takeFirst(streamed, 3).loadImages()));
  EXPECT_TRUE(at::equal(contiguousShard(inMemory, 1, 3).images,
                        contiguousShard(streamed, 1, 3).loadImages()));
  EXPECT_NO_THROW(checkInputMatches(streamed, config, {3, 8, 8}, dir.path()));
}

TEST(ImageFolderData, StreamedSplitsRefuseBrokenAndMisfitImagesNamingThem) {
  TempDir dir;
  writeTree(dir, true);
  ScopedEnv limit("RTML_IMAGE_CACHE_MB", "0");
  // Without a resize, the odd-sized image is refused when its batch is read.
  Dataset mixed = readTrainSet(dir.path());
  ASSERT_TRUE(mixed.streamed());
  std::string msg = errorOf([&] { mixed.loadImages(); });
  EXPECT_EQ(msg.rfind(dir / "train/ant/big.png: is 9x7 but ", 0), 0u) << msg;
  EXPECT_NE(msg.find("images of different sizes need a resize"),
            std::string::npos)
      << msg;

  // A file broken after the listing fails its batch, in the prefetch too.
  DataConfig config;
  config.resize = 8;
  Dataset set = readTrainSet(dir.path(), config);
  std::string png = readFile(dir / "train/dog/img0.png");
  writeFile(dir / "train/dog/img0.png", png.substr(0, png.size() / 2));
  BatchSampler sampler(set, 4, /*shuffle=*/false, 0);
  sampler.startEpoch();
  std::string batchMsg = "<no error>";
  for (int64_t i = 0; i < sampler.numBatches() && batchMsg == "<no error>"; ++i)
    batchMsg = errorOf([&] { sampler.batch(i); });
  EXPECT_EQ(batchMsg.rfind(dir / "train/dog/img0.png: ", 0), 0u) << batchMsg;
}
