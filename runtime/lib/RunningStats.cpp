//===- RunningStats.cpp - Sums of one phase of one epoch ------------------===//
#include "RunningStats.h"

#include "rtml/Runtime/Distributed.h"

#include <ATen/ATen.h>

#include <cmath>

namespace rtml {

void RunningStats::countBatch(int64_t batchImages, double seconds) {
  images += batchImages;
  batchTime += seconds;
  ++batches;
}

DeviceSums::DeviceSums(const RunningStats &start, at::Device device,
                       size_t heads, int64_t firstStep)
    : device(device), numHeads(heads) {
  auto doubles = at::TensorOptions().dtype(at::kDouble).device(device);
  auto integers = at::TensorOptions().dtype(at::kLong).device(device);
  lossSum = at::empty({}, doubles);
  correct = at::empty({}, integers);
  headLossSum = at::empty({int64_t(heads)}, doubles);
  headCorrect = at::empty({int64_t(heads)}, integers);
  step = at::empty({}, integers);
  firstNonFinite = at::empty({}, integers);
  firstNonFiniteIsNan = at::empty({}, integers.dtype(at::kBool));
  restart(start, firstStep);
}

void DeviceSums::restart(const RunningStats &start, int64_t firstStep) {
  lossSum.fill_(start.lossSum);
  correct.fill_(start.correct);
  std::vector<double> headLoss = start.headLossSum;
  std::vector<int64_t> headRight = start.headCorrect;
  headLoss.resize(numHeads);
  headRight.resize(numHeads);
  headLossSum.copy_(at::tensor(headLoss, at::kDouble));
  headCorrect.copy_(at::tensor(headRight, at::kLong));
  step.fill_(firstStep);
  firstNonFinite.fill_(0);
  firstNonFiniteIsNan.fill_(false);
}

void DeviceSums::add(const at::Tensor &loss, const at::Tensor &logits,
                     const at::Tensor &labels) {
  int64_t n = labels.size(0);
  at::Tensor batchLoss = loss.detach().to(device, at::kDouble);
  // A product and a sum in float64, as `lossSum += loss * n` on the host.
  lossSum.add_(batchLoss.mul(double(n)));
  correct.add_(logits.detach().argmax(1).eq(labels).sum().to(device));
  step.add_(1);
  at::Tensor first =
      firstNonFinite.eq(0).logical_and_(at::isfinite(batchLoss).logical_not_());
  firstNonFinite.copy_(at::where(first, step, firstNonFinite));
  firstNonFiniteIsNan.logical_or_(first.logical_and_(at::isnan(batchLoss)));
}

void DeviceSums::addHeads(const std::vector<at::Tensor> &heads,
                          const std::vector<at::Tensor> &losses,
                          const at::Tensor &labels) {
  if (heads.size() != numHeads || losses.size() != numHeads)
    throw std::logic_error("DeviceSums: " + std::to_string(heads.size()) +
                           " heads, expected " + std::to_string(numHeads));
  int64_t n = labels.size(0);
  std::vector<at::Tensor> headLoss, headRight;
  for (size_t h = 0; h < numHeads; ++h) {
    headLoss.push_back(losses[h].detach().to(device, at::kDouble));
    headRight.push_back(
        heads[h].detach().argmax(1).eq(labels).sum().to(device));
  }
  headLossSum.add_(at::stack(headLoss).mul(double(n)));
  headCorrect.add_(at::stack(headRight));
}

NonFiniteLoss DeviceSums::readInto(RunningStats &stats) const {
  auto asDouble = [](const at::Tensor &t) {
    return t.to(at::kDouble).reshape({-1});
  };
  // One copy to the host, so one wait for the device. Counts below 2^53
  // are exact in float64.
  at::Tensor all =
      at::cat({asDouble(lossSum), asDouble(correct), asDouble(firstNonFinite),
               asDouble(firstNonFiniteIsNan), asDouble(headLossSum),
               asDouble(headCorrect)})
          .to(at::kCPU);
  auto v = all.accessor<double, 1>();
  stats.lossSum = v[0];
  stats.correct = std::llround(v[1]);
  stats.headLossSum.resize(numHeads);
  stats.headCorrect.resize(numHeads);
  for (size_t h = 0; h < numHeads; ++h) {
    stats.headLossSum[h] = v[4 + h];
    stats.headCorrect[h] = std::llround(v[4 + numHeads + h]);
  }
  return {std::llround(v[2]), v[3] != 0};
}

void RunningStats::sumOver(Communicator &comm, size_t heads) {
  headLossSum.resize(heads);
  headCorrect.resize(heads);
  std::vector<double> values{lossSum, double(correct), double(images)};
  for (size_t h = 0; h < heads; ++h) {
    values.push_back(headLossSum[h]);
    values.push_back(double(headCorrect[h]));
  }
  std::vector<at::Tensor> sums{
      at::tensor(values, at::TensorOptions().dtype(at::kDouble))};
  comm.allReduceSum(sums, "metrics");
  auto sum = sums.front().accessor<double, 1>();
  lossSum = sum[0];
  correct = std::llround(sum[1]);
  images = std::llround(sum[2]);
  for (size_t h = 0; h < heads; ++h) {
    headLossSum[h] = sum[3 + 2 * h];
    headCorrect[h] = std::llround(sum[4 + 2 * h]);
  }
}

double RunningStats::loss() const { return images ? lossSum / images : NAN; }

double RunningStats::accuracy() const {
  return images ? double(correct) / images : 0;
}

PhaseMetrics RunningStats::metrics(int64_t epoch, const char *phase,
                                   double time,
                                   const CompiledModel &model) const {
  PhaseMetrics m;
  m.epoch = epoch;
  m.phase = phase;
  m.loss = loss();
  m.accuracy = accuracy();
  m.images = images;
  m.timeS = time;
  m.meanBatchTimeS = batches ? batchTime / batches : 0;
  m.imagesPerS = time > 0 ? images / time : 0;
  const std::vector<HeadInfo> &info = model.info().heads;
  for (size_t h = 0; h < headLossSum.size() && h < info.size(); ++h)
    m.heads.push_back({info[h].name, images ? headLossSum[h] / images : NAN,
                       images ? double(headCorrect[h]) / images : 0});
  return m;
}

} // namespace rtml
