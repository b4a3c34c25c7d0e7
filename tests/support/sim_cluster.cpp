#include "sim_cluster.h"
#include "test_paths.h"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

namespace rampart::testing {

SimCluster::SimCluster(SimClusterOptions o) : options(std::move(o)) {
  auto s = generateCurveKeyPair();
  auto a = generateCurveKeyPair();
  REQUIRE((s.has_value() && a.has_value()));
  server_keys = *s;
  agent_keys = *a;
  REQUIRE(writeKeyFile(dir / "aggregator.key", server_keys, true).has_value());
  REQUIRE(writeKeyFile(dir / "aggregator.pub", server_keys, false).has_value());
  REQUIRE(writeKeyFile(dir / "agent.key", agent_keys, true).has_value());
  REQUIRE(writeKeyFile(dir / "agent.pub", agent_keys, false).has_value());
  std::vector<std::string> argv{rampart::testing::kKubesimBin,
                                "serve",
                                "--scenario",
                                options.scenario.starts_with("/")
                                    ? options.scenario
                                    : std::string(rampart::testing::kSourceDir) +
                                          "/tools/kubesim/scenarios/" + options.scenario,
                                "--listen",
                                "127.0.0.1:0",
                                "--ready-file",
                                (dir / "kubesim.ready").string()};
  argv.insert(argv.end(), options.kubesim_args.begin(), options.kubesim_args.end());
  kubesim = std::make_unique<Process>(argv, dir / "kubesim.log");
  auto ks = readReadyFile(dir / "kubesim.ready", "url", options.start_timeout);
  REQUIRE_MESSAGE(ks.has_value(), kubesim->log());
  api = ks->at("url");
  std::ofstream(dir / "kubeconfig")
      << "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: " << api
      << "\nusers:\n- name: sim\n  user:\n    token: test-token\ncontexts:\n- name: sim\n"
         "  context:\n    cluster: sim\n    user: sim\ncurrent-context: sim\n";
  startAggregator("tcp://127.0.0.1:0", "1");
  for (const auto& node : options.agents) startAgent(node);
}

void SimCluster::startAggregator(const std::string& ingest_endpoint, const std::string& run) {
  const auto ready = dir / ("aggregator-" + run + ".ready");
  std::vector<std::string> argv{rampart::testing::kAggregatorBin,
                                "--ingest",
                                ingest_endpoint,
                                "--http",
                                "127.0.0.1:0",
                                "--curve-key",
                                (dir / "aggregator.key").string(),
                                "--allowed-agent-keys",
                                (dir / "agent.pub").string(),
                                "--db",
                                (dir / "rampart.db").string(),
                                "--cluster",
                                options.cluster,
                                "--missed-heartbeats",
                                std::to_string(options.missed_heartbeats),
                                "--ready-file",
                                ready.string()};
  if (options.aggregator_kubeconfig) {
    argv.push_back("--kubeconfig");
    argv.push_back((dir / "kubeconfig").string());
  }
  argv.insert(argv.end(), options.aggregator_args.begin(), options.aggregator_args.end());
  aggregator = std::make_unique<Process>(argv, dir / ("aggregator-" + run + ".log"));
  auto ag = readReadyFile(ready, "http", options.start_timeout);
  REQUIRE_MESSAGE(ag.has_value(), aggregator->log());
  http = ag->at("http");
  ingest = ag->at("ingest");
}

void SimCluster::startAgent(const std::string& node) {
  startAgent(node, {});
}

void SimCluster::startAgent(const std::string& node, const std::vector<std::string>& extra) {
  std::vector<std::string> argv{rampart::testing::kAgentBin,
                                "--kubeconfig",
                                (dir / "kubeconfig").string(),
                                "--aggregator",
                                ingest,
                                "--aggregator-public-key",
                                (dir / "aggregator.pub").string(),
                                "--curve-key",
                                (dir / "agent.key").string(),
                                "--interval-ms",
                                std::to_string(options.agent_interval_ms)};
  argv.insert(argv.end(), options.agent_args.begin(), options.agent_args.end());
  argv.insert(argv.end(), extra.begin(), extra.end());
  agents[node] = std::make_unique<Process>(argv, dir / ("agent-" + node + ".log"),
                                           std::map<std::string, std::string>{{"NODE_NAME", node}});
}

nlohmann::json SimCluster::get(const std::string& url) const {
  auto r = httpGet(url);
  if (r.status != 200) return nlohmann::json();
  return nlohmann::json::parse(r.body, nullptr, false);
}

double SimCluster::metric(const std::string& name, const std::string& labels) const {
  std::istringstream lines(httpGet(http + "/metrics").body);
  std::string line;
  const std::string want = name + "{" + labels + "}";
  while (std::getline(lines, line)) {
    if (line.starts_with(want + " ")) return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return -1;
}

nlohmann::json SimCluster::fault(const nlohmann::json& f) const {
  auto r = httpRequest("POST", api + "/_kubesim/faults", f.dump());
  if (r.status != 200) return nlohmann::json();
  return nlohmann::json::parse(r.body, nullptr, false);
}

nlohmann::json SimCluster::findings(const std::string& check_prefix) const {
  auto j = get(http + "/api/v1/findings?check=" + check_prefix);
  if (!j.is_object() || !j.contains("findings")) return nlohmann::json::array();
  return j["findings"];
}

std::string SimCluster::logs() const {
  std::string out = aggregator ? aggregator->log() : std::string();
  for (const auto& [node, p] : agents) out += "\n--- agent " + node + "\n" + p->log();
  return out;
}

}  // namespace rampart::testing
