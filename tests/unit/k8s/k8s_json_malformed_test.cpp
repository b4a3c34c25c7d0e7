// Malformed input never crashes or throws: it is an Error{kParse} whose
// message names the field where that is possible.
#include <doctest/doctest.h>

#include <cstdint>
#include <random>

#include "k8s_test_util.h"
#include "rampart/k8s_json.h"

using namespace rampart;
using namespace rampart::k8s;
using namespace rampart::k8s::testutil;

namespace {

// Runs every decoder on `json`; returns how many accepted it.
int decodeAll(std::string_view json) {
  int ok = 0;
  auto check = [&](const auto& r) {
    if (r) {
      ++ok;
    } else {
      CHECK(r.error().code == ErrorCode::kParse);
      CHECK(!r.error().message.empty());
    }
  };
  check(decodePod(json));
  check(decodePodList(json));
  check(decodePodWatchEvent(json));
  check(decodeNode(json));
  check(decodeNodeList(json));
  check(decodeNodeWatchEvent(json));
  check(decodeStatus(json));
  return ok;
}

}  // namespace

TEST_CASE("syntactically broken input is kParse for every decoder") {
  const std::string cases[] = {
      "",
      " \n",
      "{",
      "}",
      "[",
      "[]",
      "null",
      "42",
      "\"pod\"",
      "true",
      R"({"items":)",
      R"({"items":[{]})",
      R"({"metadata":{"name":"a"})",
      R"({"metadata":{"name":"a}})",
      R"({"metadata" {"name":"a"}})",
      R"({"metadata":{"name":"a"}} trailing)",
      R"({"metadata":{"name":"a"},})",
      std::string("{\"metadata\":{\"name\":\"\xff\xfe\"}}"),  // invalid UTF-8
      std::string("{\"metadata\":{\"name\":\"a\0b\"}}", 24),  // NUL inside
  };
  for (const std::string& c : cases) {
    CAPTURE(c);
    CHECK(decodeAll(c) == 0);
  }
}

TEST_CASE("syntax errors inside fields that are read are kParse") {
  // On-Demand checks skipped subtrees only for balanced brackets, closed
  // strings and UTF-8 (docs/json-choice.md), so these target read fields.
  CHECK_FALSE(decodePodList(R"({"items":[{"metadata":{"name":"a",}}]})").has_value());
  CHECK_FALSE(decodePodList(R"({"items":[{"metadata":{"name" "a"}}]})").has_value());
  CHECK_FALSE(decodePod(R"({"spec":{"containers":[{"name":"a"},]}})").has_value());
  CHECK_FALSE(decodeNode(R"({"metadata":{"labels":{"a":"b":"c"}}})").has_value());
  CHECK_FALSE(decodePod(R"({"status":{"containerStatuses":[{"restartCount":1x}]}})").has_value());
}

TEST_CASE("random bytes are kParse") {
  std::mt19937 rng(20261123);
  for (int i = 0; i < 300; ++i) {
    std::string s(rng() % 300, '\0');
    for (char& ch : s) ch = static_cast<char>(rng());
    if (i % 2 == 0 && !s.empty()) s[0] = '{';  // get past the first byte sometimes
    CAPTURE(i);
    CHECK(decodeAll(s) == 0);
  }
}

TEST_CASE("a real pod truncated at every 97th byte is kParse") {
  const std::string pod = listItem("apiserver-pods_kube-system_eks-v1.31.json", 0);
  REQUIRE(decodePod(pod).has_value());
  REQUIRE(pod.size() > 2000);
  int cuts = 0;
  for (size_t n = 0; n < pod.size(); n += 97) {
    auto r = decodePod(std::string_view(pod).substr(0, n));
    CHECK_MESSAGE(!r.has_value(), "prefix of " << n << " bytes accepted");
    if (!r) CHECK(r.error().code == ErrorCode::kParse);
    ++cuts;
  }
  CHECK(cuts > 20);

  const std::string list = fixture("apiserver-pods_crashloopbackoff.json");
  for (size_t n = 0; n + 2 < list.size(); n += 97) {
    auto r = decodePodList(std::string_view(list).substr(0, n));
    CHECK_MESSAGE(!r.has_value(), "list prefix of " << n << " bytes accepted");
  }
  const std::string line = fixture("apiserver-watch-pods_kind_graceful-delete.ndjson")
                               .substr(0, 4000);  // inside the first event
  for (size_t n = 0; n < line.size(); n += 97) {
    CHECK_FALSE(decodePodWatchEvent(std::string_view(line).substr(0, n)).has_value());
  }
}

TEST_CASE("wrong types in fields that are read name the field") {
  struct Case {
    const char* json;
    const char* where;  // expected in the message
  };
  const Case pod_cases[] = {
      {R"({"metadata":{"name":5}})", "metadata.name: expected string"},
      {R"({"metadata":{"labels":{"app":1}}})", "metadata.labels.app: expected string"},
      {R"({"metadata":{"labels":["a"]}})", "metadata.labels: expected object"},
      {R"({"metadata":{"creationTimestamp":"yesterday"}})",
       "metadata.creationTimestamp: invalid RFC 3339 timestamp"},
      {R"({"metadata":{"ownerReferences":[{"kind":"ReplicaSet"},{"controller":"yes"}]}})",
       "metadata.ownerReferences[1].controller: expected boolean"},
      {R"({"spec":{"tolerations":{}}})", "spec.tolerations: expected array"},
      {R"({"spec":{"tolerations":[{"tolerationSeconds":"300"}]}})",
       "spec.tolerations[0].tolerationSeconds: expected integer"},
      {R"({"spec":{"containers":[{"name":"a"},{"name":["b"]}]}})",
       "spec.containers[1].name: expected string"},
      {R"({"spec":{"affinity":{"podAntiAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":"high"}]}}}})",
       "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight"},
      {R"({"spec":{"topologySpreadConstraints":[{"maxSkew":1.5}]}})",
       "spec.topologySpreadConstraints[0].maxSkew"},
      {R"({"status":{"containerStatuses":[{"name":"a","restartCount":"3"}]}})",
       "status.containerStatuses[0].restartCount: expected integer"},
      {R"({"status":{"containerStatuses":[{"restartCount":3000000000}]}})",
       "status.containerStatuses[0].restartCount: integer out of int32 range"},
      {R"({"status":{"phase":1}})", "status.phase: expected string"},
      {R"({"spec":"x"})", "spec: expected object"},
  };
  for (const Case& c : pod_cases) {
    CAPTURE(c.json);
    auto r = decodePod(c.json);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::kParse);
    CHECK_MESSAGE(r.error().message.find(c.where) != std::string::npos, r.error().message);
  }

  auto list = decodePodList(R"({"items":[{},{"metadata":{"name":[]}}]})");
  REQUIRE_FALSE(list.has_value());
  CHECK_MESSAGE(list.error().message.find("items[1].metadata.name") != std::string::npos,
                list.error().message);
  auto items = decodePodList(R"({"items":{}})");
  REQUIRE_FALSE(items.has_value());
  CHECK(items.error().message.find("items: expected array") != std::string::npos);

  auto node = decodeNode(R"({"spec":{"unschedulable":"yes"}})");
  REQUIRE_FALSE(node.has_value());
  CHECK(node.error().message.find("spec.unschedulable: expected boolean") != std::string::npos);
  auto ev = decodePodWatchEvent(R"({"type":"ADDED","object":{"metadata":{"uid":false}}})");
  REQUIRE_FALSE(ev.has_value());
  CHECK(ev.error().message.find("object.metadata.uid") != std::string::npos);
}

TEST_CASE("null means absent and unknown fields of any type are ignored") {
  auto r = decodePod(R"({"kind":7,"apiVersion":null,
    "metadata":{"name":"p","labels":null,"ownerReferences":null,"creationTimestamp":null,
                "deletionTimestamp":null,"annotations":7,"generateName":[1,2]},
    "spec":{"nodeName":null,"affinity":null,"tolerations":[{"key":null,"tolerationSeconds":null}],
            "containers":[{"name":"c","readinessProbe":null}],"volumes":null,
            "priority":"high","weird":{"deep":[[{"x":null}]]}},
    "status":{"phase":null,"containerStatuses":null,"conditions":null},
    "extra":{"a":[1,2.5,true,null,"s"]}})");
  REQUIRE_MESSAGE(r.has_value(), r.error().describe());
  CHECK(r->name == "p");
  CHECK_FALSE(r->terminating);
  CHECK_FALSE(r->placement.node_affinity.has_value());
  REQUIRE(r->placement.tolerations.size() == 1);
  CHECK_FALSE(r->placement.tolerations[0].toleration_seconds.has_value());
  REQUIRE(r->containers.size() == 1);
  CHECK_FALSE(r->containers[0].probes.readiness);
  CHECK(r->phase == PodPhase::kUnknown);
}

TEST_CASE("deeply nested input does not crash") {
  const size_t depth = 100000;
  std::string open(depth, '[');
  std::string close(depth, ']');
  // Unbalanced: always an error.
  CHECK(decodeAll(open) == 0);
  CHECK(decodeAll(R"({"metadata":{"annotations":)" + open) == 0);
  // Balanced but deep, in fields the decoder reads and in ones it skips.
  CHECK(decodeAll(open + close) == 0);
  auto skipped = decodePod(R"({"extra":)" + open + close + "}");
  if (!skipped) CHECK(skipped.error().code == ErrorCode::kParse);
  auto read = decodePod(R"({"metadata":{"labels":)" + open + close + "}}");
  REQUIRE_FALSE(read.has_value());
  CHECK(read.error().code == ErrorCode::kParse);
  std::string objs;
  for (size_t i = 0; i < depth; ++i) objs += R"({"a":)";
  objs += "1";
  objs += std::string(depth, '}');
  auto deep_obj = decodePod(R"({"spec":)" + objs + "}");
  if (!deep_obj) CHECK(deep_obj.error().code == ErrorCode::kParse);
}

TEST_CASE("decoding is reentrant across sizes: big list, then small events, then big again") {
  // Exercises the per-thread parser being released after large documents.
  const std::string big = fixture("kubelet-pods_v1.34_minikube.json");
  const std::string small = listItem("apiserver-pods_oomkilled.json", 0);
  for (int i = 0; i < 3; ++i) {
    auto l = decodePodList(big);
    REQUIRE(l.has_value());
    CHECK(l->items.size() == 24);
    auto p = decodePod(small);
    REQUIRE(p.has_value());
    CHECK(p->name == "oom-kill-job3-gbb89");
  }
}
