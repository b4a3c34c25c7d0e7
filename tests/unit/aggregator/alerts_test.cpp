// Alerts: rules and templates, fingerprints, the book's diffing, resend,
// backoff and queues (fake clock), the POST body, and the sender against an
// in-process fake Alertmanager (retry after 503, restart keeps startsAt).
#include <doctest/doctest.h>
#include <httplib.h>
#include <prometheus/text_serializer.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "alerts/alert_book.h"
#include "alerts/alert_rules.h"
#include "alerts/alerts.h"
#include "rampart/time.h"
#include "state/store.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::aggregator;
using nlohmann::json;

namespace {

engine::Finding finding(std::string check, engine::Severity sev, engine::ObjectRef subject,
                        std::string node = "", std::string zone = "") {
  engine::Finding f;
  f.check = std::move(check);
  f.severity = sev;
  f.subject = std::move(subject);
  f.node = std::move(node);
  f.zone = std::move(zone);
  f.message = "msg of " + f.check;
  f.remediation = "fix it";
  f.runbook = "https://runbooks/" + f.check;
  return f;
}

AlertRules rules(std::string_view yaml) {
  auto r = parseAlertRules(yaml, "test.yaml");
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message));
  return *r;
}

std::string parseError(std::string_view yaml) {
  auto r = parseAlertRules(yaml, "test.yaml");
  REQUIRE_FALSE(r.has_value());
  return r.error().message;
}

DesiredAlert desired(const std::string& node) {
  DesiredAlert d;
  d.labels = {{"alertname", "A"}, {"node", node}};
  d.fingerprint = alertFingerprint(d.labels);
  d.finding_key = "node.not-ready|Node||" + node + "|" + node;
  d.annotations = {{"summary", "node " + node}};
  return d;
}

AlertBookOptions bookOptions() {
  AlertBookOptions o;
  o.resend = std::chrono::milliseconds(60000);
  o.backoff_initial = std::chrono::milliseconds(500);
  o.backoff_max = std::chrono::milliseconds(4000);
  return o;
}

}  // namespace

TEST_CASE("templates substitute {{ .field }} and nothing else") {
  auto t = AlertTemplate::parse("Node {{ .node }} ({{.zone}}): {{ .message }}");
  REQUIRE(t.has_value());
  TemplateFields f{{"node", "n1"}, {"zone", "a"}, {"message", "$(rm -rf /) `x` {{ .node }}"}};
  // Values are inserted verbatim, never evaluated or expanded again.
  CHECK(t->render(f) == "Node n1 (a): $(rm -rf /) `x` {{ .node }}");
  CHECK(AlertTemplate::parse("no placeholders")->render(f) == "no placeholders");
  CHECK(AlertTemplate::parse("{{ .workload }}")->render(f) == "");  // missing: empty

  struct Bad {
    const char* text;
    const char* error;
  };
  for (auto [text, error] : {Bad{"{{ .node", "not closed"}, Bad{"{{ node }}", "only"},
                             Bad{"{{ .nope }}", "unknown field `.nope`"},
                             Bad{"{{ .node | upper }}", "unknown field"}, Bad{"{{ }}", "only"}}) {
    auto r = AlertTemplate::parse(text);
    REQUIRE_FALSE(r.has_value());
    CHECK_MESSAGE(r.error().message.find(error) != std::string::npos, r.error().message);
  }
}

TEST_CASE("fingerprints are Alertmanager's: FNV-1a over sorted labels") {
  // Values computed independently (Prometheus' model.LabelSet.Fingerprint).
  CHECK(alertFingerprint({}) == "cbf29ce484222325");
  CHECK(alertFingerprint({{"node", "n1"}, {"alertname", "RampartNodeNotReady"}}) ==
        "ba7fcad170a3542c");
  CHECK(alertFingerprint({{"a", "bc"}}) != alertFingerprint({{"ab", "c"}}));
}

TEST_CASE("the shipped rules parse and alert on incidents, not on posture") {
  auto r = loadAlertRules("");
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message));
  REQUIRE_FALSE(r->rules.empty());
  engine::Report report;
  report.findings.push_back(finding("node.not-ready", engine::Severity::kHigh,
                                    {"Node", "", "worker-a1"}, "worker-a1", "eu-west-1a"));
  report.findings.push_back(
      finding("node.down", engine::Severity::kCritical, {"Node", "", "n2"}, "n2", "zone-b"));
  report.findings.push_back(finding("workload.single-replica", engine::Severity::kHigh,
                                    {"Deployment", "shop", "payments"}));
  auto alerts = desiredAlerts(*r, report, "prod");
  REQUIRE(alerts.size() == 2);
  std::map<std::string, DesiredAlert> by_name;
  for (auto& a : alerts) by_name[a.labels.at("alertname")] = a;
  REQUIRE(by_name.contains("RampartNodeNotReady"));
  REQUIRE(by_name.contains("RampartNodeDown"));
  const auto& nr = by_name["RampartNodeNotReady"];
  CHECK(nr.labels == AlertLabels{{"alertname", "RampartNodeNotReady"},
                                 {"check", "node.not-ready"},
                                 {"cluster", "prod"},
                                 {"failure_domain", "eu-west-1a"},
                                 {"node", "worker-a1"},
                                 {"severity", "high"},
                                 {"subject", "Node worker-a1"},
                                 {"zone", "eu-west-1a"}});
  CHECK(nr.annotations.at("summary") == "Node worker-a1 is not Ready");
  CHECK(nr.annotations.at("runbook_url") == "https://runbooks/node.not-ready");
  CHECK(nr.finding_key == "node.not-ready|Node||worker-a1|worker-a1");
  CHECK(nr.fingerprint == alertFingerprint(nr.labels));
  CHECK(by_name["RampartNodeDown"].labels.at("severity") == "critical");
}

TEST_CASE("rules: first match wins, minimum severity, label globs, extra labels") {
  auto r = rules(R"(
rules:
  - name: shop-only
    match: {checks: "pod.*", minSeverity: high, labels: {namespace: "sh*"}}
    alertname: ShopPod
    severity: page
    labels: {team: "web-{{ .namespace }}", empty: "{{ .zone }}"}
    annotations: {summary: "{{ .subject }} on {{ .node }}", description: "{{ .message }}"}
  - match: {checks: [pod.not-ready, pod.crashloop]}
    alertname: AnyPod
)");
  REQUIRE(r.rules.size() == 2);
  CHECK(r.rules[0].line == 3);
  engine::Report report;
  auto shop = finding("pod.not-ready", engine::Severity::kHigh, {"Pod", "shop", "web-1"}, "n1");
  shop.workload = engine::ObjectRef{"Deployment", "shop", "web"};
  auto data = finding("pod.not-ready", engine::Severity::kHigh, {"Pod", "data", "db-0"}, "n2");
  auto low = finding("pod.crashloop", engine::Severity::kLow, {"Pod", "shop", "web-2"}, "n1");
  auto none = finding("pod.bare", engine::Severity::kMedium, {"Pod", "shop", "x"}, "n1");
  report.findings = {shop, data, low, none};
  auto alerts = desiredAlerts(r, report, "c");
  REQUIRE(alerts.size() == 3);
  std::map<std::string, std::vector<DesiredAlert>> by_name;
  for (auto& a : alerts) by_name[a.labels.at("alertname")].push_back(a);
  REQUIRE(by_name["ShopPod"].size() == 1);
  const auto& s = by_name["ShopPod"][0];
  CHECK(s.labels.at("severity") == "page");
  CHECK(s.labels.at("team") == "web-shop");
  CHECK_FALSE(s.labels.contains("empty"));  // rendered empty: omitted
  CHECK(s.labels.at("workload") == "web");
  CHECK(s.labels.at("failure_domain") == "n1");  // no zone: the node
  CHECK(s.annotations.at("summary") == "Pod shop/web-1 on n1");
  CHECK(by_name["AnyPod"].size() == 2);  // data (namespace not sh*) and the low-severity one
}

TEST_CASE("base labels: failure_domain falls back from zone to node to cluster") {
  auto z = finding("x", engine::Severity::kHigh, {"Node", "", "n1"}, "", "zone-b");
  CHECK(baseAlertLabels(z, "c").at("failure_domain") == "zone-b");
  CHECK(baseAlertLabels(z, "c").at("node") == "n1");  // a Node subject names the node
  auto c = finding("cluster.single-zone", engine::Severity::kHigh, {"Cluster", "", ""});
  auto l = baseAlertLabels(c, "c");
  CHECK(l.at("failure_domain") == "cluster");
  CHECK_FALSE(l.contains("node"));
  CHECK_FALSE(l.contains("namespace"));
  auto d = finding("workload.replicas-on-one-node", engine::Severity::kCritical,
                   {"Deployment", "shop", "cart"});
  d.details["node"] = "worker-a1";
  CHECK(baseAlertLabels(d, "c").at("failure_domain") == "worker-a1");
}

TEST_CASE("bad rules are start-up errors naming the line") {
  struct Case {
    const char* yaml;
    const char* error;
  };
  for (auto [yaml, error] : {
           Case{"rules:\n  - alertname: A\n    mach: {}\n",
                "test.yaml:3: rules[0]: unknown key `mach`"},
           Case{"rules:\n  - alertname: A\n    match: {minSeverity: hgh}\n",
                "test.yaml:3: rules[0].match.minSeverity: unknown severity `hgh`"},
           Case{"rules:\n  - match: {checks: x}\n",
                "test.yaml:2: rules[0]: `alertname` is required"},
           Case{"rules:\n  - alertname: A\n    labels: {node: x}\n",
                "test.yaml:3: rules[0].labels: `node` is set by Rampart"},
           Case{"rules:\n  - alertname: A\n    labels: {bad-name: x}\n", "not a valid label name"},
           Case{"rules:\n  - alertname: A\n\n    annotations: {summary: \"{{ .nope }}\"}\n",
                "test.yaml:4: rules[0].annotations.summary: template: unknown field `.nope`"},
           Case{"rules: [\n", "test.yaml:2: invalid YAML"},
           Case{"rules: {a: 1}\n", "`rules` must be a list"},
           Case{"rule: []\n", "unknown key `rule`"},
       }) {
    auto msg = parseError(yaml);
    CHECK_MESSAGE(msg.find(error) != std::string::npos, msg);
  }
  CHECK(rules("").rules.empty());
  CHECK(rules("rules: []").rules.empty());
}

TEST_CASE("backoff doubles from the initial delay up to the maximum") {
  using ms = std::chrono::milliseconds;
  CHECK(backoffDelay(0, ms(500), ms(30000)) == ms(0));
  CHECK(backoffDelay(1, ms(500), ms(30000)) == ms(500));
  CHECK(backoffDelay(2, ms(500), ms(30000)) == ms(1000));
  CHECK(backoffDelay(5, ms(500), ms(30000)) == ms(8000));
  CHECK(backoffDelay(7, ms(500), ms(30000)) == ms(30000));
  CHECK(backoffDelay(1000, ms(500), ms(30000)) == ms(30000));
}

TEST_CASE("book: fire, deliver to every Alertmanager, resend, resolve, forget") {
  AlertBook book(bookOptions(), 2);
  auto d = desired("n1");
  auto changed = book.apply({d}, false, 1000);
  CHECK(changed == std::set<std::string>{d.fingerprint});
  CHECK(book.firing() == 1);
  CHECK(book.queueLength(0) == 1);
  CHECK(book.queueLength(1) == 1);

  auto batches = book.takeDue(1010);
  REQUIRE(batches.size() == 2);
  CHECK(batches[0].alerts[0].starts_at_ms == 1000);
  CHECK(batches[0].alerts[0].ends_at_ms == 1010 + 4 * 60000);  // now + 4 x resend
  CHECK(book.takeDue(1020).empty());                           // in flight
  book.finish(batches[0], SendOutcome::kDelivered, 1030);
  book.finish(batches[1], SendOutcome::kDelivered, 1040);
  CHECK(book.queueLength(0) == 0);
  CHECK(book.find(d.fingerprint)->last_sent_ms == 1040);

  // Still desired: nothing new is queued, startsAt is kept.
  CHECK(book.apply({d}, false, 2000).empty());
  CHECK(book.takeDue(2000).empty());
  CHECK(book.nextDueMs() == 1000 + 60000);
  CHECK(book.resendDue(60999).empty());
  CHECK(book.resendDue(61000).size() == 1);
  batches = book.takeDue(61000);
  REQUIRE(batches.size() == 2);
  CHECK(batches[0].alerts[0].starts_at_ms == 1000);
  CHECK(batches[0].alerts[0].ends_at_ms == 61000 + 240000);
  for (auto& b : batches) book.finish(b, SendOutcome::kDelivered, 61001);

  // A partial report resolves nothing; a complete one without it does.
  CHECK(book.apply({}, true, 62000).empty());
  CHECK(book.firing() == 1);
  CHECK(book.apply({}, false, 63000).size() == 1);
  CHECK(book.firing() == 0);
  batches = book.takeDue(63000);
  REQUIRE(batches.size() == 2);
  CHECK(batches[0].alerts[0].ends_at_ms == 63000);  // resolved: endsAt = resolution time
  book.finish(batches[0], SendOutcome::kDelivered, 63001);
  CHECK_FALSE(book.done(d.fingerprint));  // still owed to the second
  CHECK(book.pending(d.fingerprint) == std::vector<size_t>{1});
  book.finish(batches[1], SendOutcome::kDelivered, 63002);
  CHECK(book.done(d.fingerprint));
  book.forget(d.fingerprint);
  CHECK(book.find(d.fingerprint) == nullptr);
  CHECK(book.nextDueMs() == INT64_MAX);

  // Firing again later is a new alert with a new startsAt.
  book.apply({d}, false, 70000);
  CHECK(book.find(d.fingerprint)->starts_at_ms == 70000);
}

TEST_CASE("book: an unreachable Alertmanager is retried with backoff; the other is not held up") {
  AlertBook book(bookOptions(), 2);
  auto d = desired("n1");
  book.apply({d}, false, 0);
  auto batches = book.takeDue(0);
  REQUIRE(batches.size() == 2);
  book.finish(batches[0], SendOutcome::kDelivered, 5);
  int64_t now = 10;
  book.finish(batches[1], SendOutcome::kRetry, now);
  std::vector<int64_t> waits;
  for (int i = 0; i < 5; ++i) {
    int64_t due = book.nextDueMs();
    CHECK(book.takeDue(due - 1).empty());
    auto again = book.takeDue(due);
    REQUIRE(again.size() == 1);
    CHECK(again[0].alertmanager == 1);
    waits.push_back(due - now);
    now = due;
    book.finish(again[0], SendOutcome::kRetry, now);
  }
  CHECK(waits == std::vector<int64_t>{500, 1000, 2000, 4000, 4000});
  CHECK(book.queueLength(1) == 1);
  CHECK(book.failures(1) == 6);
  auto last = book.takeDue(book.nextDueMs());
  book.finish(last[0], SendOutcome::kDelivered, now + 4000);
  CHECK(book.failures(1) == 0);
  CHECK(book.queueLength(1) == 0);
  CHECK(book.dropped() == 0);
}

TEST_CASE("book: the newest state per fingerprint wins, also while a POST is in flight") {
  AlertBook book(bookOptions(), 1);
  auto d = desired("n1");
  book.apply({d}, false, 0);
  auto firing = book.takeDue(0);
  REQUIRE(firing.size() == 1);
  book.apply({}, false, 100);  // resolved while the firing POST is in flight
  book.finish(firing[0], SendOutcome::kDelivered, 150);
  CHECK(book.queueLength(0) == 1);  // the resolution is still owed
  auto res = book.takeDue(150);
  REQUIRE(res.size() == 1);
  CHECK(res[0].alerts[0].ends_at_ms == 100);

  // While unreachable, fire -> resolve -> fire leaves one entry: the newest state.
  AlertBook down(bookOptions(), 1);
  down.apply({d}, false, 0);
  auto b = down.takeDue(0);
  down.finish(b[0], SendOutcome::kRetry, 1);
  down.apply({}, false, 2);
  down.apply({d}, false, 3);
  CHECK(down.queueLength(0) == 1);
  b = down.takeDue(down.nextDueMs());
  REQUIRE(b.size() == 1);
  REQUIRE(b[0].alerts.size() == 1);
  CHECK(b[0].alerts[0].starts_at_ms == 3);
}

TEST_CASE("book: a full queue drops its oldest firing entry and counts it") {
  auto o = bookOptions();
  o.max_queue = 2;
  AlertBook book(o, 1);
  auto a = desired("a"), b = desired("b"), c = desired("c");
  book.apply({a, b}, false, 0);
  auto batch = book.takeDue(0);
  book.finish(batch[0], SendOutcome::kRetry, 0);  // unreachable: a, b stay queued
  book.apply({a, b, c}, false, 10);               // c does not fit
  CHECK(book.queueLength(0) == 2);
  CHECK(book.dropped() == 1);
  auto p = [&](const DesiredAlert& x) { return book.pending(x.fingerprint).size(); };
  CHECK(p(c) == 1);
  CHECK(p(a) + p(b) == 1);  // the older of the two went (it is re-sent with the next resend)
  // Resolutions are kept over firing entries: resolve everything.
  book.apply({}, false, 20);
  CHECK(book.queueLength(0) == 2);
  CHECK(book.dropped() == 2);  // the resolution not queued before did not fit
  CHECK(p(c) == 1);
}

TEST_CASE("book: a 4xx answer drops the batch and counts it") {
  AlertBook book(bookOptions(), 1);
  book.apply({desired("a"), desired("b")}, false, 0);
  auto batch = book.takeDue(0);
  REQUIRE(batch[0].alerts.size() == 2);
  book.finish(batch[0], SendOutcome::kRejected, 1);
  CHECK(book.queueLength(0) == 0);
  CHECK(book.dropped() == 2);
  CHECK(book.firing() == 2);  // still firing: the next resend tries again
}

TEST_CASE("book: a restored alert keeps its startsAt and its owed deliveries") {
  AlertBook book(bookOptions(), 2);
  auto d = desired("n1");
  AlertState s;
  s.fingerprint = d.fingerprint;
  s.labels = d.labels;
  s.starts_at_ms = 500;
  s.last_sent_ms = 900;
  s.last_queued_ms = 900;
  book.restore(s, {});
  AlertState r;
  auto gone = desired("gone");
  r.fingerprint = gone.fingerprint;
  r.labels = gone.labels;
  r.starts_at_ms = 100;
  r.ends_at_ms = 800;
  book.restore(r, {1});
  CHECK(book.apply({d}, false, 1000).empty());  // not new
  CHECK(book.find(d.fingerprint)->starts_at_ms == 500);
  auto batches = book.takeDue(1000);
  REQUIRE(batches.size() == 1);
  CHECK(batches[0].alertmanager == 1);
  CHECK(batches[0].alerts[0].ends_at_ms == 800);
  CHECK(book.nextDueMs() == 900 + 60000);
}

TEST_CASE("the POST body, timestamps and Alertmanager URLs") {
  CHECK(formatRfc3339Millis(0) == "1970-01-01T00:00:00.000Z");
  CHECK(formatRfc3339Millis(1767322805678) == "2026-01-02T03:00:05.678Z");
  AlertPayload p{{{"alertname", "A"}, {"check", "pod.not-ready"}, {"namespace", "a b"}},
                 {{"summary", "s\n\"q\""}},
                 1000,
                 2000};
  auto body = json::parse(alertsJson({p}, "http://agg:7401/"));
  REQUIRE(body.is_array());
  REQUIRE(body.size() == 1);
  CHECK(body[0]["labels"]["alertname"] == "A");
  CHECK(body[0]["annotations"]["summary"] == "s\n\"q\"");
  CHECK(body[0]["startsAt"] == "1970-01-01T00:00:01.000Z");
  CHECK(body[0]["endsAt"] == "1970-01-01T00:00:02.000Z");
  CHECK(body[0]["generatorURL"] ==
        "http://agg:7401/api/v1/findings?check=pod.not-ready&namespace=a%20b");
  CHECK(*alertmanagerEndpoint("http://am:9093") == "http://am:9093/api/v2/alerts");
  CHECK(*alertmanagerEndpoint("https://am/prefix/") == "https://am/prefix/api/v2/alerts");
  CHECK(*alertmanagerEndpoint("http://am:9093/api/v2/alerts") == "http://am:9093/api/v2/alerts");
  CHECK_FALSE(alertmanagerEndpoint("am:9093").has_value());
  CHECK_FALSE(alertmanagerEndpoint("http:///x").has_value());
  CHECK(redactUrl("https://user:secret@am:9093/x") == "https://am:9093/x");
  CHECK(redactUrl("http://am:9093") == "http://am:9093");
}

namespace {

// An in-process Alertmanager stand-in: answers the first `failures` POSTs
// with 503, then 200, and keeps what it accepted.
struct FakeAlertmanager {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::mutex mu;
  int failures = 0;
  int posts = 0;
  std::vector<json> accepted;

  explicit FakeAlertmanager(int fail_first) : failures(fail_first) {
    server.Post("/api/v2/alerts", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu);
      ++posts;
      if (failures > 0) {
        --failures;
        res.status = 503;
        return;
      }
      for (auto& a : json::parse(req.body)) accepted.push_back(a);
      res.status = 200;
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    testing::waitUntil([this] { return server.is_running(); }, std::chrono::seconds(5));
  }
  ~FakeAlertmanager() {
    server.stop();
    thread.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  size_t count() {
    std::lock_guard lock(mu);
    return accepted.size();
  }
  json last() {
    std::lock_guard lock(mu);
    return accepted.empty() ? json() : accepted.back();
  }
};

std::string metricsText(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

}  // namespace

TEST_CASE("sender: retried after 503s, persisted, and a restart keeps startsAt") {
  using namespace std::chrono_literals;
  testing::TempDir dir;
  CurlGlobal curl;
  FakeAlertmanager am(2);
  auto report = std::make_shared<engine::Report>();
  report->findings.push_back(
      finding("node.not-ready", engine::Severity::kHigh, {"Node", "", "n1"}, "n1", "zone-a"));
  auto make = [&](std::chrono::milliseconds resend, prometheus::Registry& registry) {
    AlertSenderOptions o;
    o.alertmanagers = {am.url()};
    o.db_path = dir / "r.db";
    o.cluster = "t";
    o.external_url = "http://agg:1";
    o.book.resend = resend;
    o.book.backoff_initial = 50ms;
    auto s = AlertSender::create(o, *loadAlertRules(""), registry, nullLogger());
    REQUIRE_MESSAGE(s.has_value(), (s ? "" : s.error().message));
    return std::move(*s);
  };
  std::string starts_at;
  {
    prometheus::Registry registry;
    auto sender = make(60s, registry);
    sender->start();
    sender->update(report, unixMillisNow());
    REQUIRE(testing::waitUntil([&] { return am.count() == 1; }, 5s));
    json a = am.last();
    CHECK(a["labels"]["alertname"] == "RampartNodeNotReady");
    CHECK(a["labels"]["cluster"] == "t");
    CHECK(a["generatorURL"] == "http://agg:1/api/v1/findings?check=node.not-ready");
    starts_at = a["startsAt"];
    {
      std::lock_guard lock(am.mu);
      CHECK(am.posts == 3);  // two 503s, then delivered
    }
    sender->stop();
  }
  {
    // Restarted with a short resend: the alert is not sent as new; when it is
    // re-sent it carries the first startsAt.
    prometheus::Registry registry;
    auto sender = make(300ms, registry);
    sender->start();
    sender->update(report, unixMillisNow());
    REQUIRE(testing::waitUntil([&] { return am.count() >= 2; }, 5s));
    CHECK(am.last()["startsAt"] == starts_at);
    // Resolved: delivered once with endsAt in the past or now.
    auto empty = std::make_shared<engine::Report>();
    const int64_t resolved_at = unixMillisNow();
    sender->update(empty, resolved_at);
    REQUIRE(testing::waitUntil(
        [&] {
          json l = am.last();
          return l.is_object() && l["endsAt"] == formatRfc3339Millis(resolved_at);
        },
        5s));
    CHECK(am.last()["startsAt"] == starts_at);
    REQUIRE(testing::waitUntil(
        [&] {
          auto text = metricsText(registry);
          return text.find("rampart_alerts_firing{cluster=\"t\"} 0") != std::string::npos &&
                 text.find("rampart_alert_queue_length{cluster=\"t\",alertmanager=\"" + am.url() +
                           "\"} 0") != std::string::npos;
        },
        5s));
    sender->stop();
  }
  auto store = Store::open(dir / "r.db");
  REQUIRE(store.has_value());
  auto s = (*store)->prepare("SELECT state, ends_at_ms, detail FROM alerts");
  REQUIRE(s.has_value());
  REQUIRE(*s->step());
  CHECK(s->text(0) == "resolved");
  CHECK(s->integer(1) > 0);
  CHECK(s->text(2) == R"({"pending":[]})");
}

TEST_CASE("sender: a resolution still owed at shutdown is delivered after a restart") {
  using namespace std::chrono_literals;
  testing::TempDir dir;
  CurlGlobal curl;
  FakeAlertmanager am(1000000);  // answers 503 until told otherwise
  auto make = [&](prometheus::Registry& registry) {
    AlertSenderOptions o;
    o.alertmanagers = {am.url()};
    o.db_path = dir / "r.db";
    o.cluster = "t";
    o.external_url = "http://agg:1/";
    o.book.backoff_initial = 20ms;
    o.book.backoff_max = 100ms;
    auto s = AlertSender::create(o, *loadAlertRules(""), registry, nullLogger());
    REQUIRE_MESSAGE(s.has_value(), (s ? "" : s.error().message));
    return std::move(*s);
  };
  auto report = std::make_shared<engine::Report>();
  report->findings.push_back(
      finding("node.down", engine::Severity::kCritical, {"Node", "", "n9"}, "n9"));
  const int64_t fired_at = unixMillisNow();
  const int64_t resolved_at = fired_at + 5;
  {
    prometheus::Registry registry;
    auto sender = make(registry);
    sender->start();
    sender->update(report, fired_at);
    REQUIRE(testing::waitUntil(
        [&] {
          std::lock_guard lock(am.mu);
          return am.posts >= 2;
        },
        5s));
    sender->update(std::make_shared<engine::Report>(), resolved_at);
    REQUIRE(testing::waitUntil(
        [&] {
          auto text = metricsText(registry);
          return text.find("rampart_alerts_firing{cluster=\"t\"} 0") != std::string::npos &&
                 text.find("rampart_alert_queue_length{cluster=\"t\",alertmanager=\"" + am.url() +
                           "\"} 1") != std::string::npos;
        },
        5s));
    sender->stop();
  }
  CHECK(am.count() == 0);
  {
    auto store = Store::open(dir / "r.db");
    REQUIRE(store.has_value());
    auto s = (*store)->prepare("SELECT state, detail, last_sent_ms FROM alerts");
    REQUIRE(s.has_value());
    REQUIRE(*s->step());
    CHECK(s->text(0) == "resolved");
    CHECK(s->text(1) == json{{"pending", {am.url()}}}.dump());
    CHECK(s->integer(2) == 0);
  }
  {
    std::lock_guard lock(am.mu);
    am.failures = 0;
  }
  prometheus::Registry registry;
  auto sender = make(registry);
  sender->start();
  REQUIRE(testing::waitUntil([&] { return am.count() == 1; }, 5s));
  json a = am.last();
  CHECK(a["labels"]["alertname"] == "RampartNodeDown");
  CHECK(a["startsAt"] == formatRfc3339Millis(fired_at));
  CHECK(a["endsAt"] == formatRfc3339Millis(resolved_at));
  sender->stop();
}
