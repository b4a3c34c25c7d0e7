// The live CLI end to end: kubesim (small.yaml), three real agents, the real
// aggregator with its kubeconfig, and the real rampartctl binary for status,
// findings, whatif, explain and top, in text and -o json, checked against the
// aggregator's API and the scenario; after a node-down fault (kubesim
// NotReady + its agent killed) whatif and findings show it; an unreachable
// server is exit 2 with a message naming the URL.
#include <doctest/doctest.h>

#include <signal.h>

#include <nlohmann/json.hpp>
#include <set>

#include "rampart/engine_json.h"
#include "sim_cluster.h"
#include "test_paths.h"

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
  o.aggregator_args = {"--engine-interval-ms", "100"};
  return o;
}

struct Ctl {
  int rc = -1;
  std::string out;  // stdout
  std::string err;  // stderr
  json j() const {
    auto parsed = json::parse(out, nullptr, false);
    return parsed.is_discarded() ? json() : parsed;
  }
};

// Runs the real rampartctl; stdout and stderr apart. RAMPART_SERVER is
// `server_env` when given, else unset.
Ctl ctl(const std::vector<std::string>& args, const std::string& server_env = "") {
  TempDir d;
  const std::string env = server_env.empty()
                              ? "unset RAMPART_SERVER; "
                              : "RAMPART_SERVER='" + server_env + "'; export RAMPART_SERVER; ";
  std::vector<std::string> argv{"/bin/sh", "-c",
                                env + "exec \"$0\" \"$@\" 2>'" + (d / "err").string() + "'",
                                rampart::testing::kCtlBin};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = runCommand(argv, 30s);
  return {r.exit_code, r.output, readFile(d / "err")};
}

std::string describe(const Ctl& c) {
  return "rc=" + std::to_string(c.rc) + "\n--- stdout\n" + c.out + "\n--- stderr\n" + c.err;
}

// 29.8, 42.84, 100: as the text renderings print points.
std::string pts(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

bool synced(const SimCluster& c, size_t n) {
  auto j = c.get(c.http + "/api/v1/nodes");
  if (!j.is_object()) return false;
  size_t count = 0;
  for (const auto& node : j["nodes"]) count += node["agent"]["synced"] == true;
  return count == n;
}

std::set<std::string> names(const json& refs) {
  std::set<std::string> out;
  if (!refs.is_array()) return out;
  for (const auto& r : refs)
    out.insert(r.value("kind", "") + " " + r.value("namespace", "") + "/" + r.value("name", ""));
  return out;
}

bool hasFinding(const json& findings, const std::string& check, const std::string& node) {
  if (!findings.is_array()) return false;
  for (const auto& f : findings) {
    if (f["check"] == check && (node.empty() || f["node"] == node)) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("rampartctl status, findings, whatif, explain, top against a live aggregator") {
  SimCluster c(options());
  const std::string server = c.http;
  REQUIRE_MESSAGE(waitUntil([&] { return synced(c, 3); }, 30s), c.logs());
  // A complete report (the API objects listed): cache's two replicas on node-a.
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        auto s = c.get(server + "/api/v1/score");
                        return s.is_object() && s["partial"] == false &&
                               s["agents"]["synced"] == 3 &&
                               hasFinding(c.findings("workload.replicas-on-one-node"),
                                          "workload.replicas-on-one-node", "node-a");
                      },
                      30s),
                  c.logs());

  {  // status
    INFO("status");
    // The CLI and the API agree (a re-evaluation between the two reads is
    // retried within the deadline).
    Ctl text, js;
    json api;
    CHECK_MESSAGE(waitUntil(
                      [&] {
                        text = ctl({"status", "--server", server});
                        js = ctl({"status", "--server", server, "-o", "json"});
                        api = c.get(server + "/api/v1/score");
                        return text.rc == 0 && js.rc == 0 && api.is_object() &&
                               text.out.find("Cluster score " + pts(api["cluster"]) + " / 100") !=
                                   std::string::npos &&
                               js.j()["cluster"] == api["cluster"] &&
                               js.j()["findings"] == api["findings"];
                      },
                      15s),
                  describe(text) << "\n"
                                 << describe(js) << "\n"
                                 << api.dump());
    CHECK(text.out.find("Agents: 3 connected of 3 known (3 synced)") != std::string::npos);
    CHECK(text.out.find("Survives any single node loss: no") != std::string::npos);
    CHECK(text.out.find("Deployment shop/cache") != std::string::npos);
    CHECK(text.out.find("Findings: " + std::to_string(api["findings"]["total"].get<int>()) +
                        " (") != std::string::npos);
    CHECK(js.j()["node_loss"]["worst"] == "node-a");
    CHECK(js.j()["agents"]["connected"] == 3);
    // RAMPART_SERVER is the default server.
    Ctl env = ctl({"status", "-o", "json"}, server);
    CHECK_MESSAGE(env.rc == 0, describe(env));
    CHECK(env.j()["agents"]["known"] == 3);
  }

  {  // findings
    INFO("findings");
    Ctl js = ctl({"findings", "--server", server, "--node", "node-a", "-o", "json"});
    REQUIRE_MESSAGE(js.rc == 0, describe(js));
    json f = js.j()["findings"];
    REQUIRE(f.is_array());
    CHECK(hasFinding(f, "workload.replicas-on-one-node", "node-a"));
    for (const auto& x : f) CHECK(x["node"] == "node-a");
    Ctl text = ctl({"findings", "--server", server, "--node", "node-a"});
    CHECK_MESSAGE(text.rc == 0, describe(text));
    CHECK(text.out.find("workload.replicas-on-one-node  Deployment shop/cache  (node node-a") !=
          std::string::npos);
    CHECK(text.out.find(std::to_string(f.size()) + " finding(s)") != std::string::npos);

    Ctl critical = ctl({"findings", "--server", server, "--severity", "critical", "-n", "shop",
                        "--check", "workload.", "-o", "json"});
    REQUIRE_MESSAGE(critical.rc == 0, describe(critical));
    const json critical_json = critical.j();  // a temporary's element would dangle in the loop
    REQUIRE(!critical_json["findings"].empty());
    for (const auto& x : critical_json["findings"]) {
      CHECK(x["severity"] == "critical");
      CHECK(x["check"].get<std::string>().starts_with("workload."));
    }
    Ctl bad = ctl({"findings", "--server", server, "--severity", "severe"});
    CHECK(bad.rc == 2);
    CHECK(bad.err.find(server + "/api/v1/findings?severity=severe: HTTP 400: severity must be") !=
          std::string::npos);
  }

  {  // whatif: live without an input, offline with one
    INFO("whatif: live without an input, offline with one");
    Ctl js = ctl({"whatif", "--server", server, "--node", "node-a", "-o", "json"});
    REQUIRE_MESSAGE(js.rc == 0, describe(js));
    CHECK(js.j()["level"] == "node");
    CHECK(names(js.j()["outage"]).contains("Deployment shop/cache"));
    CHECK(js.j()["survives"] == false);
    Ctl text = ctl({"whatif", "--server", server, "--zone", "zone-a"});
    REQUIRE_MESSAGE(text.rc == 0, describe(text));
    CHECK(text.out.find("Losing zone zone-a at once (1 node(s): node-a)") != std::string::npos);
    CHECK(text.out.find("Deployment shop/cache  all 2 ready of 2 replicas are there") !=
          std::string::npos);
    Ctl table = ctl({"whatif"}, server);  // RAMPART_SERVER, every domain
    REQUIRE_MESSAGE(table.rc == 0, describe(table));
    CHECK(table.out.find("NODE ") != std::string::npos);
    CHECK(table.out.find("region-1") != std::string::npos);
    Ctl missing = ctl({"whatif", "--server", server, "--node", "node-z"});
    CHECK(missing.rc == 2);
    CHECK(missing.err.find("HTTP 404: no node named 'node-z'") != std::string::npos);
    // The offline mode still reads a dump, and refuses --server with it.
    const std::string dump = testData("dumps/small-kubectl.json").string();
    Ctl offline = ctl({"whatif", "-f", dump, "--node", "node-a", "-o", "json"});
    CHECK_MESSAGE(offline.rc == 0, describe(offline));
    CHECK(names(offline.j()["outage"]).contains("Deployment shop/cache"));
    CHECK(ctl({"whatif", "-f", dump, "--server", server}).rc == 1);
  }

  {  // explain
    INFO("explain");
    Ctl text = ctl({"explain", "shop/cache", "--server", server});
    REQUIRE_MESSAGE(text.rc == 0, describe(text));
    json api = c.get(server + "/api/v1/workloads/shop/cache");
    REQUIRE(api.is_object());
    CHECK(text.out.find("Deployment shop/cache: score ") != std::string::npos);
    CHECK(text.out.find("workload.replicas-on-one-node") != std::string::npos);
    CHECK(text.out.find("Pods (as the agents report them): 2 on 1 node(s) in 1 zone(s)") !=
          std::string::npos);
    CHECK(text.out.find("Taken down by the loss of: node node-a; zone zone-a") !=
          std::string::npos);
    Ctl js = ctl({"explain", "Deployment/shop/cache", "--server", server, "-o", "json"});
    REQUIRE_MESSAGE(js.rc == 0, describe(js));
    json j = js.j();
    CHECK(j["workload"] == api["workload"]);
    CHECK(j["pods"].size() == 2);
    CHECK(j["placement"]["nodes"] == json{{"node-a", 2}});
    CHECK(j["lost_with"]["zones"] == json::array({"zone-a"}));
    double points = 0;
    for (const auto& f : j["findings"]) points += f["points"].get<double>();
    CHECK(points == doctest::Approx(j["lost"].get<double>()).epsilon(0.001));
    Ctl tree = ctl({"explain", "--server", server});
    CHECK_MESSAGE(tree.rc == 0, describe(tree));
    CHECK(tree.out.starts_with("cluster "));
    Ctl missing = ctl({"explain", "shop/nope", "--server", server});
    CHECK(missing.rc == 2);
    CHECK(missing.err.find(server + "/api/v1/workloads/shop/nope: HTTP 404") != std::string::npos);
    Ctl hostile = ctl({"explain", "sh op/../%2F\"x", "--server", server});
    CHECK(hostile.rc == 2);
    CHECK(hostile.err.find("HTTP 404") != std::string::npos);
  }

  {  // top --once
    INFO("top --once");
    Ctl text = ctl({"top", "--once", "--server", server, "--rows", "3"});
    REQUIRE_MESSAGE(text.rc == 0, describe(text));
    CHECK(text.out.starts_with("rampart top  " + server));
    CHECK(text.out.find("node loss FAILS (node-a)") != std::string::npos);
    CHECK(text.out.find("agents 3/3") != std::string::npos);
    for (const char* n : {"node-a", "node-b", "node-c"})
      CHECK(text.out.find(n) != std::string::npos);
    CHECK(text.out.find("\033[") == std::string::npos);  // not a terminal: no ANSI
    Ctl js = ctl({"top", "--once", "--server", server, "-o", "json"});
    REQUIRE_MESSAGE(js.rc == 0, describe(js));
    json j = js.j();
    CHECK(j["score"]["cluster"].is_number());
    CHECK(j["nodes"].size() == 3);
    CHECK(j["findings"].size() <= 8);
  }

  {  // a node lost: findings and whatif show it
    INFO("a node lost: findings and whatif show it");
    json before = c.get(server + "/api/v1/whatif?node=node-a");
    REQUIRE(before.is_object());
    CHECK(!names(before["outage"]).contains("StatefulSet shop/db"));  // db-1 on node-b is ready
    c.agents["node-b"]->signal(SIGKILL);
    REQUIRE(c.fault({{"type", "node-down"}, {"node", "node-b"}}).is_object());
    REQUIRE_MESSAGE(
        waitUntil([&] { return hasFinding(c.findings("node.down"), "node.down", "node-b"); }, 20s),
        c.logs());
    Ctl f = ctl({"findings", "--server", server, "--node", "node-b", "-o", "json"});
    REQUIRE_MESSAGE(f.rc == 0, describe(f));
    CHECK(hasFinding(f.j()["findings"], "node.down", "node-b"));
    Ctl text = ctl({"findings", "--server", server, "--check", "node.", "--severity", "critical"});
    CHECK(text.out.find("node.down  Node node-b") != std::string::npos);
    // With node-b's replicas gone, losing node-a now takes db's last ready one.
    Ctl w;
    CHECK_MESSAGE(waitUntil(
                      [&] {
                        w = ctl({"whatif", "--server", server, "--node", "node-a", "-o", "json"});
                        return names(w.j()["outage"]).contains("StatefulSet shop/db");
                      },
                      15s),
                  describe(w));
    Ctl s = ctl({"status", "--server", server});
    CHECK(s.out.find("Agents: 2 connected of 3 known") != std::string::npos);
  }
}

TEST_CASE("an unreachable aggregator: exit 2 and a message naming the URL") {
  const std::string dead = "http://127.0.0.1:" + std::to_string(freeLoopbackPort());
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"status"},
                                             {"findings"},
                                             {"whatif", "--node", "n"},
                                             {"explain", "a/b"},
                                             {"top", "--once"}}) {
    std::vector<std::string> full = args;
    full.insert(full.end(), {"--server", dead});
    Ctl r = ctl(full);
    CAPTURE(args[0]);
    CHECK(r.rc == 2);
    CHECK(r.out.empty());
    CHECK_MESSAGE(
        r.err.find("cannot reach the aggregator at " + dead + "/api/v1/") != std::string::npos,
        r.err);
  }
  // Not a URL at all.
  Ctl bad = ctl({"status", "--server", "127.0.0.1:7401"});
  CHECK(bad.rc == 2);
  CHECK(bad.err.find("not an http:// or https:// URL") != std::string::npos);
}
