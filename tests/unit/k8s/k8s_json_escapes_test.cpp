// Keys and strings with escapes: most strings are read in place from the
// document (no escapes), the others unescaped; both must give the same
// values, in every decoder and in both item recovery modes of decodeObjects.
#include <doctest/doctest.h>

#include <string>

#include "k8s_json_decode_objects.h"
#include "rampart/k8s_json.h"
#include "rampart/k8s_objects.h"

using namespace rampart;
using namespace rampart::k8s;

namespace {

// Every key and string that matters spelled with escapes somewhere.
constexpr const char* kPod = R"({
  "apiVersion": "v1", "kind": "P\u006fd",
  "metadata": {
    "na\u006de": "web-\"1\"", "namespace": "sh\u00f6p", "uid": "u\\1",
    "labels": {"a\\b": "c\u00e9", "app": "web", "tab\tkey": "x\ny", "\u0070od-template-hash": "abc"},
    "ownerReferences": [{"kind": "Replic\u0061Set", "name": "web-abc", "controller": true}]
  },
  "spec": {"nodeName": "node\/1", "containers": [{"name": "c\u0031", "readinessProbe": {}}]},
  "status": {"phase": "Runn\u0069ng", "conditions": [{"type": "Re\u0061dy", "status": "Tru\u0065"}],
             "containerStatuses": [{"name": "c\u0031", "ready": true}]}
})";

void checkPod(const Pod& p) {
  CHECK(p.name == "web-\"1\"");
  CHECK(p.namespace_ == "sh\xc3\xb6p");
  CHECK(p.uid == "u\\1");
  CHECK(p.node_name == "node/1");
  CHECK(p.labels == Labels{{"a\\b", "c\xc3\xa9"},
                           {"app", "web"},
                           {"tab\tkey", "x\ny"},
                           {"pod-template-hash", "abc"}});
  CHECK(p.phase == PodPhase::kRunning);
  CHECK(p.ready);
  REQUIRE(p.owners.size() == 2);
  CHECK(p.owners[0].kind == "ReplicaSet");
  CHECK(p.owners[1].kind == "Deployment");  // inferred through the unescaped label key
  CHECK(p.owners[1].name == "web");
  REQUIRE(p.containers.size() == 1);
  CHECK(p.containers[0].name == "c1");
  CHECK(p.containers[0].ready);
  CHECK(p.containers[0].probes.readiness);
}

}  // namespace

TEST_CASE("escaped keys and strings: decodePod") {
  Result<Pod> p = decodePod(kPod);
  REQUIRE(p);
  checkPod(*p);
}

TEST_CASE("escaped keys and strings: decodeObjects, both recovery modes, copied and in place") {
  const std::string list = std::string(R"({"kind":"List","items":[)") + kPod + "," + kPod + "]}";
  for (auto mode : {detail::ItemRecovery::kDirectThenSpans, detail::ItemRecovery::kSpans}) {
    Objects copied, in_place;
    REQUIRE(detail::decodeObjects(std::string_view(list), copied, mode));
    REQUIRE(detail::decodeObjects(std::string(list), in_place, mode));
    for (const Objects* o : {&copied, &in_place}) {
      CHECK(o->warnings.empty());
      REQUIRE(o->pods.size() == 2);
      checkPod(o->pods[0]);
      checkPod(o->pods[1]);
    }
  }
}

TEST_CASE("a string value of the wrong type still names its field") {
  Result<Pod> p = decodePod(R"({"metadata":{"name":7}})");
  REQUIRE(!p);
  CHECK(p.error().describe().find("metadata.name: expected string") != std::string::npos);
}

TEST_CASE("decodeObjects(std::string&&): in place with spare capacity, copied without") {
  const std::string list = std::string(R"({"kind":"List","items":[)") + kPod + "]}";
  std::string roomy = list;
  roomy.reserve(list.size() + 200);
  std::string tight = list;
  tight.shrink_to_fit();
  for (std::string* s : {&roomy, &tight}) {
    Objects o;
    REQUIRE(decodeObjects(std::move(*s), o));
    REQUIRE(o.pods.size() == 1);
    checkPod(o.pods[0]);
  }
}

TEST_CASE("a document over 8 MiB (copied onto huge pages where offered), whole and truncated") {
  std::string list = R"({"kind":"List","items":[)";
  const size_t n = 16 * 1024 * 1024 / std::string_view(kPod).size() + 1;
  for (size_t i = 0; i < n; ++i) {
    if (i != 0) list += ',';
    list += kPod;
  }
  list += "]}";
  REQUIRE(list.size() > 8u << 20);
  Objects whole;
  REQUIRE(decodeObjects(std::string_view(list), whole));
  CHECK(whole.pods.size() == n);
  CHECK(!whole.partial);
  checkPod(whole.pods.back());

  Objects cut;
  REQUIRE(decodeObjects(std::string_view(list).substr(0, list.size() / 2), cut));
  CHECK(cut.partial);
  CHECK(cut.pods.size() > n / 2 - 2);
  CHECK(cut.pods.size() < n / 2 + 1);
  REQUIRE(!cut.warnings.empty());
  CHECK(cut.warnings.back().find("document breaks off at byte " +
                                 std::to_string(list.size() / 2)) != std::string::npos);
}
