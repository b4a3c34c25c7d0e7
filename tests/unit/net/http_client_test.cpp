// The one HTTP exchange (rampart/http_client.h) against a scripted server on
// loopback: what it sends, and every way an answer can be framed or broken.
#include "rampart/http_client.h"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <thread>

using namespace rampart;
using namespace rampart::http;
using namespace std::chrono_literals;

namespace {

// Accepts one connection, reads the request (head and Content-Length body),
// writes `answer` in the given pieces, then closes unless `hold` (the
// connection then stays open until the server is destroyed).
class ScriptedServer {
 public:
  // `after_write` runs on the server's thread once the answer is written.
  explicit ScriptedServer(std::vector<std::string> answer, bool hold = false,
                          std::function<void()> after_write = {})
      : answer_(std::move(answer)), hold_(hold), after_write_(std::move(after_write)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    REQUIRE(::listen(listener_, 1) == 0);
    port_ = std::to_string(ntohs(addr.sin_port));
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    ::shutdown(listener_, SHUT_RDWR);
    if (peer_ >= 0) ::shutdown(peer_, SHUT_RDWR);
    thread_.join();
    if (peer_ >= 0) ::close(peer_);
    ::close(listener_);
  }
  ServerUrl url() const { return *parseServerUrl("http://127.0.0.1:" + port_); }
  // What the client sent (complete once the answer has been read).
  std::string request() {
    thread_.join();
    thread_ = std::thread([] {});
    return request_;
  }

 private:
  void serve() {
    peer_ = ::accept(listener_, nullptr, nullptr);
    if (peer_ < 0) return;
    char buf[4096];
    for (;;) {
      size_t end = request_.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t length = 0;
        if (auto cl = request_.find("Content-Length: "); cl != std::string::npos)
          length = std::stoul(request_.substr(cl + 16));
        if (request_.size() >= end + 4 + length) break;
      }
      ssize_t n = ::read(peer_, buf, sizeof buf);
      if (n <= 0) return;
      request_.append(buf, static_cast<size_t>(n));
    }
    for (const std::string& piece : answer_) {
      if (::write(peer_, piece.data(), piece.size()) != static_cast<ssize_t>(piece.size())) return;
    }
    if (after_write_) after_write_();
    if (!hold_) ::shutdown(peer_, SHUT_WR);
  }

  std::vector<std::string> answer_;
  bool hold_;
  std::function<void()> after_write_;
  int listener_ = -1;
  std::atomic<int> peer_{-1};
  std::string port_;
  std::string request_;
  std::thread thread_;
};

ExchangeOptions options(std::chrono::milliseconds timeout = 5s) {
  ExchangeOptions o;
  o.deadline = net::Clock::now() + timeout;
  return o;
}

Request get(std::string path) {
  Request r;
  r.path = std::move(path);
  r.user_agent = "test/1";
  return r;
}

}  // namespace

TEST_CASE("HTTP exchange: Content-Length body after interim 1xx heads, request bytes") {
  ScriptedServer server({"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", "lo and more"});
  auto r = exchange(server.url(), nullptr, get("/a?b=1"), options());
  REQUIRE(r.has_value());
  CHECK(r->status == 200);
  CHECK(r->body == "hello");  // bytes past Content-Length are not the body
  CHECK(server.request() ==
        "GET /a?b=1 HTTP/1.1\r\nHost: 127.0.0.1:" + server.url().port +
            "\r\nUser-Agent: test/1\r\nAccept: application/json\r\nConnection: close\r\n\r\n");
}

TEST_CASE("HTTP exchange: POST with a body") {
  ScriptedServer server({"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"});
  Request post = get("/v3/kv/range");
  post.method = "POST";
  post.body = R"({"key":"AA=="})";
  post.accept = "*/*";
  auto r = exchange(server.url(), nullptr, post, options());
  REQUIRE(r.has_value());
  CHECK(r->status == 201);
  CHECK(r->body == "ok");
  const std::string sent = server.request();
  CHECK(sent.starts_with("POST /v3/kv/range HTTP/1.1\r\n"));
  CHECK(sent.find("Accept: */*\r\n") != std::string::npos);
  CHECK(sent.find("Content-Type: application/json\r\nContent-Length: 14\r\n") != std::string::npos);
  CHECK(sent.ends_with("\r\n\r\n" + post.body));
}

TEST_CASE("HTTP exchange: chunked and close-delimited bodies, bare-LF heads") {
  {
    ScriptedServer server({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
                           "4;ext=1\r\ndefg\r\n0\r\nTrailer: x\r\n\r\n"});
    auto r = exchange(server.url(), nullptr, get("/"), options());
    REQUIRE(r.has_value());
    CHECK(r->body == "abcdefg");
  }
  {
    ScriptedServer server({"HTTP/1.0 200 OK\nServer: old\n\nuntil ", "the close"});
    auto r = exchange(server.url(), nullptr, get("/"), options());
    REQUIRE(r.has_value());
    CHECK(r->status == 200);
    CHECK(r->body == "until the close");
  }
  {
    // 204 and HEAD have no body, whatever the head claims.
    ScriptedServer server({"HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n"}, true);
    auto r = exchange(server.url(), nullptr, get("/"), options());
    REQUIRE(r.has_value());
    CHECK(r->status == 204);
    CHECK(r->body.empty());
  }
  {
    ScriptedServer server({"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"}, true);
    Request head = get("/");
    head.method = "HEAD";
    auto r = exchange(server.url(), nullptr, head, options());
    REQUIRE(r.has_value());
    CHECK(r->body.empty());
  }
}

TEST_CASE("HTTP exchange: streaming sink, stopping early, error bodies buffered") {
  {
    ScriptedServer server({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "2\r\nab\r\n",
                           "2\r\ncd\r\n0\r\n\r\n"});
    std::string seen;
    BodySink sink = [&](std::string_view data) {
      seen.append(data);
      return true;
    };
    ExchangeOptions o = options();
    o.sink = &sink;
    auto r = exchange(server.url(), nullptr, get("/watch"), o);
    REQUIRE(r.has_value());
    CHECK(seen == "abcd");
    CHECK(r->body.empty());
    CHECK_FALSE(r->sink_stopped);
  }
  {
    // The sink says stop: the exchange ends at once, the connection held open.
    ScriptedServer server({"HTTP/1.1 200 OK\r\n\r\nfirst"}, true);
    BodySink sink = [](std::string_view) { return false; };
    ExchangeOptions o = options();
    o.sink = &sink;
    auto r = exchange(server.url(), nullptr, get("/watch"), o);
    REQUIRE(r.has_value());
    CHECK(r->sink_stopped);
  }
  {
    // A non-2xx body is buffered for the error message, not streamed.
    ScriptedServer server({"HTTP/1.1 410 Gone\r\nContent-Length: 7\r\n\r\nexpired"});
    bool called = false;
    BodySink sink = [&](std::string_view) { return called = true; };
    ExchangeOptions o = options();
    o.sink = &sink;
    auto r = exchange(server.url(), nullptr, get("/watch"), o);
    REQUIRE(r.has_value());
    CHECK(r->status == 410);
    CHECK(r->body == "expired");
    CHECK_FALSE(called);
  }
}

TEST_CASE("HTTP exchange: head-only answers return at the head") {
  ScriptedServer server({"HTTP/1.1 503 Unavailable\r\nContent-Length: 100\r\n\r\n"}, true);
  ExchangeOptions o = options();
  o.head_only = true;
  auto r = exchange(server.url(), nullptr, get("/healthz"), o);
  REQUIRE(r.has_value());
  CHECK(r->status == 503);
}

TEST_CASE("HTTP exchange: limits, broken answers, deadline and stop flag") {
  struct Case {
    std::string what;
    std::vector<std::string> answer;
    ErrorCode code;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"no answer", {}, ErrorCode::kNetwork, "connection closed before a response"},
      {"not HTTP", {"SSH-2.0-OpenSSH\r\n\r\n"}, ErrorCode::kProtocol, ""},
      {"head too long",
       {"HTTP/1.1 200 OK\r\nX: " + std::string(2000, 'a')},
       ErrorCode::kProtocol,
       "response head too long"},
      {"body too long",
       {"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'b')},
       ErrorCode::kProtocol,
       "response body larger than 4096 bytes"},
      {"close-delimited body too long",
       {"HTTP/1.1 200 OK\r\n\r\n" + std::string(5000, 'b')},
       ErrorCode::kProtocol,
       "response body larger than 4096 bytes"},
      {"short body",
       {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"},
       ErrorCode::kNetwork,
       "connection closed in the middle of the body"},
      {"unterminated chunks",
       {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"},
       ErrorCode::kNetwork,
       "connection closed in the middle of the body"},
      {"bad chunk size",
       {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
       ErrorCode::kProtocol,
       "bad chunk size"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    ScriptedServer server(c.answer);
    ExchangeOptions o = options();
    o.max_head = 1024;
    o.max_body = 4096;
    auto r = exchange(server.url(), nullptr, get("/"), o);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == c.code);
    CHECK(r.error().message.find(c.message) != std::string::npos);
  }

  {
    ScriptedServer silent({}, true);
    auto r = exchange(silent.url(), nullptr, get("/"), options(100ms));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::kTimeout);
  }
  {
    // The flag is raised once the head is out: the exchange is waiting for the body.
    std::atomic<bool> stop{false};
    ScriptedServer silent({"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"}, true,
                          [&stop] { stop = true; });
    ExchangeOptions o = options(30s);
    o.stop = &stop;
    auto r = exchange(silent.url(), nullptr, get("/"), o);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::kTimeout);
    CHECK(net::Clock::now() < o.deadline);  // the flag ended it, not the deadline
  }
  {
    auto https = parseServerUrl("https://127.0.0.1:1");
    REQUIRE(https);
    auto r = exchange(*https, nullptr, get("/"), options());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::kConfig);
  }
}
