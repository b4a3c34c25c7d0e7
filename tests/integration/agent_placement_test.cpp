// Node-local placement findings end to end: kubesim (agent-placement.yaml:
// two replicas with required hostname anti-affinity pinned to node-a), real
// agents on node-a and node-b, the real aggregator. node-a's agent reports the
// violation; the aggregator serves it (/api/v1/agent-findings, /api/v1/nodes,
// rampart_agent_placement_findings), gets it back from a full report after
// its own restart, and drops it once one replica is deleted.
#include <doctest/doctest.h>

#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "rampart/curve.h"
#include "test_paths.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::testing;
using nlohmann::json;

namespace {

struct Sim {
  TempDir dir;
  std::unique_ptr<Process> kubesim, aggregator;
  std::map<std::string, std::unique_ptr<Process>> agents;
  std::string api, http, ingest;
  CurveKeyPair server_keys = *generateCurveKeyPair();
  CurveKeyPair agent_keys = *generateCurveKeyPair();

  Sim() {
    REQUIRE(writeKeyFile(dir / "aggregator.key", server_keys, true).has_value());
    REQUIRE(writeKeyFile(dir / "aggregator.pub", server_keys, false).has_value());
    REQUIRE(writeKeyFile(dir / "agent.key", agent_keys, true).has_value());
    REQUIRE(writeKeyFile(dir / "agent.pub", agent_keys, false).has_value());
    kubesim = std::make_unique<Process>(
        std::vector<std::string>{rampart::testing::kKubesimBin, "serve", "--scenario",
                                 std::string(rampart::testing::kSourceDir) +
                                     "/tools/kubesim/scenarios/agent-placement.yaml",
                                 "--listen", "127.0.0.1:0", "--ready-file",
                                 (dir / "kubesim.ready").string()},
        dir / "kubesim.log");
    auto ks = readReadyFile(dir / "kubesim.ready", "url", 20s);
    REQUIRE_MESSAGE(ks.has_value(), kubesim->log());
    api = ks->at("url");
    std::ofstream(dir / "kubeconfig")
        << "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: " << api
        << "\nusers:\n- name: sim\n  user:\n    token: test-token\ncontexts:\n- name: sim\n"
           "  context:\n    cluster: sim\n    user: sim\ncurrent-context: sim\n";
    startAggregator("tcp://127.0.0.1:0", "1");
    for (const char* node : {"node-a", "node-b"}) {
      agents[node] = std::make_unique<Process>(
          std::vector<std::string>{
              rampart::testing::kAgentBin, "--kubeconfig", (dir / "kubeconfig").string(),
              "--aggregator", ingest, "--aggregator-public-key", (dir / "aggregator.pub").string(),
              "--curve-key", (dir / "agent.key").string(), "--interval-ms", "200"},
          dir / ("agent-" + std::string(node) + ".log"),
          std::map<std::string, std::string>{{"NODE_NAME", node}});
    }
  }

  void startAggregator(const std::string& ingest_endpoint, const std::string& run) {
    const auto ready = dir / ("aggregator-" + run + ".ready");
    aggregator = std::make_unique<Process>(
        std::vector<std::string>{
            rampart::testing::kAggregatorBin, "--ingest", ingest_endpoint, "--http", "127.0.0.1:0",
            "--curve-key", (dir / "aggregator.key").string(), "--allowed-agent-keys",
            (dir / "agent.pub").string(), "--db", (dir / "rampart.db").string(), "--cluster", "it",
            // 2 s of silence (not 600 ms): a loaded machine stalls agents.
            "--missed-heartbeats", "10", "--ready-file", ready.string()},
        dir / ("aggregator-" + run + ".log"));
    auto ag = readReadyFile(ready, "http", 20s);
    REQUIRE_MESSAGE(ag.has_value(), aggregator->log());
    http = ag->at("http");
    ingest = ag->at("ingest");
  }

  json get(const std::string& url) {
    auto r = httpGet(url);
    if (r.status != 200) return json();
    return json::parse(r.body, nullptr, false);
  }

  json findings(const std::string& node) {
    auto j = get(http + "/api/v1/agent-findings?node=" + node);
    return j.is_object() ? j["findings"] : json();
  }

  // The node's entry in /api/v1/nodes, null until it is synced.
  json syncedNode(const std::string& node) {
    auto j = get(http + "/api/v1/nodes");
    if (!j.is_object()) return json();
    for (const auto& n : j["nodes"]) {
      if (n["name"] == node && n["agent"]["synced"] == true) return n;
    }
    return json();
  }

  // The sample's value, or -1 when the series is absent.
  double metric(const std::string& name, const std::string& labels) {
    std::istringstream lines(httpGet(http + "/metrics").body);
    std::string prefix = name;
    prefix += "{";
    prefix += labels;
    prefix += "}";
    std::string line;
    while (std::getline(lines, line)) {
      if (line.starts_with(prefix)) {
        return std::stod(line.substr(line.rfind(' ') + 1));
      }
    }
    return -1;
  }

  std::vector<std::string> apiPods(const std::string& app) {
    auto j = get(api + "/api/v1/namespaces/shop/pods?labelSelector=app%3D" + app);
    std::vector<std::string> out;
    if (!j.is_object()) return out;
    for (const auto& p : j["items"]) out.push_back(p["metadata"]["name"].get<std::string>());
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string logs() {
    std::string out = aggregator->log();
    for (auto& [node, p] : agents) out += "\n--- agent " + node + "\n" + p->log();
    return out;
  }
};

const std::string kAntiLabels =
    "cluster=\"it\",check=\"placement.anti-affinity\",node=\"node-a\",severity=\"high\"";

// Two findings on node-a, one per api replica, each naming its subject first.
bool showsApiViolation(const json& found, const std::vector<std::string>& api_pods) {
  if (!found.is_array() || found.size() != 2 || api_pods.size() != 2) return false;
  std::set<std::string> subjects;
  for (const auto& f : found) {
    if (f["check"] != "placement.anti-affinity" || f["severity"] != "high" || f["hard"] != true ||
        f["node"] != "node-a" || f["pods"].size() != 2 ||
        f["workload"] != json{{"kind", "Deployment"}, {"namespace", "shop"}, {"name", "api"}} ||
        f["details"]["terms"][0]["topology_key"] != "kubernetes.io/hostname") {
      return false;
    }
    subjects.insert(f["pods"][0].get<std::string>());
  }
  return subjects == std::set<std::string>{"shop/" + api_pods[0], "shop/" + api_pods[1]};
}

}  // namespace

TEST_CASE("the agent reports a hostname anti-affinity violation; it survives a resync and clears") {
  Sim sim;
  const auto api_pods = sim.apiPods("api");
  REQUIRE(api_pods.size() == 2);
  REQUIRE(sim.apiPods("zonal").size() == 2);

  json found;
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        found = sim.findings("node-a");
                        return showsApiViolation(found, api_pods);
                      },
                      20s),
                  found.dump() << "\n"
                               << sim.logs());
  // The zone anti-affinity of shop/zonal is left to the aggregator's engine.
  for (const auto& f : found) CHECK(f["workload"]["name"] == "api");
  CHECK(sim.findings("node-b") == json::array());
  REQUIRE(waitUntil([&] { return sim.syncedNode("node-b").is_object(); }, 10s));
  CHECK(sim.syncedNode("node-a")["placementFindings"] == 2);
  CHECK(sim.syncedNode("node-b")["placementFindings"] == 0);
  CHECK(sim.metric("rampart_agent_placement_findings", kAntiLabels) == 2);
  CHECK(sim.metric("rampart_agent_findings_dropped_total", "cluster=\"it\"") == 0);

  // Findings are not persisted: after a restart of the aggregator they come
  // back only with the full report its resync request brings.
  const std::string ingest = sim.ingest;
  sim.aggregator->signal(SIGKILL);
  REQUIRE(sim.aggregator->wait(10s).has_value());
  sim.startAggregator(ingest, "2");
  REQUIRE_MESSAGE(
      waitUntil([&] { return showsApiViolation(sim.findings("node-a"), api_pods); }, 20s),
      sim.logs());
  CHECK(sim.metric("rampart_agent_placement_findings", kAntiLabels) == 2);

  // One replica deleted: the other has no matching pod left on node-a.
  auto r = runCommand({rampart::testing::kKubesimBin, "fault", "--server", sim.api, "delete-pod",
                       "shop/" + api_pods[0]});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  REQUIRE_MESSAGE(waitUntil([&] { return sim.findings("node-a") == json::array(); }, 20s),
                  sim.findings("node-a").dump() << "\n"
                                                << sim.logs());
  CHECK(sim.metric("rampart_agent_placement_findings", kAntiLabels) == 0);
  CHECK(sim.syncedNode("node-a")["placementFindings"] == 0);
}
