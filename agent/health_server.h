// The agent's health endpoint for the kubelet's probes (--health-listen,
// docs/agent.md "Health endpoint"): GET /healthz (liveness) and GET /readyz
// (readiness), each answering 200 or 503 with a small JSON body. A plain
// socket and one thread, one request per connection (HTTP/1.0 style): the
// agent runs on every node and its footprint counts (docs/benchmarks.md).
//
// Liveness says only whether the agent's own loop is making progress: an
// unreachable aggregator or API server must never make the kubelet restart
// every agent of the cluster at once. Readiness adds that the node's pods
// have been listed, so a fresh agent is ready once its reports are complete.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "rampart/error.h"
#include "rampart/log.h"

namespace rampart::agent {

// What the verdicts are made from; all times on one monotonic clock, in ms.
struct HealthInputs {
  int64_t now_ms = 0;
  int64_t started_ms = 0;
  int64_t last_interval_ms = 0;  // 0: no interval completed yet
  int64_t interval_ms = 1000;
  uint64_t intervals = 0;
  bool pods_synced = false;
  uint64_t links = 0;            // aggregator endpoints
  uint64_t links_connected = 0;  // endpoints that took the last message (informative)
};

struct HealthVerdict {
  bool live = false;
  bool ready = false;
  std::string reason;  // why not live / not ready; empty when both hold
  std::string json;    // the body: verdicts and the inputs behind them
};

// The loop is stuck when no interval completed for max(10 intervals, 30 s)
// (counted from the start until the first one).
int64_t stallLimitMs(int64_t interval_ms);
HealthVerdict judgeHealth(const HealthInputs& in);

class HealthServer {
 public:
  // Listens on HOST:PORT (port 0: any free port) and answers from `inputs`,
  // called on the server's thread for every probe.
  static Result<std::unique_ptr<HealthServer>> start(const std::string& listen,
                                                     std::function<HealthInputs()> inputs,
                                                     const Logger& log);
  ~HealthServer();
  HealthServer(const HealthServer&) = delete;
  HealthServer& operator=(const HealthServer&) = delete;

  int port() const { return port_; }
  void stop();

 private:
  HealthServer() = default;
  void serve();

  std::function<HealthInputs()> inputs_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: stop() wakes the poll
  std::atomic<bool> stop_{false};
  std::thread thread_;
  int port_ = 0;
};

}  // namespace rampart::agent
