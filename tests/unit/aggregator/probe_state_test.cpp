// The aggregator's probe results and readiness flapping (probe_state.h), as
// ClusterState applies them, the engine inputs taken from them
// (probe_inputs.h) and their metrics (probe_metrics.h).
#include <doctest/doctest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <cmath>
#include <limits>

#include "http/probe_metrics.h"
#include "state/cluster_state.h"
#include "state/probe_inputs.h"

using namespace rampart;
using namespace rampart::aggregator;

namespace {

ProbeResult result(std::string name, bool ok, uint32_t failures = 0) {
  ProbeResult r;
  r.name = std::move(name);
  r.kind = ProbeKind::kHttp;
  r.target = "http://127.0.0.1:1/";
  r.ok = ok;
  r.latency_ms = 2.5;
  r.error = ok ? "" : "HTTP 500";
  r.checked_at_ms = 1;
  r.consecutive_failures = failures;
  return r;
}

Pod pod(const std::string& uid, bool ready) {
  Pod p;
  p.uid = uid;
  p.namespace_ = "shop";
  p.name = "web-" + uid;
  p.node_name = "n1";
  p.ready = ready;
  p.phase = PodPhase::kRunning;
  p.owners = {{"ReplicaSet", "web-abc", "", true, false}};
  return p;
}

wire::NodeIdentity ident(const std::string& name = "n1") {
  wire::NodeIdentity id;
  id.node.name = name;
  return id;
}

wire::Report report(uint64_t seq, bool full, std::vector<Pod> pods,
                    std::vector<ProbeResult> probes = {}) {
  wire::Report r;
  r.identity = ident();
  r.sequence = seq;
  r.base_sequence = full ? 0 : seq - 1;
  r.full = full;
  r.pods = std::move(pods);
  r.probe_results = std::move(probes);
  return r;
}

}  // namespace

TEST_CASE("probe results: malformed ones are refused, one at a time") {
  struct Row {
    const char* what;
    std::function<void(ProbeResult&)> edit;
    const char* reason;  // "" = valid
  };
  const Row rows[] = {
      {"valid", [](ProbeResult&) {}, ""},
      {"empty name", [](ProbeResult& r) { r.name = ""; }, "bad probe name"},
      {"upper case", [](ProbeResult& r) { r.name = "Web"; }, "bad probe name"},
      {"name too long", [](ProbeResult& r) { r.name = std::string(64, 'a'); }, "bad probe name"},
      {"unknown kind", [](ProbeResult& r) { r.kind = ProbeKind::kUnknown; }, "unknown kind"},
      {"NaN latency", [](ProbeResult& r) { r.latency_ms = std::nan(""); }, "latency"},
      {"negative latency", [](ProbeResult& r) { r.latency_ms = -1; }, "latency"},
      {"infinite latency",
       [](ProbeResult& r) { r.latency_ms = std::numeric_limits<double>::infinity(); }, "latency"},
      {"huge error", [](ProbeResult& r) { r.error = std::string(2000, 'x'); }, "1 KiB"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.what);
    ProbeResult r = result("web", false, 1);
    row.edit(r);
    auto v = validateProbeResult(r);
    if (std::string(row.reason).empty()) {
      CHECK(v.has_value());
    } else {
      REQUIRE_FALSE(v.has_value());
      CHECK(v.error().find(row.reason) != std::string::npos);
    }
  }
  // Counts are normalised to what health means.
  CHECK(validateProbeResult(result("web", true, 5))->consecutive_failures == 0);
  CHECK(validateProbeResult(result("web", false, 0))->consecutive_failures == 1);
}

TEST_CASE("replaceProbeResults: duplicates and excess dropped; latency alone is no change") {
  std::vector<ProbeResult> held;
  std::vector<std::string> dropped;
  ProbeResult bad = result("x", true);
  bad.kind = ProbeKind::kUnknown;
  CHECK(replaceProbeResults(held, {result("a", true), result("a", false, 1), bad}, dropped));
  CHECK(held.size() == 1);
  CHECK(dropped.size() == 2);

  ProbeResult faster = result("a", true);
  faster.latency_ms = 0.5;
  faster.checked_at_ms = 2;
  dropped.clear();
  CHECK_FALSE(replaceProbeResults(held, {faster}, dropped));
  CHECK(held[0].latency_ms == 0.5);  // kept current all the same
  CHECK(replaceProbeResults(held, {result("a", false, 1)}, dropped));
  CHECK(replaceProbeResults(held, {result("a", false, 2)}, dropped));
  CHECK(replaceProbeResults(held, {}, dropped));
  CHECK(held.empty());

  std::vector<ProbeResult> many;
  many.reserve(70);
  for (int i = 0; i < 70; ++i) many.push_back(result("p" + std::to_string(i), true));
  replaceProbeResults(held, many, dropped);
  CHECK(held.size() == kMaxProbesPerNode);
  CHECK(dropped.size() == 70 - kMaxProbesPerNode);
}

TEST_CASE("ClusterState keeps the latest probe results of reports and heartbeats") {
  ClusterState s;
  s.apply(wire::Hello{ident(), 1, 1000, 30}, "k", 100);
  auto out = s.apply(report(1, true, {}, {result("web", true)}), "k", 200);
  CHECK(out.probes_changed);
  REQUIRE(s.node("n1")->probe_results.size() == 1);
  uint64_t gen = s.generation();

  wire::Heartbeat hb{"n1", "", 1, 0, {}, {result("web", true)}};
  hb.probe_results[0].latency_ms = 9;
  out = s.apply(hb, "k", 300);
  CHECK_FALSE(out.probes_changed);
  CHECK(s.generation() == gen);  // a new latency is no reason to evaluate
  CHECK(s.node("n1")->probe_results[0].latency_ms == 9);

  ProbeResult bad = result("BAD", false, 1);
  hb.probe_results = {result("web", false, 1), bad};
  out = s.apply(hb, "k", 400);
  CHECK(out.probes_changed);
  CHECK(out.dropped_probes.size() == 1);
  CHECK(s.generation() > gen);
  REQUIRE(s.node("n1")->probe_results.size() == 1);
  CHECK_FALSE(s.node("n1")->probe_results[0].ok);

  // A heartbeat that needs a resync changes nothing.
  hb.sequence = 7;
  hb.probe_results = {};
  out = s.apply(hb, "k", 500);
  CHECK(out.resync_reason.has_value());
  CHECK(s.node("n1")->probe_results.size() == 1);
}

TEST_CASE("readiness flapping: N flips within the window latch until the window empties") {
  ClusterState s;
  s.setFlapPolicy({.window_ms = 10'000, .threshold = 4});
  s.apply(wire::Hello{ident(), 1, 1000, 30}, "k", 0);
  s.apply(report(1, true, {pod("a", true), pod("b", true)}), "k", 0);
  CHECK(s.flaps().flapping().empty());
  uint64_t seq = 1;
  bool ready = true;
  auto flip = [&](int64_t at) {
    ready = !ready;
    ++seq;
    s.apply(report(seq, false, {pod("a", ready)}), "k", at);
  };
  flip(1000);
  flip(2000);
  flip(3000);
  CHECK(s.flaps().flapping().empty());
  uint64_t gen = s.generation();
  flip(4000);
  auto f = s.flaps().flapping();
  REQUIRE(f.size() == 1);
  CHECK(f.at("a").flips == 4);
  CHECK(f.at("a").window_seconds == 10);
  CHECK(f.at("a").name == "web-a");
  CHECK(f.at("a").node == "n1");
  CHECK(f.at("a").owners.size() == 1);
  CHECK(f.at("a").ready == true);
  CHECK(s.generation() > gen);

  // A full report with unchanged pods is no flip; other pods do not count.
  ++seq;
  s.apply(report(seq, true, {pod("a", ready), pod("b", true)}), "k", 5000);
  CHECK(s.flaps().flapping().at("a").flips == 4);

  // Flips age out one by one; the pod stays flapping while any is left.
  gen = s.generation();
  s.apply(wire::Heartbeat{"n1", "", seq, 0, {}}, "k", 11'500);
  CHECK(s.flaps().flapping().at("a").flips == 3);
  CHECK(s.generation() > gen);
  s.apply(wire::Heartbeat{"n1", "", seq, 0, {}}, "k", 13'500);
  CHECK(s.flaps().flapping().at("a").flips == 1);
  gen = s.generation();
  s.apply(wire::Heartbeat{"n1", "", seq, 0, {}}, "k", 14'500);
  CHECK(s.flaps().flapping().empty());
  CHECK(s.generation() > gen);
  CHECK(s.flaps().tracked() == 0);
  s.apply(wire::Heartbeat{"n1", "", seq, 0, {}}, "k", 15'500);
  CHECK(s.flaps().tracked() == 0);
}

TEST_CASE("readiness flapping: a removed pod is forgotten; a new pod is no flip") {
  ClusterState s;
  s.setFlapPolicy({.window_ms = 60'000, .threshold = 2});
  s.apply(wire::Hello{ident(), 1, 1000, 30}, "k", 0);
  s.apply(report(1, true, {pod("a", true)}), "k", 0);
  s.apply(report(2, false, {pod("a", false), pod("n", false)}), "k", 10);
  s.apply(report(3, false, {pod("a", true)}), "k", 20);
  REQUIRE(s.flaps().flapping().size() == 1);
  wire::Report gone = report(4, false, {});
  gone.removed_pod_uids = {"a"};
  s.apply(gone, "k", 30);
  CHECK(s.flaps().flapping().empty());
  CHECK(s.flaps().tracked() == 0);
}

TEST_CASE("engine inputs: silent nodes' and unknown nodes' results are left out") {
  ClusterState s;
  s.apply(wire::Hello{ident(), 1, 1000, 30}, "k", 0);
  s.apply(report(1, true, {}, {result("web", false, 2)}), "k", 0);
  engine::Snapshot snap;
  snap.nodes.push_back(ident().node);
  fillProbeInputs(s, {}, snap);
  REQUIRE(snap.node_probes.count("n1") == 1);
  CHECK(snap.node_probes["n1"][0].consecutive_failures == 2);
  fillProbeInputs(s, {"n1"}, snap);
  CHECK(snap.node_probes.empty());
  snap.nodes.clear();
  fillProbeInputs(s, {}, snap);
  CHECK(snap.node_probes.empty());
}

TEST_CASE("probe metrics: up and latency per node and probe; gone series removed") {
  prometheus::Registry registry;
  ProbeMetrics m(registry, "it");
  ClusterState s;
  s.apply(wire::Hello{ident(), 1, 1000, 30}, "k", 1000);
  s.apply(report(1, true, {}, {result("web", true), result("db", false, 1)}), "k", 1000);
  m.resultDropped();
  m.refresh(s, 1100, 3);
  auto text = prometheus::TextSerializer().Serialize(registry.Collect());
  CHECK(text.find(R"(rampart_agent_probe_up{cluster="it",node="n1",probe="web"} 1)") !=
        std::string::npos);
  CHECK(text.find(R"(rampart_agent_probe_up{cluster="it",node="n1",probe="db"} 0)") !=
        std::string::npos);
  CHECK(text.find(
            R"(rampart_agent_probe_latency_seconds{cluster="it",node="n1",probe="web"} 0.0025)") !=
        std::string::npos);
  CHECK(text.find(R"(rampart_agent_probe_results_dropped_total{cluster="it"} 1)") !=
        std::string::npos);

  s.apply(wire::Heartbeat{"n1", "", 1, 0, {}, {result("web", true)}}, "k", 1200);
  m.refresh(s, 1300, 3);
  text = prometheus::TextSerializer().Serialize(registry.Collect());
  CHECK(text.find(R"(probe="db")") == std::string::npos);
  CHECK(text.find(R"(probe="web")") != std::string::npos);
  m.refresh(s, 60'000, 3);  // the agent went silent: its series go
  text = prometheus::TextSerializer().Serialize(registry.Collect());
  CHECK(text.find(R"(rampart_agent_probe_up{)") == std::string::npos);
}
