//===- ImageFuzzer.cpp - libFuzzer harness over the JPEG and PNG decoders -===//
//
// Feeds arbitrary bytes to decodeImage and checks its promises: a decoded
// image holds exactly height x width x 3 bytes within the size limits, and
// every refusal is a DataFileError naming the file; nothing else escapes,
// nothing crashes.
//
// Built by test/fuzz/data/fuzz.sh (clang-19, -fsanitize=fuzzer,address,
// undefined); libturbojpeg and libspng are not instrumented.
//
//===----------------------------------------------------------------------===//
#include "FuzzCheck.h"
#include "rtml/Runtime/DataFiles.h"
#include "rtml/Runtime/ImageDecode.h"

#include <string>

using namespace rtml;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  try {
    RgbImage image = decodeImage(data, size, "fuzz.img");
    fuzzCheck(image.height > 0 && image.width > 0,
              "a decoded image has pixels");
    fuzzCheck(uint64_t(image.height) * uint64_t(image.width) <= kMaxImagePixels,
              "within the pixel limit");
    fuzzCheck(image.pixels.size() == size_t(image.height * image.width * 3),
              "three bytes per pixel");
  } catch (const DataFileError &e) {
    fuzzCheck(std::string(e.what()).rfind("fuzz.img: ", 0) == 0,
              "the error names the file");
  }
  return 0;
}
