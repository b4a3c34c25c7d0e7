// Workload-level, disruption-policy (PDB, HPA) and probe checks run by
// checkWorkloads, and the PDB arithmetic of engine_policy.h: one table row per
// rule boundary. Pod-level checks: pods_test.cpp. docs/checks.md, "HA/DR checks".
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine_index.h"
#include "engine_policy.h"
#include "engine_test_util.h"

using namespace rampart;
using namespace rampart::engine;
using namespace rampart::engine::testutil;

namespace {

std::vector<Finding> run(const Snapshot& snapshot, const Options& options = {}) {
  Index index(snapshot, options);
  std::vector<Finding> out;
  checkWorkloads(index, out);
  return out;
}

// Pod i of Deployment `deploy` (ReplicaSet "<deploy>-abc"), labelled app=<deploy>.
Pod deployPod(const std::string& deploy, int i, const std::string& node, bool ready = true,
              const std::string& ns = "shop") {
  Pod p = makePod(ns, deploy + "-abc-" + std::to_string(i), node, {{"app", deploy}}, "ReplicaSet",
                  deploy + "-abc");
  p.ready = ready;
  p.containers.push_back(makeContainer("app", ready));
  return p;
}

Workload deployment(const std::string& name, int32_t replicas, const std::string& ns = "shop") {
  Workload w = makeWorkload("Deployment", ns, name, replicas);
  w.selector = matchLabels({{"app", name}});
  w.template_labels = {{"app", name}};
  return w;
}

// Nodes n1, n2 in zone a and n3 in zone b (or a too with one_zone).
std::vector<Node> threeNodes(bool one_zone = false) {
  return {makeNode("n1", "a"), makeNode("n2", "a"), makeNode("n3", one_zone ? "a" : "b")};
}

PodDisruptionBudget pdbFor(const std::string& app, std::optional<IntOrPercent> min,
                           std::optional<IntOrPercent> max) {
  PodDisruptionBudget pdb = makePdb("shop", app + "-pdb", matchLabels({{"app", app}}));
  pdb.min_available = min;
  pdb.max_unavailable = max;
  return pdb;
}

IntOrPercent num(int32_t v) {
  return {v, false};
}
IntOrPercent pct(int32_t v) {
  return {v, true};
}

}  // namespace

TEST_CASE("workload replica checks: desired, ready counts, nodes and zones") {
  struct PodSpec {
    std::string node;
    bool ready;
  };
  struct Row {
    const char* name;
    std::string kind;
    int32_t replicas;
    std::vector<PodSpec> pods;
    bool one_zone;
    std::set<std::string> want;
  };
  const Row rows[] = {
      {"desired 0: scaled to zero on purpose", "Deployment", 0, {}, false, {}},
      {"desired 1, ready", "Deployment", 1, {{"n1", true}}, false, {"workload.single-replica"}},
      {"desired 1, not ready",
       "Deployment",
       1,
       {{"n1", false}},
       false,
       {"workload.single-replica", "workload.unavailable", "pod.not-ready"}},
      {"desired 2 on one node",
       "Deployment",
       2,
       {{"n1", true}, {"n1", true}},
       false,
       {"workload.replicas-on-one-node", "pdb.missing"}},
      {"desired 2 on two nodes of one zone, cluster has 2 zones",
       "Deployment",
       2,
       {{"n1", true}, {"n2", true}},
       false,
       {"workload.replicas-in-one-zone", "pdb.missing"}},
      {"desired 2 on two nodes, cluster has 1 zone",
       "Deployment",
       2,
       {{"n1", true}, {"n2", true}},
       true,
       {"pdb.missing"}},
      {"desired 2 over two zones",
       "Deployment",
       2,
       {{"n1", true}, {"n3", true}},
       false,
       {"pdb.missing"}},
      {"1 ready of 3: not 'on one node' with fewer than 2 ready",
       "Deployment",
       3,
       {{"n1", true}, {"n1", false}},
       false,
       {"pdb.missing", "pod.not-ready"}},
      {"desired 2, none ready",
       "Deployment",
       2,
       {{"n1", false}, {"n3", false}},
       false,
       {"workload.unavailable", "pdb.missing", "pod.not-ready"}},
      {"desired 2, no pods at all",
       "Deployment",
       2,
       {},
       false,
       {"workload.unavailable", "pdb.missing"}},
      {"StatefulSet of 1", "StatefulSet", 1, {{"n1", true}}, false, {"workload.single-replica"}},
      {"DaemonSet of 1: not replicated", "DaemonSet", 1, {{"n1", true}}, false, {}},
      {"DaemonSet of 2 on one node (impossible but not 'replicated')",
       "DaemonSet",
       2,
       {{"n1", true}, {"n1", true}},
       false,
       {}},
      {"DaemonSet, none ready",
       "DaemonSet",
       2,
       {{"n1", false}, {"n3", false}},
       false,
       {"workload.unavailable", "pod.not-ready"}},
      {"Job without pods: runs to completion", "Job", 1, {}, false, {}},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    Snapshot s;
    s.nodes = threeNodes(row.one_zone);
    Workload w = makeWorkload(row.kind, "shop", "web", row.replicas);
    w.template_labels = {{"app", "web"}};
    s.workloads.push_back(w);
    int i = 0;
    for (const PodSpec& ps : row.pods) {
      Pod p =
          makePod("shop", "web-" + std::to_string(i++), ps.node, {{"app", "web"}}, row.kind, "web");
      p.ready = ps.ready;
      s.pods.push_back(p);
    }
    CHECK(ids(run(s)) == row.want);
  }
}

TEST_CASE("workload findings: subjects, messages and details") {
  Snapshot s;
  s.nodes = threeNodes();
  s.workloads = {deployment("payments", 1), deployment("web", 3), deployment("api", 2)};
  s.pods = {deployPod("payments", 0, "n1"), deployPod("web", 0, "n1"), deployPod("web", 1, "n1"),
            deployPod("web", 2, "n1"),      deployPod("api", 0, "n1"), deployPod("api", 1, "n2")};
  s.pdbs = {pdbFor("web", num(1), std::nullopt), pdbFor("api", num(1), std::nullopt)};
  std::vector<Finding> all = run(s);

  auto single = findingsOf(all, "workload.single-replica");
  REQUIRE(single.size() == 1);
  CHECK(single[0].severity == Severity::kHigh);
  CHECK(single[0].subject == ObjectRef{"Deployment", "shop", "payments"});
  CHECK(single[0].workload == ObjectRef{"Deployment", "shop", "payments"});
  CHECK(single[0].message ==
        "shop/payments runs 1 replica: any node loss, drain or rollout takes it down");
  CHECK(single[0].pods == std::vector<std::string>{"shop/payments-abc-0"});

  auto one_node = findingsOf(all, "workload.replicas-on-one-node");
  REQUIRE(one_node.size() == 1);
  CHECK(one_node[0].severity == Severity::kCritical);
  CHECK(one_node[0].subject == ObjectRef{"Deployment", "shop", "web"});
  CHECK(one_node[0].message == "3/3 ready replicas of shop/web on node n1");
  CHECK(one_node[0].node == "n1");
  CHECK(one_node[0].details["node"] == "n1");
  CHECK(one_node[0].details["ready"] == 3);
  CHECK(one_node[0].details["replicas"] == 3);

  auto one_zone = findingsOf(all, "workload.replicas-in-one-zone");
  REQUIRE(one_zone.size() == 1);
  CHECK(one_zone[0].severity == Severity::kHigh);
  CHECK(one_zone[0].subject == ObjectRef{"Deployment", "shop", "api"});
  CHECK(one_zone[0].message ==
        "2/2 ready replicas of shop/api in zone a (on 2 nodes) while the cluster has 2 zones");
  CHECK(one_zone[0].zone == "a");
  CHECK(one_zone[0].details["zone"] == "a");
  CHECK(one_zone[0].details["ready"] == 2);
  CHECK(one_zone[0].details["replicas"] == 2);
  CHECK(one_zone[0].details["zones_available"] == 2);
  // web is also all in zone a, but all on one node: the stronger finding only.
  CHECK(findingsOf(all, "pdb.missing").empty());
}

TEST_CASE("workload.unavailable names what is down") {
  Snapshot s;
  s.nodes = threeNodes();
  s.workloads = {deployment("web", 2)};
  s.pods = {deployPod("web", 0, "n1", false), deployPod("web", 1, "n3", false)};
  auto f = findingsOf(run(s), "workload.unavailable");
  REQUIRE(f.size() == 1);
  CHECK(f[0].severity == Severity::kCritical);
  CHECK(f[0].message == "shop/web has 0/2 replicas ready (2 pod(s) exist): it is down");
  CHECK(f[0].details["replicas"] == 2);
  CHECK(f[0].details["ready"] == 0);
  CHECK(f[0].details["pods"] == 2);
  CHECK(f[0].pods == std::vector<std::string>{"shop/web-abc-0", "shop/web-abc-1"});
}

TEST_CASE("pdbDesiredHealthy follows the disruption controller's rounding") {
  struct Row {
    const char* name;
    std::optional<IntOrPercent> min, max;
    int32_t expected;
    int32_t want;
  };
  const Row rows[] = {
      {"minAvailable int", num(2), std::nullopt, 3, 2},
      {"minAvailable int above expected", num(5), std::nullopt, 3, 5},
      {"minAvailable 50% of 3 rounds up to 2", pct(50), std::nullopt, 3, 2},
      {"minAvailable 50% of 7 rounds up to 4 (the docs' example)", pct(50), std::nullopt, 7, 4},
      {"minAvailable 67% of 3 rounds up to 3", pct(67), std::nullopt, 3, 3},
      {"minAvailable 100%", pct(100), std::nullopt, 4, 4},
      {"maxUnavailable 1", std::nullopt, num(1), 3, 2},
      {"maxUnavailable 0", std::nullopt, num(0), 3, 3},
      {"maxUnavailable 0%", std::nullopt, pct(0), 3, 3},
      {"maxUnavailable 10% of 3 rounds up to 1", std::nullopt, pct(10), 3, 2},
      {"maxUnavailable above expected clamps to 0", std::nullopt, num(5), 3, 0},
      {"neither: no pod may go", std::nullopt, std::nullopt, 3, 3},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    PodDisruptionBudget pdb = makePdb("shop", "p", matchLabels({}));
    pdb.min_available = row.min;
    pdb.max_unavailable = row.max;
    CHECK(pdbDesiredHealthy(pdb, row.expected) == row.want);
  }
  PodDisruptionBudget pdb = makePdb("shop", "p", matchLabels({}));
  pdb.min_available = num(2);
  CHECK(pdbDisruptionsAllowed(pdb, 3, 3) == 1);
  CHECK(pdbDisruptionsAllowed(pdb, 3, 1) == 0);
  CHECK(pdbDisruptionsAllowed(pdb, 0, 3) == 0);  // the controller's expectedCount <= 0 rule
}

TEST_CASE("pdbPods, pdbExpectedPods and pdbsFor") {
  Snapshot s;
  s.nodes = threeNodes();
  s.workloads = {deployment("web", 3), deployment("idle", 2), deployment("other", 1, "other")};
  s.pods = {deployPod("web", 0, "n1"), deployPod("web", 1, "n2"),
            deployPod("other", 0, "n1", true, "other")};
  Pod bare = makePod("shop", "debug", "n1", {{"tier", "x"}});
  s.pods.push_back(bare);
  Options o;
  Index index(s, o);

  struct Row {
    const char* name;
    std::optional<LabelSelector> selector;
    size_t pods;
    int32_t expected;
  };
  const Row rows[] = {
      // web's Deployment wants 3 though 2 pods run: the workload's desired counts.
      {"selects web", matchLabels({{"app", "web"}}), 2, 3},
      {"absent selector selects nothing", std::nullopt, 0, 0},
      {"empty selector selects the whole namespace (web + bare pod)", matchLabels({}), 3, 4},
      {"other namespace's pods are not selected", matchLabels({{"app", "other"}}), 0, 0},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    PodDisruptionBudget pdb = makePdb("shop", "p", row.selector);
    CHECK(pdbPods(index, pdb).size() == row.pods);
    CHECK(pdbExpectedPods(index, pdb) == row.expected);
  }
  PodDisruptionBudget with_status = makePdb("shop", "p", matchLabels({{"app", "web"}}));
  with_status.has_status = true;
  with_status.expected_pods = 5;
  CHECK(pdbExpectedPods(index, with_status) == 5);
  with_status.expected_pods = 1;
  CHECK(pdbExpectedPods(index, with_status) == 3);

  // pdbsFor: by pods, or by template labels for a workload without pods.
  s.pdbs = {makePdb("shop", "web-pdb", matchLabels({{"app", "web"}})),
            makePdb("shop", "idle-pdb", matchLabels({{"app", "idle"}})),
            makePdb("other", "idle-elsewhere", matchLabels({{"app", "idle"}}))};
  Index index2(s, o);
  auto web = index2.workloads.find({"Deployment", "shop", "web"});
  auto idle = index2.workloads.find({"Deployment", "shop", "idle"});
  REQUIRE(web != index2.workloads.end());
  REQUIRE(idle != index2.workloads.end());
  auto web_pdbs = pdbsFor(index2, web->second);
  REQUIRE(web_pdbs.size() == 1);
  CHECK(web_pdbs[0]->name == "web-pdb");
  auto idle_pdbs = pdbsFor(index2, idle->second);
  REQUIRE(idle_pdbs.size() == 1);
  CHECK(idle_pdbs[0]->name == "idle-pdb");
}

TEST_CASE("pdb.missing and pdb.blocks-eviction over budget shapes") {
  struct Row {
    const char* name;
    std::optional<IntOrPercent> min, max;
    std::optional<LabelSelector> selector;
    std::set<std::string> want;
    std::string reason;  // for pdb.blocks-eviction
    int32_t desired;     // desired_healthy reported
  };
  const LabelSelector web = matchLabels({{"app", "web"}});
  const Row rows[] = {
      {"minAvailable 2 of 3", num(2), std::nullopt, web, {}, "", 0},
      {"minAvailable 3 of 3", num(3), std::nullopt, web, {"pdb.blocks-eviction"}, "budget", 3},
      {"minAvailable 4 of 3", num(4), std::nullopt, web, {"pdb.blocks-eviction"}, "budget", 4},
      {"minAvailable 50%", pct(50), std::nullopt, web, {}, "", 0},
      {"minAvailable 67% rounds up to 3",
       pct(67),
       std::nullopt,
       web,
       {"pdb.blocks-eviction"},
       "budget",
       3},
      {"minAvailable 100%", pct(100), std::nullopt, web, {"pdb.blocks-eviction"}, "budget", 3},
      {"maxUnavailable 1", std::nullopt, num(1), web, {}, "", 0},
      {"maxUnavailable 0", std::nullopt, num(0), web, {"pdb.blocks-eviction"}, "budget", 3},
      {"maxUnavailable 0%", std::nullopt, pct(0), web, {"pdb.blocks-eviction"}, "budget", 3},
      {"neither set", std::nullopt, std::nullopt, web, {"pdb.blocks-eviction"}, "no-budget", 3},
      {"absent selector: protects nothing",
       num(1),
       std::nullopt,
       std::nullopt,
       {"pdb.missing"},
       "",
       0},
      {"empty selector: the whole namespace", num(1), std::nullopt, matchLabels({}), {}, "", 0},
      {"selector matching nothing",
       num(1),
       std::nullopt,
       matchLabels({{"app", "nope"}}),
       {"pdb.missing"},
       "",
       0},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    Snapshot s;
    s.nodes = threeNodes();
    s.workloads = {deployment("web", 3)};
    s.pods = {deployPod("web", 0, "n1"), deployPod("web", 1, "n2"), deployPod("web", 2, "n3")};
    PodDisruptionBudget pdb = makePdb("shop", "web-pdb", row.selector);
    pdb.min_available = row.min;
    pdb.max_unavailable = row.max;
    s.pdbs = {pdb};
    std::vector<Finding> all = run(s);
    CHECK(ids(all) == row.want);
    for (const Finding& f : findingsOf(all, "pdb.blocks-eviction")) {
      CHECK(f.severity == Severity::kMedium);
      CHECK(f.subject == ObjectRef{"PodDisruptionBudget", "shop", "web-pdb"});
      CHECK(f.workload == ObjectRef{"Deployment", "shop", "web"});
      CHECK(f.details["reason"] == row.reason);
      CHECK(f.details["expected_pods"] == 3);
      CHECK(f.details["desired_healthy"] == row.desired);
      CHECK(f.pods.size() == 3);
    }
    for (const Finding& f : findingsOf(all, "pdb.missing")) {
      CHECK(f.severity == Severity::kMedium);
      CHECK(f.subject == ObjectRef{"Deployment", "shop", "web"});
      CHECK(f.details["replicas"] == 3);
    }
  }
}

TEST_CASE("pdb.blocks-eviction: messages, written values and controllers without scale") {
  Snapshot s;
  s.nodes = threeNodes();
  s.workloads = {deployment("web", 3)};
  s.pods = {deployPod("web", 0, "n1"), deployPod("web", 1, "n2"), deployPod("web", 2, "n3")};
  s.pdbs = {pdbFor("web", pct(100), std::nullopt)};
  auto f = findingsOf(run(s), "pdb.blocks-eviction");
  REQUIRE(f.size() == 1);
  CHECK(f[0].details["min_available"] == "100%");
  CHECK_FALSE(f[0].details.contains("max_unavailable"));
  CHECK(f[0].message ==
        "PodDisruptionBudget shop/web-pdb allows no eviction even with all 3 expected pods "
        "healthy (minAvailable 100%, desired healthy 3): a node drain blocks forever");

  s.pdbs = {pdbFor("web", std::nullopt, num(0))};
  f = findingsOf(run(s), "pdb.blocks-eviction");
  REQUIRE(f.size() == 1);
  CHECK(f[0].details["max_unavailable"] == 0);
  CHECK(f[0].details["max_unavailable"].is_number());

  // A DaemonSet has no scale subresource: percentages and maxUnavailable
  // fail the controller's sync, which fails safe to 0 disruptions allowed.
  Snapshot d;
  d.nodes = threeNodes();
  d.workloads = {makeWorkload("DaemonSet", "kube-system", "agent", 3)};
  for (const char* n : {"n1", "n2", "n3"}) {
    d.pods.push_back(makePod("kube-system", std::string("agent-") + n, n, {{"app", "agent"}},
                             "DaemonSet", "agent"));
  }
  struct Row {
    const char* name;
    std::optional<IntOrPercent> min, max;
    bool fires;
  };
  const Row rows[] = {
      {"DaemonSet, maxUnavailable 1", std::nullopt, num(1), true},
      {"DaemonSet, minAvailable 50%", pct(50), std::nullopt, true},
      {"DaemonSet, integer minAvailable 2 of 3", num(2), std::nullopt, false},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    PodDisruptionBudget pdb = makePdb("kube-system", "agent", matchLabels({{"app", "agent"}}));
    pdb.min_available = row.min;
    pdb.max_unavailable = row.max;
    d.pdbs = {pdb};
    f = findingsOf(run(d), "pdb.blocks-eviction");
    REQUIRE(f.size() == (row.fires ? 1u : 0u));
    if (!row.fires) continue;
    CHECK(f[0].details["reason"] == "no-scale-subresource");
    CHECK(f[0].workload == ObjectRef{"DaemonSet", "kube-system", "agent"});
  }
  d.pdbs[0].min_available.reset();
  d.pdbs[0].max_unavailable = num(1);
  f = findingsOf(run(d), "pdb.blocks-eviction");
  REQUIRE(f.size() == 1);
  CHECK(f[0].message ==
        "PodDisruptionBudget kube-system/agent uses maxUnavailable 1 over pods of DaemonSet "
        "kube-system/agent, which has no scale subresource: the disruption controller cannot "
        "count the expected pods and allows no eviction: a node drain blocks forever");

  // Bare pods only, with maxUnavailable: the controller expects 0 pods.
  Snapshot b;
  b.nodes = threeNodes();
  b.pods = {makePod("shop", "a", "n1", {{"app", "x"}}), makePod("shop", "b", "n2", {{"app", "x"}})};
  PodDisruptionBudget pdb = makePdb("shop", "x", matchLabels({{"app", "x"}}));
  pdb.max_unavailable = num(1);
  b.pdbs = {pdb};
  f = findingsOf(run(b), "pdb.blocks-eviction");
  REQUIRE(f.size() == 1);
  CHECK(f[0].details["reason"] == "unmanaged-pods");
  CHECK_FALSE(f[0].workload.has_value());  // two bare pods are two workloads
}

TEST_CASE("HPA checks: minReplicas and PDBs that block at the HPA minimum") {
  struct Row {
    const char* name;
    int32_t hpa_min;
    int32_t replicas;
    std::optional<IntOrPercent> min, max;
    bool with_pdb;
    std::set<std::string> want;
  };
  const Row rows[] = {
      {"min 1, no PDB",
       1,
       4,
       std::nullopt,
       std::nullopt,
       false,
       {"hpa.min-replicas-low", "pdb.missing"}},
      {"min 2, minAvailable 2 of 4: blocked at the minimum",
       2,
       4,
       num(2),
       std::nullopt,
       true,
       {"pdb.above-hpa-min"}},
      {"min 3, minAvailable 2", 3, 4, num(2), std::nullopt, true, {}},
      {"min 2, maxUnavailable 1", 2, 4, std::nullopt, num(1), true, {}},
      {"min 2, minAvailable 50%", 2, 4, pct(50), std::nullopt, true, {}},
      {"min 1, minAvailable 50%: 1 of 1 rounds up",
       1,
       4,
       pct(50),
       std::nullopt,
       true,
       {"hpa.min-replicas-low", "pdb.above-hpa-min"}},
      {"min 2, minAvailable 100%: already blocking today",
       2,
       4,
       pct(100),
       std::nullopt,
       true,
       {"pdb.blocks-eviction"}},
      {"target scaled to zero", 1, 0, num(2), std::nullopt, true, {}},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    Snapshot s;
    s.nodes = threeNodes();
    s.workloads = {deployment("web", row.replicas)};
    for (int i = 0; i < row.replicas; ++i) {
      s.pods.push_back(deployPod("web", i, i % 2 == 0 ? "n1" : "n3"));
    }
    if (row.with_pdb) s.pdbs = {pdbFor("web", row.min, row.max)};
    s.hpas = {makeHpa("shop", "web", "Deployment", "web", row.hpa_min, 10)};
    CHECK(ids(run(s)) == row.want);
  }

  Snapshot s;
  s.nodes = threeNodes();
  s.workloads = {deployment("web", 4)};
  for (int i = 0; i < 4; ++i) s.pods.push_back(deployPod("web", i, i % 2 == 0 ? "n1" : "n3"));
  s.pdbs = {pdbFor("web", num(1), std::nullopt)};
  s.hpas = {makeHpa("shop", "web-hpa", "Deployment", "web", 1, 1)};
  std::vector<Finding> all = run(s);
  auto low = findingsOf(all, "hpa.min-replicas-low");
  REQUIRE(low.size() == 1);
  CHECK(low[0].severity == Severity::kMedium);
  CHECK(low[0].subject == ObjectRef{"HorizontalPodAutoscaler", "shop", "web-hpa"});
  CHECK(low[0].workload == ObjectRef{"Deployment", "shop", "web"});
  CHECK(low[0].details["min_replicas"] == 1);
  CHECK(low[0].details["max_replicas"] == 1);
  CHECK(low[0].message ==
        "HorizontalPodAutoscaler shop/web-hpa may scale shop/web down to 1 replica "
        "(minReplicas 1): at quiet times a single node loss takes it down");
  CHECK(low[0].remediation.find("spec.maxReplicas") != std::string::npos);
  auto above = findingsOf(all, "pdb.above-hpa-min");
  REQUIRE(above.size() == 1);
  CHECK(above[0].subject == ObjectRef{"PodDisruptionBudget", "shop", "web-pdb"});
  CHECK(above[0].workload == ObjectRef{"Deployment", "shop", "web"});
  CHECK(above[0].details["min_available"] == 1);
  CHECK(above[0].details["min_replicas"] == 1);
  CHECK(above[0].details["expected_pods_at_min"] == 1);
  CHECK(above[0].details["desired_healthy_at_min"] == 1);
  CHECK(above[0].message ==
        "at the minimum of HorizontalPodAutoscaler shop/web-hpa (1 replica(s) of shop/web), "
        "PodDisruptionBudget shop/web-pdb (minAvailable 1) needs 1 of 1 pods healthy: no "
        "eviction is possible once the HPA scales down");
}

TEST_CASE("probe checks: Services, readiness and liveness") {
  struct Row {
    const char* name;
    std::string kind;
    Labels service_selector;
    std::string service_ns;
    bool readiness, liveness;
    bool init_without_probes;
    std::set<std::string> want;
  };
  const Labels web = {{"app", "web"}};
  const Row rows[] = {
      {"selected by a Service, no readiness",
       "StatefulSet",
       web,
       "shop",
       false,
       true,
       false,
       {"probe.readiness-missing"}},
      {"selected, both probes", "StatefulSet", web, "shop", true, true, false, {}},
      {"Service without selector", "StatefulSet", {}, "shop", false, true, false, {}},
      {"Service selector with a label the pod lacks",
       "StatefulSet",
       {{"app", "web"}, {"tier", "front"}},
       "shop",
       false,
       true,
       false,
       {}},
      {"Service in another namespace", "StatefulSet", web, "other", false, true, false, {}},
      {"no liveness", "StatefulSet", web, "shop", true, false, false, {"probe.liveness-missing"}},
      {"init containers need no probes", "StatefulSet", web, "shop", true, true, true, {}},
      {"Job pods: neither", "Job", web, "shop", false, false, false, {}},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    Snapshot s;
    s.nodes = threeNodes();
    for (int i = 0; i < 2; ++i) {
      Pod p =
          makePod("shop", "web-" + std::to_string(i), i == 0 ? "n1" : "n3", web, row.kind, "web");
      if (row.init_without_probes) {
        ContainerStatus init = makeContainer("setup", false, false, false);
        init.init = true;
        p.containers.push_back(init);
      }
      p.containers.push_back(makeContainer("app", true, row.readiness, row.liveness));
      s.pods.push_back(p);
    }
    Workload w = makeWorkload(row.kind, "shop", "web", 2);
    s.workloads = {w};
    s.pdbs = {pdbFor("web", num(1), std::nullopt)};
    s.services = {makeService(row.service_ns, "web", row.service_selector)};
    CHECK(ids(run(s)) == row.want);
  }

  // One finding per workload, with every container and Service named.
  Snapshot s;
  s.nodes = threeNodes();
  s.workloads = {deployment("web", 2)};
  for (int i = 0; i < 2; ++i) {
    Pod p = deployPod("web", i, i == 0 ? "n1" : "n3");
    p.containers = {makeContainer("app", true, false, true),
                    makeContainer("proxy", true, false, false)};
    s.pods.push_back(p);
  }
  s.pdbs = {pdbFor("web", num(1), std::nullopt)};
  s.services = {makeService("shop", "web", {{"app", "web"}}),
                makeService("shop", "web-internal", {{"app", "web"}}),
                makeService("shop", "manual", {})};
  std::vector<Finding> all = run(s);
  auto r = findingsOf(all, "probe.readiness-missing");
  REQUIRE(r.size() == 1);
  CHECK(r[0].severity == Severity::kMedium);
  CHECK(r[0].subject == ObjectRef{"Deployment", "shop", "web"});
  CHECK(r[0].details["containers"] == nlohmann::ordered_json::array({"app", "proxy"}));
  CHECK(r[0].details["services"] == nlohmann::ordered_json::array({"web", "web-internal"}));
  CHECK(r[0].pods == std::vector<std::string>{"shop/web-abc-0", "shop/web-abc-1"});
  CHECK(r[0].message ==
        "containers app, proxy of shop/web have no readiness probe while Service(s) web, "
        "web-internal route to its pods: a pod that is starting or broken still gets requests");
  auto l = findingsOf(all, "probe.liveness-missing");
  REQUIRE(l.size() == 1);
  CHECK(l[0].severity == Severity::kLow);
  CHECK(l[0].details["containers"] == nlohmann::ordered_json::array({"proxy"}));
  CHECK(l[0].message ==
        "container proxy of shop/web has no liveness probe: a hung process is never restarted");
}
