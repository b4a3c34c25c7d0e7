// The Grafana dashboard (manifests/grafana/) against real data: a real
// Prometheus (/usr/bin/prometheus, Debian prometheus) scrapes a running
// aggregator every second; the aggregator watches kubesim serving the demo
// scenario (tools/kubesim/scenarios/demo.yaml, one agent per node, as
// tools/demo/run), probes a real one-member etcd, kubesim's /readyz and an etcd
// snapshot directory, sends alerts to a real Alertmanager and runs a trivial
// hook on the demo's first fault. Then every panel's query of the dashboard JSON, with the template
// variables substituted, must return data through Prometheus's HTTP API, every
// metric a panel names must exist, every metric of the contract
// (docs/metrics.md) must be scraped, and every series must carry the cluster
// label. Also: kubectl kustomize renders the dashboard's ConfigMap for the
// Grafana sidecar.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "alertmanager_process.h"
#include "sim_cluster.h"
#include "test_paths.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::testing;
using nlohmann::json;

namespace {

constexpr const char* kPrometheus = "/usr/bin/prometheus";
constexpr const char* kEtcd = "/usr/bin/etcd";
const std::string kDashboard =
    std::string(rampart::testing::kSourceDir) + "/manifests/grafana/rampart-dashboard.json";

std::string loopback(int port) {
  return "http://127.0.0.1:" + std::to_string(port);
}

std::string urlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

void replaceAll(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

// One query of a panel.
struct PanelQuery {
  std::string panel;
  std::string ref;
  std::string expr;
};

// Every target of every panel, rows' collapsed panels included.
void collect(const json& panels, std::vector<PanelQuery>& out) {
  for (const auto& p : panels) {
    if (p.contains("panels")) collect(p["panels"], out);
    if (!p.contains("targets")) continue;
    for (const auto& t : p["targets"]) {
      out.push_back({p.value("title", "?"), t.value("refId", "?"), t.value("expr", "")});
    }
  }
}

// The variables as Grafana substitutes them for a Prometheus data source.
std::string substitute(std::string expr, const std::string& cluster,
                       const std::string& namespace_regex) {
  replaceAll(expr, "$__rate_interval", "1m");
  replaceAll(expr, "$__interval", "5s");
  replaceAll(expr, "$__range", "1h");
  replaceAll(expr, "${cluster}", cluster);
  replaceAll(expr, "$cluster", cluster);
  replaceAll(expr, "${namespace}", namespace_regex);
  replaceAll(expr, "$namespace", namespace_regex);
  return expr;
}

// Every rampart_* metric name an expression mentions.
std::set<std::string> metricNames(const std::string& expr) {
  static const std::regex kName(R"(\brampart_[a-z0-9_]+)");
  std::set<std::string> out;
  for (std::sregex_iterator it(expr.begin(), expr.end(), kName), end; it != end; ++it)
    out.insert(it->str());
  return out;
}

// The contract's metric names and types from docs/metrics.md's tables.
std::map<std::string, std::string> contractMetrics() {
  std::ifstream in(std::string(rampart::testing::kSourceDir) + "/docs/metrics.md");
  static const std::regex kRow(R"(^\| `(rampart_[a-z0-9_]+)` \| (gauge|counter|histogram) \|)");
  std::map<std::string, std::string> out;
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, kRow)) out[m[1]] = m[2];
  }
  return out;
}

struct Prometheus {
  std::string url;
  std::unique_ptr<Process> process;

  Prometheus(const TempDir& dir, const std::string& target) {
    const int port = freeLoopbackPort();
    url = loopback(port);
    std::filesystem::create_directories(dir / "prom-data");
    std::ofstream(dir / "prometheus.yml")
        << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
           "scrape_configs:\n  - job_name: rampart\n    static_configs:\n"
           "      - targets: ['"
        << target << "']\n";
    process = std::make_unique<Process>(
        std::vector<std::string>{kPrometheus, "--config.file", (dir / "prometheus.yml").string(),
                                 "--storage.tsdb.path", (dir / "prom-data").string(),
                                 "--web.listen-address", "127.0.0.1:" + std::to_string(port)},
        dir / "prometheus.log");
    REQUIRE_MESSAGE(waitUntil([&] { return httpGet(url + "/-/ready", 1s).status == 200; }, 20s),
                    process->log());
  }

  // The `data` of a successful answer; null otherwise (`error` says why).
  json get(const std::string& path, std::string* error = nullptr) const {
    auto r = httpGet(url + path, 5s);
    auto j = json::parse(r.body, nullptr, false);
    if (r.status != 200 || !j.is_object() || j.value("status", "") != "success") {
      if (error) *error = "HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 300);
      return json();
    }
    return j["data"];
  }

  // An instant query's result vector/matrix (null on error).
  json query(const std::string& promql, std::string* error = nullptr) const {
    json data = get("/api/v1/query?query=" + urlEncode(promql), error);
    if (data.is_null()) return data;
    return data["result"];
  }

  std::set<std::string> labelValues(const std::string& label, const std::string& match = "") {
    std::set<std::string> out;
    json data = get("/api/v1/label/" + label + "/values" +
                    (match.empty() ? "" : "?match[]=" + urlEncode(match)));
    if (data.is_array())
      for (const auto& v : data) out.insert(v.get<std::string>());
    return out;
  }
};

}  // namespace

TEST_CASE("kubectl kustomize renders the dashboard's ConfigMap for the Grafana sidecar") {
  auto r = runCommand(
      {"kubectl", "kustomize", std::string(rampart::testing::kSourceDir) + "/manifests/grafana"},
      60s);
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  const std::string& y = r.output;
  CHECK(y.find("kind: ConfigMap") != std::string::npos);
  CHECK(y.find("name: rampart-grafana-dashboard\n") != std::string::npos);  // no hash suffix
  CHECK(y.find("grafana_dashboard: \"1\"") != std::string::npos);
  CHECK(y.find("rampart-dashboard.json: |") != std::string::npos);
  CHECK(y.find("\"uid\": \"rampart-overview\"") != std::string::npos);
}

TEST_CASE("every panel of the Grafana dashboard returns data from Prometheus on the demo") {
  const json dashboard = json::parse(readFile(kDashboard), nullptr, false);
  REQUIRE(dashboard.is_object());
  CHECK(dashboard.value("schemaVersion", 0) >= 36);
  std::vector<PanelQuery> queries;
  collect(dashboard["panels"], queries);
  REQUIRE(queries.size() > 30);

  // Static shape: every panel and query uses the ${datasource} variable, and
  // every rampart_ selector is scoped to $cluster.
  std::set<std::string> variables;
  for (const auto& v : dashboard["templating"]["list"]) variables.insert(v["name"]);
  CHECK(variables == std::set<std::string>{"datasource", "cluster", "namespace"});
  std::function<void(const json&)> datasources = [&](const json& panels) {
    for (const auto& p : panels) {
      if (p.contains("panels")) datasources(p["panels"]);
      if (p.value("type", "") == "row") continue;
      CHECK_MESSAGE(p["datasource"]["uid"] == "${datasource}", p["title"]);
      for (const auto& t : p["targets"])
        CHECK_MESSAGE(t["datasource"]["uid"] == "${datasource}", p["title"]);
    }
  };
  datasources(dashboard["panels"]);
  for (const auto& q : queries) {
    CHECK_MESSAGE(!metricNames(q.expr).empty(), q.panel << " [" << q.ref << "]: no metric");
    size_t selectors = 0, scoped = 0;
    for (size_t at = q.expr.find("rampart_"); at != std::string::npos;
         at = q.expr.find("rampart_", at + 1)) {
      ++selectors;
      size_t brace = q.expr.find_first_of("{[() ", at);
      if (brace != std::string::npos &&
          std::string_view(q.expr).substr(brace).starts_with("{cluster=\"$cluster\""))
        ++scoped;
    }
    CHECK_MESSAGE(selectors == scoped, q.panel << " [" << q.ref << "]: " << q.expr);
  }

  TempDir work;
  // A real one-member etcd.
  const std::string etcd_client = loopback(freeLoopbackPort()),
                    etcd_peer = loopback(freeLoopbackPort());
  Process etcd({kEtcd, "--name", "m1", "--data-dir", (work / "etcd").string(),
                "--listen-client-urls", etcd_client, "--advertise-client-urls", etcd_client,
                "--listen-peer-urls", etcd_peer, "--initial-advertise-peer-urls", etcd_peer,
                "--initial-cluster", "m1=" + etcd_peer, "--initial-cluster-state", "new"},
               work / "etcd.log");
  // A real Alertmanager that keeps what it gets.
  const int am_port = freeLoopbackPort();
  auto alertmanager = startAlertmanager(work.path(), am_port,
                                        "route:\n  receiver: blackhole\n"
                                        "receivers:\n  - name: blackhole\n");
  // An etcd snapshot saved a minute ago.
  std::filesystem::create_directories(work / "snapshots");
  std::ofstream(work / "snapshots" / "etcd-1.db") << "snapshot";
  // A hook for not-ready pods (the demo's first fault) that does nothing.
  std::ofstream(work / "hooks.yaml") << "hooks:\n  - name: note-not-ready\n"
                                        "    match:\n      checks: [pod.not-ready]\n"
                                        "    command: [/bin/true]\n    max_runs_per_hour: 100\n";
  REQUIRE_MESSAGE(
      waitUntil([&] { return httpGet(etcd_client + "/health", 1s).status == 200; }, 20s),
      etcd.log());

  SimClusterOptions o;
  o.scenario = "demo.yaml";
  // As the demo (--epoch now), with Leases renewed every second: watch events
  // for the "API server watch events" panel early.
  o.kubesim_args = {"--epoch", "now", "--lease-renew-ms", "1000"};
  o.cluster = "demo";
  SimCluster sim(o);
  // --apiserver-endpoint needs kubesim's URL, known once it runs: the
  // aggregator the fixture started (plain, no agents yet) is replaced by the
  // one under test, with every subsystem the dashboard shows.
  sim.aggregator->signal(SIGTERM);
  REQUIRE(sim.aggregator->wait(10s).has_value());
  sim.options.aggregator_args = {"--etcd-endpoint",
                                 etcd_client,
                                 "--etcd-snapshot-dir",
                                 (work / "snapshots").string(),
                                 "--apiserver-endpoint",
                                 sim.api,
                                 "--alertmanager",
                                 loopback(am_port),
                                 "--alert-resend-seconds",
                                 "5",
                                 "--hooks",
                                 (work / "hooks.yaml").string(),
                                 "--metrics-max-workloads",
                                 "10"};
  sim.startAggregator("tcp://127.0.0.1:0", "2");
  auto nodes = sim.get(sim.api + "/api/v1/nodes");
  REQUIRE(nodes.is_object());
  for (const auto& n : nodes["items"]) sim.startAgent(n["metadata"]["name"]);
  const size_t node_count = nodes["items"].size();
  REQUIRE(node_count == 7);

  Prometheus prom(work, sim.http.substr(std::string("http://").size()));
  INFO("aggregator: " << sim.http << ", prometheus: " << prom.url);

  // Scraped, every agent connected, every API kind listed.
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        auto r = prom.query("rampart_agents_connected{cluster=\"demo\"} == " +
                                            std::to_string(node_count) +
                                            " and on() rampart_api_synced{cluster=\"demo\"} == 1");
                        return r.is_array() && !r.empty();
                      },
                      30s),
                  (sim.logs() + "\n--- prometheus\n" + prom.process->log()));

  // The demo's first fault (tools/demo/run): a container of the
  // single-replica shop/payments stops being ready. pod.not-ready runs the
  // hook and is alerted on, after Prometheus's first scrape: the hook and
  // alert counters move within its range (the "in the time range" panel).
  std::string payments;
  const json pods = sim.get(sim.api + "/api/v1/pods");
  REQUIRE(pods.is_object());
  for (const auto& p : pods["items"]) {
    std::string name = p["metadata"]["name"];
    if (p["metadata"]["namespace"] == "shop" && name.starts_with("payments-")) payments = name;
  }
  REQUIRE_FALSE(payments.empty());
  REQUIRE(sim.fault({{"type", "container-not-ready"}, {"pod", "shop/" + payments}}).is_object());
  auto holds = [&](const std::string& promql) {
    return waitUntil(
        [&] {
          auto r = prom.query(promql);
          return r.is_array() && !r.empty();
        },
        20s);
  };
  CHECK(holds("increase(rampart_hook_runs_total{cluster=\"demo\",result=\"success\"}[1h]) > 0"));
  CHECK(holds("increase(rampart_alerts_sent_total{cluster=\"demo\"}[1h]) > 0"));

  // Every metric of the contract is exported (histograms as _bucket), but
  // for those the contract says appear with their first event and that the
  // demo does not cause.
  const std::set<std::string> event_only = {
      "rampart_agent_placement_findings",  // no agent reports a placement finding in the demo
  };
  const auto contract = contractMetrics();
  REQUIRE(contract.size() > 40);
  std::set<std::string> missing;
  waitUntil(
      [&] {
        auto names = prom.labelValues("__name__");
        missing.clear();
        for (const auto& [name, type] : contract) {
          if (event_only.contains(name)) continue;
          if (!names.contains(type == "histogram" ? name + "_bucket" : name)) missing.insert(name);
        }
        return missing.empty();
      },
      20s);
  for (const auto& name : missing) FAIL_CHECK("contract metric not scraped: " << name);

  // Every rampart_ series carries cluster="demo".
  auto all = prom.query("count({__name__=~\"rampart_.+\"})");
  REQUIRE(all.is_array());
  REQUIRE_FALSE(all.empty());
  auto unlabelled = prom.query("{__name__=~\"rampart_.+\", cluster!=\"demo\"}");
  REQUIRE(unlabelled.is_array());
  CHECK_MESSAGE(unlabelled.empty(), unlabelled.dump().substr(0, 1000));

  // The template variables' queries.
  CHECK(prom.labelValues("cluster", "rampart_cluster_score") == std::set<std::string>{"demo"});
  auto namespaces = prom.labelValues("namespace", "rampart_namespace_score{cluster=\"demo\"}");
  CHECK(namespaces.contains("shop"));

  // Every panel query, for the namespace variable's "All" (.*) and for one
  // namespace: data, and every metric it names exists.
  std::vector<std::string> failures;
  auto check_all = [&] {
    failures.clear();
    auto names = prom.labelValues("__name__");
    for (const auto& q : queries) {
      for (const auto& name : metricNames(q.expr)) {
        if (!names.contains(name))
          failures.push_back(q.panel + " [" + q.ref + "]: no metric " + name);
      }
      for (const std::string ns : {".*", "shop"}) {
        const std::string promql = substitute(q.expr, "demo", ns);
        std::string error;
        json result = prom.query(promql, &error);
        if (result.is_null()) {
          std::string failure = q.panel + " [" + q.ref + "] error: ";
          failure += error;
          failure += " in ";
          failure += promql;
          failures.push_back(std::move(failure));
        } else if (result.empty()) {
          failures.push_back(q.panel + " [" + q.ref + "] no data: " + promql);
        }
      }
    }
    return failures.empty();
  };
  // One pass runs 60+ queries: room for several passes on a loaded machine.
  const bool ok = waitUntil(check_all, 90s);
  for (const auto& f : failures) FAIL_CHECK(f);
  CHECK(ok);

  // A sample of the values behind the panels: the demo's facts. Waited for:
  // a probe or an agent slowed by a loaded machine shows in one scrape.
  auto value_is = [&](const std::string& promql, const std::function<bool(double)>& want) {
    json r;
    bool ok = waitUntil(
        [&] {
          r = prom.query(promql);
          return r.is_array() && r.size() == 1 &&
                 want(std::stod(r[0]["value"][1].get<std::string>()));
        },
        30s);
    CHECK_MESSAGE(ok, promql << " -> " << r.dump());
  };
  auto eq = [](double x) { return [x](double v) { return v == x; }; };
  auto at_least = [](double x) { return [x](double v) { return v >= x; }; };
  const double node_total = static_cast<double>(node_count);
  value_is("rampart_survives_zone_loss{cluster=\"demo\"}", eq(0));
  value_is("rampart_zone_loss_workloads_at_risk{cluster=\"demo\",zone=\"eu-west-1a\"}",
           at_least(1));
  value_is("rampart_node_loss_workloads_at_risk{cluster=\"demo\",node=\"worker-a1\"}", at_least(1));
  value_is("count(rampart_workload_score{cluster=\"demo\"})", eq(10));
  value_is("rampart_workload_series_dropped{cluster=\"demo\"}", at_least(1));
  value_is("sum(rampart_node_ready{cluster=\"demo\"})", eq(node_total));
  value_is("sum(rampart_node_agent_connected{cluster=\"demo\"})", eq(node_total));
  value_is("rampart_etcd_has_leader{cluster=\"demo\"}", eq(1));
  value_is("rampart_apiserver_instances{cluster=\"demo\",state=\"healthy\"}", eq(1));
  value_is("sum(rampart_hook_runs_total{cluster=\"demo\",result=\"success\"})", at_least(1));

  // The demo's node failure (tools/demo/run): worker-a1's agent killed, the
  // node NotReady in the API. The node gauges follow; its alert reaches the
  // real Alertmanager.
  sim.agents.at("worker-a1")->signal(SIGKILL);
  REQUIRE(sim.agents.at("worker-a1")->wait(5s).has_value());
  REQUIRE(sim.fault({{"type", "node-down"}, {"node", "worker-a1"}}).is_object());
  CHECK(holds("rampart_node_ready{cluster=\"demo\",node=\"worker-a1\"} == 0"));
  CHECK(holds("rampart_node_agent_connected{cluster=\"demo\",node=\"worker-a1\"} == 0"));
  CHECK(holds("rampart_agents_connected{cluster=\"demo\"} == " + std::to_string(node_count - 1)));
  CHECK(holds("rampart_findings{cluster=\"demo\",check=~\"node\\\\.(down|not-ready)\"} > 0"));
  CHECK(holds("sum(1 - rampart_node_ready{cluster=\"demo\"}) == 1"));  // "Agents connected"
}
