// Shaped like an emitted model.cpp: one CompiledModel and a main().
#include "rtml/Runtime/Model.h"
#include "rtml/Runtime/Ops.h"
#include "rtml/Support/Shapes.h"

namespace {

class PackageModel : public rtml::CompiledModel {
public:
  PackageModel() {
    modelInfo.name = "package-check";
    modelInfo.inputShape = {3, 32, 32};
    modelInfo.numClasses = 10;
    params = {{"fc.weight", {10, 48}, rtml::ParamInit::FanInUniform, 48},
              {"fc.bias", {10}, rtml::ParamInit::Zeros, 1}};
  }
  const rtml::ModelInfo &info() const override { return modelInfo; }
  const std::vector<rtml::ParameterSpec> &parameters() const override {
    return params;
  }
  at::Tensor forward(const at::Tensor &input, const std::vector<at::Tensor> &p,
                     bool) const override {
    namespace ops = rtml::ops;
    return ops::linear(ops::flatten(ops::adaptiveAvgPool2d(input, {4, 4})),
                       p[0], p[1]);
  }

private:
  rtml::ModelInfo modelInfo;
  std::vector<rtml::ParameterSpec> params;
};

} // namespace

int main(int argc, char **argv) {
  PackageModel model;
  return rtml::trainerMain(argc, argv, model);
}
