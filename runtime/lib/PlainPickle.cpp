//===- PlainPickle.cpp - Plain pickles for the data set readers -----------===//
//
// CIFAR-10's Python batches are plain pickles (no zip archive, no torch
// storages). The pickle machine's objects stay private to the runtime; the
// data readers get a bounded copy of the values as PickleValue.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Serialization.h"

#include "PickleReader.h"

#include <stdexcept>
#include <string>

namespace rtml {

namespace {

PickleValue toPickleValue(const PyRef &obj, int depth, int64_t &budget) {
  if (depth > kMaxPickleValueDepth)
    throw std::runtime_error("pickle nested deeper than " +
                             std::to_string(kMaxPickleValueDepth) + " levels");
  if (--budget < 0)
    throw std::runtime_error("pickle holds more than " +
                             std::to_string(kMaxPickleValues) + " values");
  PickleValue v;
  v.kind = obj->kind;
  switch (obj->kind) {
  case PickleKind::Bool:
  case PickleKind::Int:
    v.integer = obj->intValue;
    break;
  case PickleKind::Float:
    v.real = obj->floatValue;
    break;
  case PickleKind::String:
  case PickleKind::Bytes:
    v.text = obj->text;
    break;
  case PickleKind::Global:
  case PickleKind::Object:
    v.kind = PickleKind::Object;
    v.text = obj->text;
    break;
  case PickleKind::Storage:
  case PickleKind::Tensor:
    return v; // the data readers take no tensors
  default:
    break;
  }
  for (const PyRef &item : obj->items)
    v.items.push_back(toPickleValue(item, depth + 1, budget));
  for (const auto &[key, value] : obj->entries)
    v.entries.emplace_back(toPickleValue(key, depth + 1, budget),
                           toPickleValue(value, depth + 1, budget));
  if (obj->state)
    v.state.push_back(toPickleValue(obj->state, depth + 1, budget));
  return v;
}

} // namespace

PickleValue parsePlainPickle(const uint8_t *data, size_t size) {
  if (size == 0 || data[0] != 0x80)
    throw std::runtime_error("not a pickle of protocol 2 or later");
  int64_t budget = kMaxPickleValues;
  return toPickleValue(unpickle(data, size, nullptr), 0, budget);
}

} // namespace rtml
