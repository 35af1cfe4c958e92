//===- Loader.h - Reading and validating model.yaml -----------------------===//
#ifndef RTML_SPEC_LOADER_H
#define RTML_SPEC_LOADER_H

#include "rtml/Spec/ModelSpec.h"

#include <optional>
#include <string>

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

} // namespace rtml::spec

#endif // RTML_SPEC_LOADER_H
