// decodeObjects() on bad input: documents that are not a Kubernetes object
// or list (kParse), truncated documents (the items before the break are
// kept), bad items (skipped with a warning), and both item recoveries.
#include <doctest/doctest.h>
#include <sys/mman.h>

#include <algorithm>
#include <string>
#include <vector>

#include "k8s_json_decode_objects.h"
#include "k8s_objects_test_util.h"
#include "rampart/k8s_objects.h"

using namespace rampart;
using namespace rampart::k8s;
using namespace rampart::k8s::testutil;

TEST_CASE("documents that are not a Kubernetes object or list are kParse, out unchanged") {
  struct Case {
    std::string json;
    const char* message;
  };
  const Case cases[] = {
      {"", "k8s objects: empty document"},
      {" \n", "k8s objects: empty document"},
      {"not json", "k8s objects: expected a JSON object at the top level"},
      {"[]", "k8s objects: expected a JSON object at the top level, got an array"},
      {R"([{"kind":"Pod"}])", "k8s objects: expected a JSON object at the top level, got an array"},
      {"42", "k8s objects: expected a JSON object at the top level"},
      {R"("Pod")", "k8s objects: expected a JSON object at the top level"},
      {"null", "k8s objects: expected a JSON object at the top level"},
      {"{}", "k8s objects: neither kind nor items: not a Kubernetes object or list"},
      {R"({"metadata":{"name":"x"}})",
       "k8s objects: neither kind nor items: not a Kubernetes object or list"},
      {R"({"kind":5,"items":[]})", "k8s objects: kind: expected string"},
      {R"({"kind":"List","items":{}})", "k8s objects: items: expected array"},
      {"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"\xff\"}}", "k8s objects: not JSON: "},
      {R"({"kind":"Pod","metadata":{"name":"a"})", "k8s objects: document breaks off at byte "},
      {R"({"kind":"Pod","metadata":{"name":"a)", "k8s objects: document breaks off at byte "},
      {R"({"kind":"Pod","metadata":{"name":"a"})", "k8s objects: document breaks off at byte 36"},
      {R"({"kind":"Pod","metadata":{"name":"a"},"spec":[1])",
       "k8s objects: document breaks off at byte 48"},
      {R"({"kind":"Po)", "k8s objects: document breaks off at byte 11"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.json);
    Objects o;
    o.nodes.emplace_back().name = "kept";
    o.warnings.push_back("earlier");
    auto r = decodeObjects(c.json, o);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::kParse);
    CHECK_MESSAGE(r.error().message.starts_with(c.message), r.error().message);
    CHECK(o.nodes.size() == 1);
    CHECK(o.warnings == std::vector<std::string>{"earlier"});
    CHECK(total(o) == 1);
    CHECK_FALSE(o.partial);
  }
}

TEST_CASE("a truncated list keeps the items before the break") {
  const std::string full = fixture("apiserver-pods_kube-system_eks-v1.31.json");
  Objects whole = decodeFixture("apiserver-pods_kube-system_eks-v1.31.json");
  REQUIRE(whole.pods.size() == 6);
  // Cut in half, inside a string, near the end, just inside the items array,
  // and after the first item's closing brace (before and after its comma).
  const size_t first_end = full.find("\n        },\n        {") + 10;
  const size_t cuts[] = {full.size() / 2,  full.find("kube-proxy") + 4,
                         full.size() - 20, full.find("\"items\"") + 12,
                         first_end,        first_end + 1};
  for (size_t cut : cuts) {
    CAPTURE(cut);
    for (auto mode : {detail::ItemRecovery::kDirectThenSpans, detail::ItemRecovery::kSpans}) {
      Objects o;
      auto r = detail::decodeObjects(std::string_view(full).substr(0, cut), o, mode);
      REQUIRE_MESSAGE(r.has_value(), r.error().describe());
      CHECK(o.partial);
      REQUIRE(o.warnings.size() == 1);
      CHECK_MESSAGE(o.warnings[0].find("document breaks off at byte") != std::string::npos,
                    o.warnings[0]);
      CHECK(o.skipped == 0);
      REQUIRE(o.pods.size() < whole.pods.size());
      for (size_t i = 0; i < o.pods.size(); ++i) CHECK(o.pods[i] == whole.pods[i]);
    }
  }
  Objects half;
  REQUIRE(decodeObjects(std::string_view(full).substr(0, full.size() / 2), half));
  CHECK(half.pods.size() >= 1);
}

TEST_CASE("an item cut right after one of its fields is not kept half-read") {
  // Cut after `"kind": "Pod"` of items[2]: what is left ends like an object
  // that only lacks its '}'.
  const std::string full = fixture("mixed-list.json");
  const size_t cut = full.find("\"kind\": \"Pod\"") + 13;
  for (auto mode : {detail::ItemRecovery::kDirectThenSpans, detail::ItemRecovery::kSpans}) {
    Objects o;
    REQUIRE(detail::decodeObjects(std::string_view(full).substr(0, cut), o, mode));
    CHECK(o.namespaces.size() == 1);
    CHECK(o.nodes.size() == 1);
    CHECK(o.pods.empty());
    CHECK(o.partial);
    REQUIRE(o.warnings.size() == 1);
    CHECK_MESSAGE(o.warnings[0].starts_with("items[2] at byte "), o.warnings[0]);
  }
}

TEST_CASE("truncated small documents: inside a UTF-8 character, before the last brace") {
  struct Case {
    std::string json;
    size_t namespaces;
    const char* warning;
  };
  const std::string two = R"({"kind":"NamespaceList","items":[{"metadata":{"name":"a"}},)"
                          "{\"metadata\":{\"name\":\"caf\xc3\xa9\"}}]}";
  const Case cases[] = {
      {two.substr(0, two.find('\xc3') + 1), 1,
       "items[1] at byte 59: document breaks off at byte 84 (the input ends inside a string); "
       "the items before it are kept"},
      {two.substr(0, 73), 1,
       "items[1] at byte 59: document breaks off at byte 73 (the input ends inside a string); "
       "the items before it are kept"},
      {two.substr(0, two.size() - 1), 2,
       "document breaks off at byte 89 (its closing brace is missing)"},
      {two.substr(0, two.size() - 2), 2, "items[2] at byte 88: document breaks off at byte 88 ("},
      {two.substr(0, 33), 0,
       "items[0] at byte 33: document breaks off at byte 33 (the input ends before the document "
       "does); the items before it are kept"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.json);
    Objects o = decode(c.json);
    CHECK(o.namespaces.size() == c.namespaces);
    CHECK(o.partial);
    REQUIRE(o.warnings.size() == 1);
    CHECK_MESSAGE(o.warnings[0].starts_with(c.warning), o.warnings[0]);
  }
}

TEST_CASE("item-level problems skip the item with a warning naming it and the field") {
  struct Case {
    std::string item;
    const char* warning;
  };
  const Case cases[] = {
      {R"({"kind":"PodDisruptionBudget","metadata":{"name":"x","namespace":"n"},"spec":{"minAvailable":"fifty%"}})",
       R"(items[1] (PodDisruptionBudget n/x): spec.minAvailable: expected a percentage such as "50%")"},
      {R"({"kind":"PodDisruptionBudget","metadata":{"name":"x","namespace":"n"},"spec":{"maxUnavailable":"1"}})",
       R"(items[1] (PodDisruptionBudget n/x): spec.maxUnavailable: expected a percentage such as "50%")"},
      {R"({"kind":"PodDisruptionBudget","metadata":{"name":"x","namespace":"n"},"spec":{"maxUnavailable":true}})",
       "items[1] (PodDisruptionBudget n/x): spec.maxUnavailable: expected integer or percentage "
       "string"},
      {R"({"kind":"Deployment","metadata":{"name":"d","namespace":"n"},"spec":{"replicas":"3"}})",
       "items[1] (Deployment n/d): spec.replicas: expected integer"},
      {R"({"kind":"Deployment","metadata":{"name":"d","namespace":"n"},"spec":{"template":{"spec":{"tolerations":[{"key":1}]}}}})",
       "items[1] (Deployment n/d): spec.template.spec.tolerations[0].key: expected string"},
      {R"({"kind":"StatefulSet","metadata":{"name":"s","namespace":"n"},"spec":{"replicas":4294967296}})",
       "items[1] (StatefulSet n/s): spec.replicas: integer out of int32 range"},
      {R"({"kind":"Service","metadata":{"name":"s","namespace":"n"},"spec":{"selector":{"app":5}}})",
       "items[1] (Service n/s): spec.selector.app: expected string"},
      {R"({"kind":"PersistentVolume","metadata":{"name":"pv"},"spec":{"nodeAffinity":{"required":{"nodeSelectorTerms":{}}}}})",
       "items[1] (PersistentVolume pv): spec.nodeAffinity.required.nodeSelectorTerms: expected "
       "array"},
      {R"({"kind":"Schedule","apiVersion":"velero.io/v1","metadata":{"name":"s","namespace":"velero"},"status":{"lastBackup":"yesterday"}})",
       "items[1] (Schedule velero/s): status.lastBackup: invalid RFC 3339 timestamp"},
      {R"({"kind":"Node","metadata":{"labels":{"zone":["a"]},"name":"late"}})",
       "items[1] (Node): metadata.labels.zone: expected string"},
      {R"({"kind":7})", "items[1] (object without kind): kind: expected string"},
      {R"({"metadata":{"name":"anon"}})", "items[1]: no kind, and the list does not name one"},
      {"42", "items[1]: expected object"},
      {"null", "items[1]: expected object, got null"},
      {R"({"kind":"Pod","metadata":{"name":"p","namespace":"n"},"spec":{"nodeName":"a",}})",
       "items[1] (Pod n/p): spec: "},  // a syntax error inside a field that is read
  };
  const std::string good_before = R"({"kind":"Namespace","metadata":{"name":"before"}})";
  const std::string good_after = R"({"kind":"Namespace","metadata":{"name":"after"}})";
  for (const Case& c : cases) {
    CAPTURE(c.item);
    for (auto mode : {detail::ItemRecovery::kDirectThenSpans, detail::ItemRecovery::kSpans}) {
      Objects o;
      auto r = detail::decodeObjects(list({good_before, c.item, good_after}), o, mode);
      REQUIRE_MESSAGE(r.has_value(), r.error().describe());
      REQUIRE(o.warnings.size() == 1);
      CHECK_MESSAGE(o.warnings[0].starts_with(c.warning), o.warnings[0]);
      CHECK(o.skipped == 1);
      CHECK(o.partial);
      CHECK(total(o) == 2);
      REQUIRE(o.namespaces.size() == 2);
      CHECK(o.namespaces[1].name == "after");
    }
  }
}

TEST_CASE("bad items among many: each is skipped once, everything else is kept") {
  std::vector<std::string> items;
  for (size_t i = 0; i < 6; ++i)
    items.push_back(listItem("apiserver-pods_kube-system_eks-v1.31.json", i));
  std::vector<std::string> mixed = {items[0],
                                    R"({"kind":"Pod","metadata":{"name":1}})",
                                    items[1],
                                    items[2],
                                    R"({"kind":"Node","spec":{"taints":{}}})",
                                    items[3],
                                    items[4],
                                    items[5]};
  Objects o = decode(list(mixed, "PodList"));
  Objects whole = decodeFixture("apiserver-pods_kube-system_eks-v1.31.json");
  CHECK(o.pods == whole.pods);
  CHECK(o.warnings == std::vector<std::string>{
                          "items[1] (Pod): metadata.name: expected string",
                          "items[4] (Node): spec.taints: expected array",
                      });
  CHECK(o.skipped == 2);
}

TEST_CASE("a document over 4 GiB is kParse before it is read") {
  const size_t size = (size_t{4} << 30) + 1;
  // Address space only: no page of it is touched.
  void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return;  // no address space to spare: nothing to test
  Objects o;
  auto r = decodeObjects(std::string_view(static_cast<const char*>(p), size), o);
  munmap(p, size);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::kParse);
  CHECK(r.error().message ==
        "k8s objects: document of 4294967297 bytes is over the 4 GiB limit "
        "of the JSON parser");
}

TEST_CASE("cut anywhere: never an exception, both recoveries agree, kept items are a prefix") {
  const std::string full = fixture("mixed-list.json");
  const Objects whole = decodeFixture("mixed-list.json");
  for (size_t cut = 0; cut < full.size(); cut += 3) {
    CAPTURE(cut);
    const std::string_view part = std::string_view(full).substr(0, cut);
    Objects fast, spans;
    auto r1 = detail::decodeObjects(part, fast, detail::ItemRecovery::kDirectThenSpans);
    auto r2 = detail::decodeObjects(part, spans, detail::ItemRecovery::kSpans);
    REQUIRE(r1.has_value() == r2.has_value());
    if (!r1) {
      CHECK((r1.error().code == ErrorCode::kParse && r1.error().message == r2.error().message));
      continue;
    }
    auto prefix = [](const auto& part, const auto& all) {
      return part.size() <= all.size() && std::equal(part.begin(), part.end(), all.begin());
    };
    // One CHECK per cut: there are thousands of cuts.
    CHECK((same(fast, spans) && fast.partial && prefix(fast.namespaces, whole.namespaces) &&
           prefix(fast.nodes, whole.nodes) && prefix(fast.pods, whole.pods) &&
           prefix(fast.workloads, whole.workloads) && prefix(fast.pdbs, whole.pdbs) &&
           prefix(fast.hpas, whole.hpas) && prefix(fast.services, whole.services) &&
           prefix(fast.pvcs, whole.pvcs) && prefix(fast.pvs, whole.pvs) &&
           prefix(fast.velero_schedules, whole.velero_schedules)));
  }
}
