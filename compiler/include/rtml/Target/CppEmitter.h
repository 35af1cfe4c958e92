//===- CppEmitter.h - rtml module -> trainer source -----------------------===//
#ifndef RTML_TARGET_CPPEMITTER_H
#define RTML_TARGET_CPPEMITTER_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

namespace rtml {

/// Writes model.cpp: a rtml::CompiledModel whose forward() calls the runtime
/// op library in the module's order, its parameter table and training
/// defaults, and a main() that runs the trainer. Reads nothing but MODULE.
mlir::LogicalResult emitModelCpp(mlir::ModuleOp module,
                                 llvm::raw_ostream &os);

/// The model's kernels, specialized with their constants: kernels.h (one
/// config struct and one entry point per kernel), kernels.cpp (the entry
/// points over the runtime's CPU twins and autograd glue) and kernels.cu
/// (the CUDA instantiations; compiled only when the runtime has CUDA).
enum class KernelFile { Header, Cpp, Cuda };
mlir::LogicalResult emitKernels(mlir::ModuleOp module, KernelFile file,
                                llvm::raw_ostream &os);

/// Writes the CMakeLists.txt that builds model.cpp into the executable
/// EXECUTABLE against the rtml runtime package (rtmlRuntime_DIR).
mlir::LogicalResult emitTrainerCMake(mlir::ModuleOp module,
                                     llvm::StringRef executable,
                                     llvm::raw_ostream &os);

/// The per-layer table of `rtmlc --emit=summary`: name, op, output shape,
/// parameters, multiply-accumulates per image, device; totals last.
mlir::LogicalResult printSummary(mlir::ModuleOp module, llvm::raw_ostream &os);

/// The module's model name (rtml.name), or "model".
std::string modelName(mlir::ModuleOp module);

} // namespace rtml

#endif // RTML_TARGET_CPPEMITTER_H
