//===- ImageFolder.cpp - torchvision's ImageFolder layout -----------------===//
//
// DIR/train/<class>/**/*.{jpg,jpeg,png} for training and DIR/val/ (or
// DIR/test/) for testing, as torchvision.datasets.ImageFolder reads them:
// classes are the training folder's subfolders in byte order of their
// names, files within a class in os.walk(sorted) order. Every image is
// decoded once, by worker threads, into one uint8 [N, 3, H, W] tensor kept
// in memory. Images of different sizes are resized on load (bilinear, half-
// pixel centres, no antialiasing, rounded) to the size of the split
// pipeline's first resize; without one they are refused.
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

uint64_t imageCacheBytes() {
  if (const char *mb = std::getenv("RTML_IMAGE_CACHE_MB")) {
    char *end = nullptr;
    unsigned long long v = std::strtoull(mb, &end, 10);
    if (*mb && !*end)
      return uint64_t(v) << 20;
  }
  return uint64_t(8) << 30;
}

Dataset readImageFolder(const std::string &split,
                        const std::vector<std::string> &classes,
                        const std::vector<TransformConfig> &pipeline) {
  std::vector<std::string> present = classFolders(split);
  std::vector<std::string> files;
  std::vector<int64_t> labels;
  for (const std::string &name : present) {
    auto it = std::find(classes.begin(), classes.end(), name);
    if (it == classes.end())
      throw DataFileError(split + "/" + name,
                          "a class folder the training set does not have "
                          "(its classes are the folders of train/)");
    for (std::string &f : imagesUnder(split + "/" + name)) {
      files.push_back(std::move(f));
      labels.push_back(it - classes.begin());
    }
  }
  if (files.empty())
    throw DataFileError(split, "no images (expected class folders holding "
                               ".jpg, .jpeg or .png files)");

  // Decode on every core; the first error (in file order) is reported.
  std::vector<RgbImage> images(files.size());
  std::vector<std::string> errors(files.size());
  std::atomic<size_t> next{0};
  unsigned workers =
      std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (unsigned w = 0; w < workers; ++w)
    pool.emplace_back([&] {
      for (size_t i; (i = next++) < files.size();) {
        try {
          images[i] = readImageFile(files[i]);
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

  auto [height, width] = firstResize(pipeline);
  if (height == 0) {
    height = images[0].height;
    width = images[0].width;
    for (size_t i = 1; i < images.size(); ++i)
      if (images[i].height != height || images[i].width != width)
        throw DataFileError(
            files[i], "is " + std::to_string(images[i].height) + "x" +
                          std::to_string(images[i].width) + " but " + files[0] +
                          " is " + std::to_string(height) + "x" +
                          std::to_string(width) +
                          " (height x width): images of different sizes need "
                          "a resize in the data pipeline, to whose size they "
                          "are resized on load");
  }
  uint64_t bytes = uint64_t(files.size()) * 3 * height * width;
  if (bytes > imageCacheBytes())
    throw DataFileError(split, std::to_string(files.size()) + " images of " +
                                   std::to_string(height) + "x" +
                                   std::to_string(width) + " need " +
                                   std::to_string(bytes >> 20) +
                                   " MB decoded, more than the in-memory "
                                   "cache allows (" +
                                   std::to_string(imageCacheBytes() >> 20) +
                                   " MB; set RTML_IMAGE_CACHE_MB)");
  at::Tensor out =
      at::empty({int64_t(files.size()), 3, height, width}, at::kByte);
  at::parallel_for(0, int64_t(files.size()), 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      out[i].copy_(toTensor(std::move(images[i]), height, width)[0]);
      images[i] = RgbImage();
    }
  });
  return Dataset{out, at::tensor(labels, at::kLong)};
}

} // namespace rtml
