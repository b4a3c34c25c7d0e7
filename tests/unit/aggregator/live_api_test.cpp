// The live views of the API (live_api.h) on a real report: the engine's
// evaluation of the small scenario's dump. /api/v1/score, /findings filters,
// /whatif, /workloads/NS/NAME, their 400s and 404s, and hostile strings over
// real HTTP.
#include "http/live_api.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "audit.h"
#include "http/http_api.h"
#include "http_api_fixture.h"
#include "rampart/engine_input.h"
#include "rampart/engine_json.h"
#include "state/engine_runner.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::aggregator;
using nlohmann::json;

namespace {

constexpr int64_t kNow = 1767384600;  // 2026-01-02T20:10:00Z, as the golden reports

// The engine's report of tests/data/dumps/small-*.json (tests/data/golden/audit-small.*).
engine::Report smallReport() {
  ctl::AuditInput in;
  in.files = {testing::testData("dumps/small-kubectl.json").string(),
              testing::testData("dumps/small-velero.json").string()};
  std::istringstream none;
  auto objects = ctl::loadObjects(in, none);
  REQUIRE(objects.has_value());
  return engine::evaluate(engine::snapshotOf(std::move(*objects), kNow), engine::Options{});
}

// In the document's own key order, to compare bytes with the report's JSON.
nlohmann::ordered_json ordered(const ApiReply& r) {
  return nlohmann::ordered_json::parse(r.body);
}

json body(const ApiReply& r) {
  auto j = json::parse(r.body, nullptr, false);
  REQUIRE_MESSAGE(!j.is_discarded(), r.body);
  return j;
}

Pod pod(const std::string& name, const std::string& node, std::vector<OwnerRef> owners) {
  Pod p;
  p.uid = "uid-" + name;
  p.namespace_ = "shop";
  p.name = name;
  p.node_name = node;
  p.ready = true;
  p.phase = PodPhase::kRunning;
  p.owners = std::move(owners);
  return p;
}

// An agent on `name` (zone "zone-" + last letter) that reported `pods`.
void report(ClusterState& state, const std::string& name, std::vector<Pod> pods, int64_t at_ms) {
  wire::NodeIdentity id;
  id.node.name = name;
  id.node.zone = "zone-" + name.substr(name.size() - 1);
  state.apply(wire::Hello{id, at_ms, 1000, 30}, "agent", at_ms);
  wire::Report r;
  r.identity = id;
  r.sequence = 1;
  r.full = true;
  r.pods = std::move(pods);
  state.apply(r, "agent", at_ms);
}

std::vector<std::string> checks(const json& doc) {
  std::vector<std::string> out;
  for (const auto& f : doc["findings"]) out.push_back(f["check"]);
  return out;
}

}  // namespace

TEST_CASE("score: cluster, namespaces, survival per level, findings by severity, worst workloads") {
  const engine::Report r = smallReport();
  AgentCounts agents{3, 2, 2};
  ApiReply reply = scoreReply(r, agents, {});
  REQUIRE(reply.status == 200);
  json j = body(reply);
  CHECK(j["generated_at"] == "2026-01-02T20:10:00Z");
  CHECK(j["partial"] == false);
  CHECK(j["cluster"].get<double>() == doctest::Approx(29.8));
  CHECK(j["namespaces"]["shop"].get<double>() == doctest::Approx(76.23));
  // As the audit says: 2 of 3 nodes (zones) take down 2 workloads, worst node-a (zone-a).
  CHECK(j["node_loss"] == json{{"survives", false},
                               {"domains", 3},
                               {"fatal", 2},
                               {"workloads_down", 2},
                               {"worst", "node-a"}});
  CHECK(j["zone_loss"]["worst"] == "zone-a");
  CHECK(j["zone_loss"]["survives"] == false);
  CHECK(j["region_loss"]["fatal"] == 1);
  CHECK(j["findings"] ==
        json{{"total", 13}, {"critical", 3}, {"high", 1}, {"medium", 4}, {"low", 4}, {"info", 1}});
  CHECK(j["workloads"]["total"] == 5);
  CHECK(j["workloads"]["below_100"] == 5);
  REQUIRE(j["workloads"]["worst"].size() == 5);
  // The report's own serialiser: the same object as in /api/v1/audit.
  const auto audit = engine::reportToJson(r);
  CHECK(ordered(reply)["workloads"]["worst"][0].dump() == audit["score"]["workloads"][0].dump());
  CHECK(j["agents"] == json{{"known", 3}, {"connected", 2}, {"synced", 2}});

  CHECK(body(scoreReply(r, agents, {{"top", "2"}}))["workloads"]["worst"].size() == 2);
  CHECK(body(scoreReply(r, agents, {{"top", "0"}}))["workloads"]["worst"].empty());
  for (const char* bad : {"-1", "x", "1001", "", "99999999999999999999"}) {
    CAPTURE(bad);
    ApiReply e = scoreReply(r, agents, {{"top", bad}});
    CHECK(e.status == 400);
    CHECK(body(e)["error"].get<std::string>().find("top") != std::string::npos);
  }
  ApiReply unknown = scoreReply(r, agents, {{"topp", "1"}});
  CHECK(unknown.status == 400);
  CHECK(body(unknown)["error"].get<std::string>().find("'topp'") != std::string::npos);

  // An empty report: no domains, survival unknown.
  json empty = body(scoreReply(engine::Report{}, {}, {}));
  CHECK(empty["node_loss"]["survives"].is_null());
  CHECK(empty["cluster"] == 100);
}

TEST_CASE("findings: check prefix, namespace, node, minimum severity; bad parameters are 400") {
  const engine::Report r = smallReport();
  auto get = [&](const QueryParams& p) {
    ApiReply reply = findingsReply(r, p);
    REQUIRE_MESSAGE(reply.status == 200, reply.body);
    return checks(body(reply));
  };
  CHECK(get({}).size() == 13);
  CHECK(get({{"check", ""}}).size() == 13);  // empty filters match everything
  CHECK(get({{"severity", "high"}}) ==
        std::vector<std::string>{"whatif.node-loss", "whatif.zone-loss",
                                 "workload.replicas-on-one-node", "placement.colocated-replicas"});
  CHECK(get({{"severity", "critical"}}).size() == 3);
  CHECK(get({{"node", "node-a"}}) ==
        std::vector<std::string>{"workload.replicas-on-one-node", "placement.colocated-replicas"});
  CHECK(get({{"node", "node-c"}}) == std::vector<std::string>{"pod.bare"});
  CHECK(get({{"namespace", "shop"}, {"check", "pdb."}}) ==
        std::vector<std::string>{"pdb.above-hpa-min", "pdb.missing", "pdb.missing"});
  CHECK(get({{"namespace", "shop"}, {"severity", "medium"}, {"node", "node-a"}}).size() == 2);
  CHECK(get({{"node", "no-such-node"}}).empty());
  // Each finding rendered as in the report.
  json all = body(findingsReply(r, {}));
  CHECK(ordered(findingsReply(r, {}))["findings"][0].dump() ==
        engine::reportToJson(r)["findings"][0].dump());
  // The older entry point keeps its meaning.
  CHECK(checks(json::parse(findingsJson(r, "probe.", "shop"))).size() == 2);

  ApiReply bad = findingsReply(r, {{"severity", "severe"}});
  CHECK(bad.status == 400);
  CHECK(body(bad)["error"].get<std::string>().find("severity") != std::string::npos);
  CHECK(findingsReply(r, {{"sev", "high"}}).status == 400);
  // A hostile value is echoed as valid JSON (invalid UTF-8 replaced).
  ApiReply hostile = findingsReply(r, {{"severity", std::string("\xff\x00\"<x>", 6)}});
  CHECK(hostile.status == 400);
  CHECK(body(hostile)["error"].is_string());
}

TEST_CASE("whatif: every domain, or one with the scores of what it takes down") {
  const engine::Report r = smallReport();
  const auto audit = engine::reportToJson(r);
  json all = body(whatifReply(r, {}));
  CHECK(all["generated_at"] == "2026-01-02T20:10:00Z");
  for (const char* level : {"nodes", "zones", "regions"}) {
    CAPTURE(level);
    CHECK(ordered(whatifReply(r, {}))[level].dump() == audit["whatif"][level].dump());
  }

  json a = body(whatifReply(r, {{"node", "node-a"}}));
  CHECK(a["level"] == "node");
  CHECK(a["name"] == "node-a");
  CHECK(a["nodes"] == json::array({"node-a"}));
  CHECK(a["survives"] == false);
  REQUIRE(a["outage"].size() == 1);
  CHECK(a["outage"][0] == json{{"kind", "Deployment"}, {"namespace", "shop"}, {"name", "cache"}});
  REQUIRE(a["workloads"].size() == 1);
  CHECK(a["workloads"][0]["score"].get<double>() == doctest::Approx(42.84));
  CHECK(body(whatifReply(r, {{"node", "node-b"}}))["survives"] == true);
  json zone = body(whatifReply(r, {{"zone", "zone-c"}}));
  CHECK(zone["outage"][0]["name"] == "debug");
  json region = body(whatifReply(r, {{"region", "region-1"}}));
  CHECK(region["outage"].size() == 5);
  CHECK(region["below_pdb"].size() == 1);

  ApiReply missing = whatifReply(r, {{"node", "node-z"}});
  CHECK(missing.status == 404);
  CHECK(body(missing)["error"] == "no node named 'node-z' in the latest report");
  CHECK(whatifReply(r, {{"node", "node-a"}, {"zone", "zone-a"}}).status == 400);
  CHECK(whatifReply(r, {{"rack", "r1"}}).status == 400);
  CHECK(whatifReply(r, {{"zone", std::string("\xc3\x28\x00", 3)}}).status == 404);
}

TEST_CASE("workload: score, the findings that cost it points, its pods and what takes it down") {
  const engine::Report r = smallReport();
  ClusterState state;
  const int64_t at = 1'800'000'000'000;
  const std::vector<OwnerRef> cache{{"ReplicaSet", "cache-5d8f", "u1", true, false},
                                    {"Deployment", "cache", "", false, true}};
  report(state, "node-a",
         {pod("cache-5d8f-a", "node-a", cache), pod("cache-5d8f-b", "node-a", cache),
          pod("web-6c7b-x", "node-a",
              {{"ReplicaSet", "web-6c7b", "u2", true, false},
               {"Deployment", "web", "", false, true}})},
         at);
  report(state, "node-b", {pod("db-0", "node-b", {{"StatefulSet", "db", "u3", true, false}})}, at);

  json j = body(workloadReply(r, state, "shop", "cache", {}));
  CHECK(j["workload"]["kind"] == "Deployment");
  CHECK(j["workload"]["score"].get<double>() == doctest::Approx(42.84));
  CHECK(j["lost"].get<double>() == doctest::Approx(57.16));
  // Its findings' points add up to what it lost.
  double points = 0, cluster_points = 0;
  for (const auto& f : j["findings"]) {
    CHECK(f["workload"]["name"] == "cache");
    points += f["points"].get<double>();
    cluster_points += f["cluster_points"].get<double>();
  }
  CHECK(j["findings"].size() == 4);
  CHECK(points == doctest::Approx(57.16));
  CHECK(j["cluster_points"].get<double>() == doctest::Approx(cluster_points));
  REQUIRE(j["pods"].size() == 2);
  CHECK(j["pods"][0] == json{{"name", "cache-5d8f-a"},
                             {"node", "node-a"},
                             {"zone", "zone-a"},
                             {"phase", "Running"},
                             {"ready", true},
                             {"terminating", false}});
  CHECK(j["placement"] == json{{"nodes", {{"node-a", 2}}}, {"zones", {{"zone-a", 2}}}});
  CHECK(j["lost_with"] ==
        json{{"nodes", {"node-a"}}, {"zones", {"zone-a"}}, {"regions", {"region-1"}}});

  json db = body(workloadReply(r, state, "shop", "db", {{"kind", "StatefulSet"}}));
  CHECK(db["pods"].size() == 1);
  CHECK(db["lost_with"]["nodes"].empty());
  json debug = body(workloadReply(r, state, "default", "debug", {}));
  CHECK(debug["workload"]["kind"] == "Pod");
  CHECK(debug["lost_with"]["nodes"] == json::array({"node-c"}));

  ApiReply missing = workloadReply(r, state, "shop", "nope", {});
  CHECK(missing.status == 404);
  CHECK(body(missing)["error"] == "no workload shop/nope in the latest report");
  CHECK(workloadReply(r, state, "shop", "cache", {{"kind", "StatefulSet"}}).status == 404);
  CHECK(workloadReply(r, state, "shop", "cache", {{"knd", "x"}}).status == 400);

  // Two kinds, one name: ambiguous without ?kind=.
  engine::Report twins = r;
  engine::WorkloadScore sts = twins.score.workloads.front();
  sts.ref.kind = "StatefulSet";
  twins.score.workloads.push_back(sts);
  ApiReply ambiguous = workloadReply(twins, state, "shop", "cache", {});
  CHECK(ambiguous.status == 400);
  CHECK(body(ambiguous)["error"].get<std::string>().find("?kind=") != std::string::npos);
  CHECK(workloadReply(twins, state, "shop", "cache", {{"kind", "Deployment"}}).status == 200);
}

TEST_CASE("HTTP: the live routes, their errors and hostile paths") {
  HttpApiFixture f;
  auto& model = f.model;
  auto& latest = f.latest;
  auto api = f.api();
  auto port = api->start();
  REQUIRE(port.has_value());
  const std::string base = "http://127.0.0.1:" + std::to_string(*port);
  REQUIRE(testing::waitUntil([&] { return testing::httpGet(base + "/healthz").status == 200; },
                             std::chrono::seconds(5)));
  auto get = [&](const std::string& path, long status) {
    auto r = testing::httpGet(base + path);
    CAPTURE(path);
    CHECK(r.status == status);
    auto j = json::parse(r.body, nullptr, false);
    CHECK_MESSAGE(j.is_object(), r.body);
    return j;
  };
  // Before the first evaluation.
  for (const char* path : {"/api/v1/score", "/api/v1/whatif", "/api/v1/workloads/shop/cache"}) {
    CHECK(get(path, 404)["error"].get<std::string>().find("no evaluation") != std::string::npos);
  }
  latest.set(std::make_shared<engine::Report>(smallReport()));
  {
    std::lock_guard lock(model.mu);
    report(model.state, "node-a", {}, 1'800'000'000'000);
  }
  json score = get("/api/v1/score?top=1", 200);
  CHECK(score["workloads"]["worst"].size() == 1);
  CHECK(score["agents"]["known"] == 1);
  CHECK(get("/api/v1/findings?severity=critical&namespace=shop", 200)["findings"].size() == 1);
  CHECK(get("/api/v1/findings?severity=nope", 400)["error"].is_string());
  CHECK(get("/api/v1/whatif?zone=zone-a", 200)["outage"].size() == 1);
  CHECK(get("/api/v1/whatif?zone=zone%2Da", 200)["name"] == "zone-a");  // decoded
  CHECK(get("/api/v1/whatif?node=%00%ff%22", 404)["error"].is_string());
  CHECK(get("/api/v1/workloads/shop/cache", 200)["workload"]["name"] == "cache");
  CHECK(get("/api/v1/workloads/shop/cach%65", 200)["workload"]["name"] == "cache");
  CHECK(get("/api/v1/workloads/shop/cache?kind=Deployment", 200)["lost"].is_number());
  CHECK(get("/api/v1/workloads/shop/nope", 404)["error"] ==
        "no workload shop/nope in the latest report");
  // A '/' inside a segment, extra or missing segments, garbage bytes.
  get("/api/v1/workloads/shop%2Fcache/x", 404);
  get("/api/v1/workloads/shop/cache/extra", 404);
  get("/api/v1/workloads/shop", 404);
  get("/api/v1/workloads", 404);
  get("/api/v1/workloads/%ff%fe/%00%0a%22%5c", 404);
  get("/api/v1/workloads/" + std::string(4000, 'a') + "/x", 404);
  get("/api/v1/workloads/shop/cache?kind=%ff", 404);
  api->stop();
}

// cpp-httplib sets SO_REUSEPORT by default: a second server of the same user
// then binds a taken port without an error and takes a share of its
// connections (two aggregators, or tests running in parallel, silently
// answering for each other). The aggregator's listener owns its port.
TEST_CASE("HTTP: a port in use is refused, not shared") {
  HttpApiFixture f;
  auto first = f.api();
  auto port = first->start();
  REQUIRE(port.has_value());
  auto taken = f.api(*port)->start();
  REQUIRE_FALSE(taken.has_value());
  CHECK(taken.error().message.find(std::to_string(*port)) != std::string::npos);
  first->stop();
  // Free again: a restart binds it (SO_REUSEADDR).
  auto third = f.api(*port);
  CHECK(third->start().has_value());
  third->stop();
}
