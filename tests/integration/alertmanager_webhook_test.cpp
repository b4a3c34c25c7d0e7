// The Alertmanager webhook end to end (docs/hooks.md, "Alerts from
// Alertmanager"): a real Alertmanager (Debian prometheus-alertmanager) gets
// alerts on /api/v2/alerts as Prometheus posts them and delivers them, with
// a bearer token, to the real aggregator's POST /api/v1/alertmanager/webhook;
// the matching hook runs once per alert occurrence (not again on
// Alertmanager's repeats, nor after an aggregator restart), the run is in
// SQLite and the metrics, the resolution is recorded, and an alert no hook
// matches runs nothing. Bad requests are refused with JSON errors.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>

#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>

#include "alertmanager_process.h"
#include "hooks/hook_alert.h"
#include "rampart/curve.h"
#include "state/store.h"
#include "test_paths.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::testing;
using nlohmann::json;

namespace {

constexpr const char* kToken = "webhook-test-token-0123456789";

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = ms / 1000;
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

struct Setup {
  TempDir dir;
  int http_port = freeLoopbackPort();
  int am_port = freeLoopbackPort();
  std::unique_ptr<Process> aggregator, alertmanager;
  int aggregator_starts = 0;

  std::string http() const { return "http://127.0.0.1:" + std::to_string(http_port); }
  std::string am() const { return "http://127.0.0.1:" + std::to_string(am_port); }

  Setup() {
    auto keys = *generateCurveKeyPair();
    REQUIRE(writeKeyFile(dir / "aggregator.key", keys, true).has_value());
    REQUIRE(writeKeyFile(dir / "agent.pub", keys, false).has_value());
    std::ofstream(dir / "token") << kToken << "\n";
    auto hook = dir / "capture.sh";
    std::ofstream(hook) << "#!/bin/sh\ncat >> \"$1/stdin.jsonl\"\necho x >> \"$1/runs\"\n";
    ::chmod(hook.c_str(), 0755);
    std::ofstream(dir / "hooks.yaml") << "hooks:\n"
                                         "  - name: capture\n"
                                         "    match:\n"
                                         "      checks: [\"alert:RampartWebhookTest\"]\n"
                                         "      min_severity: high\n"
                                         "      labels: {namespace: \"shop*\"}\n"
                                         "    command: ["
                                      << hook.string() << ", " << dir.path().string()
                                      << "]\n"
                                         "    cooldown: 10m\n";
    // Every notification at once, repeated every 2 s while the alert fires.
    std::ofstream(dir / "alertmanager.yml")
        << "route:\n  receiver: rampart-hooks\n  group_by: [alertname]\n  group_wait: 0s\n"
           "  group_interval: 1s\n  repeat_interval: 2s\n"
           "receivers:\n  - name: rampart-hooks\n    webhook_configs:\n"
           "      - url: "
        << http()
        << "/api/v1/alertmanager/webhook\n        send_resolved: true\n"
           "        http_config:\n          authorization:\n            credentials_file: "
        << (dir / "token").string() << "\n";
    auto check =
        runCommand({"/usr/bin/amtool", "check-config", (dir / "alertmanager.yml").string()});
    REQUIRE_MESSAGE(check.exit_code == 0, check.output);
    startAggregator();
    alertmanager = startAlertmanager(dir.path(), am_port);
  }

  void startAggregator() {
    std::filesystem::remove(dir / "aggregator.ready");
    aggregator = std::make_unique<Process>(
        std::vector<std::string>{
            rampart::testing::kAggregatorBin, "--ingest", "tcp://127.0.0.1:0", "--http",
            "127.0.0.1:" + std::to_string(http_port), "--curve-key",
            (dir / "aggregator.key").string(), "--allowed-agent-keys", (dir / "agent.pub").string(),
            "--db", (dir / "rampart.db").string(), "--cluster", "it", "--hooks",
            (dir / "hooks.yaml").string(), "--webhook-token-file", (dir / "token").string(),
            "--ready-file", (dir / "aggregator.ready").string()},
        dir / ("aggregator-" + std::to_string(++aggregator_starts) + ".log"));
    REQUIRE_MESSAGE(readReadyFile(dir / "aggregator.ready", "http", 20s).has_value(),
                    aggregator->log());
  }

  // Posts alerts to Alertmanager as Prometheus does.
  void fire(const json& alerts) {
    auto r = httpRequest("POST", am() + "/api/v2/alerts", alerts.dump());
    REQUIRE_MESSAGE(r.status == 200, r.body);
  }

  // The value of one aggregator series, -1 when absent.
  double metric(const std::string& series) {
    auto body = httpGet(http() + "/metrics").body;
    auto at = body.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(body.substr(at + series.size() + 2));
  }
  double requests(const std::string& result) {
    return metric("rampart_alertmanager_webhook_requests_total{cluster=\"it\",result=\"" + result +
                  "\"}");
  }
  double alerts(const std::string& status) {
    return metric("rampart_alertmanager_webhook_alerts_total{cluster=\"it\",status=\"" + status +
                  "\"}");
  }

  size_t runs() const {
    return std::filesystem::exists(dir / "runs") ? readFile(dir / "runs").size() / 2 : 0;
  }
  std::string logs() const {
    return aggregator->log() + "\n--- alertmanager\n" + alertmanager->log();
  }
};

}  // namespace

TEST_CASE("a real Alertmanager delivers alerts to the aggregator's hooks through the webhook") {
  Setup s;
  const auto starts = std::chrono::system_clock::now() - std::chrono::seconds(5);
  json alert = {{"labels",
                 {{"alertname", "RampartWebhookTest"},
                  {"cluster", "it"},
                  {"namespace", "shop"},
                  {"severity", "critical"},
                  {"pod", "cart-0"}}},
                {"annotations", {{"summary", "cart-0 is \"crash\" looping; $(id) `id`"}}},
                {"startsAt", rfc3339(starts)},
                {"generatorURL", "http://prometheus.test/graph?g0.expr=up"}};
  s.fire(json::array({alert}));

  // Delivered with the token; the hook runs once.
  REQUIRE_MESSAGE(waitUntil([&] { return s.runs() == 1; }, 20s), s.logs());
  auto payload = json::parse(readFile(s.dir / "stdin.jsonl"));
  CHECK(payload["source"] == "alertmanager");
  CHECK(payload["hook"] == "capture");
  CHECK(payload["cluster"] == "it");
  CHECK(payload["finding"]["check"] == "alert:RampartWebhookTest");
  CHECK(payload["finding"]["severity"] == "critical");
  CHECK(payload["finding"]["subject"] ==
        json({{"kind", "Pod"}, {"namespace", "shop"}, {"name", "cart-0"}}));
  CHECK(payload["finding"]["message"] == "cart-0 is \"crash\" looping; $(id) `id`");
  CHECK(payload["alert"]["status"] == "firing");
  CHECK(payload["alert"]["labels"]["pod"] == "cart-0");
  CHECK(payload["alert"]["generatorURL"] == "http://prometheus.test/graph?g0.expr=up");
  CHECK(payload["alert"]["externalURL"].get<std::string>().find("http") == 0);
  // Alertmanager's own fingerprint and startsAt are the occurrence.
  auto listed = json::parse(httpGet(s.am() + "/api/v2/alerts").body);
  REQUIRE(listed.size() == 1);
  const std::string fingerprint = listed[0]["fingerprint"];
  CHECK(payload["alert"]["fingerprint"] == fingerprint);
  CHECK(payload["key"] == "alert|" + fingerprint);
  // The webhook's spelling of it (Go's RFC3339Nano), which Rampart keeps;
  // /api/v2/alerts writes milliseconds.
  CHECK(payload["alert"]["startsAt"] ==
        aggregator::canonicalTime(listed[0]["startsAt"].get<std::string>()));
  CHECK(waitUntil(
      [&] {
        return s.metric(
                   "rampart_hook_runs_total{cluster=\"it\",hook=\"capture\",result=\"success\"}") ==
               1;
      },
      10s));

  // Alertmanager repeats the notification (every 2 s here): no second run.
  REQUIRE_MESSAGE(waitUntil([&] { return s.requests("accepted") >= 3; }, 20s), s.logs());
  CHECK(s.runs() == 1);
  CHECK(s.requests("unauthorized") == 0);

  // The aggregator restarts on the same database: the occurrence is handled.
  s.aggregator->signal(SIGTERM);
  REQUIRE(s.aggregator->wait(10s) == 0);
  s.startAggregator();
  REQUIRE_MESSAGE(waitUntil([&] { return s.requests("accepted") >= 2; }, 20s), s.logs());
  CHECK(s.runs() == 1);
  CHECK(s.aggregator->log().find("handled findings restored") != std::string::npos);

  {
    auto store = aggregator::Store::open(s.dir / "rampart.db");
    REQUIRE(store.has_value());
    auto q = (*store)->prepare(
        "SELECT hook, finding_key, check_id, exit_code, json_extract(detail, '$.source') FROM "
        "hook_runs");
    REQUIRE(q.has_value());
    REQUIRE(q->step().value_or(false));
    CHECK(q->text(0) == "capture");
    CHECK(q->text(1) == "alert|" + fingerprint);
    CHECK(q->text(2) == "alert:RampartWebhookTest");
    CHECK(q->integer(3) == 0);
    CHECK(q->text(4) == "alertmanager");
    CHECK_FALSE(q->step().value_or(true));
  }

  // Resolved (Prometheus sends endsAt): Alertmanager says so, the run's
  // occurrence is closed.
  alert["endsAt"] = rfc3339(std::chrono::system_clock::now());
  s.fire(json::array({alert}));
  REQUIRE_MESSAGE(waitUntil([&] { return s.alerts("resolved") >= 1; }, 20s), s.logs());
  CHECK(waitUntil(
      [&] {
        auto store = aggregator::Store::open(s.dir / "rampart.db");
        auto q = (*store)->prepare(
            "SELECT json_extract(detail, '$.resolved_ms') IS NOT NULL FROM hook_runs");
        return q && q->step().value_or(false) && q->integer(0) == 1;
      },
      10s));

  // Alerts no hook matches (another name; the same name below min_severity)
  // run nothing.
  const double firing = s.alerts("firing");
  json other = {
      {"labels", {{"alertname", "SomethingElse"}, {"namespace", "shop"}, {"severity", "critical"}}},
      {"startsAt", rfc3339(std::chrono::system_clock::now())}};
  json low = {{"labels",
               {{"alertname", "RampartWebhookTest"},
                {"namespace", "shop"},
                {"severity", "warning"},
                {"pod", "x"}}},
              {"startsAt", rfc3339(std::chrono::system_clock::now())}};
  s.fire(json::array({other, low}));
  REQUIRE_MESSAGE(waitUntil([&] { return s.alerts("firing") >= firing + 2; }, 20s), s.logs());
  CHECK(s.runs() == 1);

  // Bad requests: JSON errors, counted.
  const std::string url = s.http() + "/api/v1/alertmanager/webhook";
  auto r = httpRequest("POST", url, "{\"version\":\"4\",\"alerts\":[]}");
  CHECK(r.status == 401);
  CHECK(json::parse(r.body, nullptr, false).contains("error"));
  CHECK(s.requests("unauthorized") >= 1);
  r = httpRequest("POST", url, std::string(2 * 1024 * 1024, ' '));
  CHECK((r.status == 401 || r.status == 413));  // the token is checked first
  auto curl =
      runCommand({"/usr/bin/curl", "-s", "-o", (s.dir / "out").string(), "-w", "%{http_code}", "-H",
                  std::string("Authorization: Bearer ") + kToken, "-H",
                  "Content-Type: application/json", "--data-binary", "{\"version\":\"3\"}", url});
  CHECK(curl.output == "400");
  CHECK(readFile(s.dir / "out").find("unsupported version") != std::string::npos);
  std::ofstream(s.dir / "big.json") << std::string(2 * 1024 * 1024, '[');
  curl = runCommand({"/usr/bin/curl", "-s", "-o", (s.dir / "out").string(), "-w", "%{http_code}",
                     "-H", std::string("Authorization: Bearer ") + kToken, "--data-binary",
                     "@" + (s.dir / "big.json").string(), url});
  CHECK(curl.output == "413");
  CHECK(readFile(s.dir / "out").find("larger than 1048576") != std::string::npos);
  CHECK(s.requests("too_large") >= 1);
  CHECK(s.requests("invalid") == 1);
  // Still serving.
  CHECK(httpGet(s.http() + "/healthz").status == 200);
  CHECK(s.aggregator->running());
}

// The aggregator's own alerts come back through Alertmanager: a hook that
// runs from the finding does not run again for its alert; a hook that
// matches only the alert (by alertname) runs once for it.
TEST_CASE("the aggregator's own alerts do not run a hook twice for the same finding") {
  TempDir dir;
  const int http_port = freeLoopbackPort(), am_port = freeLoopbackPort();
  const std::string http = "http://127.0.0.1:" + std::to_string(http_port);
  const std::string am = "http://127.0.0.1:" + std::to_string(am_port);
  auto keys = *generateCurveKeyPair();
  REQUIRE(writeKeyFile(dir / "aggregator.key", keys, true).has_value());
  REQUIRE(writeKeyFile(dir / "agent.pub", keys, false).has_value());
  Process kubesim({rampart::testing::kKubesimBin, "serve", "--scenario",
                   std::string(rampart::testing::kSourceDir) + "/tools/kubesim/scenarios/demo.yaml",
                   "--listen", "127.0.0.1:0", "--ready-file", (dir / "kubesim.ready").string()},
                  dir / "kubesim.log");
  auto ks = readReadyFile(dir / "kubesim.ready", "url", 20s);
  REQUIRE_MESSAGE(ks.has_value(), kubesim.log());
  const std::string kubesim_url = ks->at("url");
  std::ofstream(dir / "kubeconfig")
      << "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: "
      << kubesim_url
      << "\nusers:\n- name: sim\n  user:\n    token: test-token\ncontexts:\n- name: sim\n"
         "  context:\n    cluster: sim\n    user: sim\ncurrent-context: sim\n";
  auto count = dir / "count.sh";
  std::ofstream(count) << "#!/bin/sh\necho \"$RAMPART_SOURCE\" >> \"$1\"\n";
  ::chmod(count.c_str(), 0755);
  std::ofstream(dir / "hooks.yaml")
      << "hooks:\n"
         "  - name: by-check\n"
         "    match: {checks: [node.not-ready], labels: {node: worker-a1}}\n"
         "    command: ["
      << count.string() << ", " << (dir / "by-check").string()
      << "]\n"
         "  - name: by-alertname\n"
         "    match: {checks: [\"alert:RampartNodeNotReady\"], "
         "labels: {node: worker-a1}}\n"
         "    command: ["
      << count.string() << ", " << (dir / "by-alertname").string() << "]\n";
  std::ofstream(dir / "alertmanager.yml")
      << "route:\n  receiver: rampart-hooks\n  group_by: [alertname, node]\n  group_wait: 0s\n"
         "  group_interval: 1s\n  repeat_interval: 2s\n"
         "receivers:\n  - name: rampart-hooks\n    webhook_configs:\n      - url: "
      << http << "/api/v1/alertmanager/webhook\n";
  auto alertmanager = startAlertmanager(dir.path(), am_port);
  Process aggregator({rampart::testing::kAggregatorBin,
                      "--ingest",
                      "tcp://127.0.0.1:0",
                      "--http",
                      "127.0.0.1:" + std::to_string(http_port),
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
                      "--hooks",
                      (dir / "hooks.yaml").string(),
                      "--alertmanager",
                      am,
                      "--alert-resend-seconds",
                      "60",
                      "--ready-file",
                      (dir / "aggregator.ready").string()},
                     dir / "aggregator.log");
  REQUIRE_MESSAGE(readReadyFile(dir / "aggregator.ready", "http", 20s).has_value(),
                  aggregator.log());
  auto lines = [&](const std::string& name) {
    return std::filesystem::exists(dir / name) ? readFile(dir / name) : std::string();
  };
  auto accepted = [&] {
    auto body = httpGet(http + "/metrics").body;
    const std::string series =
        "rampart_alertmanager_webhook_requests_total{cluster=\"it\",result=\"accepted\"} ";
    auto at = body.find(series);
    return at == std::string::npos ? -1.0 : std::stod(body.substr(at + series.size()));
  };

  auto r = httpRequest("POST", kubesim_url + "/_kubesim/faults",
                       json{{"type", "node-down"}, {"node", "worker-a1"}}.dump());
  REQUIRE_MESSAGE(r.status == 200, r.body);
  // The finding runs by-check; its alert, delivered back, runs by-alertname.
  REQUIRE_MESSAGE(waitUntil([&] { return lines("by-check") == "findings\n"; }, 20s),
                  aggregator.log());
  REQUIRE_MESSAGE(waitUntil([&] { return lines("by-alertname") == "alertmanager\n"; }, 20s),
                  aggregator.log() << alertmanager->log());
  const double first = accepted();
  // Alertmanager repeats (every 2 s): nothing more for either hook.
  REQUIRE_MESSAGE(waitUntil([&] { return accepted() >= first + 2; }, 20s), aggregator.log());
  CHECK(lines("by-check") == "findings\n");
  CHECK(lines("by-alertname") == "alertmanager\n");
  auto store = aggregator::Store::open(dir / "rampart.db");
  REQUIRE(store.has_value());
  auto q = (*store)->prepare(
      "SELECT hook, json_extract(detail, '$.source') FROM hook_runs ORDER BY hook");
  REQUIRE(q.has_value());
  std::vector<std::string> runs;
  while (q->step().value_or(false)) runs.push_back(q->text(0) + ":" + q->text(1));
  CHECK(runs == std::vector<std::string>{"by-alertname:alertmanager", "by-check:findings"});
}
