//===- DataFiles.cpp - Opening and reading data set files, with reasons ---===//
#include "rtml/Runtime/DataFiles.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

namespace rtml {

namespace {

const char *kindOf(mode_t mode) {
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISSOCK(mode))
    return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode))
    return "a device";
  return "not a plain file";
}

/// Closes a descriptor on every path out of readWholeFile.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0)
      ::close(fd);
  }
};

} // namespace

FileStatus fileStatus(const std::string &path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return errno == EACCES ? FileStatus::Unreadable : FileStatus::Missing;
  if (!S_ISREG(st.st_mode))
    return FileStatus::NotRegular;
  return ::access(path.c_str(), R_OK) == 0 ? FileStatus::Regular
                                           : FileStatus::Unreadable;
}

uint64_t requireRegularFile(const std::string &path,
                            const std::string &expected) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    struct stat link;
    if (err == ENOENT && ::lstat(path.c_str(), &link) == 0)
      throw DataFileError(path, "no such file: a dangling symbolic link "
                                "(expected " +
                                    expected + ")");
    if (err == ENOENT || err == ENOTDIR)
      throw DataFileError(path, "no such file (expected " + expected + ")");
    if (err == EACCES)
      throw DataFileError(path,
                          "permission denied (expected " + expected + ")");
    throw DataFileError(path,
                        std::string("cannot open: ") + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode))
    throw DataFileError(path, std::string("not a regular file: ") +
                                  kindOf(st.st_mode) + " (expected " +
                                  expected + ")");
  if (::access(path.c_str(), R_OK) != 0 && errno == EACCES)
    throw DataFileError(path, "permission denied (expected " + expected + ")");
  return static_cast<uint64_t>(st.st_size);
}

std::vector<uint8_t> readWholeFile(const std::string &path,
                                   const std::string &expected,
                                   uint64_t maxBytes) {
  uint64_t size = requireRegularFile(path, expected);
  if (size > maxBytes)
    throw DataFileError(
        path, "file of " + std::to_string(size) + " bytes is larger than the " +
                  std::to_string(maxBytes) +
                  " bytes a reader accepts (expected " + expected + ")");
  // O_NONBLOCK: should the file have become a FIFO since stat, open does
  // not wait for a writer.
  FdCloser fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  if (fd.fd < 0)
    throw DataFileError(path,
                        std::string("cannot open: ") + std::strerror(errno));
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t got = ::read(fd.fd, bytes.data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      throw DataFileError(path,
                          std::string("read failed: ") + std::strerror(errno));
    if (got == 0)
      throw DataFileError(path, "read failed: the file shrank to " +
                                    std::to_string(done) +
                                    " bytes while being read");
    done += static_cast<size_t>(got);
  }
  return bytes;
}

bool isGzip(const uint8_t *data, size_t size) {
  return size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
}

struct GzipReader::State {
  z_stream stream{};
  bool ended = false; ///< the last member's end was reached
};

GzipReader::GzipReader(const uint8_t *data, size_t size, std::string n)
    : state(new State), name(std::move(n)) {
  // 16 + MAX_WBITS: a gzip header and trailer, not raw zlib.
  if (inflateInit2(&state->stream, 16 + MAX_WBITS) != Z_OK) {
    delete state;
    throw DataFileError(name, "cannot start zlib");
  }
  state->stream.next_in = const_cast<Bytef *>(data);
  state->stream.avail_in = static_cast<uInt>(size);
  if (size > UINT32_MAX) {
    inflateEnd(&state->stream);
    delete state;
    throw DataFileError(name, "gzip file too large");
  }
}

GzipReader::~GzipReader() {
  inflateEnd(&state->stream);
  delete state;
}

size_t GzipReader::inflateInto(uint8_t *out, size_t size) {
  z_stream &s = state->stream;
  size_t done = 0;
  while (done < size && !state->ended) {
    size_t chunk = std::min<size_t>(size - done, 1u << 30);
    s.next_out = out + done;
    s.avail_out = static_cast<uInt>(chunk);
    int rc = inflate(&s, Z_NO_FLUSH);
    done += chunk - s.avail_out;
    if (rc == Z_STREAM_END) {
      // gzip allows several members back to back (gunzip joins them).
      if (s.avail_in == 0) {
        state->ended = true;
      } else if (inflateReset(&s) != Z_OK) {
        throw DataFileError(name, "corrupt gzip stream");
      }
      continue;
    }
    if (rc == Z_BUF_ERROR && s.avail_in == 0)
      break; // input exhausted in the middle of a member
    if (rc != Z_OK)
      throw DataFileError(name, std::string("corrupt gzip stream: ") +
                                    (s.msg ? s.msg : "inflate failed"));
  }
  return done;
}

void GzipReader::read(uint8_t *out, size_t size, const std::string &what) {
  size_t got = inflateInto(out, size);
  if (got < size)
    throw DataFileError(name, "truncated: the gzip stream ends after " +
                                  std::to_string(got) + " of the " +
                                  std::to_string(size) + " bytes of " + what);
}

bool GzipReader::atEnd() {
  uint8_t probe;
  if (inflateInto(&probe, 1) != 0)
    return false;
  if (!state->ended)
    throw DataFileError(name, "truncated: the gzip stream has no end (its "
                              "checksum trailer is missing)");
  return true;
}

} // namespace rtml
