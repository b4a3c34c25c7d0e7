// The agent's node-local placement checks on one-node snapshots: which of the
// engine's placement checks a node decides alone (reported), and which need
// other nodes (the raw engine's answer on one node, then filtered out).
#include <doctest/doctest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "../engine/engine_test_util.h"
#include "engine_index.h"
#include "engine_placement.h"
#include "node_placement.h"

using namespace rampart;
using namespace rampart::engine::testutil;
using rampart::agent::nodeLocalPlacementFindings;
using rampart::engine::Finding;

namespace {

const std::string kHost = "kubernetes.io/hostname";
const std::string kZone = "topology.kubernetes.io/zone";

PodAffinityTerm term(const std::string& key, Labels match) {
  PodAffinityTerm t;
  t.label_selector = matchLabels(std::move(match));
  t.topology_key = key;
  return t;
}

// A replica of shop/api (ReplicaSet api-5d8f) on node n1.
Pod replica(const std::string& name, const std::string& node = "n1") {
  return makePod("shop", name, node, {{"app", "api"}}, "ReplicaSet", "api-5d8f");
}

Pod withRequiredAnti(Pod p, const std::string& key) {
  if (!p.placement.pod_anti_affinity) p.placement.pod_anti_affinity = PodAffinityRules{};
  p.placement.pod_anti_affinity->required.push_back(term(key, {{"app", "api"}}));
  return p;
}

// What the engine itself reports for `node` when the snapshot holds only
// that node and its pods (no narrowing, no filter).
std::vector<Finding> rawOneNode(const Node& node, const std::vector<Pod>& pods) {
  engine::Snapshot s;
  s.nodes = {node};
  s.pods = pods;
  engine::Options o;
  engine::Index index(s, o);
  std::vector<Finding> out;
  engine::checkPlacementOnNode(index, node.name, out);
  return out;
}

std::set<std::string> wireIds(const std::vector<wire::PlacementFinding>& fs) {
  std::set<std::string> out;
  for (const auto& f : fs) out.insert(f.check);
  return out;
}

}  // namespace

TEST_CASE("required hostname anti-affinity between two pods on the node is reported") {
  Node n1 = makeNode("n1", "z1");
  std::vector<Pod> pods = {withRequiredAnti(replica("api-a"), kHost),
                           withRequiredAnti(replica("api-b"), kHost)};
  auto got = nodeLocalPlacementFindings(n1, pods);
  REQUIRE(got.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    const auto& f = got[i];
    CHECK(f.check == "placement.anti-affinity");
    CHECK(f.severity == "high");
    CHECK(f.hard);
    REQUIRE(f.workload.has_value());
    CHECK(*f.workload == wire::WorkloadRef{"Deployment", "shop", "api"});
    auto details = nlohmann::json::parse(f.details_json);
    REQUIRE(details["terms"].size() == 1);
    CHECK(details["terms"][0]["topology_key"] == kHost);
    CHECK(details["terms"][0]["domain"] == "n1");
    CHECK(f.message.find("shares node n1") != std::string::npos);
  }
  // Sorted by pods: each finding names its subject first, then the other pod.
  CHECK(got[0].pods == std::vector<std::string>{"shop/api-a", "shop/api-b"});
  CHECK(got[1].pods == std::vector<std::string>{"shop/api-b", "shop/api-a"});
}

TEST_CASE("preferred hostname anti-affinity is reported as medium, not hard") {
  Pod a = replica("api-a"), b = replica("api-b");
  a.placement.pod_anti_affinity =
      PodAffinityRules{{}, {WeightedPodAffinityTerm{100, term(kHost, {{"app", "api"}})}}};
  auto got = nodeLocalPlacementFindings(makeNode("n1", "z1"), {a, b});
  REQUIRE(got.size() == 1);
  CHECK(got[0].severity == "medium");
  CHECK_FALSE(got[0].hard);
  CHECK(got[0].pods == std::vector<std::string>{"shop/api-a", "shop/api-b"});
}

TEST_CASE("zone anti-affinity is not reported by the agent, though the engine fires on one node") {
  Node n1 = makeNode("n1", "z1");
  std::vector<Pod> pods = {withRequiredAnti(replica("api-a"), kZone),
                           withRequiredAnti(replica("api-b"), kZone)};
  // The raw one-node run fires (same node, same zone): true but incomplete,
  // the pods of the zone's other nodes are missing. The aggregator reports it.
  CHECK(findingsOf(rawOneNode(n1, pods), "placement.anti-affinity").size() == 2);
  CHECK(nodeLocalPlacementFindings(n1, pods).empty());
}

TEST_CASE("a pod with zone and hostname terms reports only the hostname term") {
  Pod a = withRequiredAnti(withRequiredAnti(replica("api-a"), kZone), kHost);
  Pod b = replica("api-b");
  auto got = nodeLocalPlacementFindings(makeNode("n1", "z1"), {a, b});
  REQUIRE(got.size() == 1);
  auto details = nlohmann::json::parse(got[0].details_json);
  REQUIRE(details["terms"].size() == 1);
  CHECK(details["terms"][0]["topology_key"] == kHost);
  CHECK(got[0].message.find("(1 more violated term)") == std::string::npos);
}

TEST_CASE("untolerated taints are reported; tolerated and condition taints are not") {
  struct Case {
    std::string name;
    std::vector<Taint> taints;
    std::vector<Toleration> tolerations;
    std::string severity;  // empty: no finding
  };
  const std::vector<Case> cases = {
      {"NoSchedule untolerated", {{"dedicated", "db", "NoSchedule"}}, {}, "high"},
      {"NoExecute untolerated", {{"dedicated", "db", "NoExecute"}}, {}, "high"},
      {"PreferNoSchedule only", {{"spot", "", "PreferNoSchedule"}}, {}, "low"},
      {"tolerated",
       {{"dedicated", "db", "NoSchedule"}},
       {{"dedicated", "Equal", "db", "NoSchedule", std::nullopt}},
       ""},
      {"condition taint", {{"node.kubernetes.io/unreachable", "", "NoExecute"}}, {}, ""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    Node n1 = makeNode("n1", "z1");
    n1.taints = c.taints;
    Pod p = replica("api-a");
    p.placement.tolerations = c.tolerations;
    auto got = nodeLocalPlacementFindings(n1, {p});
    if (c.severity.empty()) {
      CHECK(got.empty());
      continue;
    }
    REQUIRE(got.size() == 1);
    CHECK(got[0].check == "placement.taint");
    CHECK(got[0].severity == c.severity);
    CHECK(got[0].hard == (c.severity == "high"));
    CHECK(got[0].pods == std::vector<std::string>{"shop/api-a"});
  }
}

TEST_CASE("a nodeSelector the node fails is reported; preferred node affinity is not") {
  Node n1 = makeNode("n1", "z1", {{"disk", "hdd"}});
  Pod sel = replica("api-a");
  sel.placement.node_selector = {{"disk", "ssd"}};
  Pod pref = replica("api-b");
  pref.placement.node_affinity =
      NodeAffinity{{}, {PreferredSchedulingTerm{50, NodeSelectorTerm{{{"disk", "In", {"ssd"}}}}}}};
  auto got = nodeLocalPlacementFindings(n1, {sel, pref});
  REQUIRE(got.size() == 1);
  CHECK(got[0].check == "placement.node-affinity");
  CHECK(got[0].hard);
  CHECK(got[0].pods == std::vector<std::string>{"shop/api-a"});
  auto details = nlohmann::json::parse(got[0].details_json);
  CHECK(details["node_selector_failed"][0]["key"] == "disk");
  CHECK(details["node_selector_failed"][0]["have"] == "hdd");
}

TEST_CASE("spread and colocated replicas need other nodes: never reported by the agent") {
  Node n1 = makeNode("n1", "z1");
  TopologySpreadConstraint c;
  c.max_skew = 1;
  c.topology_key = kZone;
  c.when_unsatisfiable = "DoNotSchedule";
  c.label_selector = matchLabels({{"app", "api"}});
  c.min_domains = 3;
  std::vector<Pod> pods;
  for (const char* name : {"api-a", "api-b", "api-c"}) {
    Pod p = replica(name);
    p.placement.topology_spread = {c};
    pods.push_back(p);
  }
  // On one node the engine sees one zone: with minDomains 3 the minimum is 0
  // and the skew is 3 (it cannot know the other zones' pods); colocated
  // replicas finds no other node to move a replica to.
  auto raw = rawOneNode(n1, pods);
  CHECK(findingsOf(raw, "placement.topology-spread").size() == 1);
  CHECK(findingsOf(raw, "placement.colocated-replicas").empty());
  CHECK(nodeLocalPlacementFindings(n1, pods).empty());
}

TEST_CASE("keepNodeLocalRules and decidableOnNode: the rule, field by field") {
  PlacementSpec s;
  s.pod_anti_affinity = PodAffinityRules{
      {term(kZone, {}), term(kHost, {})},
      {WeightedPodAffinityTerm{1, term("rack", {})}, WeightedPodAffinityTerm{2, term(kHost, {})}}};
  s.topology_spread = {TopologySpreadConstraint{}};
  s.node_selector = {{"disk", "ssd"}};
  agent::keepNodeLocalRules(s);
  REQUIRE(s.pod_anti_affinity->required.size() == 1);
  CHECK(s.pod_anti_affinity->required[0].topology_key == kHost);
  REQUIRE(s.pod_anti_affinity->preferred.size() == 1);
  CHECK(s.pod_anti_affinity->preferred[0].weight == 2);
  CHECK(s.topology_spread.empty());
  CHECK(s.node_selector.size() == 1);

  struct Case {
    std::string check;
    bool hard;
    bool decidable;
  };
  for (const auto& c : std::vector<Case>{{"placement.anti-affinity", true, true},
                                         {"placement.anti-affinity", false, true},
                                         {"placement.taint", false, true},
                                         {"placement.node-affinity", true, true},
                                         {"placement.node-affinity", false, false},
                                         {"placement.topology-spread", true, false},
                                         {"placement.colocated-replicas", false, false},
                                         {"workload.single-replica", false, false}}) {
    CAPTURE(c.check);
    CAPTURE(c.hard);
    Finding f;
    f.check = c.check;
    f.hard = c.hard;
    CHECK(agent::decidableOnNode(f) == c.decidable);
  }
}

TEST_CASE("a node with no violations reports nothing") {
  Node n1 = makeNode("n1", "z1");
  auto got = nodeLocalPlacementFindings(
      n1, {withRequiredAnti(replica("api-a"), kHost), replica("api-b", "n2")});
  CHECK(got.empty());
  CHECK(wireIds(got).empty());
}

// Not run by default: `unit_agent -tc='benchmark*' --no-skip`. The cost of
// one evaluation on a node with 110 pods (docs/benchmarks.md).
TEST_CASE("benchmark: node-local placement evaluation, 110 pods" * doctest::skip()) {
  Node n1 = makeNode("n1", "z1", {{"pool", "general"}});
  n1.taints = {{"dedicated", "general", "NoSchedule"}};
  std::vector<Pod> pods;
  for (int i = 0; i < 110; ++i) {
    const std::string app = "app" + std::to_string(i % 14);
    Pod p = makePod("ns" + std::to_string(i % 5), "pod-" + std::to_string(i), "n1",
                    {{"app", app}, {"pod-template-hash", "h" + std::to_string(i % 14)}},
                    "ReplicaSet", app + "-h");
    p.placement.pod_anti_affinity =
        PodAffinityRules{{},
                         {WeightedPodAffinityTerm{100, term(kHost, {{"app", app}})},
                          WeightedPodAffinityTerm{50, term(kZone, {{"app", app}})}}};
    p.placement.node_selector = {{"pool", "general"}};
    p.placement.tolerations = {{"dedicated", "Equal", "general", "NoSchedule", std::nullopt}};
    pods.push_back(p);
  }
  constexpr int kRuns = 2000;
  size_t findings = 0;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRuns; ++i) findings += nodeLocalPlacementFindings(n1, pods).size();
  auto us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() /
      kRuns;
  MESSAGE("110 pods: " << us << " us per evaluation (copy of the pods included), "
                       << findings / kRuns << " findings");
  CHECK(findings / kRuns == 80);  // pods sharing an app and a namespace
}
