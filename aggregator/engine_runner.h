// The resilience engine run live: a thread that re-reads the API objects
// every resync period, assembles a snapshot from them and the agents' model,
// evaluates it whenever either changed (at most once per engine interval) and
// publishes the report for /api/v1/audit and the metrics.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "ingest.h"
#include "metrics.h"
#include "rampart/engine.h"
#include "rampart/k8s_objects.h"
#include "rampart/kube_client.h"
#include "rampart/log.h"

namespace rampart::aggregator {

// The latest report, swapped whole. Thread-safe.
class LatestReport {
 public:
  std::shared_ptr<const engine::Report> get() const;
  void set(std::shared_ptr<const engine::Report> report);

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const engine::Report> report_;
};

// Nodes that have an agent record whose agent is disconnected (agentConnected
// false), sorted.
std::set<std::string> silentNodes(const ClusterState& state, int64_t now_ms, int missed_heartbeats);

// The snapshot the aggregator evaluates, at `now_ms` (aggregator clock).
// With `api` (the last good API read):
//  - nodes, controllers, PDBs, HPAs, Services, namespaces, volumes and Velero
//    objects come from the API read;
//  - pods of a node that has an agent record come from the agent's reports
//    (fresher than the relist, and what the agent saw last when it went
//    silent); pods of the other nodes (no agent there, or not scheduled yet)
//    come from the API read; agent records of nodes the API no longer lists
//    are ignored;
//  - silent_nodes = the API's nodes whose agent is disconnected.
// Without `api`: the agents' nodes and pods alone, `partial` set and a warning
// that controllers, PDBs and the other API objects are unknown.
engine::Snapshot assembleSnapshot(const ClusterState& state, const k8s::Objects* api,
                                  int64_t now_ms, int missed_heartbeats);

struct EngineRunnerOptions {
  // Set: read the API objects with these credentials (--kubeconfig, --in-cluster).
  std::optional<KubeCredentials> credentials;
  std::chrono::milliseconds api_resync{10000};
  std::chrono::milliseconds engine_interval{1000};
  std::chrono::milliseconds request_timeout{10000};
  int missed_heartbeats = 3;
  engine::Options engine;
};

// Owns one thread between start() and stop() (or destruction). The API client
// lives on that thread. A failed API read bumps rampart_api_errors_total, logs
// a rate-limited warning and keeps the last good objects.
class EngineRunner {
 public:
  EngineRunner(EngineRunnerOptions options, LiveModel& model, Metrics& metrics,
               LatestReport& latest, Logger log);
  ~EngineRunner();
  EngineRunner(const EngineRunner&) = delete;
  EngineRunner& operator=(const EngineRunner&) = delete;

  void start();
  void stop();

 private:
  void run();
  void readApi(KubeClient& client);
  void evaluate(int64_t now_ms);

  EngineRunnerOptions options_;
  LiveModel& model_;
  Metrics& metrics_;
  LatestReport& latest_;
  Logger log_;
  RateLimiter limiter_;

  // Used by the runner's thread only.
  std::optional<k8s::Objects> api_;
  uint64_t api_generation_ = 0;

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace rampart::aggregator
