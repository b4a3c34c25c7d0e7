// Alerts end to end with a real Alertmanager (Debian prometheus-alertmanager):
// kubesim (demo scenario) as the API server, the real aggregator reading it
// and POSTing to Alertmanager. A node downed in kubesim shows up in
// Alertmanager's /api/v2/alerts with the expected labels and Alertmanager's
// own fingerprint; bringing it up resolves it; alerts raised and resolved
// while Alertmanager is stopped arrive once it is back; a restarted
// aggregator re-sends a still-firing alert with its original startsAt.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "alertmanager_process.h"
#include "alerts/alert_rules.h"
#include "rampart/curve.h"
#include "sim_cluster.h"
#include "state/store.h"
#include "test_paths.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::testing;
using nlohmann::json;

namespace {

struct Alertmanager {
  const TempDir& dir;
  int port;
  std::unique_ptr<Process> process;
  int starts = 0;

  Alertmanager(const TempDir& d, int p) : dir(d), port(p) {}

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }

  void start() {
    process =
        startAlertmanager(dir.path(), port,
                          starts++ == 0 ? "route:\n  receiver: blackhole\n  group_by: [cluster, "
                                          "failure_domain]\nreceivers:\n  - name: blackhole\n"
                                        : "");
  }

  void stop() {
    process->signal(SIGTERM);
    REQUIRE(process->wait(10s).has_value());
  }

  // Active alerts (Alertmanager leaves resolved ones out).
  json alerts() {
    auto r = httpGet(url() + "/api/v2/alerts", 2s);
    if (r.status != 200) return json::array();
    auto j = json::parse(r.body, nullptr, false);
    return j.is_array() ? j : json::array();
  }

  json find(const std::string& alertname, const std::string& node) {
    for (const auto& a : alerts()) {
      if (a["labels"].value("alertname", "") == alertname &&
          a["labels"].value("node", "") == node) {
        return a;
      }
    }
    return json();
  }
};

struct Setup {
  TempDir dir;
  std::unique_ptr<Process> kubesim, aggregator;
  std::string kubesim_url, http;
  Alertmanager am{dir, freeLoopbackPort()};
  int aggregator_starts = 0;

  Setup() {
    auto keys = *generateCurveKeyPair();
    REQUIRE(writeKeyFile(dir / "aggregator.key", keys, true).has_value());
    REQUIRE(writeKeyFile(dir / "agent.pub", keys, false).has_value());
    kubesim = std::make_unique<Process>(
        std::vector<std::string>{
            rampart::testing::kKubesimBin, "serve", "--scenario",
            std::string(rampart::testing::kSourceDir) + "/tools/kubesim/scenarios/demo.yaml",
            "--listen", "127.0.0.1:0", "--ready-file", (dir / "kubesim.ready").string()},
        dir / "kubesim.log");
    auto ks = readReadyFile(dir / "kubesim.ready", "url", 20s);
    REQUIRE_MESSAGE(ks.has_value(), kubesim->log());
    kubesim_url = ks->at("url");
    std::ofstream(dir / "kubeconfig")
        << "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: "
        << kubesim_url
        << "\nusers:\n- name: sim\n  user:\n    token: test-token\ncontexts:\n- name: sim\n"
           "  context:\n    cluster: sim\n    user: sim\ncurrent-context: sim\n";
    am.start();
  }

  void startAggregator(const std::string& resend_seconds) {
    std::filesystem::remove(dir / "aggregator.ready");
    aggregator = std::make_unique<Process>(
        std::vector<std::string>{rampart::testing::kAggregatorBin,
                                 "--ingest",
                                 "tcp://127.0.0.1:0",
                                 "--http",
                                 "127.0.0.1:0",
                                 "--curve-key",
                                 (dir / "aggregator.key").string(),
                                 "--allowed-agent-keys",
                                 (dir / "agent.pub").string(),
                                 "--db",
                                 (dir / "rampart.db").string(),
                                 "--cluster",
                                 "it",
                                 "--kubeconfig",
                                 (dir / "kubeconfig").string(),
                                 "--engine-interval-ms",
                                 "100",
                                 "--alertmanager",
                                 am.url(),
                                 "--alert-resend-seconds",
                                 resend_seconds,
                                 "--external-url",
                                 "http://rampart.test/",
                                 "--ready-file",
                                 (dir / "aggregator.ready").string()},
        dir / ("aggregator-" + std::to_string(++aggregator_starts) + ".log"));
    auto ag = readReadyFile(dir / "aggregator.ready", "http", 20s);
    REQUIRE_MESSAGE(ag.has_value(), aggregator->log());
    http = ag->at("http");
  }

  void fault(const std::string& type, const std::string& node) {
    auto r = httpRequest("POST", kubesim_url + "/_kubesim/faults",
                         json{{"type", type}, {"node", node}}.dump());
    REQUIRE_MESSAGE(r.status == 200, r.body);
  }

  // The value of one aggregator series, -1 when absent.
  double metric(const std::string& series) {
    auto body = httpGet(http + "/metrics").body;
    auto at = body.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(body.substr(at + series.size() + 2));
  }

  std::string log() const { return aggregator->log(); }
};

int64_t steadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TEST_CASE("alerts reach a real Alertmanager, resolve, survive its outage and our restart") {
  Setup s;
  s.startAggregator("60");
  const std::string am_label = "alertmanager=\"" + s.am.url() + "\"";
  const std::string queue = "rampart_alert_queue_length{cluster=\"it\"," + am_label + "}";

  // A node goes down: the alert appears with the contract's labels.
  int64_t t0 = steadyMs();
  s.fault("node-down", "worker-a1");
  json a;
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        a = s.am.find("RampartNodeNotReady", "worker-a1");
                        return a.is_object();
                      },
                      10s),
                  s.log());
  MESSAGE("node-down to alert in Alertmanager: " << steadyMs() - t0 << " ms");
  const json& labels = a["labels"];
  CHECK(labels["cluster"] == "it");
  CHECK(labels["check"] == "node.not-ready");
  CHECK(labels["severity"] == "high");
  CHECK(labels["subject"] == "Node worker-a1");
  CHECK(labels["zone"] == "eu-west-1a");
  CHECK(labels["failure_domain"] == "eu-west-1a");
  CHECK_FALSE(labels.contains("namespace"));
  CHECK(a["annotations"]["summary"] == "Node worker-a1 is not Ready");
  CHECK(a["generatorURL"] == "http://rampart.test/api/v1/findings?check=node.not-ready");
  CHECK(a["status"]["state"] == "active");
  aggregator::AlertLabels sent;
  for (auto it = labels.begin(); it != labels.end(); ++it) sent[it.key()] = it.value();
  CHECK(a["fingerprint"] == aggregator::alertFingerprint(sent));  // ours is Alertmanager's

  // It comes back: the alert is resolved (Alertmanager no longer lists it).
  s.fault("node-up", "worker-a1");
  CHECK_MESSAGE(
      waitUntil([&] { return !s.am.find("RampartNodeNotReady", "worker-a1").is_object(); }, 10s),
      s.log());

  // Alertmanager goes away while worker-b1 fires; worker-b1 recovers and
  // worker-c1 goes down meanwhile. Both changes are queued and retried.
  s.fault("node-down", "worker-b1");
  REQUIRE(
      waitUntil([&] { return s.am.find("RampartNodeNotReady", "worker-b1").is_object(); }, 10s));
  s.am.stop();
  s.fault("node-up", "worker-b1");
  s.fault("node-down", "worker-c1");
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        return s.metric(queue) >= 2 &&
                               s.metric("rampart_alert_send_failures_total{cluster=\"it\"," +
                                        am_label + "}") >= 1;
                      },
                      10s),
                  s.log());
  s.am.start();
  json c1;
  // The next retry may be up to the backoff's maximum (30 s) after
  // Alertmanager is back, if its start-up was slow.
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        c1 = s.am.find("RampartNodeNotReady", "worker-c1");
                        return c1.is_object();
                      },
                      45s),
                  s.log());
  CHECK(waitUntil([&] { return s.metric(queue) == 0; }, 10s));
  CHECK_FALSE(s.am.find("RampartNodeNotReady", "worker-b1").is_object());
  {
    // The resolution of worker-b1 was delivered: nothing is owed any more.
    auto store = aggregator::Store::open(s.dir / "rampart.db");
    REQUIRE(store.has_value());
    auto q = (*store)->prepare(
        "SELECT state, detail FROM alerts WHERE alertname='RampartNodeNotReady' AND "
        "json_extract(labels,'$.node')='worker-b1'");
    REQUIRE(q.has_value());
    REQUIRE(*q->step());
    CHECK(q->text(0) == "resolved");
    CHECK(q->text(1) == R"({"pending":[]})");
  }
  CHECK(s.metric("rampart_alerts_dropped_total{cluster=\"it\"}") == 0);
  CHECK(s.metric("rampart_alerts_sent_total{cluster=\"it\"," + am_label + "}") >= 4);

  // The aggregator restarts (and, to see only what it sends now, so does
  // Alertmanager): worker-c1 still fires and keeps its startsAt.
  const std::string starts_at = c1["startsAt"];
  s.aggregator->signal(SIGTERM);
  REQUIRE(s.aggregator->wait(10s) == 0);
  s.am.stop();
  s.am.start();
  s.startAggregator("1");
  json again;
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        again = s.am.find("RampartNodeNotReady", "worker-c1");
                        return again.is_object();
                      },
                      10s),
                  s.log());
  CHECK(again["startsAt"] == starts_at);
  CHECK(again["fingerprint"] == c1["fingerprint"]);
  CHECK(s.log().find("alerts: restored") != std::string::npos);
}

// A node lost the way nodes are lost: its agent dies (SIGKILL, no goodbye)
// and the API server marks it NotReady. The page is RampartNodeDown, joined
// to the node's zone, and it resolves when the node and its agent are back.
TEST_CASE(
    "a node lost with its agent pages RampartNodeDown in a real Alertmanager, then resolves") {
  TempDir am_dir;
  Alertmanager am{am_dir, freeLoopbackPort()};
  am.start();
  SimClusterOptions o;
  o.scenario = "small.yaml";
  o.agents = {"node-a", "node-b", "node-c"};
  o.agent_args = {"--kubelet-healthz-url", ""};  // no kubelet listens here
  o.aggregator_args = {"--alertmanager", am.url(), "--external-url", "http://rampart.test/"};
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
  CHECK_FALSE(am.find("RampartNodeDown", "node-b").is_object());

  int64_t t0 = steadyMs();
  c.agents["node-b"]->signal(SIGKILL);
  REQUIRE(c.fault({{"type", "node-down"}, {"node", "node-b"}}).is_object());
  json a;
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        a = am.find("RampartNodeDown", "node-b");
                        return a.is_object();
                      },
                      20s),
                  c.logs());
  MESSAGE("agent killed + node NotReady to RampartNodeDown in Alertmanager: " << steadyMs() - t0
                                                                              << " ms");
  const json& labels = a["labels"];
  CHECK(labels["cluster"] == "it");
  CHECK(labels["check"] == "node.down");
  CHECK(labels["severity"] == "critical");
  CHECK(labels["subject"] == "Node node-b");
  CHECK(labels["zone"] == "zone-b");
  CHECK(labels["failure_domain"] == "zone-b");
  CHECK(a["annotations"]["summary"] ==
        "Node node-b is down (agent silent, API server says NotReady)");
  CHECK(a["annotations"].value("runbook_url", "").find("/node-down.md") != std::string::npos);
  CHECK(a["status"]["state"] == "active");
  // Only node-b is down.
  CHECK_FALSE(am.find("RampartNodeDown", "node-a").is_object());
  CHECK_FALSE(am.find("RampartNodeDown", "node-c").is_object());

  const double firing = c.metric("rampart_alerts_firing", "cluster=\"it\"");
  CHECK(firing >= 1);

  // Back: the node is Ready and its agent reports again; the page resolves.
  REQUIRE(c.fault({{"type", "node-up"}, {"node", "node-b"}}).is_object());
  c.startAgent("node-b");
  CHECK_MESSAGE(waitUntil([&] { return !am.find("RampartNodeDown", "node-b").is_object(); }, 20s),
                c.logs());
  CHECK(
      waitUntil([&] { return c.metric("rampart_alerts_firing", "cluster=\"it\"") < firing; }, 10s));
}
