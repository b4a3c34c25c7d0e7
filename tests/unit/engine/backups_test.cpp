// Backup and volume checks (checkBackups): Velero schedules, coverage of
// volumes, zonal volumes under zone-redundant workloads. One table row per
// rule boundary. docs/checks.md, "HA/DR checks".
#include <doctest/doctest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine_index.h"
#include "engine_test_util.h"

using namespace rampart;
using namespace rampart::engine;
using namespace rampart::engine::testutil;

namespace {

constexpr int64_t kNow = 1'800'000'000;  // 2027-01-15T08:00:00Z
constexpr int64_t kMaxAge = 26 * 3600;   // Options default

std::vector<Finding> run(const Snapshot& snapshot) {
  Options options;
  Index index(snapshot, options);
  std::vector<Finding> out;
  checkBackups(index, out);
  return out;
}

VeleroSchedule schedule(std::string name, std::vector<std::string> included = {},
                        std::vector<std::string> excluded = {}, bool paused = false,
                        std::optional<LabelSelector> selector = std::nullopt) {
  VeleroSchedule s;
  s.namespace_ = "velero";
  s.name = std::move(name);
  s.cron = "0 2 * * *";
  s.paused = paused;
  s.included_namespaces = std::move(included);
  s.excluded_namespaces = std::move(excluded);
  s.label_selector = std::move(selector);
  s.phase = "Enabled";
  return s;
}

VeleroBackup backup(std::string name, std::string schedule_name, std::string phase,
                    int64_t completion) {
  VeleroBackup b;
  b.namespace_ = "velero";
  b.name = std::move(name);
  b.schedule_name = std::move(schedule_name);
  b.phase = std::move(phase);
  b.start_unix = completion - 600;
  b.completion_unix = b.phase == "InProgress" ? 0 : completion;
  return b;
}

// Deployment shop/db with one pod mounting PVC "data", labelled app=db.
Snapshot dbSnapshot() {
  Snapshot s;
  s.now_unix = kNow;
  s.velero_seen = true;
  s.nodes = {makeNode("n1", "a")};
  Workload w = makeWorkload("Deployment", "shop", "db", 1);
  w.template_labels = {{"app", "db"}};
  s.workloads = {w};
  Pod p = makePod("shop", "db-abc-0", "n1", {{"app", "db"}}, "ReplicaSet", "db-abc");
  p.pvc_names = {"data"};
  s.pods = {p};
  return s;
}

}  // namespace

TEST_CASE("backup.not-observed without Velero objects, and nothing else about backups") {
  Snapshot s = dbSnapshot();
  s.velero_seen = false;
  s.velero_schedules = {schedule("daily")};  // ignored: the input did not say Velero was read
  std::vector<Finding> all = run(s);
  CHECK(ids(all) == std::set<std::string>{"backup.not-observed"});
  REQUIRE(all.size() == 1);
  CHECK(all[0].severity == Severity::kInfo);
  CHECK(all[0].subject == ObjectRef{"Cluster", "", ""});
  CHECK_FALSE(all[0].workload.has_value());
  CHECK(all[0].message ==
        "the input holds no Velero Schedules or Backups: backups are not evaluated");
}

TEST_CASE("backup.stale: ages either side of the limit, phases, paused schedules") {
  struct Row {
    const char* name;
    bool paused;
    std::vector<VeleroBackup> backups;
    bool fires;
    std::optional<std::string> last_completed;
    std::optional<int64_t> age;
    std::optional<std::string> newest_phase;
  };
  const Row rows[] = {
      {"completed exactly at the limit",
       false,
       {backup("daily-1", "daily", "Completed", kNow - kMaxAge)},
       false,
       {},
       {},
       {}},
      {"completed one second over the limit",
       false,
       {backup("daily-1", "daily", "Completed", kNow - kMaxAge - 1)},
       true,
       "2027-01-14T05:59:59Z",
       kMaxAge + 1,
       "Completed"},
      {"never any backup", false, {}, true, std::nullopt, std::nullopt, std::nullopt},
      {"newest PartiallyFailed, an older Completed within the limit",
       false,
       {backup("daily-2", "daily", "PartiallyFailed", kNow - 600),
        backup("daily-1", "daily", "Completed", kNow - 3600)},
       false,
       {},
       {},
       {}},
      {"newest Failed, the Completed one too old",
       false,
       {backup("daily-2", "daily", "Failed", kNow - 600),
        backup("daily-1", "daily", "Completed", kNow - 3 * kMaxAge)},
       true,
       "2027-01-12T02:00:00Z",
       3 * kMaxAge,
       "Failed"},
      {"only InProgress",
       false,
       {backup("daily-1", "daily", "InProgress", kNow - 60)},
       true,
       std::nullopt,
       std::nullopt,
       "InProgress"},
      {"a fresh backup of another schedule does not count",
       false,
       {backup("weekly-1", "weekly", "Completed", kNow - 60)},
       true,
       std::nullopt,
       std::nullopt,
       std::nullopt},
      {"paused, never any backup", true, {}, false, {}, {}, {}},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    Snapshot s = dbSnapshot();
    s.velero_schedules = {schedule("daily", {}, {}, row.paused)};
    s.velero_backups = row.backups;
    auto f = findingsOf(run(s), "backup.stale");
    REQUIRE(f.size() == (row.fires ? 1u : 0u));
    if (!row.fires) continue;
    CHECK(f[0].severity == Severity::kHigh);
    CHECK(f[0].subject == ObjectRef{"Schedule", "velero", "daily"});
    CHECK(f[0].details["max_age_seconds"] == kMaxAge);
    if (row.last_completed) {
      CHECK(f[0].details["last_completed"] == *row.last_completed);
    } else {
      CHECK(f[0].details["last_completed"].is_null());
    }
    if (row.age) {
      CHECK(f[0].details["age_seconds"] == *row.age);
    } else {
      CHECK(f[0].details["age_seconds"].is_null());
    }
    if (row.newest_phase) {
      CHECK(f[0].details["newest_phase"] == *row.newest_phase);
    } else {
      CHECK(f[0].details["newest_phase"].is_null());
    }
  }

  Snapshot s = dbSnapshot();
  s.velero_schedules = {schedule("daily")};
  s.velero_backups = {backup("daily-20270113", "daily", "Completed", kNow - 30 * 3600 - 5 * 60)};
  auto f = findingsOf(run(s), "backup.stale");
  REQUIRE(f.size() == 1);
  CHECK(f[0].message ==
        "the newest Completed backup of Velero schedule velero/daily (daily-20270113) finished "
        "30h05m ago, over the 26h00m limit");
  s.velero_backups = {backup("daily-1", "daily", "PartiallyFailed", kNow - 60)};
  f = findingsOf(run(s), "backup.stale");
  REQUIRE(f.size() == 1);
  CHECK(f[0].message ==
        "Velero schedule velero/daily has no Completed backup (newest daily-1: PartiallyFailed)");
}

TEST_CASE("backup.uncovered-volumes: namespaces included, excluded, '*', selectors, paused") {
  struct Row {
    const char* name;
    std::vector<VeleroSchedule> schedules;
    bool uncovered;
  };
  const Row rows[] = {
      {"no schedule at all", {}, true},
      {"includedNamespaces empty: all", {schedule("all")}, false},
      {"includedNamespaces '*'", {schedule("all", {"*"})}, false},
      {"includedNamespaces names it", {schedule("shop", {"shop"})}, false},
      {"includedNamespaces names others", {schedule("other", {"other", "web"})}, true},
      {"excludedNamespaces names it", {schedule("all", {}, {"shop"})}, true},
      {"'*' included but shop excluded", {schedule("all", {"*"}, {"shop"})}, true},
      {"paused schedule", {schedule("shop", {"shop"}, {}, true)}, true},
      {"paused one, enabled other", {schedule("a", {"shop"}, {}, true), schedule("b")}, false},
      {"labelSelector matches the pods",
       {schedule("db", {"shop"}, {}, false, matchLabels({{"app", "db"}}))},
       false},
      {"labelSelector does not match",
       {schedule("web", {"shop"}, {}, false, matchLabels({{"app", "web"}}))},
       true},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    Snapshot s = dbSnapshot();
    s.velero_schedules = row.schedules;
    for (const VeleroSchedule& sc : row.schedules) {
      s.velero_backups.push_back(backup(sc.name + "-1", sc.name, "Completed", kNow - 60));
    }
    auto f = findingsOf(run(s), "backup.uncovered-volumes");
    REQUIRE(f.size() == (row.uncovered ? 1u : 0u));
    if (!row.uncovered) continue;
    CHECK(f[0].severity == Severity::kHigh);
    CHECK(f[0].subject == ObjectRef{"Deployment", "shop", "db"});
    CHECK(f[0].workload == ObjectRef{"Deployment", "shop", "db"});
    CHECK(f[0].details["volumes"] == nlohmann::ordered_json::array({"data"}));
    CHECK(f[0].details["namespace"] == "shop");
    CHECK(f[0].pods == std::vector<std::string>{"shop/db-abc-0"});
  }

  Snapshot s = dbSnapshot();
  auto f = findingsOf(run(s), "backup.uncovered-volumes");
  REQUIRE(f.size() == 1);
  CHECK(f[0].message ==
        "shop/db keeps data in 1 volume(s) (data) that no enabled Velero schedule backs up "
        "(namespace shop not included, or its pods' labels not selected)");

  // A StatefulSet scaled to zero keeps its claims: the templates name them.
  Snapshot z;
  z.now_unix = kNow;
  z.velero_seen = true;
  Workload sts = makeWorkload("StatefulSet", "shop", "pg", 0);
  sts.volume_claim_templates = {"pgdata"};
  Workload plain = makeWorkload("Deployment", "shop", "web", 2);
  z.workloads = {sts, plain};
  f = findingsOf(run(z), "backup.uncovered-volumes");
  REQUIRE(f.size() == 1);
  CHECK(f[0].subject == ObjectRef{"StatefulSet", "shop", "pg"});
  CHECK(f[0].details["volumes"] == nlohmann::ordered_json::array({"pgdata"}));
}

TEST_CASE("volume.zone-pinned: a zone-redundancy claim over volumes of one zone") {
  auto pv = [](std::string name, const std::string& key, std::vector<std::string> zones,
               bool by_label) {
    PersistentVolume v;
    v.name = std::move(name);
    if (by_label) {
      v.labels[key] = zones.front();
    } else {
      NodeSelectorTerm t;
      t.match_expressions.push_back({key, "In", std::move(zones)});
      v.node_affinity.push_back(t);
    }
    return v;
  };
  const std::string zk = "topology.kubernetes.io/zone";
  const std::string beta = "failure-domain.beta.kubernetes.io/zone";
  enum class Claim { kNone, kSpread, kAntiAffinityBeta, kPreferredHostname, kAnnotation };
  struct Row {
    const char* name;
    Claim claim;
    std::vector<PersistentVolume> pvs;
    bool bound;
    std::optional<std::string> zone;  // the finding's zone, nullopt = no finding
  };
  const Row rows[] = {
      {"spread on zone, both volumes in a",
       Claim::kSpread,
       {pv("pv-0", zk, {"a"}, false), pv("pv-1", zk, {"a"}, false)},
       true,
       "a"},
      {"spread on zone, volumes in a and b",
       Claim::kSpread,
       {pv("pv-0", zk, {"a"}, false), pv("pv-1", zk, {"b"}, false)},
       true,
       std::nullopt},
      {"one PV missing from the snapshot",
       Claim::kSpread,
       {pv("pv-0", zk, {"a"}, false)},
       true,
       std::nullopt},
      {"claims unbound",
       Claim::kSpread,
       {pv("pv-0", zk, {"a"}, false), pv("pv-1", zk, {"a"}, false)},
       false,
       std::nullopt},
      {"no claim of zone redundancy",
       Claim::kNone,
       {pv("pv-0", zk, {"a"}, false), pv("pv-1", zk, {"a"}, false)},
       true,
       std::nullopt},
      {"annotation, zone from PV labels",
       Claim::kAnnotation,
       {pv("pv-0", zk, {"c"}, true), pv("pv-1", zk, {"c"}, true)},
       true,
       "c"},
      {"required anti-affinity on the beta key, beta node affinity",
       Claim::kAntiAffinityBeta,
       {pv("pv-0", beta, {"b"}, false), pv("pv-1", beta, {"b"}, false)},
       true,
       "b"},
      {"preferred anti-affinity on hostname only",
       Claim::kPreferredHostname,
       {pv("pv-0", zk, {"a"}, false), pv("pv-1", zk, {"a"}, false)},
       true,
       std::nullopt},
      {"regional volumes (In [a, b])",
       Claim::kSpread,
       {pv("pv-0", zk, {"a", "b"}, false), pv("pv-1", zk, {"a", "b"}, false)},
       true,
       std::nullopt},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    Snapshot s;
    s.now_unix = kNow;  // velero not seen: the volume check runs anyway
    s.nodes = {makeNode("n1", "a"), makeNode("n2", "b")};
    Workload w = makeWorkload("StatefulSet", "shop", "db", 2);
    if (row.claim == Claim::kAnnotation) w.annotations["rampart.io/zone-redundant"] = "true";
    if (row.claim == Claim::kSpread) {
      TopologySpreadConstraint c;
      c.topology_key = zk;
      c.when_unsatisfiable = "DoNotSchedule";
      c.label_selector = matchLabels({{"app", "db"}});
      w.template_placement.topology_spread.push_back(c);
    }
    s.workloads = {w};
    for (int i = 0; i < 2; ++i) {
      Pod p =
          makePod("shop", "db-" + std::to_string(i), "n1", {{"app", "db"}}, "StatefulSet", "db");
      p.pvc_names = {"data-db-" + std::to_string(i)};
      if (row.claim == Claim::kAntiAffinityBeta) {
        PodAffinityRules anti;
        PodAffinityTerm t;
        t.label_selector = matchLabels({{"app", "db"}});
        t.topology_key = beta;
        anti.required.push_back(t);
        p.placement.pod_anti_affinity = anti;
      }
      if (row.claim == Claim::kPreferredHostname) {
        PodAffinityRules anti;
        WeightedPodAffinityTerm t;
        t.weight = 100;
        t.term.topology_key = "kubernetes.io/hostname";
        anti.preferred.push_back(t);
        p.placement.pod_anti_affinity = anti;
      }
      s.pods.push_back(p);
      PersistentVolumeClaim c;
      c.namespace_ = "shop";
      c.name = "data-db-" + std::to_string(i);
      c.volume_name = row.bound ? "pv-" + std::to_string(i) : "";
      c.phase = row.bound ? "Bound" : "Pending";
      s.pvcs.push_back(c);
    }
    s.pvs = row.pvs;
    auto f = findingsOf(run(s), "volume.zone-pinned");
    REQUIRE(f.size() == (row.zone ? 1u : 0u));
    if (!row.zone) continue;
    CHECK(f[0].severity == Severity::kHigh);
    CHECK(f[0].subject == ObjectRef{"StatefulSet", "shop", "db"});
    CHECK(f[0].workload == ObjectRef{"StatefulSet", "shop", "db"});
    CHECK(f[0].zone == *row.zone);
    CHECK(f[0].details["zone"] == *row.zone);
    CHECK(f[0].details["volumes"] == nlohmann::ordered_json::array({"data-db-0", "data-db-1"}));
    if (row.claim == Claim::kSpread) {
      CHECK(f[0].message ==
            "shop/db asks for zone redundancy (topology-spread) but all 2 of its volume(s) are "
            "pinned to zone a: its pods can only run there, and losing a takes it down");
    }
  }
}
