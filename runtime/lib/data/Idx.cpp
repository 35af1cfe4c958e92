//===- Idx.cpp - The IDX format of MNIST and Fashion-MNIST ----------------===//
#include "rtml/Runtime/Idx.h"
#include "rtml/Runtime/DataFiles.h"

#include <cstdio>
#include <cstring>
#include <memory>

namespace rtml {

namespace {

constexpr uint8_t kUnsignedByte = 0x08;

/// Plain bytes or a gzip stream, read front to back.
class IdxSource {
public:
  IdxSource(const uint8_t *data, size_t size, const std::string &name)
      : data(data), size(size), name(name) {
    if (isGzip(data, size))
      gzip = std::make_unique<GzipReader>(data, size, name);
  }
  void read(uint8_t *out, size_t n, const std::string &what) {
    if (gzip)
      return gzip->read(out, n, what);
    if (size - offset < n)
      throw DataFileError(name, "truncated: " + std::to_string(size) +
                                    " bytes, " + what + " needs " +
                                    std::to_string(n) + " after byte " +
                                    std::to_string(offset));
    std::memcpy(out, data + offset, n);
    offset += n;
  }
  /// Refuses, before anything is allocated, a declared size the input
  /// cannot hold: the rest of a plain file, or deflate's largest expansion
  /// (1032:1) of a gzip file.
  void requireAvailable(uint64_t n, const std::string &what) {
    uint64_t most = gzip ? uint64_t(size) * 1032 + 1024 : size - offset;
    if (n > most)
      throw DataFileError(
          name,
          "truncated: " + what + " needs " + std::to_string(n) +
              " bytes, more than the " + std::to_string(size) +
              (gzip ? "-byte gzip stream can hold"
                    : "-byte file holds after byte " + std::to_string(offset)));
  }
  /// Bytes left after the last element: an error, never ignored.
  void requireEnd(uint64_t expectedTotal) {
    bool end = gzip ? gzip->atEnd() : offset == size;
    if (!end)
      throw DataFileError(
          name, gzip ? "trailing bytes: the data inflates to more than the " +
                           std::to_string(expectedTotal) +
                           " bytes its header declares"
                     : "trailing bytes: " + std::to_string(size) +
                           " bytes, the header declares " +
                           std::to_string(expectedTotal));
  }

private:
  const uint8_t *data;
  size_t size, offset = 0;
  const std::string &name;
  std::unique_ptr<GzipReader> gzip;
};

std::string typeName(uint8_t type) {
  switch (type) {
  case 0x09:
    return "signed byte";
  case 0x0B:
    return "short";
  case 0x0C:
    return "int";
  case 0x0D:
    return "float";
  case 0x0E:
    return "double";
  default:
    return "unknown";
  }
}

std::string dimsString(const std::vector<int64_t> &dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

} // namespace

IdxArray parseIdx(const uint8_t *data, size_t size, size_t rank,
                  const std::string &name) {
  IdxSource in(data, size, name);
  uint8_t magic[4];
  in.read(magic, 4, "the IDX magic number");
  if (magic[0] != 0 || magic[1] != 0)
    throw DataFileError(name, "not an IDX file: its first two bytes are not "
                              "zero (an MNIST-style IDX file starts 00 00 08)");
  if (magic[2] != kUnsignedByte) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", magic[2]);
    throw DataFileError(name, std::string("IDX element type ") + hex + " (" +
                                  typeName(magic[2]) +
                                  ") is not supported, expected 0x08 "
                                  "(unsigned byte)");
  }
  if (magic[3] != rank)
    throw DataFileError(
        name, "IDX file has " + std::to_string(magic[3]) +
                  " dimensions, expected " + std::to_string(rank) +
                  (rank == 3 ? " (images: N, height, width)" : " (labels: N)"));
  std::vector<uint8_t> header(4 * rank);
  in.read(header.data(), header.size(), "the IDX dimensions");
  IdxArray out;
  uint64_t total = 1;
  for (size_t i = 0; i < rank; ++i) {
    const uint8_t *b = &header[4 * i];
    uint64_t d = (uint64_t(b[0]) << 24) | (uint64_t(b[1]) << 16) |
                 (uint64_t(b[2]) << 8) | b[3];
    out.dims.push_back(static_cast<int64_t>(d));
    if (d == 0)
      throw DataFileError(name, "IDX dimension " + std::to_string(i) +
                                    " is 0: the file holds no data");
    // Both factors are below 2^32 and total stays at most kMaxIdxBytes
    // (2^31), so the product cannot wrap before the check.
    total *= d;
    if (total > kMaxIdxBytes)
      throw DataFileError(name, "IDX header declares more than " +
                                    std::to_string(kMaxIdxBytes) +
                                    " bytes of data (dimensions so far " +
                                    dimsString(out.dims) + ")");
  }
  std::string elements = "the " + dimsString(out.dims) + " elements";
  in.requireAvailable(total, elements);
  out.data.resize(static_cast<size_t>(total));
  in.read(out.data.data(), out.data.size(), elements);
  in.requireEnd(4 + 4 * rank + total);
  return out;
}

IdxArray readIdxFile(const std::string &path, size_t rank) {
  std::vector<uint8_t> bytes = readWholeFile(
      path, rank == 3 ? "an IDX images file" : "an IDX labels file",
      kMaxIdxFileBytes);
  return parseIdx(bytes.data(), bytes.size(), rank, path);
}

IdxImages combineIdx(IdxArray images, const std::string &imagesName,
                     IdxArray labels, const std::string &labelsName) {
  if (images.dims[0] != labels.dims[0])
    throw DataFileError(labelsName,
                        std::to_string(labels.dims[0]) + " labels, but " +
                            imagesName + " holds " +
                            std::to_string(images.dims[0]) + " images");
  for (size_t i = 0; i < labels.data.size(); ++i)
    if (labels.data[i] >= kIdxClasses)
      throw DataFileError(labelsName, "label " + std::to_string(i) + " is " +
                                          std::to_string(labels.data[i]) +
                                          ", expected 0.." +
                                          std::to_string(kIdxClasses - 1));
  IdxImages out;
  out.count = images.dims[0];
  out.height = images.dims[1];
  out.width = images.dims[2];
  out.pixels = std::move(images.data);
  out.labels = std::move(labels.data);
  return out;
}

std::string findIdxFile(const std::string &dir, const std::string &stem) {
  for (const std::string &path : {dir + "/" + stem, dir + "/" + stem + ".gz"})
    if (fileStatus(path) != FileStatus::Missing)
      return path;
  return "";
}

IdxImages readIdxSplit(const std::string &dir, const std::string &prefix) {
  std::string imagesStem = prefix + "-images-idx3-ubyte";
  std::string labelsStem = prefix + "-labels-idx1-ubyte";
  std::string images = findIdxFile(dir, imagesStem);
  std::string labels = findIdxFile(dir, labelsStem);
  if (images.empty())
    throw DataFileError(dir + "/" + imagesStem,
                        "no such file (nor " + imagesStem +
                            ".gz): an IDX data set needs it");
  if (labels.empty())
    throw DataFileError(dir + "/" + labelsStem,
                        "no such file (nor " + labelsStem +
                            ".gz): an IDX data set needs it");
  // Images first: an error names the first broken file.
  IdxArray pixels = readIdxFile(images, 3);
  return combineIdx(std::move(pixels), images, readIdxFile(labels, 1), labels);
}

} // namespace rtml
