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
  /// KEY into OUT, by OUT's type.
  void read(const std::string &key, int64_t &out) const { out = integer(key); }
  void read(const std::string &key, double &out) const { out = real(key); }
  void read(const std::string &key, std::string &out) const { out = text(key); }
  void read(const std::string &key, at::Tensor &out) const {
    out = tensor(key);
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

/// Each entry of a phase's sums with its field: the one list that writing
/// and reading walk. VISIT(key, field) for a RunningStats or a const one.
template <class Stats, class Visit> void visitStats(Stats &s, Visit &&visit) {
  visit("loss_sum", s.lossSum);
  visit("correct", s.correct);
  visit("images", s.images);
  visit("batch_time", s.batchTime);
  visit("batches", s.batches);
  visit("elapsed", s.elapsed);
}

void putStats(FlatDict &flat, const RunningStats &s, const std::string &p) {
  visitStats(s, [&](const char *key, const auto &value) {
    flat.emplace_back(p + key, CheckpointValue::of(value));
  });
  for (size_t h = 0; h < s.headLossSum.size(); ++h) {
    std::string k = p + "head" + std::to_string(h) + "_";
    flat.emplace_back(k + "loss_sum", CheckpointValue::of(s.headLossSum[h]));
    flat.emplace_back(k + "correct", CheckpointValue::of(s.headCorrect[h]));
  }
}

RunningStats getStats(const CheckpointReader &c, const std::string &p) {
  RunningStats s;
  visitStats(s, [&](const char *key, auto &value) { c.read(p + key, value); });
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

/// The run settings every checkpoint has, with their fields.
template <class Settings, class Visit>
void visitRunSettings(Settings &s, Visit &&visit) {
  visit("data", s.dataDir);
  visit("max_steps", s.maxSteps);
  visit("limit_train", s.limitTrain);
  visit("limit_test", s.limitTest);
  visit("val_images", s.valImages);
  visit("split_seed", s.splitSeed);
}

void putRunSettings(FlatDict &flat, const RunSettings &s) {
  auto put = [&](const char *k, CheckpointValue v) {
    flat.emplace_back(std::string("config/") + k, std::move(v));
  };
  put("data_identity", CheckpointValue::of(s.dataIdentity));
  put("checkpoint_every", CheckpointValue::of(s.checkpointEvery));
  putSettings(s.train, flat);
  visitRunSettings(s, [&](const char *key, const auto &value) {
    put(key, CheckpointValue::of(value));
  });
}

RunSettings getRunSettings(const CheckpointReader &c, const std::string &file) {
  auto key = [](const char *k) { return std::string("config/") + k; };
  RunSettings s;
  // Checkpoints written before these were recorded: unknown, the default.
  if (c.has(key("data_identity")))
    s.dataIdentity = c.text(key("data_identity"));
  if (c.has(key("checkpoint_every")))
    s.checkpointEvery = c.integer(key("checkpoint_every"));
  readSettings(c, file, s.train);
  visitRunSettings(s,
                   [&](const char *k, auto &value) { c.read(key(k), value); });
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

namespace {

/// The entries every checkpoint has besides the weights, momentum, sums and
/// settings, with their fields: the one list writing and reading walk.
template <class State, class Visit>
void visitTrainState(State &s, Visit &&visit) {
  visit("epoch", s.epoch);
  visit("step", s.step);
  visit("rng/shuffle_epoch_start", s.shuffleEpochStart);
  visit("rng/augment", s.augment);
  visit("rng/dropout", s.dropout);
  visit("totals/wall_time_s", s.wallTimeS);
  visit("totals/batch_time", s.batchTime);
  visit("totals/batches", s.batches);
  visit("best/accuracy", s.bestAccuracy);
  visit("best/epoch", s.bestEpoch);
  visit("best/test_accuracy", s.bestTestAccuracy);
  visit("last/train/loss", s.lastTrainLoss);
  visit("last/train/accuracy", s.lastTrainAccuracy);
  visit("last/eval/loss", s.lastEvalLoss);
  visit("last/eval/accuracy", s.lastEvalAccuracy);
}

} // namespace

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
  visitTrainState(state, [&](const char *key, const auto &value) {
    put(key, CheckpointValue::of(value));
  });
  if (state.dropoutCuda.defined())
    put("rng/dropout_cuda", CheckpointValue::of(state.dropoutCuda));
  putStats(flat, state.stats, "stats/");
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
  visitTrainState(s, [&](const char *key, auto &value) { c.read(key, value); });
  if (c.has("rng/dropout_cuda"))
    s.dropoutCuda = c.tensor("rng/dropout_cuda");
  s.stats = getStats(c, "stats/");
  s.settings = getRunSettings(c, path);
  return s;
}

} // namespace rtml
