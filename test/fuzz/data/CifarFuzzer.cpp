//===- CifarFuzzer.cpp - libFuzzer harness over the CIFAR-10 readers ------===//
//
// Feeds arbitrary bytes to parseCifarBinary and to parseCifarPython (the
// pickle machine and the numpy array decoding) and checks their promises: a
// returned set is uint8 [N, 3, 32, 32] with N labels in 0..9, and every refusal
// is a std::runtime_error naming the file; nothing else escapes, nothing
// crashes.
//
// Built by test/fuzz/data/fuzz.sh (clang-19, -fsanitize=fuzzer,address,
// undefined; LibTorch itself is not instrumented).
//
//===----------------------------------------------------------------------===//
#include "FuzzCheck.h"
#include "rtml/Runtime/Data.h"

#include <ATen/ATen.h>

#include <string>

using namespace rtml;

static void checkSet(const Dataset &set) {
  fuzzCheck(set.images.dim() == 4 && set.images.size(1) == 3 &&
                set.images.size(2) == 32 && set.images.size(3) == 32,
            "images are [N, 3, 32, 32]");
  fuzzCheck(set.images.scalar_type() == at::kByte, "images are uint8");
  fuzzCheck(set.labels.size(0) == set.images.size(0), "one label per image");
  if (set.size() > 0)
    fuzzCheck(set.labels.min().item<int64_t>() >= 0 &&
                  set.labels.max().item<int64_t>() <= 9,
              "labels in 0..9");
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  for (bool python : {false, true}) {
    try {
      checkSet(python ? parseCifarPython(data, size, "fuzz")
                      : parseCifarBinary(data, size, "fuzz"));
    } catch (const std::runtime_error &e) {
      fuzzCheck(std::string(e.what()).rfind("fuzz: ", 0) == 0,
                "the error names the file");
    }
  }
  return 0;
}
