#include <doctest/doctest.h>

#include <prometheus/registry.h>

#include <functional>
#include <thread>

#include "rampart/wire.h"
#include "state/ingest.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::aggregator;
using namespace std::chrono_literals;

namespace {

double metricValue(prometheus::Registry& registry, const std::string& name,
                   const std::string& label, const std::string& value) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      for (const auto& l : m.label) {
        if (l.name == label && l.value == value) {
          return family.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
        }
      }
    }
  }
  return -1;
}

// An aggregator ingest running on its own thread, on an ephemeral port.
struct IngestFixture {
  zmq::context_t context{1};
  CurveKeyPair server = *generateCurveKeyPair();
  CurveKeyPair allowed = *generateCurveKeyPair();
  CurveKeyPair stranger = *generateCurveKeyPair();
  testing::TempDir dir;
  std::unique_ptr<Store> store = std::move(*Store::open(dir / "ingest.db"));
  prometheus::Registry registry;
  Metrics metrics{registry, "test"};
  LiveModel model;
  std::unique_ptr<Ingest> ingest;
  std::string endpoint;
  std::atomic<bool> stop{false};
  std::thread thread;

  explicit IngestFixture(const std::function<void(Store&)>& before_start = {}) {
    if (before_start) before_start(*store);
    IngestOptions opts;
    opts.bind = "tcp://127.0.0.1:*";
    opts.server_keys = server;
    opts.allowed_agents = {{allowed.public_key, "agent-a"}};
    ingest = std::make_unique<Ingest>(context, opts, model, store.get(), metrics, nullLogger());
    endpoint = *ingest->bind();
    thread = std::thread([this] { ingest->run(stop); });
  }
  ~IngestFixture() {
    stop = true;
    thread.join();
    ingest.reset();
  }

  zmq::socket_t client(const CurveKeyPair& keys) {
    zmq::socket_t s(context, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::curve_serverkey, server.public_key);
    s.set(zmq::sockopt::curve_publickey, keys.public_key);
    s.set(zmq::sockopt::curve_secretkey, keys.secret_key);
    s.connect(endpoint);
    return s;
  }

  // History as another connection sees it (the ingest thread owns `store`).
  size_t events(const std::string& node) {
    auto reader = Store::open(dir / "ingest.db");
    if (!reader) return 0;
    auto ev = (*reader)->events(node, 100);
    return ev ? ev->size() : 0;
  }

  size_t pods(const std::string& node) {
    std::lock_guard lock(model.mu);
    const auto* rec = model.state.node(node);
    return rec == nullptr ? 0 : rec->pods.size();
  }
};

wire::Report fullReport(const std::string& node, uint64_t seq, int pods) {
  wire::Report r;
  r.identity.node.name = node;
  r.sequence = seq;
  r.full = true;
  for (int i = 0; i < pods; ++i) {
    Pod p;
    p.uid = node + "-pod-" + std::to_string(i);
    p.name = p.uid;
    p.namespace_ = "default";
    p.node_name = node;
    r.pods.push_back(p);
  }
  return r;
}

void send(zmq::socket_t& s, const wire::Message& m) {
  s.send(zmq::buffer(wire::encode(m)), zmq::send_flags::none);
}

}  // namespace

TEST_CASE("an allowed agent's hello and full report reach the model and the store") {
  IngestFixture f;
  auto c = f.client(f.allowed);
  wire::NodeIdentity id;
  id.node.name = "n1";
  send(c, wire::Hello{id, 1, 1000, 30});
  send(c, fullReport("n1", 1, 3));
  REQUIRE(testing::waitUntil([&] { return f.pods("n1") == 3; }, 5s));
  {
    std::lock_guard lock(f.model.mu);
    CHECK(f.model.state.node("n1")->agent == "agent-a");  // ZAP User-Id
  }
  // Counted after the model is updated (outside its lock): waited for.
  CHECK(testing::waitUntil(
      [&] {
        return metricValue(f.registry, "rampart_reports_received_total", "kind", "full") == 1;
      },
      5s));
  REQUIRE(testing::waitUntil([&] { return f.events("n1") == 2; }, 5s));
}

TEST_CASE("a client without an allowed CURVE key is refused and counted") {
  IngestFixture f;
  auto c = f.client(f.stranger);
  send(c, fullReport("intruder", 1, 1));
  REQUIRE(testing::waitUntil([&] { return f.ingest->denied() >= 1; }, 5s));
  // The ZAP thread counts the denial, then calls back into the metric.
  CHECK(testing::waitUntil(
      [&] {
        return metricValue(f.registry, "rampart_reports_rejected_total", "reason",
                           "unauthorized") >= 1;
      },
      5s));
  CHECK(f.pods("intruder") == 0);
  std::lock_guard lock(f.model.mu);
  CHECK(f.model.state.node("intruder") == nullptr);
}

TEST_CASE("random bytes, truncated frames and multi-frame messages are counted; serving goes on") {
  IngestFixture f;
  auto c = f.client(f.allowed);
  c.send(zmq::str_buffer("\x01\x02garbage that is not capnp"), zmq::send_flags::none);
  std::string frame = wire::encode(wire::Message{fullReport("n2", 1, 5)});
  c.send(zmq::buffer(frame.data(), frame.size() / 2), zmq::send_flags::none);
  c.send(zmq::str_buffer("part one"), zmq::send_flags::sndmore);
  c.send(zmq::str_buffer("part two"), zmq::send_flags::none);
  send(c, fullReport("n2", 1, 5));
  REQUIRE(testing::waitUntil([&] { return f.pods("n2") == 5; }, 5s));
  CHECK(metricValue(f.registry, "rampart_reports_rejected_total", "reason", "decode_error") == 2);
  CHECK(metricValue(f.registry, "rampart_reports_rejected_total", "reason", "malformed_envelope") ==
        1);
}

TEST_CASE("a delta from a node the aggregator does not know gets a resync reply") {
  IngestFixture f;
  auto c = f.client(f.allowed);
  wire::Report d = fullReport("n3", 7, 1);
  d.full = false;
  d.base_sequence = 6;
  send(c, d);
  zmq::pollitem_t items[] = {{c.handle(), 0, ZMQ_POLLIN, 0}};
  REQUIRE(zmq::poll(items, 1, 5000ms) == 1);
  zmq::message_t reply;
  REQUIRE(c.recv(reply, zmq::recv_flags::none));
  auto decoded =
      wire::decode(std::string_view(static_cast<const char*>(reply.data()), reply.size()));
  REQUIRE(decoded.has_value());
  REQUIRE(std::holds_alternative<wire::Resync>(decoded->message));
  CHECK(std::get<wire::Resync>(decoded->message).reason.find("n3") != std::string::npos);
  CHECK(metricValue(f.registry, "rampart_reports_rejected_total", "reason", "out_of_sequence") ==
        1);
  CHECK(f.pods("n3") == 0);
}

TEST_CASE("report history older than the retention is pruned while serving") {
  IngestFixture f([](Store& store) {
    REQUIRE(store.recordEvent({1000, "old-node", "full", 1, 3, 0, ""}).has_value());
  });
  REQUIRE(testing::waitUntil([&] { return f.events("old-node") == 0; }, 5s));
}
