// The Alertmanager webhook (docs/hooks.md, "Alerts from Alertmanager"): the
// payload as Alertmanager sends it, the mapping of alerts to hook
// occurrences, the policy's alert rules, the runner end to end with a real
// script and SQLite, and the HTTP-facing handler (auth, sizes, bad input).
#include <doctest/doctest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "alerts/alert_rules.h"
#include "hooks/alertmanager_webhook.h"
#include "hooks/hook_alert.h"
#include "hooks/hook_config.h"
#include "hooks/hook_policy.h"
#include "hooks/hooks.h"
#include "rampart/finding_key.h"
#include "state/store.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::aggregator;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// A notification exactly as Alertmanager 0.25 posts it to a webhook_config
// (captured from prometheus-alertmanager; firing alerts carry the zero
// endsAt).
constexpr const char* kPayload = R"json({
  "receiver": "rampart-hooks",
  "status": "firing",
  "alerts": [
    {
      "status": "firing",
      "labels": {"alertname": "RampartNodeDown", "check": "node.down", "cluster": "prod-eu",
                 "failure_domain": "eu-west-1b", "node": "worker-b1", "severity": "critical",
                 "subject": "Node worker-b1", "zone": "eu-west-1b"},
      "annotations": {"summary": "Node worker-b1 is down (agent silent, API server says NotReady)",
                      "runbook_url": "https://example.com/runbooks/node-down.md"},
      "startsAt": "2026-11-26T01:30:00.123Z",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://rampart.example/api/v1/findings?check=node.down",
      "fingerprint": "5b1f9a3c1d2e4f60"
    },
    {
      "status": "resolved",
      "labels": {"alertname": "KubePodCrashLooping", "cluster": "prod-eu", "namespace": "shop",
                 "pod": "cart-7d4b9c8f6d-2xk9p", "severity": "warning"},
      "annotations": {"description": "Pod shop/cart-7d4b9c8f6d-2xk9p is crash looping."},
      "startsAt": "2026-11-26T01:00:00Z",
      "endsAt": "2026-11-26T01:29:00Z",
      "generatorURL": "http://prometheus:9090/graph?g0.expr=...",
      "fingerprint": "0a1b2c3d4e5f6071"
    }
  ],
  "groupLabels": {"alertname": "RampartNodeDown"},
  "commonLabels": {"cluster": "prod-eu"},
  "commonAnnotations": {},
  "externalURL": "http://alertmanager:9093",
  "version": "4",
  "groupKey": "{}/{check=~\".+\"}:{alertname=\"RampartNodeDown\"}",
  "truncatedAlerts": 0
})json";

HookAlert alert(std::map<std::string, std::string> labels, const std::string& starts_at,
                const std::string& status = "firing") {
  HookAlert a;
  a.status = status;
  a.labels = std::move(labels);
  a.starts_at = starts_at;
  a.fingerprint = alertFingerprint(a.labels);
  a.key = "alert|" + a.fingerprint;
  a.finding = alertFinding(a);
  return a;
}

HookSpec hook(const std::string& name, std::vector<std::string> checks,
              std::vector<std::string> command = {"/bin/true"}) {
  HookSpec h;
  h.name = name;
  h.match.checks = std::move(checks);
  h.command = std::move(command);
  h.cooldown = 10min;
  h.max_concurrent = 10;
  h.max_runs_per_hour = 1000;
  return h;
}

std::vector<std::string> results(const HookPlan& plan) {
  std::vector<std::string> out;
  out.reserve(plan.alert_outcomes.size());
  for (const auto& o : plan.alert_outcomes) out.push_back(o.result);
  return out;
}

std::filesystem::path script(const testing::TempDir& dir, const std::string& name,
                             const std::string& body) {
  auto p = dir / name;
  std::ofstream(p) << "#!/bin/sh\n" << body;
  ::chmod(p.c_str(), 0755);
  return p;
}

std::string scrape(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

}  // namespace

TEST_CASE("webhook payload: Alertmanager's version 4 JSON parses") {
  auto p = parseWebhookPayload(kPayload);
  REQUIRE_MESSAGE(p.has_value(), p.error().message);
  CHECK(p->version == "4");
  CHECK(p->receiver == "rampart-hooks");
  CHECK(p->external_url == "http://alertmanager:9093");
  REQUIRE(p->alerts.size() == 2);
  const HookAlert& down = p->alerts[0];
  CHECK(down.firing());
  CHECK(down.alertname() == "RampartNodeDown");
  CHECK(down.fingerprint == "5b1f9a3c1d2e4f60");
  CHECK(down.key == "alert|5b1f9a3c1d2e4f60");
  CHECK(down.starts_at == "2026-11-26T01:30:00.123Z");
  CHECK(down.ends_at == "0001-01-01T00:00:00Z");
  CHECK(down.external_url == "http://alertmanager:9093");
  // The finding-shaped view.
  CHECK(down.finding.check == "node.down");
  CHECK(down.finding.severity == engine::Severity::kCritical);
  CHECK(down.finding.subject == engine::ObjectRef{"Node", "", "worker-b1"});
  CHECK(down.finding.node == "worker-b1");
  CHECK(down.finding.zone == "eu-west-1b");
  CHECK(down.finding.message == "Node worker-b1 is down (agent silent, API server says NotReady)");
  CHECK(down.finding.runbook == "https://example.com/runbooks/node-down.md");
  const HookAlert& crash = p->alerts[1];
  CHECK_FALSE(crash.firing());
  CHECK(crash.finding.check == "alert:KubePodCrashLooping");
  CHECK(crash.finding.severity == engine::Severity::kMedium);  // warning
  CHECK(crash.finding.subject == engine::ObjectRef{"Pod", "shop", "cart-7d4b9c8f6d-2xk9p"});
  CHECK(crash.finding.message == "Pod shop/cart-7d4b9c8f6d-2xk9p is crash looping.");

  // No fingerprint: Alertmanager's own, from the labels.
  json j = json::parse(kPayload);
  j["alerts"][0].erase("fingerprint");
  auto q = parseWebhookPayload(j.dump());
  REQUIRE(q.has_value());
  CHECK(q->alerts[0].fingerprint == alertFingerprint(q->alerts[0].labels));
}

TEST_CASE("webhook payload: anything else is refused with a reason, never a throw") {
  auto bad = [](const std::string& body) {
    auto p = parseWebhookPayload(body);
    REQUIRE_FALSE(p.has_value());
    return p.error().message;
  };
  CHECK(contains(bad(""), "invalid JSON"));
  CHECK(contains(bad("{\"version\": \"4\", \"alerts\": [}"), "invalid JSON"));
  CHECK(contains(bad("[]"), "expected a JSON object"));
  CHECK(contains(bad(R"({"version": "3", "alerts": []})"), "unsupported version"));
  CHECK(contains(bad(R"({"version": 4, "alerts": []})"), "version: expected a string"));
  CHECK(contains(bad(R"({"alerts": []})"), "version: missing"));
  CHECK(contains(bad(R"({"version": "4"})"), "alerts: expected an array"));
  CHECK(contains(bad(R"({"version": "4", "alerts": [1]})"), "expected an object"));
  auto with = [](const std::function<void(json&)>& change) {
    json j = json::parse(kPayload);
    change(j["alerts"][0]);
    return j.dump();
  };
  CHECK(contains(bad(with([](json& a) { a["status"] = "pending"; })),
                 "alerts[0].status: expected firing or resolved"));
  CHECK(contains(bad(with([](json& a) { a["labels"]["node"] = 3; })),
                 "alerts[0].labels: values must be strings"));
  CHECK(contains(bad(with([](json& a) { a["labels"] = json::object(); })), "labels: empty"));
  CHECK(contains(bad(with([](json& a) { a.erase("startsAt"); })), "startsAt: missing"));
  CHECK(contains(bad(with([](json& a) { a["startsAt"] = std::string(100, '9'); })), "startsAt"));
  CHECK(contains(bad(with([](json& a) { a["startsAt"] = "yesterday"; })), "startsAt"));
  CHECK(contains(bad(with([](json& a) { a["fingerprint"] = "'; DROP TABLE hook_runs; --"; })),
                 "fingerprint: expected hex digits"));
  CHECK(contains(bad(with([](json& a) { a["annotations"] = "x"; })), "expected an object"));
  // Deep nesting is refused before the parser sees it.
  CHECK(contains(bad(std::string(100000, '[') + std::string(100000, ']')), "nested deeper"));
  // Brackets inside strings do not count.
  CHECK(parseWebhookPayload(with([](json& a) {
          a["annotations"]["x"] = std::string(100, '[');
        })).has_value());
  // Invalid UTF-8 is invalid JSON.
  std::string broken = with([](json& a) { a["labels"]["x"] = "@@"; });
  broken.replace(broken.find("@@"), 2, "\xff\xfe");
  CHECK(contains(bad(broken), "invalid JSON"));
}

TEST_CASE("alert times: one spelling per instant") {
  CHECK(canonicalTime("2026-11-26T01:30:00Z") == "2026-11-26T01:30:00Z");
  CHECK(canonicalTime("2026-11-26T01:30:00.780Z") == "2026-11-26T01:30:00.78Z");
  CHECK(canonicalTime("2026-11-26T01:30:00.000000000Z") == "2026-11-26T01:30:00Z");
  CHECK(canonicalTime("2026-11-26T03:30:00.5+02:00") == "2026-11-26T01:30:00.5Z");
  CHECK(canonicalTime("2026-11-25T23:30:00-02:00") == "2026-11-26T01:30:00Z");
  CHECK(canonicalTime("0001-01-01T00:00:00Z") == "0001-01-01T00:00:00Z");
  for (const char* bad :
       {"", "2026-11-26", "2026-11-26T01:30:00", "2026-13-26T01:30:00Z", "2026-11-26T01:30:00.Z",
        "2026-11-26T01:30:00.1234567890Z", "2026-11-26T01:30:00+0200", "2026-11-26T01:30:00Zjunk",
        "yyyy-11-26T01:30:00Z"}) {
    CAPTURE(bad);
    CHECK_FALSE(canonicalTime(bad).has_value());
  }
}

TEST_CASE("alert severity labels") {
  CHECK(alertSeverity("critical") == engine::Severity::kCritical);
  CHECK(alertSeverity("page") == engine::Severity::kCritical);
  CHECK(alertSeverity("high") == engine::Severity::kHigh);
  CHECK(alertSeverity("error") == engine::Severity::kHigh);
  CHECK(alertSeverity("warning") == engine::Severity::kMedium);
  CHECK(alertSeverity("medium") == engine::Severity::kMedium);
  CHECK(alertSeverity("low") == engine::Severity::kLow);
  CHECK(alertSeverity("info") == engine::Severity::kInfo);
  CHECK(alertSeverity("") == engine::Severity::kInfo);
  CHECK(alertSeverity("CRITICAL") == engine::Severity::kInfo);
}

TEST_CASE("alert matching: checks on alert:NAME or the check label, severity, labels") {
  auto own = alert({{"alertname", "RampartNodeDown"},
                    {"check", "node.down"},
                    {"severity", "critical"},
                    {"node", "worker-b1"},
                    {"zone", "eu-west-1b"},
                    {"cluster", "prod"},
                    {"subject", "Node worker-b1"}},
                   "t1");
  auto prom = alert({{"alertname", "RampartClusterScoreLow"},
                     {"severity", "high"},
                     {"cluster", "prod"},
                     {"team", "platform"}},
                    "t1");
  HookMatch m;
  CHECK(hookMatchesAlert(m, own));
  CHECK(hookMatchesAlert(m, prom));
  m.checks = {"node.down"};
  CHECK(hookMatchesAlert(m, own));
  CHECK_FALSE(hookMatchesAlert(m, prom));
  m.checks = {"alert:Rampart*"};
  CHECK(hookMatchesAlert(m, own));
  CHECK(hookMatchesAlert(m, prom));
  m.checks = {"alert:RampartClusterScoreLow"};
  CHECK_FALSE(hookMatchesAlert(m, own));
  CHECK(hookMatchesAlert(m, prom));
  m.checks.clear();
  m.min_severity = engine::Severity::kCritical;
  CHECK(hookMatchesAlert(m, own));
  CHECK_FALSE(hookMatchesAlert(m, prom));
  m.min_severity = engine::Severity::kInfo;
  m.nodes = {"worker-b*"};
  CHECK(hookMatchesAlert(m, own));
  CHECK_FALSE(hookMatchesAlert(m, prom));  // no node label: ""
  m.nodes.clear();
  m.alert_labels["team"] = {"plat*"};
  CHECK_FALSE(hookMatchesAlert(m, own));
  CHECK(hookMatchesAlert(m, prom));
  // alert_labels: a condition findings cannot meet.
  CHECK_FALSE(hookMatches(m, own.finding));
  m.alert_labels["team"] = {"*"};
  CHECK(hookMatchesAlert(m, own));  // a missing label is "", which * matches

  CHECK(isOwnAlert(own, "prod", ""));
  CHECK_FALSE(isOwnAlert(own, "staging", ""));
  CHECK_FALSE(isOwnAlert(prom, "prod", ""));  // Prometheus' alerts carry no check
  prom.generator_url = "http://rampart.example/api/v1/findings?check=x";
  CHECK(isOwnAlert(prom, "prod", "http://rampart.example/"));
  CHECK_FALSE(isOwnAlert(prom, "prod", "http://other.example/"));
}

TEST_CASE("hook config: alert_labels") {
  auto c = parseHooksConfig(
      "hooks:\n  - name: h\n    match:\n      checks: [\"alert:KubePodCrashLooping\"]\n"
      "      alert_labels: {team: [web, \"shop-*\"], alertname: Kube*}\n"
      "    command: [/bin/true]\n",
      "hooks.yaml", false);
  REQUIRE_MESSAGE(c.has_value(), c.error().message);
  CHECK(c->hooks[0].match.alert_labels.at("team") == std::vector<std::string>{"web", "shop-*"});
  CHECK(c->hooks[0].match.alert_labels.at("alertname") == std::vector<std::string>{"Kube*"});
  auto bad = parseHooksConfig(
      "hooks:\n  - name: h\n    match:\n      alert_labels: {\"bad-name\": x}\n"
      "    command: [/bin/true]\n",
      "hooks.yaml", false);
  REQUIRE_FALSE(bad.has_value());
  CHECK(contains(bad.error().message,
                 "hooks.yaml: hooks[0] (h).match.alert_labels: 'bad-name' is not a label name"));
}

TEST_CASE("policy: an alert occurrence runs once; repeats, resolution, cooldown") {
  HooksConfig config;
  config.hooks.push_back(hook("h", {"alert:KubePodCrashLooping"}));
  HookPolicy policy(config);
  std::vector<int> running{0};
  auto a = alert({{"alertname", "KubePodCrashLooping"}, {"namespace", "shop"}}, "t1");
  auto other = alert({{"alertname", "Watchdog"}}, "t1");
  int64_t now = 1'000'000;

  auto plan = policy.planAlerts({a, other}, nullptr, now, running);
  REQUIRE(plan.starts.size() == 1);
  CHECK(plan.starts[0].key == a.key);
  REQUIRE(plan.starts[0].alert != nullptr);
  CHECK(plan.starts[0].finding == &plan.starts[0].alert->finding);
  CHECK(results(plan) == std::vector<std::string>{"started"});  // Watchdog matches nothing
  // Alertmanager's repeat: the same occurrence, nothing.
  plan = policy.planAlerts({a}, nullptr, now + 1000, running);
  CHECK(plan.starts.empty());
  CHECK(results(plan) == std::vector<std::string>{"already_handled"});
  // Resolved, then firing again within the cooldown: waits.
  auto resolved = a;
  resolved.status = "resolved";
  plan = policy.planAlerts({resolved}, nullptr, now + 2000, running);
  REQUIRE(plan.resolved.size() == 1);
  CHECK(results(plan) == std::vector<std::string>{"resolved"});
  auto again = a;
  again.starts_at = "t2";
  plan = policy.planAlerts({again}, nullptr, now + 3000, running);
  CHECK(plan.starts.empty());
  CHECK(results(plan) == std::vector<std::string>{"waiting_cooldown"});
  REQUIRE(plan.skips.size() == 1);
  CHECK(plan.skips[0].reason == HookSkip::kCooldown);
  // A repeat while waiting counts no second skip.
  plan = policy.planAlerts({again}, nullptr, now + 4000, running);
  CHECK(plan.skips.empty());
  CHECK(policy.planWaitingAlerts(now + 5000, running).starts.empty());
  // Once the cooldown has passed the waiting occurrence starts by itself.
  plan = policy.planWaitingAlerts(now + 10 * 60 * 1000, running);
  REQUIRE(plan.starts.size() == 1);
  CHECK(plan.starts[0].alert->starts_at == "t2");
  CHECK(policy.planAlerts({again}, nullptr, now + 11 * 60 * 1000, running).starts.empty());
}

TEST_CASE("policy: alerts share the hook's limits with findings") {
  HooksConfig config;
  config.hooks.push_back(hook("h", {"alert:*", "node.down"}));
  config.hooks[0].max_runs_per_hour = 2;
  config.hooks[0].max_concurrent = 1;
  HookPolicy policy(config);
  auto a1 = alert({{"alertname", "A1"}}, "t");
  auto a2 = alert({{"alertname", "A2"}}, "t");
  auto a3 = alert({{"alertname", "A3"}}, "t");
  // One process of the hook runs: the alert waits on concurrency.
  auto plan = policy.planAlerts({a1}, nullptr, 1000, {1});
  CHECK(results(plan) == std::vector<std::string>{"waiting_concurrency"});
  plan = policy.planWaitingAlerts(2000, {0});
  CHECK(plan.starts.size() == 1);
  engine::Report report;
  engine::Finding f;
  f.check = "node.down";
  f.subject = {"Node", "", "n1"};
  report.findings.push_back(f);
  CHECK(policy.plan(report, 3000, {0}).starts.size() == 1);  // the second start this hour
  plan = policy.planAlerts({a2, a3}, nullptr, 4000, {0});
  CHECK(results(plan) == std::vector<std::string>{"waiting_rate", "waiting_rate"});
}

TEST_CASE("policy: an alert the aggregator sent runs no hook its finding already runs") {
  HooksConfig config;
  config.hooks.push_back(hook("by-check", {"node.down"}));
  config.hooks.push_back(hook("by-alertname", {"alert:RampartNodeDown"}));
  HookPolicy policy(config);
  engine::Finding f;
  f.check = "node.down";
  f.severity = engine::Severity::kCritical;
  f.subject = {"Node", "", "worker-b1"};
  f.node = "worker-b1";
  engine::Report report;
  report.findings.push_back(f);
  // The finding path runs by-check once.
  auto plan = policy.plan(report, 1000, {0, 0});
  REQUIRE(plan.starts.size() == 1);
  CHECK(plan.starts[0].hook == 0);
  auto a = alert({{"alertname", "RampartNodeDown"},
                  {"check", "node.down"},
                  {"cluster", "prod"},
                  {"node", "worker-b1"},
                  {"severity", "critical"},
                  {"subject", "Node worker-b1"}},
                 "t1");
  a.own = true;
  a.own_keys = {engine::findingKey(f)};
  plan = policy.planAlerts({a}, &report, 2000, {0, 0});
  // by-check: handled by the finding; by-alertname matches no finding: once for the alert.
  REQUIRE(plan.starts.size() == 1);
  CHECK(plan.starts[0].hook == 1);
  CHECK(results(plan) == std::vector<std::string>{"handled_by_finding", "started"});
  // The same alert not marked as ours (a foreign sender) would run by-check again.
  HookPolicy fresh(config);
  a.own = false;
  CHECK(fresh.planAlerts({a}, &report, 2000, {0, 0}).starts.size() == 2);
  // Ours before the finding path planned: the report still decides.
  HookPolicy early(config);
  a.own = true;
  plan = early.planAlerts({a}, &report, 2000, {0, 0});
  CHECK(results(plan) == std::vector<std::string>{"handled_by_finding", "started"});
}

TEST_CASE("runner: an alert runs its hook with the alert on stdin and in the environment") {
  testing::TempDir dir;
  auto capture = script(dir, "capture.sh",
                        "cat >> \"$1/stdin.json\"\nenv > \"$1/env\"\necho x >> \"$1/runs\"\n");
  HookRunnerOptions opts;
  opts.config.hooks.push_back(
      hook("restart", {"alert:KubePodCrashLooping"}, {capture.string(), dir.path().string()}));
  opts.db_path = dir / "r.db";
  opts.cluster = "prod";
  const std::string hostile = "x\"; $(touch " + (dir / "pwned").string() + ") `id` \n|| y";
  auto payload = json::parse(kPayload);
  payload["alerts"][1]["status"] = "firing";
  payload["alerts"][1]["endsAt"] = "0001-01-01T00:00:00Z";
  payload["alerts"][1]["annotations"]["description"] = hostile;
  auto parsed = parseWebhookPayload(payload.dump());
  REQUIRE(parsed.has_value());
  auto runs = [&] {
    return std::filesystem::exists(dir / "runs") ? testing::readFile(dir / "runs").size() / 2 : 0;
  };
  {
    prometheus::Registry registry;
    auto runner = HookRunner::create(opts, registry, nullLogger());
    REQUIRE(runner.has_value());
    (*runner)->start();
    auto d = (*runner)->deliverAlerts(parsed->alerts, 5s);
    CHECK(d.leader);
    REQUIRE(d.planned);
    REQUIRE(d.outcomes.size() == 1);
    CHECK(d.outcomes[0].alert == 1);
    CHECK(d.outcomes[0].result == "started");
    REQUIRE(testing::waitUntil([&] { return runs() == 1; }, 5s));
    REQUIRE((*runner)->waitIdle(5s));
    auto in = json::parse(testing::readFile(dir / "stdin.json"));
    CHECK(in["schema"] == "rampart.hook/v1");
    CHECK(in["source"] == "alertmanager");
    CHECK(in["key"] == "alert|0a1b2c3d4e5f6071");
    CHECK(in["finding"]["check"] == "alert:KubePodCrashLooping");
    CHECK(in["finding"]["message"] == hostile);
    CHECK(in["alert"]["labels"]["pod"] == "cart-7d4b9c8f6d-2xk9p");
    CHECK(in["alert"]["annotations"]["description"] == hostile);
    CHECK(in["alert"]["fingerprint"] == "0a1b2c3d4e5f6071");
    CHECK(in["alert"]["startsAt"] == "2026-11-26T01:00:00Z");
    const std::string env = testing::readFile(dir / "env");
    CHECK(contains(env, "RAMPART_SOURCE=alertmanager\n"));
    CHECK(contains(env, "RAMPART_ALERT_NAME=KubePodCrashLooping\n"));
    CHECK(contains(env, "RAMPART_ALERT_FINGERPRINT=0a1b2c3d4e5f6071\n"));
    CHECK(contains(env, "RAMPART_ALERT_STARTS_AT=2026-11-26T01:00:00Z\n"));
    CHECK(contains(env, "RAMPART_CHECK=alert:KubePodCrashLooping\n"));
    CHECK(contains(env, "RAMPART_SEVERITY=medium\n"));
    CHECK(contains(env, "RAMPART_NAMESPACE=shop\n"));
    CHECK(contains(env, "RAMPART_SUBJECT_KIND=Pod\n"));
    CHECK(contains(env, "RAMPART_ALERT_LABELS={\"alertname\":\"KubePodCrashLooping\""));
    CHECK_FALSE(std::filesystem::exists(dir / "pwned"));
    CHECK(contains(
        scrape(registry),
        "rampart_hook_runs_total{cluster=\"prod\",hook=\"restart\",result=\"success\"} 1"));
    // Alertmanager's repeat of the same notification: nothing more.
    d = (*runner)->deliverAlerts(parsed->alerts, 5s);
    REQUIRE(d.outcomes.size() == 1);
    CHECK(d.outcomes[0].result == "already_handled");
    REQUIRE((*runner)->waitIdle(5s));
  }
  {
    auto store = Store::open(dir / "r.db");
    REQUIRE(store.has_value());
    auto s = (*store)->prepare(
        "SELECT hook, finding_key, check_id, exit_code, json_extract(detail, '$.source'), "
        "json_extract(detail, '$.alert.startsAt') FROM hook_runs");
    REQUIRE(s.has_value());
    REQUIRE(s->step().value_or(false));
    CHECK(s->text(0) == "restart");
    CHECK(s->text(1) == "alert|0a1b2c3d4e5f6071");
    CHECK(s->text(2) == "alert:KubePodCrashLooping");
    CHECK(s->integer(3) == 0);
    CHECK(s->text(4) == "alertmanager");
    CHECK(s->text(5) == "2026-11-26T01:00:00Z");
    CHECK_FALSE(s->step().value_or(true));
  }
  {
    // After a restart the handled occurrence does not run again; its
    // resolution is recorded; a standby plans nothing.
    prometheus::Registry registry;
    auto runner = HookRunner::create(opts, registry, nullLogger());
    REQUIRE(runner.has_value());
    (*runner)->start();
    auto d = (*runner)->deliverAlerts(parsed->alerts, 5s);
    REQUIRE(d.outcomes.size() == 1);
    CHECK(d.outcomes[0].result == "already_handled");
    auto resolved = parsed->alerts;
    resolved[1].status = "resolved";
    d = (*runner)->deliverAlerts(resolved, 5s);
    REQUIRE(d.outcomes.size() == 1);
    CHECK(d.outcomes[0].result == "resolved");
    REQUIRE((*runner)->waitIdle(5s));
    CHECK(runs() == 1);
  }
  {
    auto store = Store::open(dir / "r.db");
    auto s = (*store)->prepare(
        "SELECT json_extract(detail, '$.resolved_ms') IS NOT NULL FROM hook_runs");
    REQUIRE(s->step().value_or(false));
    CHECK(s->integer(0) == 1);
  }
  {
    HookRunnerOptions standby = opts;
    standby.leader = false;
    standby.db_path = dir / "standby.db";
    prometheus::Registry registry;
    auto runner = HookRunner::create(standby, registry, nullLogger());
    REQUIRE(runner.has_value());
    (*runner)->start();
    auto d = (*runner)->deliverAlerts(parsed->alerts, 5s);
    CHECK_FALSE(d.leader);
    CHECK(d.outcomes.empty());
    CHECK_FALSE(std::filesystem::exists(dir / "standby.db"));
  }
}

TEST_CASE("webhook handler: token, size, bad input, answers and metrics") {
  testing::TempDir dir;
  auto touch = script(dir, "touch.sh", "echo x >> \"$1/runs\"\n");
  HookRunnerOptions opts;
  opts.config.hooks.push_back(
      hook("cordon", {"alert:RampartNodeDown"}, {touch.string(), dir.path().string()}));
  opts.db_path = dir / "r.db";
  opts.cluster = "prod-eu";
  prometheus::Registry registry;
  auto runner = HookRunner::create(opts, registry, nullLogger());
  REQUIRE(runner.has_value());
  (*runner)->start();
  AlertmanagerWebhook webhook({"prod-eu", "s3cret"}, runner->get(), registry, nullLogger());
  webhook.setExternalUrl("http://rampart.example/");

  auto r = webhook.handle("", kPayload, false);
  CHECK(r.status == 401);
  CHECK(json::parse(r.body)["error"].get<std::string>().find("bearer token") != std::string::npos);
  CHECK(webhook.handle("Bearer s3cre", kPayload, false).status == 401);
  CHECK(webhook.handle("Bearer s3cret2", kPayload, false).status == 401);
  CHECK(webhook.handle("Basic s3cret", kPayload, false).status == 401);
  r = webhook.handle("Bearer s3cret", "", true);
  CHECK(r.status == 413);
  CHECK(json::parse(r.body).contains("error"));
  r = webhook.handle("Bearer s3cret", "{\"version\":\"4\",", false);
  CHECK(r.status == 400);
  CHECK(json::parse(r.body)["error"].get<std::string>().find("invalid JSON") != std::string::npos);
  CHECK(webhook.handle("Bearer s3cret", std::string("\0\xff{", 3), false).status == 400);

  r = webhook.handle("Bearer s3cret", kPayload, false);
  REQUIRE(r.status == 200);
  auto answer = json::parse(r.body);
  CHECK(answer["status"] == "ok");
  CHECK(answer["leader"] == true);
  CHECK(answer["alerts"] == 2);
  CHECK(answer["firing"] == 1);
  CHECK(answer["resolved"] == 1);
  REQUIRE(answer["hooks"].size() == 1);
  CHECK(answer["hooks"][0]["hook"] == "cordon");
  CHECK(answer["hooks"][0]["alertname"] == "RampartNodeDown");
  // The alert names a check and the cluster is ours (generatorURL too), but
  // no finding of this aggregator stands for it: it runs once.
  CHECK(answer["hooks"][0]["result"] == "started");
  REQUIRE((*runner)->waitIdle(5s));
  CHECK(testing::readFile(dir / "runs") == "x\n");

  const std::string m = scrape(registry);
  auto count = [&](const std::string& result) {
    return "rampart_alertmanager_webhook_requests_total{cluster=\"prod-eu\",result=\"" + result +
           "\"} ";
  };
  CHECK(contains(m, count("unauthorized") + "4"));
  CHECK(contains(m, count("too_large") + "1"));
  CHECK(contains(m, count("invalid") + "2"));
  CHECK(contains(m, count("accepted") + "1"));
  CHECK(contains(m, count("standby") + "0"));
  CHECK(contains(
      m, "rampart_alertmanager_webhook_alerts_total{cluster=\"prod-eu\",status=\"firing\"} 1"));

  // Without hooks the payload is accepted and nothing runs; a standby says so.
  prometheus::Registry r2;
  AlertmanagerWebhook none({"prod-eu", ""}, nullptr, r2, nullLogger());
  answer = json::parse(none.handle("", kPayload, false).body);
  CHECK(answer["hooks"].empty());
  HookRunnerOptions standby = opts;
  standby.leader = false;
  prometheus::Registry r3;
  auto passive = HookRunner::create(standby, r3, nullLogger());
  REQUIRE(passive.has_value());
  AlertmanagerWebhook second({"prod-eu", ""}, passive->get(), r3, nullLogger());
  r = second.handle("", kPayload, false);
  CHECK(r.status == 200);
  answer = json::parse(r.body);
  CHECK(answer["leader"] == false);
  CHECK(answer["hooks"].empty());
  CHECK(answer["message"].get<std::string>().find("not the leader") != std::string::npos);
  CHECK(contains(scrape(r3),
                 "rampart_alertmanager_webhook_requests_total{cluster=\"prod-eu\","
                 "result=\"standby\"} 1"));
}

TEST_CASE("webhook token file") {
  testing::TempDir dir;
  std::ofstream(dir / "token") << "  abc.DEF-123 \nsecond line\n";
  auto t = readWebhookToken(dir / "token");
  REQUIRE(t.has_value());
  CHECK(*t == "abc.DEF-123");
  std::ofstream(dir / "empty") << "\n";
  CHECK_FALSE(readWebhookToken(dir / "empty").has_value());
  std::ofstream(dir / "space") << "a b\n";
  CHECK_FALSE(readWebhookToken(dir / "space").has_value());
  CHECK_FALSE(readWebhookToken(dir / "missing").has_value());
}
