// The aggregator's etcd and API-server prober (docs/etcd.md): a thread that
// probes the configured etcd endpoints (and members found in their member
// list), the snapshot directory or marker, and the API-server instances every
// interval, keeps the leader-change window, publishes the latest
// engine::EtcdObservation for the engine runner, and its own metrics:
// rampart_etcd_members{state}, rampart_etcd_has_leader,
// rampart_etcd_leader_changes_window, rampart_etcd_probe_errors_total{endpoint},
// rampart_etcd_snapshot_age_seconds, rampart_apiserver_instances{state}.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "etcd/etcd.h"
#include "rampart/engine.h"
#include "rampart/kube_client.h"
#include "rampart/log.h"

namespace rampart::aggregator {

struct EtcdMonitorOptions {
  std::vector<std::string> etcd_endpoints;   // --etcd-endpoint: http(s)://HOST:PORT
  etcd::TlsFiles tls;                        // --etcd-cacert, --etcd-cert, --etcd-key
  std::chrono::milliseconds interval{1000};  // --etcd-interval-ms
  // Per request; a hung member costs one timeout per round.
  std::chrono::milliseconds timeout{1000};
  std::filesystem::path snapshot_dir;            // --etcd-snapshot-dir
  std::filesystem::path snapshot_marker;         // --etcd-snapshot-marker
  std::vector<std::string> apiserver_endpoints;  // --apiserver-endpoint
  // Credentials for /readyz (the kubeconfig's CA, token or client
  // certificate; the server is replaced by each endpoint). Unset: no auth,
  // the system trust store.
  std::optional<KubeCredentials> apiserver_credentials;
  std::chrono::seconds leader_window{600};
  // The engine's etcd_snapshot_max_age_seconds: a snapshot crossing it is a
  // change (re-evaluation) although nothing else moved.
  int64_t snapshot_max_age_seconds = int64_t{24} * 3600;
  std::string cluster = "default";  // the metrics' cluster label
};

// Thread-safe: latest() and generation() may be called from any thread.
class EtcdMonitor {
 public:
  // kConfig when the TLS files cannot be loaded.
  static Result<std::unique_ptr<EtcdMonitor>> create(EtcdMonitorOptions options,
                                                     prometheus::Registry& registry, Logger log);
  ~EtcdMonitor();
  EtcdMonitor(const EtcdMonitor&) = delete;
  EtcdMonitor& operator=(const EtcdMonitor&) = delete;

  void start();
  void stop();

  // One round now, on the caller's thread (tests; run() calls it too).
  void probeOnce();

  // The latest observation (nullopt before the first round), and a counter
  // that moves whenever it changes (beyond its observed_at_unix).
  std::optional<engine::EtcdObservation> latest() const;
  uint64_t generation() const { return generation_.load(); }

 private:
  EtcdMonitor(EtcdMonitorOptions options, std::unique_ptr<etcd::HttpClient> client,
              prometheus::Registry& registry, Logger log);
  void run();
  void snapshotAge(engine::EtcdObservation& o, int64_t now_unix);
  void apiservers(engine::EtcdObservation& o);
  void publish(engine::EtcdObservation o, int64_t now_unix);

  EtcdMonitorOptions options_;
  std::unique_ptr<etcd::HttpClient> client_;
  Logger log_;
  RateLimiter limiter_;
  // The prober's thread only (or probeOnce's caller).
  etcd::ProbeMemory memory_;
  etcd::LeaderChangeWindow window_;
  std::map<std::string, std::unique_ptr<KubeClient>> apiserver_clients_;

  prometheus::Family<prometheus::Gauge>& members_;
  prometheus::Gauge& members_healthy_;
  prometheus::Gauge& members_down_;
  prometheus::Gauge& has_leader_;
  prometheus::Gauge& leader_changes_;
  prometheus::Family<prometheus::Counter>& probe_errors_;
  prometheus::Family<prometheus::Gauge>& snapshot_age_;
  prometheus::Gauge* snapshot_age_gauge_ = nullptr;
  prometheus::Family<prometheus::Gauge>& apiserver_instances_;
  prometheus::Gauge& apiserver_healthy_;
  prometheus::Gauge& apiserver_unhealthy_;

  mutable std::mutex mu_;
  std::optional<engine::EtcdObservation> latest_;  // guarded by mu_
  bool latest_stale_ = false;                      // guarded by mu_
  bool stopping_ = false;                          // guarded by mu_
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  std::thread thread_;
};

// The command-line flags (docs/etcd.md), registered by addEtcdFlags on
// main()'s CLI11 app.
struct EtcdFlags {
  std::vector<std::string> endpoints, apiservers;
  std::string cacert, cert, key, snapshot_dir, snapshot_marker;
  int interval_ms = 1000;
  int snapshot_max_age_hours = 24;
};

template <class App>
void addEtcdFlags(App& app, EtcdFlags& f) {
  app.add_option("--etcd-endpoint", f.endpoints,
                 "probe this etcd client URL (repeatable; docs/etcd.md)");
  app.add_option("--etcd-cacert", f.cacert, "CA bundle that signed the etcd server certificates");
  app.add_option("--etcd-cert", f.cert, "client certificate for etcd (with --etcd-key)");
  app.add_option("--etcd-key", f.key, "client key for etcd");
  app.add_option("--etcd-interval-ms", f.interval_ms, "probe etcd and the API servers this often");
  app.add_option("--etcd-snapshot-dir", f.snapshot_dir,
                 "directory etcdctl snapshot save writes to: the newest file's age");
  app.add_option("--etcd-snapshot-marker", f.snapshot_marker,
                 "file touched after each successful snapshot: its age");
  app.add_option("--etcd-snapshot-max-age-hours", f.snapshot_max_age_hours,
                 "etcd.snapshot-stale above this age");
  app.add_option("--apiserver-endpoint", f.apiservers,
                 "probe this API server instance's /readyz (repeatable)");
}

// The prober the flags ask for, or null when they ask for none. Sets the
// engine's snapshot age limit. kConfig for contradictory flags or
// unreadable certificates.
Result<std::unique_ptr<EtcdMonitor>> makeEtcdMonitor(
    const EtcdFlags& flags, const std::string& cluster,
    const std::optional<KubeCredentials>& apiserver_credentials, engine::Options& engine,
    prometheus::Registry& registry, Logger log);

}  // namespace rampart::aggregator
