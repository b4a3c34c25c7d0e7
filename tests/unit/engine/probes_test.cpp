// Probe and flapping checks (engine_probes.cpp): node.kubelet-unhealthy,
// node.apiserver-unreachable, probe.node-check-failed, pod.readiness-flapping.
// docs/checks.md, "Probes and flapping".
#include <doctest/doctest.h>

#include "engine_index.h"
#include "engine_probes.h"
#include "engine_test_util.h"
#include "rampart/engine_incremental.h"
#include "rampart/engine_json.h"

using namespace rampart;
using namespace rampart::engine;
using namespace rampart::engine::testutil;

namespace {

ProbeResult probe(std::string name, ProbeKind kind, bool ok, uint32_t failures,
                  double latency_ms = 3.5, const std::string& error = "") {
  ProbeResult r;
  r.name = std::move(name);
  r.kind = kind;
  r.target = kind == ProbeKind::kTcp ? "10.0.0.5:5432" : "http://127.0.0.1:1/x";
  r.ok = ok;
  r.latency_ms = latency_ms;
  r.error = ok ? "" : (error.empty() ? "connection refused" : error);
  r.checked_at_ms = 1764000000000;
  r.consecutive_failures = ok ? 0 : failures;
  return r;
}

std::vector<Finding> runProbes(const Snapshot& s, const Options& options = {}) {
  Index index(s, options);
  std::vector<Finding> out;
  checkNodeProbes(index, out);
  checkReadinessFlapping(index, out);
  return out;
}

Snapshot threeNodes() {
  Snapshot s;
  s.now_unix = 1764000000;
  s.nodes = {makeNode("n1", "a"), makeNode("n2", "b"), makeNode("n3", "c")};
  return s;
}

}  // namespace

TEST_CASE("probe checks: which result fires which check") {
  struct Row {
    const char* what;
    ProbeResult result;
    uint32_t threshold;
    const char* check;  // "" = none
    Severity severity;
  };
  const Row rows[] = {
      {"kubelet healthy", probe("kubelet", ProbeKind::kKubelet, true, 0), 1, "", Severity::kInfo},
      {"kubelet failing once", probe("kubelet", ProbeKind::kKubelet, false, 1), 1,
       "node.kubelet-unhealthy", Severity::kHigh},
      {"apiserver timing out",
       probe("apiserver", ProbeKind::kApiServer, false, 2, 2000, "timed out"), 1,
       "node.apiserver-unreachable", Severity::kHigh},
      {"operator http failing", probe("web", ProbeKind::kHttp, false, 1), 1,
       "probe.node-check-failed", Severity::kMedium},
      {"operator tcp failing", probe("db", ProbeKind::kTcp, false, 3), 3, "probe.node-check-failed",
       Severity::kMedium},
      {"operator tcp below the threshold", probe("db", ProbeKind::kTcp, false, 2), 3, "",
       Severity::kInfo},
      {"kubelet below the threshold", probe("kubelet", ProbeKind::kKubelet, false, 1), 2, "",
       Severity::kInfo},
      {"unknown kind", probe("x", ProbeKind::kUnknown, false, 5), 1, "", Severity::kInfo},
  };
  for (const Row& row : rows) {
    CAPTURE(row.what);
    Snapshot s = threeNodes();
    s.node_probes["n2"] = {row.result};
    Options o;
    o.probe_failure_threshold = row.threshold;
    auto found = runProbes(s, o);
    if (std::string(row.check).empty()) {
      CHECK(found.empty());
      continue;
    }
    REQUIRE(found.size() == 1);
    const Finding& f = found[0];
    CHECK(f.check == row.check);
    CHECK(f.severity == row.severity);
    CHECK(f.node == "n2");
    CHECK(f.zone == "b");
    CHECK(f.details["probe"] == row.result.name);
    CHECK(f.details["consecutive_failures"] == row.result.consecutive_failures);
    CHECK(f.details["error"] == row.result.error);
    CHECK(f.details["latency_ms"] == row.result.latency_ms);
    CHECK(f.message.find(row.result.error) != std::string::npos);
    if (row.result.kind == ProbeKind::kHttp || row.result.kind == ProbeKind::kTcp) {
      CHECK(f.subject == ObjectRef{"NodeProbe", "", "n2/" + row.result.name});
    } else {
      CHECK(f.subject == ObjectRef{"Node", "", "n2"});
    }
  }
}

TEST_CASE("probe checks: one finding per failing probe; silent and unknown nodes are skipped") {
  Snapshot s = threeNodes();
  s.node_probes["n1"] = {probe("kubelet", ProbeKind::kKubelet, true, 0),
                         probe("web", ProbeKind::kHttp, false, 1),
                         probe("db", ProbeKind::kTcp, false, 1)};
  s.node_probes["n2"] = {probe("kubelet", ProbeKind::kKubelet, false, 4)};
  s.node_probes["gone"] = {probe("kubelet", ProbeKind::kKubelet, false, 4)};
  s.silent_nodes = {"n2"};
  auto found = runProbes(s);
  REQUIRE(found.size() == 2);
  std::set<std::string> subjects;
  for (const auto& f : found) subjects.insert(f.subject.name);
  CHECK(subjects == std::set<std::string>{"n1/web", "n1/db"});
}

TEST_CASE("pod.readiness-flapping: the workload comes from the owner chain") {
  Snapshot s = threeNodes();
  Pod web = makePod("shop", "web-7d4b9c8f6d-abcde", "n1", {}, "ReplicaSet", "web-7d4b9c8f6d");
  s.pods = {web};
  PodReadinessFlapping f{web.namespace_, web.name, "n1", web.owners, 5, 300, false};
  s.readiness_flapping[web.uid] = f;
  PodReadinessFlapping bare{"shop", "debug", "n2", {}, 4, 300, true};
  s.readiness_flapping["bare-uid"] = bare;
  PodReadinessFlapping mirror{
      "kube-system", "kube-apiserver-n3", "n3", {{"Node", "n3", "", true, false}}, 6, 300, true};
  s.readiness_flapping["mirror-uid"] = mirror;
  auto found = runProbes(s);
  REQUIRE(found.size() == 3);
  std::map<std::string, Finding> by_pod;
  for (auto& x : found) by_pod[x.subject.name] = x;
  const Finding& w = by_pod.at(web.name);
  CHECK(w.check == "pod.readiness-flapping");
  CHECK(w.severity == Severity::kMedium);
  CHECK(w.workload == ObjectRef{"Deployment", "shop", "web"});
  CHECK(w.pods == std::vector<std::string>{"shop/" + web.name});
  CHECK(w.zone == "a");
  CHECK(w.details["flips"] == 5);
  CHECK(w.details["window_seconds"] == 300);
  CHECK(w.details["ready"] == false);
  CHECK(by_pod.at("debug").workload == ObjectRef{"Pod", "shop", "debug"});
  CHECK_FALSE(by_pod.at("kube-apiserver-n3").workload.has_value());
}

namespace {

// Two replicas of shop/web on n1 and n2 of three nodes.
Snapshot scoredCluster() {
  Snapshot s = threeNodes();
  Pod a = makePod("shop", "web-7d4b9c8f6d-aaaaa", "n1", {}, "ReplicaSet", "web-7d4b9c8f6d");
  Pod b = makePod("shop", "web-7d4b9c8f6d-bbbbb", "n2", {}, "ReplicaSet", "web-7d4b9c8f6d");
  s.pods = {a, b};
  s.workloads = {makeWorkload("Deployment", "shop", "web", 2)};
  return s;
}

void addProbeInputs(Snapshot& s) {
  const Pod& a = s.pods.front();
  s.node_probes["n1"] = {probe("kubelet", ProbeKind::kKubelet, false, 2),
                         probe("web", ProbeKind::kHttp, false, 1)};
  s.readiness_flapping[a.uid] = {a.namespace_, a.name, "n1", a.owners, 4, 300, true};
}

}  // namespace

TEST_CASE("probe and flapping findings are scored: node share, pod share, every point owed") {
  Snapshot s = scoredCluster();
  addProbeInputs(s);
  Report full = evaluate(s, Options{});
  Centi lost = 0;
  std::set<std::string> seen;
  for (const Finding& f : full.findings) {
    lost += f.cluster_points;
    seen.insert(f.check);
    if (f.check == "node.kubelet-unhealthy" || f.check == "probe.node-check-failed" ||
        f.check == "pod.readiness-flapping") {
      CHECK(f.cluster_points > 0);
    }
    // Node-level: in a three-node cluster a node's share is the whole base.
    if (f.check == "probe.node-check-failed") CHECK(f.points == 800);
    if (f.check == "node.kubelet-unhealthy") CHECK(f.points == 2000);
    // Pod-level: one pod of two of the Deployment, at most half the base (the
    // workload's other findings compose with it).
    if (f.check == "pod.readiness-flapping") {
      CHECK(f.workload == ObjectRef{"Deployment", "shop", "web"});
      CHECK(f.points > 0);
      CHECK(f.points <= 400);
    }
  }
  CHECK(seen.contains("node.kubelet-unhealthy"));
  CHECK(seen.contains("probe.node-check-failed"));
  CHECK(seen.contains("pod.readiness-flapping"));
  CHECK(lost == 10000 - full.score.cluster);
}

TEST_CASE("the incremental engine sees probe and flapping inputs as evaluate() does") {
  Snapshot s = scoredCluster();
  Options o;
  Incremental inc(o);
  inc.reset(s);
  const std::string before = dumpReport(inc.report(), 2);
  CHECK(before == dumpReport(evaluate(s, o), 2));

  addProbeInputs(s);
  inc.sync(s);
  CHECK(dumpReport(inc.report(), 2) == dumpReport(evaluate(s, o), 2));

  // Recovery: the inputs empty again, the findings go.
  s.node_probes.clear();
  s.readiness_flapping.clear();
  inc.sync(s);
  CHECK(dumpReport(inc.report(), 2) == before);
}
