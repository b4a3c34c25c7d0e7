#include "rampart/engine_json.h"

#include <cmath>
#include <ctime>

namespace rampart::engine {

double pointsValue(Centi centi) {
  return static_cast<double>(centi) / 100.0;
}

std::string formatTimestamp(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::ordered_json refToJson(const ObjectRef& ref) {
  nlohmann::ordered_json j;
  j["kind"] = ref.kind;
  j["namespace"] = ref.namespace_;
  j["name"] = ref.name;
  return j;
}

namespace {

nlohmann::ordered_json nullIfEmpty(const std::string& s) {
  return s.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s);
}

nlohmann::ordered_json refsToJson(const std::vector<ObjectRef>& refs) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const ObjectRef& r : refs) a.push_back(refToJson(r));
  return a;
}

nlohmann::ordered_json domainsToJson(const std::vector<DomainImpact>& domains) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const DomainImpact& d : domains) {
    nlohmann::ordered_json j;
    j["name"] = d.name;
    j["nodes"] = d.nodes;
    j["outage"] = refsToJson(d.outage);
    j["below_pdb"] = refsToJson(d.below_pdb);
    j["quorum_lost"] = refsToJson(d.quorum_lost);
    a.push_back(std::move(j));
  }
  return a;
}

}  // namespace

nlohmann::ordered_json findingToJson(const Finding& f) {
  nlohmann::ordered_json j;
  j["check"] = f.check;
  j["severity"] = std::string(severityName(f.severity));
  j["hard"] = f.hard;
  j["subject"] = refToJson(f.subject);
  j["workload"] = f.workload ? refToJson(*f.workload) : nlohmann::ordered_json(nullptr);
  j["pods"] = f.pods;
  j["node"] = nullIfEmpty(f.node);
  j["zone"] = nullIfEmpty(f.zone);
  j["details"] = f.details;
  j["message"] = f.message;
  j["remediation"] = f.remediation;
  j["runbook"] = f.runbook;
  j["points"] = pointsValue(f.points);
  j["cluster_points"] = pointsValue(f.cluster_points);
  return j;
}

nlohmann::ordered_json reportToJson(const Report& report) {
  nlohmann::ordered_json j;
  j["schema"] = kAuditSchema;
  j["generated_at"] = formatTimestamp(report.now_unix);
  j["partial"] = report.partial;
  j["warnings"] = report.warnings;

  nlohmann::ordered_json score;
  score["cluster"] = pointsValue(report.score.cluster);
  nlohmann::ordered_json namespaces = nlohmann::ordered_json::object();
  for (const NamespaceScore& ns : report.score.namespaces) {
    namespaces[ns.name] = pointsValue(ns.score);
  }
  score["namespaces"] = std::move(namespaces);
  nlohmann::ordered_json workloads = nlohmann::ordered_json::array();
  for (const WorkloadScore& w : report.score.workloads) {
    nlohmann::ordered_json o = refToJson(w.ref);
    o["score"] = pointsValue(w.score);
    o["replicas"] = w.replicas;
    o["ready"] = w.ready;
    o["weight"] = std::round(w.weight * 1000.0) / 1000.0;
    workloads.push_back(std::move(o));
  }
  score["workloads"] = std::move(workloads);
  j["score"] = std::move(score);

  nlohmann::ordered_json findings = nlohmann::ordered_json::array();
  for (const Finding& f : report.findings) findings.push_back(findingToJson(f));
  j["findings"] = std::move(findings);

  nlohmann::ordered_json whatif;
  whatif["nodes"] = domainsToJson(report.whatif.nodes);
  whatif["zones"] = domainsToJson(report.whatif.zones);
  whatif["regions"] = domainsToJson(report.whatif.regions);
  j["whatif"] = std::move(whatif);
  return j;
}

}  // namespace rampart::engine
