//===- Cifar.cpp - CIFAR-10's binary and Python batch files ---------------===//
//
// The training batches are data_batch_1 .. data_batch_N with none missing:
// a folder with data_batch_1, 2, 4 and 5 is refused (naming data_batch_3),
// never read as a smaller set. Every batch must be a readable regular file;
// a FIFO, a directory or a dangling link in its place is an error.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Data.h"
#include "rtml/Runtime/DataFiles.h"
#include "rtml/Runtime/Serialization.h"

#include "rtml/Support/Shapes.h"

#include <ATen/ATen.h>

#include <cstring>
#include <filesystem>
#include <set>
#include <sys/stat.h>

namespace rtml {

namespace {

/// A batch file is far below this (CIFAR-10's are 30 MB).
constexpr uint64_t kMaxCifarFileBytes = uint64_t(1) << 31;
constexpr int64_t kCifarImageBytes = 3 * 32 * 32;

const char *kBinaryBatch = "a CIFAR-10 binary batch";
const char *kPythonBatch = "a CIFAR-10 Python batch";

bool exists(const std::string &path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0; // a dangling link exists too
}

/// Throws naming PATH when a label is outside 0..9.
void checkLabels(const at::Tensor &labels, const std::string &path,
                 const char *unit) {
  const int64_t *l = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < labels.size(0); ++i)
    if (l[i] < 0 || l[i] > 9)
      throw DataFileError(path, std::string(unit) + " " + std::to_string(i) +
                                    " has label " + std::to_string(l[i]) +
                                    ", expected 0..9");
}

const PickleValue *dictGet(const PickleValue &dict, const std::string &key) {
  for (const auto &[k, v] : dict.entries)
    if ((k.kind == PickleValue::Kind::String ||
         k.kind == PickleValue::Kind::Bytes) &&
        k.text == key)
      return &v;
  return nullptr;
}

std::vector<int64_t> intsOf(const PickleValue &tuple) {
  std::vector<int64_t> out;
  for (const PickleValue &d : tuple.items)
    out.push_back(d.kind == PickleValue::Kind::Int ? d.integer : -1);
  return out;
}

/// numpy's pickled ndarray: shape, dtype name, memory order and raw bytes.
struct NumpyArray {
  std::vector<int64_t> shape;
  std::string dtype;
  bool fortranOrder = false;
  const std::string *bytes = nullptr;
};

/// Protocols 2 to 4 write _reconstruct(ndarray, (0,), b'b') with the state
/// (version, shape, dtype, is_fortran, bytes); protocol 5 may write
/// _frombuffer(bytes, dtype, shape, order).
bool asNumpyArray(const PickleValue &v, NumpyArray &out) {
  using K = PickleValue::Kind;
  auto dtypeName = [](const PickleValue &d) {
    return d.kind == K::Object && !d.items.empty() ? d.items[0].text
                                                   : std::string();
  };
  if (v.kind != K::Object)
    return false;
  if (v.text.find("multiarray._reconstruct") != std::string::npos &&
      v.state.size() == 1 && v.state[0].kind == K::Tuple &&
      v.state[0].items.size() == 5) {
    const std::vector<PickleValue> &s = v.state[0].items;
    if (s[1].kind != K::Tuple || s[4].kind != K::Bytes)
      return false;
    out.shape = intsOf(s[1]);
    out.dtype = dtypeName(s[2]);
    out.fortranOrder = s[3].kind == K::Bool && s[3].integer != 0;
    out.bytes = &s[4].text;
    return true;
  }
  if (v.text.find("._frombuffer") != std::string::npos && v.items.size() == 4 &&
      v.items[0].kind == K::Bytes && v.items[2].kind == K::Tuple &&
      v.items[3].kind == K::String) {
    out.bytes = &v.items[0].text;
    out.dtype = dtypeName(v.items[1]);
    out.shape = intsOf(v.items[2]);
    out.fortranOrder = v.items[3].text == "F";
    return true;
  }
  return false;
}

} // namespace

Dataset parseCifarBinary(const uint8_t *data, size_t size,
                         const std::string &path) {
  if (size == 0)
    throw DataFileError(path, "empty file (expected CIFAR-10 records of " +
                                  std::to_string(kCifarRecordBytes) +
                                  " bytes)");
  if (size % kCifarRecordBytes != 0)
    throw DataFileError(path, "size " + std::to_string(size) +
                                  " is not a whole number of " +
                                  std::to_string(kCifarRecordBytes) +
                                  "-byte CIFAR-10 records (truncated?)");
  int64_t n = static_cast<int64_t>(size / kCifarRecordBytes);
  for (int64_t i = 0; i < n; ++i) {
    uint8_t label = data[i * kCifarRecordBytes];
    if (label > 9)
      throw DataFileError(
          path, "record " + std::to_string(i) + " (byte offset " +
                    std::to_string(i * kCifarRecordBytes) + ") has label " +
                    std::to_string(label) + ", expected 0..9");
  }
  at::Tensor raw = at::from_blob(const_cast<uint8_t *>(data),
                                 {n, kCifarRecordBytes}, at::kByte);
  Dataset set;
  set.labels = raw.select(1, 0).to(at::kLong);
  set.images = raw.narrow(1, 1, kCifarImageBytes)
                   .reshape({n, 3, 32, 32})
                   .clone(at::MemoryFormat::Contiguous);
  return set;
}

Dataset readCifarFile(const std::string &path) {
  std::vector<uint8_t> bytes =
      readWholeFile(path, kBinaryBatch, kMaxCifarFileBytes);
  return parseCifarBinary(bytes.data(), bytes.size(), path);
}

Dataset parseCifarPython(const uint8_t *bytes, size_t size,
                         const std::string &path) {
  using K = PickleValue::Kind;
  if (size == 0)
    throw DataFileError(path, std::string("empty file (expected ") +
                                  kPythonBatch + ")");
  PickleValue root;
  try {
    root = parsePlainPickle(bytes, size);
  } catch (const std::runtime_error &e) {
    throw DataFileError(path, std::string(e.what()) + " (expected " +
                                  kPythonBatch + ")");
  }
  if (root.kind != K::Dict)
    throw DataFileError(path, std::string("expected a pickled dict (") +
                                  kPythonBatch + "), found a " +
                                  pickleKindName(root.kind));
  const PickleValue *data = dictGet(root, "data");
  const PickleValue *labels = dictGet(root, "labels");
  if (!data || !labels)
    throw DataFileError(path, std::string("no '") + (data ? "labels" : "data") +
                                  "' entry (expected " + kPythonBatch +
                                  " with b'data' and b'labels')");
  NumpyArray array;
  if (!asNumpyArray(*data, array))
    throw DataFileError(path, std::string("'data' is a ") +
                                  pickleKindName(data->kind) +
                                  ", not a numpy array of bytes");
  std::vector<int64_t> &dims = array.shape;
  if (dims.size() != 2 || dims[0] < 0 || dims[1] != kCifarImageBytes)
    throw DataFileError(path, "'data' has shape " + shapeString(dims) +
                                  ", expected [N, 3072]");
  if (array.dtype != "u1")
    throw DataFileError(path, "'data' has dtype '" + array.dtype +
                                  "', expected uint8 ('u1')");
  int64_t n = dims[0];
  // n < 2^63 / 3072 holds for any size that can match the bytes below.
  if (n > int64_t(kMaxCifarFileBytes) ||
      static_cast<int64_t>(array.bytes->size()) != n * kCifarImageBytes)
    throw DataFileError(path, "'data' holds " +
                                  std::to_string(array.bytes->size()) +
                                  " bytes for its shape " + shapeString(dims) +
                                  " (truncated?)");
  if (labels->kind != K::List)
    throw DataFileError(path, std::string("'labels' is a ") +
                                  pickleKindName(labels->kind) +
                                  ", not a list");
  if (static_cast<int64_t>(labels->items.size()) != n)
    throw DataFileError(path,
                        "'labels' has " + std::to_string(labels->items.size()) +
                            " entries for " + std::to_string(n) + " images");
  at::Tensor images = at::empty({n, kCifarImageBytes}, at::kByte);
  if (n && !array.fortranOrder) {
    std::memcpy(images.data_ptr(), array.bytes->data(), n * kCifarImageBytes);
  } else if (n) {
    // Fortran order: column-major, element (i, j) at j * N + i.
    at::Tensor columns = at::empty({kCifarImageBytes, n}, at::kByte);
    std::memcpy(columns.data_ptr(), array.bytes->data(), n * kCifarImageBytes);
    images.copy_(columns.t());
  }
  at::Tensor out = at::empty({n}, at::kLong);
  int64_t *p = out.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const PickleValue &l = labels->items[i];
    if (l.kind != K::Int)
      throw DataFileError(path, "label " + std::to_string(i) + " is a " +
                                    pickleKindName(l.kind) + ", not an int");
    p[i] = l.integer;
  }
  checkLabels(out, path, "image");
  return Dataset{images.reshape({n, 3, 32, 32}), out};
}

Dataset readCifarPythonFile(const std::string &path) {
  std::vector<uint8_t> bytes =
      readWholeFile(path, kPythonBatch, kMaxCifarFileBytes);
  return parseCifarPython(bytes.data(), bytes.size(), path);
}

CifarLocation locateCifar(const std::string &dir) {
  for (const std::string &d :
       {dir, dir + "/cifar-10-batches-bin", dir + "/cifar-10-batches-py"}) {
    if (exists(d + "/data_batch_1.bin") || exists(d + "/test_batch.bin"))
      return {d, CifarFormat::Binary};
    if (exists(d + "/data_batch_1") || exists(d + "/test_batch"))
      return {d, CifarFormat::Python};
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw DataFileError(dir + "/data_batch_1.bin",
                        "no such file: " + dir +
                            " is not a directory (expected a CIFAR-10 data "
                            "set)");
  return {dir, CifarFormat::Binary}; // the reader names the missing file
}

namespace {

std::string batchPath(const CifarLocation &at, const std::string &stem) {
  return at.dir + "/" + stem + (at.format == CifarFormat::Binary ? ".bin" : "");
}

Dataset readBatch(const CifarLocation &at, const std::string &path) {
  return at.format == CifarFormat::Binary ? readCifarFile(path)
                                          : readCifarPythonFile(path);
}

/// The N of every data_batch_N (with the format's suffix) in AT's folder.
std::set<int64_t> trainBatchNumbers(const CifarLocation &at) {
  std::string suffix = at.format == CifarFormat::Binary ? ".bin" : "";
  std::set<int64_t> numbers;
  std::error_code ec;
  for (const auto &entry : std::filesystem::directory_iterator(at.dir, ec)) {
    std::string name = entry.path().filename().string();
    const std::string prefix = "data_batch_";
    if (name.compare(0, prefix.size(), prefix) != 0 ||
        name.size() <= prefix.size() + suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    std::string digits =
        name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    if (digits.size() > 6 ||
        digits.find_first_not_of("0123456789") != std::string::npos ||
        digits[0] == '0')
      continue;
    numbers.insert(std::stoll(digits));
  }
  return numbers;
}

} // namespace

Dataset readCifarTrain(const std::string &dir) {
  CifarLocation at = locateCifar(dir);
  std::string first = batchPath(at, "data_batch_1");
  if (!exists(first))
    throw DataFileError(first, at.format == CifarFormat::Binary
                                   ? "no such file: the training set needs "
                                     "data_batch_1.bin (CIFAR-10 binary "
                                     "format) or data_batch_1 (CIFAR-10 "
                                     "Python format)"
                                   : "no such file: the training set needs "
                                     "data_batch_1 (CIFAR-10 Python format)");
  std::set<int64_t> numbers = trainBatchNumbers(at);
  int64_t count = 0;
  while (numbers.count(count + 1))
    ++count;
  if (count < static_cast<int64_t>(numbers.size()))
    throw DataFileError(
        batchPath(at, "data_batch_" + std::to_string(count + 1)),
        "no such file, but " +
            batchPath(at, "data_batch_" + std::to_string(*numbers.rbegin())) +
            " exists: the training batches must be data_batch_1 .. "
            "data_batch_N with none missing");
  std::vector<at::Tensor> images, labels;
  for (int64_t i = 1; i <= count; ++i) {
    Dataset part =
        readBatch(at, batchPath(at, "data_batch_" + std::to_string(i)));
    images.push_back(part.images);
    labels.push_back(part.labels);
  }
  if (images.size() == 1)
    return Dataset{images[0], labels[0]};
  return Dataset{at::cat(images), at::cat(labels)};
}

Dataset readCifarTest(const std::string &dir) {
  CifarLocation at = locateCifar(dir);
  return readBatch(at, batchPath(at, "test_batch"));
}

} // namespace rtml
