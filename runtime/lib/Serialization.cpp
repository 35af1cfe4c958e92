//===- Serialization.cpp - torch.save files: a pickle machine and writer --===//
#include "rtml/Runtime/Serialization.h"
#include "rtml/Runtime/Parameters.h"

#include "rtml/Support/Shapes.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <caffe2/serialize/inline_container.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace rtml {

namespace {

std::runtime_error fileError(const std::string &path, const std::string &msg) {
  return std::runtime_error(path + ": " + msg);
}

std::string shapeOf(at::IntArrayRef sizes) {
  return shapeString(std::vector<int64_t>(sizes.begin(), sizes.end()));
}

//===----------------------------------------------------------------------===//
// Python objects, as far as torch.save's pickles need them
//===----------------------------------------------------------------------===//

struct PyObject;
using PyRef = std::shared_ptr<PyObject>;

struct PyObject {
  enum class Kind {
    None,
    Bool,
    Int,
    Float,
    String,
    Bytes,
    Tuple,
    List,
    Dict,
    Global,  ///< module.name, before being called
    Storage, ///< a 1-D tensor holding a whole storage
    Tensor,
    Object, ///< result of calling a global we do not model
  };
  Kind kind = Kind::None;
  int64_t intValue = 0; // Bool, Int
  double floatValue = 0;
  std::string text;         // String, Bytes, Global/Object: "module.name"
  std::vector<PyRef> items; // Tuple, List
  std::vector<std::pair<PyRef, PyRef>> entries; // Dict
  at::Tensor tensor;                            // Storage, Tensor
  PyRef state; // Object: what BUILD set (e.g. a numpy array's data)

  static PyRef make(Kind kind) {
    auto obj = std::make_shared<PyObject>();
    obj->kind = kind;
    return obj;
  }
  static PyRef makeInt(int64_t v) {
    PyRef obj = make(Kind::Int);
    obj->intValue = v;
    return obj;
  }
  static PyRef makeString(Kind kind, std::string s) {
    PyRef obj = make(kind);
    obj->text = std::move(s);
    return obj;
  }
};

const char *kindName(PyObject::Kind kind) {
  switch (kind) {
  case PyObject::Kind::None:
    return "None";
  case PyObject::Kind::Bool:
    return "bool";
  case PyObject::Kind::Int:
    return "int";
  case PyObject::Kind::Float:
    return "float";
  case PyObject::Kind::String:
    return "str";
  case PyObject::Kind::Bytes:
    return "bytes";
  case PyObject::Kind::Tuple:
    return "tuple";
  case PyObject::Kind::List:
    return "list";
  case PyObject::Kind::Dict:
    return "dict";
  case PyObject::Kind::Global:
    return "global";
  case PyObject::Kind::Storage:
    return "storage";
  case PyObject::Kind::Tensor:
    return "tensor";
  case PyObject::Kind::Object:
    return "object";
  }
  return "?";
}

at::ScalarType storageDtype(const std::string &global) {
  static const std::map<std::string, at::ScalarType> types = {
      {"torch.FloatStorage", at::kFloat},
      {"torch.DoubleStorage", at::kDouble},
      {"torch.HalfStorage", at::kHalf},
      {"torch.BFloat16Storage", at::kBFloat16},
      {"torch.LongStorage", at::kLong},
      {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort},
      {"torch.CharStorage", at::kChar},
      {"torch.ByteStorage", at::kByte},
      {"torch.BoolStorage", at::kBool},
      {"torch.UntypedStorage", at::kByte},
      {"torch.storage.UntypedStorage", at::kByte},
  };
  auto it = types.find(global);
  if (it == types.end())
    throw std::runtime_error("unsupported storage type " + global);
  return it->second;
}

//===----------------------------------------------------------------------===//
// The pickle machine
//===----------------------------------------------------------------------===//

class Unpickler {
public:
  Unpickler(const uint8_t *data, size_t size,
            caffe2::serialize::PyTorchStreamReader *archive)
      : data(data), size(size), archive(archive) {}

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
      fail(std::string(what) + ": expected an int, got " + kindName(v->kind));
    return v->intValue;
  }
  std::vector<int64_t> asInts(const PyRef &v, const char *what) const {
    if (v->kind != PyObject::Kind::Tuple && v->kind != PyObject::Kind::List)
      fail(std::string(what) + ": expected a tuple, got " + kindName(v->kind));
    std::vector<int64_t> out;
    for (const PyRef &item : v->items)
      out.push_back(asInt(item, what));
    return out;
  }
  void setItems(PyRef &dict, const std::vector<PyRef> &kv) {
    if (dict->kind != PyObject::Kind::Dict)
      fail(std::string("SETITEM on a ") + kindName(dict->kind));
    for (size_t i = 0; i + 1 < kv.size(); i += 2)
      dict->entries.emplace_back(kv[i], kv[i + 1]);
  }
  void appendItems(PyRef &list, const std::vector<PyRef> &items) {
    if (list->kind != PyObject::Kind::List)
      fail(std::string("APPEND on a ") + kindName(list->kind));
    list->items.insert(list->items.end(), items.begin(), items.end());
  }
  PyRef makeGlobal(const std::string &module, const std::string &name) {
    return PyObject::makeString(PyObject::Kind::Global, module + "." + name);
  }
  PyRef persistentLoad(const PyRef &pid);
  PyRef call(const PyRef &callable, const PyRef &args);
  PyRef rebuildTensor(const std::vector<PyRef> &args);
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
    size_t need = static_cast<size_t>(numel) * c10::elementSize(dtype);
    if (numel < 0 || bytes < need)
      fail("storage record '" + record + "' holds " + std::to_string(bytes) +
           " bytes, expected " + std::to_string(need));
    at::Tensor storage = at::empty({numel}, at::TensorOptions().dtype(dtype));
    if (need)
      std::memcpy(storage.data_ptr(), ptr.get(), need);
    found = storages.emplace(key, storage).first;
  }
  PyRef obj = PyObject::make(PyObject::Kind::Storage);
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
  // Bounds check before as_strided: a corrupt file must not read outside.
  if (offset < 0)
    fail("negative tensor offset");
  bool empty = false;
  int64_t last = offset;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] < 0 || strides[i] < 0)
      fail("negative tensor size or stride");
    empty |= sizes[i] == 0;
    last += (sizes[i] - 1) * strides[i];
  }
  if (!empty && last >= storage.numel())
    fail("tensor view exceeds its storage");
  PyRef obj = PyObject::make(PyObject::Kind::Tensor);
  obj->tensor = storage.as_strided(sizes, strides, offset);
  return obj;
}

PyRef Unpickler::call(const PyRef &callable, const PyRef &args) {
  if (callable->kind != PyObject::Kind::Global)
    fail(std::string("cannot call a ") + kindName(callable->kind));
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
    PyRef dict = PyObject::make(PyObject::Kind::Dict);
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
    return PyObject::makeString(PyObject::Kind::Bytes, bytes);
  }
  // Anything else (e.g. torch.device, argparse.Namespace in a checkpoint, a
  // numpy array) is kept opaque with its arguments; it only matters if it
  // ends up where a tensor is expected.
  PyRef obj = PyObject::makeString(PyObject::Kind::Object, name);
  obj->items = a;
  return obj;
}

PyRef Unpickler::run() {
  while (true) {
    uint8_t op = *take(1);
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
      return stack.back();
    case '(': // MARK
      marks.push_back(stack.size());
      break;
    case '}': // EMPTY_DICT
      stack.push_back(PyObject::make(PyObject::Kind::Dict));
      break;
    case ']': // EMPTY_LIST
      stack.push_back(PyObject::make(PyObject::Kind::List));
      break;
    case ')': // EMPTY_TUPLE
      stack.push_back(PyObject::make(PyObject::Kind::Tuple));
      break;
    case 'N': // NONE
      stack.push_back(PyObject::make(PyObject::Kind::None));
      break;
    case 0x88:   // NEWTRUE
    case 0x89: { // NEWFALSE
      PyRef b = PyObject::make(PyObject::Kind::Bool);
      b->intValue = op == 0x88;
      stack.push_back(b);
      break;
    }
    case 'J': // BININT
      stack.push_back(PyObject::makeInt(int32_t(uint32_t(readLE(4)))));
      break;
    case 'K': // BININT1
      stack.push_back(PyObject::makeInt(readLE(1)));
      break;
    case 'M': // BININT2
      stack.push_back(PyObject::makeInt(readLE(2)));
      break;
    case 0x8a: { // LONG1
      size_t n = readLE(1);
      if (n > 8)
        fail("integer too large");
      uint64_t v = n ? readLE(n) : 0;
      if (n && n < 8 && (v >> (8 * n - 1)) & 1)
        v |= ~uint64_t(0) << (8 * n); // sign-extend
      stack.push_back(PyObject::makeInt(int64_t(v)));
      break;
    }
    case 'G': { // BINFLOAT, big-endian
      const uint8_t *p = take(8);
      uint64_t bits = 0;
      for (int i = 0; i < 8; ++i)
        bits = (bits << 8) | p[i];
      PyRef f = PyObject::make(PyObject::Kind::Float);
      std::memcpy(&f->floatValue, &bits, 8);
      stack.push_back(f);
      break;
    }
    case 'X': // BINUNICODE
      stack.push_back(
          PyObject::makeString(PyObject::Kind::String, readBytes(readLE(4))));
      break;
    case 0x8c: // SHORT_BINUNICODE
      stack.push_back(
          PyObject::makeString(PyObject::Kind::String, readBytes(readLE(1))));
      break;
    case 0x8d: // BINUNICODE8
      stack.push_back(
          PyObject::makeString(PyObject::Kind::String, readBytes(readLE(8))));
      break;
    case 'U': // SHORT_BINSTRING (Python 2 str: bytes)
      stack.push_back(
          PyObject::makeString(PyObject::Kind::Bytes, readBytes(readLE(1))));
      break;
    case 'T': // BINSTRING
      stack.push_back(
          PyObject::makeString(PyObject::Kind::Bytes, readBytes(readLE(4))));
      break;
    case 0x96: // BYTEARRAY8
      stack.push_back(
          PyObject::makeString(PyObject::Kind::Bytes, readBytes(readLE(8))));
      break;
    case 'C': // SHORT_BINBYTES
      stack.push_back(
          PyObject::makeString(PyObject::Kind::Bytes, readBytes(readLE(1))));
      break;
    case 'B': // BINBYTES
      stack.push_back(
          PyObject::makeString(PyObject::Kind::Bytes, readBytes(readLE(4))));
      break;
    case 0x8e: // BINBYTES8
      stack.push_back(
          PyObject::makeString(PyObject::Kind::Bytes, readBytes(readLE(8))));
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
      PyRef t = PyObject::make(PyObject::Kind::Tuple);
      t->items = popToMark();
      stack.push_back(t);
      break;
    }
    case 0x85:   // TUPLE1
    case 0x86:   // TUPLE2
    case 0x87: { // TUPLE3
      size_t n = op - 0x84;
      PyRef t = PyObject::make(PyObject::Kind::Tuple);
      t->items.resize(n);
      for (size_t i = n; i-- > 0;)
        t->items[i] = pop();
      stack.push_back(t);
      break;
    }
    case 'l': { // LIST
      PyRef l = PyObject::make(PyObject::Kind::List);
      l->items = popToMark();
      stack.push_back(l);
      break;
    }
    case 'd': { // DICT
      std::vector<PyRef> kv = popToMark();
      PyRef d = PyObject::make(PyObject::Kind::Dict);
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

/// Runs the pickle of a torch.save file and returns its top-level object.
PyRef loadTorchFile(const std::string &path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    throw fileError(path, std::string("cannot open: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    throw fileError(path, "not a regular file");
  if (st.st_size == 0)
    throw fileError(path, "empty file (expected a torch.save archive)");
  {
    char magic[4] = {0, 0, 0, 0};
    std::ifstream in(path, std::ios::binary);
    in.read(magic, 4);
    if (std::memcmp(magic, "PK\x03\x04", 4) != 0) {
      if (uint8_t(magic[0]) == 0x80)
        throw fileError(path, "legacy (pre-1.6, non-zip) torch.save format "
                              "is not supported; re-save it with a current "
                              "PyTorch");
      throw fileError(path, "not a torch.save file (no zip archive header)");
    }
  }
  try {
    caffe2::serialize::PyTorchStreamReader archive(path);
    if (!archive.hasRecord("data.pkl"))
      throw fileError(path, "zip archive has no data.pkl: not a torch.save "
                            "file (a TorchScript module?)");
    at::DataPtr pkl;
    size_t bytes = 0;
    std::tie(pkl, bytes) = archive.getRecord("data.pkl");
    Unpickler unpickler(static_cast<const uint8_t *>(pkl.get()), bytes,
                        &archive);
    return unpickler.run();
  } catch (const c10::Error &e) {
    throw fileError(path, std::string("corrupt or truncated torch.save "
                                      "archive: ") +
                              e.what_without_backtrace());
  } catch (const std::runtime_error &e) {
    std::string msg = e.what();
    if (msg.compare(0, path.size(), path) == 0)
      throw;
    throw fileError(path, msg);
  }
}

bool isTensorDict(const PyRef &obj) {
  if (obj->kind != PyObject::Kind::Dict)
    return false;
  for (const auto &kv : obj->entries)
    if (kv.first->kind != PyObject::Kind::String ||
        kv.second->kind != PyObject::Kind::Tensor)
      return false;
  return true;
}

} // namespace

StateDict loadStateDict(const std::string &path) {
  PyRef root = loadTorchFile(path);
  if (root->kind == PyObject::Kind::Dict && !isTensorDict(root))
    for (const auto &kv : root->entries)
      if (kv.first->kind == PyObject::Kind::String &&
          (kv.first->text == "state_dict" ||
           kv.first->text == "model_state_dict") &&
          isTensorDict(kv.second)) {
        root = kv.second;
        break;
      }
  if (root->kind != PyObject::Kind::Dict)
    throw fileError(path, std::string("expected a state dict (a dict of "
                                      "tensors), found a ") +
                              kindName(root->kind));
  StateDict state;
  for (const auto &kv : root->entries) {
    if (kv.first->kind != PyObject::Kind::String)
      throw fileError(path, std::string("state dict key is a ") +
                                kindName(kv.first->kind) + ", not a str");
    if (kv.second->kind != PyObject::Kind::Tensor)
      throw fileError(path, "state dict entry '" + kv.first->text + "' is a " +
                                kindName(kv.second->kind) + ", not a tensor");
    state.emplace_back(kv.first->text, kv.second->tensor);
  }
  return state;
}

at::Tensor loadTensor(const std::string &path) {
  PyRef root = loadTorchFile(path);
  if (root->kind != PyObject::Kind::Tensor)
    throw fileError(path, std::string("expected a tensor saved with "
                                      "torch.save(tensor, path), found a ") +
                              kindName(root->kind));
  return root->tensor;
}

void loadIntoRegistry(ParameterRegistry &registry, const StateDict &state,
                      const std::string &source) {
  std::vector<std::string> unexpected, mismatched;
  std::set<std::string> seen;
  for (const auto &[name, tensor] : state) {
    at::Tensor param = registry.find(name);
    if (!param.defined()) {
      unexpected.push_back(name);
      continue;
    }
    seen.insert(name);
    if (tensor.sizes() != param.sizes())
      mismatched.push_back(name + " (file " + shapeOf(tensor.sizes()) +
                           ", model " + shapeOf(param.sizes()) + ")");
  }
  std::vector<std::string> missing;
  for (const ParameterSpec &spec : registry.specs())
    if (!seen.count(spec.name))
      missing.push_back(spec.name);
  if (!unexpected.empty() || !missing.empty() || !mismatched.empty()) {
    std::ostringstream msg;
    msg << source << ": weights do not match the model";
    auto list = [&](const char *what, const std::vector<std::string> &names) {
      if (names.empty())
        return;
      msg << "\n  " << what << ":";
      for (const std::string &n : names)
        msg << " " << n << (&n == &names.back() ? "" : ",");
    };
    list("shape mismatch", mismatched);
    list("unexpected keys (not in the model)", unexpected);
    list("missing keys", missing);
    throw std::runtime_error(msg.str());
  }
  c10::NoGradGuard noGrad;
  for (const auto &[name, tensor] : state)
    registry.find(name).copy_(tensor.to(at::kFloat));
}

namespace {

/// Writes torch.save's format by hand rather than with torch::pickle_save:
/// the latter wraps containers in torch.jit._pickle.restore_type_tag, which
/// PyTorch >= 2.6's torch.load (weights_only=True by default) refuses. The
/// pickle below uses only what torch.save itself emits for a dict of
/// tensors: torch._utils._rebuild_tensor_v2, torch.<Type>Storage and
/// collections.OrderedDict, all on weights_only's allowlist.
class TorchSaveWriter {
public:
  TorchSaveWriter()
      : writer([this](const void *data, size_t size) {
          const char *p = static_cast<const char *>(data);
          bytes.insert(bytes.end(), p, p + size);
          return size;
        }) {
    pickle.append("\x80\x02", 2); // PROTO 2
  }

  void beginDict() { pickle += "}("; } // EMPTY_DICT, MARK
  void endDict() { pickle += 'u'; }    // SETITEMS
  void key(const std::string &text) { string(text); }

  void tensor(const at::Tensor &value) {
    at::Tensor t = value.detach().to(at::kCPU).contiguous();
    std::string storageKey = std::to_string(storageCount++);
    global("torch._utils", "_rebuild_tensor_v2");
    pickle += "(("; // MARK (args), MARK (persistent id)
    string("storage");
    global("torch", storageClass(t.scalar_type()));
    string(storageKey);
    string("cpu");
    integer(t.numel());
    pickle += "tQ"; // TUPLE, BINPERSID
    integer(0);     // storage offset
    ints(t.sizes());
    ints(t.strides());
    pickle += '\x89'; // NEWFALSE: requires_grad
    global("collections", "OrderedDict");
    pickle += ")R"; // backward hooks: OrderedDict()
    pickle += "tR"; // TUPLE, REDUCE
    writer.writeRecord("data/" + storageKey, t.data_ptr(), t.nbytes());
  }

  void value(const CheckpointValue &v) {
    switch (v.kind) {
    case CheckpointValue::Kind::Tensor:
      tensor(v.tensor);
      break;
    case CheckpointValue::Kind::Int:
      integer(v.integer);
      break;
    case CheckpointValue::Kind::Float:
      // A 0-dim float64 tensor: exact, and PyTorch 1.13's weights_only
      // unpickler has no BINFLOAT.
      tensor(at::scalar_tensor(v.real, at::kDouble));
      break;
    case CheckpointValue::Kind::String:
      string(v.text);
      break;
    }
  }

  std::vector<char> finish() {
    pickle += '.'; // STOP
    writer.writeRecord("data.pkl", pickle.data(), pickle.size());
    writer.writeEndOfFile();
    return std::move(bytes);
  }

private:
  std::vector<char> bytes;
  caffe2::serialize::PyTorchStreamWriter writer;
  std::string pickle;
  int64_t storageCount = 0;

  static std::string storageClass(at::ScalarType type) {
    switch (type) {
    case at::kFloat:
      return "FloatStorage";
    case at::kDouble:
      return "DoubleStorage";
    case at::kHalf:
      return "HalfStorage";
    case at::kBFloat16:
      return "BFloat16Storage";
    case at::kLong:
      return "LongStorage";
    case at::kInt:
      return "IntStorage";
    case at::kShort:
      return "ShortStorage";
    case at::kChar:
      return "CharStorage";
    case at::kByte:
      return "ByteStorage";
    case at::kBool:
      return "BoolStorage";
    default:
      throw std::runtime_error(std::string("cannot save tensors of type ") +
                               c10::toString(type));
    }
  }
  void global(const std::string &module, const std::string &name) {
    pickle += 'c';
    pickle += module + "\n" + name + "\n";
  }
  void string(const std::string &text) {
    pickle += 'X'; // BINUNICODE
    uint32_t n = static_cast<uint32_t>(text.size());
    for (int i = 0; i < 4; ++i)
      pickle += static_cast<char>((n >> (8 * i)) & 0xff);
    pickle += text;
  }
  void integer(int64_t v) {
    if (v >= INT32_MIN && v <= INT32_MAX) {
      pickle += 'J'; // BININT
      for (int i = 0; i < 4; ++i)
        pickle += static_cast<char>((uint32_t(int32_t(v)) >> (8 * i)) & 0xff);
      return;
    }
    pickle += "\x8a\x08"; // LONG1, 8 bytes little-endian two's complement
    for (int i = 0; i < 8; ++i)
      pickle += static_cast<char>((uint64_t(v) >> (8 * i)) & 0xff);
  }
  void ints(at::IntArrayRef values) {
    pickle += '('; // MARK
    for (int64_t v : values)
      integer(v);
    pickle += 't'; // TUPLE
  }
};

} // namespace

std::vector<char> serializeStateDict(const StateDict &state) {
  TorchSaveWriter writer;
  writer.beginDict();
  for (const auto &[name, tensor] : state) {
    writer.key(name);
    writer.tensor(tensor);
  }
  writer.endDict();
  return writer.finish();
}

void saveStateDict(const StateDict &state, const std::string &path) {
  std::vector<char> bytes = serializeStateDict(state);
  writeFileAtomically(path, bytes.data(), bytes.size());
}

void saveTensor(const at::Tensor &tensor, const std::string &path) {
  TorchSaveWriter writer;
  writer.tensor(tensor);
  std::vector<char> bytes = writer.finish();
  writeFileAtomically(path, bytes.data(), bytes.size());
}

void writeFileAtomically(const std::string &path, const void *data,
                         size_t size) {
  writeFileAtomically(path, data, size, "");
}

void writeFileAtomically(const std::string &path, const void *data, size_t size,
                         const std::string &previous) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  if (dir.empty())
    dir = "/";
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  auto failWith = [&](const std::string &what) {
    int err = errno;
    ::unlink(tmp.c_str());
    return fileError(path, what + ": " + std::strerror(err));
  };
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw fileError(path, "cannot create " + tmp + ": " + std::strerror(errno));
  const char *p = static_cast<const char *>(data);
  size_t left = size;
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      ::close(fd);
      throw failWith("write failed");
    }
    p += n;
    left -= size_t(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    throw failWith("fsync failed");
  }
  if (::close(fd) != 0)
    throw failWith("close failed");
  if (!previous.empty() && ::access(path.c_str(), F_OK) == 0) {
    // PATH stays in place while PREVIOUS becomes a second name for it.
    std::string link = previous + ".tmp." + std::to_string(::getpid());
    ::unlink(link.c_str());
    if (::link(path.c_str(), link.c_str()) != 0 ||
        ::rename(link.c_str(), previous.c_str()) != 0) {
      int err = errno;
      ::unlink(link.c_str());
      ::unlink(tmp.c_str());
      throw fileError(previous, std::string("cannot keep the previous file: ") +
                                    std::strerror(err));
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw failWith("rename failed");
  // Make the rename itself durable.
  int dirFd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirFd >= 0) {
    ::fsync(dirFd);
    ::close(dirFd);
  }
}

StateDict registryStateDict(const ParameterRegistry &registry) {
  StateDict state;
  for (size_t i = 0; i < registry.specs().size(); ++i)
    state.emplace_back(registry.specs()[i].name,
                       registry.tensors()[i].detach().to(at::kCPU));
  return state;
}

} // namespace rtml

namespace rtml {

CheckpointValue CheckpointValue::of(at::Tensor t) {
  CheckpointValue v;
  v.kind = Kind::Tensor;
  v.tensor = std::move(t);
  return v;
}
CheckpointValue CheckpointValue::of(int64_t i) {
  CheckpointValue v;
  v.kind = Kind::Int;
  v.integer = i;
  return v;
}
CheckpointValue CheckpointValue::of(double d) {
  CheckpointValue v;
  v.kind = Kind::Float;
  v.real = d;
  return v;
}
CheckpointValue CheckpointValue::of(std::string text) {
  CheckpointValue v;
  v.kind = Kind::String;
  v.text = std::move(text);
  return v;
}

namespace {

/// Writes the entries of FLAT[begin, end) whose keys start with PREFIX as
/// one dict, nesting at '/'.
void writeNested(TorchSaveWriter &writer, const FlatDict &flat,
                 const std::string &prefix) {
  writer.beginDict();
  std::set<std::string> done;
  for (const auto &[key, value] : flat) {
    if (key.compare(0, prefix.size(), prefix) != 0)
      continue;
    std::string rest = key.substr(prefix.size());
    size_t slash = rest.find('/');
    std::string head = rest.substr(0, slash);
    if (!done.insert(head).second)
      continue;
    writer.key(head);
    if (slash == std::string::npos)
      writer.value(value);
    else
      writeNested(writer, flat, prefix + head + "/");
  }
  writer.endDict();
}

void flatten(const PyRef &dict, const std::string &prefix, FlatDict &out,
             const std::string &path) {
  for (const auto &[k, v] : dict->entries) {
    if (k->kind != PyObject::Kind::String)
      throw fileError(path, std::string("checkpoint key is a ") +
                                kindName(k->kind) + ", not a str");
    std::string key = prefix + k->text;
    switch (v->kind) {
    case PyObject::Kind::Dict:
      flatten(v, key + "/", out, path);
      break;
    case PyObject::Kind::Tensor:
      out.emplace_back(key, CheckpointValue::of(v->tensor));
      break;
    case PyObject::Kind::Int:
    case PyObject::Kind::Bool:
      out.emplace_back(key, CheckpointValue::of(v->intValue));
      break;
    case PyObject::Kind::Float:
      out.emplace_back(key, CheckpointValue::of(v->floatValue));
      break;
    case PyObject::Kind::String:
      out.emplace_back(key, CheckpointValue::of(v->text));
      break;
    default:
      throw fileError(
          path, "checkpoint entry '" + key + "' is a " + kindName(v->kind) +
                    " (expected a tensor, int, float, str or dict)");
    }
  }
}

} // namespace

std::vector<char> serializeFlatDict(const FlatDict &flat) {
  TorchSaveWriter writer;
  writeNested(writer, flat, "");
  return writer.finish();
}

FlatDict loadFlatDict(const std::string &path) {
  PyRef root = loadTorchFile(path);
  if (root->kind != PyObject::Kind::Dict)
    throw fileError(path, std::string("expected a dict, found a ") +
                              kindName(root->kind));
  FlatDict out;
  flatten(root, "", out, path);
  return out;
}

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
  Unpickler unpickler(data, size, nullptr);
  int64_t budget = kMaxPickleValues;
  return toPickleValue(unpickler.run(), 0, budget);
}

WeightsReport loadWeights(ParameterRegistry &registry, const StateDict &state,
                          const std::string &source,
                          const WeightsPolicy &policy) {
  WeightsReport report;
  std::set<std::string> seen;
  std::vector<std::pair<std::string, at::Tensor>> toCopy;
  for (const auto &[name, tensor] : state) {
    at::Tensor param = registry.find(name);
    if (!param.defined()) {
      report.skipped.push_back(name);
      continue;
    }
    seen.insert(name);
    if (tensor.sizes() != param.sizes()) {
      report.reinitialized.push_back(name + " (file " +
                                     shapeOf(tensor.sizes()) + ", model " +
                                     shapeOf(param.sizes()) + ")");
      continue;
    }
    report.loaded.push_back(name);
    toCopy.emplace_back(name, tensor);
  }
  for (const ParameterSpec &spec : registry.specs())
    if (!seen.count(spec.name))
      report.missing.push_back(spec.name);
  bool bad = (policy.strict &&
              (!report.reinitialized.empty() || !report.skipped.empty())) ||
             (!policy.allowMissing && !report.missing.empty());
  if (bad) {
    std::ostringstream msg;
    msg << source << ": weights do not match the model";
    auto list = [&](const char *what, const std::vector<std::string> &names) {
      if (names.empty())
        return;
      msg << "\n  " << what << ":";
      for (const std::string &n : names)
        msg << " " << n << (&n == &names.back() ? "" : ",");
    };
    if (policy.strict) {
      list("shape mismatch", report.reinitialized);
      list("unexpected keys (not in the model)", report.skipped);
    }
    if (!policy.allowMissing) {
      list("missing keys", report.missing);
      msg << "\n  (--allow-missing keeps the initialization of missing "
             "parameters)";
    }
    throw std::runtime_error(msg.str());
  }
  c10::NoGradGuard noGrad;
  for (const auto &[name, tensor] : toCopy)
    registry.find(name).copy_(tensor);
  return report;
}

} // namespace rtml
