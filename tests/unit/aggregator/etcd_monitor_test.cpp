// The aggregator's etcd prober without etcd: flag validation, the snapshot
// directory, a dead endpoint, and the generation that moves only on a change.
#include <doctest/doctest.h>

#include <prometheus/text_serializer.h>
#include <utime.h>

#include <fstream>

#include "etcd/etcd_monitor.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::aggregator;

namespace {

std::string scrape(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

}  // namespace

TEST_CASE("flags: nothing asked, nothing made; contradictions are config errors") {
  prometheus::Registry registry;
  engine::Options engine;
  EtcdFlags none;
  auto m = makeEtcdMonitor(none, "c", std::nullopt, engine, registry, nullLogger());
  REQUIRE(m.has_value());
  CHECK(*m == nullptr);

  EtcdFlags both;
  both.snapshot_dir = "/a";
  both.snapshot_marker = "/b";
  CHECK(makeEtcdMonitor(both, "c", std::nullopt, engine, registry, nullLogger()).error().code ==
        ErrorCode::kConfig);
  EtcdFlags not_url;
  not_url.endpoints = {"127.0.0.1:2379"};
  CHECK_FALSE(makeEtcdMonitor(not_url, "c", std::nullopt, engine, registry, nullLogger()));
  EtcdFlags half_pair;
  half_pair.endpoints = {"https://127.0.0.1:2379"};
  half_pair.cert = "/x.crt";
  CHECK_FALSE(makeEtcdMonitor(half_pair, "c", std::nullopt, engine, registry, nullLogger()));
  EtcdFlags bad_ca;
  bad_ca.endpoints = {"https://127.0.0.1:2379"};
  bad_ca.cacert = "/nonexistent/ca.crt";
  auto r = makeEtcdMonitor(bad_ca, "c", std::nullopt, engine, registry, nullLogger());
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message.find("--etcd-cacert") != std::string::npos);
}

TEST_CASE("a dead endpoint and a snapshot directory: observation, metrics, generation") {
  rampart::testing::TempDir dir;
  prometheus::Registry registry;
  engine::Options engine;
  EtcdFlags flags;
  flags.endpoints = {"http://127.0.0.1:1"};
  flags.snapshot_dir = dir.path().string();
  flags.snapshot_max_age_hours = 2;
  auto made = makeEtcdMonitor(flags, "it", std::nullopt, engine, registry, nullLogger());
  REQUIRE(made.has_value());
  REQUIRE(*made != nullptr);
  EtcdMonitor& m = **made;
  CHECK(engine.etcd_snapshot_max_age_seconds == 7200);
  CHECK_FALSE(m.latest().has_value());

  m.probeOnce();
  auto o = m.latest();
  REQUIRE(o.has_value());
  REQUIRE(o->members.size() == 1);
  CHECK_FALSE(o->members[0].healthy);
  CHECK(o->members[0].endpoint == "http://127.0.0.1:1");
  CHECK_FALSE(o->has_leader);
  CHECK(o->snapshot_configured);
  CHECK_FALSE(o->snapshot_unix.has_value());
  CHECK(o->snapshot_error.find("no snapshot file") != std::string::npos);
  CHECK(m.generation() == 1);

  m.probeOnce();  // nothing changed: no new generation
  CHECK(m.generation() == 1);

  std::ofstream(dir / "etcd-1.db") << "snapshot";
  m.probeOnce();
  CHECK(m.generation() == 2);
  o = m.latest();
  REQUIRE(o->snapshot_unix.has_value());

  // The snapshot ages past the limit: a change although the file did not move.
  const auto old = static_cast<time_t>(*o->snapshot_unix - 3 * 3600);
  struct utimbuf times {
    old, old
  };
  REQUIRE(::utime((dir / "etcd-1.db").c_str(), &times) == 0);
  m.probeOnce();
  CHECK(m.generation() == 3);

  std::string text = scrape(registry);
  CHECK(text.find(R"(rampart_etcd_members{cluster="it",state="down"} 1)") != std::string::npos);
  CHECK(text.find(R"(rampart_etcd_has_leader{cluster="it"} 0)") != std::string::npos);
  CHECK(text.find(
            R"(rampart_etcd_probe_errors_total{cluster="it",endpoint="http://127.0.0.1:1"} 4)") !=
        std::string::npos);
  CHECK(text.find("rampart_etcd_snapshot_age_seconds{cluster=\"it\"} 108") != std::string::npos);
}
