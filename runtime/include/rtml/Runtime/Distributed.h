//===- Distributed.h - Data parallel over LibTorch's c10d -----------------===//
//
// Several trainer processes, each with its own shard of every batch, average
// their gradients with c10d collectives (Gloo on CPU tensors, NCCL on CUDA
// ones when LibTorch has it). A job is described the way torchrun describes
// it, by environment variables, so `torchrun --no-python TRAINER train ...`
// works, and so does setting the variables by hand.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_DISTRIBUTED_H
#define RTML_RUNTIME_DISTRIBUTED_H

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace rtml {

/// This process's place in a data-parallel job.
struct DistributedEnv {
  int64_t rank = 0;
  int64_t worldSize = 1;
  int64_t localRank = 0; ///< index among the processes of this machine
  std::string masterAddr;
  int masterPort = 0;
  /// torchrun's agent already serves the store at MASTER_ADDR:MASTER_PORT
  /// (TORCHELASTIC_USE_AGENT_STORE=True): every rank is a client.
  bool agentStore = false;
  /// A job of one process (WORLD_SIZE=1) that still forms its process group
  /// and runs every collective: what a --dist-backend under torchrun asks.
  bool groupOfOne = false;
  bool enabled() const { return worldSize > 1 || groupOfOne; }
};

/// Reads RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT and
/// TORCHELASTIC_USE_AGENT_STORE through GETENV. Without WORLD_SIZE the
/// process trains alone; with WORLD_SIZE=1 too, unless GROUP_OF_ONE (then it
/// is a one-process job). Throws std::invalid_argument naming the variable
/// when one is missing or malformed.
DistributedEnv
parseDistributedEnv(const std::function<const char *(const char *)> &getenv,
                    bool groupOfOne = false);
/// parseDistributedEnv over the process environment.
DistributedEnv distributedEnvFromEnvironment(bool groupOfOne = false);

/// Whether this runtime was built with c10d (Gloo headers were found).
bool distributedAvailable();

/// A c10d process group of the job. Every collective waits at most the
/// timeout given to connect and turns a failure (a peer that died, a
/// timeout) into a std::runtime_error that names the operation and the
/// rank, so that no process hangs on a dead job.
class Communicator {
public:
  /// Rendezvous with the job's other processes through a TCP store at
  /// MASTER_ADDR:MASTER_PORT (hosted by rank 0 unless torchrun's agent
  /// hosts it), waiting at most TIMEOUT in all. A process whose rank
  /// another already took (a stray of another job on the same port), or
  /// whose WORLD_SIZE differs from rank 0's, is refused before it joins the
  /// process group. BACKEND is "gloo", "nccl", or ""
  /// for NCCL on a CUDA DEVICE when LibTorch has it and Gloo otherwise
  /// (Gloo also reduces CUDA tensors, and lets processes share a GPU).
  static std::unique_ptr<Communicator>
  connect(const DistributedEnv &env, at::Device device,
          std::chrono::milliseconds timeout, const std::string &backend = "");
  ~Communicator();

  int64_t rank() const { return env.rank; }
  int64_t worldSize() const { return env.worldSize; }
  const std::string &backend() const { return backendName; }

  /// Sums each tensor across the processes, in place. All of TENSORS must be
  /// on one device; NCCL's are staged through the process's GPU when on the
  /// CPU (the small metric sums).
  void allReduceSum(std::vector<at::Tensor> &tensors, const char *what);
  /// Overwrites each tensor with rank ROOT's.
  void broadcast(std::vector<at::Tensor> &tensors, int64_t root,
                 const char *what);

  /// A setting of the job (a flag and its value) that every process must
  /// share.
  using Setting = std::pair<std::string, std::string>;
  /// Checks that every process runs the same job: each publishes SETTINGS
  /// (model, parameter shapes, batch size, data set sizes, training
  /// settings) and compares all of them with rank 0's, so that a mismatch
  /// ends every process with the same error naming the first difference.
  void checkSameJob(const std::vector<Setting> &settings);
  /// The job's id: MASTER_PORT and a random number rank 0 drew.
  const std::string &jobId() const { return job; }

private:
  struct Group;
  Communicator(DistributedEnv env, std::unique_ptr<Group> group,
               std::string backendName, at::Device device,
               std::chrono::milliseconds timeout);

  DistributedEnv env;
  std::string job;
  std::unique_ptr<Group> group;
  std::string backendName;
  at::Device device; ///< the process's (first) device
  std::chrono::milliseconds timeout;
};

/// Sums the gradients of PARAMS over the processes after scaling each
/// process's by SCALE (its share of the combined batch, so that the sum is
/// the gradient of the combined batch's mean loss). Gradients are packed
/// into one flat buffer per device, so a step costs one collective per
/// device. Undefined gradients (parameters no loss reached) are skipped,
/// the same ones on every rank since every rank runs the same graph.
void allReduceGradients(Communicator &comm,
                        const std::vector<at::Tensor> &params, double scale);

/// Overwrites TENSORS (parameters, buffers) with rank 0's, one flat buffer
/// per device and dtype.
void broadcastFromRankZero(Communicator &comm,
                           const std::vector<at::Tensor> &tensors,
                           const char *what);

} // namespace rtml

#endif // RTML_RUNTIME_DISTRIBUTED_H
