#include "http/live_api.h"

#include <algorithm>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "rampart/engine_json.h"

namespace rampart::aggregator {
namespace {

using Json = nlohmann::ordered_json;
using engine::DomainImpact;
using engine::ObjectRef;
using engine::Severity;

constexpr size_t kDefaultTop = 5;
constexpr size_t kMaxTop = 1000;

std::string dump(const Json& j) {
  // Names and messages may hold invalid UTF-8 (a hostile parameter echoed in
  // an error, an object name from the API): replace rather than throw.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

ApiReply ok(const Json& j) {
  return {200, dump(j)};
}

ApiReply error(int status, const std::string& message) {
  return {status, errorJson(message)};
}

constexpr Severity kSeverities[] = {Severity::kInfo, Severity::kLow, Severity::kMedium,
                                    Severity::kHigh, Severity::kCritical};

std::optional<Severity> severityOf(std::string_view name) {
  for (Severity s : kSeverities) {
    if (engine::severityName(s) == name) return s;
  }
  return std::nullopt;
}

// The first parameter not in `allowed`, as a 400 message; empty when all are.
std::string unknownParameter(const QueryParams& params,
                             std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : params) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string names;
      for (std::string_view a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
      return "unknown parameter '" + key + "' (known: " + (names.empty() ? "none" : names) + ")";
    }
  }
  return "";
}

std::string param(const QueryParams& params, const std::string& key) {
  auto it = params.find(key);
  return it == params.end() ? "" : it->second;
}

// The report's time and completeness, first in every document.
Json header(const engine::Report& report) {
  Json j;
  j["generated_at"] = formatRfc3339(report.now_unix);
  j["partial"] = report.partial;
  return j;
}

// What losing any single domain of one level would do: survives (null when
// the report knows no such domain), how many domains, how many of them take
// a workload down (an outage or a lost quorum), how many workloads that is in
// all, and the domain that takes down the most (null when none).
Json lossJson(const std::vector<DomainImpact>& domains) {
  std::set<ObjectRef> down;
  size_t fatal = 0, worst_n = 0;
  std::string worst;
  for (const DomainImpact& d : domains) {
    const size_t n = d.outage.size() + d.quorum_lost.size();
    if (n == 0) continue;
    ++fatal;
    down.insert(d.outage.begin(), d.outage.end());
    down.insert(d.quorum_lost.begin(), d.quorum_lost.end());
    if (n > worst_n) {
      worst_n = n;
      worst = d.name;
    }
  }
  Json j;
  j["survives"] = domains.empty() ? Json(nullptr) : Json(fatal == 0);
  j["domains"] = domains.size();
  j["fatal"] = fatal;
  j["workloads_down"] = down.size();
  j["worst"] = worst.empty() ? Json(nullptr) : Json(worst);
  return j;
}

Result<size_t> parseCount(const std::string& text, const std::string& name, size_t max) {
  if (text.empty() || text.size() > 9 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return fail(ErrorCode::kConfig, name + " must be a number from 0 to " + std::to_string(max));
  }
  size_t n = std::stoul(text);
  if (n > max) {
    return fail(ErrorCode::kConfig, name + " must be a number from 0 to " + std::to_string(max));
  }
  return n;
}

// The workload a pod belongs to by its owner chain as the agent decoded it
// (the engine's rule, engine::Index::workloadOf, without the controllers: a
// ReplicaSet's Deployment and a Job's CronJob as inferred); nullopt for a
// static pod's mirror.
std::optional<ObjectRef> workloadOfPod(const Pod& pod) {
  if (pod.owners.empty() || !pod.owners.front().controller) {
    return ObjectRef{"Pod", pod.namespace_, pod.name};
  }
  const OwnerRef& owner = pod.owners.front();
  if (owner.kind == "Node") return std::nullopt;
  if (pod.owners.size() > 1 &&
      ((owner.kind == "ReplicaSet" && pod.owners[1].kind == "Deployment") ||
       (owner.kind == "Job" && pod.owners[1].kind == "CronJob"))) {
    return ObjectRef{pod.owners[1].kind, pod.namespace_, pod.owners[1].name};
  }
  return ObjectRef{owner.kind, pod.namespace_, owner.name};
}

}  // namespace

std::string errorJson(const std::string& message) {
  Json j;
  j["error"] = message;
  return dump(j);
}

AgentCounts countAgents(const ClusterState& state, int64_t now_ms, int missed_heartbeats) {
  AgentCounts c;
  for (const auto& [name, rec] : state.nodes()) {
    ++c.known;
    if (!agentConnected(rec, now_ms, missed_heartbeats)) continue;
    ++c.connected;
    if (rec.synced) ++c.synced;
  }
  return c;
}

Result<FindingsFilter> parseFindingsFilter(const QueryParams& params) {
  if (auto bad = unknownParameter(params, {"check", "namespace", "node", "severity"});
      !bad.empty()) {
    return fail(ErrorCode::kConfig, bad);
  }
  FindingsFilter f;
  f.check = param(params, "check");
  f.namespace_ = param(params, "namespace");
  f.node = param(params, "node");
  if (const std::string s = param(params, "severity"); !s.empty()) {
    auto severity = severityOf(s);
    if (!severity) {
      return fail(ErrorCode::kConfig,
                  "severity must be one of info, low, medium, high, critical (got '" + s + "')");
    }
    f.min_severity = *severity;
  }
  return f;
}

bool matches(const engine::Finding& f, const FindingsFilter& filter) {
  if (!f.check.starts_with(filter.check)) return false;
  if (f.severity < filter.min_severity) return false;
  if (!filter.node.empty() && f.node != filter.node) return false;
  if (!filter.namespace_.empty() && f.subject.namespace_ != filter.namespace_ &&
      !(f.workload && f.workload->namespace_ == filter.namespace_)) {
    return false;
  }
  return true;
}

std::string findingsJson(const engine::Report& report, const FindingsFilter& filter) {
  Json findings = Json::array();
  for (const auto& f : report.findings) {
    if (matches(f, filter)) findings.push_back(engine::findingToJson(f));
  }
  Json doc = Json::object();
  doc["findings"] = std::move(findings);
  return dump(doc);
}

ApiReply findingsReply(const engine::Report& report, const QueryParams& params) {
  auto filter = parseFindingsFilter(params);
  if (!filter) return error(400, filter.error().message);
  return {200, findingsJson(report, *filter)};
}

ApiReply scoreReply(const engine::Report& report, const AgentCounts& agents,
                    const QueryParams& params) {
  if (auto bad = unknownParameter(params, {"top"}); !bad.empty()) return error(400, bad);
  size_t top = kDefaultTop;
  if (params.contains("top")) {
    auto n = parseCount(param(params, "top"), "top", kMaxTop);
    if (!n) return error(400, n.error().message);
    top = *n;
  }
  Json j = header(report);
  j["warnings"] = report.warnings;
  j["cluster"] = engine::pointsValue(report.score.cluster);
  Json namespaces = Json::object();
  for (const auto& ns : report.score.namespaces)
    namespaces[ns.name] = engine::pointsValue(ns.score);
  j["namespaces"] = std::move(namespaces);
  j["node_loss"] = lossJson(report.whatif.nodes);
  j["zone_loss"] = lossJson(report.whatif.zones);
  j["region_loss"] = lossJson(report.whatif.regions);

  Json findings;
  findings["total"] = report.findings.size();
  size_t by[5] = {};
  for (const auto& f : report.findings) ++by[static_cast<size_t>(f.severity)];
  for (auto it = std::rbegin(kSeverities); it != std::rend(kSeverities); ++it) {
    findings[std::string(engine::severityName(*it))] = by[static_cast<size_t>(*it)];
  }
  j["findings"] = std::move(findings);

  Json workloads;
  workloads["total"] = report.score.workloads.size();
  workloads["below_100"] =
      std::count_if(report.score.workloads.begin(), report.score.workloads.end(),
                    [](const engine::WorkloadScore& w) { return w.score < 10000; });
  Json worst = Json::array();
  // Lowest score first already; only those that lost points.
  for (const auto& w : report.score.workloads) {
    if (worst.size() == top || w.score == 10000) break;
    worst.push_back(engine::workloadScoreToJson(w));
  }
  workloads["worst"] = std::move(worst);
  j["workloads"] = std::move(workloads);

  Json a;
  a["known"] = agents.known;
  a["connected"] = agents.connected;
  a["synced"] = agents.synced;
  j["agents"] = std::move(a);
  return ok(j);
}

ApiReply whatifReply(const engine::Report& report, const QueryParams& params) {
  if (auto bad = unknownParameter(params, {"node", "zone", "region"}); !bad.empty()) {
    return error(400, bad);
  }
  std::string level, name;
  for (const char* l : {"node", "zone", "region"}) {
    std::string v = param(params, l);
    if (v.empty()) continue;
    if (!level.empty()) return error(400, "give at most one of node, zone, region");
    level = l;
    name = std::move(v);
  }
  Json j = header(report);
  if (level.empty()) {
    Json nodes = Json::array(), zones = Json::array(), regions = Json::array();
    for (const auto& d : report.whatif.nodes) nodes.push_back(engine::domainImpactToJson(d));
    for (const auto& d : report.whatif.zones) zones.push_back(engine::domainImpactToJson(d));
    for (const auto& d : report.whatif.regions) regions.push_back(engine::domainImpactToJson(d));
    j["nodes"] = std::move(nodes);
    j["zones"] = std::move(zones);
    j["regions"] = std::move(regions);
    return ok(j);
  }
  const auto& domains = level == "node"   ? report.whatif.nodes
                        : level == "zone" ? report.whatif.zones
                                          : report.whatif.regions;
  auto it = std::find_if(domains.begin(), domains.end(),
                         [&](const DomainImpact& d) { return d.name == name; });
  if (it == domains.end())
    return error(404, "no " + level + " named '" + name + "' in the latest report");
  j["level"] = level;
  Json domain = engine::domainImpactToJson(*it);
  for (auto& [k, v] : domain.items()) j[k] = std::move(v);
  j["survives"] = it->outage.empty() && it->quorum_lost.empty();
  // The scores of the workloads it takes down, in the domain's order.
  Json workloads = Json::array();
  for (const auto& ref : it->outage) {
    for (const auto& w : report.score.workloads) {
      if (w.ref == ref) workloads.push_back(engine::workloadScoreToJson(w));
    }
  }
  j["workloads"] = std::move(workloads);
  return ok(j);
}

ApiReply workloadReply(const engine::Report& report, const ClusterState& state,
                       const std::string& namespace_, const std::string& name,
                       const QueryParams& params) {
  if (auto bad = unknownParameter(params, {"kind"}); !bad.empty()) return error(400, bad);
  const std::string kind = param(params, "kind");
  std::vector<const engine::WorkloadScore*> found;
  for (const auto& w : report.score.workloads) {
    if (w.ref.namespace_ == namespace_ && w.ref.name == name &&
        (kind.empty() || w.ref.kind == kind)) {
      found.push_back(&w);
    }
  }
  const std::string what = (kind.empty() ? "" : kind + " ") + namespace_ + "/" + name;
  if (found.empty()) return error(404, "no workload " + what + " in the latest report");
  if (found.size() > 1) {
    std::string kinds;
    for (const auto* w : found) kinds += (kinds.empty() ? "" : ", ") + w->ref.kind;
    return error(400,
                 "more than one workload is named " + what + " (" + kinds + "): add ?kind=KIND");
  }
  const engine::WorkloadScore& w = *found.front();
  Json j = header(report);
  // (Not items() of the temporary: it would be gone before the loop runs.)
  nlohmann::ordered_json explanation = engine::workloadExplanationToJson(report, w);
  for (auto& [k, v] : explanation.items()) j[k] = std::move(v);

  // Its pods as the agents report them, and their spread.
  Json pods = Json::array();
  std::map<std::string, size_t> per_node, per_zone;
  for (const auto& [node_name, rec] : state.nodes()) {
    for (const auto& [uid, pod] : rec.pods) {
      if (pod.namespace_ != namespace_) continue;
      auto ref = workloadOfPod(pod);
      if (!ref || *ref != w.ref) continue;
      const std::string& zone = rec.identity.node.zone;
      Json p;
      p["name"] = pod.name;
      p["node"] = node_name;
      p["zone"] = zone.empty() ? Json(nullptr) : Json(zone);
      p["phase"] = std::string(podPhaseName(pod.phase));
      p["ready"] = pod.ready;
      p["terminating"] = pod.terminating;
      pods.push_back(std::move(p));
      ++per_node[node_name];
      if (!zone.empty()) ++per_zone[zone];
    }
  }
  std::sort(pods.begin(), pods.end(), [](const Json& a, const Json& b) {
    return a["name"].get<std::string>() < b["name"].get<std::string>();
  });
  j["pods"] = std::move(pods);
  Json placement;
  placement["nodes"] = per_node;
  placement["zones"] = per_zone;
  j["placement"] = std::move(placement);
  return ok(j);
}

}  // namespace rampart::aggregator
