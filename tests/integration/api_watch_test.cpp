// The aggregator keeps the API objects current by watching them: kubesim
// (demo scenario) as the API server, the aggregator with a relist period of an
// hour, so only watch events can explain a change seen within the test. A
// Deployment scaled, a PDB deleted with the real kubectl and a Service added
// show up in /api/v1/audit; a watch that expires (kubesim keeps a short
// history) is followed by a relist that recovers.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rampart/curve.h"
#include "test_paths.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::testing;
using nlohmann::json;

namespace {

constexpr const char* kKubectl = "/usr/bin/kubectl";

struct Watched {
  TempDir dir;
  std::unique_ptr<Process> kubesim, aggregator;
  std::string url, http;

  explicit Watched(const std::string& history) {
    auto keys = *generateCurveKeyPair();
    REQUIRE(writeKeyFile(dir / "aggregator.key", keys, true).has_value());
    REQUIRE(writeKeyFile(dir / "agent.pub", keys, false).has_value());
    kubesim = std::make_unique<Process>(
        std::vector<std::string>{
            rampart::testing::kKubesimBin, "serve", "--scenario",
            std::string(rampart::testing::kSourceDir) + "/tools/kubesim/scenarios/demo.yaml",
            "--listen", "127.0.0.1:0", "--history", history, "--bookmark-ms", "500", "--ready-file",
            (dir / "kubesim.ready").string()},
        dir / "kubesim.log");
    auto ks = readReadyFile(dir / "kubesim.ready", "url", 20s);
    REQUIRE_MESSAGE(ks.has_value(), kubesim->log());
    url = ks->at("url");
    std::ofstream(dir / "kubeconfig")
        << "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: " << url
        << "\nusers:\n- name: sim\n  user:\n    token: test-token\ncontexts:\n- name: sim\n"
           "  context:\n    cluster: sim\n    user: sim\ncurrent-context: sim\n";
    aggregator =
        std::make_unique<Process>(std::vector<std::string>{rampart::testing::kAggregatorBin,
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
                                                           "--api-resync-seconds",
                                                           "3600",
                                                           "--engine-interval-ms",
                                                           "100",
                                                           "--ready-file",
                                                           (dir / "aggregator.ready").string()},
                                  dir / "aggregator.log");
    auto ag = readReadyFile(dir / "aggregator.ready", "http", 20s);
    REQUIRE_MESSAGE(ag.has_value(), aggregator->log());
    http = ag->at("http");
  }

  json audit() {
    auto r = httpGet(http + "/api/v1/audit");
    if (r.status != 200) return json();
    return json::parse(r.body, nullptr, false);
  }

  std::string metrics() { return httpGet(http + "/metrics").body; }

  CommandResult fault(std::vector<std::string> args) const {
    std::vector<std::string> argv = {rampart::testing::kKubesimBin, "fault", "--server", url};
    argv.insert(argv.end(), args.begin(), args.end());
    return runCommand(argv, 20s);
  }

  CommandResult kubectl(std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/env", "HOME=" + (dir / "home").string(), kKubectl,
                                     "--server", url};
    argv.insert(argv.end(), args.begin(), args.end());
    return runCommand(argv, 60s);
  }

  std::string logs() { return aggregator->log() + "\n--- kubesim ---\n" + kubesim->log(); }
};

const json* finding(const json& report, const std::string& check, const std::string& kind,
                    const std::string& ns, const std::string& name) {
  if (!report.is_object() || !report["findings"].is_array()) return nullptr;
  for (const auto& f : report["findings"]) {
    if (f["check"] != check) continue;
    const auto& s = f["subject"];
    if (s.value("kind", "") == kind && s.value("namespace", "") == ns &&
        s.value("name", "") == name) {
      return &f;
    }
  }
  return nullptr;
}

// The sum of the series of `name` whose labels contain every `k="v"` given.
double metric(const std::string& text, const std::string& name,
              const std::vector<std::string>& labels) {
  std::istringstream in(text);
  std::string line;
  double sum = 0;
  bool seen = false;
  while (std::getline(in, line)) {
    if (line.rfind(name + "{", 0) != 0) continue;
    bool all = true;
    for (const auto& l : labels) all = all && line.find(l) != std::string::npos;
    if (!all) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
    seen = true;
  }
  return seen ? sum : -1;
}

bool servicesOf(const json& report, const std::string& ns, const std::string& name,
                const std::string& service) {
  const json* f = finding(report, "probe.readiness-missing", "Deployment", ns, name);
  if (f == nullptr) return false;
  for (const auto& s : (*f)["details"]["services"]) {
    if (s == service) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("watch events, not relists, bring scale, PDB and Service changes into the audit") {
  Watched c("1000");
  json report;
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        report = c.audit();
                        return finding(report, "workload.single-replica", "Deployment", "shop",
                                       "payments") != nullptr;
                      },
                      20s),
                  c.logs());
  CHECK(report["partial"] == false);
  CHECK(finding(report, "pdb.missing", "Deployment", "shop", "storefront") == nullptr);
  CHECK_FALSE(servicesOf(report, "batch", "reports", "reports-admin"));
  auto m = c.metrics();
  CHECK(metric(m, "rampart_api_synced", {}) == 1);
  CHECK(metric(m, "rampart_api_relists_total", {"reason=\"initial\""}) >= 12);
  CHECK(metric(m, "rampart_api_relists_total", {"reason=\"resync\""}) <= 0);

  // Scale: the Deployment's MODIFIED event.
  auto started = std::chrono::steady_clock::now();
  auto r = c.fault({"scale", "deployments", "shop/payments", "--replicas", "3"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  CHECK_MESSAGE(waitUntil(
                    [&] {
                      report = c.audit();
                      return finding(report, "workload.single-replica", "Deployment", "shop",
                                     "payments") == nullptr &&
                             finding(report, "pdb.missing", "Deployment", "shop", "payments");
                    },
                    10s),
                c.logs());
  MESSAGE("scale to audit: " << std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - started)
                                    .count()
                             << " ms");

  // Delete a PDB with the real kubectl: the DELETED event.
  r = c.kubectl({"-n", "shop", "delete", "pdb", "storefront", "--wait=false"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  CHECK(r.output.find("storefront") != std::string::npos);
  CHECK_MESSAGE(waitUntil(
                    [&] {
                      return finding(c.audit(), "pdb.missing", "Deployment", "shop",
                                     "storefront") != nullptr;
                    },
                    10s),
                c.logs());

  // Add a Service routing to the probe-less reports pods: the ADDED event.
  std::ofstream(c.dir / "svc.json") << R"({"apiVersion":"v1","kind":"Service",
    "metadata":{"namespace":"batch","name":"reports-admin"},
    "spec":{"type":"ClusterIP","selector":{"app":"reports"},"ports":[{"port":9090}]}})";
  r = c.fault({"put-object", "--file", (c.dir / "svc.json").string()});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  CHECK_MESSAGE(
      waitUntil([&] { return servicesOf(c.audit(), "batch", "reports", "reports-admin"); }, 10s),
      c.logs());

  m = c.metrics();
  CHECK(metric(m, "rampart_api_watch_events_total", {"resource=\"deployments\""}) >= 1);
  CHECK(metric(m, "rampart_api_watch_events_total", {"resource=\"poddisruptionbudgets\""}) >= 1);
  CHECK(metric(m, "rampart_api_watch_events_total", {"resource=\"services\""}) >= 1);
  // Nothing but the first list of each kind: the watches explain every change.
  CHECK(metric(m, "rampart_api_relists_total", {"reason=\"expired\""}) <= 0);
  CHECK(metric(m, "rampart_api_relists_total", {"reason=\"error\""}) <= 0);
  CHECK(metric(m, "rampart_api_relists_total", {"reason=\"resync\""}) <= 0);
  CHECK(metric(m, "rampart_api_errors_total", {}) == 0);
}

TEST_CASE("a watch that expires is followed by a relist that recovers what it missed") {
  // Three events of history: a node-down (the node and each of its pods) overruns it, so
  // every open watch gets 410 Expired and misses those events.
  Watched c("3");
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        return finding(c.audit(), "workload.single-replica", "Deployment", "shop",
                                       "payments") != nullptr;
                      },
                      20s),
                  c.logs());
  CHECK(finding(c.audit(), "node.not-ready", "Node", "", "worker-b1") == nullptr);
  auto r = c.fault({"node-down", "worker-b1"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  CHECK_MESSAGE(
      waitUntil(
          [&] { return finding(c.audit(), "node.not-ready", "Node", "", "worker-b1") != nullptr; },
          15s),
      c.logs());
  CHECK_MESSAGE(waitUntil(
                    [&] {
                      return metric(c.metrics(), "rampart_api_relists_total",
                                    {"reason=\"expired\"", "resource=\"nodes\""}) >= 1;
                    },
                    10s),
                c.logs());
  // The watches run again after the relist: a later change arrives as an event.
  r = c.fault({"scale", "deployments", "shop/payments", "--replicas", "2"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  CHECK_MESSAGE(waitUntil(
                    [&] {
                      return finding(c.audit(), "workload.single-replica", "Deployment", "shop",
                                     "payments") == nullptr;
                    },
                    15s),
                c.logs());
  CHECK(metric(c.metrics(), "rampart_api_relists_total", {"reason=\"resync\""}) <= 0);
}
