//===- Idx.h - The IDX format of MNIST and Fashion-MNIST ------------------===//
//
// An IDX file is a big-endian header (two zero bytes, a type byte, the
// number of dimensions, then each dimension as a 32-bit count) followed by
// the elements, row-major. MNIST and Fashion-MNIST ship four, usually
// gzipped: train-images-idx3-ubyte [N, H, W] and train-labels-idx1-ubyte [N],
// and the t10k-* pair for testing. As torchvision.datasets.MNIST, only
// unsigned bytes (type 0x08) are read. Plain C++ (no LibTorch).
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_IDX_H
#define RTML_RUNTIME_IDX_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rtml {

/// The most bytes of elements an IDX file may declare (2 GiB: MNIST's
/// training images are 47 MB); a header beyond it is refused before any
/// allocation.
constexpr uint64_t kMaxIdxBytes = uint64_t(1) << 31;
/// The most a compressed or plain IDX file may occupy on disk.
constexpr uint64_t kMaxIdxFileBytes = kMaxIdxBytes + 4 + 4 * 255;

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data; ///< row-major, product(dims) bytes
};

/// Parses the bytes of an IDX file of unsigned bytes (gzipped or not) whose
/// dimensions number DIMS. Throws DataFileError naming NAME for a wrong
/// magic or type, a dimension count other than DIMS, a zero dimension, a
/// declared size above kMaxIdxBytes, too few bytes, or bytes after the last
/// element.
IdxArray parseIdx(const uint8_t *data, size_t size, size_t dims,
                  const std::string &name);

/// Reads and parses PATH (see parseIdx).
IdxArray readIdxFile(const std::string &path, size_t dims);

/// An image set and its labels from an images file [N, H, W] and a labels
/// file [N].
struct IdxImages {
  int64_t count = 0, height = 0, width = 0;
  std::vector<uint8_t> pixels; ///< [N, H, W]
  std::vector<uint8_t> labels; ///< [N], each below kIdxClasses
};
/// MNIST's and Fashion-MNIST's ten classes.
constexpr int kIdxClasses = 10;

/// Checks the pair against each other: the same N, every label in
/// 0..kIdxClasses-1 (the message names the labels file and the index).
IdxImages combineIdx(IdxArray images, const std::string &imagesName,
                     IdxArray labels, const std::string &labelsName);

/// The files of one split: PREFIX-images-idx3-ubyte and
/// PREFIX-labels-idx1-ubyte in DIR, each found as is or with ".gz".
IdxImages readIdxSplit(const std::string &dir, const std::string &prefix);

/// The path of DIR/STEM or DIR/STEM.gz, whichever exists (the plain one
/// first, as torchvision extracts archives); "" when neither does.
std::string findIdxFile(const std::string &dir, const std::string &stem);

} // namespace rtml

#endif // RTML_RUNTIME_IDX_H
