//===- rtml-opt.cpp - Runs rtml passes on IR, for tests and debugging -----===//
#include "rtml/InitRtml.h"
#include "rtml/Transforms/Pipeline.h"

#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  rtml::registerRtmlDialects(registry);
  rtml::registerRtmlPasses();
  rtml::registerDefaultPipeline();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "rtml optimizer driver\n", registry));
}
