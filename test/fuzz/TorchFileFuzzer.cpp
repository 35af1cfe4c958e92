//===- TorchFileFuzzer.cpp - libFuzzer harness over the torch.save readers ===//
//
// Feeds arbitrary bytes, as a file, to the readers behind --weights, export
// and --resume (loadStateDict, then loadWeights into a small model;
// loadFlatDict) or, built with RTML_FUZZ_TENSOR, behind predict --input
// (loadTensor). The promise checked: each returns, or throws a
// std::runtime_error whose message starts with the file's path; never a
// crash, a sanitizer report, another exception or a hang.
//
// Built by scripts/fuzz.sh (clang-19, -fsanitize=fuzzer,address,undefined).
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Parameters.h"
#include "rtml/Runtime/Serialization.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

using namespace rtml;

namespace {

[[noreturn]] void violated(const std::string &what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what.c_str());
  std::abort();
}

/// Runs READ; a std::runtime_error must name PATH first.
template <typename F>
void expectRefusalOrSuccess(const std::string &path, F read) {
  try {
    read();
  } catch (const std::runtime_error &e) {
    std::string msg = e.what();
    if (msg.compare(0, path.size() + 2, path + ": ") != 0)
      violated("error does not start with the path: " + msg);
  } catch (const std::exception &e) {
    violated(std::string("unexpected exception: ") + e.what());
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // A memory file: no disk traffic, and a path the readers stat and open.
  static int fd = ::memfd_create("fuzz.pt", 0);
  if (fd < 0 || ::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size))
    violated("cannot write the memory file");
  std::string path = "/proc/self/fd/" + std::to_string(fd);
#ifdef RTML_FUZZ_TENSOR
  expectRefusalOrSuccess(path, [&] { loadTensor(path); });
#else
  expectRefusalOrSuccess(path, [&] {
    static const std::vector<ParameterSpec> specs = {
        {"fc.weight", {2, 48}, ParamInit::FanInUniform, 48},
        {"fc.bias", {2}, ParamInit::FanInUniform, 48}};
    StateDict state = loadStateDict(path);
    ParameterRegistry registry(specs, at::kCPU, 1);
    loadWeights(registry, state, path, WeightsPolicy{});
  });
  expectRefusalOrSuccess(path, [&] { loadFlatDict(path); });
#endif
  return 0;
}
