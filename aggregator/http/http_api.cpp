#include "http/http_api.h"

#include <httplib.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "http/live_api.h"
#include "rampart/engine_json.h"
#include "rampart/text.h"
#include "rampart/time.h"

namespace rampart::aggregator {
namespace {

using nlohmann::json;

// Every reason HttpServer counts (http_server.h), present from the start.
constexpr const char* kRefusedReasons[] = {
    "head_timeout", "head_too_large",  "too_many_headers",
    "bad_request",  "max_connections", "max_connections_per_peer",
    "busy",         "io_timeout"};

HttpServerOptions serverOptions(const HttpOptions& o) {
  HttpServerOptions s = o.server;
  s.host = o.host;
  s.port = o.port;
  return s;
}

std::string_view stateName(ContainerState s) {
  switch (s) {
    case ContainerState::kWaiting:
      return "waiting";
    case ContainerState::kRunning:
      return "running";
    case ContainerState::kTerminated:
      return "terminated";
    case ContainerState::kUnknown:
      break;
  }
  return "unknown";
}

std::string dump(const json& j) {
  // Strings from agents may hold invalid UTF-8: replace rather than throw.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void noReportYet(httplib::Response& res) {
  res.status = 404;
  res.set_content(dump(json{{"error", "no evaluation yet: the engine has not run"}}),
                  "application/json");
}

json labelsJson(const Labels& labels) {
  json j = json::object();
  for (const auto& [k, v] : labels) j[k] = v;
  return j;
}

nlohmann::ordered_json agentFindingJson(const std::string& node, const AgentFinding& f) {
  nlohmann::ordered_json j;
  j["node"] = node;
  j["check"] = f.check;
  j["severity"] = std::string(engine::severityName(f.severity));
  j["hard"] = f.hard;
  if (f.workload) {
    j["workload"] = {{"kind", f.workload->kind},
                     {"namespace", f.workload->namespace_},
                     {"name", f.workload->name}};
  } else {
    j["workload"] = nullptr;
  }
  j["pods"] = f.pods;
  j["details"] = f.details;
  j["message"] = f.message;
  j["remediation"] = f.remediation;
  return j;
}

// GET /api/v1/agent-findings: every node's node-local placement findings, by
// node, in the order its agent sent them; `node` and `check` (a prefix)
// filter.
std::string agentFindingsJson(const ClusterState& state, const std::string& node_filter,
                              const std::string& check_prefix) {
  nlohmann::ordered_json findings = nlohmann::ordered_json::array();
  for (const auto& [name, rec] : state.nodes()) {
    if (!node_filter.empty() && name != node_filter) continue;
    for (const auto& f : rec.placement_findings) {
      if (f.check.starts_with(check_prefix)) findings.push_back(agentFindingJson(name, f));
    }
  }
  nlohmann::ordered_json doc = nlohmann::ordered_json::object();
  doc["findings"] = std::move(findings);
  return dump(doc);
}

// A node's latest probe results as its agent reported them (docs/api.md).
json probeResultsJson(const std::vector<ProbeResult>& results) {
  json out = json::array();
  for (const auto& r : results) {
    out.push_back({{"name", r.name},
                   {"kind", probeKindName(r.kind)},
                   {"target", r.target},
                   {"ok", r.ok},
                   {"latencyMs", r.latency_ms},
                   {"error", r.error},
                   {"checkedAtMs", r.checked_at_ms},
                   {"consecutiveFailures", r.consecutive_failures}});
  }
  return out;
}

// Query parameters, the first of repeated keys.
QueryParams paramsOf(const httplib::Request& req) {
  QueryParams params;
  for (const auto& [k, v] : req.params) params.emplace(k, v);
  return params;
}

}  // namespace

std::string nodesJson(const ClusterState& state, int64_t now_ms, int missed_heartbeats) {
  json nodes = json::array();
  for (const auto& [name, rec] : state.nodes()) {
    const Node& n = rec.identity.node;
    json taints = json::array();
    for (const auto& t : n.taints) {
      taints.push_back({{"key", t.key}, {"value", t.value}, {"effect", t.effect}});
    }
    json conditions = json::array();
    for (const auto& c : n.conditions) {
      conditions.push_back({{"type", c.type}, {"status", c.status}, {"reason", c.reason}});
    }
    json filesystems = json::array();
    for (const auto& f : rec.health.filesystems) {
      filesystems.push_back({{"mountPoint", f.mount_point},
                             {"sizeBytes", f.size_bytes},
                             {"availBytes", f.avail_bytes},
                             {"files", f.files},
                             {"filesFree", f.files_free}});
    }
    json health = {{"cpuUsageRatio", rec.health.cpu_usage_ratio},
                   {"cpuCount", rec.health.cpu_count},
                   {"load1", rec.health.load1},
                   {"load5", rec.health.load5},
                   {"load15", rec.health.load15},
                   {"memoryTotalBytes", rec.health.memory_total_bytes},
                   {"memoryAvailableBytes", rec.health.memory_available_bytes},
                   {"uptimeSeconds", rec.health.uptime_seconds},
                   {"filesystems", filesystems}};
    if (rec.health.pressure) {
      const auto& p = *rec.health.pressure;
      health["pressure"] = {{"cpuSomeAvg10", p.cpu_some_avg10},
                            {"memorySomeAvg10", p.memory_some_avg10},
                            {"memoryFullAvg10", p.memory_full_avg10},
                            {"ioSomeAvg10", p.io_some_avg10},
                            {"ioFullAvg10", p.io_full_avg10}};
    } else {
      health["pressure"] = nullptr;
    }
    int64_t age_ms = rec.last_message_ms > 0 ? now_ms - rec.last_message_ms : -1;
    bool connected = age_ms >= 0 && age_ms <= int64_t{missed_heartbeats} * rec.interval_ms;
    size_t ready = 0;
    for (const auto& [uid, pod] : rec.pods) ready += pod.ready ? 1 : 0;
    nodes.push_back({{"name", name},
                     {"uid", n.uid},
                     {"zone", n.zone},
                     {"region", n.region},
                     {"controlPlane", n.control_plane},
                     {"unschedulable", n.unschedulable},
                     {"kubeletVersion", n.kubelet_version},
                     {"labels", labelsJson(n.labels)},
                     {"taints", taints},
                     {"conditions", conditions},
                     {"agent",
                      {{"version", rec.identity.agent_version},
                       {"bootId", rec.identity.boot_id},
                       {"identity", rec.agent},
                       {"connected", connected},
                       {"synced", rec.synced},
                       {"podsKnown", !rec.pods_unknown},
                       {"lastMessageAgeSeconds",
                        age_ms >= 0 ? json(static_cast<double>(age_ms) / 1000.0) : json(nullptr)},
                       {"lastSequence", rec.last_sequence},
                       {"intervalMs", rec.interval_ms}}},
                     {"health", health},
                     {"pods", rec.pods.size()},
                     {"podsReady", ready},
                     {"placementFindings", rec.placement_findings.size()},
                     {"probeResults", probeResultsJson(rec.probe_results)}});
  }
  return dump(json{{"nodes", nodes}});
}

Result<PodsQuery> podsQuery(const std::multimap<std::string, std::string>& params,
                            size_t default_limit, size_t max_limit) {
  auto param = [&](const char* key) {
    auto it = params.find(key);
    return it == params.end() ? std::string() : it->second;
  };
  PodsQuery q;
  q.node = param("node");
  q.namespace_ = param("namespace");
  q.limit = default_limit;
  if (const std::string limit = param("limit"); !limit.empty()) {
    const bool digits =
        limit.size() <= 9 && limit.find_first_not_of("0123456789") == std::string::npos;
    const size_t n = digits ? std::stoul(limit) : 0;
    if (n == 0 || n > max_limit) {
      return fail(ErrorCode::kConfig,
                  "limit must be a number from 1 to " + std::to_string(max_limit));
    }
    q.limit = n;
  }
  if (const std::string token = param("continue"); !token.empty()) {
    auto decoded = base64Decode(token);
    const size_t slash = decoded ? decoded->find('/') : std::string::npos;
    if (slash == std::string::npos) {
      return fail(ErrorCode::kConfig, "continue is not a token from a previous page");
    }
    q.after_node = decoded->substr(0, slash);
    q.after_uid = decoded->substr(slash + 1);
  }
  return q;
}

PodsPage podsPage(const ClusterState& state, const PodsQuery& query) {
  PodsPage page;
  const auto& nodes = state.nodes();
  auto node_it = query.node.empty() ? nodes.lower_bound(query.after_node) : nodes.find(query.node);
  for (; node_it != nodes.end(); ++node_it) {
    const auto& [name, rec] = *node_it;
    if (!query.node.empty() && name != query.node) break;
    if (name < query.after_node) continue;
    auto pod_it =
        name == query.after_node ? rec.pods.upper_bound(query.after_uid) : rec.pods.begin();
    for (; pod_it != rec.pods.end(); ++pod_it) {
      const Pod& pod = pod_it->second;
      if (!query.namespace_.empty() && pod.namespace_ != query.namespace_) continue;
      if (page.pods.size() == query.limit) {
        const Pod& last = page.pods.back();
        page.next = base64UrlEncode(last.node_name + "/" + last.uid);
        return page;
      }
      page.pods.push_back(pod);
      page.pods.back().node_name = name;  // the node the agent reported it on
    }
  }
  return page;
}

std::string podsPageJson(const PodsPage& page) {
  json pods = json::array();
  for (const Pod& pod : page.pods) {
    json owners = json::array();
    for (const auto& o : pod.owners) {
      owners.push_back({{"kind", o.kind}, {"name", o.name}, {"inferred", o.inferred}});
    }
    json containers = json::array();
    for (const auto& c : pod.containers) {
      containers.push_back({{"name", c.name},
                            {"init", c.init},
                            {"ready", c.ready},
                            {"restartCount", c.restart_count},
                            {"state", stateName(c.state)},
                            {"reason", c.state_reason},
                            {"lastTerminationReason", c.last_termination_reason},
                            {"probes",
                             {{"readiness", c.probes.readiness},
                              {"liveness", c.probes.liveness},
                              {"startup", c.probes.startup}}}});
    }
    pods.push_back({{"uid", pod.uid},
                    {"namespace", pod.namespace_},
                    {"name", pod.name},
                    {"node", pod.node_name},
                    {"phase", podPhaseName(pod.phase)},
                    {"ready", pod.ready},
                    {"terminating", pod.terminating},
                    {"owners", owners},
                    {"labels", labelsJson(pod.labels)},
                    {"containers", containers}});
  }
  json out = {{"pods", pods}};
  if (!page.next.empty()) out["continue"] = page.next;
  return dump(out);
}

std::string findingsJson(const engine::Report& report, const std::string& check_prefix,
                         const std::string& namespace_filter) {
  FindingsFilter filter;
  filter.check = check_prefix;
  filter.namespace_ = namespace_filter;
  return findingsJson(report, filter);
}

HttpApi::HttpApi(HttpOptions options, LiveModel& model, prometheus::Registry& registry,
                 Metrics& metrics, const LatestReport& reports, std::function<bool()> ready,
                 Logger log)
    : options_(std::move(options)),
      model_(model),
      registry_(registry),
      metrics_(metrics),
      reports_(reports),
      ready_(std::move(ready)),
      log_(std::move(log)),
      refused_(prometheus::BuildCounter()
                   .Name("rampart_http_requests_refused_total")
                   .Help("HTTP connections or requests the aggregator's server refused or "
                         "closed early, by reason (docs/security.md, \"HTTP\").")
                   .Labels({{"cluster", options_.cluster}})
                   .Register(registry_)),
      server_(serverOptions(options_), [this](std::string_view reason) { refused(reason); }) {
  for (const char* reason : kRefusedReasons)
    refused_by_reason_[reason] = &refused_.Add({{"reason", reason}});
  auto& s = server_.routes();
  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  s.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    bool ok = ready_ && ready_();
    res.status = ok ? 200 : 503;
    res.set_content(ok ? "ready\n" : "not ready\n", "text/plain");
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    {
      std::lock_guard lock(model_.mu);
      metrics_.refresh(model_.state, unixMillisNow(), options_.missed_heartbeats);
    }
    prometheus::TextSerializer serializer;
    res.set_content(serializer.Serialize(registry_.Collect()), "text/plain; version=0.0.4");
  });
  s.Get("/api/v1/nodes", [this](const httplib::Request&, httplib::Response& res) {
    std::string body;
    {
      std::lock_guard lock(model_.mu);
      body = nodesJson(model_.state, unixMillisNow(), options_.missed_heartbeats);
    }
    res.set_content(body, "application/json");
  });
  s.Get("/api/v1/pods", [this](const httplib::Request& req, httplib::Response& res) {
    auto query = podsQuery(req.params, options_.pods_page, options_.pods_page_max);
    if (!query) {
      res.status = 400;
      res.set_content(dump(json{{"error", query.error().message}}), "application/json");
      return;
    }
    PodsPage page;
    {
      std::lock_guard lock(model_.mu);
      page = podsPage(model_.state, *query);
    }
    res.set_content(podsPageJson(page), "application/json");
  });
  s.Get("/api/v1/agent-findings", [this](const httplib::Request& req, httplib::Response& res) {
    std::string body;
    {
      std::lock_guard lock(model_.mu);
      body = agentFindingsJson(model_.state, req.get_param_value("node"),
                               req.get_param_value("check"));
    }
    res.set_content(body, "application/json");
  });
  s.Get("/api/v1/audit", [this](const httplib::Request&, httplib::Response& res) {
    auto report = reports_.get();
    if (!report) return noReportYet(res);
    res.set_content(
        engine::dumpReport(*report, -1, nlohmann::ordered_json::error_handler_t::replace),
        "application/json");
  });
  // The live views (live_api.h): a JSON 404 before the first evaluation, 400
  // for bad parameters.
  auto reply = [](httplib::Response& res, const ApiReply& r) {
    res.status = r.status;
    res.set_content(r.body, "application/json");
  };
  s.Get("/api/v1/findings", [this, reply](const httplib::Request& req, httplib::Response& res) {
    auto report = reports_.get();
    if (!report) return noReportYet(res);
    reply(res, findingsReply(*report, paramsOf(req)));
  });
  s.Get("/api/v1/score", [this, reply](const httplib::Request& req, httplib::Response& res) {
    auto report = reports_.get();
    if (!report) return noReportYet(res);
    AgentCounts agents;
    {
      std::lock_guard lock(model_.mu);
      agents = countAgents(model_.state, unixMillisNow(), options_.missed_heartbeats);
    }
    reply(res, scoreReply(*report, agents, paramsOf(req)));
  });
  s.Get("/api/v1/whatif", [this, reply](const httplib::Request& req, httplib::Response& res) {
    auto report = reports_.get();
    if (!report) return noReportYet(res);
    reply(res, whatifReply(*report, paramsOf(req)));
  });
  // The path is percent-decoded before it is matched: a '/' inside a name
  // ("%2F") makes it a path of more segments, answered below.
  s.Get(R"(/api/v1/workloads/([^/]+)/([^/]+))",
        [this, reply](const httplib::Request& req, httplib::Response& res) {
          auto report = reports_.get();
          if (!report) return noReportYet(res);
          ApiReply r;
          {
            std::lock_guard lock(model_.mu);
            r = workloadReply(*report, model_.state, req.matches[1].str(), req.matches[2].str(),
                              paramsOf(req));
          }
          reply(res, r);
        });
  s.Get(R"(/api/v1/workloads(/.*)?)", [reply](const httplib::Request&, httplib::Response& res) {
    reply(res, {404, errorJson("a workload is /api/v1/workloads/NAMESPACE/NAME")});
  });
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      res.set_content(dump(json{{"error", "HTTP " + std::to_string(res.status)}}),
                      "application/json");
    }
  });
  s.set_exception_handler(
      [this](const httplib::Request& req, httplib::Response& res, const std::exception_ptr& ep) {
        std::string what = "unknown";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        log_->error("HTTP {} {} failed: {}", req.method, req.path, what);
        res.status = 500;
        res.set_content(dump(json{{"error", what}}), "application/json");
      });
}

HttpApi::~HttpApi() {
  stop();
}

void HttpApi::addJsonRoute(const std::string& path, JsonRoute handler) {
  server_.routes().Get(
      path, [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
        std::map<std::string, std::string> params;
        for (const auto& [k, v] : req.params) params.emplace(k, v);  // the first of repeated keys
        JsonReply reply = handler(params);
        res.status = reply.status;
        res.set_content(reply.body, "application/json");
      });
}

void HttpApi::addPostRoute(const std::string& path, size_t max_body, PostAuthorize authorize,
                           PostRoute handler) {
  server_.routes().Post(
      path, [max_body, authorize = std::move(authorize), handler = std::move(handler)](
                const httplib::Request& req, httplib::Response& res,
                const httplib::ContentReader& content) {
        PostRequest r;
        r.authorization = req.get_header_value("Authorization");
        if (auto refused = authorize(r.authorization)) {
          // The body is never read: a peer without the token costs no more.
          res.status = refused->status;
          res.set_header("Connection", "close");
          res.set_content(refused->body, "application/json");
          return;
        }
        const std::string length = req.get_header_value("Content-Length");
        const bool digits = !length.empty() && length.size() <= 18 &&
                            length.find_first_not_of("0123456789") == std::string::npos;
        if (!length.empty() && (!digits || std::stoull(length) > max_body)) {
          r.too_large = true;  // announced too long: not read at all
        } else {
          content([&](const char* data, size_t n) {
            if (r.body.size() + n > max_body) {
              r.too_large = true;
              return false;
            }
            r.body.append(data, n);
            return true;
          });
        }
        if (r.too_large) r.body.clear();
        JsonReply reply = handler(r);
        res.status = reply.status;
        if (r.too_large) res.set_header("Connection", "close");
        res.set_content(reply.body, "application/json");
      });
}

Result<int> HttpApi::start() {
  return server_.start();
}

void HttpApi::stop() {
  server_.stop();
}

// Called from the server's threads: the map is only read after construction.
void HttpApi::refused(std::string_view reason) {
  if (auto it = refused_by_reason_.find(reason); it != refused_by_reason_.end()) {
    it->second->Increment();
  }
}

}  // namespace rampart::aggregator
