// The live engine's inputs and outputs: which pods a snapshot takes from the
// agents and which from the API, silent nodes, the engine metrics and the
// findings filter of the API.
#include "state/engine_runner.h"

#include <doctest/doctest.h>
#include <prometheus/text_serializer.h>

#include <algorithm>

#include "http/http_api.h"
#include "http_api_fixture.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::aggregator;

namespace {

Pod pod(const std::string& name, const std::string& node, bool ready) {
  Pod p;
  p.uid = "uid-" + name;
  p.namespace_ = "shop";
  p.name = name;
  p.node_name = node;
  p.ready = ready;
  p.phase = node.empty() ? PodPhase::kPending : PodPhase::kRunning;
  return p;
}

Node node(const std::string& name) {
  Node n;
  n.name = name;
  n.zone = "zone-" + name;
  return n;
}

// An agent for `name` that said hello and sent a full report at `at_ms`,
// reporting every 1000 ms.
void report(ClusterState& state, const std::string& name, std::vector<Pod> pods, int64_t at_ms) {
  wire::NodeIdentity id;
  id.node = node(name);
  state.apply(wire::Hello{id, at_ms, 1000, 30}, "agent", at_ms);
  wire::Report r;
  r.identity = id;
  r.sequence = 1;
  r.full = true;
  r.pods = std::move(pods);
  state.apply(r, "agent", at_ms);
}

// "name:ready" of every pod, sorted.
std::vector<std::string> podsOf(const engine::Snapshot& s) {
  std::vector<std::string> out;
  out.reserve(s.pods.size());
  for (const auto& p : s.pods) out.push_back(p.name + (p.ready ? ":ready" : ":not-ready"));
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> nodesOf(const engine::Snapshot& s) {
  std::vector<std::string> out;
  out.reserve(s.nodes.size());
  for (const auto& n : s.nodes) out.push_back(n.name);
  std::sort(out.begin(), out.end());
  return out;
}

constexpr int64_t kNow = 1'800'000'000'000;

}  // namespace

TEST_CASE("assembleSnapshot: agents' pods for their nodes, the API's for the others") {
  ClusterState state;
  // n1 reported 500 ms ago (connected); n2 10 s ago (3 missed intervals: silent);
  // n4 has an agent but the API no longer lists it.
  report(state, "n1", {pod("a", "n1", true), pod("a2", "n1", true)}, kNow - 500);
  report(state, "n2", {pod("b", "n2", true)}, kNow - 10'000);
  report(state, "n4", {pod("d", "n4", true)}, kNow - 100);

  k8s::Objects api;
  api.nodes = {node("n1"), node("n2"), node("n3")};
  api.pods = {pod("a", "n1", false), pod("b-old", "n2", true), pod("c", "n3", true),
              pod("pending", "", false)};
  api.workloads.resize(2);
  api.warnings = {"3 items of kind ConfigMap skipped: not used by the engine"};

  auto s = assembleSnapshot(state, &api, kNow, 3);
  CHECK(s.now_unix == kNow / 1000);
  CHECK(nodesOf(s) == std::vector<std::string>{"n1", "n2", "n3"});
  CHECK(podsOf(s) ==
        std::vector<std::string>{"a2:ready", "a:ready", "b:ready", "c:ready", "pending:not-ready"});
  CHECK(s.silent_nodes == std::set<std::string>{"n2"});
  CHECK(s.workloads.size() == 2);
  CHECK_FALSE(s.partial);
  CHECK(s.input_warnings == api.warnings);

  SUBCASE("without API objects: the agents' nodes and pods, partial") {
    auto alone = assembleSnapshot(state, nullptr, kNow, 3);
    CHECK(nodesOf(alone) == std::vector<std::string>{"n1", "n2", "n4"});
    CHECK(podsOf(alone) == std::vector<std::string>{"a2:ready", "a:ready", "b:ready", "d:ready"});
    CHECK(alone.silent_nodes == std::set<std::string>{"n2"});
    CHECK(alone.partial);
    REQUIRE(alone.input_warnings.size() == 1);
    CHECK(alone.input_warnings[0].find("controllers, PDBs") != std::string::npos);
    CHECK(alone.workloads.empty());
  }
  SUBCASE("a silent node gets a liveness finding") {
    auto r = engine::evaluate(s, {});
    auto liveness = [](const auto& f) {
      return f.check == "node.down" || f.check == "node.partitioned-or-agent-failed" ||
             f.check == "node.agent-silent";
    };
    auto silent = std::find_if(r.findings.begin(), r.findings.end(), [&](const auto& f) {
      return liveness(f) && f.subject.name == "n2";
    });
    REQUIRE(silent != r.findings.end());
    CHECK(silent->details.contains("lease_age_seconds"));
    CHECK(std::none_of(r.findings.begin(), r.findings.end(), [&](const auto& f) {
      return (liveness(f) || f.check == "node.not-ready") && f.subject.name == "n1";
    }));
  }
}

TEST_CASE("the model's generation moves with changes only; silentNodes follows the clock") {
  ClusterState state;
  uint64_t g0 = state.generation();
  report(state, "n1", {pod("a", "n1", true)}, kNow);
  uint64_t g1 = state.generation();
  CHECK(g1 > g0);
  state.apply(wire::Heartbeat{"n1", "", 1, kNow + 500, {}}, "agent", kNow + 500);
  CHECK(state.generation() == g1);
  CHECK(silentNodes(state, kNow + 3000, 3).empty());
  CHECK(silentNodes(state, kNow + 3501, 3) == std::set<std::string>{"n1"});
}

TEST_CASE("after a restart a restored node is unknown, not silent, until its grace passed") {
  ClusterState state;
  NodeRecord rec;
  rec.identity.node.name = "n1";
  rec.pods.emplace("a", pod("a", "n1", true));
  NodeRecord other = rec;
  other.identity.node.name = "n2";
  state.restore({rec, other}, kNow, 30'000);
  // No message since the restart: not connected, and not silent either.
  CHECK_FALSE(agentConnected(*state.node("n1"), kNow + 20, 3));
  CHECK(silentNodes(state, kNow + 20, 3).empty());
  CHECK(silentNodes(state, kNow + 29'999, 3).empty());
  auto s = assembleSnapshot(state, nullptr, kNow + 20, 3);
  CHECK(s.silent_nodes.empty());
  // n1's agent reconnects, then stops: once it spoke after the restart, the
  // missed-heartbeat rule alone decides (3 intervals), grace or not. n2's
  // agent never reconnects: silent once the grace passed.
  report(state, "n1", {pod("a", "n1", true)}, kNow + 5'000);
  CHECK(silentNodes(state, kNow + 8'000, 3).empty());
  CHECK(silentNodes(state, kNow + 8'001, 3) == std::set<std::string>{"n1"});
  CHECK(silentNodes(state, kNow + 30'000, 3) == std::set<std::string>{"n1", "n2"});
}

TEST_CASE("engine metrics: scores, finding counts, vanished workloads removed") {
  prometheus::Registry registry;
  Metrics metrics(registry, "c1");
  engine::Report r;
  r.score.cluster = 8250;
  r.score.namespaces = {{"shop", 7000}};
  r.score.workloads = {{{"Deployment", "shop", "web"}, 5000}, {{"Deployment", "shop", "db"}, 9000}};
  engine::Finding f;
  f.check = "workload.single-replica";
  f.severity = engine::Severity::kHigh;
  r.findings = {f, f};
  r.whatif.nodes = {{"n1", {"n1"}, {{"Deployment", "shop", "web"}}, {}, {}}};
  metrics.evaluated(r, 0.002);
  auto text = [&] { return prometheus::TextSerializer().Serialize(registry.Collect()); };
  auto first = text();
  CHECK(first.find("rampart_cluster_score{cluster=\"c1\"} 82.5") != std::string::npos);
  CHECK(first.find("rampart_namespace_score{cluster=\"c1\",namespace=\"shop\"} 70") !=
        std::string::npos);
  CHECK(first.find("rampart_workload_score{cluster=\"c1\",kind=\"Deployment\",namespace=\"shop\","
                   "workload=\"web\"} 50") != std::string::npos);
  CHECK(first.find("rampart_findings{cluster=\"c1\",check=\"workload.single-replica\",severity="
                   "\"high\"} 2") != std::string::npos);
  CHECK(first.find("rampart_survives_node_loss{cluster=\"c1\"} 0") != std::string::npos);
  CHECK(first.find("rampart_survives_zone_loss{cluster=\"c1\"} 1") != std::string::npos);
  CHECK(first.find("rampart_engine_evaluations_total{cluster=\"c1\"} 1") != std::string::npos);

  r.score.workloads.pop_back();  // shop/db is gone
  r.findings.clear();
  r.whatif.nodes.clear();
  metrics.evaluated(r, 0.002);
  auto second = text();
  CHECK(second.find("workload=\"web\"") != std::string::npos);
  CHECK(second.find("workload=\"db\"") == std::string::npos);
  CHECK(second.find("rampart_findings{cluster=\"c1\",check=\"workload.single-replica\",severity="
                    "\"high\"} 0") != std::string::npos);
  CHECK(second.find("rampart_survives_node_loss{cluster=\"c1\"} 1") != std::string::npos);
  CHECK(second.find("rampart_engine_evaluations_total{cluster=\"c1\"} 2") != std::string::npos);
}

TEST_CASE("findingsJson filters by check prefix and namespace") {
  engine::Report r;
  auto add = [&](std::string check, engine::ObjectRef subject,
                 std::optional<engine::ObjectRef> workload = {}) {
    engine::Finding f;
    f.check = std::move(check);
    f.subject = std::move(subject);
    f.workload = std::move(workload);
    r.findings.push_back(f);
  };
  add("workload.single-replica", {"Deployment", "shop", "payments"});
  add("pod.not-ready", {"Pod", "ops", "x"}, engine::ObjectRef{"Deployment", "ops", "x"});
  add("node.not-ready", {"Node", "", "n1"});
  auto checks = [](const std::string& body) {
    std::vector<std::string> out;
    auto doc = nlohmann::json::parse(body);
    for (const auto& f : doc["findings"]) out.push_back(f["check"]);
    return out;
  };
  CHECK(checks(findingsJson(r, "", "")).size() == 3);
  CHECK(checks(findingsJson(r, "workload.", "")) ==
        std::vector<std::string>{"workload.single-replica"});
  CHECK(checks(findingsJson(r, "", "ops")) == std::vector<std::string>{"pod.not-ready"});
  CHECK(checks(findingsJson(r, "node.", "shop")).empty());
}

TEST_CASE("/api/v1/audit and /api/v1/findings: a JSON 404 before the first evaluation") {
  HttpApiFixture f;
  auto& latest = f.latest;
  auto api = f.api();
  auto port = api->start();
  REQUIRE(port.has_value());
  std::string base = "http://127.0.0.1:" + std::to_string(*port);
  REQUIRE(testing::waitUntil([&] { return testing::httpGet(base + "/healthz").status == 200; },
                             std::chrono::seconds(5)));
  for (const char* path : {"/api/v1/audit", "/api/v1/findings"}) {
    auto r = testing::httpGet(base + path);
    CHECK(r.status == 404);
    CHECK(nlohmann::json::parse(r.body)["error"].get<std::string>().find("no evaluation") !=
          std::string::npos);
  }
  auto report = std::make_shared<engine::Report>();
  report->now_unix = 1'800'000'000;
  latest.set(report);
  auto r = testing::httpGet(base + "/api/v1/audit");
  CHECK(r.status == 200);
  CHECK(nlohmann::json::parse(r.body)["schema"] == "rampart.audit/v1");
  CHECK(testing::httpGet(base + "/api/v1/findings").body == R"({"findings":[]})");
  api->stop();
}

TEST_CASE("evaluation gate: every change, throttled by the interval and twice the last duration") {
  EvaluationGate gate(200);
  EvaluationGate::Seen seen{1, 1, 0, false, {}};
  const int64_t wall = 1'000'000;
  // Nothing evaluated yet: due at once.
  CHECK(gate.changed(seen, wall));
  CHECK(gate.due(seen, wall, 0));
  gate.evaluated(seen, wall, 10, 10);            // ended at steady 10 ms after 10 ms
  CHECK_FALSE(gate.changed(seen, wall + 5000));  // no silent node: the clock alone changes nothing
  CHECK(gate.waitMs(false, 20, 100) == 100);

  // A change inside the interval waits for it; the wait ends when it opens.
  seen.model = 2;
  CHECK(gate.changed(seen, wall));
  CHECK_FALSE(gate.due(seen, wall, 100));
  CHECK(gate.waitMs(true, 100, 100) == 100);
  CHECK(gate.waitMs(true, 150, 100) == 61);  // opens at 210
  CHECK_FALSE(gate.due(seen, wall, 209));
  CHECK(gate.due(seen, wall, 210));

  // A slow evaluation (500 ms) keeps the next one 1,000 ms away, not 200.
  gate.evaluated(seen, wall, 1000, 500);
  seen.api = 2;
  CHECK_FALSE(gate.due(seen, wall, 1999));
  CHECK(gate.due(seen, wall, 2000));

  // Each input counts: etcd, sync state, the silent set.
  for (auto change : {+[](EvaluationGate::Seen& s) { ++s.etcd; },
                      +[](EvaluationGate::Seen& s) { s.synced = !s.synced; },
                      +[](EvaluationGate::Seen& s) { s.silent.insert("n9"); }}) {
    EvaluationGate g(200);
    EvaluationGate::Seen s{1, 1, 1, true, {}};
    g.evaluated(s, wall, 0, 0);
    CHECK_FALSE(g.changed(s, wall));
    change(s);
    CHECK(g.changed(s, wall));
  }
}

TEST_CASE("evaluation gate: while a node is silent, once a second") {
  EvaluationGate gate(200);
  EvaluationGate::Seen seen{1, 1, 0, true, {"n2"}};
  gate.evaluated(seen, 5'000'100, 0, 1);
  CHECK_FALSE(gate.changed(seen, 5'000'999));  // the same wall second
  CHECK(gate.changed(seen, 5'001'000));        // the next one: the Lease may have expired
  CHECK(gate.due(seen, 5'001'000, 300));
  seen.silent.clear();
  gate.evaluated(seen, 5'001'000, 300, 1);
  CHECK_FALSE(gate.changed(seen, 5'009'000));  // nobody silent: the clock does not matter
}

TEST_CASE("departed nodes: unlisted by the API and silent for the whole grace") {
  DepartedTracker tracker(60'000);
  const std::set<std::string> api{"n1"};
  // n1 listed, n2 silent and unlisted, n3 unlisted but its agent connected.
  std::map<std::string, bool> agents{{"n1", false}, {"n2", false}, {"n3", true}};
  CHECK(tracker.update(agents, api, 0).empty());
  CHECK(tracker.update(agents, api, 59'999).empty());
  CHECK(tracker.update(agents, api, 60'000) == std::vector<std::string>{"n2"});
  CHECK(tracker.update(agents, api, 90'000) == std::vector<std::string>{"n2"});

  // Its agent speaks again: the grace starts over when it falls silent.
  agents["n2"] = true;
  CHECK(tracker.update(agents, api, 100'000).empty());
  agents["n2"] = false;
  CHECK(tracker.update(agents, api, 110'000).empty());
  CHECK(tracker.update(agents, api, 169'999).empty());
  CHECK(tracker.update(agents, api, 170'000) == std::vector<std::string>{"n2"});

  // Listed again by the API: not departed; forgotten records are dropped.
  CHECK(tracker.update(agents, {"n1", "n2"}, 300'000).empty());
  CHECK(tracker.update({{"n1", false}}, api, 400'000).empty());
  CHECK(tracker.update({{"n1", false}, {"n2", false}}, api, 400'001).empty());  // grace anew
}

TEST_CASE("an agent that has not listed its pods: the API's view of its node, not 'no pods'") {
  ClusterState state;
  report(state, "n1", {pod("a", "n1", true), pod("b", "n1", true)}, kNow - 500);
  // The agent restarts while the API server fails its pod list: its full
  // report says the pods are unknown.
  wire::Report unknown;
  unknown.identity.node.name = "n1";
  unknown.full = true;
  unknown.sequence = 1;
  unknown.pods_unknown = true;
  state.apply(wire::Hello{unknown.identity, 1, 1000, 30}, "agent", kNow - 200);
  auto out = state.apply(unknown, "agent", kNow - 100);
  CHECK(out.removed_uids.empty());
  CHECK(state.node("n1")->pods.size() == 2);  // what was known stays
  CHECK(state.node("n1")->synced);

  k8s::Objects api;
  api.nodes = {node("n1")};
  api.pods = {pod("a", "n1", true), pod("b", "n1", false), pod("c", "n1", true)};
  auto s = assembleSnapshot(state, &api, kNow, 3);
  CHECK(podsOf(s) == std::vector<std::string>{"a:ready", "b:not-ready", "c:ready"});
  // Without API objects, the last pods the agent listed.
  CHECK(podsOf(assembleSnapshot(state, nullptr, kNow, 3)) ==
        std::vector<std::string>{"a:ready", "b:ready"});

  // Its first list succeeds: the next full report is the truth again.
  wire::Report known = unknown;
  known.sequence = 2;
  known.pods_unknown = false;
  known.pods = {pod("c", "n1", true)};
  out = state.apply(known, "agent", kNow);
  CHECK(out.removed_uids.size() == 2);
  CHECK(podsOf(assembleSnapshot(state, &api, kNow, 3)) == std::vector<std::string>{"c:ready"});
}
