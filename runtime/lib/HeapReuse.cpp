//===- HeapReuse.cpp - Keep freed tensor memory for the next step --------===//
//
// A training step allocates and frees the same large buffers every time
// (activations, gradients, a 151 MB AlexNet weight gradient). glibc serves
// blocks over its mmap threshold (at most 32 MB) with fresh mappings and
// unmaps them on free, so every step page-faults and zeroes them again: on
// a 2-core machine that was a fifth of AlexNet's batch-16 CPU step. Served
// from the heap and never trimmed, the freed blocks are reused as they are.
// The cost is that the process keeps its peak heap, which a trainer reaches
// again every step anyway.
//
//===----------------------------------------------------------------------===//
#include "HeapReuse.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace rtml {

void keepFreedMemoryForReuse() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_MAX, 0);        // large blocks come from the heap too
  mallopt(M_TRIM_THRESHOLD, -1); // and freed ones stay there
#endif
}

} // namespace rtml
