//===- PickleReader.cpp - The pickle machine behind torch.save readers ----===//
//
// Understands the opcodes torch.save emits (protocol 2 to 5) and rebuilds
// tensors from torch._utils._rebuild_tensor_v2 / _rebuild_parameter calls,
// for files from LibTorch 1.13 and 2.x alike. Nothing it reads is trusted:
// lengths are checked against the bytes left, storages against their
// records, views against their storages, and the object graph against
// cycles and depth before anyone walks it.
//
//===----------------------------------------------------------------------===//
#include "PickleReader.h"
#include "TorchStorageTypes.h"

#include "rtml/Support/EnumNames.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <unordered_map>

namespace rtml {

const char *pickleKindName(PickleKind kind) {
  static constexpr const char *kNames[] = {
      "None", "bool", "int",    "float",   "str",    "bytes", "tuple",
      "list", "dict", "global", "storage", "tensor", "object"};
  static_assert(std::size(kNames) == size_t(PickleKind::Object) + 1);
  return enumName(kNames, kind);
}

namespace {

at::ScalarType storageDtype(const std::string &global) {
  for (const detail::TorchStorageType &type : detail::kTorchStorageTypes)
    if (global == std::string(type.module) + "." + type.name)
      return type.dtype;
  throw std::runtime_error("unsupported storage type " + global);
}

//===----------------------------------------------------------------------===//
// The pickle machine
//===----------------------------------------------------------------------===//

class Unpickler {
public:
  Unpickler(const uint8_t *data, size_t size,
            caffe2::serialize::PyTorchStreamReader *archive)
      : data(data), size(size), archive(archive) {}
  ~Unpickler();

  PyRef run();

private:
  const uint8_t *data;
  size_t size;
  size_t pos = 0;
  caffe2::serialize::PyTorchStreamReader *archive; ///< null: a plain pickle
  std::vector<PyRef> stack;
  std::vector<size_t> marks;
  std::map<uint64_t, PyRef> memo;
  std::map<std::string, at::Tensor> storages;
  /// Every object made, so that a refused pickle's objects (cycles, deep
  /// chains) are taken apart without recursion or leaks.
  std::vector<PyRef> created;
  bool accepted = false;

  PyRef make(PyObject::Kind kind) {
    if (created.size() >= kMaxPickleObjects)
      fail("more than " + std::to_string(kMaxPickleObjects) +
           " objects (not a weight file)");
    created.push_back(std::make_shared<PyObject>());
    created.back()->kind = kind;
    return created.back();
  }
  PyRef makeInt(int64_t v) {
    PyRef obj = make(PyObject::Kind::Int);
    obj->intValue = v;
    return obj;
  }
  PyRef makeString(PyObject::Kind kind, std::string s) {
    PyRef obj = make(kind);
    obj->text = std::move(s);
    return obj;
  }
  void checkStructure();

  [[noreturn]] void fail(const std::string &msg) const {
    throw std::runtime_error("data.pkl offset " + std::to_string(pos) + ": " +
                             msg);
  }
  const uint8_t *take(size_t n) {
    if (n > size - pos)
      fail("unexpected end of pickle data (truncated or corrupt file)");
    const uint8_t *p = data + pos;
    pos += n;
    return p;
  }
  uint64_t readLE(size_t n) {
    const uint8_t *p = take(n);
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i)
      v |= uint64_t(p[i]) << (8 * i);
    return v;
  }
  std::string readBytes(size_t n) {
    const uint8_t *p = take(n);
    return std::string(reinterpret_cast<const char *>(p), n);
  }
  std::string readLine() {
    size_t start = pos;
    while (pos < size && data[pos] != '\n')
      ++pos;
    if (pos >= size)
      fail("unterminated line in pickle data");
    std::string line(reinterpret_cast<const char *>(data + start), pos - start);
    ++pos;
    return line;
  }
  PyRef pop() {
    if (stack.empty() || (!marks.empty() && stack.size() <= marks.back()))
      fail("pickle stack underflow");
    PyRef v = stack.back();
    stack.pop_back();
    return v;
  }
  PyRef &top() {
    if (stack.empty())
      fail("pickle stack underflow");
    return stack.back();
  }
  std::vector<PyRef> popToMark() {
    if (marks.empty())
      fail("pickle MARK missing");
    size_t mark = marks.back();
    marks.pop_back();
    if (mark > stack.size())
      fail("corrupt pickle MARK");
    std::vector<PyRef> items(stack.begin() + mark, stack.end());
    stack.resize(mark);
    return items;
  }
  int64_t asInt(const PyRef &v, const char *what) const {
    if (v->kind != PyObject::Kind::Int && v->kind != PyObject::Kind::Bool)
      fail(std::string(what) + ": expected an int, got " +
           pickleKindName(v->kind));
    return v->intValue;
  }
  std::vector<int64_t> asInts(const PyRef &v, const char *what) const {
    if (v->kind != PyObject::Kind::Tuple && v->kind != PyObject::Kind::List)
      fail(std::string(what) + ": expected a tuple, got " +
           pickleKindName(v->kind));
    std::vector<int64_t> out;
    for (const PyRef &item : v->items)
      out.push_back(asInt(item, what));
    return out;
  }
  void setItems(PyRef &dict, const std::vector<PyRef> &kv) {
    if (dict->kind != PyObject::Kind::Dict)
      fail(std::string("SETITEM on a ") + pickleKindName(dict->kind));
    for (size_t i = 0; i + 1 < kv.size(); i += 2)
      dict->entries.emplace_back(kv[i], kv[i + 1]);
  }
  void appendItems(PyRef &list, const std::vector<PyRef> &items) {
    if (list->kind != PyObject::Kind::List)
      fail(std::string("APPEND on a ") + pickleKindName(list->kind));
    list->items.insert(list->items.end(), items.begin(), items.end());
  }
  PyRef makeGlobal(const std::string &module, const std::string &name) {
    return makeString(PyObject::Kind::Global, module + "." + name);
  }
  PyRef persistentLoad(const PyRef &pid);
  PyRef call(const PyRef &callable, const PyRef &args);
  PyRef rebuildTensor(const std::vector<PyRef> &args);
  bool pushLiteral(uint8_t op);
};

PyRef Unpickler::persistentLoad(const PyRef &pid) {
  // ('storage', torch.FloatStorage, key, location, numel)
  if (pid->kind != PyObject::Kind::Tuple || pid->items.size() < 5 ||
      pid->items[0]->kind != PyObject::Kind::String ||
      pid->items[0]->text != "storage" ||
      pid->items[1]->kind != PyObject::Kind::Global ||
      pid->items[2]->kind != PyObject::Kind::String)
    fail("unsupported persistent id (expected a torch storage)");
  if (!archive)
    fail("a plain pickle cannot hold torch storages");
  const std::string &key = pid->items[2]->text;
  at::ScalarType dtype = storageDtype(pid->items[1]->text);
  int64_t numel = asInt(pid->items[4], "storage size");
  auto found = storages.find(key);
  if (found == storages.end()) {
    std::string record = "data/" + key;
    if (!archive->hasRecord(record))
      fail("storage record '" + record + "' is missing from the archive");
    at::DataPtr ptr;
    size_t bytes = 0;
    std::tie(ptr, bytes) = archive->getRecord(record);
    size_t elementBytes = c10::elementSize(dtype);
    // Divide rather than multiply: a huge numel must not wrap.
    if (numel < 0 || static_cast<uint64_t>(numel) > bytes / elementBytes)
      fail("storage record '" + record + "' holds " + std::to_string(bytes) +
           " bytes, too few for " + std::to_string(numel) + " elements of " +
           c10::toString(dtype));
    size_t need = static_cast<size_t>(numel) * elementBytes;
    at::Tensor storage = at::empty({numel}, at::TensorOptions().dtype(dtype));
    if (need)
      std::memcpy(storage.data_ptr(), ptr.get(), need);
    found = storages.emplace(key, storage).first;
  }
  PyRef obj = make(PyObject::Kind::Storage);
  obj->tensor = found->second;
  return obj;
}

PyRef Unpickler::rebuildTensor(const std::vector<PyRef> &args) {
  // (storage, storage_offset, size, stride, ...)
  if (args.size() < 4 || args[0]->kind != PyObject::Kind::Storage)
    fail("_rebuild_tensor: unexpected arguments");
  const at::Tensor &storage = args[0]->tensor;
  int64_t offset = asInt(args[1], "tensor offset");
  std::vector<int64_t> sizes = asInts(args[2], "tensor size");
  std::vector<int64_t> strides = asInts(args[3], "tensor stride");
  if (sizes.size() != strides.size())
    fail("tensor size and stride differ in rank");
  if (sizes.size() > kMaxTensorRank)
    fail("tensor of rank " + std::to_string(sizes.size()) + " (at most " +
         std::to_string(kMaxTensorRank) + ")");
  std::string outside =
      viewOutsideStorage(offset, sizes, strides, storage.numel());
  if (!outside.empty())
    fail(outside);
  PyRef obj = make(PyObject::Kind::Tensor);
  obj->tensor = storage.as_strided(sizes, strides, offset);
  return obj;
}

PyRef Unpickler::call(const PyRef &callable, const PyRef &args) {
  if (callable->kind != PyObject::Kind::Global)
    fail(std::string("cannot call a ") + pickleKindName(callable->kind));
  if (args->kind != PyObject::Kind::Tuple)
    fail("call arguments are not a tuple");
  const std::string &name = callable->text;
  const std::vector<PyRef> &a = args->items;
  if (name == "torch._utils._rebuild_tensor_v2" ||
      name == "torch._utils._rebuild_tensor")
    return rebuildTensor(a);
  if (name == "torch._utils._rebuild_parameter" ||
      name == "torch._utils._rebuild_parameter_with_state") {
    if (a.empty() || a[0]->kind != PyObject::Kind::Tensor)
      fail(name + ": expected a tensor");
    return a[0];
  }
  // TorchScript's pickler (torch::jit::pickle_save) wraps typed containers.
  if (name == "torch.jit._pickle.restore_type_tag") {
    if (a.empty())
      fail(name + ": missing argument");
    return a[0];
  }
  if (name == "collections.OrderedDict" || name == "builtins.dict" ||
      name == "__builtin__.dict") {
    PyRef dict = make(PyObject::Kind::Dict);
    if (!a.empty() && (a[0]->kind == PyObject::Kind::List ||
                       a[0]->kind == PyObject::Kind::Tuple))
      for (const PyRef &pair : a[0]->items)
        if (pair->kind == PyObject::Kind::Tuple && pair->items.size() == 2)
          dict->entries.emplace_back(pair->items[0], pair->items[1]);
    return dict;
  }
  // Python 3's protocol-2 pickles write bytes as _codecs.encode(str,
  // 'latin1'): the str's code points are the bytes.
  if (name == "_codecs.encode" && a.size() == 2 &&
      a[0]->kind == PyObject::Kind::String) {
    std::string bytes;
    const std::string &u = a[0]->text;
    for (size_t i = 0; i < u.size(); ++i) {
      unsigned char c = u[i];
      if (c < 0x80) {
        bytes += char(c);
      } else if ((c & 0xe0) == 0xc0 && i + 1 < u.size()) {
        bytes += char(((c & 0x1f) << 6) | (u[++i] & 0x3f));
      } else {
        fail("_codecs.encode: character outside latin-1");
      }
    }
    return makeString(PyObject::Kind::Bytes, bytes);
  }
  // Anything else (e.g. torch.device, argparse.Namespace in a checkpoint, a
  // numpy array) is kept opaque with its arguments; it only matters if it
  // ends up where a tensor is expected.
  PyRef obj = makeString(PyObject::Kind::Object, name);
  obj->items = a;
  return obj;
}

/// Pushes the value of a literal opcode (None, bools, ints, floats, strings,
/// bytes); false for any other opcode.
bool Unpickler::pushLiteral(uint8_t op) {
  switch (op) {
  case 'N': // NONE
    stack.push_back(make(PyObject::Kind::None));
    return true;
  case 0x88:   // NEWTRUE
  case 0x89: { // NEWFALSE
    PyRef b = make(PyObject::Kind::Bool);
    b->intValue = op == 0x88;
    stack.push_back(b);
    return true;
  }
  case 'J': // BININT
    stack.push_back(makeInt(int32_t(uint32_t(readLE(4)))));
    return true;
  case 'K': // BININT1
    stack.push_back(makeInt(readLE(1)));
    return true;
  case 'M': // BININT2
    stack.push_back(makeInt(readLE(2)));
    return true;
  case 0x8a: { // LONG1
    size_t n = readLE(1);
    if (n > 8)
      fail("integer too large");
    uint64_t v = n ? readLE(n) : 0;
    if (n && n < 8 && (v >> (8 * n - 1)) & 1)
      v |= ~uint64_t(0) << (8 * n); // sign-extend
    stack.push_back(makeInt(int64_t(v)));
    return true;
  }
  case 'G': { // BINFLOAT, big-endian
    const uint8_t *p = take(8);
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i)
      bits = (bits << 8) | p[i];
    PyRef f = make(PyObject::Kind::Float);
    std::memcpy(&f->floatValue, &bits, 8);
    stack.push_back(f);
    return true;
  }
  case 'X': // BINUNICODE
    stack.push_back(makeString(PyObject::Kind::String, readBytes(readLE(4))));
    return true;
  case 0x8c: // SHORT_BINUNICODE
    stack.push_back(makeString(PyObject::Kind::String, readBytes(readLE(1))));
    return true;
  case 0x8d: // BINUNICODE8
    stack.push_back(makeString(PyObject::Kind::String, readBytes(readLE(8))));
    return true;
  case 'U': // SHORT_BINSTRING (Python 2 str: bytes)
    stack.push_back(makeString(PyObject::Kind::Bytes, readBytes(readLE(1))));
    return true;
  case 'T': // BINSTRING
    stack.push_back(makeString(PyObject::Kind::Bytes, readBytes(readLE(4))));
    return true;
  case 0x96: // BYTEARRAY8
    stack.push_back(makeString(PyObject::Kind::Bytes, readBytes(readLE(8))));
    return true;
  case 'C': // SHORT_BINBYTES
    stack.push_back(makeString(PyObject::Kind::Bytes, readBytes(readLE(1))));
    return true;
  case 'B': // BINBYTES
    stack.push_back(makeString(PyObject::Kind::Bytes, readBytes(readLE(4))));
    return true;
  case 0x8e: // BINBYTES8
    stack.push_back(makeString(PyObject::Kind::Bytes, readBytes(readLE(8))));
    return true;
  default:
    return false;
  }
}

PyRef Unpickler::run() {
  while (true) {
    uint8_t op = *take(1);
    if (pushLiteral(op))
      continue;
    switch (op) {
    case 0x80: // PROTO
      take(1);
      break;
    case 0x95: // FRAME
      take(8);
      break;
    case '.': // STOP
      if (stack.size() != 1)
        fail("pickle ended with " + std::to_string(stack.size()) +
             " values on the stack");
      checkStructure();
      accepted = true;
      return stack.back();
    case '(': // MARK
      marks.push_back(stack.size());
      break;
    case '}': // EMPTY_DICT
      stack.push_back(make(PyObject::Kind::Dict));
      break;
    case ']': // EMPTY_LIST
      stack.push_back(make(PyObject::Kind::List));
      break;
    case ')': // EMPTY_TUPLE
      stack.push_back(make(PyObject::Kind::Tuple));
      break;
    case 'c': { // GLOBAL
      std::string module = readLine();
      std::string name = readLine();
      stack.push_back(makeGlobal(module, name));
      break;
    }
    case 0x93: { // STACK_GLOBAL
      PyRef name = pop();
      PyRef module = pop();
      if (name->kind != PyObject::Kind::String ||
          module->kind != PyObject::Kind::String)
        fail("STACK_GLOBAL needs two strings");
      stack.push_back(makeGlobal(module->text, name->text));
      break;
    }
    case 'Q': // BINPERSID
      stack.push_back(persistentLoad(pop()));
      break;
    case 'R': { // REDUCE
      PyRef args = pop();
      PyRef callable = pop();
      stack.push_back(call(callable, args));
      break;
    }
    case 0x81: { // NEWOBJ
      PyRef args = pop();
      PyRef cls = pop();
      stack.push_back(call(cls, args));
      break;
    }
    case 'b': { // BUILD: kept for opaque objects (numpy arrays), else unused
      PyRef state = pop();
      if (top()->kind == PyObject::Kind::Object)
        top()->state = state;
      break;
    }
    case 't': { // TUPLE
      PyRef t = make(PyObject::Kind::Tuple);
      t->items = popToMark();
      stack.push_back(t);
      break;
    }
    case 0x85:   // TUPLE1
    case 0x86:   // TUPLE2
    case 0x87: { // TUPLE3
      size_t n = op - 0x84;
      PyRef t = make(PyObject::Kind::Tuple);
      t->items.resize(n);
      for (size_t i = n; i-- > 0;)
        t->items[i] = pop();
      stack.push_back(t);
      break;
    }
    case 'l': { // LIST
      PyRef l = make(PyObject::Kind::List);
      l->items = popToMark();
      stack.push_back(l);
      break;
    }
    case 'd': { // DICT
      std::vector<PyRef> kv = popToMark();
      PyRef d = make(PyObject::Kind::Dict);
      setItems(d, kv);
      stack.push_back(d);
      break;
    }
    case 's': { // SETITEM
      PyRef value = pop();
      PyRef key = pop();
      setItems(top(), {key, value});
      break;
    }
    case 'u': { // SETITEMS
      std::vector<PyRef> kv = popToMark();
      if (kv.size() % 2)
        fail("SETITEMS with an odd number of values");
      setItems(top(), kv);
      break;
    }
    case 'a': { // APPEND
      PyRef v = pop();
      appendItems(top(), {v});
      break;
    }
    case 'e': { // APPENDS
      std::vector<PyRef> items = popToMark();
      appendItems(top(), items);
      break;
    }
    case 'q': // BINPUT
      memo[readLE(1)] = top();
      break;
    case 'r': // LONG_BINPUT
      memo[readLE(4)] = top();
      break;
    case 0x94: // MEMOIZE
      memo[memo.size()] = top();
      break;
    case 'h':   // BINGET
    case 'j': { // LONG_BINGET
      uint64_t key = readLE(op == 'h' ? 1 : 4);
      auto it = memo.find(key);
      if (it == memo.end())
        fail("memo key " + std::to_string(key) + " not found");
      stack.push_back(it->second);
      break;
    }
    case '0': // POP
      if (!marks.empty() && stack.size() == marks.back())
        marks.pop_back();
      else
        pop();
      break;
    case '1': // POP_MARK
      popToMark();
      break;
    case '2': // DUP
      stack.push_back(top());
      break;
    default: {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", op);
      fail(std::string("unsupported pickle opcode ") + hex);
    }
    }
  }
}

void Unpickler::checkStructure() {
  std::string problem = objectGraphProblem(created);
  if (!problem.empty())
    fail(problem);
}

Unpickler::~Unpickler() {
  if (accepted)
    return;
  // A refused pickle may hold cycles or very deep chains: cut every link
  // first, so that each object is freed on its own.
  for (const PyRef &obj : created) {
    obj->items.clear();
    obj->entries.clear();
    obj->state.reset();
  }
}

} // namespace

PyRef unpickle(const uint8_t *data, size_t size,
               caffe2::serialize::PyTorchStreamReader *archive) {
  Unpickler unpickler(data, size, archive);
  return unpickler.run();
}

} // namespace rtml
