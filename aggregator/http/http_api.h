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
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "http/http_server.h"
#include "http/metrics.h"
#include "rampart/log.h"
#include "state/engine_runner.h"
#include "state/ingest.h"

namespace rampart::aggregator {

struct HttpOptions {
  std::string host = "0.0.0.0";
  int port = 7401;  // 0 = ephemeral
  int missed_heartbeats = 3;
  std::string cluster;
  // Connection, head and worker limits (host and port are taken from above).
  HttpServerOptions server;
  // Pods in one /api/v1/pods page: the default, and the most a ?limit= gets.
  size_t pods_page = 500;
  size_t pods_page_max = 5000;
};

// Renders the JSON documents of the API; pure, for tests and the server.
std::string nodesJson(const ClusterState& state, int64_t now_ms, int missed_heartbeats);
// /api/v1/pods, paged: the pods of the model in node and uid order, after
// the position a continue token names. The page is copied under the model's
// lock and rendered after it (podsPageJson), so a big answer does not hold
// ingest or /metrics.
struct PodsQuery {
  std::string node;        // empty: every node
  std::string namespace_;  // empty: every namespace
  std::string after_node, after_uid;
  size_t limit = 500;
};
// ?node=, ?namespace=, ?limit= (1..max_limit, default_limit when absent),
// ?continue= (from a previous page). kConfig with the reason for a 400.
Result<PodsQuery> podsQuery(const std::multimap<std::string, std::string>& params,
                            size_t default_limit, size_t max_limit);
struct PodsPage {
  std::vector<Pod> pods;
  std::string next;  // the continue token of the next page; empty on the last
};
PodsPage podsPage(const ClusterState& state, const PodsQuery& query);
std::string podsPageJson(const PodsPage& page);
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
  // A JSON POST route (the Alertmanager webhook). `authorize` sees the
  // Authorization header before any of the body is read: a reply from it is
  // sent as is, the body never read, the connection closed. Then `handler`
  // gets the body, read up to `max_body` bytes; a longer body is not read on
  // (`too_large`, the body empty, the connection closed).
  struct PostRequest {
    std::string authorization;
    std::string body;
    bool too_large = false;
  };
  using PostAuthorize = std::function<std::optional<JsonReply>(std::string_view authorization)>;
  using PostRoute = std::function<JsonReply(const PostRequest& request)>;
  void addPostRoute(const std::string& path, size_t max_body, PostAuthorize authorize,
                    PostRoute handler);

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
  prometheus::Family<prometheus::Counter>& refused_;
  std::map<std::string, prometheus::Counter*, std::less<>> refused_by_reason_;
  HttpServer server_;

  void refused(std::string_view reason);
};

}  // namespace rampart::aggregator
