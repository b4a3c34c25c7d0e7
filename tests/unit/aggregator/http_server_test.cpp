// The aggregator's HTTP front (http_server.h) over real loopback sockets:
// slow and greedy clients cannot keep /healthz from answering
// (docs/security.md, "HTTP"; issue 14: four slowloris clients used to take
// cpp-httplib's four threads).
#include "http/http_server.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <mutex>

#include "http/request_head.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::aggregator;
using rampart::testing::httpGet;
using namespace std::chrono_literals;

namespace {

// A TCP client of 127.0.0.1:port; closed with the object.
struct Client {
  int fd = -1;
  explicit Client(int port) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ~Client() {
    if (fd >= 0) ::close(fd);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  bool send(std::string_view s) const {
    return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  // Everything until the server closes (or 5 s pass).
  std::string readAll() const {
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out;
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }
};

struct Counts {
  std::mutex mu;
  std::map<std::string, int> by_reason;
  int get(const std::string& r) {
    std::lock_guard lock(mu);
    return by_reason[r];
  }
};

struct Server {
  Counts counts;
  HttpServer server;
  int port = 0;
  explicit Server(HttpServerOptions o)
      : server(std::move(o), [this](std::string_view r) {
          std::lock_guard lock(counts.mu);
          ++counts.by_reason[std::string(r)];
        }) {
    server.routes().Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", "text/plain");
    });
    server.routes().Get("/api/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.get_param_value("x"), "text/plain");
    });
    auto p = server.start();
    REQUIRE(p);
    port = *p;
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port) + path;
  }
};

// Slowloris: each client sends a request line and then one header line now
// and then, never the blank line.
std::vector<std::unique_ptr<Client>> slowClients(int port, int n) {
  std::vector<std::unique_ptr<Client>> out;
  for (int i = 0; i < n; ++i) {
    auto c = std::make_unique<Client>(port);
    REQUIRE(c->fd >= 0);
    REQUIRE(c->send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-a: 1\r\n"));
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

TEST_CASE("request heads: complete, incomplete, limits, smuggling") {
  RequestHeadLimits limits;
  auto head = parseRequestHead("GET /api/v1/pods?node=a HTTP/1.1\r\nHost: x\r\n\r\nrest", limits);
  REQUIRE(head);
  REQUIRE(*head);
  CHECK((*head)->method == "GET");
  CHECK((*head)->path == "/api/v1/pods");
  CHECK((*head)->headers == 1);
  CHECK((*head)->keep_alive);
  CHECK((*head)->size ==
        std::string_view("GET /api/v1/pods?node=a HTTP/1.1\r\nHost: x\r\n\r\n").size());
  auto partial = parseRequestHead("GET / HTTP/1.1\r\nHost: x\r\n", limits);
  REQUIRE(partial);
  CHECK_FALSE(*partial);
  auto http10 = parseRequestHead("GET / HTTP/1.0\n\n", limits);
  REQUIRE(http10);
  REQUIRE(*http10);
  CHECK_FALSE((*http10)->keep_alive);
  auto closing =
      parseRequestHead("GET / HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n", limits);
  REQUIRE((closing && *closing));
  CHECK_FALSE((*closing)->keep_alive);

  RequestHeadLimits small{64, 2};
  auto big = parseRequestHead("GET / HTTP/1.1\r\n" + std::string(100, 'a'), small);
  REQUIRE_FALSE(big);
  CHECK(big.error().reason == "head_too_large");
  auto many = parseRequestHead("GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\n", small);
  REQUIRE_FALSE(many);
  CHECK(many.error().reason == "too_many_headers");
  for (const char* bad :
       {"GET /\r\n\r\n", "GET / HTTP/2\r\n\r\n", "G@T / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nno colon\r\n\r\n", "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "GET / HTTP/1.1\r\n folded\r\n\r\n"}) {
    auto r = parseRequestHead(bad, limits);
    CHECK_MESSAGE(!r, bad);
    if (!r) CHECK(r.error().reason == "bad_request");
  }
}

TEST_CASE("4 and 50 slowloris clients: /healthz still answers within a probe's 1 s") {
  HttpServerOptions o;
  o.host = "127.0.0.1";
  Server s(o);
  for (int n : {4, 50}) {
    CAPTURE(n);
    auto slow = slowClients(s.port, n);
    for (int i = 0; i < 5; ++i) {
      auto r = httpGet(s.url("/healthz"), 1s);  // the kubelet's default probe timeout
      CHECK_MESSAGE(r.status == 200, r.error);
    }
    auto api = httpGet(s.url("/api/echo?x=hi"), 1s);
    CHECK(api.status == 200);
    CHECK(api.body == "hi");
  }
  // 4 + 50 from one address is over the per-peer cap of 32: the oldest
  // waiting ones made room, and were counted.
  CHECK(s.counts.get("max_connections_per_peer") > 0);
}

TEST_CASE("a head not complete in time gets 408 and is counted") {
  HttpServerOptions o;
  o.host = "127.0.0.1";
  o.head_timeout = 1s;
  Server s(o);
  Client c(s.port);
  REQUIRE(c.send("GET /healthz HTTP/1.1\r\n"));
  const std::string reply = c.readAll();
  CHECK(reply.starts_with("HTTP/1.1 408"));
  CHECK(s.counts.get("head_timeout") == 1);
}

TEST_CASE("too many or too long headers get 431 before any handler runs") {
  HttpServerOptions o;
  o.host = "127.0.0.1";
  o.head.max_headers = 8;
  o.head.max_bytes = 2048;
  Server s(o);
  {
    Client c(s.port);
    std::string req = "GET /healthz HTTP/1.1\r\n";
    for (int i = 0; i < 20; ++i) req += "X-" + std::to_string(i) + ": v\r\n";
    REQUIRE(c.send(req + "\r\n"));
    CHECK(c.readAll().starts_with("HTTP/1.1 431"));
  }
  {
    Client c(s.port);
    REQUIRE(c.send("GET /healthz HTTP/1.1\r\nX: " + std::string(4000, 'a')));
    CHECK(c.readAll().starts_with("HTTP/1.1 431"));
  }
  {
    Client c(s.port);
    REQUIRE(c.send("BAD\r\n\r\n"));
    CHECK(c.readAll().starts_with("HTTP/1.1 400"));
  }
  CHECK(s.counts.get("too_many_headers") == 1);
  CHECK(s.counts.get("head_too_large") == 1);
  CHECK(s.counts.get("bad_request") == 1);
}

TEST_CASE("keep-alive and pipelined requests are served in order on one connection") {
  HttpServerOptions o;
  o.host = "127.0.0.1";
  Server s(o);
  Client c(s.port);
  REQUIRE(
      c.send("GET /api/echo?x=one HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /api/echo?x=two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string reply = c.readAll();
  const size_t one = reply.find("\r\n\r\none");
  const size_t two = reply.find("\r\n\r\ntwo");
  CHECK(one != std::string::npos);
  CHECK(two != std::string::npos);
  CHECK(one < two);
}

TEST_CASE("stop ends waiting and idle connections and joins") {
  HttpServerOptions o;
  o.host = "127.0.0.1";
  auto s = std::make_unique<Server>(o);
  auto slow = slowClients(s->port, 10);
  s->server.stop();
  for (auto& c : slow) CHECK(c->readAll().empty());  // closed, nothing sent
  CHECK(httpGet(s->url("/healthz"), 1s).status == 0);
}
