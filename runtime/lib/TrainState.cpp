//===- TrainState.cpp - A run's resumable checkpoint ----------------------===//
#include "TrainState.h"

#include "rtml/Runtime/SettingsIO.h"

#include <ATen/ATen.h>

#include <map>

namespace rtml {

namespace {

constexpr int64_t kFormat = 1;

/// Typed access to a checkpoint's entries; errors name the file and key.
class CheckpointReader {
public:
  CheckpointReader(const FlatDict &flat, std::string path)
      : map(flat.begin(), flat.end()), path(std::move(path)) {}
  bool has(const std::string &key) const { return map.count(key) != 0; }
  int64_t integer(const std::string &key) const {
    return get(key, CheckpointValue::Kind::Int).integer;
  }
  double real(const std::string &key) const {
    const CheckpointValue &v = get(key, CheckpointValue::Kind::Float);
    if (v.kind == CheckpointValue::Kind::Int)
      return double(v.integer);
    if (v.kind == CheckpointValue::Kind::Tensor)
      return v.tensor.to(at::kDouble).item<double>();
    return v.real;
  }
  const std::string &text(const std::string &key) const {
    return get(key, CheckpointValue::Kind::String).text;
  }
  const at::Tensor &tensor(const std::string &key) const {
    return get(key, CheckpointValue::Kind::Tensor).tensor;
  }
  /// The tensors under PREFIX, by the rest of their key, in file order.
  StateDict tensorsUnder(const std::string &prefix,
                         const FlatDict &flat) const {
    StateDict out;
    for (const auto &[key, value] : flat)
      if (key.rfind(prefix, 0) == 0)
        out.emplace_back(key.substr(prefix.size()), tensor(key));
    return out;
  }

private:
  const CheckpointValue &get(const std::string &key,
                             CheckpointValue::Kind kind) const {
    auto it = map.find(key);
    if (it == map.end())
      throw std::runtime_error(path + ": checkpoint lacks '" + key + "'");
    bool number = kind == CheckpointValue::Kind::Float &&
                  (it->second.kind == CheckpointValue::Kind::Int ||
                   (it->second.kind == CheckpointValue::Kind::Tensor &&
                    it->second.tensor.numel() == 1));
    if (it->second.kind != kind && !number)
      throw std::runtime_error(path + ": checkpoint entry '" + key +
                               "' has the wrong type");
    return it->second;
  }

  std::map<std::string, CheckpointValue> map;
  std::string path;
};

void putStats(FlatDict &flat, const RunningStats &s, const std::string &p) {
  flat.emplace_back(p + "loss_sum", CheckpointValue::of(s.lossSum));
  flat.emplace_back(p + "correct", CheckpointValue::of(s.correct));
  flat.emplace_back(p + "images", CheckpointValue::of(s.images));
  flat.emplace_back(p + "batch_time", CheckpointValue::of(s.batchTime));
  flat.emplace_back(p + "batches", CheckpointValue::of(s.batches));
  flat.emplace_back(p + "elapsed", CheckpointValue::of(s.elapsed));
  for (size_t h = 0; h < s.headLossSum.size(); ++h) {
    std::string k = p + "head" + std::to_string(h) + "_";
    flat.emplace_back(k + "loss_sum", CheckpointValue::of(s.headLossSum[h]));
    flat.emplace_back(k + "correct", CheckpointValue::of(s.headCorrect[h]));
  }
}

RunningStats getStats(const CheckpointReader &c, const std::string &p) {
  RunningStats s;
  s.lossSum = c.real(p + "loss_sum");
  s.correct = c.integer(p + "correct");
  s.images = c.integer(p + "images");
  s.batchTime = c.real(p + "batch_time");
  s.batches = c.integer(p + "batches");
  s.elapsed = c.real(p + "elapsed");
  for (size_t h = 0;; ++h) {
    std::string k = p + "head" + std::to_string(h) + "_";
    if (!c.has(k + "loss_sum"))
      break;
    s.headLossSum.push_back(c.real(k + "loss_sum"));
    s.headCorrect.push_back(c.integer(k + "correct"));
  }
  return s;
}

// The run settings, config/*: written and read in these two functions only;
// the training settings' entries come from the settings table (SettingsIO).
void putRunSettings(FlatDict &flat, const RunSettings &s) {
  auto put = [&](const char *k, CheckpointValue v) {
    flat.emplace_back(std::string("config/") + k, std::move(v));
  };
  put("data", CheckpointValue::of(s.dataDir));
  put("data_identity", CheckpointValue::of(s.dataIdentity));
  putSettings(s.train, flat);
  put("max_steps", CheckpointValue::of(s.maxSteps));
  put("limit_train", CheckpointValue::of(s.limitTrain));
  put("limit_test", CheckpointValue::of(s.limitTest));
  put("val_images", CheckpointValue::of(s.valImages));
  put("split_seed", CheckpointValue::of(s.splitSeed));
  put("checkpoint_every", CheckpointValue::of(s.checkpointEvery));
}

RunSettings getRunSettings(const CheckpointReader &c, const std::string &file) {
  auto key = [](const char *k) { return std::string("config/") + k; };
  RunSettings s;
  s.dataDir = c.text(key("data"));
  // Checkpoints written before these were recorded: unknown, the default.
  if (c.has(key("data_identity")))
    s.dataIdentity = c.text(key("data_identity"));
  readSettings(c, file, s.train);
  s.maxSteps = c.integer(key("max_steps"));
  s.limitTrain = c.integer(key("limit_train"));
  s.limitTest = c.integer(key("limit_test"));
  s.valImages = c.integer(key("val_images"));
  s.splitSeed = c.integer(key("split_seed"));
  if (c.has(key("checkpoint_every")))
    s.checkpointEvery = c.integer(key("checkpoint_every"));
  return s;
}

} // namespace

RunSettings runSettingsOf(const TrainOptions &o) {
  // The data's identity is the run's to fill in, once it is loaded.
  return {o.dataDir,   o.train,     o.maxSteps,  o.limitTrain,
          o.limitTest, o.valImages, o.splitSeed, o.checkpointEvery};
}

void applyRunSettings(const RunSettings &s, TrainOptions &o) {
  o.dataDir = s.dataDir;
  o.train = s.train;
  o.maxSteps = s.maxSteps;
  o.limitTrain = s.limitTrain;
  o.limitTest = s.limitTest;
  o.valImages = s.valImages;
  o.splitSeed = s.splitSeed;
  o.checkpointEvery = s.checkpointEvery;
}

void writeTrainState(const TrainState &state, const std::string &runDir) {
  FlatDict flat;
  auto put = [&](const std::string &k, CheckpointValue v) {
    flat.emplace_back(k, std::move(v));
  };
  put("rtml_checkpoint", CheckpointValue::of(kFormat));
  put("model", CheckpointValue::of(state.model));
  for (const auto &[name, t] : state.weights)
    put("model_state_dict/" + name, CheckpointValue::of(t));
  for (const auto &[name, t] : state.momentum)
    put("optimizer_state_dict/momentum_buffer." + name, CheckpointValue::of(t));
  put("epoch", CheckpointValue::of(state.epoch));
  put("step", CheckpointValue::of(state.step));
  put("rng/shuffle_epoch_start", CheckpointValue::of(state.shuffleEpochStart));
  put("rng/augment", CheckpointValue::of(state.augment));
  put("rng/dropout", CheckpointValue::of(state.dropout));
  if (state.dropoutCuda.defined())
    put("rng/dropout_cuda", CheckpointValue::of(state.dropoutCuda));
  putStats(flat, state.stats, "stats/");
  put("totals/wall_time_s", CheckpointValue::of(state.wallTimeS));
  put("totals/batch_time", CheckpointValue::of(state.batchTime));
  put("totals/batches", CheckpointValue::of(state.batches));
  put("best/accuracy", CheckpointValue::of(state.bestAccuracy));
  put("best/epoch", CheckpointValue::of(state.bestEpoch));
  put("best/test_accuracy", CheckpointValue::of(state.bestTestAccuracy));
  put("last/train/loss", CheckpointValue::of(state.lastTrainLoss));
  put("last/train/accuracy", CheckpointValue::of(state.lastTrainAccuracy));
  put("last/eval/loss", CheckpointValue::of(state.lastEvalLoss));
  put("last/eval/accuracy", CheckpointValue::of(state.lastEvalAccuracy));
  putRunSettings(flat, state.settings);
  std::vector<char> bytes = serializeFlatDict(flat);
  writeFileAtomically(checkpointPath(runDir), bytes.data(), bytes.size(),
                      previousCheckpointPath(runDir));
}

TrainState readTrainState(const std::string &path, const std::string &hint) {
  FlatDict flat;
  try {
    flat = loadFlatDict(path);
  } catch (const std::exception &e) {
    throw std::runtime_error(std::string(e.what()) +
                             "\n  refusing to resume from it" + hint);
  }
  CheckpointReader c(flat, path);
  if (!c.has("rtml_checkpoint"))
    throw std::runtime_error(path +
                             ": not an rtml training checkpoint (no "
                             "'rtml_checkpoint' entry; a weights file? use "
                             "--weights for those)" +
                             hint);
  if (c.integer("rtml_checkpoint") != kFormat)
    throw std::runtime_error(path + ": checkpoint format " +
                             std::to_string(c.integer("rtml_checkpoint")) +
                             " is not supported (expected 1)");
  TrainState s;
  s.model = c.text("model");
  s.weights = c.tensorsUnder("model_state_dict/", flat);
  s.momentum = c.tensorsUnder("optimizer_state_dict/momentum_buffer.", flat);
  s.epoch = c.integer("epoch");
  s.step = c.integer("step");
  s.shuffleEpochStart = c.tensor("rng/shuffle_epoch_start");
  s.augment = c.tensor("rng/augment");
  s.dropout = c.tensor("rng/dropout");
  if (c.has("rng/dropout_cuda"))
    s.dropoutCuda = c.tensor("rng/dropout_cuda");
  s.stats = getStats(c, "stats/");
  s.wallTimeS = c.real("totals/wall_time_s");
  s.batchTime = c.real("totals/batch_time");
  s.batches = c.integer("totals/batches");
  s.bestAccuracy = c.real("best/accuracy");
  s.bestEpoch = c.integer("best/epoch");
  s.bestTestAccuracy = c.real("best/test_accuracy");
  s.lastTrainLoss = c.real("last/train/loss");
  s.lastTrainAccuracy = c.real("last/train/accuracy");
  s.lastEvalLoss = c.real("last/eval/loss");
  s.lastEvalAccuracy = c.real("last/eval/accuracy");
  s.settings = getRunSettings(c, path);
  return s;
}

} // namespace rtml
