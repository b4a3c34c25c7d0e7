// The etcd prober's pure half on answers recorded from a real etcd 3.4.23
// (tests/data/etcd/, see its README), broken answers, the leader-change window
// and observe(); probeEndpoint through a scripted HttpClient; snapshot mtimes.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <utime.h>

#include <fstream>
#include <map>

#include "etcd/etcd.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::etcd;
using rampart::testing::readFile;
using rampart::testing::testData;

namespace {

std::string fixture(const std::string& name) {
  return readFile(testData("etcd/" + name));
}

// m1 a6bac19c5a26dc7f (12014127833235774591), m2 116a9b590eb6a477
// (1254986252977349751), m3 ce5aa57519ca9859 (14869379042079578201).
const std::string kM1 = "a6bac19c5a26dc7f";
const std::string kM2 = "116a9b590eb6a477";
const std::string kM3 = "ce5aa57519ca9859";
const std::string kE1 = "http://127.0.0.1:23791";
const std::string kE2 = "http://127.0.0.1:23792";
const std::string kE3 = "http://127.0.0.1:23793";

// A probe as probeEndpoint would fill it from the recorded answers.
EndpointProbe answered(const std::string& endpoint, const std::string& health, int health_status,
                       const std::string& status, const std::string& members,
                       const std::string& metrics) {
  EndpointProbe p;
  p.endpoint = endpoint;
  p.health = *parseHealth(health_status, fixture(health));
  p.status = *parseStatus(fixture(status));
  p.members = *parseMemberList(fixture(members));
  p.metrics = *parseMetrics(fixture(metrics));
  return p;
}

EndpointProbe refused(const std::string& endpoint) {
  EndpointProbe p;
  p.endpoint = endpoint;
  p.health_error =
      "connect 127.0.0.1:" + endpoint.substr(endpoint.rfind(':') + 1) + ": Connection refused";
  p.errors = 1;
  return p;
}

const engine::EtcdMemberState& member(const engine::EtcdObservation& o, const std::string& name) {
  for (const auto& m : o.members) {
    if (m.name == name) return m;
  }
  FAIL("no member " << name);
  return o.members.front();
}

}  // namespace

TEST_CASE("ids: decimal strings to etcdctl's hex") {
  CHECK(*hexId("12014127833235774591") == kM1);
  CHECK(*hexId("1254986252977349751") == kM2);
  CHECK(*hexId("18446744073709551615") == "ffffffffffffffff");
  CHECK_FALSE(hexId("18446744073709551616").has_value());  // overflow
  CHECK_FALSE(hexId("").has_value());
  CHECK_FALSE(hexId("12a").has_value());
}

TEST_CASE("recorded /health answers, and what is not one") {
  CHECK(parseHealth(200, fixture("health-ok.json"))->healthy);
  auto no_leader = parseHealth(503, fixture("health-no-leader.json"));
  REQUIRE(no_leader.has_value());
  CHECK_FALSE(no_leader->healthy);
  CHECK(parseHealth(503, R"({"health":"false","reason":"RAFT NO LEADER"})")->reason ==
        "RAFT NO LEADER");

  auto html = parseHealth(502, fixture("error-page.html"));
  REQUIRE_FALSE(html.has_value());
  CHECK(html.error().message.find("HTTP 502") != std::string::npos);
  CHECK(html.error().message.find("502 Bad Gateway") != std::string::npos);
  auto html200 = parseHealth(200, fixture("error-page.html"));
  REQUIRE_FALSE(html200.has_value());
  CHECK(html200.error().code == ErrorCode::kParse);
  CHECK_FALSE(parseHealth(200, R"({"health":true})").has_value());  // a bool is not etcd's
  CHECK_FALSE(parseHealth(200, "").has_value());
  CHECK_FALSE(parseHealth(200, "[]").has_value());
}

TEST_CASE("recorded status answers: ids as strings, the leader omitted without one") {
  auto leader = parseStatus(fixture("status-leader.json"));
  REQUIRE(leader.has_value());
  CHECK(leader->member_id == kM1);
  CHECK(leader->leader_id == kM1);
  CHECK(leader->version == "3.4.23");
  CHECK(leader->raft_term == 2);
  CHECK(leader->errors.empty());

  auto follower = parseStatus(fixture("status-follower.json"));
  REQUIRE(follower.has_value());
  CHECK(follower->member_id == kM2);
  CHECK(follower->leader_id == kM1);

  auto none = parseStatus(fixture("status-no-leader.json"));
  REQUIRE(none.has_value());
  CHECK(none->member_id == kM3);
  CHECK(none->leader_id.empty());
  CHECK(none->errors == std::vector<std::string>{"etcdserver: no leader"});

  // Numbers as numbers (other gateways) are read too; "0" is no leader.
  auto numeric = parseStatus(R"({"header":{"member_id":255},"leader":"0"})");
  REQUIRE(numeric.has_value());
  CHECK(numeric->member_id == "ff");
  CHECK(numeric->leader_id.empty());

  for (const char* bad :
       {"", "{", "null", R"({"version":"3.4.23"})", R"({"header":{"member_id":"-1"}})",
        R"({"header":{}})", R"({"header":{"member_id":"12"},"leader":"x"})"}) {
    CAPTURE(bad);
    CHECK_FALSE(parseStatus(bad).has_value());
  }
  auto truncated = parseStatus(fixture("status-truncated.json"));
  REQUIRE_FALSE(truncated.has_value());
  CHECK(truncated.error().code == ErrorCode::kParse);
  CHECK_FALSE(parseStatus(fixture("error-page.html")).has_value());
}

TEST_CASE("recorded member list: dead members are still listed") {
  auto all = parseMemberList(fixture("member-list.json"));
  REQUIRE(all.has_value());
  REQUIRE(all->size() == 3);
  CHECK((*all)[1].id == kM1);
  CHECK((*all)[1].name == "m1");
  CHECK((*all)[1].client_urls == std::vector<std::string>{kE1});
  CHECK((*all)[1].peer_urls == std::vector<std::string>{"http://127.0.0.1:23801"});
  CHECK_FALSE((*all)[1].learner);
  auto one_dead = parseMemberList(fixture("member-list-one-dead.json"));
  REQUIRE(one_dead.has_value());
  CHECK(one_dead->size() == 3);
  CHECK_FALSE(parseMemberList(R"({"members":[{"name":"x"}]})").has_value());
  CHECK_FALSE(parseMemberList(R"({"header":{}})").has_value());
  CHECK_FALSE(parseMemberList(fixture("error-page.html")).has_value());
}

TEST_CASE("recorded /metrics excerpts") {
  auto with = parseMetrics(fixture("metrics-leader.txt"));
  REQUIRE(with.has_value());
  CHECK(with->has_leader == true);
  CHECK(with->leader_changes == 1.0);
  auto without = parseMetrics(fixture("metrics-no-leader.txt"));
  REQUIRE(without.has_value());
  CHECK(without->has_leader == false);
  CHECK(without->leader_changes == 2.0);
  // Exponent notation, a timestamp, CRLF; a prefix of another name is not it.
  auto odd = parseMetrics(
      "etcd_server_has_leader_x 7\r\netcd_server_has_leader 1e+00 1700000000\r\n"
      "etcd_server_leader_changes_seen_total 4\r\n");
  REQUIRE(odd.has_value());
  CHECK(odd->has_leader == true);
  CHECK(odd->leader_changes == 4.0);
  CHECK_FALSE(parseMetrics(fixture("error-page.html")).has_value());
  CHECK_FALSE(parseMetrics("etcd_server_has_leader yes\n").has_value());
  CHECK_FALSE(parseMetrics("").has_value());
}

TEST_CASE("observe: all healthy, one killed, two killed, from recorded answers") {
  ProbeMemory memory;
  auto healthy = observe({answered(kE1, "health-ok.json", 200, "status-leader.json",
                                   "member-list.json", "metrics-leader.txt"),
                          answered(kE2, "health-ok.json", 200, "status-follower.json",
                                   "member-list.json", "metrics-leader.txt"),
                          answered(kE3, "health-ok.json", 200, "status-follower.json",
                                   "member-list.json", "metrics-leader.txt")},
                         memory);
  REQUIRE(healthy.members.size() == 3);
  CHECK(healthy.has_leader);
  CHECK(healthy.leader_id == kM1);
  CHECK(member(healthy, "m1").is_leader);
  CHECK(member(healthy, "m1").endpoint == kE1);
  for (const auto& m : healthy.members) CHECK(m.healthy);
  // status-follower.json is m2's answer: m3 is matched by its client URL.
  CHECK(member(healthy, "m3").endpoint == kE3);
  CHECK(memory.id_of_endpoint.at(kE1) == kM1);

  // m1 (the leader) SIGKILLed: m2 leads; m1 is listed and down.
  auto one = observe({refused(kE1),
                      answered(kE2, "health-ok.json", 200, "status-after-failover.json",
                               "member-list-one-dead.json", "metrics-leader.txt"),
                      answered(kE3, "health-ok.json", 200, "status-after-failover.json",
                               "member-list-one-dead.json", "metrics-leader.txt")},
                     memory);
  REQUIRE(one.members.size() == 3);
  CHECK(one.has_leader);
  CHECK(one.leader_id == kM2);
  CHECK_FALSE(member(one, "m1").healthy);
  CHECK(member(one, "m1").error.find("Connection refused") != std::string::npos);
  CHECK(member(one, "m1").id == kM1);
  CHECK(member(one, "m2").healthy);
  CHECK(member(one, "m2").is_leader);

  // m2 killed too: m3 answers 503 without a leader; it is alive, no leader.
  auto two = observe({refused(kE1), refused(kE2),
                      answered(kE3, "health-no-leader.json", 503, "status-no-leader.json",
                               "member-list-one-dead.json", "metrics-no-leader.txt")},
                     memory);
  REQUIRE(two.members.size() == 3);
  CHECK_FALSE(two.has_leader);
  CHECK(two.leader_id.empty());
  CHECK_FALSE(member(two, "m1").healthy);
  CHECK_FALSE(member(two, "m2").healthy);
  CHECK(member(two, "m3").healthy);

  // Nothing answers: the remembered members, all down.
  auto none = observe({refused(kE1), refused(kE2), refused(kE3)}, memory);
  REQUIRE(none.members.size() == 3);
  CHECK_FALSE(none.has_leader);
  for (const auto& m : none.members) CHECK_FALSE(m.healthy);
  CHECK(member(none, "m3").id == kM3);
}

TEST_CASE("observe: a member unhealthy while the others have a leader is down") {
  ProbeMemory memory;
  EndpointProbe partitioned = answered(kE3, "health-no-leader.json", 503, "status-no-leader.json",
                                       "member-list.json", "metrics-no-leader.txt");
  auto o = observe({answered(kE1, "health-ok.json", 200, "status-leader.json", "member-list.json",
                             "metrics-leader.txt"),
                    answered(kE2, "health-ok.json", 200, "status-follower.json", "member-list.json",
                             "metrics-leader.txt"),
                    partitioned},
                   memory);
  CHECK(o.has_leader);
  CHECK_FALSE(member(o, "m3").healthy);
  CHECK(member(o, "m3").error == "/health reports unhealthy: etcdserver: no leader");
}

TEST_CASE("observe: never a member list, endpoints stand in; unprobed members are named") {
  ProbeMemory memory;
  auto o = observe({refused(kE1), refused(kE2)}, memory);
  REQUIRE(o.members.size() == 2);
  CHECK(o.members[0].endpoint == kE1);
  CHECK(o.members[0].name.empty());
  CHECK_FALSE(o.has_leader);

  // Only m1's endpoint configured: m2 and m3 are probed at their client URLs.
  ProbeMemory m;
  std::vector<EndpointProbe> round = {answered(kE1, "health-ok.json", 200, "status-leader.json",
                                               "member-list.json", "metrics-leader.txt")};
  CHECK(unprobedMemberUrls(round, m).empty());  // no list yet
  observe(round, m);
  CHECK(unprobedMemberUrls(round, m) == std::vector<std::string>{kE2, kE3});
}

TEST_CASE("leader-change window: increments within the window, resets count from 0") {
  LeaderChangeWindow w(std::chrono::seconds(600));
  const int64_t t0 = 1'000'000;
  w.add("a", t0, 5);  // the baseline: history before the window is not counted
  CHECK(w.changes(t0) == 0);
  w.add("a", t0 + 1000, 6);
  w.add("a", t0 + 2000, 8);
  CHECK(w.changes(t0 + 2000) == 3);
  w.add("b", t0 + 2000, 10);
  w.add("b", t0 + 3000, 1);          // restarted: 0 -> 1
  CHECK(w.changes(t0 + 3000) == 3);  // the most one member saw
  // 10 minutes later the early changes leave the window.
  w.add("a", t0 + 601'500, 8);
  CHECK(w.changes(t0 + 601'500) == 2);  // 6 -> 8 remains; baseline 6 (t0+1000)
  w.add("a", t0 + 700'000, 8);
  CHECK(w.changes(t0 + 700'000) == 0);
}

namespace {

// Answers by "METHOD URL"; unknown requests are refused.
class ScriptedClient final : public HttpClient {
 public:
  std::map<std::string, Result<HttpAnswer>> answers;
  std::vector<std::string> asked;
  Result<HttpAnswer> request(std::string_view method, const std::string& url, std::string_view body,
                             std::chrono::milliseconds) override {
    std::string key = std::string(method) + " " + url;
    asked.push_back(key + (body.empty() ? "" : " " + std::string(body)));
    auto it = answers.find(key);
    if (it == answers.end()) return fail(ErrorCode::kNetwork, url + ": Connection refused");
    return it->second;
  }
};

}  // namespace

TEST_CASE("probeEndpoint: the four requests, errors counted, a dead member costs one") {
  ScriptedClient c;
  c.answers.emplace("GET " + kE1 + "/health", HttpAnswer{200, fixture("health-ok.json")});
  c.answers.emplace("POST " + kE1 + "/v3/maintenance/status",
                    HttpAnswer{200, fixture("status-leader.json")});
  c.answers.emplace("POST " + kE1 + "/v3/cluster/member/list",
                    HttpAnswer{502, fixture("error-page.html")});
  c.answers.emplace("GET " + kE1 + "/metrics", HttpAnswer{200, fixture("metrics-leader.txt")});
  auto p = probeEndpoint(c, kE1 + "/", std::chrono::milliseconds(500));
  CHECK(c.asked == std::vector<std::string>{
                       "GET " + kE1 + "/health", "POST " + kE1 + "/v3/maintenance/status {}",
                       "POST " + kE1 + "/v3/cluster/member/list {}", "GET " + kE1 + "/metrics"});
  CHECK(p.answered());
  CHECK(p.health->healthy);
  CHECK(p.status->member_id == kM1);
  CHECK_FALSE(p.members.has_value());
  CHECK(p.members_error.find("HTTP 502") != std::string::npos);
  CHECK(p.metrics->has_leader == true);
  CHECK(p.errors == 1);

  ScriptedClient dead;
  auto d = probeEndpoint(dead, kE2, std::chrono::milliseconds(500));
  CHECK(dead.asked.size() == 1);
  CHECK_FALSE(d.answered());
  CHECK(d.errors == 1);
  CHECK(d.firstError().find("Connection refused") != std::string::npos);
}

TEST_CASE("probeEndpoint over real HTTP: a closed port is an error, not a crash") {
  auto client = makeHttpClient({});
  REQUIRE(client.has_value());
  // Port 1 on loopback: nothing listens there in a test environment.
  auto p = probeEndpoint(**client, "http://127.0.0.1:1", std::chrono::milliseconds(500));
  CHECK_FALSE(p.answered());
  CHECK(p.errors == 1);
  CHECK_FALSE(p.health_error.empty());
  auto bad_ca = makeHttpClient({.ca_file = "/nonexistent/ca.pem"});
  REQUIRE_FALSE(bad_ca.has_value());
  CHECK(bad_ca.error().code == ErrorCode::kConfig);
}

TEST_CASE("snapshot age: newest regular file of a directory, or a marker") {
  rampart::testing::TempDir dir;
  auto set_mtime = [](const std::filesystem::path& p, int64_t t) {
    struct utimbuf times {
      static_cast<time_t>(t), static_cast<time_t>(t)
    };
    REQUIRE(::utime(p.c_str(), &times) == 0);
  };
  CHECK(*newestFileMtime(dir.path()) == std::nullopt);
  std::ofstream(dir / "snap-1.db") << "x";
  std::ofstream(dir / "snap-2.db") << "x";
  std::ofstream(dir / "snap-3.db.part") << "x";  // etcdctl's file in progress
  std::filesystem::create_directory(dir / "sub");
  set_mtime(dir / "snap-1.db", 1'700'000'000);
  set_mtime(dir / "snap-2.db", 1'700'000'500);
  set_mtime(dir / "snap-3.db.part", 1'700'009'999);
  set_mtime(dir / "sub", 1'700'009'999);
  CHECK(*newestFileMtime(dir.path()) == 1'700'000'500);
  CHECK_FALSE(newestFileMtime(dir / "missing").has_value());

  CHECK(*fileMtime(dir / "marker") == std::nullopt);
  std::ofstream(dir / "marker") << "";
  set_mtime(dir / "marker", 1'700'000'123);
  CHECK(*fileMtime(dir / "marker") == 1'700'000'123);
}
