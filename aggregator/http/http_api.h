// The aggregator's HTTP endpoint: /metrics (Prometheus text), /healthz,
// /readyz, /api/v1/nodes, /api/v1/pods, /api/v1/audit, /api/v1/findings,
// /api/v1/score, /api/v1/whatif, /api/v1/workloads/NS/NAME (docs/api.md;
// the live views are rendered in live_api.h). Serves from a thread pool
// of its own; reads the live model under its mutex.
#pragma once

#include <prometheus/registry.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "http/metrics.h"
#include "rampart/log.h"
#include "state/engine_runner.h"
#include "state/ingest.h"

namespace httplib {
class Server;
}

namespace rampart::aggregator {

struct HttpOptions {
  std::string host = "0.0.0.0";
  int port = 7401;  // 0 = ephemeral
  int missed_heartbeats = 3;
  std::string cluster;
};

// Renders the JSON documents of the API; pure, for tests and the server.
std::string nodesJson(const ClusterState& state, int64_t now_ms, int missed_heartbeats);
std::string podsJson(const ClusterState& state, const std::string& node_filter,
                     const std::string& namespace_filter);
// {"findings": [...]}: the report's findings (engine::findingToJson, in report
// order) whose check id starts with `check_prefix` and whose subject or
// workload is in `namespace_filter`; empty filters match everything.
std::string findingsJson(const engine::Report& report, const std::string& check_prefix,
                         const std::string& namespace_filter);

class HttpApi {
 public:
  // `reports` is where the engine runner publishes; it must outlive this.
  HttpApi(HttpOptions options, LiveModel& model, prometheus::Registry& registry, Metrics& metrics,
          const LatestReport& reports, std::function<bool()> ready, Logger log);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // A JSON GET route served by another module (findings history, hook runs,
  // alerts): `handler` gets the query parameters and returns the HTTP status
  // and body. Register before start().
  struct JsonReply {
    int status = 200;
    std::string body;
  };
  using JsonRoute = std::function<JsonReply(const std::map<std::string, std::string>& params)>;
  void addJsonRoute(const std::string& path, JsonRoute handler);
  // A JSON POST route (the Alertmanager webhook): `handler` gets the
  // Authorization header and the body, read up to `max_body` bytes; a longer
  // body is not read on (`too_large`, the body empty, the connection closed).
  struct PostRequest {
    std::string authorization;
    std::string body;
    bool too_large = false;
  };
  using PostRoute = std::function<JsonReply(const PostRequest& request)>;
  void addPostRoute(const std::string& path, size_t max_body, PostRoute handler);

  // Binds and starts serving; returns the bound port.
  Result<int> start();
  void stop();

 private:
  HttpOptions options_;
  LiveModel& model_;
  prometheus::Registry& registry_;
  Metrics& metrics_;
  const LatestReport& reports_;
  std::function<bool()> ready_;
  Logger log_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> listen_returned_{false};  // the listening thread's loop ended
};

}  // namespace rampart::aggregator
