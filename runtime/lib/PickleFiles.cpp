//===- PickleFiles.cpp - The files the pickle machine reads ---------------===//
//
// torch.save's zip archives and plain pickles (CIFAR-10's Python batches),
// checked before they are read: a regular, non-empty file of the right
// kind, and for archives a zip directory whose entries fit the file and
// inflate to at most kMaxInflatedBytes in all. The archive itself is read by
// caffe2's PyTorchStreamReader, which sizes each record by the directory's
// declared size and fails when the data inflates past it; the directory is
// checked here because that reader allocates whatever size it declares.
//
//===----------------------------------------------------------------------===//
#include "PickleReader.h"

#include <caffe2/serialize/inline_container.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace rtml {

namespace {

/// Bytes all compressed entries of one archive may inflate to. torch.save
/// stores its records uncompressed; a re-zipped file of a large model still
/// fits.
constexpr uint64_t kMaxInflatedBytes = uint64_t(1) << 30;
/// deflate's best ratio is about 1032:1; a directory claiming more lies.
constexpr uint64_t kMaxDeflateRatio = 1032;

uint64_t readLE(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i)
    v |= uint64_t(p[i]) << (8 * i);
  return v;
}

bool readAt(int fd, uint64_t offset, void *buf, size_t n) {
  auto *p = static_cast<char *>(buf);
  while (n > 0) {
    ssize_t got = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return false;
    p += got;
    offset += uint64_t(got);
    n -= size_t(got);
  }
  return true;
}

/// A compressed entry as its directory declares it. caffe2's reader sizes
/// the output by the declared size and accepts an entry that inflates to
/// more, truncated: each is inflated again and checked against its CRC.
struct DeflatedEntry {
  std::string name;
  uint64_t size;
  uint32_t crc;
};

/// CRC-32 as zip computes it (polynomial 0xedb88320).
uint32_t zipCrc32(const uint8_t *data, size_t size) {
  static const std::vector<uint32_t> table = [] {
    std::vector<uint32_t> t(256);
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xffffffffu;
  for (size_t i = 0; i < size; ++i)
    crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

/// Where the central directory is and how many entries it has, from the end
/// of central directory record (zip64 when the archive needs it).
struct ZipDirectory {
  uint64_t offset = 0, size = 0, entries = 0;
};

std::string findDirectory(int fd, uint64_t fileSize, ZipDirectory &dir) {
  // The end record is 22 bytes plus a comment of at most 65535.
  uint64_t tailSize = std::min<uint64_t>(fileSize, 22 + 65535);
  std::vector<uint8_t> tail(tailSize);
  if (!readAt(fd, fileSize - tailSize, tail.data(), tail.size()))
    return "cannot read the zip directory";
  if (tailSize < 22)
    return "truncated zip archive (no end of central directory)";
  size_t at = tailSize - 22 + 1;
  do {
    --at;
  } while (at > 0 && readLE(&tail[at], 4) != 0x06054b50);
  if (readLE(&tail[at], 4) != 0x06054b50)
    return "truncated zip archive (no end of central directory)";
  const uint8_t *end = &tail[at];
  dir.entries = readLE(end + 10, 2);
  dir.size = readLE(end + 12, 4);
  dir.offset = readLE(end + 16, 4);
  uint64_t endOffset = fileSize - tailSize + at;
  if (dir.entries == 0xffff || dir.size == 0xffffffff ||
      dir.offset == 0xffffffff) {
    uint8_t locator[20], end64[56];
    if (endOffset < 20 || !readAt(fd, endOffset - 20, locator, 20) ||
        readLE(locator, 4) != 0x07064b50)
      return "zip64 archive without its end of central directory locator";
    uint64_t end64Offset = readLE(locator + 8, 8);
    if (end64Offset > fileSize - 56 || !readAt(fd, end64Offset, end64, 56) ||
        readLE(end64, 4) != 0x06064b50)
      return "zip64 end of central directory is outside the file";
    dir.entries = readLE(end64 + 32, 8);
    dir.size = readLE(end64 + 40, 8);
    dir.offset = readLE(end64 + 48, 8);
  }
  if (dir.offset > fileSize || dir.size > fileSize - dir.offset)
    return "zip central directory lies outside the file";
  return "";
}

/// Why the archive's entries are not safe to read, or "". Lists the
/// compressed entries in DEFLATED.
std::string zipArchiveProblem(int fd, uint64_t fileSize,
                              std::vector<DeflatedEntry> &deflated) {
  ZipDirectory dir;
  std::string problem = findDirectory(fd, fileSize, dir);
  if (!problem.empty())
    return problem;
  std::vector<uint8_t> cd(dir.size);
  if (!readAt(fd, dir.offset, cd.data(), cd.size()))
    return "cannot read the zip central directory";
  uint64_t stored = 0, inflated = 0;
  size_t at = 0;
  for (uint64_t i = 0; i < dir.entries; ++i) {
    if (cd.size() - at < 46 || readLE(&cd[at], 4) != 0x02014b50)
      return "corrupt zip central directory (entry " + std::to_string(i) + ")";
    const uint8_t *h = &cd[at];
    uint64_t method = readLE(h + 10, 2);
    uint64_t packed = readLE(h + 20, 4), size = readLE(h + 24, 4);
    size_t nameLen = readLE(h + 28, 2), extraLen = readLE(h + 30, 2),
           commentLen = readLE(h + 32, 2);
    if (cd.size() - at - 46 < nameLen + extraLen + commentLen)
      return "corrupt zip central directory (entry " + std::to_string(i) + ")";
    std::string name(reinterpret_cast<const char *>(h + 46), nameLen);
    // zip64: the sizes that do not fit 32 bits follow in extra field 1.
    const uint8_t *extra = h + 46 + nameLen;
    for (size_t e = 0; e + 4 <= extraLen;) {
      size_t id = readLE(extra + e, 2), len = readLE(extra + e + 2, 2);
      if (e + 4 + len > extraLen)
        break;
      if (id == 1) {
        size_t field = e + 4;
        if (size == 0xffffffff && field + 8 <= e + 4 + len) {
          size = readLE(extra + field, 8);
          field += 8;
        }
        if (packed == 0xffffffff && field + 8 <= e + 4 + len)
          packed = readLE(extra + field, 8);
      }
      e += 4 + len;
    }
    if (packed > fileSize)
      return "zip entry '" + name + "' claims " + std::to_string(packed) +
             " bytes, more than the file holds";
    if (method == 0) {
      if (size != packed)
        return "zip entry '" + name + "' is stored with two different sizes";
      stored += size;
      if (stored > fileSize)
        return "zip entries overlap (their stored sizes exceed the file)";
    } else if (method == 8) {
      if (size / kMaxDeflateRatio > packed + 1)
        return "zip entry '" + name + "' claims to inflate " +
               std::to_string(packed) + " bytes to " + std::to_string(size) +
               ", more than deflate can";
      inflated += size;
      deflated.push_back({name, size, uint32_t(readLE(h + 16, 4))});
      if (inflated > kMaxInflatedBytes)
        return "compressed zip entries inflate to more than " +
               std::to_string(kMaxInflatedBytes >> 20) +
               " MiB (a zip bomb?); torch.save stores records uncompressed";
    } else {
      return "zip entry '" + name + "' uses compression method " +
             std::to_string(method) + " (only stored and deflate are read)";
    }
    at += 46 + nameLen + extraLen + commentLen;
  }
  return "";
}

/// PATH's size, after checking that it is a non-empty regular file. WHAT
/// names the expected content in messages.
uint64_t regularFileSize(const std::string &path, const std::string &what) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    throw fileError(path, std::string("cannot open: ") + std::strerror(errno) +
                              " (expected " + what + ")");
  if (!S_ISREG(st.st_mode))
    throw fileError(path, "not a regular file (expected " + what + ")");
  if (st.st_size == 0)
    throw fileError(path, "empty file (expected " + what + ")");
  return static_cast<uint64_t>(st.st_size);
}

} // namespace

PyRef loadTorchFile(const std::string &path) {
  uint64_t fileSize = regularFileSize(path, "a torch.save archive");
  std::vector<DeflatedEntry> deflated;
  {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      throw fileError(path,
                      std::string("cannot open: ") + std::strerror(errno));
    uint8_t magic[4] = {0, 0, 0, 0};
    bool isZip = readAt(fd, 0, magic, std::min<uint64_t>(4, fileSize)) &&
                 std::memcmp(magic, "PK\x03\x04", 4) == 0;
    std::string problem =
        isZip ? zipArchiveProblem(fd, fileSize, deflated) : "";
    ::close(fd);
    if (!isZip) {
      if (magic[0] == 0x80)
        throw fileError(path, "legacy (pre-1.6, non-zip) torch.save format "
                              "is not supported; re-save it with a current "
                              "PyTorch");
      throw fileError(path, "not a torch.save file (no zip archive header)");
    }
    if (!problem.empty())
      throw fileError(path, problem);
  }
  try {
    caffe2::serialize::PyTorchStreamReader archive(path);
    for (const DeflatedEntry &entry : deflated) {
      // Records are named without the archive's top folder.
      std::string record = entry.name.substr(entry.name.find('/') + 1);
      at::DataPtr data;
      size_t bytes = 0;
      std::tie(data, bytes) = archive.getRecord(record);
      if (bytes != entry.size ||
          zipCrc32(static_cast<const uint8_t *>(data.get()), bytes) !=
              entry.crc)
        throw fileError(path, "corrupt or truncated zip entry '" + entry.name +
                                  "': it does not inflate to the " +
                                  std::to_string(entry.size) +
                                  " bytes its directory declares");
    }
    if (!archive.hasRecord("data.pkl"))
      throw fileError(path, "zip archive has no data.pkl: not a torch.save "
                            "file (a TorchScript module?)");
    at::DataPtr pkl;
    size_t bytes = 0;
    std::tie(pkl, bytes) = archive.getRecord("data.pkl");
    return unpickle(static_cast<const uint8_t *>(pkl.get()), bytes, &archive);
  } catch (const c10::Error &e) {
    throw fileError(path, std::string("corrupt or truncated torch.save "
                                      "archive: ") +
                              e.what_without_backtrace());
  } catch (const std::runtime_error &e) {
    std::string msg = e.what();
    if (msg.compare(0, path.size(), path) == 0)
      throw;
    throw fileError(path, msg);
  } catch (const std::bad_alloc &) {
    throw fileError(path, "out of memory while reading the archive");
  }
}

} // namespace rtml
