//===- Pipeline.cpp - The default pass pipeline ---------------------------===//
#include "rtml/Transforms/Pipeline.h"
#include "rtml/Transforms/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;

namespace rtml {
namespace {
struct PipelineStep {
  llvm::StringLiteral name;
  bool fusion;
  std::unique_ptr<Pass> (*create)(const DefaultPipelineOptions &);
};

/// A step for a pass without options.
template <std::unique_ptr<Pass> (*Create)()>
std::unique_ptr<Pass> withoutOptions(const DefaultPipelineOptions &) {
  return Create();
}

std::unique_ptr<Pass> assignPrecision(const DefaultPipelineOptions &options) {
  if (options.precision.empty())
    return createAssignPrecision();
  return createAssignPrecision({options.precision});
}

std::unique_ptr<Pass> assignLayout(const DefaultPipelineOptions &options) {
  AssignLayoutOptions layout;
  layout.layout = options.layout;
  return createAssignLayout(layout);
}
} // namespace

static const PipelineStep kPipeline[] = {
    {"rtml-partition-devices", false, withoutOptions<createPartitionDevices>},
    {"rtml-merge-sibling-convs", true, withoutOptions<createMergeSiblingConvs>},
    {"rtml-fuse-relu-lrn", true, withoutOptions<createFuseReluLrn>},
    {"rtml-fuse-concat", true, withoutOptions<createFuseConcat>},
    // After the fusions that take a ReLU whole: a ReLU left over takes its
    // convolution's bias.
    {"rtml-bias-epilogue", true, withoutOptions<createBiasEpilogue>},
    // After fusion, so that the fused kernels get their types too.
    {"rtml-assign-precision", false, assignPrecision},
    // It sees every op's device and the fused ops.
    {"rtml-assign-layout", false, assignLayout},
    // Last: a parameter's one reader must be its convolution, not a layout
    // conversion.
    {"rtml-bf16-weight-copies", false, withoutOptions<createBf16WeightCopies>},
};

std::vector<std::string> defaultPipelinePasses() {
  std::vector<std::string> names;
  for (const PipelineStep &step : kPipeline)
    names.push_back(step.name.str());
  return names;
}

LogicalResult buildDefaultPipeline(OpPassManager &pm,
                                   const DefaultPipelineOptions &options,
                                   std::string &error) {
  std::vector<std::string> known = defaultPipelinePasses();
  for (const std::string &name : options.disable)
    if (!llvm::is_contained(known, name)) {
      error = "no pass '" + name + "' in the pipeline (" +
              llvm::join(known, ", ") + ")";
      return failure();
    }
  for (const PipelineStep &step : kPipeline) {
    if ((!options.fuse && step.fusion) ||
        llvm::is_contained(options.disable, step.name))
      continue;
    pm.addPass(step.create(options));
  }
  return success();
}

void registerDefaultPipeline() {
  registerPassPipeline(
      "rtml-default-pipeline",
      "The passes rtmlc runs on every model: partition devices, fuse, "
      "assign precision, then choose the layout",
      [](OpPassManager &pm, StringRef text,
         llvm::function_ref<LogicalResult(const llvm::Twine &)> fail) {
        DefaultPipelineOptions options;
        if (failed(options.parseFromString(text)))
          return failure();
        std::string error;
        if (failed(buildDefaultPipeline(pm, options, error)))
          return fail(error);
        return success();
      },
      [](llvm::function_ref<void(const mlir::detail::PassOptions &)> print) {
        print(DefaultPipelineOptions());
      });
}

} // namespace rtml
