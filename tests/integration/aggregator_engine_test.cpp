// The aggregator runs the resilience engine live: kubesim (demo scenario) as
// the API server, the aggregator reading it with --kubeconfig, agents on two
// of the demo's nodes. The report and the metrics show the demo's known
// weaknesses; a killed agent's node stops counting.
#include <doctest/doctest.h>

#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rampart/curve.h"
#include "test_paths.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::testing;
using nlohmann::json;

namespace {

const std::vector<std::string> kAgentNodes = {"worker-a1", "worker-b1"};

struct LiveCluster {
  TempDir dir;
  std::unique_ptr<Process> kubesim, aggregator;
  std::map<std::string, std::unique_ptr<Process>> agents;
  std::string http, ingest;
  CurveKeyPair server_keys = *generateCurveKeyPair();
  CurveKeyPair agent_keys = *generateCurveKeyPair();

  LiveCluster() {
    REQUIRE(writeKeyFile(dir / "aggregator.key", server_keys, true).has_value());
    REQUIRE(writeKeyFile(dir / "aggregator.pub", server_keys, false).has_value());
    REQUIRE(writeKeyFile(dir / "agent.key", agent_keys, true).has_value());
    REQUIRE(writeKeyFile(dir / "agent.pub", agent_keys, false).has_value());
    kubesim = std::make_unique<Process>(
        std::vector<std::string>{
            rampart::testing::kKubesimBin, "serve", "--scenario",
            std::string(rampart::testing::kSourceDir) + "/tools/kubesim/scenarios/demo.yaml",
            "--listen", "127.0.0.1:0", "--ready-file", (dir / "kubesim.ready").string()},
        dir / "kubesim.log");
    auto ks = readReadyFile(dir / "kubesim.ready", "url", 20s);
    REQUIRE_MESSAGE(ks.has_value(), kubesim->log());
    std::ofstream(dir / "kubeconfig")
        << "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: "
        << ks->at("url")
        << "\nusers:\n- name: sim\n  user:\n    token: test-token\ncontexts:\n- name: sim\n"
           "  context:\n    cluster: sim\n    user: sim\ncurrent-context: sim\n";
    aggregator = std::make_unique<Process>(
        std::vector<std::string>{
            rampart::testing::kAggregatorBin, "--ingest", "tcp://127.0.0.1:0", "--http",
            "127.0.0.1:0", "--curve-key", (dir / "aggregator.key").string(), "--allowed-agent-keys",
            (dir / "agent.pub").string(), "--db", (dir / "rampart.db").string(), "--cluster", "it",
            "--kubeconfig", (dir / "kubeconfig").string(), "--engine-interval-ms", "100",
            // 2 s of silence (not 600 ms): a loaded machine stalls agents.
            "--missed-heartbeats", "10", "--ready-file", (dir / "aggregator.ready").string()},
        dir / "aggregator.log");
    auto ag = readReadyFile(dir / "aggregator.ready", "http", 20s);
    REQUIRE_MESSAGE(ag.has_value(), aggregator->log());
    http = ag->at("http");
    ingest = ag->at("ingest");
    for (const auto& node : kAgentNodes) {
      agents[node] = std::make_unique<Process>(
          std::vector<std::string>{
              rampart::testing::kAgentBin, "--kubeconfig", (dir / "kubeconfig").string(),
              "--aggregator", ingest, "--aggregator-public-key", (dir / "aggregator.pub").string(),
              "--curve-key", (dir / "agent.key").string(), "--interval-ms", "200"},
          dir / ("agent-" + node + ".log"),
          std::map<std::string, std::string>{{"NODE_NAME", node}});
    }
  }

  json get(const std::string& path) {
    auto r = httpGet(http + path);
    if (r.status != 200) return json();
    return json::parse(r.body, nullptr, false);
  }

  bool synced(const std::string& node) {
    auto j = get("/api/v1/nodes");
    if (!j.is_object()) return false;
    for (const auto& n : j["nodes"]) {
      if (n["name"] == node) return n["agent"]["connected"] == true && n["agent"]["synced"] == true;
    }
    return false;
  }

  std::string metrics() { return httpGet(http + "/metrics").body; }
};

bool hasFinding(const json& report, const std::string& check, const std::string& kind,
                const std::string& ns, const std::string& name) {
  if (!report.is_object()) return false;
  for (const auto& f : report["findings"]) {
    if (f["check"] != check) continue;
    const auto& s = f["subject"];
    if (s.value("kind", "") == kind && s.value("namespace", "") == ns &&
        s.value("name", "") == name) {
      return true;
    }
  }
  return false;
}

bool hasCheck(const json& report, const std::string& check) {
  if (!report.is_object()) return false;
  for (const auto& f : report["findings"]) {
    if (f["check"] == check) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("the aggregator evaluates the live cluster; a killed agent's node stops counting") {
  LiveCluster c;
  json report;
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        report = c.get("/api/v1/audit");
                        return hasFinding(report, "workload.single-replica", "Deployment", "shop",
                                          "payments") &&
                               hasCheck(report, "whatif.node-loss");
                      },
                      15s),
                  c.aggregator->log());
  CHECK(report["schema"] == "rampart.audit/v1");

  auto metrics = c.metrics();
  CHECK(metrics.find("rampart_cluster_score{cluster=\"it\"}") != std::string::npos);
  CHECK(metrics.find("rampart_findings{cluster=\"it\",check=\"workload.single-replica\"") !=
        std::string::npos);
  CHECK(metrics.find("rampart_workload_score{cluster=\"it\",kind=\"Deployment\",namespace=\"shop\""
                     ",workload=\"payments\"}") != std::string::npos);
  CHECK(metrics.find("rampart_api_errors_total{cluster=\"it\"} 0") != std::string::npos);

  auto filtered = c.get("/api/v1/findings?check=workload.single&namespace=shop");
  REQUIRE(filtered.is_object());
  REQUIRE_FALSE(filtered["findings"].empty());
  for (const auto& f : filtered["findings"]) {
    CHECK(f["check"] == "workload.single-replica");
  }

  // The agents are synced and the report counts worker-a1 before the fault.
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        return c.synced("worker-a1") && c.synced("worker-b1") &&
                               !hasFinding(c.get("/api/v1/audit"), "node.not-ready", "Node", "",
                                           "worker-a1");
                      },
                      10s),
                  c.aggregator->log());
  auto killed = std::chrono::steady_clock::now();
  c.agents["worker-a1"]->signal(SIGKILL);
  CHECK_MESSAGE(waitUntil(
                    [&] {
                      // The API server still sees the node Ready: the agent
                      // failed or is cut off (docs/checks.md, "Liveness").
                      return hasFinding(c.get("/api/v1/audit"), "node.partitioned-or-agent-failed",
                                        "Node", "", "worker-a1");
                    },
                    10s),
                c.aggregator->log());
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  killed);
  MESSAGE("fault to report: " << ms.count() << " ms");
  CHECK_FALSE(hasFinding(c.get("/api/v1/audit"), "node.not-ready", "Node", "", "worker-b1"));
  CHECK_FALSE(hasFinding(c.get("/api/v1/audit"), "node.partitioned-or-agent-failed", "Node", "",
                         "worker-b1"));
}

TEST_CASE("without --kubeconfig the aggregator evaluates the agents' model alone, partial") {
  TempDir dir;
  auto keys = *generateCurveKeyPair();
  REQUIRE(writeKeyFile(dir / "aggregator.key", keys, true).has_value());
  REQUIRE(writeKeyFile(dir / "agent.pub", keys, false).has_value());
  Process aggregator({rampart::testing::kAggregatorBin, "--ingest", "tcp://127.0.0.1:0", "--http",
                      "127.0.0.1:0", "--curve-key", (dir / "aggregator.key").string(),
                      "--allowed-agent-keys", (dir / "agent.pub").string(), "--db",
                      (dir / "rampart.db").string(), "--ready-file", (dir / "ready").string()},
                     dir / "aggregator.log");
  auto ready = readReadyFile(dir / "ready", "http", 20s);
  REQUIRE_MESSAGE(ready.has_value(), aggregator.log());
  json report;
  REQUIRE(waitUntil(
      [&] {
        auto r = httpGet(ready->at("http") + "/api/v1/audit");
        if (r.status != 200) return false;
        report = json::parse(r.body, nullptr, false);
        return true;
      },
      10s));
  CHECK(report["partial"] == true);
  REQUIRE(report["warnings"].is_array());
  CHECK(report["warnings"].dump().find("controllers, PDBs") != std::string::npos);
}
