//===- DeviceMap.h - Logical devices of a model -> physical devices -------===//
//
// A partitioned model names logical devices (gpu0, gpu1); which physical
// device each one is is decided when the trainer starts (--devices). The
// emitted forward() issues each logical device's ops on that device's own
// CUDA stream (DeviceStreams), so that devices sharing a GPU still run at
// the same time, and moves values with ops::toDevice(x, to, from), which
// orders the two streams with an event and counts the bytes. Without a map
// every logical device is the one the trainer runs on.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_DEVICEMAP_H
#define RTML_RUNTIME_DEVICEMAP_H

#include <c10/core/Device.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rtml {

/// Maps the model's LOGICAL devices onto PHYSICAL ones: with fewer physical
/// devices than logical ones, several logical devices share one (round
/// robin). Returns a notice to print when sharing happens, else "".
std::string setDeviceMap(const std::vector<std::string> &logical,
                         const std::vector<c10::Device> &physical);

/// Every logical device onto DEVICE (a model run on one device).
void setSingleDevice(c10::Device device);

/// The physical device of logical device INDEX.
c10::Device physicalDevice(int64_t index);

/// How many distinct physical devices logical devices [0, LOGICAL) are on:
/// 1 for towers sharing one GPU (streams of one device), 2 for a model split
/// over two GPUs.
int64_t physicalDeviceCount(int64_t logical);

/// "cuda:0,cuda:1" -> devices; throws std::invalid_argument on a bad entry.
std::vector<c10::Device> parseDeviceList(const std::string &list);

/// One stream per logical device (on CUDA; nothing on the CPU) for the
/// duration of one forward pass. Logical device 0 keeps the stream that was
/// current when the scope began (the trainer's), the others get pool
/// streams that first wait for it. When the scope ends, the trainer's
/// stream waits for every stream used, and is current again. Backward runs
/// each op on its forward op's stream (LibTorch's autograd rule), so the
/// devices overlap there too.
class DeviceStreams {
public:
  DeviceStreams();
  ~DeviceStreams();
  DeviceStreams(const DeviceStreams &) = delete;
  DeviceStreams &operator=(const DeviceStreams &) = delete;
  /// Makes logical device INDEX's stream current on its GPU.
  void use(int64_t index);

  struct State;

private:
  State *state; ///< null on the CPU or with separate streams disabled
};

/// false: every logical device issues on the trainer's stream, one after
/// the other (the trainer's --serial-devices, to measure the overlap).
void setSeparateStreams(bool enabled);

/// Bytes rtml.transfer ops moved between logical devices: forward, and the
/// gradients backward carries back (as many, for inputs that need one).
/// Logical: two logical devices on one physical device move them in name
/// only.
struct TransferBytes {
  int64_t forward = 0;
  int64_t backward = 0;
};
TransferBytes transferBytes();
void resetTransferBytes();

} // namespace rtml

#endif // RTML_RUNTIME_DEVICEMAP_H
