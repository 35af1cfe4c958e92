//===- Passes.h - rtml transformation passes ------------------------------===//
#ifndef RTML_TRANSFORMS_PASSES_H
#define RTML_TRANSFORMS_PASSES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "rtml/Dialect/RtmlDialect.h"
#include "rtml/Dialect/RtmlOps.h"

namespace rtml {

/// What --rtml-assign-layout (and rtmlc --layout) is asked for.
enum class LayoutChoice { Auto, Nchw, Nhwc };

#define GEN_PASS_DECL
#include "rtml/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "rtml/Transforms/Passes.h.inc"

} // namespace rtml

#endif // RTML_TRANSFORMS_PASSES_H
