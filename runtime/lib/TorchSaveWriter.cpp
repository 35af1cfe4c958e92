//===- TorchSaveWriter.cpp - Bytes torch.load reads -----------------------===//
//
// Writes what torch.save(dict_of_tensors) writes (a zip archive via
// PyTorchStreamWriter, pickle protocol 2, only globals on torch.load's
// weights_only allowlist), so that torch.load reads it in PyTorch 1.13 and
// 2.x and nn.Module.load_state_dict accepts it.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Serialization.h"

#include "TorchStorageTypes.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <cstdint>
#include <set>
#include <stdexcept>

namespace rtml {

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
    storageGlobal(t.scalar_type());
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

  /// The storage global torch.save names a tensor of TYPE by.
  void storageGlobal(at::ScalarType type) {
    for (const detail::TorchStorageType &storage : detail::kTorchStorageTypes)
      if (storage.dtype == type)
        return global(storage.module, storage.name);
    throw std::runtime_error(std::string("cannot save tensors of type ") +
                             c10::toString(type));
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

std::vector<char> serializeFlatDict(const FlatDict &flat) {
  TorchSaveWriter writer;
  writeNested(writer, flat, "");
  return writer.finish();
}

} // namespace rtml
