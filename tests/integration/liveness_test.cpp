// Node liveness end to end: kubesim (small.yaml, node Leases renewed every
// 500 ms), real agents on its three nodes reporting every 200 ms, the real
// aggregator watching Nodes and Leases. A killed agent is a partition or an
// agent failure while the API server still sees the node; with the node down
// in kubesim it is node.down; both resolve when the node and its agent come
// back. The history in SQLite keeps first seen / resolved across a restart.
#include <doctest/doctest.h>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "sim_cluster.h"

using namespace rampart;
using namespace rampart::testing;
using nlohmann::json;

namespace {

SimClusterOptions options() {
  SimClusterOptions o;
  o.scenario = "small.yaml";
  o.kubesim_args = {"--lease-renew-ms", "500"};
  o.agents = {"node-a", "node-b", "node-c"};
  o.agent_interval_ms = 200;
  o.agent_args = {"--kubelet-healthz-url", ""};  // no kubelet here
  o.aggregator_args = {"--engine-interval-ms", "100", "--log-level", "debug"};
  return o;
}

// The node's liveness finding (node.down, node.partitioned-or-agent-failed,
// node.agent-silent), or null.
json liveness(const SimCluster& c, const std::string& node) {
  for (const auto& f : c.findings("node.")) {
    const std::string check = f["check"].is_string() ? f["check"].get<std::string>() : "";
    if (f["node"] == node && (check == "node.down" || check == "node.partitioned-or-agent-failed" ||
                              check == "node.agent-silent")) {
      return f;
    }
  }
  return json();
}

bool synced(const SimCluster& c, size_t n) {
  auto j = c.get(c.http + "/api/v1/nodes");
  if (!j.is_object()) return false;
  size_t count = 0;
  for (const auto& node : j["nodes"]) count += node["agent"]["synced"] == true;
  return count == n;
}

json history(const SimCluster& c, const std::string& query) {
  auto j = c.get(c.http + "/api/v1/findings/history?" + query);
  return j.is_object() ? j["findings"] : json();
}

int cachePodsOnNodeA(const SimCluster& c) {
  int n = 0;
  const json pods = c.get(c.http + "/api/v1/pods?node=node-a");
  if (!pods.is_object()) return -1;
  for (const auto& p : pods["pods"]) {
    n += p["node"] == "node-a" && p["name"].get<std::string>().starts_with("cache-");
  }
  return n;
}

}  // namespace

TEST_CASE("a silent agent joined with the API server's view: partition, down, recovery") {
  SimCluster c(options());
  REQUIRE_MESSAGE(waitUntil([&] { return synced(c, 3); }, 30s), c.logs());
  REQUIRE(waitUntil([&] { return c.get(c.http + "/api/v1/audit").is_object(); }, 20s));
  CHECK(liveness(c, "node-b").is_null());

  // The agent dies; kubesim's kubelet still renews the lease: the API server
  // sees the node Ready.
  c.agents["node-b"]->signal(SIGKILL);
  json f;
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        // The lease's age joins once the Leases are listed.
                        f = liveness(c, "node-b");
                        return f.is_object() && f["details"]["lease_age_seconds"].is_number();
                      },
                      15s),
                  c.logs());
  CHECK(f["check"] == "node.partitioned-or-agent-failed");
  CHECK(f["severity"] == "high");
  CHECK(f["details"]["ready"] == "True");
  // The lease is watched: its age is known and fresh.
  REQUIRE(f["details"]["lease_age_seconds"].is_number());
  CHECK(f["details"]["lease_age_seconds"].get<int>() <= 5);
  CHECK(f["details"]["pods"].get<int>() >= 1);

  // The node goes down in the API server as well.
  REQUIRE(c.fault({{"type", "node-down"}, {"node", "node-b"}}).is_object());
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        f = liveness(c, "node-b");
                        return f.is_object() && f["check"] == "node.down";
                      },
                      15s),
                  f.dump() << "\n"
                           << c.logs());
  CHECK(f["severity"] == "critical");
  CHECK(f["details"]["ready"] == "Unknown");
  // Only the silent node gets a liveness finding; node.not-ready is not
  // raised for it twice.
  for (const auto& g : c.findings("node.not-ready")) CHECK(g["node"] != "node-b");

  // Back: node up, agent restarted.
  REQUIRE(c.fault({{"type", "node-up"}, {"node", "node-b"}}).is_object());
  c.startAgent("node-b");
  REQUIRE_MESSAGE(waitUntil([&] { return liveness(c, "node-b").is_null(); }, 20s), c.logs());

  // The history has both occurrences, resolved.
  json h = history(c, "check=node.&active=false");
  REQUIRE(h.is_array());
  std::set<std::string> resolved;
  for (const auto& r : h) {
    if (r["node"] == "node-b") {
      CHECK(r["resolved"].is_string());
      resolved.insert(r["check"].get<std::string>());
    }
  }
  CHECK(resolved.contains("node.partitioned-or-agent-failed"));
  CHECK(resolved.contains("node.down"));
}

TEST_CASE("an active finding keeps its first-seen time across an aggregator restart") {
  SimClusterOptions o = options();
  // node-c's agent never comes back: its node counts as silent 2 s after the
  // restart instead of the default 30 s.
  o.aggregator_args.insert(o.aggregator_args.end(), {"--startup-grace-seconds", "2"});
  SimCluster c(o);
  REQUIRE_MESSAGE(waitUntil([&] { return synced(c, 3); }, 30s), c.logs());
  c.agents["node-c"]->signal(SIGKILL);
  REQUIRE(c.fault({{"type", "node-down"}, {"node", "node-c"}}).is_object());
  json h;
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        h = history(c, "check=node.down&active=true");
                        return h.is_array() && h.size() == 1;
                      },
                      15s),
                  c.logs());
  const std::string first_seen = h[0]["first_seen"];
  CHECK(h[0]["key"] == "node.down|Node||node-c|node-c");

  const std::string ingest = c.ingest;
  c.aggregator->signal(SIGTERM);
  REQUIRE(c.aggregator->wait(10s) == std::optional<int>(0));
  c.startAggregator(ingest, "2");
  REQUIRE_MESSAGE(waitUntil([&] { return synced(c, 2); }, 30s), c.logs());
  // (Until the API objects are listed again the agents' view alone says
  // node.agent-silent; then the API server's view makes it node.down.)
  REQUIRE_MESSAGE(waitUntil([&] { return liveness(c, "node-c")["check"] == "node.down"; }, 15s),
                  c.logs());
  h = history(c, "check=node.down");
  REQUIRE(h.size() == 1);
  CHECK_MESSAGE(h[0]["first_seen"] == first_seen, h.dump() << "\n"
                                                           << c.logs() << "\n--- first aggregator\n"
                                                           << readFile(c.dir / "aggregator-1.log"));
  CHECK(h[0]["resolved"].is_null());
}

// An aggregator restart must not make every node silent (docs/checks.md,
// "Unknown is not a finding"): the agents are frozen (SIGSTOP) across the
// restart so that none can reconnect before the new aggregator has the API
// objects and has evaluated; their nodes are unknown, not silent, and the
// hook that cordons silent nodes (as docs/hooks.md suggests) never runs.
TEST_CASE("an aggregator restart flags no node and runs no hook while the agents reconnect") {
  TempDir hooks_dir;
  const auto marker = hooks_dir / "ran";
  std::ofstream(hooks_dir / "hooks.yaml")
      << "hooks:\n"
         "  - name: on-silent-node\n"
         "    match:\n"
         "      checks: [node.partitioned-or-agent-failed, node.agent-silent, node.down]\n"
         "    command: [/bin/sh, -c, 'echo ran >> "
      << marker.string() << "']\n";
  SimClusterOptions o = options();
  o.aggregator_args.insert(o.aggregator_args.end(),
                           {"--hooks", (hooks_dir / "hooks.yaml").string()});
  SimCluster c(o);
  REQUIRE_MESSAGE(waitUntil([&] { return synced(c, 3); }, 30s), c.logs());
  const std::string ingest = c.ingest;
  for (auto& [node, agent] : c.agents) agent->signal(SIGSTOP);
  c.aggregator->signal(SIGTERM);
  REQUIRE(c.aggregator->wait(10s) == std::optional<int>(0));
  c.startAggregator(ingest, "2");
  // The new aggregator lists the API and evaluates while no agent can speak.
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        return c.metric("rampart_api_synced", "cluster=\"it\"") == 1 &&
                               c.metric("rampart_engine_evaluations_total", "cluster=\"it\"") >= 3;
                      },
                      15s),
                  c.logs());
  for (const std::string node : {"node-a", "node-b", "node-c"}) {
    CHECK_MESSAGE(liveness(c, node).is_null(), liveness(c, node).dump());
  }
  for (auto& [node, agent] : c.agents) agent->signal(SIGCONT);
  REQUIRE_MESSAGE(waitUntil([&] { return synced(c, 3); }, 30s), c.logs());
  const double evaluations = c.metric("rampart_engine_evaluations_total", "cluster=\"it\"");
  REQUIRE(waitUntil(
      [&] {
        return c.metric("rampart_engine_evaluations_total", "cluster=\"it\"") >= evaluations + 2;
      },
      10s));
  CHECK_MESSAGE(!std::filesystem::exists(marker), readFile(marker));
  for (const std::string check :
       {"node.partitioned-or-agent-failed", "node.agent-silent", "node.down"}) {
    const json h = history(c, "check=" + check);
    CHECK_MESSAGE(h.is_array(), c.logs());
    CHECK_MESSAGE(h.empty(), h.dump());
  }
}

// The agent's own health endpoint (--health-listen), as the kubelet probes
// it: ready once its pods are listed and it reports; still live when the
// aggregator goes away (an aggregator outage must not restart every agent).
TEST_CASE("the real agent answers the kubelet's probes on --health-listen") {
  const int port = freeLoopbackPort();
  SimClusterOptions o = options();
  o.agents = {"node-a"};
  o.agent_args.push_back("--health-listen");
  o.agent_args.push_back("127.0.0.1:" + std::to_string(port));
  SimCluster c(o);
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  REQUIRE_MESSAGE(waitUntil([&] { return httpGet(url + "/readyz", 1s).status == 200; }, 20s),
                  c.logs());
  auto live = httpGet(url + "/healthz", 5s);
  CHECK(live.status == 200);
  auto body = json::parse(live.body, nullptr, false);
  REQUIRE(body.is_object());
  CHECK(body["live"] == true);
  CHECK(body["pods_synced"] == true);
  CHECK(body["intervals"].get<int>() >= 1);
  CHECK(body["aggregator_links"] == 1);

  c.aggregator->signal(SIGKILL);
  REQUIRE(c.aggregator->wait(10s).has_value());
  // Intervals go on without an aggregator: still live and ready.
  const int before = body["intervals"].get<int>();
  CHECK_MESSAGE(waitUntil(
                    [&] {
                      auto j = json::parse(httpGet(url + "/healthz", 1s).body, nullptr, false);
                      return j.is_object() && j["live"] == true &&
                             j["intervals"].get<int>() >= before + 3;
                    },
                    10s),
                c.logs());
  CHECK(httpGet(url + "/readyz", 5s).status == 200);
  CHECK(httpGet(url + "/nothing", 5s).status == 404);
}

// A node scaled away: the API server stops listing it and its agent is gone.
// After --forget-departed-seconds it leaves the model, SQLite and the
// metrics, and stays gone across a restart; the other nodes stay.
TEST_CASE("a node the API server deleted and whose agent is silent is forgotten") {
  SimClusterOptions o = options();
  o.aggregator_args.push_back("--forget-departed-seconds");
  o.aggregator_args.push_back("2");
  SimCluster c(o);
  REQUIRE_MESSAGE(waitUntil([&] { return synced(c, 3); }, 30s), c.logs());
  CHECK(c.metric("rampart_agents_known", "cluster=\"it\"") == 3);

  c.agents["node-c"]->signal(SIGKILL);
  REQUIRE(c.agents["node-c"]->wait(10s).has_value());
  auto del = httpRequest("DELETE", c.api + "/api/v1/nodes/node-c", "");
  REQUIRE_MESSAGE(del.status == 200, del.body);
  auto listed = [&](const std::string& node) {
    auto j = c.get(c.http + "/api/v1/nodes");
    if (!j.is_object()) return true;
    for (const auto& n : j["nodes"]) {
      if (n.value("name", "") == node) return true;
    }
    return false;
  };
  REQUIRE_MESSAGE(waitUntil([&] { return !listed("node-c"); }, 20s), c.logs());
  // The metrics and the log line follow the model (after its lock): waited for.
  CHECK(waitUntil(
      [&] {
        return c.metric("rampart_agents_known", "cluster=\"it\"") == 2 &&
               c.metric("rampart_node_last_report_age_seconds", "cluster=\"it\",node=\"node-c\"") ==
                   -1;
      },
      10s));
  CHECK(listed("node-a"));
  CHECK(listed("node-b"));
  CHECK(waitUntil(
      [&] { return c.aggregator->log().find("node node-c left the cluster") != std::string::npos; },
      10s));
  CHECK(liveness(c, "node-c").is_null());

  // Not restored from SQLite by a restart.
  const std::string ingest = c.ingest;
  c.aggregator->signal(SIGTERM);
  REQUIRE(c.aggregator->wait(10s) == std::optional<int>(0));
  c.startAggregator(ingest, "2");
  REQUIRE_MESSAGE(waitUntil([&] { return synced(c, 2); }, 30s), c.logs());
  CHECK_FALSE(listed("node-c"));
  CHECK(c.aggregator->log().find("restored 2 nodes") != std::string::npos);
}

// An agent restarted while the API server fails its pod list must not say
// "no pods" (docs/checks.md, "Unknown is not a finding"): both of shop/cache's
// replicas run on node-a, and a report of zero pods there would make it
// workload.unavailable. The agent says its pods are unknown (wire v4) and the
// aggregator keeps the API server's view of node-a's pods.
TEST_CASE("an agent restarted during API 500s reports pods unknown: no workload.unavailable") {
  SimCluster c(options());
  REQUIRE_MESSAGE(waitUntil([&] { return synced(c, 3); }, 30s), c.logs());
  REQUIRE(waitUntil([&] { return c.findings().size() > 0; }, 15s));
  // Synced is not listed: a loaded machine can have node-a's first agent sync
  // with "pods unknown" and be killed before its list lands, and then the
  // model never knew node-a's pods (seen once under stress-ng).
  REQUIRE_MESSAGE(waitUntil([&] { return cachePodsOnNodeA(c) == 2; }, 20s), c.logs());
  const std::string hellos = "cluster=\"it\",kind=\"hello\"";
  const double hellos_before = c.metric("rampart_reports_received_total", hellos);
  c.agents["node-a"]->signal(SIGKILL);
  c.agents["node-a"]->wait(5s);
  REQUIRE(
      c.fault({{"type", "api-error"}, {"status", 500}, {"count", 100000}, {"path", "/api/v1/pods"}})
          .is_object());
  c.startAgent("node-a");
  // The new agent said hello and sent its full report (pods unknown); two
  // evaluations later the findings still see shop/cache available.
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        return c.metric("rampart_reports_received_total", hellos) >=
                                   hellos_before + 1 &&
                               synced(c, 3);
                      },
                      20s),
                  c.logs());
  const std::string evaluations = "cluster=\"it\"";
  const double at = c.metric("rampart_engine_evaluations_total", evaluations);
  REQUIRE(waitUntil(
      [&] { return c.metric("rampart_engine_evaluations_total", evaluations) >= at + 2; }, 10s));
  CHECK_MESSAGE(c.agents["node-a"]->log().find("retrying") != std::string::npos,
                c.agents["node-a"]->log());
  for (const auto& f : c.findings("workload.unavailable")) {
    CHECK_MESSAGE(!(f["workload"].is_object() && f["workload"]["name"] == "cache"), f.dump());
  }
  // The model keeps what it knew of node-a's pods, and says they are unknown now.
  CHECK_MESSAGE(cachePodsOnNodeA(c) == 2, c.get(c.http + "/api/v1/pods?node=node-a").dump());
  bool pods_known = true;
  const json nodes = c.get(c.http + "/api/v1/nodes");
  for (const auto& n : nodes["nodes"]) {
    if (n["name"] == "node-a") pods_known = n["agent"]["podsKnown"].get<bool>();
  }
  CHECK_MESSAGE(!pods_known, c.logs());
}

// A full report the aggregator refuses (node-a's 2+ pods over
// --max-pods-per-node 1) used to be asked for again on every heartbeat:
// resync, full, refused, at the agent's rate. The asks now back off per node
// (resync_backoff.h) and the deferred ones are counted.
TEST_CASE("a refused full report is not asked for again at the agent's rate") {
  SimClusterOptions o = options();
  o.agents = {"node-a"};
  o.aggregator_args.insert(o.aggregator_args.end(), {"--max-pods-per-node", "1"});
  SimCluster c(o);
  const std::string cluster = "cluster=\"it\"";
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        return c.metric("rampart_reports_rejected_total",
                                        cluster + ",reason=\"limit_pods\"") >= 1 &&
                               c.metric("rampart_resyncs_deferred_total", cluster) >= 3;
                      },
                      20s),
                  c.logs());
  // Each deferred ask is a heartbeat the agent sent that needed no new full
  // report: the refused ones stay far fewer than the agent's heartbeats.
  const double asked = c.metric("rampart_resyncs_requested_total", cluster);
  const double deferred = c.metric("rampart_resyncs_deferred_total", cluster);
  CHECK_MESSAGE(asked < deferred, "asked ", asked, ", deferred ", deferred);
  CHECK_FALSE(synced(c, 1));
}
