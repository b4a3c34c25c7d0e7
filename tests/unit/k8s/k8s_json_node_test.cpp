#include <doctest/doctest.h>

#include "k8s_test_util.h"
#include "rampart/k8s_json.h"

using namespace rampart;
using namespace rampart::k8s;
using namespace rampart::k8s::testutil;

TEST_CASE("EKS nodes in two zones") {
  auto r = decodeNodeList(fixture("apiserver-nodes_eks-v1.31_2zones.json"));
  REQUIRE_MESSAGE(r.has_value(), r.error().describe());
  CHECK(r->resource_version == "2568");
  REQUIRE(r->items.size() == 2);
  const Node& a = r->items[0];
  CHECK(a.name == "ip-10-0-10-170.ec2.internal");
  CHECK(!a.uid.empty());
  CHECK(a.zone == "us-east-1a");
  CHECK(a.region == "us-east-1");
  CHECK(r->items[1].zone == "us-east-1b");
  CHECK(a.labels.at("node.kubernetes.io/instance-type") == "t3.small");
  CHECK(a.taints.empty());
  CHECK_FALSE(a.control_plane);
  CHECK_FALSE(a.unschedulable);
  CHECK(a.kubelet_version == "v1.31.13-eks-ecaa3a6");
  CHECK(a.resource_version == "2161");
  REQUIRE(a.conditions.size() == 4);
  CHECK(a.conditions[0] == NodeCondition{"MemoryPressure", "False", "KubeletHasSufficientMemory"});
  CHECK(a.conditions[3] == NodeCondition{"Ready", "True", "KubeletReady"});
}

TEST_CASE("seven nodes of mixed versions: no zone label, region only, control plane") {
  auto r = decodeNodeList(fixture("apiserver-nodes_mixed-versions_7nodes.json"));
  REQUIRE_MESSAGE(r.has_value(), r.error().describe());
  CHECK(r->resource_version == "27195722");
  REQUIRE(r->items.size() == 7);
  const Node* old = byName(r->items, "repldev-marc");
  REQUIRE(old != nullptr);
  CHECK(old->kubelet_version == "v1.16.2");
  CHECK(old->zone.empty());
  CHECK(old->region.empty());
  int do_nodes = 0;
  for (const Node& n : r->items) {
    if (n.kubelet_version == "v1.19.3") {
      ++do_nodes;
      CHECK(n.region == "sfo2");
      CHECK(n.zone.empty());
      CHECK(n.conditions.size() == 5);
    }
  }
  CHECK(do_nodes == 5);
  const Node* cp = byName(r->items, "ip-172-31-21-92");
  REQUIRE(cp != nullptr);
  CHECK(cp->control_plane);
  CHECK(cp->kubelet_version == "v1.29.11");
  CHECK(cp->conditions[0] == NodeCondition{"NetworkUnavailable", "False", "FlannelIsUp"});
}

TEST_CASE("node: beta zone fallback, master label, taints, cordon") {
  auto r = decodeNode(R"({"kind":"Node","apiVersion":"v1",
    "metadata":{"name":"n1","uid":"u","resourceVersion":"9","labels":{
      "failure-domain.beta.kubernetes.io/zone":"z-old",
      "failure-domain.beta.kubernetes.io/region":"r-old",
      "node-role.kubernetes.io/master":""}},
    "spec":{"unschedulable":true,"taints":[
      {"key":"node-role.kubernetes.io/master","effect":"NoSchedule"},
      {"key":"dedicated","value":"db","effect":"NoExecute","timeAdded":"2024-01-01T00:00:00Z"}]},
    "status":{"conditions":[{"type":"Ready","status":"Unknown","reason":"NodeStatusUnknown"}],
              "nodeInfo":{"kubeletVersion":"v1.30.0"}}})");
  REQUIRE_MESSAGE(r.has_value(), r.error().describe());
  CHECK(r->zone == "z-old");
  CHECK(r->region == "r-old");
  CHECK(r->control_plane);
  CHECK(r->unschedulable);
  CHECK(r->taints == std::vector<Taint>{{"node-role.kubernetes.io/master", "", "NoSchedule"},
                                        {"dedicated", "db", "NoExecute"}});
  CHECK(r->conditions == std::vector<NodeCondition>{{"Ready", "Unknown", "NodeStatusUnknown"}});

  auto both = decodeNode(R"({"metadata":{"name":"n","labels":{
      "topology.kubernetes.io/zone":"new","failure-domain.beta.kubernetes.io/zone":"old",
      "node-role.kubernetes.io/control-plane":""}}})");
  REQUIRE(both.has_value());
  CHECK(both->zone == "new");
  CHECK(both->control_plane);
}

TEST_CASE("decodeNode on a list item equals the list's decoding") {
  const std::string file = "apiserver-nodes_mixed-versions_7nodes.json";
  auto l = decodeNodeList(fixture(file));
  REQUIRE(l.has_value());
  for (size_t i = 0; i < l->items.size(); ++i) {
    auto n = decodeNode(listItem(file, i));
    REQUIRE_MESSAGE(n.has_value(), n.error().describe());
    CHECK(*n == l->items[i]);
  }
}
