// A real 3-member etcd cluster (/usr/bin/etcd, Debian etcd-server) on
// loopback and the real aggregator probing it (--etcd-endpoint x3), plus two
// API-server instances: one answering /readyz and a dead port. All healthy: no etcd
// finding; one member SIGKILLed: etcd.member-down + etcd.quorum-at-risk; a
// second: etcd.no-leader and quorum lost; both restarted: every etcd finding
// resolves. docs/etcd.md.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "rampart/curve.h"
#include "test_paths.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::testing;
using nlohmann::json;

namespace {

constexpr const char* kEtcd = "/usr/bin/etcd";

std::string loopback(int port) {
  return "http://127.0.0.1:" + std::to_string(port);
}

struct EtcdCluster {
  TempDir& dir;
  std::vector<std::string> names = {"m1", "m2", "m3"};
  std::vector<std::string> client, peer;
  std::string initial;
  std::map<std::string, std::unique_ptr<Process>> procs;
  int starts = 0;

  explicit EtcdCluster(TempDir& d) : dir(d) {
    for (size_t i = 0; i < names.size(); ++i) {
      client.push_back(loopback(freeLoopbackPort()));
      peer.push_back(loopback(freeLoopbackPort()));
      initial += (i ? "," : "") + names[i] + "=" + peer[i];
    }
    for (size_t i = 0; i < names.size(); ++i) start(i);
  }

  // The same flags on a restart: an existing data dir ignores --initial-*.
  void start(size_t i) {
    procs[names[i]] = std::make_unique<Process>(
        std::vector<std::string>{kEtcd, "--name", names[i], "--data-dir",
                                 (dir / ("data-" + names[i])).string(), "--listen-client-urls",
                                 client[i], "--advertise-client-urls", client[i],
                                 "--listen-peer-urls", peer[i], "--initial-advertise-peer-urls",
                                 peer[i], "--initial-cluster", initial, "--initial-cluster-token",
                                 "rampart-it", "--initial-cluster-state", "new",
                                 // etcd's defaults: shorter
                                 // terms hold spurious elections
                                 // on a loaded machine.
                                 "--heartbeat-interval", "100", "--election-timeout", "1000"},
        dir / (names[i] + "-" + std::to_string(++starts) + ".log"));
  }

  void kill(size_t i) {
    procs[names[i]]->signal(SIGKILL);
    REQUIRE(procs[names[i]]->wait(5s).has_value());
  }

  bool allHealthy() {
    for (const std::string& url : client) {
      if (httpGet(url + "/health", 1s).status != 200) return false;
    }
    return true;
  }

  std::string logs() {
    std::string out;
    for (auto& [name, p] : procs) out += name + ":\n" + p->log().substr(0, 4000) + "\n";
    return out;
  }
};

struct Aggregator {
  std::unique_ptr<Process> proc;
  std::string http;

  Aggregator(const std::filesystem::path& dir, int http_port, const std::vector<std::string>& etcd,
             const std::vector<std::string>& apiservers,
             const std::vector<std::string>& extra = {}) {
    CurveKeyPair server_keys = *generateCurveKeyPair();
    CurveKeyPair agent_keys = *generateCurveKeyPair();
    REQUIRE(writeKeyFile(dir / "aggregator.key", server_keys, true).has_value());
    REQUIRE(writeKeyFile(dir / "agent.pub", agent_keys, false).has_value());
    std::vector<std::string> argv = {
        rampart::testing::kAggregatorBin, "--ingest", "tcp://127.0.0.1:0", "--http",
        "127.0.0.1:" + std::to_string(http_port), "--curve-key", (dir / "aggregator.key").string(),
        "--allowed-agent-keys", (dir / "agent.pub").string(), "--db", (dir / "rampart.db").string(),
        "--cluster", "it", "--engine-interval-ms", "100",
        // The probe timeout is min(interval, 1 s): 200 ms
        // failed healthy members on a loaded machine.
        "--etcd-interval-ms", "1000", "--ready-file", (dir / "aggregator.ready").string()};
    for (const auto& e : etcd) argv.insert(argv.end(), {"--etcd-endpoint", e});
    for (const auto& a : apiservers) argv.insert(argv.end(), {"--apiserver-endpoint", a});
    argv.insert(argv.end(), extra.begin(), extra.end());
    proc = std::make_unique<Process>(argv, dir / "aggregator.log");
    auto ready = readReadyFile(dir / "aggregator.ready", "http", 20s);
    REQUIRE_MESSAGE(ready.has_value(), proc->log());
    http = ready->at("http");
  }

  json audit() {
    auto r = httpGet(http + "/api/v1/audit", 2s);
    if (r.status != 200) return json();
    return json::parse(r.body, nullptr, false);
  }
  std::string metrics() { return httpGet(http + "/metrics", 2s).body; }
};

// check -> the findings' "severity subject-name" strings. Without
// etcd.leader-flapping: how many elections etcd holds depends on the machine's
// load as much as on the kills here (its threshold is unit-tested).
std::multimap<std::string, std::string> liveFindings(const json& report) {
  std::multimap<std::string, std::string> out;
  if (!report.is_object() || !report.contains("findings")) return out;
  for (const auto& f : report["findings"]) {
    std::string check = f.value("check", "");
    if (check == "etcd.leader-flapping") continue;
    if (check.starts_with("etcd.") || check == "controlplane.apiserver-unhealthy") {
      out.emplace(check, f.value("severity", "") + " " + f["subject"].value("name", ""));
    }
  }
  return out;
}

std::string describe(const std::multimap<std::string, std::string>& fs) {
  std::string out;
  for (const auto& [check, what] : fs) {
    out += check;
    out += " (";
    out += what;
    out += "); ";
  }
  return out;
}

bool hasLine(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

double secondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_CASE("a real 3-member etcd: kill one, kill two, restart both; every transition seen") {
  REQUIRE_MESSAGE(access(kEtcd, X_OK) == 0, "etcd-server is not installed");
  TempDir dir;
  EtcdCluster etcd(dir);
  REQUIRE_MESSAGE(waitUntil([&] { return etcd.allHealthy(); }, 30s), etcd.logs());

  // Two "API server instances": one answering /readyz (the aggregator's own,
  // on a port chosen here) and a dead port.
  const int http_port = freeLoopbackPort();
  const std::string dead_apiserver = loopback(freeLoopbackPort());
  Aggregator agg(dir.path(), http_port, etcd.client, {loopback(http_port), dead_apiserver});
  std::multimap<std::string, std::string> fs;
  auto settle = [&](const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
    return waitUntil(
        [&] {
          fs = liveFindings(agg.audit());
          return cond();
        },
        timeout);
  };

  // 1. All healthy: the observation reached the engine (the dead API server
  // instance is reported: 1 of 2 ready) and there is no etcd finding.
  // (Waited for as a whole: the first probes may still be in flight.)
  REQUIRE_MESSAGE(
      settle([&] { return fs.size() == 1 && fs.contains("controlplane.apiserver-unhealthy"); },
             30s),
      (describe(fs) + agg.proc->log()));
  CHECK(fs.find("controlplane.apiserver-unhealthy")->second == "high kube-apiserver");
  std::string m;
  const std::vector<std::string> all_up = {
      R"(rampart_etcd_members{cluster="it",state="healthy"} 3)",
      R"(rampart_etcd_members{cluster="it",state="down"} 0)",
      R"(rampart_etcd_has_leader{cluster="it"} 1)",
      R"(rampart_apiserver_instances{cluster="it",state="healthy"} 1)",
      R"(rampart_apiserver_instances{cluster="it",state="unhealthy"} 1)"};
  auto metrics_show = [&](const std::vector<std::string>& lines) {
    return waitUntil(
        [&] {
          m = agg.metrics();
          for (const auto& line : lines) {
            if (!hasLine(m, line)) return false;
          }
          return true;
        },
        20s);
  };
  CHECK_MESSAGE(metrics_show(all_up), m);

  // 2. One member SIGKILLed: it is down, and the cluster runs on its quorum.
  auto t = std::chrono::steady_clock::now();
  etcd.kill(0);
  REQUIRE_MESSAGE(settle(
                      [&] {
                        return fs.count("etcd.member-down") == 1 &&
                               fs.contains("etcd.quorum-at-risk") && !fs.contains("etcd.no-leader");
                      },
                      20s),
                  (describe(fs) + agg.proc->log()));
  MESSAGE("one member killed -> etcd.member-down in the audit after " << secondsSince(t) << " s");
  CHECK(fs.find("etcd.member-down")->second == "high m1");
  CHECK(fs.find("etcd.quorum-at-risk")->second == "high etcd");
  CHECK_MESSAGE(metrics_show({R"(rampart_etcd_members{cluster="it",state="down"} 1)"}), m);
  CHECK(m.find("rampart_etcd_probe_errors_total{cluster=\"it\",endpoint=\"" + etcd.client[0] +
               "\"}") != std::string::npos);

  // 3. A second one: no leader, quorum lost; the survivor is not "down".
  t = std::chrono::steady_clock::now();
  etcd.kill(1);
  REQUIRE_MESSAGE(settle(
                      [&] {
                        return fs.count("etcd.member-down") == 2 && fs.contains("etcd.no-leader") &&
                               fs.find("etcd.quorum-at-risk") != fs.end() &&
                               fs.find("etcd.quorum-at-risk")->second == "critical etcd";
                      },
                      20s),
                  (describe(fs) + agg.proc->log()));
  MESSAGE("second member killed -> etcd.no-leader in the audit after " << secondsSince(t) << " s");
  auto downs = fs.equal_range("etcd.member-down");
  std::set<std::string> down_names;
  for (auto it = downs.first; it != downs.second; ++it) down_names.insert(it->second);
  CHECK(down_names == std::set<std::string>{"high m1", "high m2"});
  CHECK(fs.find("etcd.no-leader")->second == "critical etcd");
  CHECK_MESSAGE(metrics_show({R"(rampart_etcd_has_leader{cluster="it"} 0)"}), m);

  // 4. Both restarted: every etcd finding resolves.
  t = std::chrono::steady_clock::now();
  etcd.start(0);
  etcd.start(1);
  REQUIRE_MESSAGE(
      settle([&] { return fs.size() == 1 && fs.contains("controlplane.apiserver-unhealthy"); },
             30s),
      (describe(fs) + etcd.logs() + agg.proc->log()));
  MESSAGE("both restarted -> every etcd finding resolved after " << secondsSince(t) << " s");
  CHECK_MESSAGE(metrics_show({R"(rampart_etcd_members{cluster="it",state="healthy"} 3)",
                              R"(rampart_etcd_has_leader{cluster="it"} 1)"}),
                m);
}

namespace {

// A CA, a server certificate for 127.0.0.1 and a client certificate, made
// with the openssl command line (ECDSA P-256, valid one day). The server's
// may also authenticate clients, as kubeadm issues it: etcd's /v3 JSON
// gateway dials etcd's own gRPC port with it, and with --client-cert-auth a
// serverAuth-only certificate makes every /v3 call fail with 503.
void makeCertificates(const std::filesystem::path& dir) {
  auto run = [&](const std::vector<std::string>& argv) {
    auto r = runCommand(argv, 30s);
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  };
  auto p = [&](const char* name) { return (dir / name).string(); };
  const std::vector<std::string> ec = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                       "-nodes"};
  std::vector<std::string> ca = {"openssl", "req", "-x509"};
  ca.insert(ca.end(), ec.begin(), ec.end());
  ca.insert(ca.end(), {"-keyout", p("ca.key"), "-out", p("ca.crt"), "-days", "1", "-subj",
                       "/CN=rampart-test-ca"});
  run(ca);
  std::ofstream(dir / "server.ext")
      << "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n";
  std::ofstream(dir / "client.ext") << "extendedKeyUsage=clientAuth\n";
  for (std::string who : {"server", "client"}) {
    std::vector<std::string> req = {"openssl", "req"};
    req.insert(req.end(), ec.begin(), ec.end());
    req.insert(req.end(), {"-keyout", (dir / (who + ".key")).string(), "-out",
                           (dir / (who + ".csr")).string(), "-subj", "/CN=rampart-" + who});
    run(req);
    run({"openssl", "x509", "-req", "-in", (dir / (who + ".csr")).string(), "-CA", p("ca.crt"),
         "-CAkey", p("ca.key"), "-CAcreateserial", "-out", (dir / (who + ".crt")).string(), "-days",
         "1", "-extfile", (dir / (who + ".ext")).string()});
  }
}

}  // namespace

// etcd as kubeadm runs it: HTTPS with client-certificate authentication. The
// aggregator with --etcd-cacert/--etcd-cert/--etcd-key sees a healthy member
// with a leader; one without a client certificate is refused by etcd and says
// so (probe errors, the member counted down), never healthy by mistake.
TEST_CASE("a real etcd with TLS client authentication: probed with certificates, refused without") {
  REQUIRE_MESSAGE(access(kEtcd, X_OK) == 0, "etcd-server is not installed");
  TempDir dir;
  makeCertificates(dir.path());
  const std::string client = "https://127.0.0.1:" + std::to_string(freeLoopbackPort());
  const std::string peer = loopback(freeLoopbackPort());
  Process etcd({kEtcd,
                "--name",
                "m1",
                "--data-dir",
                (dir / "data").string(),
                "--listen-client-urls",
                client,
                "--advertise-client-urls",
                client,
                "--listen-peer-urls",
                peer,
                "--initial-advertise-peer-urls",
                peer,
                "--initial-cluster",
                "m1=" + peer,
                "--cert-file",
                (dir / "server.crt").string(),
                "--key-file",
                (dir / "server.key").string(),
                "--client-cert-auth",
                "--trusted-ca-file",
                (dir / "ca.crt").string()},
               dir / "etcd.log");

  std::filesystem::create_directories(dir / "with");
  Aggregator with(dir / "with", freeLoopbackPort(), {client}, {},
                  {"--etcd-cacert", (dir / "ca.crt").string(), "--etcd-cert",
                   (dir / "client.crt").string(), "--etcd-key", (dir / "client.key").string()});
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        std::string m = with.metrics();
                        return hasLine(m, R"(rampart_etcd_has_leader{cluster="it"} 1)") &&
                               hasLine(m,
                                       R"(rampart_etcd_members{cluster="it",state="healthy"} 1)");
                      },
                      30s),
                  (etcd.log() + with.proc->log()));
  // (A single member is its own finding, etcd.quorum-at-risk; but it is up and leads.)
  std::multimap<std::string, std::string> fs;
  CHECK_MESSAGE(waitUntil(
                    [&] {
                      fs = liveFindings(with.audit());
                      return fs.contains("etcd.quorum-at-risk") &&
                             !fs.contains("etcd.member-down") && !fs.contains("etcd.no-leader");
                    },
                    15s),
                describe(fs));

  std::filesystem::create_directories(dir / "without");
  Aggregator without(dir / "without", freeLoopbackPort(), {client}, {},
                     {"--etcd-cacert", (dir / "ca.crt").string()});
  const std::string errors =
      "rampart_etcd_probe_errors_total{cluster=\"it\",endpoint=\"" + client + "\"} ";
  CHECK_MESSAGE(waitUntil(
                    [&] {
                      std::string m = without.metrics();
                      auto at = m.find("\n" + errors);
                      return at != std::string::npos &&
                             std::stod(m.substr(at + errors.size() + 1)) >= 2 &&
                             hasLine(m, R"(rampart_etcd_has_leader{cluster="it"} 0)");
                    },
                    30s),
                without.proc->log());
  CHECK_FALSE(
      hasLine(without.metrics(), R"(rampart_etcd_members{cluster="it",state="healthy"} 1)"));
}
