// KubeClient against local cpp-httplib servers: plain HTTP and TLS (with
// certificates made by the openssl command line for each test run).
#include "rampart/kube_client.h"

#include <doctest/doctest.h>
#include <httplib.h>

#include <condition_variable>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>

#include "test_support.h"

using namespace rampart;
using namespace std::chrono_literals;

namespace {

// A server listening on 127.0.0.1 on an ephemeral port, stopped on destruction.
// Holds slow or endless handlers until the test is done with them, so that a
// server stops as soon as its test ends instead of after a fixed delay.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  // True once opened; waits at most `limit` for that.
  bool waitFor(std::chrono::milliseconds limit) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, limit, [this] { return open; });
  }
  void release() {
    {
      std::lock_guard lock(mu);
      open = true;
    }
    cv.notify_all();
  }
};

class LocalServer {
 public:
  explicit LocalServer(std::unique_ptr<httplib::Server> server) : server_(std::move(server)) {
    port_ = server_->bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    REQUIRE(testing::waitUntil([this] { return server_->is_running(); }, 5s));
  }
  ~LocalServer() {
    gate_.release();
    server_->stop();
    thread_.join();
  }
  httplib::Server& operator*() { return *server_; }
  Gate& gate() { return gate_; }
  httplib::Server* operator->() { return server_.get(); }
  std::string url(const std::string& scheme) const {
    return scheme + "://127.0.0.1:" + std::to_string(port_);
  }

 private:
  Gate gate_;  // declared before server_: handlers may still wait on it while it stops
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

// A self-signed certificate (usable as its own CA) and its key.
struct CertFiles {
  std::filesystem::path cert, key;
  std::string certPem() const { return testing::readFile(cert); }
  std::string keyPem() const { return testing::readFile(key); }
};

CertFiles makeCert(const testing::TempDir& dir, const std::string& name, const std::string& san) {
  CertFiles f{dir / (name + ".crt"), dir / (name + ".key")};
  auto r = testing::runCommand({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                                "/CN=" + name, "-addext", "subjectAltName=" + san, "-keyout",
                                f.key.string(), "-out", f.cert.string()});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  return f;
}

void addRoutes(httplib::Server& s, Gate& gate) {
  s.Get("/api/v1/nodes/n1", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content("{\"auth\":\"" + req.get_header_value("Authorization") + "\",\"ua\":\"" +
                        req.get_header_value("User-Agent") + "\"}",
                    "application/json");
  });
  s.Get("/api/v1/nodes/missing", [](const httplib::Request&, httplib::Response& res) {
    res.status = 404;
    res.set_content(
        R"({"kind":"Status","status":"Failure","message":"nodes \"missing\" not found","code":404})",
        "application/json");
  });
  s.Get("/api/v1/pods/gone", [](const httplib::Request&, httplib::Response& res) {
    res.status = 410;
    res.set_content(R"({"kind":"Status","message":"too old resource version","code":410})",
                    "application/json");
  });
  s.Get("/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(300000, 'x'), "text/plain");
  });
  // A finite watch whose lines straddle chunk boundaries.
  s.Get("/api/v1/pods", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("application/json", [](size_t, httplib::DataSink& sink) {
      sink.write("{\"n\":1}\n{\"n\"", 12);
      sink.write(":2}\r\n\n{\"n\":3}\n", 14);
      sink.done();
      return true;
    });
  });
  // A watch that never ends: one line, then silence.
  s.Get("/api/v1/pods/endless", [&gate](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("application/json",
                                     [&gate](size_t offset, httplib::DataSink& sink) {
                                       if (offset == 0) sink.write("{\"n\":1}\n", 8);
                                       // Silence, polled every 20 ms, until the test ends.
                                       return !gate.waitFor(20ms);
                                     });
  });
  s.Get("/slow", [&gate](const httplib::Request&, httplib::Response& res) {
    gate.waitFor(5s);  // far beyond the client's timeout
    res.set_content("late", "text/plain");
  });
}

std::vector<std::string> watchAll(KubeClient& client, const std::string& path) {
  std::vector<std::string> lines;
  std::atomic<bool> stop{false};
  auto r = client.watch(
      path,
      [&](std::string_view line) {
        lines.emplace_back(line);
        return true;
      },
      5s, stop);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().describe()));
  return lines;
}

}  // namespace

TEST_CASE("plain HTTP: GET, status errors, token, watch") {
  LocalServer server(std::make_unique<httplib::Server>());
  addRoutes(*server, server.gate());
  KubeCredentials creds;
  creds.server = server.url("http");
  creds.token = "secret-token";
  KubeClient client(creds, "rampart-test/1");

  auto body = client.get("/api/v1/nodes/n1", 5s);
  REQUIRE(body.has_value());
  CHECK(*body == R"({"auth":"Bearer secret-token","ua":"rampart-test/1"})");

  auto missing = client.get("/api/v1/nodes/missing", 5s);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == ErrorCode::kHttp);
  CHECK(missing.error().http_status == 404);
  CHECK(missing.error().message.find("nodes \"missing\" not found") != std::string::npos);

  auto gone = client.watch(
      "/api/v1/pods/gone", [](std::string_view) { return true; }, 5s, std::atomic<bool>{false});
  REQUIRE_FALSE(gone.has_value());
  CHECK(gone.error().code == ErrorCode::kGone);

  auto big = client.get("/big", 5s);
  REQUIRE(big.has_value());
  CHECK(big->size() == 300000);

  CHECK(watchAll(client, "/api/v1/pods") ==
        std::vector<std::string>{R"({"n":1})", R"({"n":2})", R"({"n":3})"});
}

TEST_CASE("token file is read for each request") {
  testing::TempDir dir;
  LocalServer server(std::make_unique<httplib::Server>());
  addRoutes(*server, server.gate());
  KubeCredentials creds;
  creds.server = server.url("http");
  creds.token_file = dir / "token";
  KubeClient client(creds);
  std::ofstream(creds.token_file) << "first\n";
  CHECK(client.get("/api/v1/nodes/n1", 5s)->find("Bearer first\"") != std::string::npos);
  std::ofstream(creds.token_file) << "second";
  CHECK(client.get("/api/v1/nodes/n1", 5s)->find("Bearer second\"") != std::string::npos);
  std::filesystem::remove(creds.token_file);
  auto r = client.get("/api/v1/nodes/n1", 5s);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::kIo);
}

TEST_CASE("deadlines, stop flag, callback stop, unreachable server") {
  LocalServer server(std::make_unique<httplib::Server>());
  addRoutes(*server, server.gate());
  KubeCredentials creds;
  creds.server = server.url("http");
  KubeClient client(creds);

  auto slow = client.get("/slow", 100ms);
  REQUIRE_FALSE(slow.has_value());
  CHECK(slow.error().code == ErrorCode::kTimeout);

  // The watch's own deadline ends it successfully (the caller rewatches). Long
  // enough for the first line to arrive on a loaded machine.
  int lines = 0;
  std::atomic<bool> stop{false};
  auto timed = client.watch(
      "/api/v1/pods/endless",
      [&](std::string_view) {
        ++lines;
        return true;
      },
      2s, stop);
  CHECK(timed.has_value());
  CHECK(lines == 1);

  auto stopped = client.watch(
      "/api/v1/pods/endless",
      [&](std::string_view) {
        stop = true;
        return true;
      },
      30s, stop);
  CHECK(stopped.has_value());

  std::atomic<bool> no_stop{false};
  auto declined = client.watch(
      "/api/v1/pods/endless", [](std::string_view) { return false; }, 30s, no_stop);
  CHECK(declined.has_value());

  KubeCredentials closed;
  closed.server = "http://127.0.0.1:1";
  auto refused = KubeClient(closed).get("/", 2s);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == ErrorCode::kNetwork);

  KubeCredentials bad;
  bad.server = "ftp://127.0.0.1";
  auto config = KubeClient(bad).get("/", 2s);
  REQUIRE_FALSE(config.has_value());
  CHECK(config.error().code == ErrorCode::kConfig);
}

TEST_CASE("TLS: CA verification, host name, insecure mode, client certificates") {
  testing::TempDir dir;
  CertFiles server_cert = makeCert(dir, "server", "IP:127.0.0.1,DNS:localhost");
  CertFiles other_ca = makeCert(dir, "other", "IP:127.0.0.1");

  LocalServer server(
      std::make_unique<httplib::SSLServer>(server_cert.cert.c_str(), server_cert.key.c_str()));
  addRoutes(*server, server.gate());
  KubeCredentials creds;
  creds.server = server.url("https");
  creds.token = "t";

  SUBCASE("CA from PEM bytes, GET and watch") {
    creds.ca_pem = server_cert.certPem();
    KubeClient client(creds);
    auto body = client.get("/api/v1/nodes/n1", 5s);
    REQUIRE_MESSAGE(body.has_value(), (body ? "" : body.error().describe()));
    CHECK(body->find("Bearer t") != std::string::npos);
    CHECK(client.get("/big", 5s)->size() == 300000);
    CHECK(watchAll(client, "/api/v1/pods").size() == 3);
  }
  SUBCASE("CA from a file, host name instead of IP") {
    creds.ca_file = server_cert.cert;
    creds.server = "https://localhost:" + creds.server.substr(creds.server.rfind(':') + 1);
    auto body = KubeClient(creds).get("/api/v1/nodes/n1", 5s);
    CHECK_MESSAGE(body.has_value(), (body ? "" : body.error().describe()));
  }
  SUBCASE("a certificate from another CA is refused") {
    creds.ca_pem = other_ca.certPem();
    auto body = KubeClient(creds).get("/api/v1/nodes/n1", 5s);
    REQUIRE_FALSE(body.has_value());
    CHECK(body.error().code == ErrorCode::kNetwork);
    CHECK(body.error().message.find("verif") != std::string::npos);
  }
  SUBCASE("the system trust store does not know a self-signed certificate") {
    auto body = KubeClient(creds).get("/api/v1/nodes/n1", 5s);
    REQUIRE_FALSE(body.has_value());
    CHECK(body.error().code == ErrorCode::kNetwork);
  }
  SUBCASE("insecure-skip-tls-verify accepts it") {
    creds.ca_pem = other_ca.certPem();
    creds.insecure_skip_tls_verify = true;
    CHECK(KubeClient(creds).get("/api/v1/nodes/n1", 5s).has_value());
  }
  SUBCASE("bad CA data is a configuration error") {
    creds.ca_pem = "not a certificate";
    auto body = KubeClient(creds).get("/api/v1/nodes/n1", 5s);
    REQUIRE_FALSE(body.has_value());
    CHECK(body.error().code == ErrorCode::kConfig);
  }
}

TEST_CASE("TLS: a certificate for another name is refused") {
  testing::TempDir dir;
  CertFiles misnamed = makeCert(dir, "misnamed", "DNS:elsewhere.example");
  LocalServer server(
      std::make_unique<httplib::SSLServer>(misnamed.cert.c_str(), misnamed.key.c_str()));
  addRoutes(*server, server.gate());
  KubeCredentials creds;
  creds.server = server.url("https");
  creds.ca_pem = misnamed.certPem();
  auto body = KubeClient(creds).get("/api/v1/nodes/n1", 5s);
  REQUIRE_FALSE(body.has_value());
  CHECK(body.error().code == ErrorCode::kNetwork);
}

TEST_CASE("TLS: client certificate authentication") {
  testing::TempDir dir;
  CertFiles server_cert = makeCert(dir, "server", "IP:127.0.0.1");
  CertFiles client_cert = makeCert(dir, "client", "DNS:rampart-agent");
  CertFiles stranger = makeCert(dir, "stranger", "DNS:stranger");
  LocalServer server(std::make_unique<httplib::SSLServer>(
      server_cert.cert.c_str(), server_cert.key.c_str(), client_cert.cert.c_str()));
  addRoutes(*server, server.gate());
  KubeCredentials creds;
  creds.server = server.url("https");
  creds.ca_pem = server_cert.certPem();

  SUBCASE("without a certificate the server refuses") {
    CHECK_FALSE(KubeClient(creds).get("/api/v1/nodes/n1", 5s).has_value());
  }
  SUBCASE("an unknown certificate is refused") {
    creds.client_cert_pem = stranger.certPem();
    creds.client_key_pem = stranger.keyPem();
    CHECK_FALSE(KubeClient(creds).get("/api/v1/nodes/n1", 5s).has_value());
  }
  SUBCASE("certificate and key as PEM bytes") {
    creds.client_cert_pem = client_cert.certPem();
    creds.client_key_pem = client_cert.keyPem();
    KubeClient client(creds);
    auto body = client.get("/api/v1/nodes/n1", 5s);
    CHECK_MESSAGE(body.has_value(), (body ? "" : body.error().describe()));
    CHECK(watchAll(client, "/api/v1/pods").size() == 3);
  }
  SUBCASE("certificate and key as files") {
    creds.client_cert_file = client_cert.cert;
    creds.client_key_file = client_cert.key;
    auto body = KubeClient(creds).get("/api/v1/nodes/n1", 5s);
    CHECK_MESSAGE(body.has_value(), (body ? "" : body.error().describe()));
  }
  SUBCASE("a key that does not match the certificate is a configuration error") {
    creds.client_cert_pem = client_cert.certPem();
    creds.client_key_pem = stranger.keyPem();
    auto body = KubeClient(creds).get("/api/v1/nodes/n1", 5s);
    REQUIRE_FALSE(body.has_value());
    CHECK(body.error().code == ErrorCode::kConfig);
  }
  SUBCASE("a certificate without a key is a configuration error") {
    creds.client_cert_pem = client_cert.certPem();
    auto body = KubeClient(creds).get("/api/v1/nodes/n1", 5s);
    REQUIRE_FALSE(body.has_value());
    CHECK(body.error().code == ErrorCode::kConfig);
  }
}
