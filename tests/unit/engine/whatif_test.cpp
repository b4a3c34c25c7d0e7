// Failure-domain what-if: table cases for each question, and the property
// that a domain's outage set is exactly the workloads whose ready pods all
// sit in it, checked by brute force on random clusters.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>

#include "engine_index.h"
#include "engine_test_util.h"

using namespace rampart;
using namespace rampart::engine;
using namespace rampart::engine::testutil;

namespace {

WhatIf run(const Snapshot& s) {
  Options o;
  Index index(s, o);
  return computeWhatIf(index);
}

const DomainImpact& domain(const std::vector<DomainImpact>& v, const std::string& name) {
  auto it = std::find_if(v.begin(), v.end(), [&](const DomainImpact& d) { return d.name == name; });
  REQUIRE(it != v.end());
  return *it;
}

// Three zones a/b/c with two nodes each: a1 a2 b1 b2 c1 c2.
Snapshot threeZones() {
  Snapshot s;
  for (const char* z : {"a", "b", "c"}) {
    for (int i = 1; i <= 2; ++i) {
      s.nodes.push_back(makeNode(std::string(z) + std::to_string(i), std::string("zone-") + z));
      s.nodes.back().region = "r1";
    }
  }
  return s;
}

void addReplicas(Snapshot& s, const std::string& name, const std::vector<std::string>& nodes,
                 int32_t desired) {
  s.workloads.push_back(makeWorkload("StatefulSet", "shop", name, desired));
  for (size_t i = 0; i < nodes.size(); ++i) {
    s.pods.push_back(makePod("shop", name + "-" + std::to_string(i), nodes[i], {{"app", name}},
                             "StatefulSet", name));
  }
}

}  // namespace

TEST_CASE("outage: workloads whose ready replicas all sit in the lost domain") {
  Snapshot s = threeZones();
  addReplicas(s, "one-node", {"a1", "a1"}, 2);
  addReplicas(s, "one-zone", {"a1", "a2"}, 2);
  addReplicas(s, "spread", {"a1", "b1", "c1"}, 3);
  addReplicas(s, "single", {"b2"}, 1);
  WhatIf w = run(s);
  REQUIRE(w.nodes.size() == 6);
  REQUIRE(w.zones.size() == 3);
  REQUIRE(w.regions.size() == 1);

  std::vector<ObjectRef> a1 = {{"StatefulSet", "shop", "one-node"}};
  CHECK(domain(w.nodes, "a1").outage == a1);
  CHECK(domain(w.nodes, "a2").outage.empty());
  CHECK(domain(w.nodes, "b2").outage == std::vector<ObjectRef>{{"StatefulSet", "shop", "single"}});
  CHECK(domain(w.zones, "zone-a").outage ==
        std::vector<ObjectRef>{{"StatefulSet", "shop", "one-node"},
                               {"StatefulSet", "shop", "one-zone"}});
  CHECK(domain(w.zones, "zone-a").nodes == std::vector<std::string>{"a1", "a2"});
  CHECK(domain(w.zones, "zone-c").outage.empty());
  CHECK(domain(w.regions, "r1").outage.size() == 4);
}

TEST_CASE("a pod that is not ready, or on a NotReady or silent node, is already lost") {
  Snapshot s = threeZones();
  addReplicas(s, "web", {"a1", "b1"}, 2);
  SUBCASE("not ready pod elsewhere") {
    s.pods[1].ready = false;
  }
  SUBCASE("its node is NotReady") {
    s.nodes[2].conditions[0].status = "False";
  }
  SUBCASE("its node's agent is silent") {
    s.silent_nodes.insert("b1");
  }
  WhatIf w = run(s);
  CHECK(domain(w.nodes, "a1").outage == std::vector<ObjectRef>{{"StatefulSet", "shop", "web"}});
}

TEST_CASE("below_pdb: the healthy count would drop below desiredHealthy") {
  Snapshot s = threeZones();
  addReplicas(s, "web", {"a1", "a2", "b1", "c1"}, 4);
  PodDisruptionBudget pdb = makePdb("shop", "web", matchLabels({{"app", "web"}}));
  pdb.min_available = IntOrPercent{3, false};
  s.pdbs.push_back(pdb);
  WhatIf w = run(s);
  // Losing one pod leaves 3 >= 3; losing zone-a's two leaves 2 < 3.
  CHECK(domain(w.nodes, "a1").below_pdb.empty());
  CHECK(domain(w.zones, "zone-a").below_pdb ==
        std::vector<ObjectRef>{{"PodDisruptionBudget", "shop", "web"}});
  CHECK(domain(w.zones, "zone-b").below_pdb.empty());
  CHECK(domain(w.zones, "zone-a").outage.empty());
}

TEST_CASE("quorum: etcd members and StatefulSets marked rampart.io/quorum") {
  Snapshot s = threeZones();
  for (const char* node : {"a1", "a2", "b1"}) {
    Pod p = makePod("kube-system", std::string("etcd-") + node, node,
                    {{"component", "etcd"}, {"tier", "control-plane"}}, "Node", node);
    s.pods.push_back(p);
  }
  addReplicas(s, "zk", {"a1", "b1", "c1"}, 3);
  s.workloads.back().annotations["rampart.io/quorum"] = "true";
  addReplicas(s, "plain", {"a1", "b1", "c1"}, 3);
  WhatIf w = run(s);
  ObjectRef etcd{"Etcd", "kube-system", "etcd"};
  // 3 members, quorum 2: zone-a holds 2, so its loss leaves 1.
  CHECK(domain(w.zones, "zone-a").quorum_lost == std::vector<ObjectRef>{etcd});
  CHECK(domain(w.zones, "zone-b").quorum_lost.empty());
  CHECK(domain(w.nodes, "a1").quorum_lost.empty());
  // zk: 3 of 3 ready, quorum 2; one zone loss leaves 2: kept. The region
  // loss takes everything.
  CHECK(domain(w.regions, "r1").quorum_lost ==
        std::vector<ObjectRef>{etcd, {"StatefulSet", "shop", "zk"}});
  // A pod of zk already down: losing another zone loses its quorum.
  s.pods[s.pods.size() - 6].ready = false;  // zk-0 on a1
  WhatIf w2 = run(s);
  CHECK(domain(w2.zones, "zone-b").quorum_lost ==
        std::vector<ObjectRef>{{"StatefulSet", "shop", "zk"}});
}

TEST_CASE("whatif findings: not surviving a node or zone loss is a cluster finding") {
  Snapshot s = threeZones();
  addReplicas(s, "single", {"b2"}, 1);
  addReplicas(s, "zonal", {"a1", "a2"}, 2);
  Options o;
  Index index(s, o);
  WhatIf w = computeWhatIf(index);
  std::vector<Finding> out;
  checkWhatIf(index, w, out);
  auto node = findingsOf(out, "whatif.node-loss");
  auto zone = findingsOf(out, "whatif.zone-loss");
  REQUIRE(node.size() == 1);
  REQUIRE(zone.size() == 1);
  CHECK(node[0].severity == Severity::kCritical);
  CHECK(node[0].subject == ObjectRef{"Cluster", "", ""});
  CHECK(node[0].details["workloads_at_risk"] == 1);
  CHECK(node[0].message ==
        "the cluster does not survive the loss of any single node: 1 of 6 nodes would take down "
        "1 workload(s); losing node b2 takes down shop/single");
  CHECK(zone[0].details["workloads_at_risk"] == 2);
  CHECK(zone[0].details["domains"][0]["name"] == "zone-a");

  // One zone only: cluster.single-zone speaks for it, no whatif.zone-loss.
  Snapshot one;
  one.nodes = {makeNode("n1", "z"), makeNode("n2", "z")};
  addReplicas(one, "web", {"n1", "n2"}, 2);
  Index index1(one, o);
  std::vector<Finding> out1;
  checkWhatIf(index1, computeWhatIf(index1), out1);
  CHECK(out1.empty());
}

TEST_CASE("property: a domain's outage set is what brute force finds, on random clusters") {
  std::mt19937 rng(31337);
  for (int round = 0; round < 200; ++round) {
    Snapshot s;
    int zones = 1 + static_cast<int>(rng() % 4);
    int nodes = 1 + static_cast<int>(rng() % 12);
    for (int i = 0; i < nodes; ++i) {
      // Some nodes have no zone label at all.
      std::string zone = rng() % 8 == 0 ? "" : "z" + std::to_string(rng() % zones);
      s.nodes.push_back(makeNode("n" + std::to_string(i), zone));
      if (rng() % 10 == 0) s.nodes.back().conditions[0].status = "Unknown";
    }
    if (rng() % 5 == 0) s.silent_nodes.insert("n0");
    int workloads = 1 + static_cast<int>(rng() % 10);
    for (int w = 0; w < workloads; ++w) {
      std::string name = "w" + std::to_string(w);
      const char* kind = rng() % 3 == 0 ? "Deployment" : "StatefulSet";
      int replicas = static_cast<int>(rng() % 5);
      s.workloads.push_back(makeWorkload(kind, "ns", name, replicas));
      for (int r = 0; r < replicas; ++r) {
        // A few pods on a node absent from the snapshot.
        std::string node = rng() % 15 == 0 ? "ghost" : "n" + std::to_string(rng() % nodes);
        Pod p = makePod("ns", name + "-" + std::to_string(r), node, {},
                        kind == std::string("Deployment") ? "ReplicaSet" : "StatefulSet",
                        kind == std::string("Deployment") ? name + "-abc" : name);
        p.ready = rng() % 5 != 0;
        p.terminating = rng() % 12 == 0;
        if (rng() % 12 == 0) p.phase = PodPhase::kSucceeded;
        s.pods.push_back(p);
      }
    }
    WhatIf w = run(s);

    // Brute force, written from the definitions rather than from the engine.
    auto node_ok = [&](const std::string& name) {
      auto it = std::find_if(s.nodes.begin(), s.nodes.end(),
                             [&](const Node& n) { return n.name == name; });
      if (s.silent_nodes.contains(name)) return false;
      return it == s.nodes.end() || it->conditions[0].status == "True";
    };
    auto zone_of_node = [&](const std::string& name) -> std::string {
      for (const Node& n : s.nodes) {
        if (n.name == name) return n.zone;
      }
      return "";
    };
    auto is_ready = [&](const Pod& p) {
      return p.phase == PodPhase::kRunning && p.ready && !p.terminating && node_ok(p.node_name);
    };
    auto expected = [&](auto in_domain) {
      std::vector<ObjectRef> out;
      for (const Workload& wl : s.workloads) {
        int before = 0, after = 0;
        for (const Pod& p : s.pods) {
          bool mine = p.owners[0].kind == "StatefulSet" ? p.owners[0].name == wl.name
                                                        : p.owners[1].name == wl.name;
          if (!mine || !is_ready(p)) continue;
          ++before;
          if (!in_domain(p)) ++after;
        }
        if (before > 0 && after == 0) out.push_back({wl.kind, "ns", wl.name});
      }
      std::sort(out.begin(), out.end());
      return out;
    };
    CAPTURE(round);
    std::set<std::string> zone_names;
    for (const Node& n : s.nodes) {
      if (!n.zone.empty()) zone_names.insert(n.zone);
    }
    REQUIRE(w.zones.size() == zone_names.size());
    for (const DomainImpact& d : w.zones) {
      CAPTURE(d.name);
      CHECK(d.outage ==
            expected([&](const Pod& p) { return zone_of_node(p.node_name) == d.name; }));
    }
    REQUIRE(w.nodes.size() == s.nodes.size());
    for (const DomainImpact& d : w.nodes) {
      CAPTURE(d.name);
      CHECK(d.outage == expected([&](const Pod& p) { return p.node_name == d.name; }));
    }
  }
}
