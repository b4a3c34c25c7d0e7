// The agents' node-local placement findings in the aggregator: ClusterState
// keeps each node's current set (replaced by every applied report, full or
// delta), drops malformed findings with a reason, and the metrics publish
// rampart_agent_placement_findings per node, check and severity.
#include <doctest/doctest.h>

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "http/metrics.h"
#include "state/cluster_state.h"

using namespace rampart;
using namespace rampart::aggregator;

namespace {

wire::PlacementFinding finding(const std::string& pod, std::string severity = "high",
                               std::string details = R"({"terms":[]})") {
  wire::PlacementFinding f;
  f.check = "placement.anti-affinity";
  f.severity = std::move(severity);
  f.hard = true;
  f.pods = {"shop/" + pod, "shop/other"};
  f.workload = wire::WorkloadRef{"Deployment", "shop", "api"};
  f.message = "shop/" + pod + " shares node n1 with 1 pod";
  f.details_json = std::move(details);
  f.remediation = "delete it";
  return f;
}

wire::Report report(const std::string& node, uint64_t seq, bool full,
                    std::vector<wire::PlacementFinding> findings) {
  wire::Report r;
  r.identity.node.name = node;
  r.sequence = seq;
  r.base_sequence = full ? 0 : seq - 1;
  r.full = full;
  r.placement_findings = std::move(findings);
  return r;
}

std::vector<std::string> subjects(const ClusterState& s, const std::string& node) {
  std::vector<std::string> out;
  for (const auto& f : s.node(node)->placement_findings) out.push_back(f.pods.front());
  return out;
}

}  // namespace

TEST_CASE("every applied report replaces the node's findings; a resync keeps them until full") {
  ClusterState s;
  s.apply(wire::Hello{{}, 1, 1000, 30}, "k", 1);
  auto out = s.apply(report("n1", 1, true, {finding("a"), finding("b")}), "k", 2);
  CHECK(out.dropped_findings.empty());
  CHECK(subjects(s, "n1") == std::vector<std::string>{"shop/a", "shop/b"});
  const AgentFinding& f = s.node("n1")->placement_findings[0];
  CHECK(f.severity == engine::Severity::kHigh);
  CHECK(f.hard);
  CHECK(f.details.is_object());
  CHECK(f.details.contains("terms"));
  REQUIRE(f.workload.has_value());
  CHECK(f.workload->str() == "Deployment shop/api");

  s.apply(report("n1", 2, false, {finding("b")}), "k", 3);  // delta: the complete set
  CHECK(subjects(s, "n1") == std::vector<std::string>{"shop/b"});

  // A delta that does not apply (gap) changes nothing; the full report after
  // the resync brings the current set.
  out = s.apply(report("n1", 9, false, {}), "k", 4);
  CHECK(out.resync_reason.has_value());
  CHECK(subjects(s, "n1") == std::vector<std::string>{"shop/b"});
  s.apply(report("n1", 10, true, {finding("c")}), "k", 5);
  CHECK(subjects(s, "n1") == std::vector<std::string>{"shop/c"});
  s.apply(report("n1", 11, false, {}), "k", 6);
  CHECK(s.node("n1")->placement_findings.empty());
}

TEST_CASE("malformed findings are dropped with a reason; the rest of the report applies") {
  struct Case {
    std::string name;
    wire::PlacementFinding bad;
    std::string reason;
  };
  auto with = [](auto edit) {
    wire::PlacementFinding f = finding("x");
    edit(f);
    return f;
  };
  const std::vector<Case> cases = {
      {"unknown severity", finding("x", "catastrophic"), "unknown severity \"catastrophic\""},
      {"empty severity", finding("x", ""), "unknown severity"},
      {"details not JSON", finding("x", "high", "{\"terms\": ["), "not a JSON object"},
      {"details an array", finding("x", "high", "[1,2]"), "not a JSON object"},
      {"details invalid UTF-8", finding("x", "high", "{\"k\":\"\xff\"}"), "not a JSON object"},
      {"details too deep", finding("x", "high", std::string(20, '[') + std::string(20, ']')),
       "nest deeper than 16"},
      {"details too large", finding("x", "high", "{\"k\":\"" + std::string(70000, 'a') + "\"}"),
       "exceed 65536 bytes"},
      {"empty check id", with([](auto& f) { f.check = ""; }), "bad check id"},
      {"check id with spaces", with([](auto& f) { f.check = "placement taint\n"; }),
       "bad check id \"placement taint?\""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    ClusterState s;
    auto out = s.apply(report("n1", 1, true, {finding("ok"), c.bad}), "k", 1);
    CHECK_FALSE(out.resync_reason.has_value());
    REQUIRE(out.dropped_findings.size() == 1);
    CHECK(out.dropped_findings[0].find(c.reason) != std::string::npos);
    CHECK(subjects(s, "n1") == std::vector<std::string>{"shop/ok"});
  }
  // Empty details mean {}.
  ClusterState s;
  auto out = s.apply(report("n1", 1, true, {finding("e", "low", "")}), "k", 1);
  CHECK(out.dropped_findings.empty());
  CHECK(s.node("n1")->placement_findings.at(0).details == nlohmann::ordered_json::object());
}

TEST_CASE("rampart_agent_placement_findings: per node, check and severity; vanished pairs at 0") {
  prometheus::Registry registry;
  Metrics metrics(registry, "c1");
  auto scrape = [&] { return prometheus::TextSerializer().Serialize(registry.Collect()); };
  ClusterState s;
  wire::PlacementFinding taint = finding("t", "low");
  taint.check = "placement.taint";
  s.apply(report("n1", 1, true, {finding("a"), finding("b"), taint}), "k", 1);
  s.apply(report("n2", 1, true, {finding("c", "medium")}), "k", 1);
  metrics.refresh(s, 2, 3);
  auto text = scrape();
  CHECK(text.find("rampart_agent_placement_findings{cluster=\"c1\",check="
                  "\"placement.anti-affinity\",node=\"n1\",severity=\"high\"} 2") !=
        std::string::npos);
  CHECK(text.find("rampart_agent_placement_findings{cluster=\"c1\",check="
                  "\"placement.taint\",node=\"n1\",severity=\"low\"} 1") != std::string::npos);
  CHECK(text.find("rampart_agent_placement_findings{cluster=\"c1\",check="
                  "\"placement.anti-affinity\",node=\"n2\",severity=\"medium\"} 1") !=
        std::string::npos);

  s.apply(report("n1", 2, false, {finding("a")}), "k", 3);
  metrics.refresh(s, 4, 3);
  text = scrape();
  CHECK(text.find("node=\"n1\",severity=\"high\"} 1") != std::string::npos);
  CHECK(text.find("check=\"placement.taint\",node=\"n1\",severity=\"low\"} 0") !=
        std::string::npos);
  CHECK(text.find("rampart_agent_findings_dropped_total{cluster=\"c1\"} 0") != std::string::npos);
  metrics.agentFindingDropped();
  CHECK(scrape().find("rampart_agent_findings_dropped_total{cluster=\"c1\"} 1") !=
        std::string::npos);
}

TEST_CASE("a node gone from the model loses its agent finding series") {
  prometheus::Registry registry;
  Metrics metrics(registry, "c1");
  ClusterState with, without;
  with.apply(report("n1", 1, true, {finding("a")}), "k", 1);
  with.apply(report("n2", 1, true, {finding("b")}), "k", 1);
  without.apply(report("n2", 1, true, {finding("b")}), "k", 1);
  metrics.refresh(with, 2, 3);
  auto text = prometheus::TextSerializer().Serialize(registry.Collect());
  CHECK(text.find("node=\"n1\"") != std::string::npos);
  metrics.refresh(without, 3, 3);
  text = prometheus::TextSerializer().Serialize(registry.Collect());
  CHECK(text.find("rampart_agent_placement_findings{cluster=\"c1\",check="
                  "\"placement.anti-affinity\",node=\"n1\"") == std::string::npos);
  CHECK(text.find("rampart_agent_placement_findings{cluster=\"c1\",check="
                  "\"placement.anti-affinity\",node=\"n2\",severity=\"high\"} 1") !=
        std::string::npos);
}
