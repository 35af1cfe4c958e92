//===- rtml-translate.cpp - The emitter on hand-written IR ----------------===//
//
//   rtml-translate FILE.mlir --rtml-to-cpp | --rtml-to-kernels
//
// MLIR's translate driver with rtml's emitter: test/Target checks emission
// on IR as written, without the pass pipeline rtmlc runs first.
//
//===----------------------------------------------------------------------===//
#include "rtml/Target/CppTranslation.h"

#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"

int main(int argc, char **argv) {
  rtml::registerRtmlTranslations();
  return mlir::failed(
      mlir::mlirTranslateMain(argc, argv, "rtml translation driver\n"));
}
