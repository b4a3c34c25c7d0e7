// Node-local probes (docs/agent.md "Probes"): the agent checks the
// kubelet's health endpoint, the API server from the node, and the operator's
// HTTP and TCP probes every interval, on a thread of their own so that a slow
// target never stalls the report loop. The latest results ride in every
// report and heartbeat (wire version 3).
//
// HTTP is Rampart's own client (net_stream.h, http_wire.h; no libcurl: the
// agent runs on every node, docs/architecture.md): one connection per
// attempt, the status line decides, the body is not read. TCP is a
// non-blocking connect with a deadline.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "rampart/error.h"
#include "rampart/kube_client.h"
#include "rampart/log.h"
#include "rampart/probes.h"

namespace rampart::agent {

// One probe to run. `target` is a URL (http://, https://) for the kubelet,
// API server and HTTP probes and HOST:PORT for TCP probes.
struct ProbeSpec {
  std::string name;
  ProbeKind kind = ProbeKind::kHttp;
  std::string target;
  std::chrono::milliseconds timeout{1000};
  // HTTP kinds: the status range counted as healthy, inclusive.
  int status_min = 200;
  int status_max = 399;
  bool insecure_skip_tls_verify = false;  // https targets of operator probes only
  bool operator==(const ProbeSpec&) const = default;
};

inline constexpr std::chrono::milliseconds kMaxProbeTimeout{30000};

// Operator probes from a --probe-config file (YAML, docs/agent.md):
//   probes:
//     - {name: web, type: http, url: "http://10.0.0.7:8080/healthz", timeoutMs: 500,
//        expectStatus: "200-299"}
//     - {name: db, type: tcp, address: "10.0.0.5:5432", timeoutMs: 1000}
// kConfig/kParse with the offending entry on anything unknown or invalid.
Result<std::vector<ProbeSpec>> parseProbeConfig(std::string_view yaml);

// One --probe flag: NAME=http://..., NAME=https://... or NAME=tcp://HOST:PORT
// (timeout 1 s, HTTP status 200-399).
Result<ProbeSpec> parseProbeFlag(std::string_view flag);

// Names are 1-63 characters of [a-z0-9._-] and unique ("kubelet" and
// "apiserver" are the built-in probes' names); targets parse; timeouts are
// within 1 ms .. 30 s; status ranges within 100..599.
Result<void> validateProbes(const std::vector<ProbeSpec>& probes);

// Everything the agent runs: the built-in probes, then those of the
// --probe-config file (empty path: none), then the --probe flags; the names
// unique across all. kConfig/kParse/kIo naming the culprit.
Result<std::vector<ProbeSpec>> loadProbes(const std::string& kubelet_url,
                                          const std::optional<KubeCredentials>& creds,
                                          const std::string& apiserver_path,
                                          const std::string& config_path,
                                          const std::vector<std::string>& flags);

// One attempt's outcome.
struct ProbeAttempt {
  bool ok = false;
  double latency_ms = 0;
  std::string error;  // empty when ok
};

// The I/O seam: runs one attempt of a probe, bounded by its timeout. Called
// from the runner's thread only.
class ProbeExecutor {
 public:
  virtual ~ProbeExecutor() = default;
  virtual ProbeAttempt run(const ProbeSpec& spec, const std::atomic<bool>& stop) = 0;
};

// The real thing: sockets and OpenSSL. The API server probe (kind apiserver)
// sends the agent's own credentials (bearer token, client certificate, CA);
// the other HTTP probes send none.
class NetProbeExecutor : public ProbeExecutor {
 public:
  explicit NetProbeExecutor(std::optional<KubeCredentials> apiserver_credentials = std::nullopt);
  ~NetProbeExecutor() override;
  ProbeAttempt run(const ProbeSpec& spec, const std::atomic<bool>& stop) override;

 private:
  struct Tls;
  std::optional<KubeCredentials> creds_;
  std::map<std::string, std::unique_ptr<Tls>> tls_;  // by probe name, made on first use
};

// The built-in probes: the kubelet's health endpoint (`kubelet_url` empty:
// none) and the API server at `apiserver_path` of the credentials' server
// (empty path or no credentials: none).
std::vector<ProbeSpec> builtinProbes(const std::string& kubelet_url,
                                     const std::optional<KubeCredentials>& creds,
                                     const std::string& apiserver_path);

// Runs the probes one after the other every `interval` (a cycle that overran
// starts the next at once) on its own thread between start() and stop(), and
// keeps each probe's latest result. Thread-safe.
class ProbeRunner {
 public:
  // `on_change` (any thread; must not block) is called when a probe's health
  // flips or its first result arrives, so that the agent reports at once.
  ProbeRunner(std::vector<ProbeSpec> probes, std::unique_ptr<ProbeExecutor> executor,
              std::chrono::milliseconds interval, Logger log,
              std::function<void()> on_change = nullptr);
  ~ProbeRunner();
  ProbeRunner(const ProbeRunner&) = delete;
  ProbeRunner& operator=(const ProbeRunner&) = delete;

  void start();
  void stop();

  // One cycle on the caller's thread (the thread's body; tests call it).
  void runOnce();

  // The latest result of each probe that has run, in configuration order.
  std::vector<ProbeResult> results() const;
  // Bumped whenever a probe's health flips or its first result arrives.
  uint64_t version() const;
  const std::vector<ProbeSpec>& probes() const { return probes_; }

 private:
  void loop();

  const std::vector<ProbeSpec> probes_;
  std::unique_ptr<ProbeExecutor> executor_;
  const std::chrono::milliseconds interval_;
  Logger log_;
  std::function<void()> on_change_;

  mutable std::mutex mu_;
  std::vector<std::optional<ProbeResult>> results_;  // guarded by mu_, index = probes_ index
  uint64_t version_ = 0;                             // guarded by mu_

  std::atomic<bool> stop_{false};
  std::mutex wake_mu_;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace rampart::agent
