//===- SpecTestUtil.h - Loading specs from text in the spec tests ---------===//
#ifndef RTML_TEST_UNIT_SPEC_SPECTESTUTIL_H
#define RTML_TEST_UNIT_SPEC_SPECTESTUTIL_H

#include "rtml/Spec/Loader.h"

#include <gtest/gtest.h>

#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace rtml::spec::testing {

/// Loads TEXT as "m.yaml"; DIAGS gets each diagnostic as
/// "LINE:COL: error|note: MESSAGE".
struct Result {
  std::optional<ModelSpec> spec;
  std::vector<std::string> diags;
  std::string printed;
};

inline Result load(const std::string &text,
            const std::vector<ParamOverride> &overrides = {}) {
  DiagnosticEngine diag;
  Result r;
  r.spec = parseModelSpec(text, "m.yaml", diag, overrides);
  for (const Diagnostic &d : diag.diagnostics()) {
    EXPECT_TRUE(d.location.file == "m.yaml" ||
                d.location.file == "<command line>")
        << d.location.file;
    const char *sev = d.severity == Severity::Error  ? "error"
                      : d.severity == Severity::Note ? "note"
                                                     : "warning";
    r.diags.push_back(std::to_string(d.location.line) + ":" +
                      std::to_string(d.location.column) + ": " + sev + ": " +
                      d.message);
  }
  std::ostringstream os;
  diag.printAll(os);
  r.printed = os.str();
  // The API promises: nullopt exactly when errors were reported.
  EXPECT_EQ(r.spec.has_value(), !diag.hasErrors()) << r.printed;
  return r;
}

} // namespace rtml::spec::testing

#endif // RTML_TEST_UNIT_SPEC_SPECTESTUTIL_H
