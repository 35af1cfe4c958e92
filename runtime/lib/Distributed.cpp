//===- Distributed.cpp - Data parallel over LibTorch's c10d ---------------===//
#include "rtml/Runtime/Distributed.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>
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
parseDistributedEnv(const std::function<const char *(const char *)> &getenv,
                    bool groupOfOne) {
  DistributedEnv env;
  const char *world = getenv("WORLD_SIZE");
  if (!world)
    return env;
  env.worldSize = parseInteger("WORLD_SIZE", world, 1, 1 << 20);
  env.groupOfOne = groupOfOne && env.worldSize == 1;
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

DistributedEnv distributedEnvFromEnvironment(bool groupOfOne) {
  return parseDistributedEnv([](const char *name) { return std::getenv(name); },
                             groupOfOne);
}

#ifdef RTML_WITH_C10D

bool distributedAvailable() { return true; }

// The concrete groups, not a base pointer: LibTorch 1.x derives them from
// ProcessGroup, 2.x from Backend.
struct Communicator::Group {
  c10::intrusive_ptr<c10d::Store> store; ///< the job's keys: claims, settings
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

std::vector<uint8_t> bytesOf(const std::string &text) {
  return {text.begin(), text.end()};
}

std::string textOf(const std::vector<uint8_t> &bytes) {
  return {bytes.begin(), bytes.end()};
}

/// Takes this process's rank in the job and returns the job's id
/// ("PORT-NONCE/WORLD", published by rank 0). Refuses a rank that another
/// process took, and a world size other than rank 0's.
std::string joinJob(c10d::Store &store, const DistributedEnv &env,
                    const std::string &where,
                    std::chrono::steady_clock::time_point deadline) {
  std::string rank = std::to_string(env.rank);
  if (store.add("claim/" + rank, 1) != 1)
    throw std::runtime_error(
        "data parallel: " + where + ": rank " + rank +
        " is already taken by another process (a process of another job on "
        "the same MASTER_PORT?); refusing to join this job");
  // Every rank's claim, within what is left of the timeout: LibTorch 1.13's
  // store gives up waiting for its clients without an error, after which
  // the process group would wait the whole timeout again.
  auto left = std::max(std::chrono::milliseconds(1),
                       std::chrono::duration_cast<std::chrono::milliseconds>(
                           deadline - std::chrono::steady_clock::now()));
  std::string id;
  if (env.rank == 0) {
    std::random_device random;
    std::ostringstream os;
    os << env.masterPort << "-" << std::hex << random() << random() << "/"
       << std::dec << env.worldSize;
    id = os.str();
    store.set("job", bytesOf(id));
  } else {
    store.wait({"job"}, left);
    id = textOf(store.get("job"));
  }
  std::string world = id.substr(id.rfind('/') + 1);
  if (world != std::to_string(env.worldSize))
    throw std::runtime_error("data parallel: " + where +
                             ": WORLD_SIZE=" + std::to_string(env.worldSize) +
                             ", but rank 0 of job " + id + " has " + world +
                             " (start every process with the same "
                             "WORLD_SIZE)");
  std::vector<std::string> claims;
  for (int64_t r = 0; r < env.worldSize; ++r)
    claims.push_back("claim/" + std::to_string(r));
  store.wait(claims,
             std::max(std::chrono::milliseconds(1),
                      std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())));
  return id.substr(0, id.rfind('/'));
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
  auto deadline = std::chrono::steady_clock::now() + timeout;
  c10::intrusive_ptr<c10d::Store> store;
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(env.masterPort);
    options.isServer = env.rank == 0 && !env.agentStore;
    // Assigned, not spelled as an optional: c10::optional is 1.13's type and
    // a deprecated alias of std::optional in PyTorch 2.
    if (!env.agentStore)
      options.numWorkers = static_cast<size_t>(env.worldSize);
    options.waitWorkers = !env.agentStore;
    options.timeout = timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(env.masterAddr, options);
    // Our keys stay apart from those of torchrun's agent, whose store
    // outlives a restart of the workers: one prefix per attempt.
    const char *restart = std::getenv("TORCHELASTIC_RESTART_COUNT");
    store = c10::make_intrusive<c10d::PrefixStore>(
        std::string("rtml") + (restart ? std::string("/") + restart : ""), tcp);
  } catch (const std::exception &e) {
    throw std::runtime_error("data parallel: " + where + ": rendezvous failed" +
                             hint + ": " + firstLine(e.what()));
  }
  std::string job;
  try {
    job = joinJob(*store, env, where, deadline);
  } catch (const c10::Error &e) {
    throw std::runtime_error("data parallel: " + where + ": rendezvous failed" +
                             hint + ": " +
                             firstLine(e.what_without_backtrace()));
  }

  auto group = std::make_unique<Group>();
  group->store = store;
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
  auto comm = std::unique_ptr<Communicator>(
      new Communicator(env, std::move(group), backend, device, timeout));
  comm->job = job;
  return comm;
}

void Communicator::checkSameJob(const std::vector<Setting> &settings) {
  std::string mine;
  for (const auto &[name, value] : settings)
    mine += name + "=" + value + "\n";
  std::vector<std::map<std::string, std::string>> all(env.worldSize);
  int64_t waitingFor = env.rank;
  try {
    group->store->set("settings/" + std::to_string(env.rank), bytesOf(mine));
    for (waitingFor = 0; waitingFor < env.worldSize; ++waitingFor) {
      std::istringstream lines(
          textOf(group->store->get("settings/" + std::to_string(waitingFor))));
      for (std::string line; std::getline(lines, line);)
        all[waitingFor][line.substr(0, line.find('='))] =
            line.substr(line.find('=') + 1);
    }
  } catch (const std::exception &e) {
    throw std::runtime_error(
        "data parallel: rank " + std::to_string(env.rank) + " of job " + job +
        ": rank " + std::to_string(waitingFor) +
        " did not publish its settings within " +
        std::to_string(timeout.count() / 1000) + " s: " + firstLine(e.what()));
  }
  // Every process reads the same keys, so all reach the same verdict.
  for (int64_t r = 1; r < env.worldSize; ++r)
    for (const auto &[name, value] : all[0]) {
      auto it = all[r].find(name);
      std::string theirs = it == all[r].end() ? "none" : it->second;
      if (theirs != value)
        throw std::runtime_error(
            "data parallel: the processes do not run one job (" + job +
            "): rank " + std::to_string(r) + " has " + name + " " + theirs +
            ", rank 0 has " + value +
            "; start every process with the same trainer, data and flags");
    }
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
void Communicator::checkSameJob(const std::vector<Setting> &) {}
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
