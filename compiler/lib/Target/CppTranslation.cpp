//===- CppTranslation.cpp - The emitter as MLIR translations --------------===//
#include "rtml/Target/CppTranslation.h"
#include "rtml/InitRtml.h"
#include "rtml/Target/CppEmitter.h"

#include "mlir/Tools/mlir-translate/Translation.h"

using namespace mlir;

namespace rtml {

void registerRtmlTranslations() {
  TranslateFromMLIRRegistration cpp(
      "rtml-to-cpp", "the trainer's model.cpp of an rtml module",
      [](ModuleOp module, llvm::raw_ostream &os) {
        return emitModelCpp(module, os);
      },
      registerRtmlDialects);
  TranslateFromMLIRRegistration kernels(
      "rtml-to-kernels",
      "the kernels.h, kernels.cpp and kernels.cu of an rtml module",
      [](ModuleOp module, llvm::raw_ostream &os) {
        for (auto [name, file] : {std::pair{"kernels.h", KernelFile::Header},
                                  std::pair{"kernels.cpp", KernelFile::Cpp},
                                  std::pair{"kernels.cu", KernelFile::Cuda}}) {
          os << "// ---- " << name << " ----\n";
          if (failed(emitKernels(module, file, os)))
            return failure();
        }
        return success();
      },
      registerRtmlDialects);
}

} // namespace rtml
