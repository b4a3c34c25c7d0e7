#include "rampart/net_stream.h"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_support.h"

using namespace rampart;
using namespace rampart::net;
using namespace std::chrono_literals;

TEST_CASE("TLS context configuration errors") {
  struct Case {
    const char* what;
    TlsOptions options;
  };
  std::vector<Case> cases(5);
  cases[0] = {"CA file missing", {}};
  cases[0].options.ca_file = "/nonexistent/ca.crt";
  cases[1] = {"CA PEM without a certificate", {}};
  cases[1].options.ca_pem = "-----BEGIN NOTHING-----\n";
  cases[2] = {"client certificate PEM unreadable", {}};
  cases[2].options.client_cert_pem = "garbage";
  cases[2].options.client_key_pem = "garbage";
  cases[3] = {"client key file missing", {}};
  cases[3].options.client_key_file = "/nonexistent/key";
  cases[4] = {"key without certificate", {}};
  cases[4].options.insecure_skip_verify = true;
  cases[4].options.client_key_pem = "garbage";
  for (const auto& c : cases) {
    CAPTURE(c.what);
    auto ctx = TlsContext::create(c.options);
    REQUIRE_FALSE(ctx.has_value());
    CHECK(ctx.error().code == ErrorCode::kConfig);
  }
  auto system = TlsContext::create({});
  REQUIRE(system.has_value());
  CHECK((*system)->verifies());
}

TEST_CASE("plain stream: write, read, peer close") {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  REQUIRE(::listen(listener, 1) == 0);
  std::string port = std::to_string(ntohs(addr.sin_port));

  auto deadline = Clock::now() + 5s;
  auto stream = Stream::connect("127.0.0.1", port, nullptr, deadline, 1s, nullptr);
  REQUIRE(stream.has_value());
  int peer = ::accept(listener, nullptr, nullptr);
  REQUIRE(peer >= 0);
  REQUIRE((*stream)->writeAll("ping", deadline, nullptr));
  char buf[16];
  REQUIRE(::read(peer, buf, sizeof buf) == 4);

  // Nothing to read: the stop flag ends the wait as a timeout.
  std::atomic<bool> stop{true};
  auto stopped = (*stream)->readSome(buf, sizeof buf, deadline, &stop);
  REQUIRE_FALSE(stopped.has_value());
  CHECK(stopped.error().code == ErrorCode::kTimeout);
  auto timed = (*stream)->readSome(buf, sizeof buf, Clock::now() + 50ms, nullptr);
  REQUIRE_FALSE(timed.has_value());
  CHECK(timed.error().code == ErrorCode::kTimeout);

  REQUIRE(::write(peer, "pong", 4) == 4);
  ::close(peer);
  std::string got;
  for (;;) {
    auto n = (*stream)->readSome(buf, sizeof buf, deadline, nullptr);
    REQUIRE(n.has_value());
    if (*n == 0) break;
    got.append(buf, *n);
  }
  CHECK(got == "pong");
  ::close(listener);

  auto unresolvable = Stream::connect("no-such-host.invalid", "80", nullptr, deadline, 1s, nullptr);
  REQUIRE_FALSE(unresolvable.has_value());
  CHECK(unresolvable.error().code == ErrorCode::kNetwork);
}
