// A hostile or broken agent against the real aggregator (docs/security.md):
// with an allowed key it sends frames that declare huge lists, mutated
// frames and names that would break the Prometheus exposition. Each is
// refused and counted, the aggregator's memory stays where it was, and
// /metrics stays valid for `promtool check metrics`.
#include <doctest/doctest.h>

#include <fstream>
#include <random>
#include <sstream>

#include <zmq.hpp>

#include "cluster_gen.h"
#include "hostile_frames.h"
#include "rampart/curve.h"
#include "rampart/k8s_objects.h"
#include "rampart/wire.h"
#include "test_paths.h"
#include "test_support.h"

using namespace std::chrono_literals;
using namespace rampart;
using namespace rampart::testing;

namespace {

struct Aggregator {
  TempDir dir;
  std::unique_ptr<Process> process;
  std::string http, ingest;
  CurveKeyPair server_keys = *generateCurveKeyPair();
  CurveKeyPair agent_keys = *generateCurveKeyPair();

  Aggregator() {
    REQUIRE(writeKeyFile(dir / "aggregator.key", server_keys, true).has_value());
    REQUIRE(writeKeyFile(dir / "agent.pub", agent_keys, false).has_value());
    process = std::make_unique<Process>(
        std::vector<std::string>{kAggregatorBin, "--ingest", "tcp://127.0.0.1:0", "--http",
                                 "127.0.0.1:0", "--curve-key", (dir / "aggregator.key").string(),
                                 "--allowed-agent-keys", (dir / "agent.pub").string(), "--db",
                                 (dir / "rampart.db").string(), "--cluster", "it", "--ready-file",
                                 (dir / "aggregator.ready").string()},
        dir / "aggregator.log");
    auto ready = readReadyFile(dir / "aggregator.ready", "http", 20s);
    REQUIRE_MESSAGE(ready.has_value(), process->log());
    http = ready->at("http");
    ingest = ready->at("ingest");
  }

  // The sum of every series of a counter (-1 when /metrics does not answer).
  double total(const std::string& name, const std::string& label_fragment = "") {
    auto r = httpGet(http + "/metrics");
    if (r.status != 200) return -1;
    std::istringstream lines(r.body);
    std::string line;
    double sum = 0;
    while (std::getline(lines, line)) {
      if (line.starts_with(name + "{") && line.find(label_fragment) != std::string::npos) {
        sum += std::stod(line.substr(line.rfind(' ') + 1));
      }
    }
    return sum;
  }

  // Every message the ingest thread has judged, accepted or not.
  double judged() {
    return total("rampart_reports_received_total") + total("rampart_reports_rejected_total");
  }

  long rssKb() const {
    std::ifstream status("/proc/" + std::to_string(process->pid()) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
    }
    return -1;
  }
};

// A CURVE-authenticated DEALER with the allowed agent key.
struct HostileAgent {
  zmq::context_t ctx{1};
  zmq::socket_t socket{ctx, zmq::socket_type::dealer};

  explicit HostileAgent(const Aggregator& a) {
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::curve_serverkey, a.server_keys.public_key);
    socket.set(zmq::sockopt::curve_publickey, a.agent_keys.public_key);
    socket.set(zmq::sockopt::curve_secretkey, a.agent_keys.secret_key);
    socket.connect(a.ingest);
  }
  void send(const std::string& frame) {
    socket.send(zmq::buffer(frame.data(), frame.size()), zmq::send_flags::none);
  }
};

wire::Hello hello(const std::string& name) {
  wire::Hello h;
  h.identity.node.name = name;
  h.identity.boot_id = "boot";
  h.report_interval_ms = 1000;
  return h;
}

}  // namespace

TEST_CASE("frames declaring a million pods are refused and the aggregator's memory stays put") {
  Aggregator a;
  HostileAgent agent(a);
  const std::string frame = declaredPodsFrame(1'000'000);
  REQUIRE(frame.size() < 64);
  agent.send(frame);
  REQUIRE(waitUntil([&] { return a.total("rampart_reports_rejected_total", "amplification") >= 1; },
                    10s));
  const long before = a.rssKb();
  constexpr int kFrames = 2000;  // each once claimed ~1.1 GB
  for (int i = 0; i < kFrames; ++i) agent.send(frame);
  REQUIRE(waitUntil(
      [&] {
        return a.total("rampart_reports_rejected_total", "limit_amplification") >= kFrames + 1;
      },
      30s));
  const long after = a.rssKb();
  MESSAGE("aggregator RSS before " << before << " kB, after " << kFrames << " frames " << after
                                   << " kB");
  CHECK(after - before < 16 * 1024);
  CHECK(a.process->running());
  CHECK(httpGet(a.http + "/healthz").status == 200);
}

TEST_CASE("names that would break the exposition are refused; promtool accepts /metrics") {
  Aggregator a;
  HostileAgent agent(a);
  // A valid frame whose node name is not UTF-8 (the encoder copies bytes).
  agent.send(wire::encode(wire::Message{hello("worker-\xff\xfe")}));
  // UTF-8, but not a node name: quotes, a newline, upper case.
  agent.send(wire::encode(wire::Message{hello("x\"} 1\nrampart_fake{a=\"b")}));
  agent.send(wire::encode(wire::Message{hello("Worker-B1")}));
  agent.send(wire::encode(wire::Message{hello("worker-b1")}));  // a good one, last
  REQUIRE(waitUntil([&] { return a.judged() >= 4; }, 10s));
  CHECK(a.total("rampart_reports_rejected_total", "reason=\"invalid_utf8\"") == 1);
  CHECK(a.total("rampart_reports_rejected_total", "reason=\"invalid_node_name\"") == 2);
  CHECK(a.total("rampart_reports_received_total", "kind=\"hello\"") == 1);

  const std::string metrics = httpGet(a.http + "/metrics").body;
  std::ofstream(a.dir / "metrics.txt") << metrics;
  auto check = runCommand(
      {"bash", "-c", "promtool check metrics < '" + (a.dir / "metrics.txt").string() + "'"});
  // An unparsable exposition is "error while linting ... invalid label
  // value" and exit code 1; lint advice would be exit code 1 too.
  INFO(check.output);
  CHECK(check.exit_code == 0);
  CHECK(metrics.find("rampart_fake") == std::string::npos);
}

TEST_CASE("100k mutated frames: all judged, none crash it, memory returns to a small factor") {
  Aggregator a;
  HostileAgent agent(a);
  // Realistic frames to mutate: a hello, a full report of 110 generated pods,
  // a delta and a heartbeat.
  bench::ClusterShape shape;
  shape.nodes = 3;
  shape.pods = 400;
  k8s::Objects objects;
  REQUIRE(k8s::decodeObjects(bench::generateCluster(shape).json, objects).has_value());
  objects.pods.resize(std::min<size_t>(objects.pods.size(), 110));
  wire::Report full;
  full.identity.node.name = "worker-b1";
  full.full = true;
  full.sequence = 1;
  full.pods = objects.pods;
  wire::Report delta = full;
  delta.full = false;
  delta.sequence = 2;
  delta.base_sequence = 1;
  delta.pods.resize(5);
  delta.removed_pod_uids = {objects.pods.back().uid};
  const std::vector<std::string> seeds = {
      wire::encode(wire::Message{hello("worker-b1")}), wire::encode(wire::Message{full}),
      wire::encode(wire::Message{delta}),
      wire::encode(wire::Message{wire::Heartbeat{"worker-b1", "boot", 2, 1, {}, {}}})};
  for (const auto& s : seeds) agent.send(s);
  REQUIRE(waitUntil([&] { return a.judged() >= 4; }, 10s));
  const long before = a.rssKb();

  std::mt19937 rng(20261207);
  constexpr int kFrames = 100'000;
  for (int i = 0; i < kFrames; ++i) {
    std::string f = seeds[rng() % seeds.size()];
    const int flips = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < flips; ++k) f[rng() % f.size()] = static_cast<char>(rng());
    if (rng() % 16 == 0) f.resize(1 + rng() % f.size());
    agent.send(f);
  }
  REQUIRE(waitUntil([&] { return a.judged() >= kFrames + 4; }, 120s));
  const long after = a.rssKb();
  MESSAGE("aggregator RSS before " << before << " kB, after 100k mutated frames " << after
                                   << " kB; rejected " << a.total("rampart_reports_rejected_total")
                                   << ", applied " << a.total("rampart_reports_received_total"));
  CHECK(after < 3 * before);
  CHECK(a.process->running());
  CHECK(httpGet(a.http + "/healthz").status == 200);
}

TEST_CASE("clients without CURVE or with another server's key are counted as failed handshakes") {
  Aggregator a;
  zmq::context_t ctx(1);
  // No CURVE at all.
  zmq::socket_t plain(ctx, zmq::socket_type::dealer);
  plain.set(zmq::sockopt::linger, 0);
  plain.connect(a.ingest);
  plain.send(zmq::str_buffer("hello"), zmq::send_flags::dontwait);
  REQUIRE_MESSAGE(
      waitUntil([&] { return a.total("rampart_reports_rejected_total", "handshake") >= 1; }, 10s),
      a.process->log());
  // CURVE, but encrypting to another aggregator's public key.
  const CurveKeyPair other = *generateCurveKeyPair();
  zmq::socket_t wrong(ctx, zmq::socket_type::dealer);
  wrong.set(zmq::sockopt::linger, 0);
  wrong.set(zmq::sockopt::curve_serverkey, other.public_key);
  wrong.set(zmq::sockopt::curve_publickey, a.agent_keys.public_key);
  wrong.set(zmq::sockopt::curve_secretkey, a.agent_keys.secret_key);
  const double before = a.total("rampart_reports_rejected_total", "handshake");
  wrong.connect(a.ingest);
  CHECK_MESSAGE(
      waitUntil(
          [&] { return a.total("rampart_reports_rejected_total", "handshake") >= before + 1; },
          10s),
      a.process->log());
  CHECK(a.process->log().find("failed its handshake") != std::string::npos);
  CHECK(a.total("rampart_reports_received_total") == 0);
}
