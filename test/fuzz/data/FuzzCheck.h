//===- FuzzCheck.h - The data fuzz targets' invariant check ---------------===//
#ifndef RTML_TEST_FUZZ_DATA_FUZZCHECK_H
#define RTML_TEST_FUZZ_DATA_FUZZCHECK_H

#include <cstdio>
#include <cstdlib>

/// Aborts (a finding for libFuzzer) when a reader breaks a promise.
inline void fuzzCheck(bool condition, const char *what) {
  if (condition)
    return;
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}

#endif // RTML_TEST_FUZZ_DATA_FUZZCHECK_H
