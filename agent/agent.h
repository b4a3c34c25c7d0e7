// The agent's reporting loop: samples host health every interval, sends a
// heartbeat every interval, a delta at once when the node's pods change, and a
// full report every N intervals, to each configured aggregator endpoint over
// ZeroMQ DEALER sockets with CURVE.
//
// After a change of the node's pods or of the node itself it re-runs the
// engine's node-local placement checks (node_placement.h) and sends the
// complete set of findings in every report; a changed set is sent at once.
//
// Never blocks on an absent aggregator: a link that cannot take a message now
// (not connected, or its small queue is full) drops it, counts the drop, and
// gets hello + a full report as soon as it can take one again (latest state
// wins; memory stays bounded by ZMQ_SNDHWM per link).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "host_health.h"
#include "pod_watcher.h"
#include "probes.h"
#include "rampart/curve.h"
#include "rampart/log.h"
#include "rampart/time.h"
#include "rampart/wire.h"

namespace rampart::agent {

struct AgentConfig {
  std::string node_name;
  std::vector<std::string> aggregator_endpoints;  // tcp://host:port
  std::string aggregator_public_key;              // Z85
  CurveKeyPair keys;                              // the agent's own key pair
  std::chrono::milliseconds interval{1000};
  uint32_t full_every = 30;           // a full report every N intervals
  int send_hwm = 4;                   // messages queued per link at most
  uint64_t exit_after_intervals = 0;  // 0 = run until stopped (benchmarks set it)
};

struct LinkStats {
  std::string endpoint;
  uint64_t sent = 0;
  uint64_t dropped = 0;  // could not be queued: peer absent or queue full
  uint64_t resyncs = 0;  // resync requests received from the aggregator
  bool needs_full = true;
};

struct AgentStats {
  uint64_t intervals = 0;
  uint64_t full_reports = 0;
  uint64_t deltas = 0;
  uint64_t heartbeats = 0;
  uint64_t health_failures = 0;
  uint64_t placement_evaluations = 0;   // node-local placement check runs
  uint64_t placement_findings = 0;      // findings of the last run
  int64_t last_interval_steady_ms = 0;  // steady clock, when the last interval completed
  std::vector<LinkStats> links;
};

class Agent {
 public:
  Agent(AgentConfig config, zmq::context_t& context, HostHealthCollector& health, PodSource& pods,
        Logger log);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Runs until `stop` is set (or exit_after_intervals passed). Thread: the
  // caller's; the sockets belong to it.
  void run(const std::atomic<bool>& stop);
  // Wakes the loop early (pods changed, or shutting down). Any thread.
  void notify();

  AgentStats stats() const;

  // Node-local probes (probes.h) whose latest results ride in every report
  // and heartbeat; a flip of a probe's health is reported at once in a delta
  // (the runner's on_change should call notify()). Null (the default): none.
  // Set before run(); the runner must outlive the agent's run().
  void setProbes(const ProbeRunner* probes) { probes_ = probes; }

 private:
  struct Link;
  void tick(bool interval_due);
  wire::NodeIdentity identity() const;
  // Re-runs the node-local placement checks when the pods or the node changed
  // since the last run; true when the findings changed.
  bool evaluatePlacement(bool pods_changed);
  bool sendTo(Link& link, const std::string& frame);
  void drainIncoming(Link& link);

  AgentConfig config_;
  HostHealthCollector& health_;
  PodSource& pods_;
  Logger log_;
  RateLimiter limiter_;
  std::vector<std::unique_ptr<Link>> links_;

  HostHealth last_health_;
  // The node-local placement findings, complete in every report.
  std::vector<wire::PlacementFinding> placement_findings_;
  bool placement_evaluated_ = false;
  uint64_t placement_node_version_ = 0;
  const ProbeRunner* probes_ = nullptr;
  uint64_t probes_version_ = 0;  // ProbeRunner::version() last reported
  uint64_t sequence_ = 0;
  int64_t started_unix_ms_ = 0;
  // The last full report built said the pods were known: when they become
  // known, every link gets a full report at once (schema/README.md, v4).
  bool pods_known_reported_ = false;

  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool woken_ = false;

  mutable std::mutex stats_mu_;
  AgentStats stats_;
};

}  // namespace rampart::agent
