//===- DeviceMap.cpp ------------------------------------------------------===//
#include "rtml/Runtime/DeviceMap.h"
#include "rtml/Runtime/Ops.h"

#include <ATen/core/Tensor.h>
#include <c10/core/GradMode.h>

#ifdef RTML_WITH_CUDA
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#include <map>
#endif

#include <algorithm>
#include <atomic>
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

int64_t physicalDeviceCount(int64_t logical) {
  std::vector<c10::Device> seen;
  for (int64_t i = 0; i < std::max<int64_t>(logical, 1); ++i)
    if (std::find(seen.begin(), seen.end(), physicalDevice(i)) == seen.end())
      seen.push_back(physicalDevice(i));
  return static_cast<int64_t>(seen.size());
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

namespace {
std::atomic<int64_t> gForwardBytes{0}, gBackwardBytes{0};
std::atomic<bool> gSeparateStreams{true};
} // namespace

TransferBytes transferBytes() { return {gForwardBytes, gBackwardBytes}; }

void resetTransferBytes() {
  gForwardBytes = 0;
  gBackwardBytes = 0;
}

void setSeparateStreams(bool enabled) { gSeparateStreams = enabled; }

#ifdef RTML_WITH_CUDA

namespace {
/// CONSUMER's later work waits for PRODUCER's work so far. (Raw CUDA events:
/// ATen's event header needs more of the toolkit than a GPU machine with
/// only PyTorch's wheels has.)
void waitFor(c10::cuda::CUDAStream producer, c10::cuda::CUDAStream consumer) {
  c10::cuda::CUDAGuard onProducer(producer.device_index());
  cudaEvent_t event;
  C10_CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
  C10_CUDA_CHECK(cudaEventRecord(event, producer.stream()));
  C10_CUDA_CHECK(cudaStreamWaitEvent(consumer.stream(), event, 0));
  // Freed once the wait is satisfied; no need to keep it.
  C10_CUDA_CHECK(cudaEventDestroy(event));
}
} // namespace

struct DeviceStreams::State {
  /// The streams current when the scope began, per GPU index.
  std::map<c10::DeviceIndex, c10::cuda::CUDAStream> ambient;
  /// Logical devices given a stream in this scope.
  std::map<int64_t, c10::cuda::CUDAStream> used;

  c10::cuda::CUDAStream ambientOf(c10::DeviceIndex gpu) {
    auto it = ambient.find(gpu);
    if (it == ambient.end())
      it = ambient.emplace(gpu, c10::cuda::getCurrentCUDAStream(gpu)).first;
    return it->second;
  }

  /// Logical device INDEX's stream; a pool stream (kept for the process, so
  /// each logical device always uses the same one) waits for the trainer's
  /// stream the first time it is used in a scope.
  c10::cuda::CUDAStream streamOf(int64_t index) {
    auto it = used.find(index);
    if (it != used.end())
      return it->second;
    c10::DeviceIndex gpu = physicalDevice(index).index();
    c10::cuda::CUDAStream ambientStream = ambientOf(gpu);
    c10::cuda::CUDAStream stream = ambientStream;
    if (index != 0) {
      static std::mutex mutex;
      static std::map<int64_t, c10::cuda::CUDAStream> pool;
      std::lock_guard<std::mutex> lock(mutex);
      auto found = pool.find(index);
      if (found == pool.end() || found->second.device_index() != gpu)
        found = pool.insert_or_assign(index, c10::cuda::getStreamFromPool(
                                                 /*isHighPriority=*/false, gpu))
                    .first;
      stream = found->second;
      waitFor(ambientStream, stream);
    }
    used.emplace(index, stream);
    return stream;
  }
};

namespace {
thread_local DeviceStreams::State *tActiveStreams = nullptr;
} // namespace

DeviceStreams::DeviceStreams() : state(nullptr) {
  if (!gSeparateStreams || !physicalDevice(0).is_cuda() || tActiveStreams)
    return;
  state = new State;
  tActiveStreams = state;
}

DeviceStreams::~DeviceStreams() {
  if (!state)
    return;
  for (auto &[index, stream] : state->used) {
    c10::cuda::CUDAStream ambientStream =
        state->ambientOf(stream.device_index());
    if (stream == ambientStream)
      continue;
    waitFor(stream, ambientStream);
  }
  for (auto &[gpu, stream] : state->ambient)
    c10::cuda::setCurrentCUDAStream(stream);
  tActiveStreams = nullptr;
  delete state;
}

void DeviceStreams::use(int64_t index) {
  if (state && physicalDevice(index).is_cuda())
    c10::cuda::setCurrentCUDAStream(state->streamOf(index));
}

#else // !RTML_WITH_CUDA: a CPU runs ops in the order they are issued.

struct DeviceStreams::State {};
DeviceStreams::DeviceStreams() : state(nullptr) {}
DeviceStreams::~DeviceStreams() = default;
void DeviceStreams::use(int64_t) {}

#endif

namespace ops {
at::Tensor toDevice(const at::Tensor &input, int64_t to, int64_t from) {
  int64_t bytes = input.numel() * static_cast<int64_t>(input.element_size());
  gForwardBytes += bytes;
  if (c10::GradMode::is_enabled() && input.requires_grad())
    gBackwardBytes += bytes;
  c10::Device target = physicalDevice(to);
#ifdef RTML_WITH_CUDA
  if (DeviceStreams::State *streams = tActiveStreams;
      streams && input.is_cuda() && target.is_cuda()) {
    c10::cuda::CUDAStream source = streams->streamOf(from);
    c10::cuda::CUDAStream destination = streams->streamOf(to);
    if (source != destination) {
      waitFor(source, destination);
      // The caching allocator must not hand INPUT's memory back to FROM's
      // stream before TO's stream has read it.
      input.record_stream(destination);
    }
    c10::cuda::CUDAStreamGuard onDestination(destination);
    return input.device() == target ? input
                                    : input.to(target, /*non_blocking=*/true);
  }
#endif
  (void)from;
  // Same device: no copy, and autograd sees the identity.
  if (input.device() == target)
    return input;
  // Asynchronous only towards a GPU: a non-blocking copy to the host may
  // hand back memory the copy has not filled yet.
  return input.to(target, /*non_blocking=*/target.is_cuda());
}
} // namespace ops

} // namespace rtml
