//===- DistributedTest.cpp - Job environment and c10d collectives ---------===//
//
// The collectives run as ranks in threads of this process over loopback,
// the same Gloo transport separate processes use.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Distributed.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <map>
#include <string>

using namespace rtml;

namespace {

DistributedEnv parse(const std::map<std::string, std::string> &vars,
                     bool groupOfOne = false) {
  return parseDistributedEnv(
      [&](const char *name) -> const char * {
        auto it = vars.find(name);
        return it == vars.end() ? nullptr : it->second.c_str();
      },
      groupOfOne);
}

std::string parseError(const std::map<std::string, std::string> &vars) {
  try {
    parse(vars);
  } catch (const std::invalid_argument &e) {
    return e.what();
  }
  return "no error";
}

/// A loopback port nobody listens on now.
int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

DistributedEnv rankEnv(int64_t rank, int64_t world, int port) {
  DistributedEnv env;
  env.rank = rank;
  env.worldSize = world;
  env.localRank = rank;
  env.masterAddr = "127.0.0.1";
  env.masterPort = port;
  return env;
}

} // namespace

TEST(DistributedEnvTest, AbsentWorldSizeMeansOneProcess) {
  DistributedEnv env = parse({});
  EXPECT_FALSE(env.enabled());
  EXPECT_EQ(env.rank, 0);
  EXPECT_FALSE(parse({{"WORLD_SIZE", "1"}}).enabled());
}

TEST(DistributedEnvTest, ABackendUnderTorchrunFormsAGroupOfOne) {
  std::map<std::string, std::string> one{{"WORLD_SIZE", "1"},
                                         {"RANK", "0"},
                                         {"MASTER_ADDR", "127.0.0.1"},
                                         {"MASTER_PORT", "29500"}};
  DistributedEnv env = parse(one, /*groupOfOne=*/true);
  EXPECT_TRUE(env.enabled());
  EXPECT_EQ(env.worldSize, 1);
  EXPECT_EQ(env.masterPort, 29500);
  // Not launched (no WORLD_SIZE), or launched as more processes: as before.
  EXPECT_FALSE(parse({}, /*groupOfOne=*/true).enabled());
  one["WORLD_SIZE"] = "2";
  EXPECT_FALSE(parse(one, /*groupOfOne=*/true).groupOfOne);
}

TEST(DistributedEnvTest, ReadsTorchrunVariables) {
  DistributedEnv env = parse({{"WORLD_SIZE", "4"},
                              {"RANK", "3"},
                              {"LOCAL_RANK", "1"},
                              {"MASTER_ADDR", "10.0.0.2"},
                              {"MASTER_PORT", "29400"},
                              {"TORCHELASTIC_USE_AGENT_STORE", "True"}});
  EXPECT_TRUE(env.enabled());
  EXPECT_EQ(env.worldSize, 4);
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.localRank, 1);
  EXPECT_EQ(env.masterAddr, "10.0.0.2");
  EXPECT_EQ(env.masterPort, 29400);
  EXPECT_TRUE(env.agentStore);
}

TEST(DistributedEnvTest, NamesTheBadVariable) {
  std::map<std::string, std::string> good{{"WORLD_SIZE", "2"},
                                          {"RANK", "1"},
                                          {"MASTER_ADDR", "127.0.0.1"},
                                          {"MASTER_PORT", "29500"}};
  auto without = [&](const std::string &name) {
    auto vars = good;
    vars.erase(name);
    return vars;
  };
  auto with = [&](const std::string &name, const std::string &value) {
    auto vars = good;
    vars[name] = value;
    return vars;
  };
  EXPECT_NE(parseError(without("RANK")).find("RANK is not set"),
            std::string::npos);
  EXPECT_NE(parseError(without("MASTER_ADDR")).find("MASTER_ADDR is not set"),
            std::string::npos);
  EXPECT_NE(parseError(without("MASTER_PORT")).find("MASTER_PORT is not set"),
            std::string::npos);
  EXPECT_EQ(parseError(with("RANK", "2")),
            "environment variable RANK='2' is not an integer in [0, 1]");
  EXPECT_EQ(parseError(with("WORLD_SIZE", "two")),
            "environment variable WORLD_SIZE='two' is not an integer in [1, "
            "1048576]");
  EXPECT_EQ(parseError(with("MASTER_PORT", "70000")),
            "environment variable MASTER_PORT='70000' is not an integer in "
            "[1, 65535]");
  EXPECT_EQ(parseError(with("LOCAL_RANK", "-1")),
            "environment variable LOCAL_RANK='-1' is not an integer in [0, "
            "1]");
}

class CollectivesTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (!distributedAvailable())
      GTEST_SKIP() << "runtime built without c10d";
  }
};

TEST_F(CollectivesTest, GradientsOfTwoRanksSumScaledAndParametersBroadcast) {
  int port = freePort();
  auto rank = [port](int64_t r) {
    auto comm = Communicator::connect(rankEnv(r, 2, port), at::kCPU,
                                      std::chrono::seconds(30));
    EXPECT_EQ(comm->backend(), "gloo");
    // Two parameters of different shapes, and one no loss reached.
    at::Tensor a = at::zeros({2, 3}).requires_grad_();
    at::Tensor b = at::zeros({4}).requires_grad_();
    at::Tensor unused = at::zeros({5}).requires_grad_();
    a.mutable_grad() = at::full({2, 3}, double(r + 1));
    b.mutable_grad() = at::arange(4, at::kFloat) * double(r + 1);
    // Rank 0 holds 1 of 3 images, rank 1 holds 2: scales 1/3 and 2/3.
    allReduceGradients(*comm, {a, b, unused}, r == 0 ? 1.0 / 3 : 2.0 / 3);
    EXPECT_FALSE(unused.grad().defined());
    at::Tensor weight = at::full({3}, double(r * 10 + 7));
    at::Tensor steps = at::full({1}, r + 100, at::kLong);
    broadcastFromRankZero(*comm, {weight, steps}, "parameters");
    return std::vector<at::Tensor>{a.grad(), b.grad(), weight, steps};
  };
  auto r0 = std::async(std::launch::async, rank, 0);
  auto r1 = std::async(std::launch::async, rank, 1);
  for (const std::vector<at::Tensor> &got : {r0.get(), r1.get()}) {
    // 1 * 1/3 + 2 * 2/3
    EXPECT_TRUE(at::allclose(got[0], at::full({2, 3}, 5.0 / 3)));
    EXPECT_TRUE(at::allclose(got[1], at::arange(4, at::kFloat) * (5.0 / 3)));
    EXPECT_TRUE(at::equal(got[2], at::full({3}, 7.0)));
    EXPECT_EQ(got[3].item<int64_t>(), 100);
  }
}

TEST_F(CollectivesTest, AGroupOfOneRunsEveryCollective) {
  DistributedEnv env = rankEnv(0, 1, freePort());
  env.groupOfOne = true;
  auto comm = Communicator::connect(env, at::kCPU, std::chrono::seconds(30));
  at::Tensor a = at::zeros({3}).requires_grad_();
  a.mutable_grad() = at::full({3}, 6.0);
  allReduceGradients(*comm, {a}, 0.5);
  EXPECT_TRUE(at::allclose(a.grad(), at::full({3}, 3.0)));
  at::Tensor weight = at::full({2}, 7.0);
  broadcastFromRankZero(*comm, {weight}, "parameters");
  EXPECT_TRUE(at::equal(weight, at::full({2}, 7.0)));
}

/// The message of the std::runtime_error ACTION throws; fails the test
/// when it throws none, or only after 30 s.
template <typename Action> std::string errorOf(Action &&action) {
  auto start = std::chrono::steady_clock::now();
  std::string message = "no error";
  try {
    action();
  } catch (const std::runtime_error &e) {
    message = e.what();
  }
  EXPECT_LT(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count(),
      30);
  return message;
}

TEST_F(CollectivesTest, MissingPeerFailsRendezvousWithinTheTimeout) {
  // One wait for the whole rendezvous, not one per phase: a 6 s timeout
  // ends in about 6 s (it took 2 x 6 s and more before).
  auto start = std::chrono::steady_clock::now();
  std::string message = errorOf([] {
    Communicator::connect(rankEnv(0, 2, freePort()), at::kCPU,
                          std::chrono::seconds(6));
  });
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  EXPECT_GE(seconds, 5.5);
  EXPECT_LT(seconds, 10);
  EXPECT_NE(message.find("rank 0 of 2 at 127.0.0.1:"), std::string::npos)
      << message;
  EXPECT_NE(message.find("(are all 2 processes started, and is the port "
                         "free?)"),
            std::string::npos)
      << message;
}

TEST_F(CollectivesTest, DeadPeerFailsTheCollectiveInsteadOfHanging) {
  int port = freePort();
  std::promise<void> connected;
  auto peer = std::async(std::launch::async, [&] {
    auto comm = Communicator::connect(rankEnv(1, 2, port), at::kCPU,
                                      std::chrono::seconds(30));
    connected.set_value();
    // Leaves without taking part: its connections close.
  });
  auto comm = Communicator::connect(rankEnv(0, 2, port), at::kCPU,
                                    std::chrono::seconds(5));
  connected.get_future().wait();
  peer.get();
  std::string message = errorOf([&] {
    std::vector<at::Tensor> t{at::ones({8})};
    comm->allReduceSum(t, "gradients");
  });
  EXPECT_NE(
      message.find("data parallel: summing of gradients failed on rank 0"),
      std::string::npos)
      << message;
}

TEST_F(CollectivesTest, ProcessesOfDifferentJobsEndWithOneError) {
  int port = freePort();
  auto rank = [port](int64_t r, std::string batch) {
    auto comm = Communicator::connect(rankEnv(r, 2, port), at::kCPU,
                                      std::chrono::seconds(30));
    try {
      comm->checkSameJob({{"model", "tiny"}, {"--batch-size", batch}});
    } catch (const std::runtime_error &e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  auto r0 = std::async(std::launch::async, rank, 0, "16");
  auto r1 = std::async(std::launch::async, rank, 1, "32");
  std::string m0 = r0.get(), m1 = r1.get();
  EXPECT_EQ(m0, m1);
  EXPECT_NE(m0.find("data parallel: the processes do not run one job (" +
                    std::to_string(port) + "-"),
            std::string::npos)
      << m0;
  EXPECT_NE(m0.find("rank 1 has --batch-size 32, rank 0 has 16"),
            std::string::npos)
      << m0;

  // The same settings: no error.
  int port2 = freePort();
  auto same = [port2](int64_t r) {
    auto comm = Communicator::connect(rankEnv(r, 2, port2), at::kCPU,
                                      std::chrono::seconds(30));
    comm->checkSameJob({{"model", "tiny"}, {"--batch-size", "16"}});
    return comm->jobId();
  };
  auto s0 = std::async(std::launch::async, same, 0);
  auto s1 = std::async(std::launch::async, same, 1);
  std::string id = s0.get();
  EXPECT_EQ(id, s1.get());
  EXPECT_EQ(id.rfind(std::to_string(port2) + "-", 0), 0u) << id;
}

TEST_F(CollectivesTest, AStrayRankOfAnotherJobIsRefused) {
  int port = freePort();
  std::promise<void> joined, done;
  std::shared_future<void> finished = done.get_future().share();
  auto member = [&, port](int64_t r) {
    auto comm = Communicator::connect(rankEnv(r, 2, port), at::kCPU,
                                      std::chrono::seconds(30));
    if (r == 1)
      joined.set_value();
    finished.wait(); // the job runs on while the stray knocks
  };
  auto m0 = std::async(std::launch::async, member, 0);
  auto m1 = std::async(std::launch::async, member, 1);
  joined.get_future().wait();
  std::string message = errorOf([port] {
    Communicator::connect(rankEnv(1, 2, port), at::kCPU,
                          std::chrono::seconds(5));
  });
  done.set_value();
  m0.get();
  m1.get();
  EXPECT_NE(message.find("rank 1 is already taken by another process"),
            std::string::npos)
      << message;
}
