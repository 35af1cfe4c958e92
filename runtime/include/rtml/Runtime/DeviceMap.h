//===- DeviceMap.h - Logical devices of a model -> physical devices -------===//
//
// A partitioned model names logical devices (gpu0, gpu1); which physical
// device each one is is decided when the trainer starts (--devices). The
// emitted forward() moves values with ops::toDevice(x, logicalIndex), which
// looks the physical device up here. Without a map every logical device is
// the one the trainer runs on.
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

/// "cuda:0,cuda:1" -> devices; throws std::invalid_argument on a bad entry.
std::vector<c10::Device> parseDeviceList(const std::string &list);

} // namespace rtml

#endif // RTML_RUNTIME_DEVICEMAP_H
