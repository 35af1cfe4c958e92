//===- HostileFiles.h - Crafted weight files for the reader tests ---------===//
//
// Each file below once crashed, hung or fooled a trainer (issue 12): written
// at test time by PyTorch itself, or by hand where torch.save cannot (deep
// nesting, zip bombs), for a model with fc.weight [2, 48] and fc.bias [2].
//
//===----------------------------------------------------------------------===//
#ifndef RTML_TEST_UNIT_RUNTIME_HOSTILEFILES_H
#define RTML_TEST_UNIT_RUNTIME_HOSTILEFILES_H

#include "TestUtil.h"

#include <string>
#include <vector>

namespace rtml::test {

/// A crafted file and the phrase its refusal must contain.
struct HostileFile {
  std::string name, problem;
};

/// The files every reader must refuse (none of them is a valid state dict,
/// checkpoint or tensor).
inline std::vector<HostileFile> hostileFiles() {
  return {
      {"offset_wraps.pt", "exceeds its storage"},
      {"tensor_offset_wraps.pt", "exceeds its storage"},
      {"stride_wraps.pt", "exceeds its storage"},
      {"view_past_end.pt", "exceeds its storage"},
      {"huge_storage.pt", "too few for"},
      {"self_reference.pt", "contains itself"},
      {"nested_1e5.pt", "nested deeper than"},
      {"nested_1e6.pt", "nested deeper than"},
      {"lists_1e5.pt", "nested deeper than"},
      {"zip_bomb.pt", "zip bomb"},
      {"lying_size.pt", "corrupt or truncated"},
  };
}

/// Writes hostileFiles() and int_weights.pt, bool_weights.pt,
/// half_weights.pt (fc.weight 0.5 as float16, fc.bias [1, 2] as float64) and
/// shared_dicts.pt (a dict shared under 2^60 paths) into DIR.
inline void writeHostileFiles(const std::string &dir) {
  std::string script = R"PY(
import collections, struct, sys, zipfile, torch
D = sys.argv[1] if len(sys.argv) > 1 else 'DIR'

class View:
    """Pickles as torch._utils._rebuild_tensor_v2 with any extents."""
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride)
    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2,
                self.args + (False, collections.OrderedDict()))

st = torch.zeros(96).storage()
torch.save({'fc.weight': View(st, 2**63 - 2, (2, 48), (48, 1)),
            'fc.bias': torch.zeros(2)}, D + '/offset_wraps.pt')
torch.save(View(st, 2**63 - 2, (1, 3, 32, 32), (3072, 1024, 32, 1)),
           D + '/tensor_offset_wraps.pt')
torch.save({'fc.weight': View(st, 0, (3, 48), (2**62, 1)),
            'fc.bias': torch.zeros(2)}, D + '/stride_wraps.pt')
torch.save({'fc.weight': View(st, 2, (2, 48), (48, 1)),
            'fc.bias': torch.zeros(2)}, D + '/view_past_end.pt')
c = {}
c['model'] = c
torch.save(c, D + '/self_reference.pt')
d = {}
for i in range(60):
    d = {'a': d, 'b': d}
torch.save(d, D + '/shared_dicts.pt')
torch.save({'fc.weight': torch.ones(2, 48, dtype=torch.int64),
            'fc.bias': torch.zeros(2)}, D + '/int_weights.pt')
torch.save({'fc.weight': torch.zeros(2, 48),
            'fc.bias': torch.tensor([True, False])}, D + '/bool_weights.pt')
torch.save({'fc.weight': torch.full((2, 48), 0.5, dtype=torch.float16),
            'fc.bias': torch.tensor([1.0, 2.0], dtype=torch.float64)},
           D + '/half_weights.pt')

def archive(path, pkl, records={}, deflate=()):
    with zipfile.ZipFile(path, 'w') as z:
        z.writestr('archive/data.pkl', pkl)
        z.writestr('archive/version', '3\n')
        for name, data in records.items():
            kind = zipfile.ZIP_DEFLATED if name in deflate else zipfile.ZIP_STORED
            z.writestr('archive/' + name, data, compress_type=kind)

def nested_dicts(n):
    return b'\x80\x02' + b'}' + b'X\x01\x00\x00\x00a}' * n + b's' * n + b'.'

def nested_lists(n):
    return b'\x80\x02' + b']' * n + b'a' * (n - 1) + b'.'

archive(D + '/nested_1e5.pt', nested_dicts(10**5))
archive(D + '/nested_1e6.pt', nested_dicts(10**6))
archive(D + '/lists_1e5.pt', nested_lists(10**5))

# A tensor whose storage claims 2^61 floats.
def rebuild(key, numel, size):
    return (b'ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storage'
            b'ctorch\nFloatStorage\nX' + struct.pack('<I', len(key)) + key +
            b'X\x03\x00\x00\x00cpu\x8a\x08' + struct.pack('<q', numel) +
            b'tQK\x00K' + bytes([size]) + b'\x85K\x01\x85\x89}tR')
archive(D + '/huge_storage.pt',
        b'\x80\x02' + rebuild(b'0', 2**61, 2) + b'.', {'data/0': bytes(8)})

# 1.1 GiB of zeros in 5 MB: refused from the zip directory, not inflated.
pkl = b'\x80\x02' + rebuild(b'0', 2, 2) + b'.'
with zipfile.ZipFile(D + '/zip_bomb.pt', 'w', zipfile.ZIP_DEFLATED,
                     compresslevel=1) as z:
    z.writestr('archive/data.pkl', pkl, compress_type=zipfile.ZIP_STORED)
    z.writestr('archive/version', '3\n', compress_type=zipfile.ZIP_STORED)
    with z.open('archive/data/0', 'w', force_zip64=True) as f:
        zeros = bytes(1 << 20)
        for i in range(1100):
            f.write(zeros)

# An entry that inflates past the size its directory declares.
archive(D + '/lying_size.pt', pkl, {'data/0': bytes(4096)}, ('data/0',))
raw = bytearray(open(D + '/lying_size.pt', 'rb').read())
name = b'archive/data/0'
with zipfile.ZipFile(D + '/lying_size.pt') as z:
    struct.pack_into('<I', raw, z.getinfo(name.decode()).header_offset + 22, 8)
i = raw.find(b'PK\x01\x02')
while i >= 0:
    n = struct.unpack_from('<H', raw, i + 28)[0]
    if raw[i + 46:i + 46 + n] == name:
        struct.pack_into('<I', raw, i + 24, 8)
    i = raw.find(b'PK\x01\x02', i + 4)
open(D + '/lying_size.pt', 'wb').write(bytes(raw))
print('WROTE')
)PY";
  std::string output;
  size_t at = script.find("'DIR'");
  script.replace(at, 5, "'" + dir + "'");
  int status = runPython(script, dir, output);
  ASSERT_EQ(status, 0) << output;
  ASSERT_NE(output.find("WROTE"), std::string::npos) << output;
}

} // namespace rtml::test

#endif // RTML_TEST_UNIT_RUNTIME_HOSTILEFILES_H
