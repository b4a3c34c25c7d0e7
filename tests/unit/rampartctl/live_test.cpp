// rampartctl's live commands: their renderings of the aggregator's documents
// (made by the aggregator's own functions from the engine's report of the
// small scenario) agree with the offline renderings of the same report; the
// commands against a real HTTP server that is missing, failing, or answering
// garbage exit 2 with a message naming the URL.
#include "live.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "audit.h"
#include "http/live_api.h"
#include "rampart/engine_input.h"
#include "rampart/engine_json.h"
#include "test_support.h"

using namespace rampart;
using nlohmann::json;

namespace {

constexpr int64_t kNow = 1767384600;

struct Small {
  engine::Snapshot snapshot;
  engine::Report report;
};

const Small& small() {
  static const Small kSmall = [] {
    ctl::AuditInput in;
    in.files = {testing::testData("dumps/small-kubectl.json").string(),
                testing::testData("dumps/small-velero.json").string()};
    std::istringstream none;
    auto objects = ctl::loadObjects(in, none);
    REQUIRE(objects.has_value());
    Small out;
    out.snapshot = engine::snapshotOf(std::move(*objects), kNow);
    out.report = engine::evaluate(out.snapshot, engine::Options{});
    return out;
  }();
  return kSmall;
}

json doc(const aggregator::ApiReply& r) {
  REQUIRE_MESSAGE(r.status == 200, r.body);
  return json::parse(r.body);
}

// The line of `text` that starts with `prefix`, or "".
std::string line(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) {
    if (l.starts_with(prefix)) return l;
  }
  return "";
}

// A real HTTP server on 127.0.0.1 answering every GET with `status` and `body`.
struct FakeServer {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  FakeServer(int status, const std::string& body) {
    server.Get(".*", [status, body](const httplib::Request&, httplib::Response& res) {
      res.status = status;
      res.set_content(body, "application/json");
    });
    port = server.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    thread = std::thread([this] { server.listen_after_bind(); });
    REQUIRE(testing::waitUntil([&] { return server.is_running(); }, std::chrono::seconds(5)));
  }
  ~FakeServer() {
    server.stop();
    thread.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

// A port nothing listens on: bound, then closed.
int deadPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

TEST_CASE("status: the audit's score and survival lines, agents, findings by severity") {
  const auto& r = small().report;
  json score = doc(aggregator::scoreReply(r, {3, 2, 2}, {}));
  std::string text = ctl::renderStatus(score, "http://agg:7401/", false);
  CHECK(text.starts_with("Rampart status  http://agg:7401  report 2026-01-02T20:10:00Z\n"));
  CHECK(line(text, "Cluster score") == "Cluster score 29.8 / 100");
  // The same survival sentences as the offline audit of the same report.
  std::string audit = ctl::renderText(r, small().snapshot, 10, false);
  CHECK(line(text, "Survives any single node loss:") ==
        line(audit, "Survives any single node loss:"));
  CHECK(line(text, "Survives any single zone loss:") ==
        line(audit, "Survives any single zone loss:"));
  CHECK(line(text, "Agents:") == "Agents: 2 connected of 3 known (2 synced)");
  CHECK(line(text, "Findings:") == "Findings: 13 (3 critical, 1 high, 4 medium, 4 low, 1 info)");
  CHECK(line(text, "Workloads:") == "Workloads: 5, 5 below 100");
  CHECK(line(text, "   42.84") == "   42.84  Deployment shop/cache  (2/2 ready)");
  CHECK(text.find("shop                     76.23") != std::string::npos);
  // Colour only when asked.
  CHECK(text.find('\033') == std::string::npos);
  CHECK(ctl::renderStatus(score, "x", true).find("\033[1;31m29.8") != std::string::npos);
}

TEST_CASE("findings: one entry per finding, the cluster's points, node and zone") {
  const auto& r = small().report;
  json all = doc(aggregator::findingsReply(r, {{"node", "node-a"}}));
  std::string text = ctl::renderFindings(all, false);
  CHECK(line(text, "CRITICAL") ==
        "CRITICAL   -4.57  workload.replicas-on-one-node  Deployment shop/cache  (node node-a)");
  CHECK(text.find("2/2 ready replicas of shop/cache on node node-a") != std::string::npos);
  CHECK(line(text, "2 finding(s)").starts_with("2 finding(s)"));
  CHECK(ctl::renderFindings(json{{"findings", json::array()}}, false).starts_with("0 finding(s)"));
}

TEST_CASE("whatif: the offline rendering of the same domains") {
  const auto& s = small();
  for (const auto& [level, name] : std::vector<std::pair<std::string, std::string>>{
           {"node", "node-a"}, {"zone", "zone-c"}, {"region", "region-1"}, {"", ""}}) {
    CAPTURE(level);
    aggregator::QueryParams p;
    if (!level.empty()) p[level] = name;
    std::string text = ctl::renderLiveWhatIf(doc(aggregator::whatifReply(s.report, p)), false);
    CHECK(text == "Live what-if, report 2026-01-02T20:10:00Z\n" +
                      ctl::renderWhatIf(s.report, s.snapshot, level, name, false));
  }
}

TEST_CASE("explain: the offline tree of the workload, then its pods and what takes it down") {
  const auto& r = small().report;
  aggregator::ClusterState none;
  json cache = doc(aggregator::workloadReply(r, none, "shop", "cache", {}));
  std::string text = ctl::renderWorkload(cache, false);
  std::string offline = ctl::renderExplain(r, "shop/cache", false);
  REQUIRE(!offline.empty());
  CHECK(text.starts_with(offline));
  CHECK(text.find("Pods (as the agents report them): 0 on 0 node(s) in 0 zone(s)") !=
        std::string::npos);
  CHECK(line(text, "Taken down by the loss of:") ==
        "Taken down by the loss of: node node-a; zone zone-a; region region-1");
  json db = doc(aggregator::workloadReply(r, none, "shop", "web", {}));
  CHECK(line(ctl::renderWorkload(db, false), "Taken down") ==
        "Taken down by the loss of: region region-1");

  // The cluster's tree from /api/v1/audit: the report read back renders as
  // the report itself.
  json audit = json::parse(engine::dumpReport(r));
  CHECK(ctl::renderExplain(ctl::reportFromJson(audit), "", false) ==
        ctl::renderExplain(r, "", false));
}

TEST_CASE("top: one frame of score, nodes, worst workloads and top findings") {
  const auto& r = small().report;
  json score = doc(aggregator::scoreReply(r, {3, 3, 3}, {{"top", "3"}}));
  json findings = doc(aggregator::findingsReply(r, {}));
  json nodes = json::parse(
      R"({"nodes":[{"name":"node-a","zone":"zone-a","agent":{"connected":true,"synced":true,)"
      R"("lastMessageAgeSeconds":0.2},"pods":4,"podsReady":4,"health":{}}]})");
  std::string text = ctl::renderTopFrame(score, nodes, findings, "http://a:1", 3, false);
  CHECK(text.starts_with("rampart top  http://a:1  report 2026-01-02T20:10:00Z\n"));
  CHECK(line(text, "score") ==
        "score 29.8   node loss FAILS (node-a)   zone loss FAILS (zone-a)   "
        "agents 3/3   findings 3 critical, 1 high, 4 medium, 4 low, 1 info");
  CHECK(text.find("node-a") != std::string::npos);
  CHECK(text.find("reporting") != std::string::npos);
  CHECK(text.find("Deployment shop/cache  (2/2 ready)") != std::string::npos);
  // Three findings, the costliest first.
  CHECK(text.find("whatif.node-loss") != std::string::npos);
  CHECK(text.find("workload.replicas-on-one-node") != std::string::npos);
  CHECK(text.find("placement.colocated-replicas") == std::string::npos);
}

TEST_CASE("documents of the wrong shape throw json errors, never crash") {
  CHECK_THROWS_AS(ctl::renderStatus(json{{"cluster", "x"}}, "s", false), json::exception);
  CHECK_THROWS_AS(ctl::renderStatus(json::object(), "s", false), json::exception);
  CHECK_THROWS_AS(ctl::renderFindings(json{{"findings", {{{"severity", 3}}}}}, false),
                  json::exception);
  CHECK_THROWS_AS(ctl::renderWorkload(json{{"workload", 1}}, false), json::exception);
  CHECK_THROWS_AS(ctl::renderLiveWhatIf(json{{"level", "node"}, {"outage", {1}}}, false),
                  json::exception);
}

TEST_CASE("commands: unreachable, non-200, not JSON, wrong JSON: exit 2 naming the URL") {
  auto run = [](const std::string& server, auto command) {
    std::ostringstream out, err;
    ctl::LiveOptions o;
    o.server = server;
    int rc = command(o, out, err);
    return std::tuple{rc, out.str(), err.str()};
  };
  auto status = [](const ctl::LiveOptions& o, std::ostream& out, std::ostream& err) {
    return ctl::status(o, out, err);
  };
  const std::string dead = "http://127.0.0.1:" + std::to_string(deadPort());
  {
    auto [rc, out, err] = run(dead, status);
    CHECK(rc == ctl::kLiveServer);
    CHECK(out.empty());
    CHECK(err.find("cannot reach the aggregator at " + dead + "/api/v1/score") !=
          std::string::npos);
  }
  {
    FakeServer s(404, R"({"error":"no workload shop/x in the latest report"})");
    auto [rc, out, err] =
        run(s.url(), [](const ctl::LiveOptions& o, std::ostream& out, std::ostream& err) {
          return ctl::explainLive(o, "shop/x", out, err);
        });
    CHECK(rc == ctl::kLiveServer);
    CHECK(err == "rampartctl: " + s.url() +
                     "/api/v1/workloads/shop/x: HTTP 404: no workload shop/x in the latest "
                     "report\n");
  }
  {
    FakeServer s(500, "<html>oops</html>");
    auto [rc, out, err] = run(s.url(), status);
    CHECK(rc == ctl::kLiveServer);
    CHECK(err.find(s.url() + "/api/v1/score: HTTP 500") != std::string::npos);
  }
  for (const char* garbage : {"{\"cluster\": ", "[1,2]", "\xff\xfe", "{\"cluster\":\"high\"}"}) {
    CAPTURE(garbage);
    FakeServer s(200, garbage);
    for (auto cmd : {+[](const ctl::LiveOptions&o, std::ostream&out, std::ostream&err) {
                       return ctl::status(o, out, err);
                     },
                     +[](const ctl::LiveOptions&o, std::ostream&out, std::ostream&err) {
                       return ctl::findings(o, {}, out, err);
                     },
                     +[](const ctl::LiveOptions&o, std::ostream&out, std::ostream&err) {
                       return ctl::whatifLive(o, "node", "a", out, err);
                     },
                     +[](const ctl::LiveOptions&o, std::ostream&out, std::ostream&err) {
                       return ctl::explainLive(o, "ns/w", out, err);
                     },
                     +[](const ctl::LiveOptions&o, std::ostream&out, std::ostream&err) {
                       ctl::TopOptions t;
                       t.once = true;
                       return ctl::top(o, t, out, err);
                     }}) {
      auto [rc, out, err] = run(s.url(), cmd);
      CHECK(rc == ctl::kLiveServer);
      CHECK(err.find(s.url()) != std::string::npos);
    }
  }
  // Usage errors: exit 1.
  std::ostringstream out, err;
  CHECK(ctl::explainLive({dead, "text", false}, "just-a-name", out, err) == ctl::kLiveUsage);
  CHECK(ctl::status({dead, "yaml", false}, out, err) == ctl::kLiveUsage);
  CHECK(ctl::status({"127.0.0.1:7401", "text", false}, out, err) == ctl::kLiveServer);
}

TEST_CASE("RAMPART_SERVER sets the default server") {
  ::setenv("RAMPART_SERVER", "http://agg.example:9000", 1);
  CHECK(ctl::defaultServer() == "http://agg.example:9000");
  ::setenv("RAMPART_SERVER", "", 1);
  CHECK(ctl::defaultServer() == "http://127.0.0.1:7401");
  ::unsetenv("RAMPART_SERVER");
  CHECK(ctl::defaultServer() == ctl::kDefaultServer);
}
