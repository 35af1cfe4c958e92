//===- Loader.h - Reading and validating model.yaml -----------------------===//
#ifndef RTML_SPEC_LOADER_H
#define RTML_SPEC_LOADER_H

#include "rtml/Spec/ModelSpec.h"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace rtml::spec {

/// Reads FILE, registers its text with DIAG (for source lines in errors),
/// and returns the validated spec; on any error returns nullopt with every
/// independent error reported to DIAG. Never throws.
std::optional<ModelSpec> loadModelSpec(const std::string &file,
                                       DiagnosticEngine &diag);

/// Same, from text in memory; FILE names it in locations.
std::optional<ModelSpec> parseModelSpec(const std::string &text,
                                        const std::string &file,
                                        DiagnosticEngine &diag);

/// A command-line `--set NAME=VALUE`: VALUE (YAML text, e.g. `100` or
/// `[3, 3]`) replaces the value of parameter NAME, which must be declared
/// in the file's `params:` section or be `classes`.
struct ParamOverride {
  std::string name;
  std::string value;
};

/// Splits "NAME=VALUE"; false when there is no '=' or NAME is empty.
bool parseParamOverride(const std::string &arg, ParamOverride &out);

/// loadModelSpec / parseModelSpec with parameter overrides; an override of
/// an undeclared parameter is an error located at "<command line>".
std::optional<ModelSpec>
loadModelSpec(const std::string &file, DiagnosticEngine &diag,
              const std::vector<ParamOverride> &overrides);
std::optional<ModelSpec>
parseModelSpec(const std::string &text, const std::string &file,
               DiagnosticEngine &diag,
               const std::vector<ParamOverride> &overrides);

/// Block expansion stops with an error after this many layers and block
/// uses (default 10000), so that blocks used many times inside each other
/// cannot exhaust time or memory. For tests and the fuzzer.
void setMaxExpandedItems(size_t limit);

} // namespace rtml::spec

#endif // RTML_SPEC_LOADER_H
