//===- Serialization.cpp - CIFAR-10 Python batches ------------------------===//
#include "rtml/Runtime/Serialization.h"

#include "PickleReader.h"
#include "rtml/Support/Shapes.h"

#include <ATen/ATen.h>

#include <cstring>
#include <stdexcept>

namespace rtml {

std::pair<at::Tensor, at::Tensor>
loadCifarPythonBatch(const std::string &path) {
  const std::string what = "a CIFAR-10 Python batch";
  PyRef root = loadPlainPickle(path, what);
  if (root->kind != PyObject::Kind::Dict)
    throw fileError(path, std::string("expected a pickled dict (") + what +
                              "), found a " + kindName(root->kind));
  PyRef data = dictGet(root, "data");
  PyRef labels = dictGet(root, "labels");
  if (!data || !labels)
    throw fileError(path, std::string("no '") + (data ? "labels" : "data") +
                              "' entry (expected " + what +
                              " with b'data' and b'labels')");
  // numpy's ndarray pickle: _reconstruct(ndarray, (0,), b'b') and the state
  // (version, shape, dtype, is_fortran, raw bytes).
  PyRef state = data->state;
  bool isArray =
      data->kind == PyObject::Kind::Object &&
      data->text.find("multiarray._reconstruct") != std::string::npos &&
      state && state->kind == PyObject::Kind::Tuple && state->items.size() == 5;
  if (!isArray)
    throw fileError(path, std::string("'data' is a ") + kindName(data->kind) +
                              ", not a numpy array");
  PyRef shape = state->items[1], dtype = state->items[2], raw = state->items[4];
  std::vector<int64_t> dims;
  if (shape->kind == PyObject::Kind::Tuple)
    for (const PyRef &d : shape->items)
      dims.push_back(d->kind == PyObject::Kind::Int ? d->intValue : -1);
  if (dims.size() != 2 || dims[0] < 0 || dims[1] != 3072)
    throw fileError(path, "'data' has shape " + shapeString(dims) +
                              ", expected [N, 3072]");
  std::string typeName;
  if (dtype->kind == PyObject::Kind::Object && !dtype->items.empty())
    typeName = dtype->items[0]->text;
  if (typeName != "u1")
    throw fileError(path, "'data' has dtype '" + typeName +
                              "', expected uint8 ('u1')");
  if (raw->kind != PyObject::Kind::Bytes)
    throw fileError(path, "'data' holds no raw bytes");
  int64_t n = dims[0];
  if (static_cast<int64_t>(raw->text.size()) != n * 3072)
    throw fileError(path, "'data' holds " + std::to_string(raw->text.size()) +
                              " bytes, expected " + std::to_string(n * 3072) +
                              " (truncated?)");
  if (labels->kind != PyObject::Kind::List)
    throw fileError(path, std::string("'labels' is a ") +
                              kindName(labels->kind) + ", not a list");
  if (static_cast<int64_t>(labels->items.size()) != n)
    throw fileError(path, "'labels' has " +
                              std::to_string(labels->items.size()) +
                              " entries for " + std::to_string(n) + " images");
  at::Tensor images = at::empty({n, 3072}, at::kByte);
  if (n)
    std::memcpy(images.data_ptr(), raw->text.data(), n * 3072);
  at::Tensor out = at::empty({n}, at::kLong);
  int64_t *p = out.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const PyRef &l = labels->items[i];
    if (l->kind != PyObject::Kind::Int)
      throw fileError(path, "label " + std::to_string(i) + " is a " +
                                kindName(l->kind) + ", not an int");
    p[i] = l->intValue;
  }
  return {images, out};
}

} // namespace rtml
