//===- Bf16WeightCopies.cpp - bf16 copies of weights read in bf16 ---------===//
//
// Decides, per device kind, which parameters the trainer reads from a bf16
// copy that its optimizer keeps (rtml.param's read_as), instead of casting
// them in every step. Only a parameter with one reader qualifies: with two,
// each cast's gradient reaches the f32 parameter separately and they are
// summed in f32, which a copy's single bf16 gradient would not reproduce.
//
//===----------------------------------------------------------------------===//
#include "rtml/Dialect/PrecisionAttr.h"
#include "rtml/Dialect/RtmlOps.h"
#include "rtml/Transforms/Passes.h"

namespace rtml {
#define GEN_PASS_DEF_BF16WEIGHTCOPIES
#include "rtml/Transforms/Passes.h.inc"
} // namespace rtml

using namespace mlir;
using namespace rtml;

namespace {

struct Bf16WeightCopiesPass
    : rtml::impl::Bf16WeightCopiesBase<Bf16WeightCopiesPass> {
  void runOnOperation() override {
    Builder b(&getContext());
    getOperation().walk([&](ParamOp param) {
      if (param.getBuffer() || !param.getType().getElementType().isF32())
        return;
      auto readsBf16 = [&](DeviceKind kind) {
        return hasOneBf16Reader(param.getResult(), kind);
      };
      if (!llvm::any_of(kDeviceKinds, readsBf16))
        return;
      auto readAs = [&](DeviceKind kind) {
        return TypeAttr::get(readsBf16(kind) ? Type(b.getBF16Type())
                                             : Type(b.getF32Type()));
      };
      param.setReadAsCpuAttr(readAs(DeviceKind::Cpu));
      param.setReadAsCudaAttr(readAs(DeviceKind::Cuda));
    });
  }
};

} // namespace
