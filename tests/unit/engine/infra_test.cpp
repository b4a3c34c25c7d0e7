// Infrastructure checks (checkInfrastructure): nodes, zones, control plane,
// etcd. One table row per rule boundary. docs/checks.md, "HA/DR checks".
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "engine_index.h"
#include "engine_test_util.h"

using namespace rampart;
using namespace rampart::engine;
using namespace rampart::engine::testutil;

namespace {

std::vector<Finding> run(const Snapshot& snapshot) {
  Options options;
  Index index(snapshot, options);
  std::vector<Finding> out;
  checkInfrastructure(index, out);
  return out;
}

// The ids that fired with the given prefix, each once.
std::set<std::string> ids(const std::vector<Finding>& fs, const std::string& prefix) {
  std::set<std::string> out;
  for (const Finding& f : fs) {
    if (f.check.starts_with(prefix)) out.insert(f.check);
  }
  return out;
}

// A control-plane node and its static pod of `component`.
Node cpNode(const std::string& name, const std::string& zone) {
  Node n = makeNode(name, zone);
  n.control_plane = true;
  return n;
}

Pod cpPod(const std::string& component, const std::string& node) {
  return makePod("kube-system", component + "-" + node, node,
                 {{"component", component}, {"tier", "control-plane"}}, "Node", node);
}

}  // namespace

TEST_CASE("liveness: a silent agent joined with the API server's Ready condition and lease") {
  struct Row {
    const char* name;
    std::vector<NodeCondition> conditions;
    std::optional<int64_t> lease_age;  // seconds before now; nullopt: no lease
    int32_t lease_duration;
    bool silent;
    std::string want;  // "" = no liveness finding
    Severity severity;
  };
  const Row rows[] = {
      {"agent reporting: nothing", {{"Ready", "True", ""}}, 5, 40, false, "", Severity::kInfo},
      {"agent reporting, lease expired: still nothing (the API's own node.not-ready covers it "
       "once the node controller acts)",
       {{"Ready", "True", ""}},
       100,
       40,
       false,
       "",
       Severity::kInfo},
      {"silent and NotReady: down",
       {{"Ready", "Unknown", "NodeStatusUnknown"}},
       5,
       40,
       true,
       "node.down",
       Severity::kCritical},
      {"silent, Ready but the lease expired: down",
       {{"Ready", "True", ""}},
       41,
       40,
       true,
       "node.down",
       Severity::kCritical},
      {"silent, Ready, lease exactly at its duration: not yet expired",
       {{"Ready", "True", ""}},
       40,
       40,
       true,
       "node.partitioned-or-agent-failed",
       Severity::kHigh},
      {"silent, Ready, lease fresh: partition or agent failure",
       {{"Ready", "True", ""}},
       3,
       40,
       true,
       "node.partitioned-or-agent-failed",
       Severity::kHigh},
      {"silent, Ready, no lease: partition or agent failure",
       {{"Ready", "True", ""}},
       std::nullopt,
       40,
       true,
       "node.partitioned-or-agent-failed",
       Severity::kHigh},
      {"silent, lease duration unset: 40 s default",
       {{"Ready", "True", ""}},
       41,
       0,
       true,
       "node.down",
       Severity::kCritical},
      {"silent, no API view at all (no condition, no lease): agent-silent",
       {},
       std::nullopt,
       40,
       true,
       "node.agent-silent",
       Severity::kHigh},
      {"silent, no condition but a fresh lease: partition or agent failure",
       {},
       2,
       40,
       true,
       "node.partitioned-or-agent-failed",
       Severity::kHigh},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    Snapshot s;
    s.now_unix = 1'800'000'000;
    Node n = makeNode("n1", "a");
    n.conditions = row.conditions;
    s.nodes = {n, makeNode("n2", "b")};
    if (row.silent) s.silent_nodes.insert("n1");
    if (row.lease_age) {
      s.node_leases.push_back(
          {"kube-node-lease", "n1", "n1", row.lease_duration, s.now_unix - *row.lease_age});
    }
    // A lease of another namespace with the same name is not the node's.
    s.node_leases.push_back({"default", "n1", "x", 40, s.now_unix - 1000});
    s.pods = {makePod("shop", "a", "n1"), makePod("shop", "c", "n2")};
    std::vector<Finding> all = run(s);
    std::set<std::string> want;
    if (!row.want.empty()) want.insert(row.want);
    std::set<std::string> got;
    for (const char* c :
         {"node.down", "node.partitioned-or-agent-failed", "node.agent-silent", "node.not-ready"}) {
      if (!findingsOf(all, c).empty()) got.insert(c);
    }
    if (!row.silent && !row.conditions.empty() && row.conditions[0].status != "True") {
      want.insert("node.not-ready");
    }
    CHECK(got == want);
    if (row.want.empty()) continue;
    auto found = findingsOf(all, row.want);
    REQUIRE(found.size() == 1);
    const Finding& f = found[0];
    CHECK(f.severity == row.severity);
    CHECK(f.subject == ObjectRef{"Node", "", "n1"});
    CHECK(f.node == "n1");
    CHECK(f.zone == "a");
    CHECK(f.details["pods"] == 1);
    if (row.lease_age) {
      CHECK(f.details["lease_age_seconds"] == *row.lease_age);
    } else {
      CHECK(f.details["lease_age_seconds"].is_null());
    }
    // Scored: the cluster score owes points to it.
    bool scored = false;
    for (const Finding& g : evaluate(s, Options{}).findings) {
      if (g.check == row.want) scored = g.cluster_points > 0;
    }
    CHECK(scored);
    // The silent node's pod stops counting as ready at once.
    CHECK(f.message.find("1 active pod(s) on it no longer count as ready") != std::string::npos);
  }

  Snapshot s;
  s.now_unix = 1'800'000'000;
  Node n = makeNode("n1", "a");
  n.conditions = {{"Ready", "Unknown", "NodeStatusUnknown"}};
  s.nodes = {n};
  s.silent_nodes = {"n1"};
  s.pods = {makePod("shop", "a", "n1"), makePod("shop", "b", "n1")};
  auto down = findingsOf(run(s), "node.down");
  REQUIRE(down.size() == 1);
  CHECK(down[0].message ==
        "node n1 is down: its Rampart agent stopped reporting and the API server reports "
        "Ready=Unknown (NodeStatusUnknown); 2 active pod(s) on it no longer count as ready");
}

TEST_CASE("node checks: Ready, pressure, cordon") {
  struct Row {
    const char* name;
    std::vector<NodeCondition> conditions;
    bool silent;
    bool unschedulable;
    std::set<std::string> want;
    std::string status, reason;  // node.not-ready details
  };
  const Row rows[] = {
      {"Ready", {{"Ready", "True", "KubeletReady"}}, false, false, {}, "", ""},
      {"no Ready condition: taken as ready", {}, false, false, {}, "", ""},
      {"Ready False",
       {{"Ready", "False", "KubeletNotReady"}},
       false,
       false,
       {"node.not-ready"},
       "False",
       "KubeletNotReady"},
      {"Ready Unknown",
       {{"Ready", "Unknown", "NodeStatusUnknown"}},
       false,
       false,
       {"node.not-ready"},
       "Unknown",
       "NodeStatusUnknown"},
      {"Ready but its agent is silent: liveness, not node.not-ready",
       {{"Ready", "True", "KubeletReady"}},
       true,
       false,
       {"node.partitioned-or-agent-failed"},
       "",
       ""},
      {"MemoryPressure and DiskPressure",
       {{"Ready", "True", ""},
        {"MemoryPressure", "True", ""},
        {"DiskPressure", "True", ""},
        {"PIDPressure", "False", ""}},
       false,
       false,
       {"node.pressure"},
       "",
       ""},
      {"pressure False",
       {{"Ready", "True", ""}, {"MemoryPressure", "False", ""}},
       false,
       false,
       {},
       "",
       ""},
      {"cordoned", {{"Ready", "True", ""}}, false, true, {"node.cordoned"}, "", ""},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    Snapshot s;
    Node n = makeNode("n1", "a");
    n.conditions = row.conditions;
    n.unschedulable = row.unschedulable;
    s.nodes = {n, makeNode("n2", "b")};
    if (row.silent) s.silent_nodes.insert("n1");
    s.pods = {makePod("shop", "a", "n1"), makePod("shop", "b", "n1"), makePod("shop", "c", "n2")};
    s.pods[1].phase = PodPhase::kSucceeded;  // not active: not counted
    std::vector<Finding> all = run(s);
    CHECK(ids(all, "node.") == row.want);
    for (const Finding& f : all) {
      if (!f.check.starts_with("node.")) continue;
      CHECK(f.subject == ObjectRef{"Node", "", "n1"});
      CHECK(f.node == "n1");
      CHECK_FALSE(f.workload.has_value());
    }
    for (const Finding& f : findingsOf(all, "node.not-ready")) {
      CHECK(f.severity == Severity::kHigh);
      CHECK(f.details["status"] == row.status);
      CHECK(f.details["reason"] == row.reason);
      CHECK(f.details["pods"] == 1);
    }
  }

  Snapshot s;
  Node n = makeNode("n1", "a");
  n.conditions = {{"Ready", "Unknown", "NodeStatusUnknown"},
                  {"MemoryPressure", "True", ""},
                  {"PIDPressure", "True", ""}};
  n.unschedulable = true;
  s.nodes = {n};
  s.pods = {makePod("shop", "a", "n1"), makePod("shop", "b", "n1")};
  std::vector<Finding> all = run(s);
  auto nr = findingsOf(all, "node.not-ready");
  REQUIRE(nr.size() == 1);
  CHECK(nr[0].message ==
        "node n1 is NotReady (Ready=Unknown, NodeStatusUnknown), 2 active pod(s) "
        "on it");
  auto pr = findingsOf(all, "node.pressure");
  REQUIRE(pr.size() == 1);
  CHECK(pr[0].severity == Severity::kMedium);
  CHECK(pr[0].details["conditions"] ==
        nlohmann::ordered_json::array({"MemoryPressure", "PIDPressure"}));
  CHECK(pr[0].message ==
        "node n1 reports MemoryPressure, PIDPressure: the kubelet may evict pods "
        "and refuses new ones");
  auto co = findingsOf(all, "node.cordoned");
  REQUIRE(co.size() == 1);
  CHECK(co[0].severity == Severity::kLow);
  CHECK(co[0].details["pods"] == 2);
  CHECK(co[0].message ==
        "node n1 is cordoned (spec.unschedulable) with 2 active pod(s) on it: the "
        "cluster has less room to reschedule");
}

TEST_CASE("cluster.single-zone") {
  struct Row {
    const char* name;
    std::vector<std::string> zones;  // one node per entry, "" = unlabelled
    bool fires;
    std::vector<std::string> reported;
    int unlabeled;
  };
  const Row rows[] = {
      {"no nodes", {}, false, {}, 0},
      {"one zone", {"a", "a"}, true, {"a"}, 0},
      {"one zone and an unlabelled node", {"a", ""}, true, {"a"}, 1},
      {"no zone labels at all", {"", ""}, true, {}, 2},
      {"two zones", {"a", "b"}, false, {}, 0},
      {"two zones and an unlabelled node", {"a", "b", ""}, false, {}, 0},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    Snapshot s;
    int i = 0;
    for (const std::string& z : row.zones)
      s.nodes.push_back(makeNode("n" + std::to_string(i++), z));
    auto f = findingsOf(run(s), "cluster.single-zone");
    REQUIRE(f.size() == (row.fires ? 1u : 0u));
    if (!row.fires) continue;
    CHECK(f[0].severity == Severity::kHigh);
    CHECK(f[0].subject == ObjectRef{"Cluster", "", ""});
    CHECK(f[0].details["zones"] == nlohmann::ordered_json(row.reported));
    CHECK(f[0].details["unlabeled_nodes"] == row.unlabeled);
  }
  Snapshot s;
  s.nodes = {makeNode("n1", "a"), makeNode("n2", "a"), makeNode("n3")};
  auto f = findingsOf(run(s), "cluster.single-zone");
  REQUIRE(f.size() == 1);
  CHECK(f[0].message ==
        "all 2 zone-labelled nodes are in zone a (1 unlabelled): losing that zone loses the "
        "cluster");
}

TEST_CASE("control plane: instances, zones, visibility") {
  struct Row {
    const char* name;
    std::vector<std::pair<std::string, std::string>> apiservers;  // node, zone
    bool cp_node_without_pods;
    std::vector<std::string> worker_zones;
    std::set<std::string> want;
  };
  const Row rows[] = {
      {"managed: nothing visible", {}, false, {"a", "b"}, {"controlplane.not-visible"}},
      {"control-plane node, no pods listed", {}, true, {"a", "b"}, {}},
      {"one apiserver", {{"cp1", "a"}}, false, {"a", "b"}, {"controlplane.single-instance"}},
      {"two apiservers in one zone, cluster has 2",
       {{"cp1", "a"}, {"cp2", "a"}},
       false,
       {"a", "b"},
       {"controlplane.single-zone"}},
      {"two apiservers in one zone, cluster has 1",
       {{"cp1", "a"}, {"cp2", "a"}},
       false,
       {"a", "a"},
       {}},
      {"three apiservers over three zones",
       {{"cp1", "a"}, {"cp2", "b"}, {"cp3", "c"}},
       false,
       {"a"},
       {}},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    Snapshot s;
    int i = 0;
    for (const std::string& z : row.worker_zones) {
      s.nodes.push_back(makeNode("w" + std::to_string(i++), z));
    }
    if (row.cp_node_without_pods) s.nodes.push_back(cpNode("cp1", "a"));
    for (const auto& [node, zone] : row.apiservers) {
      s.nodes.push_back(cpNode(node, zone));
      s.pods.push_back(cpPod("kube-apiserver", node));
    }
    CHECK(ids(run(s), "controlplane.") == row.want);
  }

  Snapshot s;
  s.nodes = {cpNode("cp1", "a"), makeNode("w1", "b")};
  s.pods = {cpPod("kube-apiserver", "cp1"), cpPod("kube-scheduler", "cp1")};
  std::vector<Finding> all = run(s);
  auto single = findingsOf(all, "controlplane.single-instance");
  REQUIRE(single.size() == 2);  // apiserver and scheduler; the controller-manager is not visible
  CHECK(single[0].severity == Severity::kHigh);
  CHECK(single[0].subject == ObjectRef{"ControlPlane", "", "kube-apiserver"});
  CHECK(single[1].subject == ObjectRef{"ControlPlane", "", "kube-scheduler"});
  CHECK(single[0].details["instances"] == 1);
  CHECK(single[0].pods == std::vector<std::string>{"kube-system/kube-apiserver-cp1"});
  CHECK(single[0].message ==
        "kube-apiserver runs as a single instance (on node cp1): losing that node stops the "
        "control plane");

  Snapshot m;
  m.nodes = {makeNode("w1", "a")};
  auto nv = findingsOf(run(m), "controlplane.not-visible");
  REQUIRE(nv.size() == 1);
  CHECK(nv[0].severity == Severity::kInfo);
  CHECK(nv[0].subject == ObjectRef{"Cluster", "", ""});
  CHECK(nv[0].message.find("managed by the provider") != std::string::npos);

  Snapshot z;
  z.nodes = {cpNode("cp1", "a"), cpNode("cp2", "a"), makeNode("w1", "b")};
  z.pods = {cpPod("kube-controller-manager", "cp1"), cpPod("kube-controller-manager", "cp2")};
  auto sz = findingsOf(run(z), "controlplane.single-zone");
  REQUIRE(sz.size() == 1);
  CHECK(sz[0].severity == Severity::kMedium);
  CHECK(sz[0].subject == ObjectRef{"ControlPlane", "", "kube-controller-manager"});
  CHECK(sz[0].details["zone"] == "a");
  CHECK(sz[0].details["instances"] == 2);
  CHECK(sz[0].message ==
        "all 2 instances of kube-controller-manager are in zone a while the cluster has 2 zones");
}

TEST_CASE("etcd: member count and zone spread") {
  struct Row {
    const char* name;
    std::vector<std::string> member_zones;
    std::set<std::string> want;
    Severity count_severity;
    int quorum, tolerated;
    std::string spread_zone;
    int in_zone;
  };
  const Row rows[] = {
      {"1 member", {"a"}, {"etcd.member-count"}, Severity::kCritical, 1, 0, "", 0},
      {"2 members", {"a", "b"}, {"etcd.member-count"}, Severity::kHigh, 2, 0, "", 0},
      {"3 members over 3 zones", {"a", "b", "c"}, {}, Severity::kInfo, 2, 1, "", 0},
      {"3 members over 2 zones: 2 in a hold quorum",
       {"a", "a", "b"},
       {"etcd.zone-spread"},
       Severity::kInfo,
       2,
       1,
       "a",
       2},
      {"3 members in one zone",
       {"b", "b", "b"},
       {"etcd.zone-spread"},
       Severity::kInfo,
       2,
       1,
       "b",
       3},
      {"4 members over 2 zones: even, no zone holds 3",
       {"a", "a", "b", "b"},
       {"etcd.member-count"},
       Severity::kHigh,
       3,
       1,
       "",
       0},
      {"4 members, 3 in one zone",
       {"a", "a", "a", "b"},
       {"etcd.member-count", "etcd.zone-spread"},
       Severity::kHigh,
       3,
       1,
       "a",
       3},
      {"5 members 2+2+1", {"a", "a", "b", "b", "c"}, {}, Severity::kInfo, 3, 2, "", 0},
      {"5 members 3+2",
       {"a", "b", "a", "b", "a"},
       {"etcd.zone-spread"},
       Severity::kInfo,
       3,
       2,
       "a",
       3},
      {"3 members, zones unknown", {"", "", ""}, {}, Severity::kInfo, 2, 1, "", 0},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    Snapshot s;
    int i = 0;
    for (const std::string& z : row.member_zones) {
      std::string node = "cp" + std::to_string(i++);
      s.nodes.push_back(cpNode(node, z));
      s.pods.push_back(cpPod("etcd", node));
    }
    std::vector<Finding> all = run(s);
    CHECK(ids(all, "etcd.") == row.want);
    const int members = static_cast<int>(row.member_zones.size());
    for (const Finding& f : findingsOf(all, "etcd.member-count")) {
      CHECK(f.severity == row.count_severity);
      CHECK(f.subject == ObjectRef{"Etcd", "kube-system", "etcd"});
      CHECK(f.details["members"] == members);
      CHECK(f.details["quorum"] == row.quorum);
      CHECK(f.details["tolerated_failures"] == row.tolerated);
      CHECK(f.pods.size() == row.member_zones.size());
    }
    for (const Finding& f : findingsOf(all, "etcd.zone-spread")) {
      CHECK(f.severity == Severity::kHigh);
      CHECK(f.zone == row.spread_zone);
      CHECK(f.details["zone"] == row.spread_zone);
      CHECK(f.details["members_in_zone"] == row.in_zone);
      CHECK(f.details["members"] == members);
      CHECK(f.details["quorum"] == row.quorum);
    }
  }

  Snapshot s;
  for (int i = 0; i < 4; ++i) {
    std::string node = "cp" + std::to_string(i);
    s.nodes.push_back(cpNode(node, i < 3 ? "a" : "b"));
    s.pods.push_back(cpPod("etcd", node));
  }
  std::vector<Finding> all = run(s);
  auto count = findingsOf(all, "etcd.member-count");
  REQUIRE(count.size() == 1);
  CHECK(count[0].message ==
        "etcd has 4 member(s): quorum is 3, so it tolerates 1 member failure(s), the same as 3 "
        "members");
  auto spread = findingsOf(all, "etcd.zone-spread");
  REQUIRE(spread.size() == 1);
  CHECK(spread[0].message ==
        "3 of 4 etcd members are in zone a (quorum 3): losing that zone loses etcd quorum and the "
        "API");
}
