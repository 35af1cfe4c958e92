//===- ImageFolder.cpp - torchvision's ImageFolder layout -----------------===//
//
// DIR/train/<class>/**/*.{jpg,jpeg,png} for training and DIR/val/ (or
// DIR/test/) for testing, as torchvision.datasets.ImageFolder reads them:
// classes are the training folder's subfolders in byte order of their
// names, files within a class in os.walk(sorted) order. Every image is
// decoded once, by worker threads, into one uint8 [N, 3, H, W] tensor kept
// in memory, unless that would exceed imageCacheBytes(): then the split is
// streamed, each batch decoded from its files ahead of the step. Images of
// different sizes are resized on load (bilinear, half-pixel centres, no
// antialiasing, rounded) to the size of the split pipeline's first resize;
// without one they are refused.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Data.h"
#include "rtml/Runtime/DataFiles.h"
#include "rtml/Runtime/ImageDecode.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/upsampling.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>
#include <tuple>

namespace fs = std::filesystem;

namespace rtml {

namespace {

bool isImageName(const std::string &name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  for (const char *ext : {".jpg", ".jpeg", ".png"}) {
    size_t n = std::strlen(ext);
    if (lower.size() > n && lower.compare(lower.size() - n, n, ext) == 0)
      return true;
  }
  return false;
}

bool isDirectory(const fs::path &p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

/// The class folders of a split, sorted by name (byte order).
std::vector<std::string> classFolders(const std::string &split) {
  std::vector<std::string> classes;
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(split, ec))
    if (isDirectory(e.path()))
      classes.push_back(e.path().filename().string());
  if (ec)
    throw DataFileError(split, "cannot list: " + ec.message());
  std::sort(classes.begin(), classes.end());
  return classes;
}

/// The image files under DIR as os.walk with sorted names lists them: the
/// folders in order of their path, each folder's files by name.
std::vector<std::string> imagesUnder(const std::string &dir) {
  std::map<std::string, std::vector<std::string>> byFolder;
  std::error_code ec;
  fs::recursive_directory_iterator it(
      dir, fs::directory_options::follow_directory_symlink, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it.depth() > 32)
      throw DataFileError(dir, "folders nested deeper than 32 levels");
    if (!isDirectory(it->path()) && isImageName(it->path().filename()))
      byFolder[it->path().parent_path().string()].push_back(
          it->path().string());
  }
  if (ec)
    throw DataFileError(dir, "cannot list: " + ec.message());
  std::vector<std::string> files;
  for (auto &[folder, names] : byFolder) {
    std::sort(names.begin(), names.end());
    files.insert(files.end(), names.begin(), names.end());
  }
  return files;
}

/// [1, 3, H, W] uint8 of IMAGE, resized to H x W when it is not that size.
at::Tensor toTensor(RgbImage image, int64_t height, int64_t width) {
  at::Tensor t = at::from_blob(image.pixels.data(),
                               {1, image.height, image.width, 3}, at::kByte)
                     .permute({0, 3, 1, 2});
  if (image.height == height && image.width == width)
    return t.contiguous();
  namespace F = torch::nn::functional;
  at::Tensor resized = F::interpolate(
      t.to(at::kFloat), F::InterpolateFuncOptions()
                            .size(std::vector<int64_t>{height, width})
                            .mode(torch::kBilinear)
                            .align_corners(false));
  return resized.round().clamp(0, 255).to(at::kByte);
}

/// The size of PIPELINE's first resize, or {0, 0}.
std::pair<int64_t, int64_t>
firstResize(const std::vector<TransformConfig> &pipeline) {
  for (const TransformConfig &t : pipeline)
    if (t.kind == TransformConfig::Kind::Resize && t.size.size() == 2)
      return {t.size[0], t.size[1]};
  return {0, 0};
}

} // namespace

std::string imageFolderTestSplit(const std::string &dir) {
  for (const char *name : {"val", "test"})
    if (isDirectory(fs::path(dir) / name))
      return dir + "/" + name;
  return "";
}

bool holdsImageFolder(const std::string &dir) {
  return isDirectory(fs::path(dir) / "train");
}

std::vector<std::string> imageFolderClasses(const std::string &dir) {
  std::vector<std::string> classes = classFolders(dir + "/train");
  if (classes.empty())
    throw DataFileError(dir + "/train", "no class folders (expected "
                                        "train/<class>/*.jpg or *.png)");
  return classes;
}

uint64_t megabytesFromEnv(const char *name, uint64_t fallback) {
  if (const char *mb = std::getenv(name)) {
    char *end = nullptr;
    unsigned long long v = std::strtoull(mb, &end, 10);
    if (*mb && !*end)
      return uint64_t(v) << 20;
  }
  return fallback;
}

uint64_t imageCacheBytes() {
  return megabytesFromEnv("RTML_IMAGE_CACHE_MB", uint64_t(8) << 30);
}

namespace {

/// Where image PATH's size differs from the size of FIRST, HEIGHT x WIDTH,
/// which a pipeline without a resize needs every image to have.
DataFileError sizeMismatch(const std::string &path, const RgbImage &image,
                           const std::string &first, int64_t height,
                           int64_t width) {
  return DataFileError(
      path, "is " + std::to_string(image.height) + "x" +
                std::to_string(image.width) + " but " + first + " is " +
                std::to_string(height) + "x" + std::to_string(width) +
                " (height x width): images of different sizes need a resize "
                "in the data pipeline, to whose size they are resized on "
                "load");
}

} // namespace

at::Tensor ImageFiles::decode(const at::Tensor &rows) const {
  at::Tensor index = rows.to(at::kLong).contiguous();
  const int64_t *row = index.data_ptr<int64_t>();
  int64_t n = index.numel();
  at::Tensor out = at::empty({n, 3, height, width}, at::kByte);
  // Decode on up to 8 threads; the first error (in ROWS order) is reported.
  std::vector<std::string> errors(n);
  std::atomic<int64_t> next{0};
  unsigned workers = std::max(
      1u, std::min({8u, std::thread::hardware_concurrency(), unsigned(n)}));
  std::vector<std::thread> pool;
  for (unsigned w = 0; w < workers; ++w)
    pool.emplace_back([&] {
      for (int64_t i; (i = next++) < n;) {
        try {
          TORCH_CHECK(row[i] >= 0 && row[i] < int64_t(paths.size()),
                      "image row out of range");
          const std::string path = root + "/" + paths[row[i]];
          RgbImage image = readImageFile(path);
          if (!resizeOnLoad && (image.height != height || image.width != width))
            throw sizeMismatch(path, image, root + "/" + paths[0], height,
                               width);
          out[i].copy_(toTensor(std::move(image), height, width)[0]);
        } catch (const std::exception &e) {
          errors[i] = e.what();
        }
      }
    });
  for (std::thread &t : pool)
    t.join();
  for (const std::string &e : errors)
    if (!e.empty())
      throw std::runtime_error(e);
  return out;
}

Dataset readImageFolder(const std::string &split,
                        const std::vector<std::string> &classes,
                        const std::vector<TransformConfig> &pipeline) {
  auto files = std::make_shared<ImageFiles>();
  files->root = split;
  std::vector<int64_t> labels;
  for (const std::string &name : classFolders(split)) {
    auto it = std::find(classes.begin(), classes.end(), name);
    if (it == classes.end())
      throw DataFileError(split + "/" + name,
                          "a class folder the training set does not have "
                          "(its classes are the folders of train/)");
    for (std::string &f : imagesUnder(split + "/" + name)) {
      files->paths.push_back(f.substr(split.size() + 1));
      labels.push_back(it - classes.begin());
    }
  }
  if (files->paths.empty())
    throw DataFileError(split, "no images (expected class folders holding "
                               ".jpg, .jpeg or .png files)");

  // Without a resize in the pipeline, every image must have the first's size.
  std::tie(files->height, files->width) = firstResize(pipeline);
  files->resizeOnLoad = files->height > 0;
  if (!files->resizeOnLoad) {
    RgbImage first = readImageFile(split + "/" + files->paths[0]);
    files->height = first.height;
    files->width = first.width;
  }
  int64_t n = int64_t(files->paths.size());
  Dataset set{at::Tensor(), at::tensor(labels, at::kLong), files,
              at::arange(n, at::kLong)};
  uint64_t bytes = uint64_t(n) * 3 * files->height * files->width;
  if (bytes > imageCacheBytes())
    return set;
  // It fits: decode every image once and keep them in memory.
  return Dataset{set.loadImages(), set.labels};
}

} // namespace rtml
