// The agent's node-local probes (agent/probes.h): configuration parsing, the
// real executor against local servers (200, 500, slow, closed and listening
// TCP ports, the API server probe's bearer token), and the runner's counting.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "probes.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::agent;
using namespace std::chrono_literals;

namespace {

struct LocalServer {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::atomic<int> status{200};
  std::string last_auth;
  std::mutex mu;

  LocalServer() {
    server.Get("/health", [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard lock(mu);
        last_auth = req.get_header_value("Authorization");
      }
      res.status = status.load();
      res.set_content("x", "text/plain");
    });
    server.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(1500ms);
      res.set_content("late", "text/plain");
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
  }
  ~LocalServer() {
    server.stop();
    thread.join();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port) + path;
  }
};

// A port that was just free: bound, read back and closed (nothing listens).
int closedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

ProbeSpec httpProbe(std::string name, std::string url, std::chrono::milliseconds timeout = 1000ms) {
  ProbeSpec p;
  p.name = std::move(name);
  p.kind = ProbeKind::kHttp;
  p.target = std::move(url);
  p.timeout = timeout;
  return p;
}

ProbeSpec tcp(std::string name, int port) {
  ProbeSpec p;
  p.name = std::move(name);
  p.kind = ProbeKind::kTcp;
  p.target = "127.0.0.1:" + std::to_string(port);
  p.timeout = 1000ms;
  return p;
}

}  // namespace

TEST_CASE("probe config: the documented YAML parses") {
  auto probes = parseProbeConfig(R"(
probes:
  - name: web
    type: http
    url: "http://10.0.0.7:8080/healthz?full=1"
    timeoutMs: 500
    expectStatus: "200-299"
  - {name: db, type: tcp, address: "10.0.0.5:5432"}
  - {name: tls, type: http, url: "https://example.internal/", insecureSkipTLSVerify: true}
)");
  REQUIRE(probes.has_value());
  REQUIRE(probes->size() == 3);
  CHECK((*probes)[0].kind == ProbeKind::kHttp);
  CHECK((*probes)[0].target == "http://10.0.0.7:8080/healthz?full=1");
  CHECK((*probes)[0].timeout == 500ms);
  CHECK((*probes)[0].status_min == 200);
  CHECK((*probes)[0].status_max == 299);
  CHECK((*probes)[1].kind == ProbeKind::kTcp);
  CHECK((*probes)[1].timeout == 1000ms);
  CHECK((*probes)[1].status_max == 399);
  CHECK((*probes)[2].insecure_skip_tls_verify);
  CHECK(parseProbeConfig("")->empty());
}

TEST_CASE("probe config: bad entries are refused with the culprit named") {
  const std::pair<const char*, const char*> bad[] = {
      {"probes: {name: x}", "probes"},
      {"other: 1", "unknown key"},
      {"probes: [{name: a, type: udp, address: 'h:1'}]", "type must be http or tcp"},
      {"probes: [{name: a, type: http}]", "needs `url`"},
      {"probes: [{name: a, type: tcp, url: 'http://x'}]", "needs `address`"},
      {"probes: [{name: a, type: tcp, address: 'nohost'}]", "HOST:PORT"},
      {"probes: [{name: a, type: tcp, address: 'h:99999'}]", "bad port"},
      {"probes: [{name: A!, type: tcp, address: 'h:1'}]", "must be 1-63"},
      {"probes: [{name: a, type: tcp, address: 'h:1'}, {name: a, type: tcp, address: 'h:2'}]",
       "used twice"},
      {"probes: [{name: a, type: http, url: 'ftp://x'}]", "http:// or https://"},
      {"probes: [{name: a, type: http, url: 'http://x', expectStatus: 'abc'}]", "N or N-M"},
      {"probes: [{name: a, type: http, url: 'http://x', expectStatus: '300-200'}]", "100-599"},
      {"probes: [{name: a, type: http, url: 'http://x', timeoutMs: 0}]", "timeout"},
      {"probes: [{name: a, type: http, url: 'http://x', colour: red}]", "unknown key"},
      {"probes: [{name: a, type: http, url: [1]}]", "scalar"},
      {"probes: [", "probe config"},
  };
  for (const auto& [yaml, expect] : bad) {
    CAPTURE(yaml);
    auto r = parseProbeConfig(yaml);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message.find(expect) != std::string::npos);
  }
}

TEST_CASE("--probe flags and loadProbes: built-ins first, names unique across all") {
  auto web = parseProbeFlag("web=http://127.0.0.1:8080/healthz");
  REQUIRE(web.has_value());
  CHECK(web->kind == ProbeKind::kHttp);
  auto db = parseProbeFlag("db=tcp://10.0.0.5:5432");
  REQUIRE(db.has_value());
  CHECK(db->kind == ProbeKind::kTcp);
  CHECK(db->target == "10.0.0.5:5432");
  CHECK_FALSE(parseProbeFlag("nothing").has_value());
  CHECK_FALSE(parseProbeFlag("x=tcp://nohost").has_value());

  KubeCredentials creds;
  creds.server = "https://10.0.0.1:6443";
  auto all = loadProbes("http://127.0.0.1:10248/healthz", creds, "/readyz", "",
                        {"web=http://127.0.0.1:8080/"});
  REQUIRE(all.has_value());
  REQUIRE(all->size() == 3);
  CHECK((*all)[0].name == "kubelet");
  CHECK((*all)[1].name == "apiserver");
  CHECK((*all)[1].target == "https://10.0.0.1:6443/readyz");
  CHECK((*all)[2].name == "web");
  CHECK(loadProbes("", std::nullopt, "/readyz", "", {})->empty());
  auto clash =
      loadProbes("http://127.0.0.1:10248/healthz", std::nullopt, "", "", {"kubelet=http://x/"});
  REQUIRE_FALSE(clash.has_value());
  CHECK(clash.error().message.find("used twice") != std::string::npos);
  auto missing = loadProbes("", std::nullopt, "", "/nonexistent/probes.yaml", {});
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message.find("/nonexistent/probes.yaml") != std::string::npos);
}

TEST_CASE("the real executor: 200, 500, a status range, slow, closed and listening TCP ports") {
  LocalServer server;
  NetProbeExecutor exec;
  std::atomic<bool> stop{false};

  auto ok = exec.run(httpProbe("web", server.url("/health")), stop);
  CHECK(ok.ok);
  CHECK(ok.error.empty());
  CHECK(ok.latency_ms > 0);
  CHECK(ok.latency_ms < 1000);

  server.status = 500;
  auto bad = exec.run(httpProbe("web", server.url("/health")), stop);
  CHECK_FALSE(bad.ok);
  CHECK(bad.error.find("HTTP 500") != std::string::npos);

  ProbeSpec any = httpProbe("any", server.url("/health"));
  any.status_min = 200;
  any.status_max = 599;
  CHECK(exec.run(any, stop).ok);

  server.status = 200;
  auto slow = exec.run(httpProbe("slow", server.url("/slow"), 200ms), stop);
  CHECK_FALSE(slow.ok);
  CHECK(slow.error.find("timed out after 200 ms") != std::string::npos);
  CHECK(slow.latency_ms >= 190);
  CHECK(slow.latency_ms < 1400);

  auto refused =
      exec.run(httpProbe("web", "http://127.0.0.1:" + std::to_string(closedPort()) + "/"), stop);
  CHECK_FALSE(refused.ok);
  CHECK_FALSE(refused.error.empty());

  CHECK(exec.run(tcp("open", server.port), stop).ok);
  auto closed = exec.run(tcp("closed", closedPort()), stop);
  CHECK_FALSE(closed.ok);
  CHECK_FALSE(closed.error.empty());
}

TEST_CASE("the API server probe sends the agent's bearer token; other probes send none") {
  LocalServer server;
  KubeCredentials creds;
  creds.server = "http://127.0.0.1:" + std::to_string(server.port);
  creds.token = "s3cret";
  NetProbeExecutor exec(creds);
  std::atomic<bool> stop{false};
  auto specs = builtinProbes("", creds, "/health");
  REQUIRE(specs.size() == 1);
  CHECK(specs[0].kind == ProbeKind::kApiServer);
  CHECK(exec.run(specs[0], stop).ok);
  {
    std::lock_guard lock(server.mu);
    CHECK(server.last_auth == "Bearer s3cret");
  }
  CHECK(exec.run(httpProbe("web", server.url("/health")), stop).ok);
  std::lock_guard lock(server.mu);
  CHECK(server.last_auth.empty());
}

namespace {

// Answers from a script, one outcome per call per probe.
class ScriptedExecutor : public ProbeExecutor {
 public:
  std::map<std::string, std::vector<bool>> script;
  std::map<std::string, size_t> calls;
  ProbeAttempt run(const ProbeSpec& spec, const std::atomic<bool>&) override {
    auto& steps = script[spec.name];
    size_t i = calls[spec.name]++;
    bool ok = steps.empty() ? true : steps[std::min(i, steps.size() - 1)];
    return ProbeAttempt{ok, 1.5, ok ? "" : "boom"};
  }
};

}  // namespace

TEST_CASE("the runner counts consecutive failures and reports flips of health") {
  auto exec = std::make_unique<ScriptedExecutor>();
  exec->script["a"] = {true, false, false, false, true};
  exec->script["b"] = {false};
  int changes = 0;
  ProbeRunner runner({tcp("a", 1), tcp("b", 2)}, std::move(exec), 1000ms, nullLogger(),
                     [&] { ++changes; });
  CHECK(runner.results().empty());
  runner.runOnce();
  auto r = runner.results();
  REQUIRE(r.size() == 2);
  CHECK(r[0].ok);
  CHECK(r[0].consecutive_failures == 0);
  CHECK_FALSE(r[1].ok);
  CHECK(r[1].consecutive_failures == 1);
  CHECK(r[1].error == "boom");
  CHECK(r[1].kind == ProbeKind::kTcp);
  CHECK(r[1].target == "127.0.0.1:2");
  CHECK(r[1].checked_at_ms > 0);
  CHECK(changes == 2);  // first results
  const uint64_t v1 = runner.version();

  runner.runOnce();  // a fails
  CHECK(runner.results()[0].consecutive_failures == 1);
  CHECK(runner.results()[1].consecutive_failures == 2);
  CHECK(changes == 3);
  CHECK(runner.version() == v1 + 1);
  runner.runOnce();
  runner.runOnce();
  CHECK(runner.results()[0].consecutive_failures == 3);
  CHECK(runner.results()[1].consecutive_failures == 4);
  CHECK(changes == 3);  // failing on: no flip
  runner.runOnce();     // a recovers
  CHECK(runner.results()[0].ok);
  CHECK(runner.results()[0].consecutive_failures == 0);
  CHECK(changes == 4);
}

TEST_CASE("the runner's thread probes every interval and stops promptly") {
  LocalServer server;
  server.status = 500;
  std::atomic<int> changes{0};
  ProbeRunner runner({httpProbe("web", server.url("/health")), tcp("open", server.port)},
                     std::make_unique<NetProbeExecutor>(), 50ms, nullLogger(), [&] { ++changes; });
  runner.start();
  CHECK(testing::waitUntil(
      [&] {
        auto r = runner.results();
        return r.size() == 2 && r[0].consecutive_failures >= 3;
      },
      5s));
  CHECK(runner.results()[1].ok);
  server.status = 200;
  CHECK(testing::waitUntil([&] { return runner.results()[0].ok; }, 5s));
  // The callback runs after the result is published: wait for it too.
  CHECK(testing::waitUntil([&] { return changes.load() >= 3; }, 5s));
  CHECK(changes.load() == 3);  // two first results, one recovery
  auto started = std::chrono::steady_clock::now();
  runner.stop();
  CHECK(std::chrono::steady_clock::now() - started < 2s);
}
