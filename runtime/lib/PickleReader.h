//===- PickleReader.h - The pickle machine behind every torch.save reader -===//
//
// Python objects as far as torch.save's pickles (and CIFAR-10's Python
// batches) need them, and the machine that rebuilds them from untrusted
// bytes. Every limit below is checked before memory is touched: the machine
// refuses what no honest file holds rather than crash on it.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_PICKLEREADER_H
#define RTML_RUNTIME_PICKLEREADER_H

#include "FileError.h"
#include "rtml/Runtime/PickleKind.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace caffe2::serialize {
class PyTorchStreamReader;
} // namespace caffe2::serialize

namespace rtml {

struct PyObject;
using PyRef = std::shared_ptr<PyObject>;

struct PyObject {
  using Kind = PickleKind;
  Kind kind = Kind::None;
  int64_t intValue = 0; // Bool, Int
  double floatValue = 0;
  std::string text;         // String, Bytes, Global/Object: "module.name"
  std::vector<PyRef> items; // Tuple, List
  std::vector<std::pair<PyRef, PyRef>> entries; // Dict
  at::Tensor tensor;                            // Storage, Tensor
  PyRef state; // Object: what BUILD set (e.g. a numpy array's data)
};

/// Containers nested deeper than this are refused (torch.save's state dicts
/// and checkpoints nest a few levels; the walks over them recurse this deep
/// at most).
constexpr size_t kMaxPickleNesting = 100;
/// Objects one pickle may create (a CIFAR batch's label list is 10,000).
constexpr size_t kMaxPickleObjects = size_t(1) << 22;

/// Ranks above this are refused (ATen's kernels stop well below).
constexpr size_t kMaxTensorRank = 64;

/// Why the view (OFFSET, SIZES, STRIDES) does not fit in a storage of
/// STORAGE_NUMEL elements, or "" when it does. Checked in unsigned,
/// overflow-checked arithmetic: ATen's own check wraps for offsets near 2^63.
std::string viewOutsideStorage(int64_t offset,
                               const std::vector<int64_t> &sizes,
                               const std::vector<int64_t> &strides,
                               int64_t storageNumel);
/// Why the objects reachable from OBJECTS are not an acyclic graph at most
/// kMaxPickleNesting deep, or "". Iterative: safe on any depth.
std::string objectGraphProblem(const std::vector<PyRef> &objects);

/// Runs the pickle DATA[0, SIZE) and returns its top-level object, a tree
/// (or DAG) at most kMaxPickleNesting deep: self-referential containers are
/// refused. ARCHIVE holds the tensor storages (null: a plain pickle). Throws
/// std::runtime_error with the offset and the problem.
PyRef unpickle(const uint8_t *data, size_t size,
               caffe2::serialize::PyTorchStreamReader *archive);

/// Runs the pickle of a torch.save file (zip archive) at PATH.
PyRef loadTorchFile(const std::string &path);

} // namespace rtml

#endif // RTML_RUNTIME_PICKLEREADER_H
