// End to end with real processes: kubesim (small scenario) + one rampart-agent
// per node + rampart-aggregator, over loopback, CURVE-encrypted ZeroMQ.
#include <doctest/doctest.h>

#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <zmq.hpp>

#include "rampart/curve.h"
#include "rampart/k8s_json.h"
#include "rampart/wire.h"
#include "test_paths.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::testing;
using nlohmann::json;

namespace {

const std::vector<std::string> kNodes = {"node-a", "node-b", "node-c"};

struct Cluster {
  TempDir dir;
  std::unique_ptr<Process> kubesim, aggregator;
  std::map<std::string, std::unique_ptr<Process>> agents;
  std::string api, http, ingest;
  CurveKeyPair server_keys = *generateCurveKeyPair();
  CurveKeyPair agent_keys = *generateCurveKeyPair();

  Cluster() {
    REQUIRE(writeKeyFile(dir / "aggregator.key", server_keys, true).has_value());
    REQUIRE(writeKeyFile(dir / "aggregator.pub", server_keys, false).has_value());
    REQUIRE(writeKeyFile(dir / "agent.key", agent_keys, true).has_value());
    REQUIRE(writeKeyFile(dir / "agent.pub", agent_keys, false).has_value());
    kubesim = std::make_unique<Process>(
        std::vector<std::string>{
            rampart::testing::kKubesimBin, "serve", "--scenario",
            std::string(rampart::testing::kSourceDir) + "/tools/kubesim/scenarios/small.yaml",
            "--listen", "127.0.0.1:0", "--ready-file", (dir / "kubesim.ready").string()},
        dir / "kubesim.log");
    auto ks = readReadyFile(dir / "kubesim.ready", "url", 20s);
    REQUIRE_MESSAGE(ks.has_value(), kubesim->log());
    api = ks->at("url");
    std::ofstream(dir / "kubeconfig")
        << "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: " << api
        << "\nusers:\n- name: sim\n  user:\n    token: test-token\ncontexts:\n- name: sim\n"
           "  context:\n    cluster: sim\n    user: sim\ncurrent-context: sim\n";
    aggregator = std::make_unique<Process>(
        std::vector<std::string>{
            rampart::testing::kAggregatorBin, "--ingest", "tcp://127.0.0.1:0", "--http",
            "127.0.0.1:0", "--curve-key", (dir / "aggregator.key").string(), "--allowed-agent-keys",
            (dir / "agent.pub").string(), "--db", (dir / "rampart.db").string(), "--cluster", "it",
            // 2 s of silence (not 600 ms): a loaded machine stalls agents.
            "--missed-heartbeats", "10", "--ready-file", (dir / "aggregator.ready").string()},
        dir / "aggregator.log");
    auto ag = readReadyFile(dir / "aggregator.ready", "http", 20s);
    REQUIRE_MESSAGE(ag.has_value(), aggregator->log());
    http = ag->at("http");
    ingest = ag->at("ingest");
    for (const auto& n : kNodes) startAgent(n);
  }

  void startAgent(const std::string& node, const std::string& key_file = "agent.key",
                  const std::vector<std::string>& more_aggregators = {}) {
    std::vector<std::string> argv{rampart::testing::kAgentBin,
                                  "--kubeconfig",
                                  (dir / "kubeconfig").string(),
                                  "--aggregator",
                                  ingest,
                                  "--aggregator-public-key",
                                  (dir / "aggregator.pub").string(),
                                  "--curve-key",
                                  (dir / key_file).string(),
                                  "--interval-ms",
                                  "200"};
    for (const auto& ep : more_aggregators) {
      argv.push_back("--aggregator");
      argv.push_back(ep);
    }
    agents[node] =
        std::make_unique<Process>(argv, dir / ("agent-" + node + "-" + key_file + ".log"),
                                  std::map<std::string, std::string>{{"NODE_NAME", node}});
  }

  json get(const std::string& url) {
    auto r = httpGet(url);
    if (r.status != 200) return json();
    return json::parse(r.body, nullptr, false);
  }

  std::set<std::string> syncedNodes() {
    std::set<std::string> out;
    auto j = get(http + "/api/v1/nodes");
    if (!j.is_object()) return out;
    for (const auto& n : j["nodes"]) {
      if (n["agent"]["connected"].get<bool>() && n["agent"]["synced"].get<bool>()) {
        out.insert(n["name"].get<std::string>());
      }
    }
    return out;
  }

  // namespace/name -> node, as the aggregator reports it.
  std::map<std::string, std::string> aggregatorPods() {
    std::map<std::string, std::string> out;
    auto j = get(http + "/api/v1/pods");
    if (!j.is_object()) return out;
    for (const auto& p : j["pods"]) {
      out[p["namespace"].get<std::string>() + "/" + p["name"].get<std::string>()] =
          p["node"].get<std::string>();
    }
    return out;
  }

  // namespace/name -> node, straight from the API server.
  std::map<std::string, std::string> apiPods() {
    std::map<std::string, std::string> out;
    auto r = httpGet(api + "/api/v1/pods");
    auto list = k8s::decodePodList(r.body);
    REQUIRE(list.has_value());
    for (const auto& p : list->items) out[p.namespace_ + "/" + p.name] = p.node_name;
    return out;
  }

  double metric(const std::string& name, const std::string& label_fragment) {
    auto r = httpGet(http + "/metrics");
    std::istringstream lines(r.body);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.starts_with(name + "{") && line.find(label_fragment) != std::string::npos) {
        return std::stod(line.substr(line.rfind(' ') + 1));
      }
    }
    return -1;
  }

  void fault(const std::vector<std::string>& args) {
    std::vector<std::string> argv{rampart::testing::kKubesimBin, "fault", "--server", api};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = runCommand(argv);
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  }
};

}  // namespace

TEST_CASE("three agents report the simulated cluster; the aggregator's view matches the API") {
  Cluster c;
  REQUIRE_MESSAGE(waitUntil([&] { return c.syncedNodes().size() == 3; }, 20s), c.aggregator->log());
  auto expected = c.apiPods();
  REQUIRE(expected.size() >= 8);
  CHECK(waitUntil([&] { return c.aggregatorPods() == expected; }, 10s));
  auto nodes = c.get(c.http + "/api/v1/nodes");
  std::set<std::string> zones;
  for (const auto& n : nodes["nodes"]) {
    zones.insert(n["zone"].get<std::string>());
    CHECK(n["health"]["memoryTotalBytes"].get<double>() > 0);
    CHECK(n["agent"]["bootId"].get<std::string>().size() == 36);
  }
  CHECK(zones == std::set<std::string>{"zone-a", "zone-b", "zone-c"});
  CHECK(c.metric("rampart_agents_connected", "cluster=\"it\"") == 3);
  CHECK(c.metric("rampart_zone_nodes", "zone=\"zone-a\"") == 1);
  CHECK(c.metric("rampart_node_pods", "node=\"node-a\"") ==
        static_cast<double>(std::count_if(expected.begin(), expected.end(),
                                          [](const auto& kv) { return kv.second == "node-a"; })));

  SUBCASE("a pod deleted in kubesim leaves the aggregator's view before a deadline") {
    std::string victim;
    for (const auto& [name, node] : expected) {
      if (name.starts_with("shop/web-")) victim = name;
    }
    REQUIRE_FALSE(victim.empty());
    c.fault({"delete-pod", victim});
    CHECK(waitUntil([&] { return !c.aggregatorPods().contains(victim); }, 10s));
  }
  SUBCASE("a container made not ready shows as not ready") {
    c.fault({"container-not-ready", "shop/db-0"});
    CHECK(waitUntil(
        [&] {
          auto j = c.get(c.http + "/api/v1/pods?namespace=shop");
          for (const auto& p : j["pods"]) {
            if (p["name"] == "db-0") return !p["ready"].get<bool>();
          }
          return false;
        },
        10s));
  }
  SUBCASE("a killed agent's node goes silent; a restarted agent resyncs") {
    c.agents["node-b"]->signal(SIGKILL);
    CHECK(waitUntil([&] { return !c.syncedNodes().contains("node-b"); }, 10s));
    c.startAgent("node-b");
    CHECK(waitUntil([&] { return c.syncedNodes().contains("node-b"); }, 10s));
  }
  SUBCASE("the aggregator restarts and the agents resync with it") {
    c.aggregator->signal(SIGTERM);
    REQUIRE(c.aggregator->wait(10s) == std::optional<int>(0));
    std::filesystem::remove(c.dir / "aggregator.ready");
    // Same database, keys and ingest port: the running agents reconnect by
    // themselves and are asked to resync.
    c.aggregator = std::make_unique<Process>(
        std::vector<std::string>{rampart::testing::kAggregatorBin, "--ingest", c.ingest, "--http",
                                 "127.0.0.1:0", "--curve-key", (c.dir / "aggregator.key").string(),
                                 "--allowed-agent-keys", (c.dir / "agent.pub").string(), "--db",
                                 (c.dir / "rampart.db").string(), "--ready-file",
                                 (c.dir / "aggregator.ready").string()},
        c.dir / "aggregator2.log");
    auto ag = readReadyFile(c.dir / "aggregator.ready", "http", 20s);
    REQUIRE_MESSAGE(ag.has_value(), c.aggregator->log());
    c.http = ag->at("http");
    // Restored from SQLite before any agent reports: nodes known, unsynced.
    CHECK(c.get(c.http + "/api/v1/nodes")["nodes"].size() == 3);
    CHECK(waitUntil([&] { return c.syncedNodes().size() == 3; }, 15s));
  }
}

TEST_CASE("an agent whose key is not allowed is refused and counted") {
  Cluster c;
  REQUIRE(waitUntil([&] { return c.syncedNodes().size() == 3; }, 20s));
  auto other = *generateCurveKeyPair();
  REQUIRE(writeKeyFile(c.dir / "rogue.key", other, true).has_value());
  c.startAgent("rogue-node", "rogue.key");
  CHECK(waitUntil([&] { return c.metric("rampart_reports_rejected_total", "unauthorized") >= 1; },
                  10s));
  auto nodes = c.get(c.http + "/api/v1/nodes");
  for (const auto& n : nodes["nodes"]) CHECK(n["name"] != "rogue-node");
}

TEST_CASE("garbage on the ingest socket is counted and the aggregator keeps serving") {
  Cluster c;
  REQUIRE(waitUntil([&] { return c.syncedNodes().size() == 3; }, 20s));
  zmq::context_t ctx(1);
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::curve_serverkey, c.server_keys.public_key);
  s.set(zmq::sockopt::curve_publickey, c.agent_keys.public_key);
  s.set(zmq::sockopt::curve_secretkey, c.agent_keys.secret_key);
  s.connect(c.ingest);
  std::mt19937 rng(42);
  std::string junk(300, '\0');
  for (auto& ch : junk) ch = static_cast<char>(rng());
  s.send(zmq::buffer(junk), zmq::send_flags::none);
  wire::Report r;
  r.identity.node.name = "node-x";
  r.full = true;
  r.sequence = 1;
  std::string frame = wire::encode(wire::Message{r});
  s.send(zmq::buffer(frame.data(), frame.size() - 3), zmq::send_flags::none);
  CHECK(waitUntil([&] { return c.metric("rampart_reports_rejected_total", "decode_error") >= 2; },
                  10s));
  // Not even ZMTP: raw bytes on the TCP port.
  auto port = c.ingest.substr(c.ingest.rfind(':') + 1);
  auto raw = runCommand({"bash", "-c", "head -c 4096 /dev/urandom > /dev/tcp/127.0.0.1/" + port});
  CHECK(raw.exit_code == 0);
  CHECK(httpGet(c.http + "/healthz").status == 200);
  CHECK(c.aggregator->running());
  CHECK(c.syncedNodes().size() == 3);
}

TEST_CASE("a 500 or broken JSON from the API server: a clear log line, a retry, no crash") {
  Cluster c;
  REQUIRE(waitUntil([&] { return c.syncedNodes().size() == 3; }, 20s));
  // The faults hit pod requests only: on any path, another client (an agent's
  // node read, a probe) could take them first and the agent's list would see
  // none (it failed 1 run in 10 under load).
  for (const auto& [fault, expect] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"api-error", "--status", "500", "--count", "3", "--path", "/api/v1/pods"}, "500"},
           {{"api-garbage", "--count", "3", "--path", "/api/v1/pods"}, "not valid"}}) {
    CAPTURE(expect);
    c.agents["node-c"]->signal(SIGKILL);
    c.agents["node-c"]->wait(5s);
    REQUIRE(waitUntil([&] { return !c.syncedNodes().contains("node-c"); }, 10s));
    c.fault(fault);
    const size_t earlier = c.agents["node-c"]->log().size();  // the log file is appended to
    c.startAgent("node-c");
    // Only node-c's pod list asks for pods now: it takes every injected
    // failure (the agent may report its node before its pods are listed, so
    // being synced alone does not say the faults were spent).
    CHECK(waitUntil(
        [&] {
          json state = c.get(c.api + "/_kubesim/state");
          return state.is_object() && state["pendingApiErrors"] == 0 &&
                 state["pendingApiGarbage"] == 0;
        },
        30s));
    CHECK(waitUntil([&] { return c.syncedNodes().contains("node-c"); }, 20s));
    CHECK(c.agents["node-c"]->running());
    std::string log;
    CHECK_MESSAGE(waitUntil(
                      [&] {
                        log = c.agents["node-c"]->log().substr(earlier);
                        return log.find("retrying") != std::string::npos &&
                               log.find(expect) != std::string::npos;
                      },
                      10s),
                  log);
  }
}

TEST_CASE(
    "an agent reports to every aggregator endpoint; an absent one gets the latest state when it "
    "comes") {
  Cluster c;
  REQUIRE(waitUntil([&] { return c.syncedNodes().size() == 3; }, 20s));
  // A port nobody listens on yet: bind an ephemeral one and let it go.
  std::string second_ep;
  {
    zmq::context_t ctx(1);
    zmq::socket_t probe(ctx, zmq::socket_type::router);
    probe.bind("tcp://127.0.0.1:*");
    second_ep = probe.get(zmq::sockopt::last_endpoint);
  }
  c.agents["node-a"]->signal(SIGKILL);
  c.agents["node-a"]->wait(5s);
  c.startAgent("node-a", "agent.key", {second_ep});
  REQUIRE(waitUntil([&] { return c.syncedNodes().contains("node-a"); }, 10s));
  // While the second aggregator is absent, node-a's pods change.
  std::string removed;
  for (const auto& [name, node] : c.apiPods()) {
    if (node == "node-a" && name.starts_with("shop/cache-")) removed = name;
  }
  REQUIRE_FALSE(removed.empty());
  c.fault({"delete-pod", removed});
  REQUIRE(waitUntil([&] { return !c.aggregatorPods().contains(removed); }, 10s));
  CHECK(c.agents["node-a"]->running());

  Process second({rampart::testing::kAggregatorBin, "--ingest", second_ep, "--http", "127.0.0.1:0",
                  "--curve-key", (c.dir / "aggregator.key").string(), "--allowed-agent-keys",
                  (c.dir / "agent.pub").string(), "--db", (c.dir / "second.db").string(),
                  "--ready-file", (c.dir / "second.ready").string()},
                 c.dir / "second.log");
  auto ready = readReadyFile(c.dir / "second.ready", "http", 20s);
  REQUIRE_MESSAGE(ready.has_value(), second.log());
  std::string second_http = ready->at("http");
  auto second_pods = [&] {
    std::set<std::string> out;
    auto j = c.get(second_http + "/api/v1/pods?node=node-a");
    if (!j.is_object()) return out;
    for (const auto& p : j["pods"]) {
      out.insert(p["namespace"].get<std::string>() + "/" + p["name"].get<std::string>());
    }
    return out;
  };
  std::set<std::string> expected;
  for (const auto& [name, node] : c.apiPods()) {
    if (node == "node-a") expected.insert(name);
  }
  CHECK(waitUntil([&] { return second_pods() == expected; }, 15s));
  CHECK_FALSE(expected.contains(removed));
}
