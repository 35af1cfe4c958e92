//===- Shapes.h - Output sizes, parameter and MAC counts ------------------===//
//
// The shape arithmetic of every layer, in one place, with PyTorch's rounding
// rules. Used by the dialect's shape inference, the summary table and the
// runtime's checks. A result < 1 means the layer cannot be applied.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_SUPPORT_SHAPES_H
#define RTML_SUPPORT_SHAPES_H

#include <cstdint>
#include <string>
#include <vector>

namespace rtml {

/// floor((in + 2*pad - dilation*(kernel-1) - 1) / stride) + 1, as nn.Conv2d.
int64_t convOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t pad,
                       int64_t dilation = 1);

/// nn.MaxPool2d / nn.AvgPool2d: like a convolution, but with ceil_mode the
/// division rounds up, and a last window that would start in the right
/// padding is dropped.
int64_t poolOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t pad,
                       bool ceilMode, int64_t dilation = 1);

/// Number of elements of a shape (all dimensions known).
int64_t numElements(const std::vector<int64_t> &shape);

/// Parameters of a conv2d: weight [out, in/groups, kh, kw] plus bias [out].
int64_t conv2dParams(int64_t in, int64_t out, int64_t kh, int64_t kw,
                     int64_t groups, bool bias);
/// Multiply-accumulates of a conv2d per image.
int64_t conv2dMacs(int64_t in, int64_t out, int64_t kh, int64_t kw,
                   int64_t groups, int64_t outH, int64_t outW);

/// "57,044,810": digits grouped by commas.
std::string groupDigits(int64_t value);

/// "[?, 3, 224, 224]"-style rendering; negative dimensions print as '?'.
std::string shapeString(const std::vector<int64_t> &shape);

} // namespace rtml

#endif // RTML_SUPPORT_SHAPES_H
