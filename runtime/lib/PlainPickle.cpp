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
  using K = PyObject::Kind;
  using V = PickleValue::Kind;
  PickleValue v;
  switch (obj->kind) {
  case K::None:
    v.kind = V::None;
    break;
  case K::Bool:
    v.kind = V::Bool;
    v.integer = obj->intValue;
    break;
  case K::Int:
    v.kind = V::Int;
    v.integer = obj->intValue;
    break;
  case K::Float:
    v.kind = V::Float;
    v.real = obj->floatValue;
    break;
  case K::String:
    v.kind = V::String;
    v.text = obj->text;
    break;
  case K::Bytes:
    v.kind = V::Bytes;
    v.text = obj->text;
    break;
  case K::Tuple:
    v.kind = V::Tuple;
    break;
  case K::List:
    v.kind = V::List;
    break;
  case K::Dict:
    v.kind = V::Dict;
    break;
  case K::Global:
  case K::Object:
    v.kind = V::Object;
    v.text = obj->text;
    break;
  default:
    v.kind = V::Other;
    v.text = kindName(obj->kind);
    return v;
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
