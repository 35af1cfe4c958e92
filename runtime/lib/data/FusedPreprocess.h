//===- FusedPreprocess.h - A transform pipeline as one kernel ---*- C++ -*-===//
//
// Private to the runtime: BatchTransform's fused path. A phase's pipeline
// folds into the preprocessing kernel (rtml/Runtime/Kernels/Preprocess.h)
// when it has at most one geometric step (a resize or random_resized_crop
// that changes the size), at most 4 channels throughout, and a normalize
// of as many channels as it gets:
//
//   fusePipeline    the steps as one window per image, a flip and one
//                   channel map (or nothing: run the steps one by one);
//   drawWindows     its random steps drawn in the pipeline's order, with
//                   the unfused steps' calls, so a seed gives the same
//                   flips and crops fused or not;
//   preprocess      the kernel: its CPU twin, or CUDA.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_LIB_DATA_FUSEDPREPROCESS_H
#define RTML_RUNTIME_LIB_DATA_FUSEDPREPROCESS_H

#include "rtml/Runtime/Kernels/Preprocess.h"
#include "rtml/Runtime/Model.h"

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <optional>
#include <vector>

namespace rtml::detail {

/// A pipeline over images of inChannels x inHeight x inWidth, folded.
struct FusedPipeline {
  int64_t inChannels = 0, inHeight = 0, inWidth = 0;
  int64_t outChannels = 0, outHeight = 0, outWidth = 0;
  /// The flips and random_resized_crops, in pipeline order.
  std::vector<const TransformConfig *> randomSteps;
  kernels::ChannelMap map{};
};

/// STEPS over images of CHANNELS x HEIGHT x WIDTH as one kernel, or nothing
/// when they do not fold (see above). STEPS must outlive the result.
std::optional<FusedPipeline>
fusePipeline(const std::vector<TransformConfig> &steps, int64_t channels,
             int64_t height, int64_t width);

/// The flips of N images, each with probability P, drawn on GEN: the
/// draw random_horizontal_flip makes, fused or not (CPU bool [n]).
at::Tensor drawFlips(int64_t n, double p, at::Generator &gen);

/// The windows of N images (CPU int32 [n, 5], as kernels::ImageWindow):
/// PIPELINE's random steps drawn on GEN in its order.
at::Tensor drawWindows(const FusedPipeline &pipeline, int64_t n,
                       at::Generator &gen);

/// IMAGES (uint8 [n, c, h, w], contiguous, on the CPU or a CUDA device)
/// through PIPELINE with WINDOWS (drawWindows'), on the images' device:
/// [n, outChannels, outHeight, outWidth], bf16 or float, channels_last
/// (NHWC) or contiguous.
at::Tensor preprocess(const at::Tensor &images, const at::Tensor &windows,
                      const FusedPipeline &pipeline, bool bf16, bool nhwc);

} // namespace rtml::detail

#endif // RTML_RUNTIME_LIB_DATA_FUSEDPREPROCESS_H
