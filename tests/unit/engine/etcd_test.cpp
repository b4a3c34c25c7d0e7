// Live etcd / API-server checks (checkEtcdObserved) on the prober's
// observation, and their points in the score. One row per rule boundary.
// docs/etcd.md, docs/checks.md "Live control plane and etcd".
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "engine_etcd.h"
#include "engine_index.h"
#include "rampart/engine.h"

using namespace rampart;
using namespace rampart::engine;

namespace {

constexpr int64_t kNow = 1'800'000'000;

EtcdObservation cluster(int members, int down, bool has_leader = true) {
  EtcdObservation o;
  for (int i = 0; i < members; ++i) {
    EtcdMemberState m;
    m.name = "m" + std::to_string(i + 1);
    m.id = std::to_string(1000 + i);
    m.endpoint = "http://127.0.0.1:" + std::to_string(2379 + i);
    m.healthy = i >= down;
    if (!m.healthy) m.error = "connect 127.0.0.1: Connection refused";
    o.members.push_back(m);
  }
  o.has_leader = has_leader;
  if (has_leader) {
    o.leader_id = o.members.back().id;
    o.members.back().is_leader = true;
  }
  o.observed_at_unix = kNow;
  return o;
}

std::vector<Finding> run(const EtcdObservation& o, const Options& options = {}) {
  Snapshot s;
  s.now_unix = kNow;
  s.etcd = o;
  Index index(s, options);
  std::vector<Finding> out;
  checkEtcdObserved(index, out);
  return out;
}

std::vector<std::string> checks(const std::vector<Finding>& fs) {
  std::vector<std::string> out;
  out.reserve(fs.size());
  for (const Finding& f : fs) out.push_back(f.check + ":" + std::string(severityName(f.severity)));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("no observation, no finding; a healthy 3-member cluster, none either") {
  Snapshot s;
  s.now_unix = kNow;
  Options options;
  Index index(s, options);
  std::vector<Finding> out;
  checkEtcdObserved(index, out);
  CHECK(out.empty());
  CHECK(run(cluster(3, 0)).empty());
  // 4 of 5 > quorum 3: the member alone.
  CHECK(checks(run(cluster(5, 1))) == std::vector<std::string>{"etcd.member-down:high"});
}

TEST_CASE("members down, quorum and leader: one row per boundary") {
  struct Row {
    int members, down;
    bool leader;
    std::vector<std::string> expected;
  };
  const std::vector<Row> rows = {
      {3, 1, true, {"etcd.member-down:high", "etcd.quorum-at-risk:high"}},
      {3,
       2,
       false,
       {"etcd.member-down:high", "etcd.member-down:high", "etcd.no-leader:critical",
        "etcd.quorum-at-risk:critical"}},
      {3,
       3,
       false,
       {"etcd.member-down:high", "etcd.member-down:high", "etcd.member-down:high",
        "etcd.no-leader:critical", "etcd.quorum-at-risk:critical"}},
      {5, 2, true, {"etcd.member-down:high", "etcd.member-down:high", "etcd.quorum-at-risk:high"}},
      {3, 0, false, {"etcd.no-leader:critical"}},  // an election in progress
      {1, 0, true, {"etcd.quorum-at-risk:high"}},  // one member tolerates no failure
  };
  for (const Row& r : rows) {
    CAPTURE(r.members);
    CAPTURE(r.down);
    CHECK(checks(run(cluster(r.members, r.down, r.leader))) == r.expected);
  }
}

TEST_CASE("a member-down finding names the member, stable across errors") {
  auto fs = run(cluster(3, 1));
  const Finding* down = nullptr;
  for (const Finding& f : fs) {
    if (f.check == "etcd.member-down") down = &f;
  }
  REQUIRE(down != nullptr);
  CHECK(down->subject == ObjectRef{"EtcdMember", "", "m1"});
  CHECK(down->details["id"] == "1000");
  CHECK(down->details["endpoint"] == "http://127.0.0.1:2379");
  CHECK(down->message.find("Connection refused") != std::string::npos);
  // No name known yet: the id, then the endpoint.
  EtcdObservation o = cluster(3, 1);
  o.members[0].name.clear();
  CHECK(run(o)[0].subject.name == "1000");
  o.members[0].id.clear();
  CHECK(run(o)[0].subject.name == "http://127.0.0.1:2379");
}

TEST_CASE("even member counts, unless the pods' etcd.member-count says so already") {
  CHECK(checks(run(cluster(4, 0))) == std::vector<std::string>{"etcd.even-members:medium"});
  CHECK(checks(run(cluster(2, 0))) ==
        std::vector<std::string>{"etcd.even-members:high", "etcd.quorum-at-risk:high"});

  Snapshot s;
  s.now_unix = kNow;
  s.etcd = cluster(4, 0);
  for (int i = 0; i < 4; ++i) {
    Pod p;
    p.namespace_ = "kube-system";
    p.name = "etcd-cp" + std::to_string(i);
    p.node_name = "cp" + std::to_string(i);
    p.labels = {{"component", "etcd"}, {"tier", "control-plane"}};
    p.phase = PodPhase::kRunning;
    s.pods.push_back(p);
  }
  Options options;
  Index index(s, options);
  std::vector<Finding> out;
  checkEtcdObserved(index, out);
  CHECK(out.empty());
}

TEST_CASE("leader flapping above the threshold") {
  EtcdObservation o = cluster(3, 0);
  o.leader_changes = 3;
  CHECK(run(o).empty());
  o.leader_changes = 4;
  auto fs = run(o);
  REQUIRE(fs.size() == 1);
  CHECK(fs[0].check == "etcd.leader-flapping");
  CHECK(fs[0].details["leader_changes"] == 4);
  Options strict;
  strict.etcd_leader_changes_max = 10;
  CHECK(run(o, strict).empty());
}

TEST_CASE("snapshot age against the option (default 24 h); none found is stale") {
  EtcdObservation o = cluster(3, 0);
  CHECK(run(o).empty());  // not configured
  o.snapshot_configured = true;
  o.snapshot_unix = kNow - 24 * 3600;
  CHECK(run(o).empty());
  o.snapshot_unix = kNow - 24 * 3600 - 1;
  auto fs = run(o);
  REQUIRE(fs.size() == 1);
  CHECK(fs[0].check == "etcd.snapshot-stale");
  CHECK(fs[0].details["age_seconds"] == 24 * 3600 + 1);
  o.snapshot_unix.reset();
  o.snapshot_error = "no regular file in /backup";
  fs = run(o);
  REQUIRE(fs.size() == 1);
  CHECK(fs[0].message == "no etcd snapshot found: no regular file in /backup");
  // The snapshot check runs without etcd endpoints too.
  EtcdObservation only_snapshot;
  only_snapshot.snapshot_configured = true;
  CHECK(checks(run(only_snapshot)) == std::vector<std::string>{"etcd.snapshot-stale:high"});
}

TEST_CASE("API server instances: severity by how many are left") {
  struct Row {
    int healthy, expected;
    std::string expected_check;
  };
  for (const Row& r : std::vector<Row>{{3, 3, ""},
                                       {2, 3, "controlplane.apiserver-unhealthy:medium"},
                                       {1, 3, "controlplane.apiserver-unhealthy:high"},
                                       {0, 3, "controlplane.apiserver-unhealthy:critical"},
                                       {0, 0, ""}}) {
    EtcdObservation o;
    o.apiserver_healthy = r.healthy;
    o.apiserver_expected = r.expected;
    for (int i = r.healthy; i < r.expected; ++i) o.apiserver_errors.push_back("https://x: refused");
    auto got = checks(run(o));
    CAPTURE(r.healthy);
    if (r.expected_check.empty()) {
      CHECK(got.empty());
    } else {
      CHECK(got == std::vector<std::string>{r.expected_check});
    }
  }
}

TEST_CASE("etcd findings cost cluster points like other infrastructure findings") {
  Snapshot s;
  s.now_unix = kNow;
  s.etcd = cluster(3, 1);
  Report r = evaluate(s, Options{});
  Centi sum = 0;
  int etcd_findings = 0;
  for (const Finding& f : r.findings) {
    sum += f.cluster_points;
    if (f.check.starts_with("etcd.")) {
      ++etcd_findings;
      CHECK(f.points == 2000);  // high: 20 points at full base (cluster-level)
    }
  }
  CHECK(etcd_findings == 2);
  CHECK(sum == 10000 - r.score.cluster);
  CHECK(r.score.cluster <= 6400);  // 100 x 0.8 x 0.8
}
