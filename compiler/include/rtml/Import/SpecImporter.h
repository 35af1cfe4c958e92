//===- SpecImporter.h - ModelSpec -> rtml dialect -------------------------===//
#ifndef RTML_IMPORT_SPECIMPORTER_H
#define RTML_IMPORT_SPECIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace rtml {
namespace spec {
struct ModelSpec;
} // namespace spec

/// Builds the rtml module of SPEC: one `func.func @forward` from the input
/// batch to the logits, with an `rtml.param` per parameter and the training
/// set-up as module attributes. Every op's location is its layer's YAML
/// location (a NameLoc carrying the layer name), so shape errors, found by
/// the ops' type inference while building, point at the YAML line. Returns
/// null after reporting errors to the context's diagnostic handler.
mlir::OwningOpRef<mlir::ModuleOp> importModelSpec(const spec::ModelSpec &spec,
                                                  mlir::MLIRContext &context);

} // namespace rtml

#endif // RTML_IMPORT_SPECIMPORTER_H
