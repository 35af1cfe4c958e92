//===- ImageDecode.cpp - JPEG and PNG files to RGB bytes ------------------===//
#include "rtml/Runtime/ImageDecode.h"
#include "rtml/Runtime/DataFiles.h"

#include <spng.h>
#include <turbojpeg.h>

#include <cstring>
#include <memory>

namespace rtml {

namespace {

/// Generous: a 32768-pixel square RGB image is 3 GiB.
constexpr uint64_t kMaxImageFileBytes = uint64_t(1) << 30;

void checkSize(uint64_t width, uint64_t height, const std::string &name) {
  if (width == 0 || height == 0)
    throw DataFileError(name, "image has no pixels");
  if (width > kMaxImageSide || height > kMaxImageSide ||
      width * height > kMaxImagePixels)
    throw DataFileError(name, "image of " + std::to_string(width) + "x" +
                                  std::to_string(height) +
                                  " pixels is larger than a reader accepts "
                                  "(sides up to " +
                                  std::to_string(kMaxImageSide) + ", " +
                                  std::to_string(kMaxImagePixels) + " pixels)");
}

RgbImage decodeJpeg(const uint8_t *data, size_t size, const std::string &name) {
  std::unique_ptr<void, int (*)(tjhandle)> tj(tjInitDecompress(), tjDestroy);
  if (!tj)
    throw DataFileError(name, "cannot start the JPEG decoder");
  if (size > UINT32_MAX)
    throw DataFileError(name, "JPEG file too large");
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  auto *in = const_cast<unsigned char *>(data);
  auto len = static_cast<unsigned long>(size);
  if (tjDecompressHeader3(tj.get(), in, len, &width, &height, &subsampling,
                          &colorspace) != 0)
    throw DataFileError(name, std::string("corrupt JPEG: ") +
                                  tjGetErrorStr2(tj.get()));
  checkSize(static_cast<uint64_t>(width), static_cast<uint64_t>(height), name);
  RgbImage image;
  image.height = height;
  image.width = width;
  image.pixels.resize(static_cast<size_t>(width) * height * 3);
  // Warnings (a truncated scan) are errors, as PIL refuses truncated files;
  // LIMITSCANS bounds the work a crafted progressive file can ask for.
  if (tjDecompress2(tj.get(), in, len, image.pixels.data(), width, 0, height,
                    TJPF_RGB, TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS) != 0)
    throw DataFileError(name, std::string("corrupt or truncated JPEG: ") +
                                  tjGetErrorStr2(tj.get()));
  return image;
}

RgbImage decodePng(const uint8_t *data, size_t size, const std::string &name) {
  std::unique_ptr<spng_ctx, void (*)(spng_ctx *)> ctx(spng_ctx_new(0),
                                                      spng_ctx_free);
  if (!ctx)
    throw DataFileError(name, "cannot start the PNG decoder");
  auto fail = [&](const char *what, int rc) {
    throw DataFileError(name, std::string(what) + ": " + spng_strerror(rc));
  };
  spng_set_image_limits(ctx.get(), kMaxImageSide, kMaxImageSide);
  // Ancillary chunks (text, profiles) are bounded too.
  spng_set_chunk_limits(ctx.get(), 1 << 24, 1 << 26);
  spng_set_crc_action(ctx.get(), SPNG_CRC_ERROR, SPNG_CRC_ERROR);
  if (int rc = spng_set_png_buffer(ctx.get(), data, size))
    fail("corrupt PNG", rc);
  spng_ihdr ihdr;
  if (int rc = spng_get_ihdr(ctx.get(), &ihdr))
    fail("corrupt PNG header", rc);
  checkSize(ihdr.width, ihdr.height, name);
  size_t bytes = 0;
  if (int rc = spng_decoded_image_size(ctx.get(), SPNG_FMT_RGBA8, &bytes))
    fail("corrupt PNG", rc);
  std::vector<uint8_t> rgba(bytes);
  if (int rc = spng_decode_image(ctx.get(), rgba.data(), rgba.size(),
                                 SPNG_FMT_RGBA8, 0))
    fail("corrupt or truncated PNG", rc);
  RgbImage image;
  image.height = ihdr.height;
  image.width = ihdr.width;
  size_t pixels = static_cast<size_t>(ihdr.width) * ihdr.height;
  image.pixels.resize(pixels * 3);
  for (size_t i = 0; i < pixels; ++i)
    std::memcpy(&image.pixels[3 * i], &rgba[4 * i], 3);
  return image;
}

} // namespace

RgbImage decodeImage(const uint8_t *data, size_t size,
                     const std::string &name) {
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
    return decodeJpeg(data, size, name);
  if (size >= 8 && std::memcmp(data, kPng, 8) == 0)
    return decodePng(data, size, name);
  throw DataFileError(name, size == 0 ? "empty file (expected a JPEG or PNG "
                                        "image)"
                                      : "not a JPEG or PNG image (unknown "
                                        "signature)");
}

RgbImage readImageFile(const std::string &path) {
  std::vector<uint8_t> bytes =
      readWholeFile(path, "a JPEG or PNG image", kMaxImageFileBytes);
  return decodeImage(bytes.data(), bytes.size(), path);
}

} // namespace rtml
