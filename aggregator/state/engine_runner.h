// The resilience engine run live: a thread that evaluates a snapshot assembled
// from the agents' model and the API objects (kept current by list+watch,
// rampart/object_cache.h) whenever either changed (at most once per engine
// interval), and publishes the report for /api/v1/audit and the metrics.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "http/metrics.h"
#include "rampart/engine.h"
#include "rampart/engine_incremental.h"
#include "rampart/k8s_objects.h"
#include "rampart/kube_client.h"
#include "rampart/log.h"
#include "rampart/object_cache.h"
#include "rampart/time.h"
#include "state/ingest.h"

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
// The same, taking the API objects (a fresh ObjectCache::objects() copy) by
// value so that they are not copied again.
engine::Snapshot assembleSnapshot(const ClusterState& state, std::optional<k8s::Objects> api,
                                  int64_t now_ms, int missed_heartbeats);

// When the runner evaluates: whenever what it watches changed (the agents'
// model, the API objects, whether they are synced, the etcd observation, the
// set of silent nodes) and, while a node is silent, once a second (its
// findings depend on the clock: its Lease expires); never sooner than
// `interval` after the previous evaluation ended nor sooner than twice that
// evaluation's duration, so the engine takes at most a third of a core however
// fast changes come. Pure: the runner passes what it saw and the time.
class EvaluationGate {
 public:
  struct Seen {
    uint64_t model = 0;  // ClusterState::generation()
    uint64_t api = 0;    // ObjectCache::generation()
    uint64_t etcd = 0;   // EngineRunnerOptions::etcd_generation()
    bool synced = false;
    std::set<std::string> silent;
    bool operator==(const Seen&) const = default;
  };

  explicit EvaluationGate(int64_t interval_ms) : interval_ms_(interval_ms) {}
  // Something changed since the last evaluation, or there was none.
  bool changed(const Seen& seen, int64_t wall_ms) const;
  // changed(), and the throttle lets an evaluation start at `steady_ms`.
  bool due(const Seen& seen, int64_t wall_ms, int64_t steady_ms) const;
  // An evaluation of `seen` at `wall_ms` ended at `ended_steady_ms` after
  // `took_ms`.
  void evaluated(Seen seen, int64_t wall_ms, int64_t ended_steady_ms, int64_t took_ms);
  // How long the runner may sleep at `steady_ms`: `tick_ms`, or less when a
  // change waits for the throttle to open.
  int64_t waitMs(bool changed, int64_t steady_ms, int64_t tick_ms) const;
  // What the last evaluation saw (none before the first).
  const std::optional<Seen>& last() const { return last_; }

 private:
  int64_t interval_ms_;
  std::optional<Seen> last_;
  int64_t last_second_ = 0;  // wall second of the last evaluation
  int64_t next_steady_ms_ = std::numeric_limits<int64_t>::min();
};

// Which agents' nodes left the cluster (scaled down, deleted): a node the API
// server no longer lists whose agent is disconnected, for `grace_ms` in a row.
// Pure.
class DepartedTracker {
 public:
  explicit DepartedTracker(int64_t grace_ms) : grace_ms_(grace_ms) {}
  // `agents`: every node with an agent record, and whether its agent is
  // connected. Returns the nodes that departed as of `now_ms` (again on every
  // call while they stay so).
  std::vector<std::string> update(const std::map<std::string, bool>& agents,
                                  const std::set<std::string>& api_nodes, int64_t now_ms);

 private:
  int64_t grace_ms_;
  std::map<std::string, int64_t> absent_since_;  // node -> first seen departed (ms)
};

struct EngineRunnerOptions {
  // Set: list and watch the API objects with these credentials (--kubeconfig,
  // --in-cluster).
  std::optional<KubeCredentials> credentials;
  // Safety full relist of every kind, even while its watch is healthy
  // (--api-resync-seconds); watch events are what keep the objects current.
  std::chrono::seconds api_resync{300};
  std::chrono::seconds watch_window{300};  // timeoutSeconds of each watch request
  // Minimum gap between two evaluations (--engine-interval-ms). The gap is
  // also at least twice the last evaluation's duration, so the engine takes at
  // most a third of a core however fast changes come (a 150k-pod report takes
  // about 0.5 s to assemble; a small cluster's a millisecond).
  std::chrono::milliseconds engine_interval{200};
  std::chrono::milliseconds request_timeout{10000};
  int missed_heartbeats = 3;
  // A node the API server no longer lists whose agent is silent for this long
  // left the cluster (scaled down, deleted): it is forgotten (LiveModel::departed).
  std::chrono::milliseconds departed_grace{60'000};
  engine::Options engine;
  // Called on the runner's thread after every evaluation with the new report
  // and the evaluation time (findings history, alerts, hooks), in order, once
  // the API objects are synced (with credentials). Must not block: hand slow
  // work to the observer's own thread.
  std::vector<std::function<void(const std::shared_ptr<const engine::Report>&, int64_t now_ms)>>
      on_report;
  // The etcd / API-server prober's latest observation (etcd_monitor.h) and a
  // counter that moves whenever it changes (an evaluation follows). Unset:
  // no live etcd checks.
  std::function<std::optional<engine::EtcdObservation>()> etcd_source;
  std::function<uint64_t()> etcd_generation;
  // The clocks the runner decides by (rampart/time.h): the wall clock stamps
  // snapshots and decides silence, the monotonic one throttles.
  MillisClock wall_clock = unixMillisNow;
  MillisClock steady_clock = steadyMillisNow;
};

// Owns one thread between start() and stop() (or destruction), plus the
// ObjectCache's threads (one per watched kind) when credentials are set. A
// failed list or watch request bumps rampart_api_errors_total, logs a
// rate-limited warning and keeps the objects known so far; until every kind
// has been listed once the agents' view is evaluated alone (partial).
class EngineRunner {
 public:
  EngineRunner(EngineRunnerOptions options, LiveModel& model, Metrics& metrics,
               LatestReport& latest, Logger log);
  ~EngineRunner();
  EngineRunner(const EngineRunner&) = delete;
  EngineRunner& operator=(const EngineRunner&) = delete;

  void start();
  // Cancels an evaluation in progress (engine::Cancelled: nothing of it is
  // published), then joins the runner's and the object cache's threads.
  void stop();

 private:
  void run();
  void evaluate(int64_t now_ms);
  // With model_.mu held: silent agents of nodes the API no longer lists go to
  // model_.departed once absent for options_.departed_grace.
  void noteDeparted(const std::set<std::string>& api_nodes, int64_t now_ms);

  EngineRunnerOptions options_;
  LiveModel& model_;
  Metrics& metrics_;
  DepartedTracker departed_;
  LatestReport& latest_;
  Logger log_;

  engine::Incremental incremental_;          // the runner's thread only
  std::unique_ptr<k8s::ObjectCache> cache_;  // set between start() and stop() with credentials

  std::stop_source cancel_;  // requested by stop(): cancels an evaluation in progress
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace rampart::aggregator
