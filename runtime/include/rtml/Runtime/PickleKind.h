//===- PickleKind.h - The kinds of value a pickle holds ------------------===//
//
// Shared by the pickle machine (runtime/lib/PickleReader.h) and the plain
// values it copies out for the data set readers (Serialization.h).
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_PICKLEKIND_H
#define RTML_RUNTIME_PICKLEKIND_H

namespace rtml {

/// The kinds of Python value the pickle readers rebuild.
enum class PickleKind {
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
  Storage, ///< a torch storage
  Tensor,
  Object, ///< a call of a global not modelled (e.g. numpy's _reconstruct)
};
/// Python's name of KIND ("str", "dict", "tensor", ...), for messages.
const char *pickleKindName(PickleKind kind);

} // namespace rtml

#endif // RTML_RUNTIME_PICKLEKIND_H
