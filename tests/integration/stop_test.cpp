// The aggregator stops when told (docs/architecture.md, "Stopping"): SIGTERM
// in the middle of an engine evaluation far longer than 10 s cancels it and
// the process exits 0 within 10 s; a hook running when the aggregator is
// SIGKILLed dies with it and shows as interrupted after the next start (and
// does not run again); a hook running at SIGTERM is terminated and recorded
// as interrupted. Real kubesim, aggregator, hook processes and SQLite file.
#include <doctest/doctest.h>
#include <signal.h>

#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "sim_cluster.h"
#include "state/store.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::testing;

namespace {

// A cluster whose first full evaluation takes far longer than 10 s on the
// 2-core development machine (about 25 s idle): 30,000 replicas of three
// Deployments on 100 nodes, each pod with a preferred anti-affinity term
// every other pod of its node violates.
std::string bigScenario() {
  std::ostringstream s;
  s << "cluster: big\nseed: 1\nepoch: \"2026-01-02T20:00:00Z\"\nzones:\n"
       "  - {name: z-a, region: r}\n  - {name: z-b, region: r}\n  - {name: z-c, region: r}\n"
       "nodes:\n";
  for (int i = 0; i < 100; ++i) {
    s << "  - {name: n" << i << ", zone: z-"
      << "abc"[i % 3] << ", capacity: {cpu: \"64\", memory: 256Gi, pods: \"5000\"}}\n";
  }
  s << "namespaces: [big]\nworkloads:\n";
  for (int d = 0; d < 3; ++d) {
    s << "  - kind: Deployment\n    namespace: big\n    name: web" << d
      << "\n    replicas: 10000\n    labels: {app: web" << d
      << ", tier: big}\n    template:\n      spec:\n        affinity:\n"
         "          podAntiAffinity:\n"
         "            preferredDuringSchedulingIgnoredDuringExecution:\n"
         "              - weight: 100\n                podAffinityTerm:\n"
         "                  topologyKey: kubernetes.io/hostname\n"
         "                  labelSelector: {matchLabels: {tier: big}}\n";
  }
  return s.str();
}

// Gone: no such process, or a zombie nobody reaped yet (its parent died).
bool processGone(int pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  auto close = text.rfind(')');
  return close == std::string::npos || text.substr(close + 2, 1) == "Z";
}

// A hook that writes its pid and sleeps: `exec`, so that the pid is the
// hook's own process.
struct SleepingHook {
  TempDir dir;
  std::filesystem::path pid_file = dir / "hook.pid";
  std::filesystem::path config = dir / "hooks.yaml";

  SleepingHook() {
    const auto script = dir / "sleep.sh";
    std::ofstream(script) << "#!/bin/sh\necho $$ > \"$1.tmp\" && mv \"$1.tmp\" \"$1\"\n"
                             "exec sleep 300\n";
    std::filesystem::permissions(script, std::filesystem::perms::owner_all);
    std::ofstream(config) << "hooks:\n  - name: sleeper\n    match:\n"
                             "      checks: [workload.single-replica]\n"
                             "      labels: {namespace: shop, workload: payments}\n"
                             "    command: ["
                          << script.string() << ", " << pid_file.string()
                          << "]\n    timeout: 10m\n    kill_grace: 30s\n";
  }

  // The hook's pid once it wrote it; 0 after `timeout`.
  int waitPid(std::chrono::milliseconds timeout) const {
    int pid = 0;
    waitUntil(
        [&] {
          std::ifstream in(pid_file);
          return static_cast<bool>(in >> pid);
        },
        timeout);
    return pid;
  }
};

SimClusterOptions hookCluster(const SleepingHook& hook) {
  SimClusterOptions o;
  o.scenario = "demo.yaml";
  o.aggregator_args = {"--hooks", hook.config.string(), "--engine-interval-ms", "100"};
  return o;
}

struct HookRow {
  int64_t rows = 0;
  bool ended = false;
  bool interrupted = false, stopped = false;
  int64_t signal = -1;
};

HookRow hookRow(const std::filesystem::path& db) {
  HookRow out;
  auto store = aggregator::Store::open(db);
  REQUIRE(store.has_value());
  auto s = (*store)->prepare(
      "SELECT (SELECT COUNT(*) FROM hook_runs), ended_ms IS NOT NULL, "
      "IFNULL(json_extract(detail, '$.interrupted'), 0), "
      "IFNULL(json_extract(detail, '$.stopped'), 0), IFNULL(signal, -1) FROM hook_runs "
      "ORDER BY id DESC LIMIT 1");
  REQUIRE(s.has_value());
  if (s->step().value_or(false)) {
    out.rows = s->integer(0);
    out.ended = s->integer(1) != 0;
    out.interrupted = s->integer(2) != 0;
    out.stopped = s->integer(3) != 0;
    out.signal = s->integer(4);
  }
  return out;
}

}  // namespace

TEST_CASE("SIGTERM during an evaluation far longer than 10 s: cancelled, exit 0 within 10 s") {
  TempDir scenario_dir;
  const auto scenario = scenario_dir / "big.yaml";
  std::ofstream(scenario) << bigScenario();
  SimClusterOptions o;
  o.scenario = scenario.string();
  o.start_timeout = 120s;
  SimCluster sim(o);
  // The nodes' gauges are set as a full evaluation (with the API's nodes)
  // starts; before that only the agents' (none) were evaluated.
  const std::string gauge = "rampart_node_ready{cluster=\"it\",node=\"n0\"}";
  REQUIRE_MESSAGE(
      waitUntil(
          [&] { return httpGet(sim.http + "/metrics").body.find(gauge) != std::string::npos; },
          180s),
      sim.aggregator->log());
  sim.aggregator->signal(SIGTERM);
  auto status = sim.aggregator->wait(10s);
  REQUIRE_MESSAGE(status.has_value(), "still running 10 s after SIGTERM\n"
                                          << sim.aggregator->log());
  CHECK(*status == 0);
  const std::string log = sim.aggregator->log();
  CHECK_MESSAGE(log.find("engine: evaluation cancelled") != std::string::npos, log);
  CHECK(log.find("stopped") != std::string::npos);
}

TEST_CASE("a hook dies with a SIGKILLed aggregator and shows as interrupted after the restart") {
  SleepingHook hook;
  SimCluster sim(hookCluster(hook));
  const int pid = hook.waitPid(60s);
  REQUIRE_MESSAGE(pid > 0, sim.aggregator->log());
  CHECK_FALSE(processGone(pid));
  sim.aggregator->signal(SIGKILL);
  REQUIRE(sim.aggregator->wait(10s).has_value());
  CHECK_MESSAGE(waitUntil([&] { return processGone(pid); }, 5s), "hook pid " << pid);
  HookRow before = hookRow(sim.dir / "rampart.db");
  CHECK(before.rows == 1);
  CHECK_FALSE(before.ended);

  // The restart records it; the finding's occurrence was handled: no second run.
  std::filesystem::remove(hook.pid_file);
  sim.startAggregator("tcp://127.0.0.1:0", "2");
  HookRow after = hookRow(sim.dir / "rampart.db");
  CHECK(after.rows == 1);
  CHECK(after.interrupted);
  CHECK_FALSE(after.ended);
  CHECK(sim.aggregator->log().find("1 run(s) interrupted") != std::string::npos);
  // Evaluations with the finding happen; the hook is not started again.
  REQUIRE_MESSAGE(waitUntil([&] { return !sim.findings("workload.single-replica").empty(); }, 60s),
                  sim.aggregator->log());
  const double evaluations = sim.metric("rampart_engine_evaluations_total", "cluster=\"it\"");
  REQUIRE(waitUntil(
      [&] {
        return sim.metric("rampart_engine_evaluations_total", "cluster=\"it\"") >= evaluations + 3;
      },
      60s));
  CHECK_FALSE(std::filesystem::exists(hook.pid_file));
  CHECK(hookRow(sim.dir / "rampart.db").rows == 1);
}

TEST_CASE("SIGTERM while a hook runs: the hook is terminated and recorded, exit within 10 s") {
  SleepingHook hook;  // kill_grace 30 s: stopping uses a grace of its own
  SimCluster sim(hookCluster(hook));
  const int pid = hook.waitPid(60s);
  REQUIRE_MESSAGE(pid > 0, sim.aggregator->log());
  sim.aggregator->signal(SIGTERM);
  auto status = sim.aggregator->wait(10s);
  REQUIRE_MESSAGE(status.has_value(), "still running 10 s after SIGTERM\n"
                                          << sim.aggregator->log());
  CHECK(*status == 0);
  CHECK(waitUntil([&] { return processGone(pid); }, 5s));
  HookRow row = hookRow(sim.dir / "rampart.db");
  CHECK(row.rows == 1);
  CHECK(row.ended);
  CHECK(row.interrupted);
  CHECK(row.stopped);
  CHECK(row.signal == SIGTERM);
}
