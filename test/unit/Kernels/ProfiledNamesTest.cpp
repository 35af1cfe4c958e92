//===- ProfiledNamesTest.cpp - The fused kernels' names in bench --profile ===//
//
// The fused LRN and concat kernels run outside ATen's dispatcher, so the
// profiler sees them only through the scopes their autograd functions open.
// Each direction is run under rtml::profileEvents (what `bench --profile`
// records) and must appear once per call under its own name.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Kernels/ConcatReluOp.h"
#include "rtml/Runtime/Kernels/LrnOp.h"
#include "rtml/Runtime/StepProfile.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace {

RTML_LRN_CONFIG(NamedRelu, 5, 1.0e-4f, 0.75f, 2.0f, true)
RTML_LRN_CONFIG(NamedPlain, 3, 1.0e-4f, 0.75f, 2.0f, false)

struct NamedConcat {
  static constexpr int kInputs = 2;
  static constexpr int64_t kChannels[kInputs] = {3, 5};
  static constexpr int64_t kTotalChannels = 8;
};
struct NamedConcatBn {
  static constexpr int kInputs = 2;
  static constexpr int64_t kChannels[kInputs] = {3, 5};
  static constexpr int64_t kTotalChannels = 8;
  static constexpr bool kBatchNorm[kInputs] = {false, true};
  static constexpr double kEps[kInputs] = {0, 1e-5};
  static constexpr double kMomentum[kInputs] = {0, 0.1};
};

/// How often each host-side event name occurs while STEP runs twice.
std::map<std::string, int> hostEventCounts(const std::function<void()> &step) {
  std::map<std::string, int> counts;
  for (const rtml::ProfiledEvent &e : rtml::profileEvents(step, 2, false))
    if (!e.onDevice)
      ++counts[e.name];
  return counts;
}

at::Tensor leaf(std::vector<int64_t> sizes) {
  return torch::randn(sizes).requires_grad_(true);
}

TEST(ProfiledNames, LrnNamesBothDirectionsByWhetherItFusesTheRelu) {
  torch::manual_seed(1);
  std::map<std::string, int> counts = hostEventCounts([] {
    at::Tensor x = leaf({2, 8, 4, 4});
    rtml::kernels::localResponseNorm<NamedRelu>(x).sum().backward();
    rtml::kernels::localResponseNorm<NamedPlain>(x).sum().backward();
  });
  EXPECT_EQ(counts["rtml::relu_lrn"], 2);
  EXPECT_EQ(counts["rtml::relu_lrn_backward"], 2);
  EXPECT_EQ(counts["rtml::lrn"], 2);
  EXPECT_EQ(counts["rtml::lrn_backward"], 2);
}

TEST(ProfiledNames, ConcatNamesBothDirectionsByWhetherItHasABatchNorm) {
  torch::manual_seed(2);
  std::map<std::string, int> counts = hostEventCounts([] {
    std::vector<at::Tensor> xs = {leaf({2, 3, 4, 4}), leaf({2, 5, 4, 4})};
    rtml::kernels::concatRelu<NamedConcat>(xs).sum().backward();
    std::vector<at::Tensor> bn = {torch::ones({5}).requires_grad_(true),
                                  torch::zeros({5}).requires_grad_(true),
                                  torch::zeros({5}), torch::ones({5}),
                                  torch::zeros({}, torch::kLong)};
    rtml::kernels::concatRelu<NamedConcatBn>(xs, bn, true).sum().backward();
  });
  EXPECT_EQ(counts["rtml::concat_relu"], 2);
  EXPECT_EQ(counts["rtml::concat_relu_backward"], 2);
  EXPECT_EQ(counts["rtml::concat_bn_relu"], 2);
  EXPECT_EQ(counts["rtml::concat_bn_relu_backward"], 2);
}

} // namespace
