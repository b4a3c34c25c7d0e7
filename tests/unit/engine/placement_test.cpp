// The placement checks (engine_placement*.cpp): one row per rule and per
// selector path, on small snapshots built in code.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <random>

#include "engine_index.h"
#include "engine_placement.h"
#include "engine_test_util.h"

using namespace rampart;
using namespace rampart::engine;
using namespace rampart::engine::testutil;
using json = nlohmann::ordered_json;

namespace {

const std::string kHost = "kubernetes.io/hostname";
const std::string kZone = "topology.kubernetes.io/zone";

// Zones a (a1, a2), b (b1), c (c1); every node ready and untainted.
Snapshot cluster() {
  Snapshot s;
  s.nodes = {makeNode("a1", "a"), makeNode("a2", "a"), makeNode("b1", "b"), makeNode("c1", "c")};
  return s;
}

Node& nodeNamed(Snapshot& s, const std::string& name) {
  return *std::find_if(s.nodes.begin(), s.nodes.end(),
                       [&](const Node& n) { return n.name == name; });
}

// A replica of Deployment shop/web (through ReplicaSet web-abc).
Pod web(std::string name, std::string node, Labels extra = {}) {
  Labels labels{{"app", "web"}};
  labels.insert(extra.begin(), extra.end());
  return makePod("shop", std::move(name), std::move(node), std::move(labels), "ReplicaSet",
                 "web-abc");
}

PodAffinityTerm term(std::optional<LabelSelector> selector, std::string key) {
  PodAffinityTerm t;
  t.label_selector = std::move(selector);
  t.topology_key = std::move(key);
  return t;
}

Pod anti(Pod p, PodAffinityTerm t, bool required = true) {
  if (!p.placement.pod_anti_affinity) p.placement.pod_anti_affinity.emplace();
  if (required) {
    p.placement.pod_anti_affinity->required.push_back(std::move(t));
  } else {
    p.placement.pod_anti_affinity->preferred.push_back({100, std::move(t)});
  }
  return p;
}

TopologySpreadConstraint spread(std::string key, int32_t max_skew = 1,
                                std::string when = "DoNotSchedule") {
  TopologySpreadConstraint c;
  c.topology_key = std::move(key);
  c.max_skew = max_skew;
  c.when_unsatisfiable = std::move(when);
  c.label_selector = matchLabels({{"app", "web"}});
  return c;
}

Pod spreadWeb(std::string name, std::string node, TopologySpreadConstraint c, Labels extra = {}) {
  Pod p = web(std::move(name), std::move(node), std::move(extra));
  p.placement.topology_spread.push_back(std::move(c));
  return p;
}

// A pod of Deployment shop/cart.
Pod cart(std::string name, std::string node) {
  return makePod("shop", std::move(name), std::move(node), {{"app", "cart"}}, "ReplicaSet",
                 "cart-x1");
}

Pod withSelector(Pod p, Labels selector) {
  p.placement.node_selector = std::move(selector);
  return p;
}

Pod preferZone(Pod p, std::string zone, int32_t weight) {
  if (!p.placement.node_affinity) p.placement.node_affinity.emplace();
  PreferredSchedulingTerm t;
  t.weight = weight;
  t.preference.match_expressions.push_back({kZone, "In", {std::move(zone)}});
  p.placement.node_affinity->preferred.push_back(std::move(t));
  return p;
}

Snapshot tainted(std::vector<Taint> taints, std::vector<Toleration> tolerations = {}) {
  Snapshot s = cluster();
  nodeNamed(s, "a1").taints = std::move(taints);
  Pod p = web("web-1", "a1");
  p.placement.tolerations = std::move(tolerations);
  s.pods.push_back(std::move(p));
  return s;
}

struct Want {
  std::string subject;  // ObjectRef::str()
  bool hard = false;
  Severity severity = Severity::kInfo;
  std::vector<std::string> pods;
  json details = json::object();  // every key here must equal the finding's
};

struct Row {
  const char* name;
  std::function<Snapshot()> build;
  std::string check;
  std::vector<Want> want;
};

void runRows(const std::vector<Row>& rows) {
  for (const Row& row : rows) {
    const std::string name = row.name;
    CAPTURE(name);
    Snapshot s = row.build();
    Options opts;
    Index index(s, opts);
    std::vector<Finding> out;
    checkPlacement(index, out);
    std::vector<Finding> got = findingsOf(out, row.check);
    CHECK(got.size() == row.want.size());
    if (got.size() != row.want.size()) continue;
    for (size_t i = 0; i < got.size(); ++i) {
      const Finding& f = got[i];
      const Want& w = row.want[i];
      CAPTURE(f.message);
      CHECK(f.subject.str() == w.subject);
      CHECK(f.hard == w.hard);
      CHECK(f.severity == w.severity);
      std::vector<std::string> pods = f.pods;
      std::sort(pods.begin(), pods.end());
      CHECK(pods == w.pods);
      for (const auto& [key, value] : w.details.items()) {
        CAPTURE(key);
        REQUIRE(f.details.contains(key));
        CHECK(f.details[key] == value);
      }
      CHECK(f.points == 0);
      CHECK_FALSE(f.message.empty());
      CHECK_FALSE(f.remediation.empty());
    }
  }
}

json termHit(const std::string& key, const std::string& domain, bool required,
             std::vector<std::string> pods) {
  return {
      {"topology_key", key}, {"domain", domain}, {"required", required}, {"matching_pods", pods}};
}

}  // namespace

TEST_CASE("placement.anti-affinity: selector operators, namespaces, matchLabelKeys, domains") {
  const std::string check = "placement.anti-affinity";
  const Severity high = Severity::kHigh;
  std::vector<Row> rows = {
      {"required In on the hostname key: the other replica on the node matches",
       [] {
         Snapshot s = cluster();
         s.pods = {anti(web("web-1", "a1"), term(matchExpression("app", "In", {"web"}), kHost)),
                   web("web-2", "a1"), web("web-3", "b1")};
         return s;
       },
       check,
       {{"Pod shop/web-1", true, high, {"shop/web-1", "shop/web-2"},
         {{"terms", json::array({termHit(kHost, "a1", true, {"shop/web-2"})})}}}}},
      {"NotIn matches the pods without the value, including those lacking the key",
       [] {
         Snapshot s = cluster();
         s.pods = {anti(web("web-1", "a1"), term(matchExpression("app", "NotIn", {"web"}), kHost)),
                   web("web-2", "a1"), makePod("shop", "db-1", "a1", {{"app", "db"}}),
                   makePod("shop", "plain", "a1")};
         return s;
       },
       check,
       {{"Pod shop/web-1", true, high, {"shop/db-1", "shop/plain", "shop/web-1"},
         {{"terms", json::array({termHit(kHost, "a1", true, {"shop/db-1", "shop/plain"})})}}}}},
      {"Exists matches only pods carrying the key",
       [] {
         Snapshot s = cluster();
         s.pods = {anti(web("web-1", "a1"), term(matchExpression("tier", "Exists"), kHost)),
                   makePod("shop", "front", "a1", {{"tier", "front"}}), makePod("shop", "x", "a1")};
         return s;
       },
       check,
       {{"Pod shop/web-1", true, high, {"shop/front", "shop/web-1"},
         {{"terms", json::array({termHit(kHost, "a1", true, {"shop/front"})})}}}}},
      {"DoesNotExist matches only pods without the key",
       [] {
         Snapshot s = cluster();
         s.pods = {
             anti(web("web-1", "a1", {{"tier", "t"}}),
                  term(matchExpression("tier", "DoesNotExist"), kHost)),
             makePod("shop", "front", "a1", {{"tier", "front"}}), makePod("shop", "x", "a1")};
         return s;
       },
       check,
       {{"Pod shop/web-1", true, high, {"shop/web-1", "shop/x"},
         {{"terms", json::array({termHit(kHost, "a1", true, {"shop/x"})})}}}}},
      {"zone key: a replica on another node of the same zone violates, other zones do not",
       [] {
         Snapshot s = cluster();
         s.pods = {anti(web("web-1", "a1"), term(matchLabels({{"app", "web"}}), kZone)),
                   web("web-2", "a2"), web("web-3", "b1")};
         return s;
       },
       check,
       {{"Pod shop/web-1", true, high, {"shop/web-1", "shop/web-2"},
         {{"terms", json::array({termHit(kZone, "a", true, {"shop/web-2"})})}}}}},
      {"replicas in different domains: nothing",
       [] {
         Snapshot s = cluster();
         s.pods = {anti(web("web-1", "a1"), term(matchLabels({{"app", "web"}}), kZone)),
                   web("web-2", "b1"), web("web-3", "c1")};
         return s;
       },
       check,
       {}},
      {"topology key missing on the pod's node: no domain, no violation",
       [] {
         Snapshot s = cluster();
         s.pods = {anti(web("web-1", "a1"), term(matchLabels({{"app", "web"}}), "rack")),
                   web("web-2", "a1")};
         return s;
       },
       check,
       {}},
      {"topology key missing on the other pod's node: no violation",
       [] {
         Snapshot s = cluster();
         nodeNamed(s, "a1").labels["rack"] = "r1";
         s.pods = {anti(web("web-1", "a1"), term(matchLabels({{"app", "web"}}), "rack")),
                   web("web-2", "a2")};
         return s;
       },
       check,
       {}},
      {"namespaces list: only the listed namespace, not the pod's own",
       [] {
         Snapshot s = cluster();
         PodAffinityTerm t = term(matchLabels({{"app", "web"}}), kHost);
         t.namespaces = {"other"};
         s.pods = {anti(web("web-1", "a1"), t), web("web-2", "a1"),
                   makePod("other", "web-9", "a1", {{"app", "web"}})};
         return s;
       },
       check,
       {{"Pod shop/web-1", true, high, {"other/web-9", "shop/web-1"},
         {{"terms", json::array({termHit(kHost, "a1", true, {"other/web-9"})})}}}}},
      {"neither namespaces nor namespaceSelector: the pod's own namespace only",
       [] {
         Snapshot s = cluster();
         s.pods = {anti(web("web-1", "a1"), term(matchLabels({{"app", "web"}}), kHost)),
                   makePod("other", "web-9", "a1", {{"app", "web"}})};
         return s;
       },
       check,
       {}},
      {"empty namespaceSelector: every namespace",
       [] {
         Snapshot s = cluster();
         PodAffinityTerm t = term(matchLabels({{"app", "web"}}), kHost);
         t.namespace_selector = LabelSelector{};
         s.pods = {anti(web("web-1", "a1"), t), web("web-2", "a1"),
                   makePod("other", "web-9", "a1", {{"app", "web"}})};
         return s;
       },
       check,
       {{"Pod shop/web-1", true, high, {"other/web-9", "shop/web-1", "shop/web-2"},
         {{"terms",
           json::array({termHit(kHost, "a1", true, {"other/web-9", "shop/web-2"})})}}}}},
      {"matching namespaceSelector: namespaces whose labels match, plus the listed ones",
       [] {
         Snapshot s = cluster();
         s.namespaces = {{"team-a", {{"team", "a"}}}, {"team-b", {{"team", "b"}}}};
         PodAffinityTerm t = term(matchLabels({{"app", "web"}}), kHost);
         t.namespace_selector = matchLabels({{"team", "a"}});
         t.namespaces = {"listed"};
         s.pods = {anti(web("web-1", "a1"), t), web("web-2", "a1"),
                   makePod("team-a", "web-a", "a1", {{"app", "web"}}),
                   makePod("team-b", "web-b", "a1", {{"app", "web"}}),
                   makePod("listed", "web-l", "a1", {{"app", "web"}})};
         return s;
       },
       check,
       {{"Pod shop/web-1", true, high, {"listed/web-l", "shop/web-1", "team-a/web-a"},
         {{"terms", json::array({termHit(kHost, "a1", true, {"listed/web-l", "team-a/web-a"})})}}}}},
      {"namespaceSelector by kubernetes.io/metadata.name without a Namespace object",
       [] {
         Snapshot s = cluster();
         PodAffinityTerm t = term(matchLabels({{"app", "web"}}), kHost);
         t.namespace_selector = matchLabels({{"kubernetes.io/metadata.name", "other"}});
         s.pods = {anti(web("web-1", "a1"), t), web("web-2", "a1"),
                   makePod("other", "web-9", "a1", {{"app", "web"}})};
         return s;
       },
       check,
       {{"Pod shop/web-1", true, high, {"other/web-9", "shop/web-1"},
         {{"terms", json::array({termHit(kHost, "a1", true, {"other/web-9"})})}}}}},
      {"matchLabelKeys: only pods with the same value of the key",
       [] {
         Snapshot s = cluster();
         PodAffinityTerm t = term(matchLabels({{"app", "web"}}), kHost);
         t.match_label_keys = {"pod-template-hash"};
         s.pods = {anti(web("web-1", "a1", {{"pod-template-hash", "h1"}}), t),
                   web("web-2", "a1", {{"pod-template-hash", "h2"}}),
                   web("web-3", "a1", {{"pod-template-hash", "h1"}})};
         return s;
       },
       check,
       {{"Pod shop/web-1", true, high, {"shop/web-1", "shop/web-3"},
         {{"terms", json::array({termHit(kHost, "a1", true, {"shop/web-3"})})}}}}},
      {"matchLabelKeys the pod lacks is skipped",
       [] {
         Snapshot s = cluster();
         PodAffinityTerm t = term(matchLabels({{"app", "web"}}), kHost);
         t.match_label_keys = {"pod-template-hash"};
         s.pods = {anti(web("web-1", "a1"), t), web("web-2", "a1", {{"pod-template-hash", "h2"}})};
         return s;
       },
       check,
       {{"Pod shop/web-1", true, high, {"shop/web-1", "shop/web-2"},
         {{"terms", json::array({termHit(kHost, "a1", true, {"shop/web-2"})})}}}}},
      {"mismatchLabelKeys: only pods with another value of the key",
       [] {
         Snapshot s = cluster();
         PodAffinityTerm t = term(matchLabels({{"app", "web"}}), kHost);
         t.mismatch_label_keys = {"tenant"};
         s.pods = {anti(web("web-1", "a1", {{"tenant", "x"}}), t),
                   web("web-2", "a1", {{"tenant", "x"}}), web("web-3", "a1", {{"tenant", "y"}})};
         return s;
       },
       check,
       {{"Pod shop/web-1", true, high, {"shop/web-1", "shop/web-3"},
         {{"terms", json::array({termHit(kHost, "a1", true, {"shop/web-3"})})}}}}},
      {"terminating and Succeeded pods do not count",
       [] {
         Snapshot s = cluster();
         Pod gone = web("web-2", "a1");
         gone.terminating = true;
         Pod done = web("web-3", "a1");
         done.phase = PodPhase::kSucceeded;
         s.pods = {anti(web("web-1", "a1"), term(matchLabels({{"app", "web"}}), kHost)), gone, done};
         return s;
       },
       check,
       {}},
      {"absent label selector matches nothing",
       [] {
         Snapshot s = cluster();
         s.pods = {anti(web("web-1", "a1"), term(std::nullopt, kHost)), web("web-2", "a1")};
         return s;
       },
       check,
       {}},
      {"preferred term only: soft, medium",
       [] {
         Snapshot s = cluster();
         s.pods = {anti(web("web-1", "a1"), term(matchLabels({{"app", "web"}}), kHost), false),
                   web("web-2", "a1")};
         return s;
       },
       check,
       {{"Pod shop/web-1", false, Severity::kMedium, {"shop/web-1", "shop/web-2"},
         {{"terms", json::array({termHit(kHost, "a1", false, {"shop/web-2"})})}}}}},
      {"required and preferred both violated: hard, required term first",
       [] {
         Snapshot s = cluster();
         Pod p = anti(web("web-1", "a1"), term(matchLabels({{"app", "db"}}), kZone), false);
         p = anti(p, term(matchLabels({{"app", "web"}}), kHost), true);
         s.pods = {p, web("web-2", "a1"), makePod("shop", "db-1", "a2", {{"app", "db"}})};
         return s;
       },
       check,
       {{"Pod shop/web-1", true, high, {"shop/db-1", "shop/web-1", "shop/web-2"},
         {{"terms", json::array({termHit(kHost, "a1", true, {"shop/web-2"}),
                                 termHit(kZone, "a", false, {"shop/db-1"})})}}}}},
      {"every replica with the rule gets its own finding",
       [] {
         Snapshot s = cluster();
         PodAffinityTerm t = term(matchLabels({{"app", "web"}}), kHost);
         s.pods = {anti(web("web-1", "a1"), t), anti(web("web-2", "a1"), t)};
         return s;
       },
       check,
       {{"Pod shop/web-1", true, high, {"shop/web-1", "shop/web-2"}, {}},
        {"Pod shop/web-2", true, high, {"shop/web-1", "shop/web-2"}, {}}}},
  };
  runRows(rows);
}

TEST_CASE("placement.anti-affinity: the message names the domain and the matching pods") {
  Snapshot s;
  s.nodes = {makeNode("n1", "eu-west-1a"), makeNode("n2", "eu-west-1a")};
  PodAffinityTerm t = term(matchLabels({{"app", "web"}}), kZone);
  s.pods = {anti(web("web-1", "n1"), t), web("web-2", "n1"), web("web-3", "n2")};
  Options opts;
  Index index(s, opts);
  std::vector<Finding> out;
  checkPlacement(index, out);
  auto got = findingsOf(out, "placement.anti-affinity");
  REQUIRE(got.size() == 1);
  CHECK(got[0].message ==
        "shop/web-1 shares zone eu-west-1a (topology.kubernetes.io/zone) with 2 pods its required "
        "anti-affinity excludes: shop/web-2, shop/web-3");
  CHECK(got[0].node == "n1");
  CHECK(got[0].zone == "eu-west-1a");
  REQUIRE(got[0].workload.has_value());
  CHECK(got[0].workload->str() == "Deployment shop/web");
  CHECK(got[0].runbook.ends_with("placement-anti-affinity.md"));
}

TEST_CASE("placement.topology-spread: skew, minDomains, inclusion policies, matchLabelKeys") {
  const std::string check = "placement.topology-spread";
  const Severity high = Severity::kHigh;
  std::vector<Row> rows = {
      {"zone skew 3 > 1: one finding for the group, against the Deployment",
       [] {
         Snapshot s = cluster();
         auto c = spread(kZone);
         s.pods = {spreadWeb("web-1", "a1", c), spreadWeb("web-2", "a1", c),
                   spreadWeb("web-3", "a2", c), spreadWeb("web-4", "c1", c)};
         return s;
       },
       check,
       {{"Deployment shop/web",
         true,
         high,
         {"shop/web-1", "shop/web-2", "shop/web-3", "shop/web-4"},
         {{"topology_key", kZone},
          {"max_skew", 1},
          {"skew", 3},
          {"counts", {{"a", 3}, {"b", 0}, {"c", 1}}}}}}},
      {"balanced: nothing",
       [] {
         Snapshot s = cluster();
         auto c = spread(kZone);
         s.pods = {spreadWeb("web-1", "a1", c), spreadWeb("web-2", "b1", c),
                   spreadWeb("web-3", "c1", c), spreadWeb("web-4", "a2", c)};
         return s;
       },
       check,
       {}},
      {"ScheduleAnyway: soft, medium",
       [] {
         Snapshot s = cluster();
         auto c = spread(kZone, 1, "ScheduleAnyway");
         s.pods = {spreadWeb("web-1", "a1", c), spreadWeb("web-2", "a2", c)};
         return s;
       },
       check,
       {{"Deployment shop/web",
         false,
         Severity::kMedium,
         {"shop/web-1", "shop/web-2"},
         {{"skew", 2}, {"counts", {{"a", 2}, {"b", 0}, {"c", 0}}}}}}},
      {"fewer eligible domains than minDomains: the minimum is 0",
       [] {
         Snapshot s;
         s.nodes = {makeNode("a1", "a"), makeNode("b1", "b")};
         auto c = spread(kZone);
         c.min_domains = 3;
         s.pods = {spreadWeb("web-1", "a1", c), spreadWeb("web-2", "a1", c),
                   spreadWeb("web-3", "b1", c)};
         return s;
       },
       check,
       {{"Deployment shop/web",
         true,
         high,
         {"shop/web-1", "shop/web-2", "shop/web-3"},
         {{"skew", 2}, {"min_domains", 3}, {"counts", {{"a", 2}, {"b", 1}}}}}}},
      {"the same placement without minDomains is within maxSkew",
       [] {
         Snapshot s;
         s.nodes = {makeNode("a1", "a"), makeNode("b1", "b")};
         auto c = spread(kZone);
         s.pods = {spreadWeb("web-1", "a1", c), spreadWeb("web-2", "a1", c),
                   spreadWeb("web-3", "b1", c)};
         return s;
       },
       check,
       {}},
      {"nodeAffinityPolicy Honor (default): zones the nodeSelector excludes do not count",
       [] {
         Snapshot s = cluster();
         for (const char* n : {"a1", "b1"}) nodeNamed(s, n).labels["disk"] = "ssd";
         auto c = spread(kZone);
         s.pods = {withSelector(spreadWeb("web-1", "a1", c), {{"disk", "ssd"}}),
                   withSelector(spreadWeb("web-2", "a1", c), {{"disk", "ssd"}}),
                   withSelector(spreadWeb("web-3", "b1", c), {{"disk", "ssd"}}),
                   withSelector(spreadWeb("web-4", "b1", c), {{"disk", "ssd"}})};
         return s;
       },
       check,
       {}},
      {"nodeAffinityPolicy Ignore: the excluded zone counts as 0",
       [] {
         Snapshot s = cluster();
         for (const char* n : {"a1", "b1"}) nodeNamed(s, n).labels["disk"] = "ssd";
         auto c = spread(kZone);
         c.node_affinity_policy = "Ignore";
         s.pods = {withSelector(spreadWeb("web-1", "a1", c), {{"disk", "ssd"}}),
                   withSelector(spreadWeb("web-2", "a1", c), {{"disk", "ssd"}}),
                   withSelector(spreadWeb("web-3", "b1", c), {{"disk", "ssd"}}),
                   withSelector(spreadWeb("web-4", "b1", c), {{"disk", "ssd"}})};
         return s;
       },
       check,
       {{"Deployment shop/web",
         true,
         high,
         {"shop/web-1", "shop/web-2", "shop/web-3", "shop/web-4"},
         {{"skew", 2}, {"counts", {{"a", 2}, {"b", 2}, {"c", 0}}}}}}},
      {"nodeTaintsPolicy Ignore (default): a tainted zone counts as 0",
       [] {
         Snapshot s = cluster();
         nodeNamed(s, "c1").taints = {{"dedicated", "db", "NoSchedule"}};
         auto c = spread(kZone);
         s.pods = {spreadWeb("web-1", "a1", c), spreadWeb("web-2", "a2", c),
                   spreadWeb("web-3", "b1", c), spreadWeb("web-4", "b1", c)};
         return s;
       },
       check,
       {{"Deployment shop/web",
         true,
         high,
         {"shop/web-1", "shop/web-2", "shop/web-3", "shop/web-4"},
         {{"skew", 2}, {"counts", {{"a", 2}, {"b", 2}, {"c", 0}}}}}}},
      {"nodeTaintsPolicy Honor: the untolerated tainted zone is not eligible",
       [] {
         Snapshot s = cluster();
         nodeNamed(s, "c1").taints = {{"dedicated", "db", "NoSchedule"}};
         auto c = spread(kZone);
         c.node_taints_policy = "Honor";
         s.pods = {spreadWeb("web-1", "a1", c), spreadWeb("web-2", "a2", c),
                   spreadWeb("web-3", "b1", c), spreadWeb("web-4", "b1", c)};
         return s;
       },
       check,
       {}},
      {"matchLabelKeys: each pod-template-hash is its own group",
       [] {
         Snapshot s = cluster();
         auto c = spread(kZone);
         c.match_label_keys = {"pod-template-hash"};
         s.pods = {spreadWeb("web-1", "a1", c, {{"pod-template-hash", "h1"}}),
                   spreadWeb("web-2", "a2", c, {{"pod-template-hash", "h1"}}),
                   spreadWeb("web-3", "b1", c, {{"pod-template-hash", "h2"}}),
                   spreadWeb("web-4", "c1", c, {{"pod-template-hash", "h2"}})};
         return s;
       },
       check,
       {{"Deployment shop/web",
         true,
         high,
         {"shop/web-1", "shop/web-2"},
         {{"skew", 2}, {"counts", {{"a", 2}, {"b", 0}, {"c", 0}}}}}}},
      {"without matchLabelKeys the same pods are balanced enough",
       [] {
         Snapshot s = cluster();
         auto c = spread(kZone);
         s.pods = {spreadWeb("web-1", "a1", c, {{"pod-template-hash", "h1"}}),
                   spreadWeb("web-2", "a2", c, {{"pod-template-hash", "h1"}}),
                   spreadWeb("web-3", "b1", c, {{"pod-template-hash", "h2"}}),
                   spreadWeb("web-4", "c1", c, {{"pod-template-hash", "h2"}})};
         return s;
       },
       check,
       {}},
      {"terminating and Succeeded pods are not counted",
       [] {
         Snapshot s = cluster();
         auto c = spread(kZone);
         Pod gone = spreadWeb("web-2", "a1", c);
         gone.terminating = true;
         Pod done = spreadWeb("web-3", "a2", c);
         done.phase = PodPhase::kSucceeded;
         s.pods = {spreadWeb("web-1", "a1", c), gone, done, spreadWeb("web-4", "b1", c)};
         return s;
       },
       check,
       {}},
      {"carriers of two workloads: the subject is the first pod",
       [] {
         Snapshot s = cluster();
         auto c = spread(kZone);
         Pod other = makePod("shop", "aaa-1", "a1", {{"app", "web"}}, "StatefulSet", "aaa");
         other.placement.topology_spread.push_back(c);
         s.pods = {other, spreadWeb("web-1", "a1", c), spreadWeb("web-2", "a2", c)};
         return s;
       },
       check,
       {{"Pod shop/aaa-1", true, high, {"shop/aaa-1", "shop/web-1", "shop/web-2"}, {{"skew", 3}}}}},
      {"absent label selector: nothing is counted",
       [] {
         Snapshot s = cluster();
         auto c = spread(kZone);
         c.label_selector.reset();
         s.pods = {spreadWeb("web-1", "a1", c), spreadWeb("web-2", "a2", c)};
         return s;
       },
       check,
       {}},
  };
  runRows(rows);
}

TEST_CASE("placement.colocated-replicas, placement.node-affinity, placement.taint") {
  std::vector<Row> rows = {
      {"3 of 4 replicas on one node while 3 others could take one",
       [] {
         Snapshot s = cluster();
         s.pods = {cart("cart-1", "a1"), cart("cart-2", "a1"), cart("cart-3", "a1"),
                   cart("cart-4", "b1")};
         return s;
       },
       "placement.colocated-replicas",
       {{"Deployment shop/cart",
         false,
         Severity::kMedium,
         {"shop/cart-1", "shop/cart-2", "shop/cart-3"},
         {{"node", "a1"},
          {"replicas_on_node", 3},
          {"replicas", 4},
          {"candidate_nodes", {"a2", "b1", "c1"}},
          {"candidates", 3}}}}},
      {"all replicas on one node: high",
       [] {
         Snapshot s = cluster();
         s.pods = {cart("cart-1", "a1"), cart("cart-2", "a1")};
         return s;
       },
       "placement.colocated-replicas",
       {{"Deployment shop/cart",
         false,
         Severity::kHigh,
         {"shop/cart-1", "shop/cart-2"},
         {{"candidate_nodes", {"a2", "b1", "c1"}}, {"candidates", 3}}}}},
      {"no other node could host: cordoned, NotReady, tainted",
       [] {
         Snapshot s = cluster();
         nodeNamed(s, "a2").unschedulable = true;
         nodeNamed(s, "b1").conditions = {{"Ready", "False", "KubeletNotReady"}};
         nodeNamed(s, "c1").taints = {{"dedicated", "db", "NoSchedule"}};
         s.pods = {cart("cart-1", "a1"), cart("cart-2", "a1")};
         return s;
       },
       "placement.colocated-replicas",
       {}},
      {"no other node fits the nodeSelector",
       [] {
         Snapshot s = cluster();
         nodeNamed(s, "a1").labels["disk"] = "ssd";
         s.pods = {withSelector(cart("cart-1", "a1"), {{"disk", "ssd"}}),
                   withSelector(cart("cart-2", "a1"), {{"disk", "ssd"}})};
         return s;
       },
       "placement.colocated-replicas",
       {}},
      {"2 on each node: moving one would not help",
       [] {
         Snapshot s;
         s.nodes = {makeNode("a1", "a"), makeNode("b1", "b")};
         s.pods = {cart("cart-1", "a1"), cart("cart-2", "a1"), cart("cart-3", "b1"),
                   cart("cart-4", "b1")};
         return s;
       },
       "placement.colocated-replicas",
       {}},
      {"DaemonSet pods are not replicas",
       [] {
         Snapshot s = cluster();
         s.pods = {makePod("kube-system", "ds-1", "a1", {}, "DaemonSet", "ds"),
                   makePod("kube-system", "ds-2", "a1", {}, "DaemonSet", "ds")};
         return s;
       },
       "placement.colocated-replicas",
       {}},
      {"nodeSelector the node no longer satisfies: hard",
       [] {
         Snapshot s = cluster();
         s.pods = {withSelector(web("web-1", "a1"), {{"disk", "ssd"}})};
         return s;
       },
       "placement.node-affinity",
       {{"Pod shop/web-1",
         true,
         Severity::kHigh,
         {"shop/web-1"},
         {{"required", true},
          {"node_selector_failed",
           json::array({{{"key", "disk"}, {"want", "ssd"}, {"have", nullptr}}})},
          {"affinity_terms", 0},
          {"affinity_failed", false}}}}},
      {"required node affinity term the node fails: hard",
       [] {
         Snapshot s = cluster();
         Pod p = web("web-1", "a1");
         p.placement.node_affinity.emplace();
         NodeSelectorTerm t;
         t.match_expressions.push_back({kZone, "In", {"b"}});
         p.placement.node_affinity->required.push_back(t);
         s.pods = {p};
         return s;
       },
       "placement.node-affinity",
       {{"Pod shop/web-1",
         true,
         Severity::kHigh,
         {"shop/web-1"},
         {{"required", true}, {"affinity_terms", 1}, {"affinity_failed", true}}}}},
      {"nodeSelector satisfied: nothing",
       [] {
         Snapshot s = cluster();
         nodeNamed(s, "a1").labels["disk"] = "ssd";
         s.pods = {withSelector(web("web-1", "a1"), {{"disk", "ssd"}})};
         return s;
       },
       "placement.node-affinity",
       {}},
      {"a better preferred node exists: soft, low",
       [] {
         Snapshot s = cluster();
         s.pods = {preferZone(preferZone(web("web-1", "a1"), "b", 50), "c", 10)};
         return s;
       },
       "placement.node-affinity",
       {{"Pod shop/web-1",
         false,
         Severity::kLow,
         {"shop/web-1"},
         {{"required", false},
          {"node_score", 0},
          {"best_score", 50},
          {"better_nodes", {"b1", "c1"}}}}}},
      {"the better preferred node is cordoned: nothing",
       [] {
         Snapshot s = cluster();
         nodeNamed(s, "b1").unschedulable = true;
         s.pods = {preferZone(web("web-1", "a1"), "b", 50)};
         return s;
       },
       "placement.node-affinity",
       {}},
      {"already on a best node: nothing",
       [] {
         Snapshot s = cluster();
         s.pods = {preferZone(web("web-1", "b1"), "b", 50)};
         return s;
       },
       "placement.node-affinity",
       {}},
      {"untolerated NoSchedule taint: hard",
       [] {
         return tainted({{"dedicated", "db", "NoSchedule"}});
       },
       "placement.taint",
       {{"Pod shop/web-1",
         true,
         Severity::kHigh,
         {"shop/web-1"},
         {{"effect", "NoSchedule"},
          {"taints",
           json::array({{{"key", "dedicated"}, {"value", "db"}, {"effect", "NoSchedule"}}})}}}}},
      {"Exists toleration on the key",
       [] {
         return tainted({{"dedicated", "db", "NoSchedule"}}, {{"dedicated", "Exists", "", "", {}}});
       },
       "placement.taint",
       {}},
      {"Equal toleration with the value",
       [] {
         return tainted({{"dedicated", "db", "NoSchedule"}},
                        {{"dedicated", "Equal", "db", "NoSchedule", {}}});
       },
       "placement.taint",
       {}},
      {"Equal toleration with another value does not tolerate",
       [] {
         return tainted({{"dedicated", "db", "NoSchedule"}},
                        {{"dedicated", "Equal", "web", "NoSchedule", {}}});
       },
       "placement.taint",
       {{"Pod shop/web-1", true, Severity::kHigh, {"shop/web-1"}, {{"effect", "NoSchedule"}}}}},
      {"toleration with an empty effect tolerates every effect",
       [] {
         return tainted({{"dedicated", "db", "NoExecute"}, {"dedicated", "db", "NoSchedule"}},
                        {{"dedicated", "Equal", "db", "", {}}});
       },
       "placement.taint",
       {}},
      {"PreferNoSchedule only: soft, low",
       [] {
         return tainted({{"spot", "", "PreferNoSchedule"}});
       },
       "placement.taint",
       {{"Pod shop/web-1",
         false,
         Severity::kLow,
         {"shop/web-1"},
         {{"effect", "PreferNoSchedule"},
          {"taints",
           json::array({{{"key", "spot"}, {"value", ""}, {"effect", "PreferNoSchedule"}}})}}}}},
      {"NoExecute is the strongest effect; every untolerated taint listed",
       [] {
         return tainted({{"spot", "", "PreferNoSchedule"}, {"gpu", "", "NoExecute"}});
       },
       "placement.taint",
       {{"Pod shop/web-1",
         true,
         Severity::kHigh,
         {"shop/web-1"},
         {{"effect", "NoExecute"},
          {"taints", json::array({{{"key", "spot"}, {"value", ""}, {"effect", "PreferNoSchedule"}},
                                  {{"key", "gpu"}, {"value", ""}, {"effect", "NoExecute"}}})}}}}},
      {"condition taints (node.kubernetes.io/*, cloudprovider uninitialized) are ignored",
       [] {
         return tainted({{"node.kubernetes.io/unreachable", "", "NoExecute"},
                         {"node.kubernetes.io/disk-pressure", "", "NoSchedule"},
                         {"node.cloudprovider.kubernetes.io/uninitialized", "true", "NoSchedule"}});
       },
       "placement.taint",
       {}},
      {"a static pod's mirror is not judged by scheduling rules",
       [] {
         Snapshot s = cluster();
         nodeNamed(s, "a1").taints = {{"node-role.kubernetes.io/control-plane", "", "NoSchedule"}};
         s.pods = {makePod("kube-system", "kube-apiserver-a1", "a1", {}, "Node", "a1")};
         return s;
       },
       "placement.taint",
       {}},
  };
  runRows(rows);
}

TEST_CASE("placement: colocated message; spread message names max and min domains") {
  Snapshot s = cluster();
  auto c = spread(kZone);
  s.pods = {cart("cart-1", "a1"),       cart("cart-2", "a1"),        cart("cart-3", "a1"),
            cart("cart-4", "b1"),       spreadWeb("web-1", "b1", c), spreadWeb("web-2", "b1", c),
            spreadWeb("web-3", "b1", c)};
  Options opts;
  Index index(s, opts);
  std::vector<Finding> out;
  checkPlacement(index, out);
  auto colocated = findingsOf(out, "placement.colocated-replicas");
  REQUIRE(colocated.size() == 2);  // cart on a1, web on b1
  CHECK(colocated[0].message ==
        "3 of 4 replicas of shop/cart on node a1 while 3 other nodes could host them");
  CHECK(colocated[0].node == "a1");
  CHECK(colocated[0].zone == "a");
  auto spreads = findingsOf(out, "placement.topology-spread");
  REQUIRE(spreads.size() == 1);
  CHECK(spreads[0].message ==
        "Deployment shop/web: 3 matching pods over 3 topology.kubernetes.io/zone domains with "
        "skew 3 > maxSkew 1 (3 in b, 0 in a)");
}

TEST_CASE("placement on one node: only that node's pods, anti-affinity sees only that node") {
  Snapshot s = cluster();
  nodeNamed(s, "a1").taints = {{"dedicated", "db", "NoSchedule"}};
  nodeNamed(s, "b1").taints = {{"dedicated", "db", "NoSchedule"}};
  PodAffinityTerm zone_term = term(matchLabels({{"app", "web"}}), kZone);
  PodAffinityTerm host_term = term(matchLabels({{"app", "db"}}), kHost);
  s.pods = {anti(anti(web("web-1", "a1"), zone_term), host_term), web("web-2", "a2"),
            makePod("shop", "db-1", "a1", {{"app", "db"}}), web("web-3", "b1")};
  Options opts;
  Index index(s, opts);

  std::vector<Finding> all;
  checkPlacement(index, all);
  auto anti_all = findingsOf(all, "placement.anti-affinity");
  REQUIRE(anti_all.size() == 1);
  CHECK(anti_all[0].pods == std::vector<std::string>{"shop/web-1", "shop/db-1", "shop/web-2"});
  CHECK(findingsOf(all, "placement.taint").size() == 3);  // web-1, db-1 on a1; web-3 on b1

  std::vector<Finding> local;
  checkPlacementOnNode(index, "a1", local);
  auto anti_local = findingsOf(local, "placement.anti-affinity");
  REQUIRE(anti_local.size() == 1);
  // web-2 is on a2: a node-local snapshot cannot see it.
  CHECK(anti_local[0].pods == std::vector<std::string>{"shop/web-1", "shop/db-1"});
  auto taints = findingsOf(local, "placement.taint");
  REQUIRE(taints.size() == 2);
  CHECK(taints[0].node == "a1");
  CHECK(taints[1].node == "a1");

  std::vector<Finding> none;
  checkPlacementOnNode(index, "no-such-node", none);
  CHECK(none.empty());
}

TEST_CASE("placement: the findings do not depend on input order") {
  Snapshot s = cluster();
  nodeNamed(s, "c1").taints = {{"spot", "", "PreferNoSchedule"}};
  auto c = spread(kZone);
  PodAffinityTerm t = term(matchLabels({{"app", "web"}}), kZone);
  for (int i = 0; i < 6; ++i) {
    const char* node = i < 4 ? "a1" : (i == 4 ? "a2" : "c1");
    s.pods.push_back(anti(spreadWeb("web-" + std::to_string(i), node, c), t));
    s.pods.push_back(cart("cart-" + std::to_string(i), i < 3 ? "b1" : "a2"));
  }
  auto render = [](const Snapshot& snap) {
    Options opts;
    Index index(snap, opts);
    std::vector<Finding> out;
    checkPlacement(index, out);
    std::string r;
    for (const Finding& f : out) {
      r += f.check + " " + f.subject.str() + " " + f.message + " " + f.details.dump() + "\n";
    }
    return r;
  };
  const std::string want = render(s);
  CHECK(want.find("placement.topology-spread") != std::string::npos);
  CHECK(want.find("placement.colocated-replicas") != std::string::npos);
  std::mt19937 rng(7);
  for (int round = 0; round < 5; ++round) {
    std::shuffle(s.pods.begin(), s.pods.end(), rng);
    std::shuffle(s.nodes.begin(), s.nodes.end(), rng);
    CHECK(render(s) == want);
  }
}
