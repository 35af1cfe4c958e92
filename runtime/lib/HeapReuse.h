//===- HeapReuse.h - Keep freed tensor memory for the next step -*- C++ -*-===//
//
// Private to the runtime: the trainer's main calls this first.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_LIB_HEAPREUSE_H
#define RTML_RUNTIME_LIB_HEAPREUSE_H

namespace rtml {

/// Makes malloc keep freed large blocks for reuse instead of returning them
/// to the system (glibc; elsewhere a no-op), so that a step's buffers are
/// not page-faulted in again every step.
void keepFreedMemoryForReuse();

} // namespace rtml

#endif // RTML_RUNTIME_LIB_HEAPREUSE_H
