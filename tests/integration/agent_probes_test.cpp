// Node-local probes end to end: kubesim (agent-placement.yaml: node-a,
// node-b), real agents, the real aggregator, and an HTTP server in this test
// process that an operator probe checks. The probe starts failing ->
// probe.node-check-failed in /api/v1/audit and rampart_agent_probe_up 0; it
// recovers -> resolved and 1. A kubelet health URL on a closed port ->
// node.kubelet-unhealthy. The API server probe (kubesim's /readyz) stays ok.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "sim_cluster.h"

using namespace rampart;
using namespace rampart::testing;
using nlohmann::json;

namespace {

// The service an operator probe checks; its answer is switched by the test.
struct Target {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::atomic<int> status{200};
  Target() {
    server.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      res.status = status.load();
      res.set_content("x", "text/plain");
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
  }
  ~Target() {
    server.stop();
    thread.join();
  }
};

SimClusterOptions probeClusterOptions() {
  SimClusterOptions o;
  o.scenario = "agent-placement.yaml";
  o.agent_interval_ms = 200;
  o.aggregator_kubeconfig = false;  // the agents' view alone
  o.aggregator_args = {"--engine-interval-ms", "100"};
  return o;
}

// The agents are started by each test case, with their probe flags.
struct Sim : SimCluster {
  Sim() : SimCluster(probeClusterOptions()) {}

  // The finding of `check` on `subject_name` in the aggregator's audit, or null.
  json finding(const std::string& check, const std::string& subject_name) {
    auto report = get(http + "/api/v1/audit");
    if (!report.is_object()) return json();
    for (const auto& f : report["findings"]) {
      if (f["check"] == check && f["subject"].value("name", "") == subject_name) return f;
    }
    return json();
  }

  // The node's probe results in /api/v1/nodes by probe name.
  std::map<std::string, json> probes(const std::string& node) {
    std::map<std::string, json> out;
    auto j = get(http + "/api/v1/nodes");
    if (!j.is_object()) return out;
    for (const auto& n : j["nodes"]) {
      if (n["name"] != node) continue;
      for (const auto& p : n["probeResults"]) out[p["name"].get<std::string>()] = p;
    }
    return out;
  }
};

const std::string kWebUp = "cluster=\"it\",node=\"node-a\",probe=\"web\"";

}  // namespace

TEST_CASE("an operator HTTP probe fails and recovers: finding, metric and resolution") {
  Target target;
  Sim sim;
  sim.startAgent("node-a", {"--kubelet-healthz-url", "", "--probe",
                            "web=http://127.0.0.1:" + std::to_string(target.port) + "/health"});

  std::map<std::string, json> probes;
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        probes = sim.probes("node-a");
                        return probes.contains("web") && probes["web"]["ok"] == true &&
                               probes.contains("apiserver") && probes["apiserver"]["ok"] == true;
                      },
                      20s),
                  json(probes).dump() << "\n"
                                      << sim.logs());
  CHECK_FALSE(probes.contains("kubelet"));  // disabled with an empty URL
  CHECK(probes["web"]["kind"] == "http");
  CHECK(probes["apiserver"]["kind"] == "apiserver");
  CHECK(probes["apiserver"]["target"] == sim.api + "/readyz");
  CHECK(probes["apiserver"]["latencyMs"].get<double>() > 0);
  CHECK(probes["web"]["consecutiveFailures"] == 0);
  CHECK(waitUntil([&] { return sim.metric("rampart_agent_probe_up", kWebUp) == 1; }, 10s));
  CHECK(sim.metric("rampart_agent_probe_latency_seconds", kWebUp) > 0);
  CHECK(sim.finding("probe.node-check-failed", "node-a/web").is_null());

  target.status = 503;
  auto failed_at = std::chrono::steady_clock::now();
  json f;
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        f = sim.finding("probe.node-check-failed", "node-a/web");
                        return f.is_object();
                      },
                      15s),
                  sim.logs());
  auto seen_after = std::chrono::steady_clock::now() - failed_at;
  std::printf("probe failing -> finding in the aggregator's audit: %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(seen_after).count()));
  CHECK(f["severity"] == "medium");
  CHECK(f["subject"]["kind"] == "NodeProbe");
  CHECK(f["node"] == "node-a");
  CHECK(f["details"]["probe"] == "web");
  CHECK(f["details"]["kind"] == "http");
  CHECK(f["details"]["error"].get<std::string>().find("HTTP 503") != std::string::npos);
  CHECK(f["details"]["consecutive_failures"].get<int>() >= 1);
  CHECK(waitUntil([&] { return sim.metric("rampart_agent_probe_up", kWebUp) == 0; }, 10s));
  CHECK(sim.probes("node-a")["web"]["ok"] == false);

  target.status = 200;
  REQUIRE_MESSAGE(
      waitUntil([&] { return sim.finding("probe.node-check-failed", "node-a/web").is_null(); },
                15s),
      sim.logs());
  CHECK(waitUntil([&] { return sim.metric("rampart_agent_probe_up", kWebUp) == 1; }, 10s));
  CHECK(sim.metric("rampart_agent_probe_results_dropped_total", "cluster=\"it\"") == 0);
}

TEST_CASE("a kubelet health URL on a closed port: node.kubelet-unhealthy") {
  Sim sim;
  const std::string url = "http://127.0.0.1:" + std::to_string(freeLoopbackPort()) + "/healthz";
  sim.startAgent("node-b", {"--kubelet-healthz-url", url});
  json f;
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        f = sim.finding("node.kubelet-unhealthy", "node-b");
                        return f.is_object();
                      },
                      20s),
                  sim.logs());
  CHECK(f["severity"] == "high");
  CHECK(f["subject"]["kind"] == "Node");
  CHECK(f["details"]["target"] == url);
  CHECK_FALSE(f["details"]["error"].get<std::string>().empty());
  CHECK(sim.metric("rampart_agent_probe_up", "cluster=\"it\",node=\"node-b\",probe=\"kubelet\"") ==
        0);
  // The API server is reachable from the node: no finding for it.
  CHECK(sim.finding("node.apiserver-unreachable", "node-b").is_null());
  auto probes = sim.probes("node-b");
  REQUIRE(probes.contains("apiserver"));
  CHECK(probes["apiserver"]["ok"] == true);
}
