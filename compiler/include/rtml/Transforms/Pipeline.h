//===- Pipeline.h - The pass pipeline every trainer goes through ----------===//
//
// Defined once, here, and used by rtmlc and by rtml-opt
// (`--rtml-default-pipeline`, with the same options).
//
//===----------------------------------------------------------------------===//
#ifndef RTML_TRANSFORMS_PIPELINE_H
#define RTML_TRANSFORMS_PIPELINE_H

#include "rtml/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <string>
#include <vector>

namespace rtml {

struct DefaultPipelineOptions
    : public mlir::PassPipelineOptions<DefaultPipelineOptions> {
  Option<bool> fuse{*this, "fuse",
                    llvm::cl::desc("Run the fusion passes"),
                    llvm::cl::init(true)};
  ListOption<std::string> disable{
      *this, "disable",
      llvm::cl::desc("Passes of the pipeline to leave out, by name")};
  Option<LayoutChoice> layout{
      *this, "layout",
      llvm::cl::desc("Layout of convolution stacks (rtml-assign-layout)"),
      llvm::cl::init(LayoutChoice::Auto),
      llvm::cl::values(
          clEnumValN(LayoutChoice::Auto, "auto",
                     "NHWC on CUDA, NCHW on the CPU"),
          clEnumValN(LayoutChoice::Nchw, "nchw", "NCHW on every device"),
          clEnumValN(LayoutChoice::Nhwc, "nhwc", "NHWC on every device"))};
  Option<std::string> precision{
      *this, "precision",
      llvm::cl::desc("auto, fp32, tf32 or bf16 (default: rtml.train's)")};
};

/// The names of the pipeline's passes, in order.
std::vector<std::string> defaultPipelinePasses();

/// Adds the pipeline to PM: device partitioning first, so that fusion sees
/// every op's device, then the fusions, then the precision of every op, then
/// the layout of what remains.
/// Fails with ERROR naming the known passes when OPTIONS disables a pass the
/// pipeline does not have.
mlir::LogicalResult buildDefaultPipeline(mlir::OpPassManager &pm,
                                         const DefaultPipelineOptions &options,
                                         std::string &error);

/// Registers `rtml-default-pipeline` for rtml-opt.
void registerDefaultPipeline();

} // namespace rtml

#endif // RTML_TRANSFORMS_PIPELINE_H
