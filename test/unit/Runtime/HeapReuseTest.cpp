//===- HeapReuseTest.cpp - Freed step buffers stay for the next step ------===//
#include "HeapReuse.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

// AddressSanitizer replaces malloc: glibc's settings and counters are not
// the allocator's then.
#if defined(__SANITIZE_ADDRESS__)
#define RTML_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RTML_ASAN 1
#endif
#endif

// Each gtest runs in its own process under CTest, so changing malloc's
// settings here touches no other test.
TEST(HeapReuse, LargeBlocksComeFromTheHeapAndStayThereWhenFreed) {
#if !defined(__GLIBC__) || defined(RTML_ASAN)
  GTEST_SKIP() << "the policy is glibc's mallopt; elsewhere (and under "
                  "AddressSanitizer's allocator) it does nothing";
#else
  rtml::keepFreedMemoryForReuse();
  const size_t bytes = size_t(96) << 20; // over glibc's largest mmap threshold
  // Earlier work in this process may have left the heap with room to spare,
  // so the block need not grow it: only mapping and shrinking count.
  struct mallinfo2 before = mallinfo2();
  void *block = std::malloc(bytes);
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, bytes);
  struct mallinfo2 held = mallinfo2();
  EXPECT_EQ(held.hblks, before.hblks) << "the block was mapped on its own";
  EXPECT_GE(held.arena, bytes) << "the heap cannot be holding the block";
  std::free(block);
  struct mallinfo2 freed = mallinfo2();
  EXPECT_GE(freed.arena, held.arena)
      << "the freed block went back to the system";
  EXPECT_GE(freed.fordblks, bytes) << "the freed block is not reusable";
#endif
}
