#include "rampart/http_wire.h"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

using namespace rampart;
using namespace rampart::http;

TEST_CASE("server URLs") {
  struct Case {
    std::string url;
    bool ok;
    bool tls;
    std::string host, port, prefix;
  };
  const std::vector<Case> cases = {
      {"https://10.0.0.1:6443", true, true, "10.0.0.1", "6443", ""},
      {"https://api.example.com", true, true, "api.example.com", "443", ""},
      {"http://127.0.0.1:8080/", true, false, "127.0.0.1", "8080", ""},
      {"http://localhost", true, false, "localhost", "80", ""},
      {"https://[fd00::1]:443/k8s/clusters/c-1/", true, true, "fd00::1", "443",
       "/k8s/clusters/c-1"},
      {"https://[::1]", true, true, "::1", "443", ""},
      {"ftp://host", false, false, "", "", ""},
      {"https://", false, false, "", "", ""},
      {"https://host:abc", false, false, "", "", ""},
      {"https://host:123456", false, false, "", "", ""},
      {"https://[::1", false, false, "", "", ""},
      {"https://user:pw@host", false, false, "", "", ""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.url);
    auto u = parseServerUrl(c.url);
    REQUIRE(u.has_value() == c.ok);
    if (!c.ok) {
      CHECK(u.error().code == ErrorCode::kConfig);
      continue;
    }
    CHECK(u->tls == c.tls);
    CHECK(u->host == c.host);
    CHECK(u->port == c.port);
    CHECK(u->path_prefix == c.prefix);
  }
}

TEST_CASE("IP literals") {
  CHECK(isIpLiteral("127.0.0.1"));
  CHECK(isIpLiteral("fd00::1"));
  CHECK_FALSE(isIpLiteral("localhost"));
  CHECK_FALSE(isIpLiteral("10.0.0"));
}

TEST_CASE("request heads") {
  auto u = parseServerUrl("https://[fd00::1]:6443/prefix");
  REQUIRE(u);
  Request watch;
  watch.path = "/api/v1/pods?watch=1";
  watch.user_agent = "rampart/1";
  watch.bearer_token = "tok";
  CHECK(formatRequest(*u, watch) ==
        "GET /prefix/api/v1/pods?watch=1 HTTP/1.1\r\nHost: [fd00::1]:6443\r\n"
        "User-Agent: rampart/1\r\nAccept: application/json\r\nAuthorization: Bearer tok\r\n"
        "Connection: close\r\n\r\n");
  auto plain = parseServerUrl("http://h");
  REQUIRE(plain);
  Request get;
  get.path = "/x";
  get.user_agent = "ua";
  CHECK(formatRequest(*plain, get) ==
        "GET /x HTTP/1.1\r\nHost: h\r\nUser-Agent: ua\r\nAccept: application/json\r\n"
        "Connection: close\r\n\r\n");
  Request post;
  post.method = "POST";
  post.path = "/v3/maintenance/status";
  post.user_agent = "ua";
  post.accept = "*/*";
  CHECK(formatRequest(*plain, post) ==
        "POST /v3/maintenance/status HTTP/1.1\r\nHost: h\r\nUser-Agent: ua\r\nAccept: */*\r\n"
        "Content-Type: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  post.body = "{}";
  CHECK(formatRequest(*plain, post).ends_with("Content-Length: 2\r\nConnection: close\r\n\r\n{}"));
}

TEST_CASE("response heads") {
  struct Case {
    std::string head;
    bool ok;
    int status;
    bool chunked;
    std::optional<size_t> length;
  };
  const std::vector<Case> cases = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n", true, 200, false, 12},
      {"HTTP/1.1 200 OK\r\ntransfer-encoding:  chunked\r\n", true, 200, true, std::nullopt},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 5", true, 200, true,
       std::nullopt},
      {"HTTP/1.0 410 Gone", true, 410, false, std::nullopt},
      {"HTTP/1.1 404\r\nX-Other: a:b\r\n", true, 404, false, std::nullopt},
      {"HTTP/1.1 204 No Content\nContent-Length: 0\n", true, 204, false, 0},
      {"HTTP/2 200 OK", false, 0, false, std::nullopt},
      {"HTTP/1.1 2x0 OK", false, 0, false, std::nullopt},
      // No status class 0; status 0 means "no HTTP answer" to Error::http_status
      // (found by tests/fuzz, regressions/http_response/status-099).
      {"HTTP/1.1 099 Continue", false, 0, false, std::nullopt},
      {"HTTP/1.1 000 OK", false, 0, false, std::nullopt},
      {"HTTP/1.1 200OK", false, 0, false, std::nullopt},
      {"HTTP/1.1 200 OK\r\nno colon here\r\n", false, 0, false, std::nullopt},
      {"HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n", false, 0, false, std::nullopt},
      {"", false, 0, false, std::nullopt},
  };
  for (const auto& c : cases) {
    CAPTURE(c.head);
    auto h = parseResponseHead(c.head);
    REQUIRE(h.has_value() == c.ok);
    if (!c.ok) {
      CHECK(h.error().code == ErrorCode::kProtocol);
      continue;
    }
    CHECK(h->status == c.status);
    CHECK(h->chunked == c.chunked);
    CHECK(h->content_length == c.length);
  }
}

TEST_CASE("chunked decoding, whole and byte by byte") {
  const std::string wire =
      "5\r\nhello\r\n7;ext=1\r\n, world\r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n";
  {
    ChunkedDecoder d;
    std::string out;
    REQUIRE(d.feed(wire, out));
    CHECK(d.done());
    CHECK(out == "hello, world0123456789");
  }
  {
    ChunkedDecoder d;
    std::string out;
    for (char c : wire) {
      CHECK_FALSE(d.done());
      REQUIRE(d.feed(std::string_view(&c, 1), out));
    }
    CHECK(d.done());
    CHECK(out == "hello, world0123456789");
  }
  {
    ChunkedDecoder d;
    std::string out;
    REQUIRE(d.feed("3\r\nabc\r\n", out));
    CHECK_FALSE(d.done());
    CHECK(out == "abc");
  }
}

TEST_CASE("malformed chunked framing") {
  for (const std::string& wire : std::vector<std::string>{"zz\r\n", "3\r\nabcX\r\n", "\r\n",
                                                          "-1\r\n", std::string(5000, '1')}) {
    CAPTURE(wire.substr(0, 20));
    ChunkedDecoder d;
    std::string out;
    auto r = d.feed(wire, out);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::kProtocol);
  }
}

TEST_CASE("the end of a response head") {
  struct Case {
    std::string buf;
    std::optional<std::pair<size_t, size_t>> end;
  };
  const std::vector<Case> cases = {
      {"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody", std::pair<size_t, size_t>{21, 4}},
      {"HTTP/1.1 200 OK\nA: b\n\nbody", std::pair<size_t, size_t>{20, 2}},
      {"HTTP/1.1 200 OK\r\nA: b\r\n", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& c : cases) {
    CAPTURE(c.buf);
    CHECK(findHeadEnd(c.buf) == c.end);
  }
}

TEST_CASE("watch stream lines, whole and byte by byte") {
  const std::string body = "{\"a\":1}\r\n\n{\"b\":2}\n{\"c\"";
  const std::vector<std::string> want = {"{\"a\":1}", "{\"b\":2}"};
  std::vector<std::string> whole, bytes;
  LineSplitter a(1024);
  CHECK(a.feed(body, [&](std::string_view l) {
    whole.emplace_back(l);
    return true;
  }) == LineSplitter::Feed::kMore);
  LineSplitter b(1024);
  for (char c : body) {
    CHECK(b.feed(std::string_view(&c, 1), [&](std::string_view l) {
      bytes.emplace_back(l);
      return true;
    }) == LineSplitter::Feed::kMore);
  }
  CHECK(whole == want);
  CHECK(bytes == want);

  LineSplitter stop(1024);
  int seen = 0;
  CHECK(stop.feed(body, [&](std::string_view) { return ++seen < 1; }) ==
        LineSplitter::Feed::kStopped);
  CHECK(seen == 1);

  LineSplitter small(4);
  CHECK(small.feed("abc", [](std::string_view) { return true; }) == LineSplitter::Feed::kMore);
  CHECK(small.feed("de", [](std::string_view) { return true; }) == LineSplitter::Feed::kTooLong);
}
