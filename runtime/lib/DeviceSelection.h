//===- DeviceSelection.h - Devices and CPU threads from the flags ---------===//
#ifndef RTML_RUNTIME_LIB_DEVICESELECTION_H
#define RTML_RUNTIME_LIB_DEVICESELECTION_H

#include "TrainerCommandLine.h"

namespace rtml {

/// The device the model's input and its default logical device use; maps
/// the other logical devices (--devices) for the emitted transfers. In a
/// data-parallel job the GPUs named are local rank 0's, shifted for
/// LOCALRANK.
at::Device selectDevices(const ModelInfo &info, const DeviceArgs &args,
                         int64_t localRank = 0);

/// On CUDA: lets cuDNN time its convolution algorithms on the first step of
/// each shape and keep the fastest (torch.backends.cudnn.benchmark). The
/// steps of a run have one shape (the last short batch a second one).
void enableCudnnAutotuning(at::Device device);

/// The cores this process may run on: its CPU affinity, capped by a cgroup
/// (v2) CPU quota.
int availableCores();

/// LibTorch's intra-op threads: --threads, else OMP_NUM_THREADS when set
/// (LibTorch reads it), else availableCores().
void applyThreads(const DeviceArgs &args);

} // namespace rtml

#endif // RTML_RUNTIME_LIB_DEVICESELECTION_H
