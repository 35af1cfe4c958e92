//===- rtmlc.cpp - The rtml compiler driver -------------------------------===//
//
//   rtmlc MODEL.yaml [-o DIR]      check, lower, emit and build a trainer;
//                                  the last line of output is its path
//   rtmlc MODEL.yaml --emit=KIND   print summary | mlir-import | mlir | cpp
//
// A .mlir file is accepted in place of the YAML (it skips the spec front end),
// which is how the emitter's lit tests feed it hand-written IR.
//
//===----------------------------------------------------------------------===//
#include "rtml/Import/SpecImporter.h"
#include "rtml/InitRtml.h"
#include "rtml/Spec/Loader.h"
#include "rtml/Support/TrainSettings.h"
#include "rtml/Target/CppEmitter.h"
#include "rtml/Transforms/Passes.h"
#include "rtml/Transforms/Pipeline.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

#include <iostream>

using namespace mlir;
namespace cl = llvm::cl;

static cl::OptionCategory rtmlcCategory("rtmlc options");

static cl::opt<std::string> inputFile(cl::Positional, cl::Required,
                                      cl::desc("<model.yaml | model.mlir>"),
                                      cl::cat(rtmlcCategory));

static cl::opt<std::string>
    outputDir("o", cl::value_desc("dir"),
              cl::desc("Directory for the trainer's source and build "
                       "(default: out/<model name>)"),
              cl::cat(rtmlcCategory));

enum class EmitKind { Build, Summary, MlirImport, Mlir, Cpp, Kernels };
static cl::opt<EmitKind> emitKind(
    "emit", cl::desc("What to produce (default: build the trainer)"),
    cl::init(EmitKind::Build),
    cl::values(
        clEnumValN(EmitKind::Build, "build",
                   "emit the trainer's source into -o DIR and build it"),
        clEnumValN(EmitKind::Summary, "summary",
                   "per-layer table: output shape, parameters, MACs, device"),
        clEnumValN(EmitKind::MlirImport, "mlir-import",
                   "the rtml IR as imported, before any pass"),
        clEnumValN(EmitKind::Mlir, "mlir",
                   "the rtml IR after the pass pipeline"),
        clEnumValN(EmitKind::Cpp, "cpp", "the emitted model.cpp"),
        clEnumValN(EmitKind::Kernels, "kernels",
                   "the emitted kernels.h, kernels.cpp and kernels.cu")),
    cl::cat(rtmlcCategory));

static cl::opt<bool> noBuild("no-build",
                             cl::desc("Write the trainer's source into -o DIR "
                                      "but do not build it"),
                             cl::cat(rtmlcCategory));

static cl::opt<std::string> runtimeDir(
    "runtime-dir", cl::value_desc("dir"),
    cl::desc("Build directory of the rtml runtime (holds "
             "rtmlRuntimeConfig.cmake; default: $RTML_RUNTIME_DIR, else the "
             "build rtmlc comes from)"),
    cl::cat(rtmlcCategory));

static cl::list<std::string>
    paramOverrides("set", cl::value_desc("name=value"),
                   cl::desc("Override the spec parameter NAME (declared in "
                            "its params: section, or classes); repeatable"),
                   cl::cat(rtmlcCategory));

static cl::opt<bool>
    noFuse("no-fuse",
           cl::desc("Run no fusion pass (for comparison: same numbers, "
                    "more kernels)"),
           cl::cat(rtmlcCategory));

static cl::list<std::string> disabledPasses(
    "disable-pass", cl::value_desc("name"),
    cl::desc("Leave pass NAME out of the pipeline (e.g. "
             "rtml-fuse-relu-lrn); repeatable"),
    cl::cat(rtmlcCategory));

static cl::opt<rtml::LayoutChoice> layoutChoice(
    "layout",
    cl::desc("Memory layout of convolution stacks (rtml-assign-layout)"),
    cl::init(rtml::LayoutChoice::Auto),
    cl::values(clEnumValN(rtml::LayoutChoice::Auto, "auto",
                          "NHWC (channels_last) on CUDA, NCHW on the CPU "
                          "(default)"),
               clEnumValN(rtml::LayoutChoice::Nchw, "nchw",
                          "NCHW on every device"),
               clEnumValN(rtml::LayoutChoice::Nhwc, "nhwc",
                          "NHWC on every device")),
    cl::cat(rtmlcCategory));

static cl::opt<std::string> precisionMode(
    "precision", cl::value_desc("mode"),
    cl::desc("auto (bf16 on CUDA, fp32 on the CPU), fp32, tf32 or bf16; "
             "replaces the spec's train.precision"),
    cl::cat(rtmlcCategory));

static cl::opt<std::string>
    buildType("build-type", cl::init("Release"),
              cl::desc("CMake build type of the trainer (default: Release)"),
              cl::cat(rtmlcCategory));

static int fail(const llvm::Twine &message) {
  llvm::errs() << "rtmlc: error: " << message << "\n";
  return 1;
}

/// Loads the input as a module: YAML goes through the spec front end and the
/// importer, .mlir through the parser. Errors are printed with their source
/// line; returns null after an error.
static OwningOpRef<ModuleOp> loadModule(MLIRContext &context,
                                        llvm::SourceMgr &sourceMgr) {
  if (llvm::sys::path::extension(inputFile) == ".mlir") {
    if (!paramOverrides.empty()) {
      fail("--set applies to a YAML spec, not to IR");
      return nullptr;
    }
    return parseSourceFile<ModuleOp>(sourceMgr, &context);
  }

  rtml::DiagnosticEngine diag;
  std::vector<rtml::spec::ParamOverride> overrides;
  for (const std::string &arg : paramOverrides) {
    rtml::spec::ParamOverride override;
    if (!rtml::spec::parseParamOverride(arg, override)) {
      fail("--set expects NAME=VALUE, got '" + arg + "'");
      return nullptr;
    }
    overrides.push_back(override);
  }
  // The spec is parsed from the buffer main() read, never reopened: the
  // input may be a pipe or stdin (`rtmlc <(...)`, `rtmlc -`).
  const llvm::MemoryBuffer *input =
      sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
  std::optional<rtml::spec::ModelSpec> spec = rtml::spec::parseModelSpec(
      input->getBuffer().str(), inputFile, diag, overrides);
  diag.printAll(std::cerr);
  if (!spec)
    return nullptr;
  return rtml::importModelSpec(*spec, context);
}

static LogicalResult runPipeline(ModuleOp module) {
  rtml::DefaultPipelineOptions options;
  options.fuse = !noFuse;
  options.disable = disabledPasses;
  options.layout = layoutChoice;
  if (!precisionMode.empty() &&
      rtml::settings::enumIndex(rtml::settings::kPrecisionInfo,
                                precisionMode) < 0) {
    fail("--precision: unknown precision '" + precisionMode + "' (" +
         rtml::settings::enumChoices(rtml::settings::kPrecisionInfo) + ")");
    return failure();
  }
  options.precision = precisionMode.getValue();
  PassManager pm(module->getName());
  if (failed(applyPassManagerCLOptions(pm)))
    return failure();
  std::string error;
  if (failed(rtml::buildDefaultPipeline(pm, options, error))) {
    fail("--disable-pass: " + error);
    return failure();
  }
  return pm.run(module);
}

static LogicalResult writeFile(StringRef path,
                               llvm::function_ref<LogicalResult(
                                   llvm::raw_ostream &)> write) {
  std::error_code ec;
  llvm::ToolOutputFile file(path, ec, llvm::sys::fs::OF_Text);
  if (ec) {
    fail("cannot write '" + path + "': " + ec.message());
    return failure();
  }
  if (failed(write(file.os())))
    return failure();
  file.keep();
  return success();
}

/// Runs PROGRAM with ARGS, output into LOG; on failure prints the log's tail.
static bool runLogged(StringRef program, ArrayRef<StringRef> args,
                      StringRef log) {
  std::string message;
  std::optional<StringRef> redirects[] = {std::nullopt, log, log};
  int rc = llvm::sys::ExecuteAndWait(program, args, std::nullopt, redirects, 0,
                                     0, &message);
  if (rc == 0)
    return true;
  if (auto text = llvm::MemoryBuffer::getFile(log)) {
    StringRef all = (*text)->getBuffer();
    llvm::errs() << all.substr(all.size() > 6000 ? all.size() - 6000 : 0);
  }
  fail("'" + llvm::join(args, " ") + "' failed" +
       (message.empty() ? "" : ": " + message) + " (log: " + log + ")");
  return false;
}

/// The files and folders rtmlc writes in its output folder.
static constexpr const char *kOutputEntries[] = {
    "model.mlir", "model.cpp",  "kernels.h",     "kernels.cpp", "kernels.cu",
    "CMakeLists.txt", "build",  "build.log",     "configure.log"};
/// Marks a folder as rtmlc's, so that it may write there again.
static constexpr const char *kOutputStamp = ".rtmlc-output";

/// Creates DIR, or checks that rtmlc may write into it: a folder that holds
/// any of the files rtmlc writes, without rtmlc's stamp, is the user's, and
/// replacing their CMakeLists.txt or model.cpp would lose work.
static LogicalResult claimOutputDir(StringRef dir) {
  auto inDir = [&](StringRef file) {
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, file);
    return std::string(path);
  };
  if (llvm::sys::fs::exists(dir) && !llvm::sys::fs::is_directory(dir)) {
    fail("output '" + dir + "' exists and is not a folder");
    return failure();
  }
  if (!llvm::sys::fs::exists(inDir(kOutputStamp))) {
    std::vector<std::string> foreign;
    for (const char *entry : kOutputEntries)
      if (llvm::sys::fs::exists(inDir(entry)))
        foreign.push_back(entry);
    if (!foreign.empty()) {
      fail("output folder '" + dir + "' holds " + llvm::join(foreign, ", ") +
           " that rtmlc did not write; choose another -o or remove them");
      return failure();
    }
  }
  if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
    fail("cannot create '" + dir + "': " + ec.message());
    return failure();
  }
  return writeFile(inDir(kOutputStamp), [](llvm::raw_ostream &os) {
    os << "written by rtmlc; it may replace the files it wrote here\n";
    return success();
  });
}

static int buildTrainer(ModuleOp module) {
  std::string name = rtml::modelName(module);
  std::string executable;
  for (char c : name)
    executable += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';

  llvm::SmallString<256> dir(outputDir.empty() ? "out/" + executable
                                               : std::string(outputDir));
  if (std::error_code ec = llvm::sys::fs::make_absolute(dir))
    return fail("cannot resolve '" + dir + "': " + ec.message());
  if (failed(claimOutputDir(dir)))
    return 1;

  auto inDir = [&](StringRef file) {
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, file);
    return std::string(path);
  };
  if (failed(writeFile(inDir("model.mlir"),
                       [&](llvm::raw_ostream &os) {
                         module.print(os);
                         return success();
                       })) ||
      failed(writeFile(inDir("model.cpp"),
                       [&](llvm::raw_ostream &os) {
                         return rtml::emitModelCpp(module, os);
                       })) ||
      failed(writeFile(inDir("kernels.h"),
                       [&](llvm::raw_ostream &os) {
                         return rtml::emitKernels(
                             module, rtml::KernelFile::Header, os);
                       })) ||
      failed(writeFile(inDir("kernels.cpp"),
                       [&](llvm::raw_ostream &os) {
                         return rtml::emitKernels(module,
                                                  rtml::KernelFile::Cpp, os);
                       })) ||
      failed(writeFile(inDir("kernels.cu"),
                       [&](llvm::raw_ostream &os) {
                         return rtml::emitKernels(module,
                                                  rtml::KernelFile::Cuda, os);
                       })) ||
      failed(writeFile(inDir("CMakeLists.txt"), [&](llvm::raw_ostream &os) {
        return rtml::emitTrainerCMake(module, executable, os);
      })))
    return 1;
  if (noBuild) {
    llvm::outs() << dir << "\n";
    return 0;
  }

  std::string runtime = runtimeDir;
  if (runtime.empty())
    if (std::optional<std::string> env =
            llvm::sys::Process::GetEnv("RTML_RUNTIME_DIR"))
      runtime = *env;
  if (runtime.empty())
    runtime = RTML_DEFAULT_RUNTIME_DIR;
  llvm::SmallString<256> config(runtime);
  llvm::sys::path::append(config, "rtmlRuntimeConfig.cmake");
  if (!llvm::sys::fs::exists(config))
    return fail("no rtml runtime package at '" + runtime +
                "' (rtmlRuntimeConfig.cmake missing): build the rtml_runtime "
                "target or pass --runtime-dir");

  llvm::ErrorOr<std::string> cmake = llvm::sys::findProgramByName("cmake");
  if (!cmake)
    return fail("cmake not found on PATH");
  std::string buildDir = inDir("build");
  std::string log = inDir("build.log");
  std::vector<std::string> configure = {
      *cmake, "-S", std::string(dir), "-B", buildDir,
      "-DrtmlRuntime_DIR=" + runtime, "-DCMAKE_BUILD_TYPE=" + buildType};
  if (llvm::sys::findProgramByName("ninja"))
    configure.push_back("-GNinja");
  std::vector<std::string> build = {*cmake, "--build", buildDir};

  auto refs = [](const std::vector<std::string> &v) {
    return std::vector<StringRef>(v.begin(), v.end());
  };
  llvm::errs() << "rtmlc: building trainer '" << executable << "' in " << dir
               << " (log: " << log << ")\n";
  // Configuring again is cheap on an existing tree and picks up a changed
  // runtime directory.
  if (!runLogged(*cmake, refs(configure), inDir("configure.log")) ||
      !runLogged(*cmake, refs(build), log))
    return 1;
  llvm::outs() << inDir("build/" + executable) << "\n";
  return 0;
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  // MLIR's printing and pass-manager flags (--mlir-print-debuginfo,
  // --mlir-print-ir-after-all, ...) work here as in rtml-opt.
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  // --help lists rtmlc's own flags; the MLIR ones above stay usable.
  cl::HideUnrelatedOptions(rtmlcCategory);
  cl::ParseCommandLineOptions(
      argc, argv,
      "rtmlc: compiles a network spec into a trainer\n\n"
      "  rtmlc MODEL.yaml [-o DIR]     build the trainer; prints its path last\n"
      "  rtmlc MODEL.yaml --emit=KIND  print summary|mlir-import|mlir|cpp\n");

  MLIRContext context;
  DialectRegistry registry;
  rtml::registerRtmlDialects(registry);
  context.appendDialectRegistry(registry);
  context.loadAllAvailableDialects();

  llvm::SourceMgr sourceMgr;
  auto buffer = llvm::MemoryBuffer::getFileOrSTDIN(inputFile);
  if (!buffer)
    return fail("cannot read '" + inputFile + "': " +
                buffer.getError().message());
  sourceMgr.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
  // Errors from the dialect's verifiers point at YAML lines; the handler
  // shows those lines from the same buffer.
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context);

  OwningOpRef<ModuleOp> module = loadModule(context, sourceMgr);
  if (!module)
    return 1;
  if (emitKind == EmitKind::MlirImport) {
    module->print(llvm::outs());
    return 0;
  }
  // The summary describes the layers as written, before fusion merges them.
  if (emitKind == EmitKind::Summary)
    return failed(rtml::printSummary(*module, llvm::outs())) ? 1 : 0;
  if (failed(runPipeline(*module)))
    return 1;
  switch (emitKind) {
  case EmitKind::Kernels:
    for (auto [name, file] :
         {std::pair{"kernels.h", rtml::KernelFile::Header},
          std::pair{"kernels.cpp", rtml::KernelFile::Cpp},
          std::pair{"kernels.cu", rtml::KernelFile::Cuda}}) {
      llvm::outs() << "// ---- " << name << " ----\n";
      if (failed(rtml::emitKernels(*module, file, llvm::outs())))
        return 1;
    }
    return 0;
  case EmitKind::Summary:
  case EmitKind::Mlir:
    module->print(llvm::outs());
    return 0;
  case EmitKind::Cpp:
    return failed(rtml::emitModelCpp(*module, llvm::outs())) ? 1 : 0;
  case EmitKind::MlirImport:
  case EmitKind::Build:
    break;
  }
  return buildTrainer(*module);
}
