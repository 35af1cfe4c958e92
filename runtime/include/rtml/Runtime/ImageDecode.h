//===- ImageDecode.h - JPEG and PNG files to RGB bytes --------------------===//
//
// JPEG through libjpeg-turbo's TurboJPEG API, PNG through libspng, both to
// 8-bit RGB as PIL's Image.convert('RGB') gives it: grayscale repeated into
// the three channels, an alpha channel dropped (not composited), a palette
// expanded. 16-bit PNG samples are scaled to 8 bits (PIL would clip a
// 16-bit grayscale image instead). A truncated or corrupt file is an error,
// as in PIL (no gray fill of the missing rows). Plain C++ (no LibTorch).
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_IMAGEDECODE_H
#define RTML_RUNTIME_IMAGEDECODE_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rtml {

/// The largest image side and pixel count a decoder accepts; larger headers
/// are refused before anything is allocated.
constexpr uint32_t kMaxImageSide = 1 << 15;
constexpr uint64_t kMaxImagePixels = uint64_t(1) << 27; // 134 Mpixel

struct RgbImage {
  int64_t height = 0, width = 0;
  std::vector<uint8_t> pixels; ///< [H, W, 3], row-major
};

/// Decodes DATA, a JPEG or PNG file (told apart by its signature). Throws
/// DataFileError naming NAME for another format, a corrupt or truncated
/// file, or an image beyond the limits above.
RgbImage decodeImage(const uint8_t *data, size_t size, const std::string &name);

/// Reads and decodes PATH (see decodeImage).
RgbImage readImageFile(const std::string &path);

} // namespace rtml

#endif // RTML_RUNTIME_IMAGEDECODE_H
