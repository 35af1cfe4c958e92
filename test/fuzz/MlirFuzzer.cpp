//===- MlirFuzzer.cpp - libFuzzer harness over rtmlc's .mlir input --------===//
//
// What rtmlc does with a .mlir file, on arbitrary bytes: parse, verify, run
// the pass pipeline, and emit model.cpp and the kernels. The promise
// checked: every stage either succeeds or fails with at least one error
// diagnostic at a file location (never a crash, a sanitizer report or a
// silent failure); and a module that verified still verifies after the
// passes. Whether the emitted C++ compiles is the Target lit tests' job.
//
// Built by scripts/fuzz.sh (clang-19, -fsanitize=fuzzer,address,undefined).
//
//===----------------------------------------------------------------------===//
#include "rtml/InitRtml.h"
#include "rtml/Target/CppEmitter.h"
#include "rtml/Transforms/Passes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <cstdlib>

using namespace mlir;

namespace {

[[noreturn]] void violated(const char *what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}

/// Counts error diagnostics, and those that carry a file location.
struct ErrorCount {
  int errors = 0, located = 0;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static DialectRegistry *registry = [] {
    auto *r = new DialectRegistry();
    rtml::registerRtmlDialects(*r);
    return r;
  }();
  MLIRContext context(*registry, MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  ErrorCount count;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    if (diag.getSeverity() == DiagnosticSeverity::Error) {
      ++count.errors;
      count.located += isa<FileLineColLoc>(diag.getLocation()) ||
                       isa<FusedLoc, NameLoc, CallSiteLoc>(diag.getLocation());
    }
    return success();
  });
  auto failedWithLocatedError = [&](const char *stage) {
    if (count.errors == 0 || count.located == 0) {
      std::fprintf(stderr, "stage %s\n", stage);
      violated("a stage failed without a located error");
    }
  };

  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(text, "fuzz.mlir"), llvm::SMLoc());
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(sourceMgr, ParserConfig(&context));
  if (!module)
    return failedWithLocatedError("parse"), 0;
  if (failed(verify(*module)))
    return failedWithLocatedError("verify"), 0;

  PassManager pm(module->getOperation()->getName());
  pm.addPass(rtml::createPartitionDevices());
  pm.addPass(rtml::createFuseReluLrn());
  pm.addPass(rtml::createFuseConcat());
  if (failed(pm.run(*module)))
    return failedWithLocatedError("passes"), 0;
  if (failed(verify(*module)))
    violated("the passes broke a module that verified");

  std::string out;
  llvm::raw_string_ostream os(out);
  if (failed(rtml::emitModelCpp(*module, os)))
    return failedWithLocatedError("emit model.cpp"), 0;
  for (rtml::KernelFile file : {rtml::KernelFile::Header, rtml::KernelFile::Cpp,
                                rtml::KernelFile::Cuda})
    if (failed(rtml::emitKernels(*module, file, os)))
      return failedWithLocatedError("emit kernels"), 0;
  return 0;
}
