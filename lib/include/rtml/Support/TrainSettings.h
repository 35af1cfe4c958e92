//===- TrainSettings.h - The training and data settings, defined once ----===//
//
// Every setting of the spec's `train:` section and the scalar ones of
// `data:`, with its C++ member, type, default, key, YAML place, constraint,
// trainer flag and help text. The spec loader, the rtml.train / rtml.data
// attributes and their verifier, the emitter, the trainer's flags, the
// checkpoint and summary.json all read this one table, so a setting is
// spelled once: its key (`eta_min`) in YAML, IR, checkpoint and summary, its
// member (`lrEtaMin`) in C++.
//
// Plain standard C++: the spec (yaml-cpp), the compiler (MLIR, no
// exceptions) and the runtime (LibTorch) all include it.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_SUPPORT_TRAINSETTINGS_H
#define RTML_SUPPORT_TRAINSETTINGS_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace rtml {

// X(Enumerator, "spelling"), in enum order.
#define RTML_LR_SCHEDULES(X)                                                  \
  X(Constant, "constant")                                                     \
  X(Step, "step")                                                             \
  X(Cosine, "cosine")
#define RTML_OPTIMIZERS(X) X(Sgd, "sgd")
#define RTML_PRECISIONS(X)                                                    \
  X(Auto, "auto")                                                             \
  X(Fp32, "fp32")                                                             \
  X(Tf32, "tf32")                                                             \
  X(Bf16, "bf16")

#define RTML_SETTINGS_ENUMERATOR(name, spelling) name,
/// How the learning rate changes, stepped once per epoch (E = epochs done,
/// from 0): Constant: lr; Step (StepLR): lr * gamma^floor(E / stepSize);
/// Cosine (CosineAnnealingLR): etaMin + (lr - etaMin) * (1 + cos(pi * E /
/// tMax)) / 2.
enum class LrSchedule { RTML_LR_SCHEDULES(RTML_SETTINGS_ENUMERATOR) };
enum class Optimizer { RTML_OPTIMIZERS(RTML_SETTINGS_ENUMERATOR) };
/// The math of a compiled model, resolved per device kind by the compiler
/// (rtml-assign-precision): Auto: bf16 on CUDA, fp32 on the CPU; Fp32: fp32
/// everywhere; Tf32: TF32 convolutions and matmuls on CUDA, fp32 on the CPU
/// (which has no TF32); Bf16: mixed bf16 everywhere.
enum class Precision { RTML_PRECISIONS(RTML_SETTINGS_ENUMERATOR) };
#undef RTML_SETTINGS_ENUMERATOR

// The settings of `train:`. X(member, type, default, key, yaml section,
// constraint, active with schedule, trainer flag, help). A setting with a
// schedule lives in `lr_schedule:` and is checked only when that schedule is
// chosen; otherwise it keeps its default. An empty flag: not a trainer flag.
#define RTML_TRAIN_SETTINGS(X)                                                \
  X(epochs, int64_t, 1, "epochs", "", Positive, Any, "epochs", "epochs")      \
  X(batchSize, int64_t, 32, "batch_size", "", Positive, Any, "batch-size",    \
    "images per batch")                                                       \
  X(optimizer, Optimizer, Optimizer::Sgd, "optimizer", "", None, Any, "",     \
    "the optimizer")                                                          \
  X(learningRate, double, 0.01, "lr", "", Positive, Any, "lr",                \
    "learning rate")                                                          \
  X(momentum, double, 0.0, "momentum", "", NonNegative, Any, "momentum",      \
    "SGD momentum")                                                           \
  X(nesterov, bool, false, "nesterov", "", None, Any, "nesterov",             \
    "Nesterov momentum (needs a momentum)")                                   \
  X(weightDecay, double, 0.0, "weight_decay", "", NonNegative, Any,           \
    "weight-decay", "L2 weight decay")                                        \
  X(seed, int64_t, 0, "seed", "", NonNegative, Any, "seed",                   \
    "seed for init, order, flips, dropout")                                   \
  X(lrSchedule, LrSchedule, LrSchedule::Constant, "lr_schedule", "", None,    \
    Any, "lr-schedule", "constant, step or cosine, stepped per epoch")        \
  X(lrStepSize, int64_t, 0, "step_size", "lr_schedule", Positive, Step,       \
    "lr-step", "step schedule: epochs between decays")                        \
  X(lrGamma, double, 0.1, "gamma", "lr_schedule", Positive, Step, "lr-gamma", \
    "step schedule: decay factor")                                            \
  X(lrEtaMin, double, 0.0, "eta_min", "lr_schedule", NonNegative, Cosine,     \
    "lr-min", "cosine schedule: final lr")                                    \
  X(lrTMax, int64_t, 0, "t_max", "lr_schedule", Positive, Cosine, "",         \
    "cosine schedule: half period in epochs (default: epochs)")               \
  X(precision, Precision, Precision::Auto, "precision", "", None, Any, "",    \
    "math: auto, fp32, tf32 or bf16 (compiled in; rtmlc --precision)")

// The scalar settings of `data:` (its transform lists are not scalars).
#define RTML_DATA_SETTINGS(X)                                                 \
  X(splitTrain, int64_t, 0, "split_train", "split", NonNegative, Any, "",     \
    "training images kept after the validation split (0: all the rest)")      \
  X(splitVal, int64_t, 0, "split_val", "split", NonNegative, Any, "val",      \
    "validation images held out of the training set (0: none)")               \
  X(splitSeed, int64_t, -1, "split_seed", "split", NonNegative, Any,          \
    "split-seed", "seed of the train/validation split (default: the seed)")

#define RTML_SETTINGS_MEMBER(member, type, dflt, ...) type member = dflt;
/// The values of `train:`; the runtime's TrainConfig.
struct TrainSettings {
  RTML_TRAIN_SETTINGS(RTML_SETTINGS_MEMBER)
};
/// The scalar values of `data:`.
struct DataSettings {
  RTML_DATA_SETTINGS(RTML_SETTINGS_MEMBER)
};
#undef RTML_SETTINGS_MEMBER

namespace settings {

enum class Kind { Int, Float, Bool, Enum };
enum class Constraint { None, Positive, NonNegative };
/// The schedule a setting belongs to; Any: always in force.
enum class ActiveWith { Any, Step, Cosine };

/// The group of settings SCHEDULE brings (Any: none).
inline ActiveWith scheduleGroup(LrSchedule schedule) {
  switch (schedule) {
  case LrSchedule::Step:
    return ActiveWith::Step;
  case LrSchedule::Cosine:
    return ActiveWith::Cosine;
  case LrSchedule::Constant:
    break;
  }
  return ActiveWith::Any;
}

/// An enumeration: its spellings (index = enumerator value) and C++ names.
struct EnumInfo {
  const char *cppType; ///< "rtml::LrSchedule"
  const char *noun;    ///< "learning-rate schedule", in messages
  const char *const *names;
  const char *const *cppNames;
  size_t size;
};
extern const EnumInfo kLrScheduleInfo;
extern const EnumInfo kOptimizerInfo;
extern const EnumInfo kPrecisionInfo;

struct SettingInfo {
  const char *member;  ///< C++ member of TrainSettings / DataSettings
  const char *key;     ///< in rtml.train / rtml.data, checkpoint and summary
  const char *section; ///< YAML mapping it is written in ("": the top one)
  const char *yamlKey; ///< its key there
  Kind kind;
  const EnumInfo *enumInfo; ///< Enum only
  Constraint constraint;
  ActiveWith activeWith;
  const char *flag; ///< trainer flag without "--"; "" when none
  const char *help;
};

/// Int and Enum (its enumerator's index): int64_t; Float: double; Bool.
using Value = std::variant<int64_t, double, bool>;

/// The table, in declaration order.
const std::vector<SettingInfo> &trainSettings();
const std::vector<SettingInfo> &dataSettings();
const SettingInfo *findTrainSetting(const std::string &key);

Value get(const TrainSettings &s, size_t index);
void set(TrainSettings &s, size_t index, const Value &v);
Value get(const DataSettings &s, size_t index);
void set(DataSettings &s, size_t index, const Value &v);

/// Whether VALUE meets C (integers and floats alike).
bool satisfies(Constraint c, double value);
/// "positive", "non-negative" ("" for None).
const char *describe(Constraint c);
/// "32", "0.01", "true", "cosine": the value as the spec writes it.
std::string format(const SettingInfo &info, const Value &v);
/// The enumerator index of SPELLING in INFO, or -1.
int64_t enumIndex(const EnumInfo &info, const std::string &spelling);
/// "constant, step or cosine".
std::string enumChoices(const EnumInfo &info);

/// A setting that must be in range because another setting's value needs it
/// (nesterov needs a positive momentum; a step schedule a positive
/// step_size), or that is out of its own range (cause == nullptr).
struct Violation {
  const SettingInfo *setting;
  const SettingInfo *cause; ///< nullptr: the setting's own constraint
  Value causeValue;
  Constraint needed;
};
/// Every rule of the training settings, checked once here: each setting's
/// constraint (a schedule's settings only when that schedule is chosen) and
/// nesterov's need for momentum.
std::vector<Violation> check(const TrainSettings &s);

} // namespace settings
} // namespace rtml

#endif // RTML_SUPPORT_TRAINSETTINGS_H
