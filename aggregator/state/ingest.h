// Ingest: the ZeroMQ ROUTER socket agents connect to (CURVE server, ZAP
// allowlist), decoding, applying to the live model, persisting to the store.
// Runs on the caller's thread; the socket belongs to it.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <zmq.hpp>

#include "http/metrics.h"
#include "rampart/curve.h"
#include "rampart/log.h"
#include "rampart/time.h"
#include "rampart/wire.h"
#include "state/cluster_state.h"
#include "state/resync_backoff.h"
#include "state/store.h"

namespace rampart::aggregator {

// The model shared between the ingest thread (writer) and HTTP (readers).
struct LiveModel {
  mutable std::mutex mu;
  ClusterState state;
  // Nodes the API server stopped listing while their agents stayed silent
  // (EngineRunner decides, after EngineRunnerOptions::departed_grace); the
  // ingest thread, which owns the store, forgets them.
  std::set<std::string> departed;
};

struct IngestOptions {
  std::string bind = "tcp://0.0.0.0:7400";
  int missed_heartbeats = 3;  // as --missed-heartbeats: when an agent counts as silent
  CurveKeyPair server_keys;
  KeyAllowlist allowed_agents;
  int max_batch = 512;  // messages per store transaction
  // ...and at most this long: the other writers (findings history, hooks,
  // alerts) wait for it at the store's write gate.
  std::chrono::milliseconds max_transaction{200};
  // What one frame may declare (--max-pods-per-report and friends).
  wire::DecodeLimits limits;
  int queue_per_agent = 64;  // --ingest-queue-per-agent: frames queued per connection
  // --resync-backoff-max-seconds: the longest wait between two resync asks of
  // one node whose full report has not been applied (resync_backoff.h).
  std::chrono::milliseconds resync_backoff_max{30'000};
  // report_events older than this are deleted, checked once per prune period.
  std::chrono::hours event_retention{24 * 7};
  std::chrono::minutes prune_period{60};
  // Stamps every message and decides pruning and forgetting (rampart/time.h).
  MillisClock clock = unixMillisNow;
};

class Ingest {
 public:
  Ingest(zmq::context_t& context, IngestOptions options, LiveModel& model, Store* store,
         Metrics& metrics, Logger log);
  ~Ingest();
  Ingest(const Ingest&) = delete;
  Ingest& operator=(const Ingest&) = delete;

  // Binds; returns the endpoint actually bound (port resolved).
  Result<std::string> bind();
  void run(const std::atomic<bool>& stop);

  uint64_t denied() const;

 private:
  enum class Received { kNothing, kMessage, kMalformed, kTerminated };
  // One message off the socket, without waiting.
  Received receive(zmq::message_t& routing_id, zmq::message_t& payload);
  void handle(zmq::message_t& routing_id, zmq::message_t& payload, int64_t now_ms);
  void refuseFrame(const Error& e, const std::string& agent);
  void askResync(zmq::message_t& routing_id, const std::string& node, const std::string& reason);
  void noteApplied(const ApplyOutcome& outcome, const std::string& agent);
  void drainMonitor();
  void persist(const ApplyOutcome& outcome, uint64_t sequence, int64_t now_ms);
  void pruneHistory(int64_t now_ms);
  void forgetDeparted(int64_t now_ms);

  IngestOptions options_;
  LiveModel& model_;
  Store* store_;
  Metrics& metrics_;
  Logger log_;
  RateLimiter limiter_;
  ResyncBackoff resync_backoff_;
  std::unique_ptr<ZapAuthenticator> zap_;
  zmq::socket_t socket_;
  // socket_'s failed handshakes (no CURVE, a wrong server key, a protocol
  // error), as ZeroMQ's socket monitor reports them; ZAP refusals are
  // counted by the authenticator.
  zmq::socket_t monitor_;
  bool in_transaction_ = false;
  std::chrono::steady_clock::time_point transaction_began_;
  int64_t next_prune_ms_ = 0;
};

}  // namespace rampart::aggregator
