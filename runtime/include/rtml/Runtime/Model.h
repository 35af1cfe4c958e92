//===- Model.h - What an emitted model gives the runtime ------------------===//
//
// The contract between compiler/Target (the emitter) and the runtime. An
// emitted model.cpp defines one CompiledModel subclass and a main() that
// calls rtml::trainerMain. Everything the model knows (layers, parameters,
// training set-up) reaches it through the IR; everything it does at run time
// (devices, data, optimizer, checkpoints) lives in the runtime.
//
// This header includes only ATen's Tensor, so that an emitted model.cpp
// compiles in seconds.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_MODEL_H
#define RTML_RUNTIME_MODEL_H

#include "rtml/Support/TrainSettings.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rtml {

/// How a parameter starts, matching PyTorch's defaults for nn.Conv2d and
/// nn.Linear: weight and bias are both U(-1/sqrt(fan_in), 1/sqrt(fan_in))
/// (kaiming_uniform_ with a=sqrt(5) reduces to that bound for the weight).
enum class ParamInit {
  FanInUniform, ///< U(-1/sqrt(fanIn), 1/sqrt(fanIn))
  Zeros,
  Ones,
};

struct ParameterSpec {
  std::string name;           ///< PyTorch state-dict key, e.g. "conv1.weight"
  std::vector<int64_t> shape; ///< full shape, no batch dimension involved
  ParamInit init = ParamInit::FanInUniform;
  int64_t fanIn = 1;
  /// False for buffers (batch norm's running statistics): saved, loaded and
  /// updated by the forward pass, never by the optimizer.
  bool trainable = true;
  /// Float for everything but counters (num_batches_tracked is int64).
  c10::ScalarType dtype = c10::ScalarType::Float;
  /// Index into ModelInfo::devices of the logical device it lives on.
  int64_t device = 0;
  /// Whether it is stored channels_last (NHWC) on each kind of device, as
  /// the layout pass decided (rtml.param's `stored`), with its gradient and
  /// momentum; contiguous otherwise. The values are the same either way.
  struct {
    bool cpu = false, cuda = false;
  } storedNhwc;
  /// Whether the forward pass reads a bf16 copy of it on each kind of
  /// device, as the precision passes decided (rtml.param's `read_as`): the
  /// registry keeps the copy and the optimizer rewrites it from the f32
  /// tensor, which the state dict holds. The values are those of a cast.
  struct {
    bool cpu = false, cuda = false;
  } bf16Copy;
};

/// Whether SPEC is read from a bf16 copy on DEVICE.
inline bool readsBf16Copy(const ParameterSpec &spec, c10::Device device) {
  return device.is_cuda() ? spec.bf16Copy.cuda : spec.bf16Copy.cpu;
}

/// The memory format SPEC keeps its tensor in on DEVICE.
inline c10::MemoryFormat storageFormat(const ParameterSpec &spec,
                                       c10::Device device) {
  bool nhwc = device.is_cuda() ? spec.storedNhwc.cuda : spec.storedNhwc.cpu;
  return nhwc ? c10::MemoryFormat::ChannelsLast : c10::MemoryFormat::Contiguous;
}

/// One classifier head. The training loss is the sum over heads of
/// lossWeight * cross-entropy; evaluation and predict use the main head.
struct HeadInfo {
  std::string name;
  double lossWeight = 1.0;
};

/// The training set-up written in the spec's `train:` section; its members,
/// defaults and rules are the settings table (rtml/Support/TrainSettings.h).
using TrainConfig = TrainSettings;

/// One step of an input pipeline (torchvision.transforms), applied on the
/// training device after the uint8 pixels are scaled to [0, 1].
struct TransformConfig {
  enum class Kind {
    Resize,               ///< bilinear to size (align_corners=false)
    RandomHorizontalFlip, ///< each image with probability p
    RandomResizedCrop,    ///< torchvision's: area scale, aspect ratio, size
    Normalize,            ///< (x - mean) / std per channel
    Grayscale, ///< torchvision's Grayscale(num_output_channels): luma, repeated
  };
  Kind kind = Kind::Resize;
  std::vector<int64_t> size; ///< [h, w] (Resize, RandomResizedCrop)
  double p = 0.5;            ///< RandomHorizontalFlip
  std::vector<double> scale = {0.08, 1.0}; ///< RandomResizedCrop area [lo, hi]
  std::vector<double> ratio = {3.0 / 4.0, 4.0 / 3.0}; ///< aspect [lo, hi]
  std::vector<double> mean, std;                      ///< Normalize
  int64_t numOutputChannels = 1;                      ///< Grayscale: 1 or 3
};

/// The input pipeline written in the spec's `data:` section, applied per
/// batch on the training device to uint8 CHW images.
struct DataConfig {
  /// The shorthand pipeline, used when both lists below are empty: train =
  /// resize, flip (p 0.5), normalize; eval = resize, normalize.
  int64_t resize = 0;                ///< square side to resize to; 0 = keep
  bool randomHorizontalFlip = false; ///< training only
  std::vector<double> mean;          ///< per channel; empty = no normalize
  std::vector<double> std;
  /// Per-phase pipelines, in order (`data.train` / `data.eval`). When either
  /// is non-empty both are used as given (an empty one is the identity).
  std::vector<TransformConfig> trainTransforms;
  std::vector<TransformConfig> evalTransforms;
  /// Validation split of the training set (torch.utils.data.random_split
  /// with a generator seeded splitSeed): splitVal images are held out for
  /// validation, splitTrain of the rest train (0: all the rest). splitVal 0:
  /// no validation set (the test set is evaluated each epoch). A data set
  /// smaller than splitTrain + splitVal is split in the same proportion.
  int64_t splitTrain = 0;
  int64_t splitVal = 0;
  int64_t splitSeed = -1; ///< < 0: the training seed
};

/// The form the network's first ops take its input batch in on one device
/// kind: the compiler's layout of the input (its rtml.to_layout) and its
/// precision (bf16 where every op that reads it computes in bf16). The
/// fused preprocessing (Data.h) writes the batch so, and the model's own
/// conversions of it then have nothing to do.
struct InputFormat {
  bool nhwc = false;
  bool bf16 = false;
};

struct ModelInfo {
  std::string name;
  std::vector<int64_t> inputShape; ///< C, H, W the network's first layer takes
  InputFormat cpuInput, cudaInput;
  /// The step's math on each device kind, as the compiler resolved it (the
  /// module's rtml.precision; fp32 where it has none): what `bench --json`
  /// reports, never Auto.
  Precision cpuPrecision = Precision::Fp32, cudaPrecision = Precision::Fp32;
  int64_t numClasses = 0;
  TrainConfig train;
  DataConfig data;
  /// Main head first. Empty means a single main head of weight 1.
  std::vector<HeadInfo> heads;
  /// Logical devices the graph is partitioned over (the first is the
  /// default); empty for a model on one device. The trainer maps them to
  /// physical devices (DeviceMap.h).
  std::vector<std::string> devices;

  /// The input's format on DEVICE's kind.
  InputFormat inputOn(at::Device device) const {
    return device.is_cuda() ? cudaInput : cpuInput;
  }
};

class CompiledModel {
public:
  virtual ~CompiledModel() = default;

  virtual const ModelInfo &info() const = 0;

  /// Every trainable parameter, in a fixed order; forward() receives the
  /// tensors in the same order.
  virtual const std::vector<ParameterSpec> &parameters() const = 0;

  /// Logits [N, numClasses] of the main head for an input batch
  /// [N, C, H, W]. In training mode dropout is active and batch norm uses
  /// and updates batch statistics.
  virtual at::Tensor forward(const at::Tensor &input,
                             const std::vector<at::Tensor> &params,
                             bool training) const = 0;

  /// Logits of every head, in info().heads order (main first), for the
  /// training loss. A model without side heads has only the main one.
  virtual std::vector<at::Tensor>
  forwardHeads(const at::Tensor &input, const std::vector<at::Tensor> &params,
               bool training) const {
    return {forward(input, params, training)};
  }
};

/// The trainer's command line: train, eval, predict, bench (see --help).
/// Returns the process exit status.
int trainerMain(int argc, char **argv, const CompiledModel &model);

} // namespace rtml

#endif // RTML_RUNTIME_MODEL_H
