//===- DataFiles.h - Opening and reading data set files, with reasons -----===//
//
// Every data set reader opens its files through these, so that a refusal
// always names the file and says why ("no such file", "permission denied",
// "not a regular file (a FIFO)", errno's text for a failed read), and so that
// no reader allocates more than a file can hold. Plain C++ (no LibTorch):
// rtml-data and the fuzz targets use them too.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_DATAFILES_H
#define RTML_RUNTIME_DATAFILES_H

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace rtml {

/// A data file that cannot be used: what() is "PATH: problem".
class DataFileError : public std::runtime_error {
public:
  DataFileError(const std::string &path, const std::string &problem)
      : std::runtime_error(path + ": " + problem) {}
};

/// What kind of file PATH is, as a reader needs it told apart.
enum class FileStatus { Regular, Missing, NotRegular, Unreadable };

/// stat(2) and access(2) of PATH: Missing also for a dangling symbolic link.
FileStatus fileStatus(const std::string &path);

/// Throws DataFileError unless PATH is a readable regular file; the message
/// says which of "no such file", "permission denied", "not a regular file
/// (a directory / a FIFO / ...)" holds, and what was EXPECTED there.
/// Returns the file's size in bytes.
uint64_t requireRegularFile(const std::string &path,
                            const std::string &expected);

/// The whole of PATH (see requireRegularFile), refused when larger than
/// MAXBYTES. Read errors carry errno's text.
std::vector<uint8_t> readWholeFile(const std::string &path,
                                   const std::string &expected,
                                   uint64_t maxBytes);

/// True when DATA starts with gzip's magic bytes (1f 8b).
bool isGzip(const uint8_t *data, size_t size);

/// Inflates gzip's incrementally, never holding more than the caller asks
/// for: a reader takes a header, learns from it how much must follow, and
/// then asks for exactly that, so a small file cannot inflate into a huge
/// allocation. NAME is the file for messages.
class GzipReader {
public:
  GzipReader(const uint8_t *data, size_t size, std::string name);
  ~GzipReader();
  GzipReader(const GzipReader &) = delete;
  GzipReader &operator=(const GzipReader &) = delete;

  /// Fills OUT with exactly SIZE bytes; throws DataFileError naming the file
  /// when the stream is corrupt or ends first (saying WHAT was cut short).
  void read(uint8_t *out, size_t size, const std::string &what);
  /// True when no byte remains after what was read (a corrupt tail throws).
  bool atEnd();

private:
  size_t inflateInto(uint8_t *out, size_t size);
  struct State;
  State *state;
  std::string name;
};

} // namespace rtml

#endif // RTML_RUNTIME_DATAFILES_H
