//===- AtomicFile.cpp - Files replaced whole or not at all ----------------===//
//
// The new content goes to a temporary file in the target's directory, is
// flushed and fsynced, and is renamed over the target. A writer killed
// mid-write (SIGKILL runs no handler) must not leave a full-size temporary
// behind: the content is written to an unnamed file (O_TMPFILE) that only
// gets a name, PATH.tmp.<pid>, once complete, just before the rename; and
// each write removes the PATH.tmp.<pid> files of writers no longer alive,
// for the instant between the two and for file systems without O_TMPFILE.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Serialization.h"

#include "FileError.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace rtml {

namespace {

/// Removes PATH.tmp.<pid> for every pid that is no longer a process.
void removeStaleTemporaries(const std::string &path) {
  std::filesystem::path target(path);
  std::filesystem::path dir = target.parent_path();
  if (dir.empty())
    dir = ".";
  std::string prefix = target.filename().string() + ".tmp.";
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::filesystem::directory_entry &entry = *it;
    std::string file = entry.path().filename().string();
    if (file.compare(0, prefix.size(), prefix) != 0 ||
        file.size() == prefix.size() || file.size() > prefix.size() + 9 ||
        file.find_first_not_of("0123456789", prefix.size()) !=
            std::string::npos)
      continue;
    pid_t pid = static_cast<pid_t>(std::stol(file.substr(prefix.size())));
    std::error_code ignored;
    if (pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH)
      std::filesystem::remove(entry.path(), ignored);
  }
}

} // namespace

void writeFileAtomically(const std::string &path, const void *data,
                         size_t size) {
  writeFileAtomically(path, data, size, "");
}

void writeFileAtomically(const std::string &path, const void *data, size_t size,
                         const std::string &previous) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  if (dir.empty())
    dir = "/";
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  removeStaleTemporaries(path);
  if (!previous.empty())
    removeStaleTemporaries(previous);
  auto failWith = [&](const std::string &what) {
    int err = errno;
    ::unlink(tmp.c_str());
    return fileError(path, what + ": " + std::strerror(err));
  };
  // Unnamed until complete; where the file system cannot, named at once.
  int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  bool unnamed = fd >= 0;
  if (!unnamed)
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw fileError(path, "cannot create " + tmp + ": " + std::strerror(errno));
  const char *p = static_cast<const char *>(data);
  size_t left = size;
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      ::close(fd);
      throw failWith("write failed");
    }
    p += n;
    left -= size_t(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    throw failWith("fsync failed");
  }
  if (unnamed) {
    std::string self = "/proc/self/fd/" + std::to_string(fd);
    ::unlink(tmp.c_str());
    if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, tmp.c_str(),
                 AT_SYMLINK_FOLLOW) != 0) {
      ::close(fd);
      throw failWith("cannot name the temporary file " + tmp);
    }
  }
  if (::close(fd) != 0)
    throw failWith("close failed");
  if (!previous.empty() && ::access(path.c_str(), F_OK) == 0) {
    // PATH stays in place while PREVIOUS becomes a second name for it.
    std::string link = previous + ".tmp." + std::to_string(::getpid());
    ::unlink(link.c_str());
    if (::link(path.c_str(), link.c_str()) != 0 ||
        ::rename(link.c_str(), previous.c_str()) != 0) {
      int err = errno;
      ::unlink(link.c_str());
      ::unlink(tmp.c_str());
      throw fileError(previous, std::string("cannot keep the previous file: ") +
                                    std::strerror(err));
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw failWith("rename failed");
  // Make the rename itself durable.
  int dirFd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirFd >= 0) {
    ::fsync(dirFd);
    ::close(dirFd);
  }
}

} // namespace rtml
