// The real kubectl against a real kubesim process: the test of kubesim's
// fidelity (discovery, Tables for server-side printing, plain JSON lists).
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "test_paths.h"
#include "test_support.h"

using namespace rampart::testing;

namespace {

constexpr const char* kKubectl = "/usr/bin/kubectl";

struct Kubesim {
  TempDir dir;
  std::unique_ptr<Process> process;
  std::string url;

  explicit Kubesim(const std::string& scenario) {
    process = std::make_unique<Process>(
        std::vector<std::string>{
            rampart::testing::kKubesimBin, "serve", "--scenario",
            std::string(rampart::testing::kSourceDir) + "/tools/kubesim/scenarios/" + scenario,
            "--listen", "127.0.0.1:0", "--ready-file", (dir / "ready").string()},
        dir / "kubesim.log");
    auto ready = readReadyFile(dir / "ready", "url", 20s);
    REQUIRE_MESSAGE(ready.has_value(), process->log());
    url = ready->at("url");
  }

  // kubectl with a private HOME, so its discovery cache is this test's.
  CommandResult kubectl(std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/env", "HOME=" + (dir / "home").string(), kKubectl,
                                     "--server", url};
    argv.insert(argv.end(), args.begin(), args.end());
    return runCommand(argv, 60s);
  }
};

std::vector<std::vector<std::string>> table(const std::string& output) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::vector<std::string> row;
    std::string w;
    while (words >> w) row.push_back(w);
    if (!row.empty()) rows.push_back(row);
  }
  return rows;
}

}  // namespace

TEST_CASE("kubectl get nodes shows NAME STATUS ROLES AGE VERSION") {
  if (!std::filesystem::exists(kKubectl)) {
    FAIL("kubectl is not installed at " << kKubectl);
  }
  Kubesim sim("small.yaml");
  auto r = sim.kubectl({"get", "nodes"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  auto rows = table(r.output);
  REQUIRE(rows.size() == 4);
  CHECK(rows[0] == std::vector<std::string>{"NAME", "STATUS", "ROLES", "AGE", "VERSION"});
  CHECK(rows[1][0] == "node-a");
  CHECK(rows[2][0] == "node-b");
  CHECK(rows[3][0] == "node-c");
  for (size_t i = 1; i < rows.size(); ++i) {
    CHECK(rows[i][1] == "Ready");
    CHECK(rows[i][4] == "v1.31.4");
  }
}

TEST_CASE("kubectl get pods -A -o wide shows every pod with its node") {
  Kubesim sim("small.yaml");
  auto r = sim.kubectl({"get", "pods", "-A", "-o", "wide"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  auto rows = table(r.output);
  REQUIRE(rows.size() == 12);  // header + 11 pods
  CHECK(rows[0] == std::vector<std::string>{"NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS",
                                            "AGE", "IP", "NODE", "NOMINATED", "NODE", "READINESS",
                                            "GATES"});
  int on_node_a = 0;
  bool saw_db0 = false;
  for (size_t i = 1; i < rows.size(); ++i) {
    REQUIRE(rows[i].size() >= 8);
    CHECK(rows[i][2] == "1/1");
    CHECK(rows[i][3] == "Running");
    CHECK(rows[i][6].rfind("10.244.", 0) == 0);
    const std::string& node = rows[i][7];
    CHECK((node == "node-a" || node == "node-b" || node == "node-c"));
    if (node == "node-a") ++on_node_a;
    if (rows[i][0] == "shop" && rows[i][1] == "db-0") saw_db0 = true;
  }
  CHECK(saw_db0);
  CHECK(on_node_a >= 3);  // cache is pinned to node-a twice, plus the DaemonSet pod
}

TEST_CASE("kubectl get deployments -A and get pdb -A") {
  Kubesim sim("small.yaml");
  auto r = sim.kubectl({"get", "deployments", "-A"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  auto rows = table(r.output);
  REQUIRE(rows.size() == 3);
  CHECK(rows[0] ==
        std::vector<std::string>{"NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"});
  CHECK(rows[1] == std::vector<std::string>{"shop", "cache", "2/2", "2", "2", rows[1][5]});
  CHECK(rows[2] == std::vector<std::string>{"shop", "web", "3/3", "3", "3", rows[2][5]});

  auto pdb = sim.kubectl({"get", "pdb", "-A"});
  REQUIRE_MESSAGE(pdb.exit_code == 0, pdb.output);
  auto pdb_rows = table(pdb.output);
  REQUIRE(pdb_rows.size() == 2);
  CHECK(pdb_rows[1][0] == "shop");
  CHECK(pdb_rows[1][1] == "web");
  CHECK(pdb_rows[1][2] == "2");  // MIN AVAILABLE
  CHECK(pdb_rows[1][4] == "1");  // ALLOWED DISRUPTIONS
}

TEST_CASE("kubectl get pods -A -o json returns every pod, and follows a fault") {
  Kubesim sim("small.yaml");
  auto r = sim.kubectl({"get", "pods", "-A", "-o", "json"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  auto list = nlohmann::json::parse(r.output);
  CHECK(list["kind"] == "List");
  REQUIRE(list["items"].size() == 11);
  CHECK(list["items"][0]["kind"] == "Pod");
  CHECK(list["items"][0]["spec"].contains("nodeName"));

  auto fault = runCommand(
      {rampart::testing::kKubesimBin, "fault", "--server", sim.url, "node-down", "node-b"});
  REQUIRE_MESSAGE(fault.exit_code == 0, fault.output);
  auto nodes = sim.kubectl({"get", "nodes"});
  REQUIRE_MESSAGE(nodes.exit_code == 0, nodes.output);
  auto rows = table(nodes.output);
  REQUIRE(rows.size() == 4);
  CHECK(rows[2][0] == "node-b");
  CHECK(rows[2][1] == "NotReady");

  auto missing = sim.kubectl({"get", "pod", "-n", "shop", "nope"});
  CHECK(missing.exit_code != 0);
  CHECK(missing.output.find("NotFound") != std::string::npos);

  auto demo_nodes = sim.kubectl({"get", "node", "node-a", "-o", "wide"});
  REQUIRE_MESSAGE(demo_nodes.exit_code == 0, demo_nodes.output);
  CHECK(demo_nodes.output.find("INTERNAL-IP") != std::string::npos);
}

TEST_CASE("kubectl against the demo scenario lists the control-plane role") {
  Kubesim sim("demo.yaml");
  auto r = sim.kubectl({"get", "nodes"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  auto rows = table(r.output);
  REQUIRE(rows.size() >= 8);
  CHECK(rows[1][0] == "cp-1");
  CHECK(rows[1][2] == "control-plane");
  sim.process->signal(SIGTERM);
  auto status = sim.process->wait(10s);
  REQUIRE(status.has_value());
  CHECK(*status == 0);
}

namespace {

// "kind/name" (as kubectl prints with several kinds) -> count of rows, per kind.
std::map<std::string, int> kindsListed(const std::string& output) {
  std::map<std::string, int> out;
  for (const auto& row : table(output)) {
    for (const auto& cell : row) {
      auto slash = cell.find('/');
      if (slash == std::string::npos || slash == 0 || cell == "N/A") continue;
      // Only the NAME cell has the form kind[.group]/name.
      if (cell.find_first_of(":%") != std::string::npos) continue;
      ++out[cell.substr(0, slash)];
      break;
    }
  }
  return out;
}

std::set<std::string> namesListed(const std::string& output) {
  std::set<std::string> out;
  for (const auto& row : table(output)) {
    for (const auto& cell : row) {
      if (cell.find('/') != std::string::npos && cell.find_first_of(":%") == std::string::npos &&
          cell != "N/A") {
        out.insert(cell);
        break;
      }
    }
  }
  return out;
}

nlohmann::json committedDump(const std::string& name) {
  std::ifstream in(std::string(rampart::testing::kSourceDir) + "/tests/data/dumps/" + name);
  REQUIRE_MESSAGE(in.good(),
                  "missing tests/data/dumps/" << name << ": run tools/kubesim/make-dump");
  return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE(
    "kubectl lists the demo's services, controllers, PDBs, HPAs, claims, volumes and namespaces") {
  Kubesim sim("demo.yaml");
  auto r = sim.kubectl(
      {"get", "services,deployments,statefulsets,daemonsets,replicasets,pdb,hpa,pvc,pv,ns", "-A"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  CHECK(kindsListed(r.output) == std::map<std::string, int>{
                                     {"service", 14},
                                     {"deployment.apps", 10},
                                     {"statefulset.apps", 3},
                                     {"daemonset.apps", 2},
                                     {"replicaset.apps", 10},
                                     {"poddisruptionbudget.policy", 9},
                                     {"horizontalpodautoscaler.autoscaling", 3},
                                     {"persistentvolumeclaim", 6},
                                     {"persistentvolume", 6},
                                     {"namespace", 9},
                                 });
  auto names = namesListed(r.output);
  for (const char* expected :
       {"service/storefront", "service/recommendations", "service/kubernetes",
        "statefulset.apps/zookeeper", "daemonset.apps/node-exporter",
        "poddisruptionbudget.policy/prometheus", "horizontalpodautoscaler.autoscaling/payments",
        "persistentvolumeclaim/data-zookeeper-2", "namespace/velero"}) {
    CHECK_MESSAGE(names.count(expected) == 1, expected);
  }
  // The rows carry the server's cells: the LoadBalancer's ingress, the HPA target.
  for (const auto& row : table(r.output)) {
    if (row.size() > 1 && row[1] == "service/storefront") {
      CHECK(row[2] == "LoadBalancer");
      CHECK(row[4] == "203.0.113.10");
    }
    if (row.size() > 1 && row[1] == "horizontalpodautoscaler.autoscaling/storefront") {
      CHECK(row[2] == "Deployment/storefront");
      CHECK(row[3] == "cpu:");
      CHECK(row[4] == "38%/70%");
    }
  }

  auto velero = sim.kubectl({"get", "backups.velero.io,schedules.velero.io", "-A"});
  REQUIRE_MESSAGE(velero.exit_code == 0, velero.output);
  CHECK(kindsListed(velero.output) ==
        std::map<std::string, int>{{"backup.velero.io", 6}, {"schedule.velero.io", 2}});
  bool saw_failed = false;
  for (const auto& row : table(velero.output)) {
    if (row.size() > 2 && row[1] == "backup.velero.io/data-weekly-20251228030000") {
      CHECK(row[2] == "Failed");
      saw_failed = true;
    }
  }
  CHECK(saw_failed);

  // Server-side paging, as kubectl asks for it.
  auto chunked = sim.kubectl({"get", "pods", "-A", "--chunk-size=7", "-o", "name"});
  REQUIRE_MESSAGE(chunked.exit_code == 0, chunked.output);
  CHECK(table(chunked.output).size() == 50);
}

TEST_CASE("kubectl get <every kind the audit reads> -o json is one List of every kind") {
  Kubesim sim("demo.yaml");
  const std::string every_kind =
      "nodes,pods,services,deployments,replicasets,statefulsets,daemonsets,"
      "poddisruptionbudgets,horizontalpodautoscalers";
  auto r = sim.kubectl({"get", every_kind, "-A", "-o", "json"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  auto list = nlohmann::json::parse(r.output);
  CHECK(list["kind"] == "List");
  std::map<std::string, int> kinds;
  for (const auto& item : list["items"]) {
    ++kinds[item["kind"].get<std::string>()];
    CHECK(item.contains("apiVersion"));
  }
  CHECK(kinds == std::map<std::string, int>{{"Node", 7},
                                            {"Pod", 50},
                                            {"Service", 14},
                                            {"Deployment", 10},
                                            {"ReplicaSet", 10},
                                            {"StatefulSet", 3},
                                            {"DaemonSet", 2},
                                            {"PodDisruptionBudget", 9},
                                            {"HorizontalPodAutoscaler", 3}});
}

TEST_CASE("the committed dumps are what kubectl prints for the scenarios today") {
  for (const std::string scenario : {"demo", "small"}) {
    CAPTURE(scenario);
    Kubesim sim(scenario + ".yaml");
    const std::vector<std::pair<std::string, std::string>> dumps = {
        {scenario + "-kubectl.json",
         "nodes,pods,services,deployments,replicasets,statefulsets,daemonsets,"
         "poddisruptionbudgets,horizontalpodautoscalers,namespaces,persistentvolumeclaims,"
         "persistentvolumes"},
        {scenario + "-velero.json", "backups.velero.io,schedules.velero.io"}};
    for (const auto& [file, kinds] : dumps) {
      auto r = sim.kubectl({"get", kinds, "-A", "-o", "json"});
      REQUIRE_MESSAGE(r.exit_code == 0, r.output);
      // Compared as JSON; on a mismatch name the file rather than print both.
      const bool current = nlohmann::json::parse(r.output) == committedDump(file);
      const std::string stale =
          "tests/data/dumps/" + file + " is stale: run tools/kubesim/make-dump";
      CHECK_MESSAGE(current, stale);
    }
  }
}
