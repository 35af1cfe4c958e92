//===- Shapes.cpp ---------------------------------------------------------===//
#include "rtml/Support/Shapes.h"

#include <cstdint>
#include <initializer_list>

namespace rtml {

static int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t convOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t pad,
                       int64_t dilation) {
  if (stride <= 0)
    return 0;
  return floorDiv(in + 2 * pad - dilation * (kernel - 1) - 1, stride) + 1;
}

int64_t poolOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t pad,
                       bool ceilMode, int64_t dilation) {
  if (stride <= 0)
    return 0;
  int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1;
  int64_t out = (ceilMode ? floorDiv(span + stride - 1, stride)
                          : floorDiv(span, stride)) +
                1;
  // PyTorch (pooling_output_shape): the last window must start inside the
  // input or the left padding.
  if (ceilMode && (out - 1) * stride >= in + pad)
    --out;
  return out;
}

/// A * B, saturating at INT64_MAX: counts of absurd specs stay defined.
static int64_t saturatingMul(int64_t a, int64_t b) {
  int64_t product;
  if (__builtin_mul_overflow(a, b, &product))
    return INT64_MAX;
  return product;
}

static int64_t saturatingProduct(std::initializer_list<int64_t> factors) {
  int64_t product = 1;
  for (int64_t f : factors)
    product = saturatingMul(product, f);
  return product;
}

int64_t numElements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n = saturatingMul(n, d);
  return n;
}

int64_t conv2dParams(int64_t in, int64_t out, int64_t kh, int64_t kw,
                     int64_t groups, bool bias) {
  int64_t weights = saturatingProduct({out, in / groups, kh, kw});
  return weights == INT64_MAX ? weights : weights + (bias ? out : 0);
}

int64_t conv2dMacs(int64_t in, int64_t out, int64_t kh, int64_t kw,
                   int64_t groups, int64_t outH, int64_t outW) {
  return saturatingProduct({out, outH, outW, in / groups, kh, kw});
}

std::string groupDigits(int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  int count = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (count > 0 && count % 3 == 0)
      out.insert(out.begin(), ',');
    out.insert(out.begin(), *it);
    ++count;
  }
  return value < 0 ? "-" + out : out;
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ", ";
    s += shape[i] < 0 ? "?" : std::to_string(shape[i]);
  }
  return s + "]";
}

} // namespace rtml
