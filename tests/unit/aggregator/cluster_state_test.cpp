#include <doctest/doctest.h>

#include <functional>

#include "state/cluster_state.h"

using namespace rampart;
using namespace rampart::aggregator;

namespace {

Pod pod(const std::string& uid, bool ready = true) {
  Pod p;
  p.uid = uid;
  p.namespace_ = "shop";
  p.name = "web-" + uid;
  p.node_name = "n1";
  p.ready = ready;
  p.phase = PodPhase::kRunning;
  return p;
}

wire::NodeIdentity ident(const std::string& name = "n1") {
  wire::NodeIdentity id;
  id.node.name = name;
  id.node.zone = "zone-a";
  return id;
}

wire::Report full(uint64_t seq, std::vector<Pod> pods) {
  wire::Report r;
  r.identity = ident();
  r.sequence = seq;
  r.full = true;
  r.pods = std::move(pods);
  return r;
}

wire::Report delta(uint64_t seq, uint64_t base, std::vector<Pod> pods,
                   std::vector<std::string> removed = {}) {
  wire::Report r;
  r.identity = ident();
  r.sequence = seq;
  r.base_sequence = base;
  r.full = false;
  r.pods = std::move(pods);
  r.removed_pod_uids = std::move(removed);
  return r;
}

}  // namespace

TEST_CASE("hello, full report, deltas and heartbeats build the node's pods") {
  ClusterState s;
  auto out = s.apply(wire::Hello{ident(), 1, 1000, 30}, "agent-key", 100);
  CHECK(out.kind == "hello");
  CHECK_FALSE(out.resync_reason);
  REQUIRE(s.node("n1") != nullptr);
  CHECK_FALSE(s.node("n1")->synced);

  out = s.apply(full(1, {pod("a"), pod("b")}), "agent-key", 200);
  CHECK(out.kind == "full");
  CHECK(out.upserted.size() == 2);
  CHECK(s.node("n1")->synced);
  CHECK(s.podCount() == 2);

  out = s.apply(delta(2, 1, {pod("b", false), pod("c")}, {"a"}), "agent-key", 300);
  CHECK_FALSE(out.resync_reason);
  CHECK(out.upserted.size() == 2);
  CHECK(out.removed_uids == std::vector<std::string>{"a"});
  CHECK(s.podCount() == 2);
  CHECK_FALSE(s.node("n1")->pods.at("b").ready);
  CHECK(s.node("n1")->last_report_ms == 300);

  out = s.apply(wire::Heartbeat{"n1", "", 2, 0, {}}, "agent-key", 400);
  CHECK_FALSE(out.resync_reason);
  CHECK(s.node("n1")->last_message_ms == 400);
}

TEST_CASE("a full report only reports pods that changed") {
  ClusterState s;
  s.apply(full(1, {pod("a"), pod("b")}), "k", 1);
  Pod a = pod("a");
  a.resource_version = "999";  // a new resourceVersion alone is no change
  auto out = s.apply(full(2, {a, pod("b", false)}), "k", 2);
  REQUIRE(out.upserted.size() == 1);
  CHECK(out.upserted[0].uid == "b");
  out = s.apply(full(3, {pod("b", false)}), "k", 3);
  CHECK(out.upserted.empty());
  CHECK(out.removed_uids == std::vector<std::string>{"a"});
}

TEST_CASE("deltas and heartbeats that cannot be applied ask for a resync") {
  struct Case {
    const char* name;
    std::function<void(ClusterState&)> setup;
    wire::Message message;
  };
  std::vector<Case> cases = {
      {"delta from an unknown node", [](ClusterState&) {}, delta(5, 4, {pod("a")})},
      {"heartbeat from an unknown node", [](ClusterState&) {}, wire::Heartbeat{"n1", "", 1, 0, {}}},
      {"delta after hello but before the full report",
       [](ClusterState& s) {
         s.apply(wire::Hello{ident(), 1, 1000, 30}, "k", 1);
       },
       delta(2, 1, {pod("a")})},
      {"delta with a sequence gap", [](ClusterState& s) { s.apply(full(1, {pod("a")}), "k", 1); },
       delta(3, 2, {pod("b")})},
      {"heartbeat announcing reports never received",
       [](ClusterState& s) { s.apply(full(1, {pod("a")}), "k", 1); },
       wire::Heartbeat{"n1", "", 3, 0, {}}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    ClusterState s;
    c.setup(s);
    size_t pods_before = s.podCount();
    auto out = s.apply(c.message, "k", 10);
    CHECK(out.resync_reason.has_value());
    CHECK(s.podCount() == pods_before);
    // After a resync request the node is no longer synced: the next delta is refused
    // too, until a full report arrives.
    if (s.node("n1") != nullptr) CHECK_FALSE(s.node("n1")->synced);
  }
}

TEST_CASE("restored nodes keep their pods but wait for a full report") {
  ClusterState s;
  NodeRecord rec;
  rec.identity = ident("n9");
  rec.pods.emplace("x", pod("x"));
  rec.synced = true;
  s.restore({rec}, 1000, 30000);
  REQUIRE(s.node("n9") != nullptr);
  CHECK_FALSE(s.node("n9")->synced);
  CHECK(s.podCount() == 1);
}

TEST_CASE("a node name that is not a DNS-1123 subdomain is refused, never stored") {
  ClusterState s;
  for (const std::string& bad :
       {std::string("Worker-B1"), std::string("n1\n"), std::string(""), std::string("bad\xff\xfe"),
        std::string(254, 'a'), std::string("-n1"), std::string("n1 x")}) {
    CAPTURE(bad);
    auto hello = s.apply(wire::Hello{ident(bad), 1, 1000, 30}, "agent-key", 100);
    CHECK(hello.rejected == "invalid_node_name");
    CHECK_FALSE(hello.resync_reason);
    wire::Report r = full(1, {pod("a")});
    r.identity = ident(bad);
    CHECK(s.apply(r, "agent-key", 100).rejected == "invalid_node_name");
    CHECK(s.apply(wire::Heartbeat{bad, "boot", 1, 1, {}, {}}, "agent-key", 100).rejected ==
          "invalid_node_name");
  }
  CHECK(s.nodes().empty());
  CHECK(s.generation() == 0);
  CHECK(s.apply(wire::Hello{ident("worker-b1.zone-a"), 1, 1000, 30}, "k", 100).rejected.empty());
}

TEST_CASE("a delta that would take a node past its pod limit is refused and asks for a resync") {
  ClusterState s;
  s.setMaxPodsPerNode(3);
  s.apply(wire::Hello{ident(), 1, 1000, 30}, "agent-key", 100);
  REQUIRE(s.apply(full(1, {pod("a"), pod("b")}), "agent-key", 100).rejected.empty());
  // Replacing a pod and removing another stays within the limit.
  auto ok = s.apply(delta(2, 1, {pod("a", false), pod("c")}, {"b"}), "agent-key", 200);
  CHECK(ok.rejected.empty());
  CHECK(s.node("n1")->pods.size() == 2);
  // Three new pods less one removed (its uid repeated) would make 4.
  auto over = s.apply(delta(3, 2, {pod("d"), pod("e"), pod("f")}, {"a", "a"}), "agent-key", 300);
  CHECK(over.rejected == "limit_pods_per_node");
  REQUIRE(over.resync_reason);
  CHECK(over.why.find("4 pods, over the limit of 3") != std::string::npos);
  CHECK(s.node("n1")->pods.size() == 2);
  CHECK_FALSE(s.node("n1")->synced);
}
