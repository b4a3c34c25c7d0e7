// The agent's health endpoint (agent/health_server.h): the verdicts, and the
// real server on loopback answering probes, bad requests and hostile bytes.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "health_server.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::agent;
using namespace rampart::testing;
using namespace std::string_literals;

namespace {

HealthInputs base() {
  HealthInputs in;
  in.started_ms = 1'000'000;
  in.now_ms = 1'000'500;
  in.interval_ms = 1000;
  in.links = 1;
  return in;
}

// Sends raw bytes, returns the whole answer.
std::string raw(int port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  if (!bytes.empty()) REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) > 0);
  ::shutdown(fd, SHUT_WR);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

}  // namespace

TEST_CASE("health verdicts: liveness is the loop's progress only, readiness adds the pod list") {
  SUBCASE("just started: live (within the stall limit), not ready before a list and an interval") {
    HealthVerdict v = judgeHealth(base());
    CHECK(v.live);
    CHECK_FALSE(v.ready);
    CHECK(v.reason.find("pods have not been listed") != std::string::npos);
  }
  SUBCASE("pods listed and intervals running: live and ready, whatever the aggregator does") {
    HealthInputs in = base();
    in.pods_synced = true;
    in.intervals = 5;
    in.last_interval_ms = in.now_ms - 900;
    in.links_connected = 0;  // aggregator unreachable: no restart for that
    HealthVerdict v = judgeHealth(in);
    CHECK(v.live);
    CHECK(v.ready);
    CHECK(v.reason.empty());
    auto j = nlohmann::json::parse(v.json);
    CHECK(j["last_interval_age_ms"] == 900);
    CHECK(j["aggregator_links_connected"] == 0);
  }
  SUBCASE("a loop stalled past max(10 intervals, 30 s) is not live") {
    HealthInputs in = base();
    in.pods_synced = true;
    in.intervals = 5;
    in.last_interval_ms = in.now_ms - 30'001;
    HealthVerdict v = judgeHealth(in);
    CHECK_FALSE(v.live);
    CHECK_FALSE(v.ready);
    CHECK(v.reason.find("30001 ms") != std::string::npos);
    in.last_interval_ms = in.now_ms - 30'000;
    CHECK(judgeHealth(in).live);
  }
  SUBCASE("a slow interval setting stretches the limit") {
    CHECK(stallLimitMs(1000) == 30'000);
    CHECK(stallLimitMs(10'000) == 100'000);
  }
  SUBCASE("no interval ever completed: counted from the start") {
    HealthInputs in = base();
    in.now_ms = in.started_ms + 31'000;
    HealthVerdict v = judgeHealth(in);
    CHECK_FALSE(v.live);
    CHECK(v.reason.find("since the start") != std::string::npos);
  }
}

TEST_CASE("health server: probes over real HTTP, bad requests answered, never a crash") {
  std::atomic<bool> synced{false};
  auto server = HealthServer::start(
      "127.0.0.1:0",
      [&] {
        HealthInputs in = base();
        in.now_ms = in.started_ms + 100;
        in.intervals = 1;
        in.last_interval_ms = in.now_ms - 10;
        in.pods_synced = synced.load();
        return in;
      },
      nullLogger());
  REQUIRE(server.has_value());
  const int port = (*server)->port();
  REQUIRE(port > 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(port);

  auto live = httpGet(url + "/healthz");
  CHECK(live.status == 200);
  CHECK(nlohmann::json::parse(live.body)["live"] == true);
  auto ready = httpGet(url + "/readyz");
  CHECK(ready.status == 503);
  CHECK(nlohmann::json::parse(ready.body)["reason"].get<std::string>().find("listed") !=
        std::string::npos);
  synced = true;
  CHECK(httpGet(url + "/readyz?verbose=1").status == 200);

  CHECK(httpGet(url + "/metrics").status == 404);
  CHECK(httpRequest("POST", url + "/healthz", "{}").status == 405);
  CHECK(raw(port, "garbage\r\n\r\n").starts_with("HTTP/1.1 400"));
  CHECK(raw(port, std::string(10000, 'A')).starts_with("HTTP/1.1 400"));
  CHECK(raw(port, "").starts_with("HTTP/1.1 400"));  // connect and close at once
  CHECK(raw(port, "GET /healthz\0\xff HTTP/1.1\r\n\r\n"s).starts_with("HTTP/1.1"));
  // Still serving after all that.
  CHECK(httpGet(url + "/healthz").status == 200);
  (*server)->stop();
  CHECK(httpGet(url + "/healthz", 500ms).status != 200);
}

TEST_CASE("health server: bad --health-listen values are refused with the reason") {
  auto log = nullLogger();
  auto inputs = [] { return HealthInputs{}; };
  for (const char* bad : {"7402", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:12a", "host:80"}) {
    auto r = HealthServer::start(bad, inputs, log);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message.find("--health-listen") != std::string::npos);
  }
  // The port taken: a clear error, not a crash.
  auto first = HealthServer::start("127.0.0.1:0", inputs, log);
  REQUIRE(first.has_value());
  auto second = HealthServer::start("127.0.0.1:" + std::to_string((*first)->port()), inputs, log);
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error().message.find("cannot listen") != std::string::npos);
}
