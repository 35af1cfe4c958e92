//===- DeviceMap.cpp ------------------------------------------------------===//
#include "rtml/Runtime/DeviceMap.h"
#include "rtml/Runtime/Ops.h"

#include <ATen/core/Tensor.h>

#include <mutex>
#include <sstream>
#include <stdexcept>

namespace rtml {

namespace {
// Set once when the trainer starts, read by every transfer.
std::vector<c10::Device> &deviceTable() {
  static std::vector<c10::Device> table{c10::Device(c10::kCPU)};
  return table;
}
} // namespace

std::string setDeviceMap(const std::vector<std::string> &logical,
                         const std::vector<c10::Device> &physical) {
  if (physical.empty())
    throw std::invalid_argument("--devices names no device");
  std::vector<c10::Device> table;
  size_t count = std::max<size_t>(logical.size(), 1);
  for (size_t i = 0; i < count; ++i)
    table.push_back(physical[i % physical.size()]);
  deviceTable() = table;
  if (logical.size() <= physical.size())
    return "";
  std::ostringstream notice;
  notice << "note: " << logical.size() << " logical devices share "
         << physical.size() << " physical:";
  for (size_t i = 0; i < logical.size(); ++i)
    notice << ' ' << logical[i] << "->" << table[i].str();
  return notice.str();
}

void setSingleDevice(c10::Device device) { deviceTable() = {device}; }

c10::Device physicalDevice(int64_t index) {
  const std::vector<c10::Device> &table = deviceTable();
  if (index < 0)
    throw std::out_of_range("negative logical device index");
  // A single-device run maps every logical device to the one device.
  return table[static_cast<size_t>(index) < table.size() ? index : 0];
}

std::vector<c10::Device> parseDeviceList(const std::string &list) {
  std::vector<c10::Device> devices;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      devices.emplace_back(item);
    } catch (const std::exception &) {
      throw std::invalid_argument("bad device '" + item +
                                  "' in --devices (expected cpu, cuda or "
                                  "cuda:N)");
    }
  }
  if (devices.empty())
    throw std::invalid_argument("--devices names no device");
  return devices;
}

namespace ops {
at::Tensor toDevice(const at::Tensor &input, int64_t logicalDevice) {
  c10::Device target = physicalDevice(logicalDevice);
  // Same device: no copy, and autograd sees the identity.
  if (input.device() == target)
    return input;
  // Asynchronous only towards a GPU: a non-blocking copy to the host may
  // hand back memory the copy has not filled yet.
  return input.to(target, /*non_blocking=*/target.is_cuda());
}
} // namespace ops

} // namespace rtml
