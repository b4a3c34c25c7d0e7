// tools/dev bench latency: how fast a fault reaches Alertmanager.
//
// A real Alertmanager on loopback, kubesim (small.yaml, kubelet leases every
// 10 s), real agents on its three nodes and the real aggregator, all with
// their production defaults (1 s report interval, 3 missed heartbeats, 0.2 s
// engine interval, alerts pushed to Alertmanager as soon as the engine sees
// them). Trials:
//   node loss  the node's agent is SIGKILLed and the node set down in kubesim
//              at t0; t1 = RampartNodeDown for that node listed by
//              Alertmanager's GET /api/v2/alerts. Also the first alert of any
//              name about the node.
//   probe      a container made not ready in kubesim at t0 (the kubelet's
//              readiness probe failing); t1 = RampartPodNotReady for the pod.
//   Prometheus the same node loss through a real Prometheus scraping the
//              aggregator's /metrics every 30 s with the rule
//              `rampart_findings{check="node.down"} > 0` (for: 0s) evaluated
//              every 30 s, sending to the same Alertmanager.
// Prints every trial, median and p95 of each, and the ratio.
//
// Environment: RAMPART_BENCH_TRIALS (default 10), RAMPART_BENCH_PROM_TRIALS
// (default 3; 0 skips Prometheus).
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "alertmanager_process.h"
#include "sim_cluster.h"

using namespace rampart;
using namespace rampart::testing;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

int envInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

struct Stats {
  double median = 0, p95 = 0;
};
Stats stats(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(std::lround(q * static_cast<double>(v.size() - 1)));
    return v[std::min(i, v.size() - 1)];
  };
  double median = v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  return {median, at(0.95)};
}

// Active alerts of Alertmanager matching alertname and a label.
bool amHas(const std::string& am, const std::string& alertname, const std::string& label,
           const std::string& value) {
  auto r = httpGet(am + "/api/v2/alerts?active=true&silenced=false&inhibited=false", 2s);
  if (r.status != 200) return false;
  auto j = json::parse(r.body, nullptr, false);
  if (!j.is_array()) return false;
  for (const auto& a : j) {
    const auto& labels = a["labels"];
    if (!alertname.empty() && labels.value("alertname", "") != alertname) continue;
    if (!label.empty() && labels.value(label, "") != value) continue;
    if (a["status"]["state"] != "active") continue;
    return true;
  }
  return false;
}

// Fingerprints of Alertmanager's active alerts whose label has that value.
std::set<std::string> amFingerprints(const std::string& am, const std::string& label,
                                     const std::string& value) {
  std::set<std::string> out;
  auto r = httpGet(am + "/api/v2/alerts?active=true&silenced=false&inhibited=false", 2s);
  if (r.status != 200) return out;
  auto j = json::parse(r.body, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& a : j) {
    if (a["labels"].value(label, "") == value && a["status"]["state"] == "active") {
      out.insert(a.value("fingerprint", ""));
    }
  }
  return out;
}

// No alert about the node's own loss is active (posture alerts naming the
// node, such as replicas on one node, may stay).
bool nodeClear(const std::string& am, const std::string& node) {
  for (const char* name : {"RampartNodeDown", "RampartNodeNotReady",
                           "RampartNodePartitionedOrAgentFailed", "RampartAgentSilent"}) {
    if (amHas(am, name, "node", node)) return false;
  }
  return true;
}

// Faults land at a random phase of the agents' 1 s report cycle and of the
// engine's evaluations, as real ones do: a trial that starts right after the
// previous one was seen resolved would otherwise always meet the same phase.
void randomPhase(std::mt19937& rng) {
  std::this_thread::sleep_for(
      std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 999)(rng)));
}

}  // namespace

TEST_CASE("latency: fault to alert in Alertmanager") {
  const int trials = envInt("RAMPART_BENCH_TRIALS", 10);
  const int prom_trials = envInt("RAMPART_BENCH_PROM_TRIALS", 3);
  TempDir work;
  const int am_port = freeLoopbackPort();
  const std::string am = "http://127.0.0.1:" + std::to_string(am_port);
  auto alertmanager = startAlertmanager(work.path(), am_port,
                                        "route:\n  receiver: sink\n  group_wait: 0s\n"
                                        "receivers:\n- name: sink\n");

  SimClusterOptions o;
  o.scenario = "small.yaml";
  o.agents = {"node-a", "node-b", "node-c"};
  o.agent_interval_ms = 1000;
  o.missed_heartbeats = 3;  // the production default: what is measured
  // No kubelet listens here: its health probe would alert on every node.
  o.agent_args = {"--kubelet-healthz-url", ""};
  o.aggregator_args = {"--alertmanager", am};
  o.cluster = "bench";
  SimCluster c(o);
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        auto j = c.get(c.http + "/api/v1/nodes");
                        if (!j.is_object()) return false;
                        int synced = 0;
                        for (const auto& n : j["nodes"]) synced += n["agent"]["synced"] == true;
                        return synced == 3;
                      },
                      30s),
                  c.logs());

  std::unique_ptr<Process> prometheus;
  std::string prom;
  if (prom_trials > 0) {
    const int prom_port = freeLoopbackPort();
    prom = "http://127.0.0.1:" + std::to_string(prom_port);
    std::string target = c.http.substr(c.http.find("//") + 2);
    std::ofstream(work / "rules.yml")
        << "groups:\n- name: rampart-bench\n  rules:\n  - alert: PromRampartNodeDown\n"
           "    expr: rampart_findings{check=\"node.down\"} > 0\n    for: 0s\n";
    std::ofstream(work / "prometheus.yml")
        << "global:\n  scrape_interval: 30s\n  evaluation_interval: 30s\n"
           "rule_files: ['"
        << (work / "rules.yml").string()
        << "']\nalerting:\n  alertmanagers:\n  - static_configs:\n    - targets: ['127.0.0.1:"
        << am_port << "']\nscrape_configs:\n- job_name: rampart\n  static_configs:\n  - targets: ['"
        << target << "']\n";
    prometheus = std::make_unique<Process>(
        std::vector<std::string>{"/usr/bin/prometheus", "--config.file",
                                 (work / "prometheus.yml").string(), "--storage.tsdb.path",
                                 (work / "prom").string(), "--web.listen-address",
                                 "127.0.0.1:" + std::to_string(prom_port)},
        work / "prometheus.log");
    REQUIRE_MESSAGE(waitUntil([&] { return httpGet(prom + "/-/ready", 1s).status == 200; }, 60s),
                    prometheus->log());
  }

  const std::vector<std::string> nodes = {"node-a", "node-b", "node-c"};
  std::mt19937 rng(20261126);
  std::vector<double> node_down, node_first, probe, prom_down, direct_in_prom;
  auto recover_node = [&](const std::string& node) {
    REQUIRE(c.fault({{"type", "node-up"}, {"node", node}}).is_object());
    c.startAgent(node);
    REQUIRE_MESSAGE(waitUntil([&] { return !amHas(am, "RampartNodeDown", "node", node); }, 60s),
                    c.logs());
  };

  for (int i = 0; i < trials; ++i) {
    const std::string& node = nodes[static_cast<size_t>(i) % nodes.size()];
    REQUIRE_MESSAGE(waitUntil([&] { return nodeClear(am, node); }, 60s), c.logs());
    randomPhase(rng);
    const auto before = amFingerprints(am, "node", node);
    const auto t0 = Clock::now();
    c.agents[node]->signal(SIGKILL);
    REQUIRE(c.fault({{"type", "node-down"}, {"node", node}}).is_object());
    std::optional<double> first;
    auto is_new = [&] {
      for (const auto& fp : amFingerprints(am, "node", node)) {
        if (!before.contains(fp)) return true;
      }
      return false;
    };
    REQUIRE_MESSAGE(waitUntil(
                        [&] {
                          if (!first && is_new()) first = ms(Clock::now() - t0);
                          return amHas(am, "RampartNodeDown", "node", node);
                        },
                        30s),
                    c.logs());
    const double t = ms(Clock::now() - t0);
    node_down.push_back(t);
    node_first.push_back(first.value_or(t));
    std::printf("node loss trial %d (%s): first alert %.0f ms, RampartNodeDown %.0f ms\n", i + 1,
                node.c_str(), first.value_or(t), t);
    std::fflush(stdout);
    recover_node(node);
  }

  // Probe: shop/web pods are ready at the start; one container made not ready.
  auto pods = c.get(c.api + "/api/v1/namespaces/shop/pods?labelSelector=app%3Dweb");
  REQUIRE(pods.is_object());
  std::vector<std::string> web;
  for (const auto& p : pods["items"]) web.push_back(p["metadata"]["name"].get<std::string>());
  REQUIRE(!web.empty());
  for (int i = 0; i < trials; ++i) {
    const std::string pod = web[static_cast<size_t>(i) % web.size()];
    const std::string subject = "Pod shop/" + pod;
    REQUIRE_MESSAGE(
        waitUntil([&] { return !amHas(am, "RampartPodNotReady", "subject", subject); }, 60s),
        c.logs());
    randomPhase(rng);
    const auto t0 = Clock::now();
    REQUIRE(c.fault({{"type", "container-not-ready"}, {"pod", "shop/" + pod}}).is_object());
    REQUIRE_MESSAGE(
        waitUntil([&] { return amHas(am, "RampartPodNotReady", "subject", subject); }, 30s),
        c.logs());
    const double t = ms(Clock::now() - t0);
    probe.push_back(t);
    std::printf("probe trial %d (%s): RampartPodNotReady %.0f ms\n", i + 1, pod.c_str(), t);
    std::fflush(stdout);
    REQUIRE(c.fault({{"type", "container-ready"}, {"pod", "shop/" + pod}}).is_object());
  }

  for (int i = 0; i < prom_trials; ++i) {
    const std::string& node = nodes[static_cast<size_t>(i) % nodes.size()];
    // The Prometheus alert of the previous trial must be gone first.
    REQUIRE_MESSAGE(waitUntil([&] { return !amHas(am, "PromRampartNodeDown", "", ""); }, 180s),
                    prometheus->log());
    REQUIRE_MESSAGE(waitUntil([&] { return nodeClear(am, node); }, 60s), c.logs());
    randomPhase(rng);
    const auto t0 = Clock::now();
    c.agents[node]->signal(SIGKILL);
    REQUIRE(c.fault({{"type", "node-down"}, {"node", node}}).is_object());
    std::optional<double> direct;
    REQUIRE_MESSAGE(waitUntil(
                        [&] {
                          if (!direct && amHas(am, "RampartNodeDown", "node", node)) {
                            direct = ms(Clock::now() - t0);
                          }
                          return amHas(am, "PromRampartNodeDown", "", "");
                        },
                        150s),
                    prometheus->log());
    const double t = ms(Clock::now() - t0);
    prom_down.push_back(t);
    direct_in_prom.push_back(direct.value_or(t));
    std::printf("prometheus trial %d (%s): direct %.0f ms, through Prometheus %.0f ms\n", i + 1,
                node.c_str(), direct.value_or(t), t);
    std::fflush(stdout);
    recover_node(node);
  }

  auto line = [](const char* what, const std::vector<double>& v, double aim) {
    Stats s = stats(v);
    std::printf("%-44s n=%-3zu median %7.0f ms  p95 %7.0f ms%s\n", what, v.size(), s.median, s.p95,
                aim > 0 ? (s.median <= aim ? "  (aim met)" : "  (aim NOT met)") : "");
  };
  std::printf("\n== fault -> alert visible in Alertmanager ==\n");
  line("node loss -> first alert about the node", node_first, 0);
  line("node loss -> RampartNodeDown (aim 3000 ms)", node_down, 3000);
  line("container not ready -> RampartPodNotReady (aim 1500)", probe, 1500);
  if (!prom_down.empty()) {
    line("node loss -> via Prometheus 30 s/30 s", prom_down, 0);
    line("node loss -> direct, same trials", direct_in_prom, 0);
    std::printf("ratio Prometheus / direct (medians): %.1fx\n",
                stats(prom_down).median / std::max(1.0, stats(direct_in_prom).median));
  }
  CHECK(node_down.size() == static_cast<size_t>(trials));
  CHECK(probe.size() == static_cast<size_t>(trials));
}
