// rampartctl audit / whatif / explain as functions: inputs (files,
// directories, stdin, bad files), formats, exit codes, determinism and the
// golden reports of the demo and small scenarios.
#include "audit.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_support.h"

using namespace rampart;
using rampart::testing::testData;

namespace {

constexpr int64_t kNow = 1767384600;  // 2026-01-02T20:10:00Z, just after the dumps were made

struct Run {
  int rc = 0;
  std::string out;
  std::string err;
};

ctl::AuditInput dumpInput(const std::string& scenario) {
  ctl::AuditInput in;
  in.files = {testData("dumps/" + scenario + "-kubectl.json").string(),
              testData("dumps/" + scenario + "-velero.json").string()};
  in.now_unix = kNow;
  return in;
}

Run audit(const ctl::AuditOptions& o, const std::string& stdin_text = "") {
  std::istringstream in(stdin_text);
  std::ostringstream out, err;
  Run r;
  r.rc = ctl::audit(o, in, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

std::string readText(const std::filesystem::path& p) {
  std::ifstream f(p);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

}  // namespace

TEST_CASE("audit JSON of the demo dump: contract shape and invariants") {
  ctl::AuditOptions o;
  o.input = dumpInput("demo");
  o.format = "json";
  Run r = audit(o);
  REQUIRE(r.rc == ctl::kExitOk);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["schema"] == "rampart.audit/v1");
  CHECK(j["generated_at"] == "2026-01-02T20:10:00Z");
  CHECK(j["partial"] == false);
  REQUIRE(j["findings"].is_array());
  REQUIRE(!j["findings"].empty());

  // Every finding has every contract field; points add up per workload and
  // for the cluster.
  double cluster_points = 0;
  std::map<std::string, double> lost;
  for (const auto& f : j["findings"]) {
    for (const char* k :
         {"check", "severity", "hard", "subject", "workload", "pods", "node", "zone", "details",
          "message", "remediation", "runbook", "points", "cluster_points"}) {
      CAPTURE(k);
      CHECK(f.contains(k));
    }
    cluster_points += f["cluster_points"].get<double>();
    if (!f["workload"].is_null()) {
      lost[f["workload"]["kind"].get<std::string>() + "/" +
           f["workload"]["namespace"].get<std::string>() + "/" +
           f["workload"]["name"].get<std::string>()] += f["points"].get<double>();
    }
  }
  CHECK(cluster_points ==
        doctest::Approx(100.0 - j["score"]["cluster"].get<double>()).epsilon(1e-9));
  for (const auto& w : j["score"]["workloads"]) {
    std::string key = w["kind"].get<std::string>() + "/" + w["namespace"].get<std::string>() + "/" +
                      w["name"].get<std::string>();
    CAPTURE(key);
    CHECK(lost[key] == doctest::Approx(100.0 - w["score"].get<double>()).epsilon(1e-9));
  }

  // The demo's deliberate weaknesses are found.
  auto has = [&](const std::string& check, const std::string& name) {
    for (const auto& f : j["findings"]) {
      if (f["check"] == check && f["subject"]["name"] == name) return true;
    }
    return false;
  };
  CHECK(has("workload.single-replica", "payments"));
  CHECK(has("workload.replicas-on-one-node", "cart"));
  CHECK(has("whatif.node-loss", ""));
  // worker-a1 holds every cart replica.
  bool cart_outage = false;
  for (const auto& d : j["whatif"]["nodes"]) {
    if (d["name"] != "worker-a1") continue;
    for (const auto& w : d["outage"]) cart_outage |= w["name"] == "cart";
  }
  CHECK(cart_outage);
}

TEST_CASE("the same input gives the same bytes, whatever the file order") {
  ctl::AuditOptions a;
  a.input = dumpInput("demo");
  a.format = "json";
  ctl::AuditOptions b = a;
  std::swap(b.input.files[0], b.input.files[1]);
  Run ra = audit(a), rb = audit(a), rc = audit(b);
  CHECK(ra.out == rb.out);
  // Velero objects first or last: the same report.
  CHECK(ra.out == rc.out);
}

TEST_CASE("golden reports of the demo and small scenarios") {
  // RAMPART_UPDATE_GOLDEN=1 rewrites them after a deliberate change.
  const bool update = std::getenv("RAMPART_UPDATE_GOLDEN") != nullptr;
  for (const char* scenario : {"demo", "small"}) {
    for (const char* format : {"json", "text", "markdown"}) {
      CAPTURE(scenario);
      CAPTURE(format);
      ctl::AuditOptions o;
      o.input = dumpInput(scenario);
      o.format = format;
      Run r = audit(o);
      REQUIRE(r.rc == ctl::kExitOk);
      std::string ext = std::string(format) == "json"   ? "json"
                        : std::string(format) == "text" ? "txt"
                                                        : "md";
      auto path = testData("golden/audit-" + std::string(scenario) + "." + ext);
      if (update) {
        std::ofstream(path) << r.out;
        continue;
      }
      REQUIRE(std::filesystem::exists(path));
      CHECK(r.out == readText(path));
    }
  }
}

TEST_CASE("--fail-below sets the exit code") {
  ctl::AuditOptions o;
  o.input = dumpInput("demo");
  o.format = "json";
  Run base = audit(o);
  double score = nlohmann::json::parse(base.out)["score"]["cluster"].get<double>();
  o.fail_below = score + 0.01;
  Run below = audit(o);
  CHECK(below.rc == ctl::kExitBelowScore);
  CHECK(below.err.find("is below") != std::string::npos);
  o.fail_below = score;
  CHECK(audit(o).rc == ctl::kExitOk);
}

TEST_CASE("inputs: stdin, directories, missing and broken files") {
  std::string dump = readText(testData("dumps/small-kubectl.json"));

  SUBCASE("stdin") {
    ctl::AuditOptions o;
    o.input.files = {"-"};
    o.input.now_unix = kNow;
    o.format = "json";
    Run r = audit(o, dump);
    CHECK(r.rc == ctl::kExitOk);
    CHECK(nlohmann::json::parse(r.out)["score"]["workloads"].size() > 0);
  }
  SUBCASE("a directory: every *.json in name order") {
    testing::TempDir dir;
    std::ofstream(dir.path() / "a.json") << dump;
    std::ofstream(dir.path() / "b.txt") << "not json, not read";
    ctl::AuditOptions o;
    o.input.files = {dir.path().string()};
    o.input.now_unix = kNow;
    Run r = audit(o);
    CHECK(r.rc == ctl::kExitOk);
    CHECK(r.err.find("b.txt") == std::string::npos);
  }
  SUBCASE("a missing file is an error naming it") {
    ctl::AuditOptions o;
    o.input.files = {"/nonexistent/dump.json"};
    Run r = audit(o);
    CHECK(r.rc == ctl::kExitError);
    CHECK(r.err.find("/nonexistent/dump.json: no such file or directory") != std::string::npos);
  }
  SUBCASE("garbage alone is an error; next to a good file it is a partial result") {
    testing::TempDir dir;
    std::ofstream(dir.path() / "bad.json") << "{\"kind\": \"List\", \"items\": [ {\"kind\":";
    std::ofstream(dir.path() / "junk.json") << "\x01\x02 definitely not json";
    ctl::AuditOptions o;
    o.input.files = {(dir.path() / "junk.json").string()};
    Run r = audit(o);
    CHECK(r.rc == ctl::kExitError);
    CHECK(r.err.find("junk.json") != std::string::npos);

    std::ofstream(dir.path() / "good.json") << dump;
    o.input.files = {(dir.path() / "junk.json").string(), (dir.path() / "good.json").string()};
    o.input.now_unix = kNow;
    o.format = "json";
    Run p = audit(o);
    CHECK(p.rc == ctl::kExitOk);
    auto j = nlohmann::json::parse(p.out);
    CHECK(j["partial"] == true);
    CHECK(j["warnings"][0].get<std::string>().find("junk.json") != std::string::npos);
  }
  SUBCASE("pods on nodes absent from the dump: flagged partial, still audited") {
    auto j = nlohmann::json::parse(dump);
    nlohmann::json pods_only = {
        {"apiVersion", "v1"}, {"kind", "List"}, {"items", nlohmann::json::array()}};
    for (const auto& item : j["items"]) {
      if (item["kind"] == "Pod") pods_only["items"].push_back(item);
    }
    ctl::AuditOptions o;
    o.input.files = {"-"};
    o.input.now_unix = kNow;
    o.format = "json";
    Run r = audit(o, pods_only.dump());
    REQUIRE(r.rc == ctl::kExitOk);
    auto out = nlohmann::json::parse(r.out);
    CHECK(out["partial"] == true);
    CHECK(out["warnings"].dump().find("absent from the input") != std::string::npos);
    CHECK(!out["score"]["workloads"].empty());
  }
  SUBCASE("no input at all") {
    ctl::AuditOptions o;
    Run r = audit(o);
    CHECK(r.rc == ctl::kExitError);
    CHECK(r.err.find("no input") != std::string::npos);
  }
  SUBCASE("a bad --format") {
    ctl::AuditOptions o;
    o.input = dumpInput("small");
    o.format = "yaml";
    CHECK(audit(o).rc == ctl::kExitError);
  }
}

TEST_CASE("whatif and explain") {
  std::istringstream in;
  std::ostringstream out, err;
  ctl::WhatIfOptions w;
  w.input = dumpInput("demo");
  w.node = "worker-a1";
  REQUIRE(ctl::whatif(w, in, out, err) == ctl::kExitOk);
  CHECK(out.str().find("Losing node worker-a1") != std::string::npos);
  CHECK(out.str().find("Deployment shop/cart") != std::string::npos);

  std::ostringstream out2, err2;
  w.node.clear();
  w.zone = "no-such-zone";
  CHECK(ctl::whatif(w, in, out2, err2) == ctl::kExitError);
  CHECK(err2.str().find("no zone named no-such-zone") != std::string::npos);

  std::ostringstream out3, err3;
  w.zone = "eu-west-1a";
  w.format = "json";
  REQUIRE(ctl::whatif(w, in, out3, err3) == ctl::kExitOk);
  auto j = nlohmann::json::parse(out3.str());
  CHECK(j["name"] == "eu-west-1a");
  CHECK(j["outage"].is_array());

  std::ostringstream out4, err4;
  ctl::ExplainOptions e;
  e.input = dumpInput("demo");
  REQUIRE(ctl::explain(e, in, out4, err4) == ctl::kExitOk);
  CHECK(out4.str().rfind("cluster ", 0) == 0);
  CHECK(out4.str().find("cluster-level findings") != std::string::npos);

  std::ostringstream out5, err5;
  e.workload = "shop/cart";
  REQUIRE(ctl::explain(e, in, out5, err5) == ctl::kExitOk);
  CHECK(out5.str().find("Deployment shop/cart: score") != std::string::npos);
  CHECK(out5.str().find("workload.replicas-on-one-node") != std::string::npos);

  std::ostringstream out6, err6;
  e.workload = "shop/nope";
  CHECK(ctl::explain(e, in, out6, err6) == ctl::kExitError);
}
