//===- FileError.h - "PATH: problem" errors of the file readers -----------===//
#ifndef RTML_RUNTIME_FILEERROR_H
#define RTML_RUNTIME_FILEERROR_H

#include <stdexcept>
#include <string>

namespace rtml {

inline std::runtime_error fileError(const std::string &path,
                                    const std::string &msg) {
  return std::runtime_error(path + ": " + msg);
}

} // namespace rtml

#endif // RTML_RUNTIME_FILEERROR_H
