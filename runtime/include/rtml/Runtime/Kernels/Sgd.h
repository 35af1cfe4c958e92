//===- Sgd.h - torch.optim.SGD's update of one element, many tensors ------===//
//
// Shared by the CPU pass (runtime/lib/SgdKernel.cpp, g++ -ffp-contract=off)
// and the CUDA multi-tensor kernel (Sgd.cuh, nvcc): no torch header. Both
// round exactly where ATen's kernels do; the caller's ARITH says how its
// compiler keeps a multiply and an add apart (std::fma and plain operators
// on the host, __fmaf_rn / __fmul_rn / __fadd_rn on the device, which nvcc
// never contracts).
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_KERNELS_SGD_H
#define RTML_RUNTIME_KERNELS_SGD_H

#include "rtml/Runtime/Kernels/Bf16.h"
#include "rtml/Runtime/Kernels/HostDevice.h"

#include <cstdint>

namespace rtml::kernels {

/// What stays fixed over a run (the learning rate is read per step).
struct SgdConstants {
  float momentum;
  float weightDecay;
  bool nesterov;
};

struct SgdElement {
  float param;
  float buffer;
};

/// One element of torch.optim.SGD (dampening 0): PARAM and its momentum
/// BUFFER after a step with gradient GRAD at LEARNINGRATE; INITBUFFER is
/// the buffer's first step (buffer = d_p; BUFFER is ignored).
template <class Arith>
RTML_HOST_DEVICE inline SgdElement
sgdElement(float param, float grad, float buffer, bool initBuffer,
           const SgdConstants &c, float learningRate) {
  // grad.add(p, wd): ATen's add is one fused multiply-add.
  float d = c.weightDecay != 0 ? Arith::fma(param, c.weightDecay, grad) : grad;
  if (c.momentum != 0) {
    // buf.mul_(momentum).add_(d): two kernels, two roundings.
    buffer = initBuffer ? d : Arith::add(Arith::mul(buffer, c.momentum), d);
    // d.add(buf, momentum) or buf
    d = c.nesterov ? Arith::fma(buffer, c.momentum, d) : buffer;
  }
  // p.add_(d, -lr)
  return {Arith::fma(d, -learningRate, param), buffer};
}

/// Up to kSgdListCapacity contiguous float tensors of one device, updated
/// by one launch. Passed by value as the kernel's argument (under CUDA's
/// 4 KB), so that a captured CUDA graph holds it and needs no copy.
constexpr int kSgdListCapacity = 64;
struct SgdTensorList {
  float *params[kSgdListCapacity];
  /// Tensor t's gradient: grads[t] (f32), or where that is null
  /// bf16Grads[t] (the gradient of its bf16 copy, exact in f32).
  const float *grads[kSgdListCapacity];
  const Bf16 *bf16Grads[kSgdListCapacity];
  float *buffers[kSgdListCapacity]; ///< null without momentum
  /// Tensor t's bf16 copy, written with the updated value rounded to
  /// nearest even (as a cast); null if it has none.
  Bf16 *copies[kSgdListCapacity];
  /// Tensor t holds elements [offsets[t], offsets[t + 1]) of the list.
  int64_t offsets[kSgdListCapacity + 1];
  uint64_t initBuffers; ///< bit t: tensor t's buffer takes its first step
  int count;
};

/// The CUDA multi-tensor update of LIST on STREAM (a cudaStream_t), reading
/// the learning rate from device memory, so that a captured step replays
/// with each epoch's rate. Defined by runtime/lib/SgdCuda.cu (nvcc) in a
/// CUDA build; throws std::runtime_error when the launch fails.
void sgdMultiTensorCuda(const SgdTensorList &list, const SgdConstants &c,
                        const float *learningRate, void *stream);

} // namespace rtml::kernels

#endif // RTML_RUNTIME_KERNELS_SGD_H
