//===- RunningStats.cpp - Sums of one phase of one epoch ------------------===//
#include "RunningStats.h"

#include "rtml/Runtime/Distributed.h"

#include <ATen/ATen.h>

#include <cmath>

namespace rtml {

void RunningStats::add(const at::Tensor &logits, const at::Tensor &labels,
                       double loss, double seconds) {
  int64_t n = labels.size(0);
  lossSum += loss * n;
  correct += logits.argmax(1).eq(labels).sum().item<int64_t>();
  images += n;
  batchTime += seconds;
  ++batches;
}

void RunningStats::addHeads(const std::vector<at::Tensor> &heads,
                            const std::vector<double> &losses,
                            const at::Tensor &labels) {
  headLossSum.resize(heads.size());
  headCorrect.resize(heads.size());
  int64_t n = labels.size(0);
  for (size_t h = 0; h < heads.size(); ++h) {
    headLossSum[h] += losses[h] * n;
    headCorrect[h] +=
        heads[h].detach().argmax(1).eq(labels).sum().item<int64_t>();
  }
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
