//===- Distributed.cpp - Data parallel over LibTorch's c10d ---------------===//
#include "rtml/Runtime/Distributed.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cstdlib>
#include <map>
#include <stdexcept>
#include <utility>

// Gloo and NCCL each need their own headers (PyTorch's wheels ship c10d's
// and NCCL's, not Gloo's): either one makes a data-parallel runtime.
#if defined(RTML_WITH_GLOO) || defined(RTML_WITH_NCCL)
#define RTML_WITH_C10D
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef RTML_WITH_GLOO
// The headers' contents are behind these; LibTorch's CMake package defines
// them, a plain compiler command line may not.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef RTML_WITH_NCCL
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace rtml {

namespace {

int64_t parseInteger(const char *name, const char *text, int64_t min,
                     int64_t max) {
  char *end = nullptr;
  errno = 0;
  long long value = std::strtoll(text, &end, 10);
  if (*text == '\0' || *end != '\0' || errno != 0 || value < min || value > max)
    throw std::invalid_argument(std::string("environment variable ") + name +
                                "='" + text + "' is not an integer in [" +
                                std::to_string(min) + ", " +
                                std::to_string(max) + "]");
  return value;
}

} // namespace

DistributedEnv
parseDistributedEnv(const std::function<const char *(const char *)> &getenv) {
  DistributedEnv env;
  const char *world = getenv("WORLD_SIZE");
  if (!world)
    return env;
  env.worldSize = parseInteger("WORLD_SIZE", world, 1, 1 << 20);
  if (!env.enabled())
    return env;
  auto required = [&](const char *name) {
    const char *value = getenv(name);
    if (!value || !*value)
      throw std::invalid_argument(
          std::string("WORLD_SIZE=") + world + " asks for data parallel, but " +
          name +
          " is not set (set RANK, LOCAL_RANK, MASTER_ADDR and MASTER_PORT as "
          "torchrun does)");
    return value;
  };
  env.rank = parseInteger("RANK", required("RANK"), 0, env.worldSize - 1);
  const char *local = getenv("LOCAL_RANK");
  env.localRank =
      local ? parseInteger("LOCAL_RANK", local, 0, env.worldSize - 1) : 0;
  env.masterAddr = required("MASTER_ADDR");
  env.masterPort = static_cast<int>(
      parseInteger("MASTER_PORT", required("MASTER_PORT"), 1, 65535));
  const char *agent = getenv("TORCHELASTIC_USE_AGENT_STORE");
  env.agentStore = agent && std::string(agent) == "True";
  return env;
}

DistributedEnv distributedEnvFromEnvironment() {
  return parseDistributedEnv(
      [](const char *name) { return std::getenv(name); });
}

#ifdef RTML_WITH_C10D

bool distributedAvailable() { return true; }

// The concrete groups, not a base pointer: LibTorch 1.x derives them from
// ProcessGroup, 2.x from Backend.
struct Communicator::Group {
#ifdef RTML_WITH_GLOO
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#endif
#ifdef RTML_WITH_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  template <typename Run> auto run(Run &&collective) {
#if defined(RTML_WITH_GLOO) && defined(RTML_WITH_NCCL)
    return nccl ? collective(*nccl) : collective(*gloo);
#elif defined(RTML_WITH_NCCL)
    return collective(*nccl);
#else
    return collective(*gloo);
#endif
  }
};

namespace {

#ifdef RTML_WITH_GLOO
/// The network device Gloo talks through: the interface GLOO_SOCKET_IFNAME
/// names, loopback for a job on one machine, else this host's name.
std::shared_ptr<::gloo::transport::Device>
glooDevice(const DistributedEnv &env) {
  if (const char *interface = std::getenv("GLOO_SOCKET_IFNAME"))
    return c10d::ProcessGroupGloo::createDeviceForInterface(interface);
  const std::string &addr = env.masterAddr;
  if (addr == "localhost" || addr.rfind("127.", 0) == 0)
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}
#endif

std::string firstLine(const std::string &text) {
  return text.substr(0, text.find('\n'));
}

} // namespace

std::unique_ptr<Communicator>
Communicator::connect(const DistributedEnv &env, at::Device device,
                      std::chrono::milliseconds timeout,
                      const std::string &requested) {
  if (requested != "" && requested != "gloo" && requested != "nccl")
    throw std::invalid_argument("unknown data-parallel backend '" + requested +
                                "' (expected gloo or nccl)");
#ifndef RTML_WITH_NCCL
  if (requested == "nccl")
    throw std::runtime_error("the nccl backend is not in this runtime (built "
                             "without NCCL); use --dist-backend gloo");
#endif
#ifndef RTML_WITH_GLOO
  if (requested == "gloo" || !device.is_cuda())
    throw std::runtime_error(
        "the gloo backend (needed on " + device.str() +
        ") is not in this runtime: built with NCCL only, as LibTorch's "
        "wheels ship no Gloo headers; use CUDA devices with nccl");
#endif
  if (requested == "nccl" && !device.is_cuda())
    throw std::invalid_argument("the nccl backend needs a CUDA device");
  std::string where = "rank " + std::to_string(env.rank) + " of " +
                      std::to_string(env.worldSize) + " at " + env.masterAddr +
                      ":" + std::to_string(env.masterPort);
  std::string hint = " (are all " + std::to_string(env.worldSize) +
                     " processes started, and is the port free?)";
  c10::intrusive_ptr<c10d::Store> store;
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(env.masterPort);
    options.isServer = env.rank == 0 && !env.agentStore;
    options.numWorkers =
        env.agentStore ? c10::nullopt : c10::optional<size_t>(env.worldSize);
    options.waitWorkers = !env.agentStore;
    options.timeout = timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(env.masterAddr, options);
    // Our keys stay apart from those of torchrun's agent.
    store = c10::make_intrusive<c10d::PrefixStore>("rtml", tcp);
  } catch (const std::exception &e) {
    throw std::runtime_error("data parallel: " + where + ": rendezvous failed" +
                             hint + ": " + firstLine(e.what()));
  }

  auto group = std::make_unique<Group>();
  std::string backend;
  try {
#ifdef RTML_WITH_NCCL
    if (device.is_cuda() && requested != "gloo") {
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      group->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(
          store, env.rank, env.worldSize, options);
      backend = "nccl";
    }
#endif
#ifdef RTML_WITH_GLOO
    if (backend.empty()) {
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      options->devices.push_back(glooDevice(env));
      options->threads = 2;
      group->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(
          store, env.rank, env.worldSize, options);
      backend = "gloo";
    }
#endif
  } catch (const std::exception &e) {
    throw std::runtime_error("data parallel: " + where +
                             ": connecting the processes failed" + hint + ": " +
                             firstLine(e.what()));
  }
  return std::unique_ptr<Communicator>(
      new Communicator(env, std::move(group), backend, device, timeout));
}

namespace {
template <typename WorkPtr>
void waitFor(const WorkPtr &work, std::chrono::milliseconds timeout,
             int64_t rank, const char *operation, const char *what) {
  try {
    work->wait(timeout);
  } catch (const std::exception &e) {
    throw std::runtime_error(
        std::string("data parallel: ") + operation + " of " + what +
        " failed on rank " + std::to_string(rank) +
        " (another process died, or did not answer within " +
        std::to_string(timeout.count() / 1000) + " s): " + firstLine(e.what()));
  }
}
} // namespace

namespace {
/// NCCL reduces GPU tensors only: runs COLLECTIVE on GPU copies of CPU
/// TENSORS and copies the results back.
template <typename Collective>
void onBackendDevice(std::vector<at::Tensor> &tensors, bool nccl,
                     at::Device device, Collective &&collective) {
  if (!nccl || tensors.empty() || tensors.front().is_cuda()) {
    collective(tensors);
    return;
  }
  std::vector<at::Tensor> staged;
  for (const at::Tensor &t : tensors)
    staged.push_back(t.to(device));
  collective(staged);
  for (size_t i = 0; i < tensors.size(); ++i)
    tensors[i].copy_(staged[i]);
}
} // namespace

void Communicator::allReduceSum(std::vector<at::Tensor> &tensors,
                                const char *what) {
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::SUM;
  options.timeout = timeout;
  onBackendDevice(tensors, backendName == "nccl", device, [&](auto &ts) {
    waitFor(group->run([&](auto &pg) { return pg.allreduce(ts, options); }),
            timeout, env.rank, "summing", what);
  });
}

void Communicator::broadcast(std::vector<at::Tensor> &tensors, int64_t root,
                             const char *what) {
  c10d::BroadcastOptions options;
  options.rootRank = root;
  options.timeout = timeout;
  onBackendDevice(tensors, backendName == "nccl", device, [&](auto &ts) {
    waitFor(group->run([&](auto &pg) { return pg.broadcast(ts, options); }),
            timeout, env.rank, "broadcasting", what);
  });
}

#else // !RTML_WITH_C10D

bool distributedAvailable() { return false; }

struct Communicator::Group {};

std::unique_ptr<Communicator> Communicator::connect(const DistributedEnv &env,
                                                    at::Device,
                                                    std::chrono::milliseconds,
                                                    const std::string &) {
  throw std::runtime_error(
      "data parallel (WORLD_SIZE=" + std::to_string(env.worldSize) +
      "): this runtime was built without c10d; install the Gloo headers "
      "(Debian: libgloo-dev) or NCCL's and rebuild rtml");
}

void Communicator::allReduceSum(std::vector<at::Tensor> &, const char *) {}
void Communicator::broadcast(std::vector<at::Tensor> &, int64_t, const char *) {
}

#endif // RTML_WITH_C10D

Communicator::Communicator(DistributedEnv env, std::unique_ptr<Group> group,
                           std::string backendName, at::Device device,
                           std::chrono::milliseconds timeout)
    : env(std::move(env)), group(std::move(group)),
      backendName(std::move(backendName)), device(device), timeout(timeout) {}

Communicator::~Communicator() = default;

namespace {

/// Tensors grouped so that each group packs into one flat buffer.
std::map<std::pair<std::string, c10::ScalarType>, std::vector<at::Tensor>>
groupByDeviceAndType(const std::vector<at::Tensor> &tensors) {
  std::map<std::pair<std::string, c10::ScalarType>, std::vector<at::Tensor>>
      groups;
  for (const at::Tensor &t : tensors)
    if (t.defined())
      groups[{t.device().str(), t.scalar_type()}].push_back(t);
  return groups;
}

at::Tensor pack(const std::vector<at::Tensor> &tensors) {
  std::vector<at::Tensor> flat;
  flat.reserve(tensors.size());
  for (const at::Tensor &t : tensors)
    flat.push_back(t.reshape({-1}));
  return at::cat(flat);
}

void unpack(const at::Tensor &flat, const std::vector<at::Tensor> &tensors) {
  int64_t offset = 0;
  for (const at::Tensor &t : tensors) {
    t.copy_(flat.narrow(0, offset, t.numel()).view_as(t));
    offset += t.numel();
  }
}

} // namespace

void allReduceGradients(Communicator &comm,
                        const std::vector<at::Tensor> &params, double scale) {
  c10::NoGradGuard noGrad;
  std::vector<at::Tensor> grads;
  for (const at::Tensor &p : params)
    grads.push_back(p.grad());
  for (auto &[key, group] : groupByDeviceAndType(grads)) {
    std::vector<at::Tensor> flat{pack(group).mul_(scale)};
    comm.allReduceSum(flat, "gradients");
    unpack(flat.front(), group);
  }
}

void broadcastFromRankZero(Communicator &comm,
                           const std::vector<at::Tensor> &tensors,
                           const char *what) {
  c10::NoGradGuard noGrad;
  for (auto &[key, group] : groupByDeviceAndType(tensors)) {
    std::vector<at::Tensor> flat{pack(group)};
    comm.broadcast(flat, 0, what);
    unpack(flat.front(), group);
  }
}

} // namespace rtml
