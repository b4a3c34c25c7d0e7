// The cluster reader (rampart/cluster_reader.h) against a real kubesim process: every kind of the
// demo scenario read page by page, a cluster without Velero, and the
// failures the reader must pass on.
#include <doctest/doctest.h>

#include <fstream>
#include <set>

#include "rampart/cluster_reader.h"
#include "test_paths.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::testing;

namespace {

struct Kubesim {
  TempDir dir;
  std::unique_ptr<Process> process;
  std::string url;

  explicit Kubesim(const std::filesystem::path& scenario) {
    process = std::make_unique<Process>(
        std::vector<std::string>{rampart::testing::kKubesimBin, "serve", "--scenario",
                                 scenario.string(), "--listen", "127.0.0.1:0", "--ready-file",
                                 (dir / "ready").string()},
        dir / "kubesim.log");
    auto ready = readReadyFile(dir / "ready", "url", 20s);
    REQUIRE_MESSAGE(ready.has_value(), process->log());
    url = ready->at("url");
  }
  KubeClient client() const {
    KubeCredentials creds;
    creds.server = url;
    return KubeClient(creds);
  }
  CommandResult fault(std::vector<std::string> args) const {
    std::vector<std::string> argv = {rampart::testing::kKubesimBin, "fault", "--server", url};
    argv.insert(argv.end(), args.begin(), args.end());
    return runCommand(argv, 20s);
  }
};

std::filesystem::path shipped(const std::string& name) {
  return std::filesystem::path(rampart::testing::kSourceDir) / "tools/kubesim/scenarios" / name;
}

}  // namespace

TEST_CASE("readCluster reads every kind of the demo cluster, in pages") {
  Kubesim sim(shipped("demo.yaml"));
  auto client = sim.client();
  // A page size that splits pods (50) and services (14) over several pages.
  auto objects = k8s::readCluster(client, {.page_size = 7});
  REQUIRE_MESSAGE(objects.has_value(), (objects ? "" : objects.error().describe()));
  CHECK(objects->warnings.empty());
  CHECK_FALSE(objects->partial);
  CHECK(objects->skipped == 0);
  CHECK(objects->nodes.size() == 7);
  CHECK(objects->pods.size() == 50);
  CHECK(objects->services.size() == 14);
  CHECK(objects->namespaces.size() == 9);
  CHECK(objects->pvcs.size() == 6);
  CHECK(objects->pvs.size() == 6);
  CHECK(objects->pdbs.size() == 9);
  CHECK(objects->hpas.size() == 3);
  CHECK(objects->velero_seen);
  CHECK(objects->velero_schedules.size() == 2);
  CHECK(objects->velero_backups.size() == 6);
  std::map<std::string, int> kinds;
  for (const auto& w : objects->workloads) ++kinds[w.kind];
  CHECK(kinds == std::map<std::string, int>{
                     {"DaemonSet", 2}, {"Deployment", 10}, {"ReplicaSet", 10}, {"StatefulSet", 3}});

  std::set<std::string> pod_names;
  for (const auto& p : objects->pods) pod_names.insert(p.namespace_ + "/" + p.name);
  CHECK(pod_names.size() == 50);  // no page read twice
  for (const auto& p : objects->pods) {
    if (p.name == "etcd-cp-1") {
      REQUIRE_FALSE(p.owners.empty());
      CHECK(p.owners[0].kind == "Node");
      CHECK(p.owners[0].name == "cp-1");
    }
    if (p.name == "zookeeper-0") {
      CHECK(p.pvc_names == std::vector<std::string>{"data-zookeeper-0"});
    }
  }
  bool quorum = false;
  for (const auto& w : objects->workloads) {
    if (w.kind == "StatefulSet" && w.name == "zookeeper") {
      quorum = w.annotations.count("rampart.io/quorum") == 1;
      CHECK(w.volume_claim_templates == std::vector<std::string>{"data"});
    }
  }
  CHECK(quorum);
  for (const auto& pv : objects->pvs) {
    REQUIRE(pv.node_affinity.size() == 1);
    CHECK(pv.node_affinity[0].match_expressions[0].key == "topology.kubernetes.io/zone");
  }
}

TEST_CASE("a cluster without Velero is read without Velero and without a warning") {
  TempDir dir;
  {
    std::ofstream f(dir / "plain.yaml");
    f << "nodes: [{name: n1}]\nworkloads: [{name: web, replicas: 2}]\n";
  }
  Kubesim sim(dir / "plain.yaml");
  auto client = sim.client();
  auto objects = k8s::readCluster(client);
  REQUIRE_MESSAGE(objects.has_value(), (objects ? "" : objects.error().describe()));
  CHECK_FALSE(objects->velero_seen);
  CHECK(objects->warnings.empty());
  CHECK(objects->pods.size() == 2);
  CHECK(objects->services.size() == 1);  // default/kubernetes
}

TEST_CASE("readCluster: a 404 is a warning, another failure the error") {
  Kubesim sim(shipped("small.yaml"));
  // The first list (nodes) answers 404: read on, with a warning.
  auto r = sim.fault({"api-error", "--status", "404", "--count", "1"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  auto client = sim.client();
  auto objects = k8s::readCluster(client);
  REQUIRE_MESSAGE(objects.has_value(), (objects ? "" : objects.error().describe()));
  CHECK(objects->nodes.empty());
  CHECK(objects->pods.size() == 11);
  REQUIRE(objects->warnings.size() == 1);
  CHECK(objects->warnings[0].find("/api/v1/nodes (404)") != std::string::npos);

  r = sim.fault({"api-error", "--status", "503", "--count", "1"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  auto failed = k8s::readCluster(client);
  REQUIRE_FALSE(failed.has_value());
  CHECK(failed.error().http_status == 503);
  CHECK(failed.error().message.find("GET /api/v1/nodes") != std::string::npos);

  r = sim.fault({"api-garbage", "--count", "1"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  auto garbage = k8s::readCluster(client);
  // A page cut in half (inside its items) keeps the items before the cut and
  // says the input is partial; the read goes on with the other kinds.
  REQUIRE_MESSAGE(garbage.has_value(), (garbage ? "" : garbage.error().describe()));
  CHECK(garbage->partial);
  CHECK(garbage->nodes.size() < 3);
  CHECK_FALSE(garbage->warnings.empty());
  CHECK(garbage->pods.size() == 11);
}

TEST_CASE("a live read and the committed kubectl dump of the demo give the same objects") {
  k8s::Objects dumped;
  for (const char* file : {"demo-kubectl.json", "demo-velero.json"}) {
    auto ok = k8s::decodeObjects(readFile(testData(std::string("dumps/") + file)), dumped);
    REQUIRE_MESSAGE(ok.has_value(), (ok ? "" : ok.error().describe()));
  }
  CHECK(dumped.warnings.empty());
  CHECK_FALSE(dumped.partial);

  Kubesim sim(shipped("demo.yaml"));
  auto client = sim.client();
  auto live = k8s::readCluster(client);
  REQUIRE(live.has_value());
  CHECK(live->nodes == dumped.nodes);
  CHECK(live->pods == dumped.pods);
  CHECK(live->workloads == dumped.workloads);
  CHECK(live->pdbs == dumped.pdbs);
  CHECK(live->hpas == dumped.hpas);
  CHECK(live->services == dumped.services);
  CHECK(live->namespaces == dumped.namespaces);
  CHECK(live->pvcs == dumped.pvcs);
  CHECK(live->pvs == dumped.pvs);
  CHECK(live->velero_schedules == dumped.velero_schedules);
  CHECK(live->velero_backups == dumped.velero_backups);
  CHECK(live->velero_seen == dumped.velero_seen);
}
