// The kinds whose full decoders come later (workload controllers, PDBs,
// Velero backups, kubelet stats) must at least parse with the chosen library
// (simdjson) with the expected shapes; the eviction 429 body goes through
// decodeStatus.
#include <doctest/doctest.h>

#include "k8s_test_util.h"
#include "rampart/k8s_json.h"
#include "rampart/time.h"

using namespace rampart;
using namespace rampart::k8s;
using namespace rampart::k8s::testutil;

TEST_CASE("list fixtures of other kinds parse with their item counts") {
  struct Case {
    const char* file;
    const char* kind;
    size_t items;
    const char* resource_version;
    const char* first_name;
  };
  const Case cases[] = {
      {"apiserver-daemonsets_kube-system_eks-v1.31.json", "DaemonSetList", 2, "2571", "aws-node"},
      {"apiserver-deployments_kube-system_eks-v1.31.json", "DeploymentList", 1, "2572", "coredns"},
      {"apiserver-deployments_partially-ready_kurl.json", "DeploymentList", 4, "27195653",
       "grafana"},
      {"apiserver-replicasets_kube-system_eks-v1.31.json", "ReplicaSetList", 1, "2574",
       "coredns-789f8477df"},
      {"apiserver-replicasets_kurl.json", "ReplicaSetList", 2, "27195657", "kotsadm-f98ff7d75"},
      {"apiserver-statefulsets_partially-ready_kurl.json", "StatefulSetList", 2, "27195655",
       "alertmanager-prometheus-alertmanager"},
      {"kubectl-get-pdb-A_List_scaleway-kapsule.json", "List", 4, "", "cilium-operator"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.file);
    simdjson::ondemand::parser parser;
    simdjson::padded_string json(fixture(c.file));
    simdjson::ondemand::document doc = parser.iterate(json);
    std::string_view kind = doc["kind"].get_string();
    CHECK(kind == c.kind);
    std::string_view rv = doc["metadata"]["resourceVersion"].get_string();
    CHECK(rv == c.resource_version);
    size_t n = 0;
    for (auto item : doc["items"].get_array()) {
      std::string_view name = item["metadata"]["name"].get_string();
      if (n == 0) CHECK(name == c.first_name);
      ++n;
    }
    CHECK(n == c.items);
  }
}

TEST_CASE("kubelet stats summary parses: node name and 18 pods with PSI blocks") {
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(fixture("kubelet-stats-summary_v1.34_minikube.json"));
  std::string_view node = doc["node"]["nodeName"];
  CHECK(node == "datagen-1-34");
  simdjson::dom::array pods = doc["pods"];
  CHECK(pods.size() == 18);
  size_t with_volume = 0;
  for (simdjson::dom::element p : pods) {
    if (p["volume"].error() == simdjson::SUCCESS) ++with_volume;
  }
  CHECK(with_volume == 14);
  CHECK(doc["node"]["cpu"]["psi"].error() == simdjson::SUCCESS);
}

TEST_CASE("velero backup parses") {
  simdjson::dom::parser parser;
  simdjson::dom::element doc =
      parser.parse(fixture("velero-backup_completed_datamover_v1.18.json"));
  std::string_view kind = doc["kind"], phase = doc["status"]["phase"],
                   done = doc["status"]["completionTimestamp"];
  CHECK(kind == "Backup");
  CHECK(phase == "Completed");
  CHECK(parseRfc3339Seconds(done).has_value());
}

TEST_CASE("decodeStatus: eviction blocked by a PDB (429)") {
  auto s = decodeStatus(fixture("eviction-response_429_pdb-blocked_eks.json"));
  REQUIRE_MESSAGE(s.has_value(), s.error().describe());
  CHECK(s->code == 429);
  CHECK(s->reason == "TooManyRequests");
  CHECK(s->message == "Cannot evict pod as it would violate the pod's disruption budget.");

  auto ok = decodeStatus(
      R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","code":201})");
  REQUIRE(ok.has_value());
  CHECK(ok->code == 201);
  CHECK(ok->reason.empty());

  CHECK_FALSE(decodeStatus("").has_value());
  CHECK_FALSE(decodeStatus(R"({"code":"429"})").has_value());
  CHECK_FALSE(decodeStatus("not json").has_value());
}
