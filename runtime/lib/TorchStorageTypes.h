//===- TorchStorageTypes.h - torch's storage classes and their dtypes -*- C++
//-*-===//
//
// Private to the runtime: the globals a torch.save pickle names a storage
// by, and the element type of each. The pickle reader maps a storage's
// global to its dtype; the torch.save writer names a tensor's storage by the
// first entry of its dtype.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_LIB_TORCHSTORAGETYPES_H
#define RTML_RUNTIME_LIB_TORCHSTORAGETYPES_H

#include <c10/core/ScalarType.h>

namespace rtml::detail {

struct TorchStorageType {
  const char *module; ///< "torch"
  const char *name;   ///< "FloatStorage"
  at::ScalarType dtype;
};

inline constexpr TorchStorageType kTorchStorageTypes[] = {
    {"torch", "FloatStorage", at::kFloat},
    {"torch", "DoubleStorage", at::kDouble},
    {"torch", "HalfStorage", at::kHalf},
    {"torch", "BFloat16Storage", at::kBFloat16},
    {"torch", "LongStorage", at::kLong},
    {"torch", "IntStorage", at::kInt},
    {"torch", "ShortStorage", at::kShort},
    {"torch", "CharStorage", at::kChar},
    {"torch", "ByteStorage", at::kByte},
    {"torch", "BoolStorage", at::kBool},
    // PyTorch 2's untyped storages hold bytes; the tensor says the dtype.
    {"torch", "UntypedStorage", at::kByte},
    {"torch.storage", "UntypedStorage", at::kByte},
};

} // namespace rtml::detail

#endif // RTML_RUNTIME_LIB_TORCHSTORAGETYPES_H
