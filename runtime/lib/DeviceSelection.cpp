//===- DeviceSelection.cpp - Devices and CPU threads from the flags -------===//
#include "DeviceSelection.h"

#include "rtml/Runtime/DeviceMap.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sched.h>

namespace rtml {

at::Device parseDevice(const std::string &text) {
  if (text == "cpu")
    return at::Device(at::kCPU);
  if (text == "cuda")
    return at::Device(at::kCUDA);
  if (text.rfind("cuda:", 0) == 0 && text.size() > 5 &&
      text.find_first_not_of("0123456789", 5) == std::string::npos &&
      text.size() <= 8)
    return at::Device(at::kCUDA,
                      static_cast<c10::DeviceIndex>(std::stoi(text.substr(5))));
  throw UsageError("invalid device '" + text +
                   "' (expected cpu, cuda or cuda:N)");
}

void checkDeviceAvailable(at::Device device) {
  if (!device.is_cuda())
    return;
  if (!torch::cuda::is_available())
    throw std::runtime_error("device " + device.str() +
                             " requested but CUDA is not available (no GPU, "
                             "or LibTorch built without CUDA)");
  int64_t count = static_cast<int64_t>(torch::cuda::device_count());
  if (device.has_index() && device.index() >= count)
    throw std::runtime_error("device " + device.str() + " requested but only " +
                             std::to_string(count) + " CUDA device(s) exist");
}

void enableCudnnAutotuning(at::Device device) {
  if (device.is_cuda())
    at::globalContext().setBenchmarkCuDNN(true);
}

namespace {

/// Data parallel on GPUs: local rank R uses the devices of local rank 0
/// shifted by R times their number (cuda, without an index, is cuda:0).
std::vector<at::Device> shiftForLocalRank(std::vector<at::Device> devices,
                                          int64_t localRank) {
  int64_t count = static_cast<int64_t>(devices.size());
  for (at::Device &d : devices)
    if (d.is_cuda())
      d = at::Device(at::kCUDA,
                     static_cast<c10::DeviceIndex>(
                         (d.has_index() ? d.index() : 0) + localRank * count));
  return devices;
}

} // namespace

at::Device selectDevices(const ModelInfo &info, const DeviceArgs &args,
                         int64_t localRank) {
  setSeparateStreams(!args.serialDevices);
  if (!args.devices.empty()) {
    if (args.deviceGiven)
      throw UsageError("give --device or --devices, not both");
    std::vector<at::Device> physical;
    try {
      physical = parseDeviceList(args.devices);
    } catch (const std::invalid_argument &e) {
      throw UsageError(e.what());
    }
    physical = shiftForLocalRank(physical, localRank);
    for (const at::Device &d : physical)
      checkDeviceAvailable(d);
    std::string notice = setDeviceMap(info.devices, physical);
    if (!notice.empty())
      std::cerr << notice << "\n";
    return physicalDevice(0);
  }
  at::Device device =
      shiftForLocalRank({parseDevice(args.device)}, localRank).front();
  checkDeviceAvailable(device);
  setSingleDevice(device);
  return device;
}

int availableCores() {
  int cores = 1;
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) == 0)
    cores = std::max(1, CPU_COUNT(&set));
  // "QUOTA PERIOD" in microseconds, or "max PERIOD" without a quota.
  std::ifstream cpuMax("/sys/fs/cgroup/cpu.max");
  std::string quota;
  double period = 0;
  if (cpuMax >> quota >> period && quota != "max" && period > 0) {
    double share = std::atof(quota.c_str()) / period;
    if (share > 0)
      cores = std::min(cores, std::max(1, int(std::ceil(share))));
  }
  return cores;
}

void applyThreads(const DeviceArgs &args) {
  const char *omp = std::getenv("OMP_NUM_THREADS");
  if (args.threads > 0)
    at::set_num_threads(static_cast<int>(args.threads));
  else if (!omp || !*omp)
    at::set_num_threads(availableCores());
}

} // namespace rtml
