//===- SpecFuzzer.cpp - libFuzzer harness over the spec front end ---------===//
//
// Feeds arbitrary bytes to parseModelSpec (YAML parsing, parameters, block
// expansion, validation) and checks the loader's promises: it returns, it
// never throws, it returns a spec exactly when no error was reported, every
// error names the file with a line and column, and a returned spec is
// well-formed (every `from` names an earlier layer or the input, one main
// head first, devices declared).
//
// Built by scripts/fuzz.sh (clang-19, -fsanitize=fuzzer,address,undefined).
//
//===----------------------------------------------------------------------===//
#include "rtml/Spec/Loader.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>

using namespace rtml;
using namespace rtml::spec;

static void check(bool condition, const char *what) {
  if (condition)
    return;
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  // Real networks stay far below; a low bound keeps every input fast under
  // the sanitizers (the bound itself is tested in GraphTest).
  setMaxExpandedItems(500);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  // A `--set` may come with the input: the first line "#set NAME=VALUE".
  std::vector<ParamOverride> overrides;
  if (text.rfind("#set ", 0) == 0) {
    size_t end = text.find('\n');
    ParamOverride o;
    if (parseParamOverride(text.substr(5, end == std::string::npos
                                              ? std::string::npos
                                              : end - 5),
                           o))
      overrides.push_back(o);
  }
  DiagnosticEngine diag;
  std::optional<ModelSpec> spec;
  try {
    spec = parseModelSpec(text, "fuzz.yaml", diag, overrides);
  } catch (...) {
    check(false, "parseModelSpec threw");
  }
  check(spec.has_value() == !diag.hasErrors(),
        "a spec is returned exactly when there is no error");
  for (const Diagnostic &d : diag.diagnostics()) {
    if (d.severity != Severity::Error)
      continue;
    bool commandLine = d.location.file == "<command line>";
    check(commandLine || d.location.file == "fuzz.yaml", "error file");
    check(commandLine || (d.location.line >= 1 && d.location.column >= 1),
          "error has a line and a column");
    check(!d.message.empty(), "error has a message");
  }
  std::ostringstream os;
  diag.printAll(os);
  if (!spec)
    return 0;
  std::set<std::string> seen = {"input"};
  for (const LayerSpec &l : spec->layers) {
    check(!l.name.empty() && !seen.count(l.name), "unique layer names");
    check(!l.from.empty(), "from is resolved");
    check(l.from.size() == l.fromLocations.size(), "a location per input");
    for (const std::string &f : l.from)
      check(seen.count(f) == 1, "from names an earlier layer");
    if (!l.device.empty()) {
      bool declared = false;
      for (const std::string &d : spec->devices)
        declared |= d == l.device;
      check(declared, "device is declared");
    }
    seen.insert(l.name);
  }
  check(!spec->heads.empty() && spec->heads.front().main, "main head first");
  int mains = 0;
  for (const HeadSpec &h : spec->heads) {
    mains += h.main;
    check(seen.count(h.output) == 1 && h.output != "input",
          "head reads a layer");
  }
  check(mains == 1, "exactly one main head");
  return 0;
}
