//===- IdxFuzzer.cpp - libFuzzer harness over the IDX reader --------------===//
//
// Feeds arbitrary bytes (plain or gzip) to parseIdx as an images file and as
// a labels file, and checks its promises: it returns an array holding
// exactly the elements its dimensions declare, or throws a DataFileError
// naming the file; nothing else escapes, nothing crashes, and no allocation
// exceeds kMaxIdxBytes.
//
// Built by test/fuzz/data/fuzz.sh (clang-19, -fsanitize=fuzzer,address,
// undefined).
//
//===----------------------------------------------------------------------===//
#include "FuzzCheck.h"
#include "rtml/Runtime/DataFiles.h"
#include "rtml/Runtime/Idx.h"

#include <string>

using namespace rtml;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  for (size_t rank : {size_t(1), size_t(3)}) {
    try {
      IdxArray a = parseIdx(data, size, rank, "fuzz.idx");
      fuzzCheck(a.dims.size() == rank, "rank as asked");
      uint64_t n = 1;
      for (int64_t d : a.dims) {
        fuzzCheck(d > 0, "positive dimensions");
        n *= uint64_t(d);
      }
      fuzzCheck(n == a.data.size(), "elements match the dimensions");
    } catch (const DataFileError &e) {
      fuzzCheck(std::string(e.what()).rfind("fuzz.idx: ", 0) == 0,
                "the error names the file");
    }
  }
  return 0;
}
