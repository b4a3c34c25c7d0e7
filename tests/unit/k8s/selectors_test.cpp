#include <doctest/doctest.h>

#include "rampart/selectors.h"

using namespace rampart;

namespace {

Node node(Labels labels, std::vector<Taint> taints = {}) {
  Node n;
  n.name = "node-1";
  n.labels = std::move(labels);
  n.taints = std::move(taints);
  return n;
}

}  // namespace

TEST_CASE("label selectors: matchLabels and every operator") {
  Labels web{{"app", "web"}, {"tier", "front"}};
  struct Case {
    const char* name;
    LabelSelector selector;
    bool expected;
  };
  std::vector<Case> cases = {
      {"empty selector matches everything", {}, true},
      {"matchLabels equal", {{{"app", "web"}}, {}}, true},
      {"matchLabels different value", {{{"app", "db"}}, {}}, false},
      {"matchLabels missing key", {{{"zone", "a"}}, {}}, false},
      {"In hit", {{}, {{"tier", "In", {"back", "front"}}}}, true},
      {"In miss", {{}, {{"tier", "In", {"back"}}}}, false},
      {"In on a missing key", {{}, {{"zone", "In", {"a"}}}}, false},
      {"In with no values (invalid) matches nothing", {{}, {{"tier", "In", {}}}}, false},
      {"NotIn miss", {{}, {{"tier", "NotIn", {"back"}}}}, true},
      {"NotIn hit", {{}, {{"tier", "NotIn", {"front"}}}}, false},
      {"NotIn on a missing key matches", {{}, {{"zone", "NotIn", {"a"}}}}, true},
      {"NotIn with no values (invalid) matches nothing", {{}, {{"zone", "NotIn", {}}}}, false},
      {"Exists", {{}, {{"app", "Exists", {}}}}, true},
      {"Exists on a missing key", {{}, {{"zone", "Exists", {}}}}, false},
      {"DoesNotExist", {{}, {{"zone", "DoesNotExist", {}}}}, true},
      {"DoesNotExist on a present key", {{}, {{"app", "DoesNotExist", {}}}}, false},
      {"unknown operator matches nothing", {{}, {{"app", "Like", {"web"}}}}, false},
      {"labels AND expressions", {{{"app", "web"}}, {{"tier", "In", {"back"}}}}, false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(selectorMatches(c.selector, web) == c.expected);
  }
}

TEST_CASE("node selector requirements: labels, Gt/Lt, metadata.name") {
  Node n = node({{"zone", "a"}, {"cores", "16"}, {"gpu", "yes"}});
  struct Case {
    const char* name;
    NodeSelectorRequirement req;
    bool field;
    bool expected;
  };
  std::vector<Case> cases = {
      {"In", {"zone", "In", {"a", "b"}}, false, true},
      {"NotIn", {"zone", "NotIn", {"a"}}, false, false},
      {"Exists", {"gpu", "Exists", {}}, false, true},
      {"DoesNotExist", {"gpu", "DoesNotExist", {}}, false, false},
      {"Gt true", {"cores", "Gt", {"8"}}, false, true},
      {"Gt equal is false", {"cores", "Gt", {"16"}}, false, false},
      {"Lt true", {"cores", "Lt", {"32"}}, false, true},
      {"Gt on a non-number label", {"zone", "Gt", {"1"}}, false, false},
      {"Gt with two values (invalid)", {"cores", "Gt", {"1", "2"}}, false, false},
      {"Gt on a missing label", {"memory", "Gt", {"1"}}, false, false},
      {"field metadata.name In", {"metadata.name", "In", {"node-1"}}, true, true},
      {"field metadata.name NotIn", {"metadata.name", "NotIn", {"node-1"}}, true, false},
      {"unsupported field", {"spec.unschedulable", "In", {"true"}}, true, false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(nodeRequirementMatches(c.req, n, c.field) == c.expected);
  }
}

TEST_CASE("required node affinity: nodeSelector AND any term; empty term matches nothing") {
  Node n = node({{"zone", "a"}, {"disk", "ssd"}});
  PlacementSpec p;
  CHECK(fitsRequiredNodeAffinity(p, n));
  p.node_selector = {{"disk", "ssd"}};
  CHECK(fitsRequiredNodeAffinity(p, n));
  p.node_selector = {{"disk", "hdd"}};
  CHECK_FALSE(fitsRequiredNodeAffinity(p, n));
  p.node_selector = {};
  NodeAffinity na;
  na.required = {NodeSelectorTerm{{{"zone", "In", {"b"}}}, {}},
                 NodeSelectorTerm{{{"zone", "In", {"a"}}}, {}}};
  p.node_affinity = na;
  CHECK(fitsRequiredNodeAffinity(p, n));  // terms are ORed
  p.node_affinity->required = {NodeSelectorTerm{}};
  CHECK_FALSE(fitsRequiredNodeAffinity(p, n));
  p.node_affinity->required = {
      NodeSelectorTerm{{{"zone", "In", {"a"}}}, {{"metadata.name", "In", {"other"}}}}};
  CHECK_FALSE(fitsRequiredNodeAffinity(p, n));  // requirements of a term are ANDed
}

TEST_CASE("preferred node affinity sums the weights of matching terms") {
  Node n = node({{"zone", "a"}, {"disk", "ssd"}});
  PlacementSpec p;
  CHECK(preferredNodeAffinityScore(p, n) == 0);
  NodeAffinity na;
  na.preferred = {{10, NodeSelectorTerm{{{"zone", "In", {"a"}}}, {}}},
                  {5, NodeSelectorTerm{{{"disk", "In", {"hdd"}}}, {}}},
                  {30, NodeSelectorTerm{{{"disk", "Exists", {}}}, {}}}};
  p.node_affinity = na;
  CHECK(preferredNodeAffinityScore(p, n) == 40);
}

TEST_CASE("tolerations against taints") {
  Taint dedicated{"dedicated", "db", "NoSchedule"};
  struct Case {
    const char* name;
    Toleration t;
    bool expected;
  };
  std::vector<Case> cases = {
      {"Equal with the same value", {"dedicated", "Equal", "db", "NoSchedule", {}}, true},
      {"empty operator means Equal", {"dedicated", "", "db", "", {}}, true},
      {"Equal with another value", {"dedicated", "Equal", "web", "NoSchedule", {}}, false},
      {"Exists on the key", {"dedicated", "Exists", "", "", {}}, true},
      {"other effect", {"dedicated", "Exists", "", "NoExecute", {}}, false},
      {"empty key with Exists tolerates everything", {"", "Exists", "", "", {}}, true},
      {"other key", {"gpu", "Exists", "", "", {}}, false},
      {"unknown operator", {"dedicated", "Like", "db", "", {}}, false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(tolerates(c.t, dedicated) == c.expected);
  }
}

TEST_CASE("untolerated taints are filtered by effect and listed in node order") {
  Node n =
      node({}, {{"a", "1", "NoSchedule"}, {"b", "", "PreferNoSchedule"}, {"c", "", "NoExecute"}});
  PlacementSpec p;
  p.tolerations = {{"a", "Equal", "1", "NoSchedule", {}}};
  auto hard = untoleratedTaints(p, n, {"NoSchedule", "NoExecute"});
  REQUIRE(hard.size() == 1);
  CHECK(hard[0].key == "c");
  auto soft = untoleratedTaints(p, n, {"PreferNoSchedule"});
  REQUIRE(soft.size() == 1);
  CHECK(soft[0].key == "b");
  p.tolerations.push_back({"", "Exists", "", "", {}});
  CHECK(untoleratedTaints(p, n, {"NoSchedule", "NoExecute", "PreferNoSchedule"}).empty());
}
