//===- TestUtil.h - Temporary directories, files and Python for tests -----===//
#ifndef RTML_TEST_UNIT_RUNTIME_TESTUTIL_H
#define RTML_TEST_UNIT_RUNTIME_TESTUTIL_H

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace rtml::test {

/// A fresh directory under the system temp dir, removed at destruction.
class TempDir {
public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "rtml-runtime-XXXXXX";
    if (!::mkdtemp(pattern.data()))
      throw std::runtime_error("mkdtemp failed");
    dir = pattern;
  }
  ~TempDir() { std::system(("rm -rf '" + dir + "'").c_str()); }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  const std::string &path() const { return dir; }
  std::string operator/(const std::string &name) const {
    return dir + "/" + name;
  }

private:
  std::string dir;
};

inline void writeFile(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

inline std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

inline bool fileExists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

/// The what() of the exception FN throws, or "<no error>".
template <typename Fn> std::string errorOf(Fn fn) {
  try {
    fn();
  } catch (const std::exception &e) {
    return e.what();
  }
  return "<no error>";
}

/// Runs SCRIPT with the Python that has torch; returns its exit status and
/// puts stdout+stderr in OUTPUT.
inline int runPython(const std::string &script, const std::string &workDir,
                     std::string &output) {
  std::string scriptPath = workDir + "/script.py";
  std::ofstream(scriptPath) << script;
  // $RTML_PYTHON overrides the build's choice (e.g. on a machine whose
  // torch lives in a virtual environment, not under /usr/bin/python3).
  const char *python = std::getenv("RTML_PYTHON");
  std::string cmd = std::string(python && *python ? python : RTML_PYTHON) +
                    " '" + scriptPath + "' 2>&1";
  FILE *pipe = ::popen(cmd.c_str(), "r");
  if (!pipe)
    return -1;
  char buf[4096];
  output.clear();
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0)
    output.append(buf, n);
  int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// Sets the environment variable NAME to VALUE for the scope.
class ScopedEnv {
public:
  ScopedEnv(const char *name, const char *value) : name(name) {
    setenv(name, value, 1);
  }
  ~ScopedEnv() { unsetenv(name); }

private:
  const char *name;
};

} // namespace rtml::test

#endif // RTML_TEST_UNIT_RUNTIME_TESTUTIL_H
