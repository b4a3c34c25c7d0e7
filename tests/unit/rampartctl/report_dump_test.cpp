// engine::dumpReport() writes the audit JSON without building a tree: it must
// give the bytes of reportToJson(report).dump(...) for every report, indent
// and error handler, since rampartctl, the aggregator and the golden files
// rely on those bytes.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "audit.h"
#include "cluster_gen.h"
#include "rampart/engine.h"
#include "rampart/engine_input.h"
#include "rampart/engine_json.h"
#include "rampart/k8s_objects.h"
#include "test_support.h"

using namespace rampart;
using rampart::testing::testData;
using Json = nlohmann::ordered_json;

namespace {

constexpr int64_t kNow = 1767384600;  // as in audit_test.cpp: the golden reports' clock

engine::Report scenarioReport(const std::string& scenario) {
  ctl::AuditInput in;
  in.files = {testData("dumps/" + scenario + "-kubectl.json").string(),
              testData("dumps/" + scenario + "-velero.json").string()};
  std::istringstream none;
  Result<k8s::Objects> objects = ctl::loadObjects(in, none);
  REQUIRE(objects);
  engine::Snapshot s = engine::snapshotOf(std::move(*objects), kNow);
  return engine::evaluate(s, {});
}

std::string readText(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void checkReplace(const engine::Report& r) {
  for (int indent : {-1, 0, 2, 4}) {
    CAPTURE(indent);
    CHECK(engine::dumpReport(r, indent, Json::error_handler_t::replace) ==
          engine::reportToJson(r).dump(indent, ' ', false, Json::error_handler_t::replace));
  }
}

void checkSame(const engine::Report& r) {
  for (int indent : {-1, 0, 2, 4}) {
    CAPTURE(indent);
    CHECK(engine::dumpReport(r, indent) == engine::reportToJson(r).dump(indent));
  }
  checkReplace(r);
}

engine::ObjectRef ref(std::string kind, std::string ns, std::string name) {
  return {std::move(kind), std::move(ns), std::move(name)};
}

}  // namespace

TEST_CASE("dumpReport gives the golden reports' bytes") {
  for (const char* scenario : {"demo", "small"}) {
    CAPTURE(scenario);
    engine::Report r = scenarioReport(scenario);
    REQUIRE(!r.findings.empty());
    // rampartctl audit --format json prints dump(2) and a newline.
    CHECK(engine::dumpReport(r, 2) + "\n" ==
          readText(testData("golden/audit-" + std::string(scenario) + ".json")));
    checkSame(r);
  }
}

TEST_CASE("dumpReport of a generated cluster equals the tree's dump") {
  bench::ClusterShape shape;
  shape.pods = 1000;
  shape.nodes = 36;
  bench::GeneratedCluster g = bench::generateCluster(shape);
  k8s::Objects objects;
  REQUIRE(k8s::decodeObjects(std::move(g.json), objects));
  engine::Snapshot s = engine::snapshotOf(std::move(objects), 1790000000);
  engine::Report r = engine::evaluate(s, {});
  REQUIRE(r.findings.size() > 100);
  checkSame(r);
}

TEST_CASE("dumpReport: empty reports, odd strings, nested details") {
  engine::Report empty;
  checkSame(empty);

  engine::Report r;
  r.now_unix = 1767384600;
  r.partial = true;
  r.warnings = {"plain",
                "quote \" and backslash \\",
                "tab\tnewline\ncontrol \x01\x1f",
                "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x9a\x80",
                "del \x7f",
                ""};
  r.score.cluster = 8123;
  r.score.namespaces = {{"", 10000}, {"a\"b", 5050}, {"caf\xc3\xa9", 1}, {"z", 0}};
  r.score.workloads.push_back({ref("Deployment", "shop", "web"), 9999, 0.12345, 3, 2});
  r.score.workloads.push_back({ref("StatefulSet", "", "\xe2\x9c\x93"), 0, 1e-7, 0, 0});
  r.score.workloads.push_back({ref("Job", "j", "big"), 10000, 123456789.0, -1, 2147483647});
  engine::Finding f;
  f.check = "placement.anti-affinity";
  f.severity = engine::Severity::kCritical;
  f.hard = true;
  f.subject = ref("Deployment", "shop", "web");
  f.workload = ref("Deployment", "shop", "web");
  f.pods = {"shop/web-1", "shop/web-\xc3\xa9"};
  f.node = "node-1";
  f.details = {{"replicas", 3},
               {"nested", {{"empty_object", Json::object()}, {"empty_array", Json::array()}}},
               {"list", {1, 2.5, "x\ny", nullptr, true, {{"k", "v"}}}},
               {"negative", -7},
               {"big", 18446744073709551615ULL}};
  f.message = "3 of 3 replicas on one node";
  f.points = 1234;
  f.cluster_points = -5;
  r.findings.push_back(f);
  engine::Finding g;  // defaults: no workload, no node or zone, empty details
  g.check = "x";
  r.findings.push_back(g);
  engine::DomainImpact d;
  d.name = "zone-a";
  d.nodes = {"n1", "n2"};
  d.outage = {ref("Deployment", "shop", "web")};
  d.quorum_lost = {ref("Etcd", "kube-system", "etcd"), ref("StatefulSet", "db", "pg")};
  r.whatif.zones = {d, engine::DomainImpact{}};
  r.whatif.nodes = {d};
  checkSame(r);
}

TEST_CASE("dumpReport: invalid UTF-8 throws under strict, is replaced under replace") {
  engine::Report r;
  r.warnings = {"bad \xff byte"};
  CHECK_THROWS_AS((void)engine::reportToJson(r).dump(), nlohmann::json::type_error);
  CHECK_THROWS_AS((void)engine::dumpReport(r), nlohmann::json::type_error);
  checkReplace(r);
  engine::Finding f;
  f.check = "x";
  f.message = "cut \xe2\x9c";
  r.warnings.clear();
  r.findings.push_back(f);
  CHECK_THROWS_AS((void)engine::dumpReport(r, 2), nlohmann::json::type_error);
  checkReplace(r);
}

TEST_CASE("dumpReport: namespaces out of order or repeated read as the tree keeps them") {
  engine::Report r;
  r.score.namespaces = {{"b", 100}, {"a", 200}, {"b", 300}};
  checkSame(r);
}
