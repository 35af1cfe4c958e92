//===- CppTranslation.h - The emitter as MLIR translations ----------------===//
#ifndef RTML_TARGET_CPPTRANSLATION_H
#define RTML_TARGET_CPPTRANSLATION_H

namespace rtml {

/// Registers the emitter with mlir-translate's registry, for rtml-translate:
/// `--rtml-to-cpp` (model.cpp) and `--rtml-to-kernels` (kernels.h,
/// kernels.cpp and kernels.cu, each after a `// ---- NAME ----` line, as
/// `rtmlc --emit=kernels`). They emit the module as it is: no pass runs.
void registerRtmlTranslations();

} // namespace rtml

#endif // RTML_TARGET_CPPTRANSLATION_H
