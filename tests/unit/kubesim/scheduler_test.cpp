#include <doctest/doctest.h>

#include "cluster/scheduler.h"

using namespace rampart::kubesim;

namespace {

Json node(const std::string& name, Json labels = Json::object(), const Json& taints = Json::array(),
          bool unschedulable = false) {
  labels["kubernetes.io/hostname"] = name;
  Json spec = Json::object();
  if (!taints.empty()) spec["taints"] = taints;
  if (unschedulable) spec["unschedulable"] = true;
  return Json{{"metadata", {{"name", name}, {"labels", labels}}}, {"spec", spec}};
}

const Json kNoSchedule =
    Json::array({Json{{"key", "dedicated"}, {"value", "gpu"}, {"effect", "NoSchedule"}}});

}  // namespace

TEST_CASE("tolerations match taints as the scheduler defines them") {
  const Json taint{{"key", "dedicated"}, {"value", "gpu"}, {"effect", "NoSchedule"}};
  struct Case {
    Json toleration;
    bool tolerates;
  };
  const Case cases[] = {
      {Json{{"operator", "Exists"}}, true},
      {Json{{"key", "dedicated"}, {"operator", "Exists"}}, true},
      {Json{{"key", "dedicated"}, {"operator", "Equal"}, {"value", "gpu"}}, true},
      {Json{{"key", "dedicated"}, {"value", "gpu"}}, true},
      {Json{{"key", "dedicated"}, {"operator", "Equal"}, {"value", "cpu"}}, false},
      {Json{{"key", "dedicated"}, {"operator", "Exists"}, {"effect", "NoExecute"}}, false},
      {Json{{"key", "other"}, {"operator", "Exists"}}, false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.toleration.dump());
    CHECK(tolerates(c.toleration, taint) == c.tolerates);
  }
}

TEST_CASE("node eligibility: unschedulable, nodeSelector, required affinity, taints") {
  const Json plain = node("n1", Json{{"zone", "a"}, {"disk", "ssd"}});
  CHECK(nodeEligible(plain, Json::object()));
  CHECK_FALSE(nodeEligible(node("n2", Json::object(), Json::array(), true), Json::object()));
  CHECK(nodeEligible(plain, Json{{"nodeSelector", {{"disk", "ssd"}}}}));
  CHECK_FALSE(nodeEligible(plain, Json{{"nodeSelector", {{"disk", "hdd"}}}}));

  auto affinity = [](const std::string& op, const Json& values) {
    Json expr{{"key", "zone"}, {"operator", op}};
    if (!values.is_null()) expr["values"] = values;
    return Json{{"affinity",
                 {{"nodeAffinity",
                   {{"requiredDuringSchedulingIgnoredDuringExecution",
                     {{"nodeSelectorTerms",
                       Json::array({Json{{"matchExpressions", Json::array({expr})}}})}}}}}}}};
  };
  CHECK(nodeEligible(plain, affinity("In", {"a", "b"})));
  CHECK_FALSE(nodeEligible(plain, affinity("In", {"b"})));
  CHECK(nodeEligible(plain, affinity("NotIn", {"b"})));
  CHECK_FALSE(nodeEligible(plain, affinity("NotIn", {"a"})));
  CHECK(nodeEligible(plain, affinity("Exists", Json())));
  CHECK_FALSE(nodeEligible(plain, affinity("DoesNotExist", Json())));

  const Json tainted = node("n3", Json::object(), kNoSchedule);
  CHECK_FALSE(nodeEligible(tainted, Json::object()));
  CHECK(nodeEligible(
      tainted,
      Json{{"tolerations", Json::array({Json{{"key", "dedicated"}, {"operator", "Exists"}}})}}));
  const Json prefer =
      node("n4", Json::object(), Json::array({Json{{"key", "k"}, {"effect", "PreferNoSchedule"}}}));
  CHECK(nodeEligible(prefer, Json::object()));
}

TEST_CASE("the scheduler places replicas round-robin over eligible nodes") {
  Scheduler s({node("a"), node("b", Json::object(), kNoSchedule), node("c"),
               node("d", Json::object(), Json::array(), true)});
  std::vector<std::string> placed;
  placed.reserve(4);
  for (int i = 0; i < 4; ++i) placed.push_back(s.place(Json::object()).value_or("-"));
  CHECK(placed == std::vector<std::string>{"a", "c", "a", "c"});
  CHECK_FALSE(s.place(Json{{"nodeSelector", {{"nope", "x"}}}}).has_value());
}

TEST_CASE("required pod anti-affinity keeps replicas apart") {
  Scheduler s({node("a1", Json{{"zone", "a"}}), node("a2", Json{{"zone", "a"}}),
               node("b1", Json{{"zone", "b"}})});
  const Json spec{
      {"affinity",
       {{"podAntiAffinity",
         {{"requiredDuringSchedulingIgnoredDuringExecution",
           Json::array({Json{{"topologyKey", "zone"},
                             {"labelSelector", {{"matchLabels", {{"app", "x"}}}}}}})}}}}}};
  const Json labels{{"app", "x"}};
  CHECK(s.place(spec, "ns", labels) == "a1");
  CHECK(s.place(spec, "ns", labels) == "b1");
  CHECK_FALSE(s.place(spec, "ns", labels).has_value());
  CHECK(s.place(spec, "other-ns", labels).has_value());
}
