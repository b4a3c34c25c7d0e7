// The example remediation hooks (tools/hooks/) run with the real kubectl
// against a real kubesim (demo scenario), each fed the hook contract (JSON on
// stdin, RAMPART_* environment) exactly as the aggregator builds it, and their
// effect is read back through the API. Then one hook end to end: a real
// aggregator with --hooks sees a finding, runs the hook, and records the run.
#include <doctest/doctest.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>

#include "hooks/hook_config.h"
#include "hooks/hook_process.h"
#include "hooks/hooks.h"
#include "rampart/curve.h"
#include "rampart/finding_key.h"
#include "state/store.h"
#include "test_paths.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::testing;
using nlohmann::json;

namespace {

const std::string kHooks = std::string(rampart::testing::kSourceDir) + "/tools/hooks/";

struct Sim {
  TempDir dir;
  std::unique_ptr<Process> kubesim;
  std::string url;

  Sim() {
    kubesim = std::make_unique<Process>(
        std::vector<std::string>{
            rampart::testing::kKubesimBin, "serve", "--scenario",
            std::string(rampart::testing::kSourceDir) + "/tools/kubesim/scenarios/demo.yaml",
            "--listen", "127.0.0.1:0", "--ready-file", (dir / "kubesim.ready").string()},
        dir / "kubesim.log");
    auto ks = readReadyFile(dir / "kubesim.ready", "url", 20s);
    REQUIRE_MESSAGE(ks.has_value(), kubesim->log());
    url = ks->at("url");
    std::ofstream(dir / "kubeconfig")
        << "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: " << url
        << "\nusers:\n- name: sim\n  user:\n    token: test-token\ncontexts:\n- name: sim\n"
           "  context:\n    cluster: sim\n    user: sim\ncurrent-context: sim\n";
  }

  json get(const std::string& path) {
    auto r = httpGet(url + path);
    if (r.status != 200) return json();
    return json::parse(r.body, nullptr, false);
  }
  long status(const std::string& path) { return httpGet(url + path).status; }

  std::vector<std::string> pods(const std::string& ns, const std::string& app) {
    std::vector<std::string> out;
    auto list = get("/api/v1/namespaces/" + ns + "/pods?labelSelector=app%3D" + app);
    for (const auto& p : list["items"])
      out.push_back(ns + "/" + p["metadata"]["name"].get<std::string>());
    return out;
  }

  // Runs `script` as the aggregator would for `f`.
  aggregator::ProcessResult runHook(const std::string& script, const engine::Finding& f) {
    aggregator::HookSpec hook;
    hook.name = script;
    hook.command = {kHooks + script};
    const std::string key = engine::findingKey(f);
    aggregator::ProcessSpec spec;
    spec.argv = hook.command;
    spec.env = aggregator::hookEnvironment(hook, f, key, "it", (dir / "kubeconfig").string());
    spec.stdin_data = aggregator::hookPayload(hook, f, key, "it", 0);
    spec.timeout = 20s;
    std::atomic<bool> stop{false};
    auto r = aggregator::runProcess(spec, stop);
    MESSAGE(script << ": exit " << r.exit_code.value_or(-1) << ": " << r.output);
    return r;
  }
};

engine::Finding workloadFinding(const std::string& check, const std::string& kind,
                                const std::string& ns, const std::string& name) {
  engine::Finding f;
  f.check = check;
  f.severity = engine::Severity::kHigh;
  f.subject = {kind, ns, name};
  f.workload = f.subject;
  return f;
}

}  // namespace

// One kubesim for every hook (each changes other objects): kubesim starts
// and kubectl's discovery are most of the time.
TEST_CASE("example hooks with the real kubectl against kubesim") {
  Sim sim;

  {  // hostile names are refused before kubectl runs
    engine::Finding f;
    f.check = "node.down";
    const std::string pwned = (sim.dir / "pwned").string();
    f.node =
        "worker-a1; kubectl delete node worker-b1 $(touch " + pwned + ") `touch " + pwned + "`";
    f.subject = {"Node", "", f.node};
    auto r = sim.runHook("cordon-node.sh", f);
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("refusing") != std::string::npos);
    CHECK(sim.status("/api/v1/nodes/worker-b1") == 200);
    CHECK_FALSE(sim.get("/api/v1/nodes/worker-a1")["spec"].value("unschedulable", false));
    CHECK_FALSE(std::filesystem::exists(pwned));
  }

  {  // cordon-node.sh cordons the finding's node
    engine::Finding f;
    f.check = "node.down";
    f.severity = engine::Severity::kCritical;
    f.subject = {"Node", "", "worker-a1"};
    f.node = "worker-a1";
    REQUIRE_FALSE(sim.get("/api/v1/nodes/worker-a1")["spec"].value("unschedulable", false));
    auto r = sim.runHook("cordon-node.sh", f);
    CHECK(r.exit_code == 0);
    auto node = sim.get("/api/v1/nodes/worker-a1");
    CHECK(node["spec"].value("unschedulable", false));
    CHECK(node["spec"]["taints"].dump().find("node.kubernetes.io/unschedulable") !=
          std::string::npos);
  }

  {  // evict-replica.sh evicts a co-located replica; a PDB answers 429
    auto cart = sim.pods("shop", "cart");
    REQUIRE(cart.size() == 3);
    auto f = workloadFinding("placement.colocated-replicas", "Deployment", "shop", "cart");
    f.pods = cart;
    f.node = "worker-a1";
    auto r = sim.runHook("evict-replica.sh", f);
    CHECK(r.exit_code == 0);
    CHECK(sim.status("/api/v1/namespaces/" + cart[2].substr(0, 4) + "/pods/" + cart[2].substr(5)) ==
          404);
    CHECK(sim.pods("shop", "cart").size() == 2);

    auto redis = sim.pods("data", "redis");
    REQUIRE(redis.size() == 2);
    auto g = workloadFinding("placement.colocated-replicas", "StatefulSet", "data", "redis");
    g.pods = redis;
    r = sim.runHook("evict-replica.sh", g);
    CHECK(r.exit_code == 3);
    CHECK(r.output.find("PodDisruptionBudget (429)") != std::string::npos);
    CHECK(sim.pods("data", "redis").size() == 2);
    // The API's answer itself, as the hook saw it.
    auto direct = httpRequest(
        "POST", sim.url + "/api/v1/namespaces/data/pods/" + redis[0].substr(5) + "/eviction",
        R"({"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"x"}})");
    CHECK(direct.status == 429);
    auto body = json::parse(direct.body);
    CHECK(body["reason"] == "TooManyRequests");
    CHECK(body["details"]["causes"][0]["reason"] == "DisruptionBudget");
  }

  {  // rollout-restart.sh sets the restartedAt annotation
    auto f = workloadFinding("pod.crashloop", "Deployment", "shop", "storefront");
    auto before = sim.get("/apis/apps/v1/namespaces/shop/deployments/storefront");
    auto r = sim.runHook("rollout-restart.sh", f);
    CHECK(r.exit_code == 0);
    auto after = sim.get("/apis/apps/v1/namespaces/shop/deployments/storefront");
    CHECK(after["spec"]["template"]["metadata"]["annotations"].contains(
        "kubectl.kubernetes.io/restartedAt"));
    CHECK(after["metadata"]["generation"].get<int>() ==
          before["metadata"]["generation"].get<int>() + 1);
  }

  {  // scale-to-two.sh scales a single-replica Deployment to 2, once
    auto f = workloadFinding("workload.single-replica", "Deployment", "shop", "payments");
    REQUIRE(sim.get("/apis/apps/v1/namespaces/shop/deployments/payments")["spec"]["replicas"] == 1);
    auto r = sim.runHook("scale-to-two.sh", f);
    CHECK(r.exit_code == 0);
    CHECK(sim.get("/apis/apps/v1/namespaces/shop/deployments/payments")["spec"]["replicas"] == 2);
    // The --current-replicas=1 precondition holds it back the second time.
    r = sim.runHook("scale-to-two.sh", f);
    CHECK(r.exit_code != 0);
    CHECK(sim.get("/apis/apps/v1/namespaces/shop/deployments/payments")["spec"]["replicas"] == 2);
  }

  {  // velero-backup.sh creates a Backup of the finding's namespace
    auto f = workloadFinding("backup.stale", "Deployment", "shop", "storefront");
    const size_t before = sim.get("/apis/velero.io/v1/namespaces/velero/backups")["items"].size();
    auto r = sim.runHook("velero-backup.sh", f);
    CHECK(r.exit_code == 0);
    auto list = sim.get("/apis/velero.io/v1/namespaces/velero/backups");
    CHECK(list["items"].size() == before + 1);
    bool found = false;
    for (const auto& b : list["items"]) {
      if (b["metadata"]["name"].get<std::string>().starts_with("rampart-shop-")) {
        found = true;
        CHECK(b["spec"]["includedNamespaces"] == json::array({"shop"}));
        CHECK(b["metadata"]["labels"]["rampart.io/check"] == "backup.stale");
      }
    }
    CHECK(found);
  }
}

TEST_CASE("a finding in the live aggregator runs its hook and the run is recorded") {
  Sim sim;
  auto keys = *generateCurveKeyPair();
  REQUIRE(writeKeyFile(sim.dir / "aggregator.key", keys, true).has_value());
  REQUIRE(writeKeyFile(sim.dir / "agent.pub", keys, false).has_value());
  std::ofstream(sim.dir / "hooks.yaml") << "hooks:\n"
                                           "  - name: second-replica\n"
                                           "    match:\n"
                                           "      checks: [workload.single-replica]\n"
                                           "      labels: {namespace: shop, workload: payments}\n"
                                           "    command: ["
                                        << kHooks
                                        << "scale-to-two.sh]\n"
                                           "    timeout: 20s\n";
  Process aggregator({rampart::testing::kAggregatorBin,
                      "--ingest",
                      "tcp://127.0.0.1:0",
                      "--http",
                      "127.0.0.1:0",
                      "--curve-key",
                      (sim.dir / "aggregator.key").string(),
                      "--allowed-agent-keys",
                      (sim.dir / "agent.pub").string(),
                      "--db",
                      (sim.dir / "rampart.db").string(),
                      "--cluster",
                      "it",
                      "--kubeconfig",
                      (sim.dir / "kubeconfig").string(),
                      "--engine-interval-ms",
                      "100",
                      "--hooks",
                      (sim.dir / "hooks.yaml").string(),
                      "--ready-file",
                      (sim.dir / "aggregator.ready").string()},
                     sim.dir / "aggregator.log");
  auto ready = readReadyFile(sim.dir / "aggregator.ready", "http", 20s);
  REQUIRE_MESSAGE(ready.has_value(), aggregator.log());
  REQUIRE_MESSAGE(
      waitUntil(
          [&] {
            return sim.get(
                       "/apis/apps/v1/namespaces/shop/deployments/payments")["spec"]["replicas"] ==
                   2;
          },
          20s),
      aggregator.log());
  std::string metrics;
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        metrics = httpGet(ready->at("http") + "/metrics").body;
                        return metrics.find(
                                   "rampart_hook_runs_total{cluster=\"it\",hook=\"second-replica\","
                                   "result=\"success\"} 1") != std::string::npos;
                      },
                      10s),
                  metrics << aggregator.log());
  auto store = aggregator::Store::open(sim.dir / "rampart.db");
  REQUIRE(store.has_value());
  auto s = (*store)->prepare(
      "SELECT hook, finding_key, check_id, exit_code, output, ended_ms - started_ms FROM "
      "hook_runs");
  REQUIRE(s.has_value());
  REQUIRE(s->step().value_or(false));
  CHECK(s->text(0) == "second-replica");
  CHECK(s->text(1) == "workload.single-replica|Deployment|shop|payments|");
  CHECK(s->text(2) == "workload.single-replica");
  CHECK(s->integer(3) == 0);
  CHECK(s->text(4).find("scaled deployment shop/payments to 2 replicas") != std::string::npos);
  MESSAGE("hook run took " << s->integer(5) << " ms");
  CHECK_FALSE(s->step().value_or(true));  // one run: the finding was handled once

  // A bad hooks file stops the aggregator at start with the problem named.
  std::ofstream(sim.dir / "bad.yaml") << "hooks: [{name: x, command: \"kubectl cordon n1\"}]\n";
  auto bad =
      runCommand({rampart::testing::kAggregatorBin, "--ingest", "tcp://127.0.0.1:0", "--http",
                  "127.0.0.1:0", "--curve-key", (sim.dir / "aggregator.key").string(),
                  "--allowed-agent-keys", (sim.dir / "agent.pub").string(), "--db",
                  (sim.dir / "bad.db").string(), "--hooks", (sim.dir / "bad.yaml").string()},
                 10s);
  CHECK(bad.exit_code == 2);
  CHECK(bad.output.find("bad.yaml: hooks[0] (x).command: expected a non-empty list") !=
        std::string::npos);
}
