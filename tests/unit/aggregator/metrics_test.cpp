// The metric contract's engine gauges (docs/metrics.md) from real engine
// reports of the demo dump: zone-loss and node-loss impact, findings per
// namespace, the workload series cap, node readiness and agent connection.
#include "http/metrics.h"

#include <doctest/doctest.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <map>
#include <set>

#include "rampart/engine_input.h"
#include "rampart/k8s_objects.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::aggregator;

namespace {

constexpr int64_t kNow = 1767384600;  // 2026-01-02T20:10:00Z, just after the dumps were made

// The engine's report of the demo scenario's dump (tests/data/dumps), and
// the snapshot's nodes.
struct Demo {
  engine::Report report;
  std::vector<Node> nodes;
};

Demo demoReport() {
  k8s::Objects objects;
  for (const char* f : {"dumps/demo-kubectl.json", "dumps/demo-velero.json"}) {
    auto text = rampart::testing::readFile(rampart::testing::testData(f));
    REQUIRE(k8s::decodeObjects(std::string_view(text), objects).has_value());
  }
  engine::Snapshot s = engine::snapshotOf(std::move(objects), kNow);
  Demo d;
  d.nodes = s.nodes;
  d.report = engine::evaluate(s, {});
  REQUIRE_FALSE(d.report.partial);
  return d;
}

// Every sample of `name` as {labels without cluster -> value}; labels as
// `k="v",...` in the order the registry gives them. Each must carry
// cluster="c1".
std::map<std::string, double> samples(prometheus::Registry& registry, const std::string& name) {
  std::map<std::string, double> out;
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      std::string key;
      bool cluster = false;
      for (const auto& l : m.label) {
        if (l.name == "cluster") {
          cluster = l.value == "c1";
          continue;
        }
        key += (key.empty() ? "" : ",") + l.name + "=\"" + l.value + "\"";
      }
      CHECK_MESSAGE(cluster, name << "{" << key << "} has no cluster=\"c1\"");
      out[key] = family.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
    }
  }
  return out;
}

size_t distinctDown(const engine::DomainImpact& d) {
  std::set<engine::ObjectRef> down(d.outage.begin(), d.outage.end());
  down.insert(d.quorum_lost.begin(), d.quorum_lost.end());
  return down.size();
}

}  // namespace

TEST_CASE("zone-loss and node-loss impact of the demo: one series per zone and node") {
  Demo demo = demoReport();
  const auto& r = demo.report;
  prometheus::Registry registry;
  Metrics metrics(registry, "c1");
  metrics.evaluated(r, 0.01);

  auto zones = samples(registry, "rampart_zone_loss_workloads_at_risk");
  auto zone_pdbs = samples(registry, "rampart_zone_loss_pdbs_violated");
  REQUIRE(r.whatif.zones.size() == 3);
  CHECK(zones.size() == 3);
  for (const auto& z : r.whatif.zones) {
    const std::string key = "zone=\"" + z.name + "\"";
    CHECK(zones.at(key) == static_cast<double>(distinctDown(z)));
    CHECK(zone_pdbs.at(key) == static_cast<double>(z.below_pdb.size()));
  }
  // The demo's eu-west-1a holds three workloads' every ready replica and the
  // etcd and quorum StatefulSet majorities.
  CHECK(zones.at("zone=\"eu-west-1a\"") >= 3);

  auto nodes = samples(registry, "rampart_node_loss_workloads_at_risk");
  auto node_pdbs = samples(registry, "rampart_node_loss_pdbs_violated");
  CHECK(nodes.size() == demo.nodes.size());
  for (const auto& n : r.whatif.nodes) {
    const std::string key = "node=\"" + n.name + "\"";
    CHECK(nodes.at(key) == static_cast<double>(distinctDown(n)));
    CHECK(node_pdbs.at(key) == static_cast<double>(n.below_pdb.size()));
  }
  CHECK(nodes.at("node=\"worker-a1\"") >= 1);  // every replica of shop/cart
  CHECK(nodes.at("node=\"cp-1\"") >= 1);       // etcd's quorum (one of one member)

  // Consistent with the survival verdicts: 0 iff some domain takes a workload.
  auto any = [](const std::map<std::string, double>& m) {
    return std::any_of(m.begin(), m.end(), [](const auto& kv) { return kv.second > 0; });
  };
  CHECK(samples(registry, "rampart_survives_zone_loss").at("") == (any(zones) ? 0 : 1));
  CHECK(samples(registry, "rampart_survives_node_loss").at("") == (any(nodes) ? 0 : 1));

  SUBCASE("a node and a zone gone from the report lose their series") {
    engine::Report fewer = r;
    std::erase_if(fewer.whatif.nodes, [](const auto& d) { return d.name == "worker-a1"; });
    std::erase_if(fewer.whatif.zones, [](const auto& d) { return d.name == "eu-west-1c"; });
    metrics.evaluated(fewer, 0.01);
    CHECK_FALSE(
        samples(registry, "rampart_node_loss_workloads_at_risk").contains("node=\"worker-a1\""));
    CHECK_FALSE(
        samples(registry, "rampart_node_loss_pdbs_violated").contains("node=\"worker-a1\""));
    CHECK(samples(registry, "rampart_zone_loss_workloads_at_risk").size() == 2);
    CHECK(samples(registry, "rampart_zone_loss_pdbs_violated").size() == 2);
    metrics.evaluated(r, 0.01);  // back again
    CHECK(samples(registry, "rampart_node_loss_workloads_at_risk").size() == nodes.size());
  }
}

TEST_CASE("findings per namespace and severity add up to the namespaced findings") {
  Demo demo = demoReport();
  const auto& r = demo.report;
  prometheus::Registry registry;
  Metrics metrics(registry, "c1");
  metrics.evaluated(r, 0.01);
  auto by_ns = samples(registry, "rampart_namespace_findings");

  std::map<std::string, double> want;
  for (const auto& ns : r.score.namespaces) {
    for (const char* sev : {"info", "low", "medium", "high", "critical"})
      want["namespace=\"" + ns.name + "\",severity=\"" + sev + "\""] = 0;
  }
  size_t cluster_level = 0;
  for (const auto& f : r.findings) {
    const std::string& ns = f.workload ? f.workload->namespace_ : f.subject.namespace_;
    if (ns.empty()) {
      ++cluster_level;
      continue;
    }
    ++want["namespace=\"" + ns + "\",severity=\"" + std::string(engine::severityName(f.severity)) +
           "\""];
  }
  CHECK(by_ns == want);
  CHECK(cluster_level > 0);  // whatif.*, etcd/control plane: not in any namespace
  CHECK(by_ns.at("namespace=\"shop\",severity=\"critical\"") >= 1);

  // A namespace gone from the report: its five series go.
  engine::Report without_shop = r;
  std::erase_if(without_shop.score.namespaces, [](const auto& ns) { return ns.name == "shop"; });
  std::erase_if(without_shop.findings, [](const auto& f) {
    return (f.workload ? f.workload->namespace_ : f.subject.namespace_) == "shop";
  });
  metrics.evaluated(without_shop, 0.01);
  auto after = samples(registry, "rampart_namespace_findings");
  CHECK(after.size() == by_ns.size() - 5);
  CHECK(std::none_of(after.begin(), after.end(),
                     [](const auto& kv) { return kv.first.starts_with("namespace=\"shop\""); }));
}

TEST_CASE("the workload series cap keeps the worst scores and reports what it left out") {
  Demo demo = demoReport();
  const auto& r = demo.report;
  REQUIRE(r.score.workloads.size() == 16);

  SUBCASE("default cap: every workload, nothing dropped") {
    prometheus::Registry registry;
    Metrics metrics(registry, "c1");
    metrics.evaluated(r, 0.01);
    CHECK(samples(registry, "rampart_workload_score").size() == 16);
    CHECK(samples(registry, "rampart_workload_series_dropped").at("") == 0);
    CHECK(samples(registry, "rampart_workload_series_limit").at("") == 2000);
  }
  SUBCASE("a cap of 4: the four lowest scores") {
    prometheus::Registry registry;
    Metrics metrics(registry, "c1", 4);
    metrics.evaluated(r, 0.01);
    auto scores = samples(registry, "rampart_workload_score");
    CHECK(scores.size() == 4);
    CHECK(samples(registry, "rampart_workload_series_dropped").at("") == 12);
    CHECK(samples(registry, "rampart_workload_series_limit").at("") == 4);
    std::vector<double> all;
    all.reserve(r.score.workloads.size());
    for (const auto& w : r.score.workloads) all.push_back(static_cast<double>(w.score) / 100.0);
    std::sort(all.begin(), all.end());
    double worst_kept = 0;
    for (const auto& [labels, v] : scores) worst_kept = std::max(worst_kept, v);
    CHECK(worst_kept == all[3]);  // nothing better than the 4th lowest is exported
    CHECK(scores.contains(
        "kind=\"Deployment\",namespace=\"shop\",workload=\"cart\""));  // the demo's worst

    // The same report again: the same series (ties broken by name, stable).
    metrics.evaluated(r, 0.01);
    CHECK(samples(registry, "rampart_workload_score") == scores);

    // A workload that gets better leaves the exported set; one that gets
    // worse enters it.
    engine::Report changed = r;
    for (auto& w : changed.score.workloads) {
      if (w.ref.name == "cart") w.score = 10000;
      if (w.ref.name == "catalog") w.score = 0;
    }
    metrics.evaluated(changed, 0.01);
    auto now = samples(registry, "rampart_workload_score");
    CHECK(now.size() == 4);
    CHECK_FALSE(now.contains("kind=\"Deployment\",namespace=\"shop\",workload=\"cart\""));
    CHECK(now.at("kind=\"Deployment\",namespace=\"shop\",workload=\"catalog\"") == 0);
  }
  SUBCASE("a cap of 0: no workload series, every workload counted as dropped") {
    prometheus::Registry registry;
    Metrics metrics(registry, "c1", 0);
    metrics.evaluated(r, 0.01);
    CHECK(samples(registry, "rampart_workload_score").empty());
    CHECK(samples(registry, "rampart_workload_series_dropped").at("") == 16);
    // Namespace and cluster scores still cover every workload.
    CHECK(samples(registry, "rampart_namespace_score").size() == r.score.namespaces.size());
  }
}

TEST_CASE("node readiness from the evaluated nodes; agent connection per node") {
  Demo demo = demoReport();
  prometheus::Registry registry;
  Metrics metrics(registry, "c1");
  metrics.nodesEvaluated(demo.nodes);
  auto ready = samples(registry, "rampart_node_ready");
  CHECK(ready.size() == 7);
  for (const auto& [node, v] : ready) CHECK_MESSAGE(v == 1, node);

  auto nodes = demo.nodes;
  for (auto& c : nodes[1].conditions) {
    if (c.type == "Ready") c.status = "Unknown";
  }
  const std::string down = "node=\"" + nodes[1].name + "\"";
  nodes.pop_back();
  const std::string gone = "node=\"" + demo.nodes.back().name + "\"";
  metrics.nodesEvaluated(nodes);
  ready = samples(registry, "rampart_node_ready");
  CHECK(ready.size() == 6);
  CHECK(ready.at(down) == 0);
  CHECK_FALSE(ready.contains(gone));

  // Agents: n1 reported 500 ms ago (connected), n2 10 s ago (silent at 3
  // missed 1 s intervals).
  ClusterState state;
  auto hello = [&](const std::string& name, int64_t at_ms) {
    wire::NodeIdentity id;
    id.node.name = name;
    id.node.zone = "z";
    state.apply(wire::Hello{id, at_ms, 1000, 30}, "agent", at_ms);
    wire::Report rep;
    rep.identity = id;
    rep.sequence = 1;
    rep.full = true;
    state.apply(rep, "agent", at_ms);
  };
  const int64_t now_ms = 1'800'000'000'000;
  hello("n1", now_ms - 500);
  hello("n2", now_ms - 10'000);
  metrics.refresh(state, now_ms, 3);
  auto connected = samples(registry, "rampart_node_agent_connected");
  CHECK(connected == std::map<std::string, double>{{"node=\"n1\"", 1}, {"node=\"n2\"", 0}});
  CHECK(samples(registry, "rampart_agents_connected").at("") == 1);
  CHECK(samples(registry, "rampart_node_last_report_age_seconds").at("node=\"n2\"") == 10);
}
