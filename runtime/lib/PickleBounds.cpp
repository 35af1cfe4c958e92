//===- PickleBounds.cpp - What a pickle's objects may be ------------------===//
//
// The checks that make the pickle machine safe on hostile files, apart from
// the machine itself: a tensor view stays inside its storage (in unsigned,
// overflow-checked arithmetic), and the object graph has no cycle and no
// path deeper than kMaxPickleNesting, found without recursion.
//
//===----------------------------------------------------------------------===//
#include "PickleReader.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>

namespace rtml {

namespace {

/// The I-th object OBJ refers to, or null past the last.
const PyObject *childAt(const PyObject &obj, size_t i) {
  if (i < obj.items.size())
    return obj.items[i].get();
  i -= obj.items.size();
  if (i < 2 * obj.entries.size())
    return i % 2 ? obj.entries[i / 2].second.get()
                 : obj.entries[i / 2].first.get();
  i -= 2 * obj.entries.size();
  return i == 0 ? obj.state.get() : nullptr;
}

} // namespace

std::string viewOutsideStorage(int64_t offset,
                               const std::vector<int64_t> &sizes,
                               const std::vector<int64_t> &strides,
                               int64_t storageNumel) {
  if (offset < 0)
    return "negative storage offset " + std::to_string(offset);
  uint64_t last = static_cast<uint64_t>(offset);
  uint64_t numel = 1;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] < 0 || strides[i] < 0)
      return "negative tensor size or stride";
    uint64_t span = 0;
    if (sizes[i] > 0 && (__builtin_mul_overflow(uint64_t(sizes[i] - 1),
                                                uint64_t(strides[i]), &span) ||
                         __builtin_add_overflow(last, span, &last)))
      return "tensor extent overflows 64 bits";
    if (__builtin_mul_overflow(numel, uint64_t(sizes[i]), &numel) ||
        numel > uint64_t(INT64_MAX))
      return "tensor element count overflows 64 bits";
  }
  // An empty view reads nothing: only where it starts must be inside.
  if (numel == 0)
    return uint64_t(offset) <= uint64_t(storageNumel)
               ? ""
               : "storage offset " + std::to_string(offset) +
                     " is past the storage's " + std::to_string(storageNumel) +
                     " elements";
  if (last >= uint64_t(storageNumel))
    return "tensor view (offset " + std::to_string(offset) + ", last element " +
           std::to_string(last) + ") exceeds its storage of " +
           std::to_string(storageNumel) + " elements";
  return "";
}

std::string objectGraphProblem(const std::vector<PyRef> &objects) {
  // Depth-first over every object made, with an explicit stack: a cycle is
  // a child still open; an object's height (the longest chain of objects
  // below it) is kept once known, so that each object is walked once.
  struct Visit {
    bool open;
    size_t height;
  };
  std::unordered_map<const PyObject *, Visit> seen;
  struct Frame {
    const PyObject *obj;
    size_t next;
    size_t height;
  };
  std::vector<Frame> path;
  for (const PyRef &start : objects) {
    if (!seen.emplace(start.get(), Visit{true, 0}).second)
      continue;
    path.push_back({start.get(), 0, 0});
    while (!path.empty()) {
      Frame &frame = path.back();
      const PyObject *child = childAt(*frame.obj, frame.next++);
      if (!child) {
        Frame done = frame;
        seen[done.obj] = Visit{false, done.height};
        path.pop_back();
        if (done.height >= kMaxPickleNesting)
          return "containers nested deeper than " +
                 std::to_string(kMaxPickleNesting) + " levels";
        if (!path.empty())
          path.back().height = std::max(path.back().height, done.height + 1);
        continue;
      }
      auto [it, isNew] = seen.emplace(child, Visit{true, 0});
      if (isNew) {
        if (path.size() > kMaxPickleNesting)
          return "containers nested deeper than " +
                 std::to_string(kMaxPickleNesting) + " levels";
        path.push_back({child, 0, 0});
        continue;
      }
      if (it->second.open)
        return std::string("a ") + pickleKindName(child->kind) +
               " contains itself (self-referential containers are refused)";
      frame.height = std::max(frame.height, it->second.height + 1);
    }
  }
  return "";
}

} // namespace rtml
