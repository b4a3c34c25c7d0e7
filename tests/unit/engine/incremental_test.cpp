// engine::Incremental: after any sequence of changes its report equals
// engine::evaluate() of the same snapshot, byte for byte once rendered
// (random clusters, random changes, through the single-object API and
// through sync()); and a change re-evaluates only the partitions it can
// affect.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <stop_token>
#include <thread>

#include "engine_test_util.h"
#include "rampart/engine_incremental.h"
#include "rampart/engine_json.h"

using namespace rampart;
using namespace rampart::engine;
using namespace rampart::engine::testutil;

namespace {

std::string render(const Report& r) {
  return reportToJson(r).dump(1);
}

const std::vector<std::string> kZones = {"za", "zb", "zc"};
const std::vector<std::string> kNamespaces = {"alpha", "beta", "gamma", "delta"};

struct Gen {
  std::mt19937 rng;
  int serial = 0;
  explicit Gen(uint32_t seed) : rng(seed) {}
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }
  bool chance(int percent) { return pick(100) < percent; }
  template <typename T>
  const T& any(const std::vector<T>& v) {
    return v[static_cast<size_t>(pick(static_cast<int>(v.size())))];
  }
};

std::vector<std::string> nodeNames(const Snapshot& s) {
  std::vector<std::string> out;
  out.reserve(s.nodes.size());
  for (const Node& n : s.nodes) out.push_back(n.name);
  return out;
}

PodAffinityTerm term(Gen& g, const std::string& app, const std::string& own_ns) {
  PodAffinityTerm t;
  t.label_selector = matchLabels({{"app", app}});
  t.topology_key = g.chance(60) ? "kubernetes.io/hostname" : "topology.kubernetes.io/zone";
  int cross = g.pick(8);
  if (cross == 0) {
    // Another namespace's first Deployment: its pods are what the term reads.
    std::string other = g.any(kNamespaces);
    t.namespaces = {other};
    t.label_selector = matchLabels({{"app", other.substr(0, 1) + "app0"}});
  } else if (cross == 1) {
    t.namespace_selector = matchLabels({{"team", "blue"}});
    t.label_selector = matchExpression("app", "Exists");
  }
  return t;
}

Pod randomPod(Gen& g, const Snapshot& s, const std::string& ns, const std::string& app,
              const std::string& owner_kind, const std::string& owner_name) {
  std::string name = app + "-p" + std::to_string(g.serial++);
  Pod p = makePod(ns, name, g.any(nodeNames(s)), {{"app", g.chance(90) ? app : "other"}},
                  owner_kind, owner_name);
  // A label several workloads share: selectors on it tie them together.
  if (g.chance(40)) p.labels["tier"] = g.chance(50) ? "front" : "back";
  // Some pods name only their ReplicaSet: the chain to the Deployment goes
  // through the ReplicaSet object.
  if (p.owners.size() > 1 && g.chance(30)) p.owners.resize(1);
  if (g.chance(15)) p.ready = false;
  if (g.chance(5)) p.node_name = "ghost-node";  // a node absent from the snapshot
  ContainerStatus c;
  c.name = "main";
  c.ready = p.ready;
  c.state = ContainerState::kRunning;
  c.probes.readiness = g.chance(70);
  c.probes.liveness = g.chance(70);
  c.restart_count = g.chance(10) ? 9 : 0;
  p.containers.push_back(c);
  if (g.chance(30)) {
    PodAffinityRules rules;
    if (g.chance(50)) {
      rules.required.push_back(term(g, app, ns));
    } else {
      rules.preferred.push_back({50, term(g, app, ns)});
    }
    p.placement.pod_anti_affinity = rules;
  }
  if (g.chance(20)) {
    TopologySpreadConstraint c2;
    c2.topology_key = "topology.kubernetes.io/zone";
    c2.when_unsatisfiable = g.chance(50) ? "DoNotSchedule" : "ScheduleAnyway";
    // Some constraints count the pods of every workload of a tier.
    c2.label_selector =
        g.chance(25) ? matchLabels({{"tier", "front"}}) : matchLabels({{"app", app}});
    p.placement.topology_spread.push_back(c2);
  }
  if (g.chance(10)) p.placement.node_selector = {{"topology.kubernetes.io/zone", g.any(kZones)}};
  return p;
}

Snapshot randomCluster(Gen& g) {
  Snapshot s;
  s.now_unix = 1767384600;
  int nodes = 4 + g.pick(6);
  for (int i = 0; i < nodes; ++i) {
    Node n = makeNode("n" + std::to_string(i), kZones[static_cast<size_t>(i) % kZones.size()]);
    n.region = "r1";
    if (i == 0) n.control_plane = true;
    if (g.chance(12)) n.conditions[0].status = "False";
    if (g.chance(10)) n.unschedulable = true;
    if (g.chance(10)) n.taints.push_back({"dedicated", "db", "NoSchedule"});
    s.nodes.push_back(n);
  }
  for (const std::string& ns : kNamespaces) {
    s.namespaces.push_back({ns, {{"team", g.chance(50) ? "blue" : "red"}}});
  }
  s.namespaces.push_back({"kube-system", {}});
  // Control plane: etcd and an API server per control-plane-ish node.
  int members = 1 + g.pick(3);
  for (int i = 0; i < members; ++i) {
    std::string node = s.nodes[static_cast<size_t>(i)].name;
    Pod etcd = makePod("kube-system", "etcd-" + node, node,
                       {{"component", "etcd"}, {"tier", "control-plane"}}, "Node", node);
    s.pods.push_back(etcd);
    Pod api = makePod("kube-system", "kube-apiserver-" + node, node,
                      {{"component", "kube-apiserver"}, {"tier", "control-plane"}}, "Node", node);
    s.pods.push_back(api);
  }
  for (const std::string& ns : kNamespaces) {
    int deployments = 1 + g.pick(3);
    for (int d = 0; d < deployments; ++d) {
      std::string app = ns.substr(0, 1) + "app" + std::to_string(d);
      int replicas = 1 + g.pick(4);
      Workload dep = makeWorkload("Deployment", ns, app, replicas);
      dep.template_labels = {{"app", app}};
      s.workloads.push_back(dep);
      if (g.chance(50)) {
        Workload rs = makeWorkload("ReplicaSet", ns, app + "-5d8f", replicas);
        rs.owners.push_back({"Deployment", app, "", true, false});
        rs.template_labels = dep.template_labels;
        s.workloads.push_back(rs);
      }
      for (int r = 0; r < replicas; ++r) {
        s.pods.push_back(randomPod(g, s, ns, app, "ReplicaSet", app + "-5d8f"));
      }
      if (g.chance(60)) {
        PodDisruptionBudget pdb;
        pdb.namespace_ = ns;
        pdb.name = app + "-pdb";
        // Some PDBs select a whole tier (several workloads), one in ten
        // every pod of the namespace.
        const int sel = g.pick(10);
        pdb.selector = sel == 0  ? LabelSelector{}
                       : sel < 3 ? matchLabels({{"tier", "back"}})
                                 : matchLabels({{"app", app}});
        if (g.chance(50)) {
          pdb.min_available = IntOrPercent{g.pick(3), false};
        } else {
          pdb.max_unavailable = IntOrPercent{g.pick(2), false};
        }
        s.pdbs.push_back(pdb);
      }
      if (g.chance(40)) {
        HorizontalPodAutoscaler h;
        h.namespace_ = ns;
        h.name = app;
        h.target_kind = "Deployment";
        h.target_name = app;
        h.min_replicas = 1 + g.pick(3);
        h.max_replicas = 5;
        s.hpas.push_back(h);
      }
      if (g.chance(60)) {
        Service svc;
        svc.namespace_ = ns;
        svc.name = app;
        svc.type = "ClusterIP";
        svc.selector = g.chance(20) ? Labels{{"tier", "front"}} : Labels{{"app", app}};
        s.services.push_back(svc);
      }
    }
    if (g.chance(50)) {
      std::string app = ns.substr(0, 1) + "db";
      Workload sts = makeWorkload("StatefulSet", ns, app, 3);
      sts.annotations["rampart.io/quorum"] = "true";
      sts.volume_claim_templates = {"data"};
      s.workloads.push_back(sts);
      for (int r = 0; r < 3; ++r) {
        Pod p = randomPod(g, s, ns, app, "StatefulSet", app);
        std::string claim = "data-" + p.name;
        p.pvc_names = {claim};
        s.pods.push_back(p);
        PersistentVolumeClaim c;
        c.namespace_ = ns;
        c.name = claim;
        c.volume_name = "pv-" + ns;
        c.volume_name += '-';
        c.volume_name += claim;
        c.phase = "Bound";
        s.pvcs.push_back(c);
        PersistentVolume v;
        v.name = c.volume_name;
        v.claim_namespace = ns;
        v.claim_name = claim;
        v.labels = {{"topology.kubernetes.io/zone", g.any(kZones)}};
        s.pvs.push_back(v);
      }
    }
    if (g.chance(30)) s.pods.push_back(randomPod(g, s, ns, ns + "-bare", "", ""));
  }
  if (g.chance(50)) {
    s.velero_seen = true;
    VeleroSchedule sch;
    sch.namespace_ = "velero";
    sch.name = "daily";
    sch.cron = "0 1 * * *";
    sch.included_namespaces = {g.any(kNamespaces)};
    sch.phase = "Enabled";
    s.velero_schedules.push_back(sch);
    VeleroBackup b;
    b.namespace_ = "velero";
    b.name = "daily-1";
    b.schedule_name = "daily";
    b.phase = "Completed";
    b.completion_unix = s.now_unix - 3600 * (1 + g.pick(40));
    s.velero_backups.push_back(b);
  }
  std::shuffle(s.pods.begin(), s.pods.end(), g.rng);
  return s;
}

// One random change, applied to `full` and through the single-object API.
void randomChange(Gen& g, Snapshot& full, Incremental& inc) {
  auto some_pod = [&]() -> Pod& {
    return full.pods[static_cast<size_t>(g.pick(static_cast<int>(full.pods.size())))];
  };
  switch (g.pick(16)) {
    case 0: {  // readiness flips
      Pod& p = some_pod();
      p.ready = !p.ready;
      if (!p.containers.empty()) p.containers[0].ready = p.ready;
      inc.upsertPod(p);
      break;
    }
    case 1: {  // rescheduled elsewhere
      Pod& p = some_pod();
      p.node_name = g.any(nodeNames(full));
      inc.upsertPod(p);
      break;
    }
    case 2: {  // deleted
      size_t i = static_cast<size_t>(g.pick(static_cast<int>(full.pods.size())));
      inc.removePod(full.pods[i].namespace_, full.pods[i].name);
      full.pods.erase(full.pods.begin() + static_cast<long>(i));
      break;
    }
    case 3: {  // a new replica of a Deployment
      std::vector<const Workload*> deps;
      for (const Workload& w : full.workloads) {
        if (w.kind == "Deployment") deps.push_back(&w);
      }
      if (deps.empty()) break;
      const Workload& w = *deps[static_cast<size_t>(g.pick(static_cast<int>(deps.size())))];
      Pod p = randomPod(g, full, w.namespace_, w.name, "ReplicaSet", w.name + "-5d8f");
      full.pods.push_back(p);
      inc.upsertPod(p);
      break;
    }
    case 4: {  // scaled
      Workload& w =
          full.workloads[static_cast<size_t>(g.pick(static_cast<int>(full.workloads.size())))];
      w.replicas = g.pick(5);
      inc.upsertWorkload(w);
      break;
    }
    case 5: {  // a PDB goes away, or its budget changes
      if (full.pdbs.empty()) break;
      size_t i = static_cast<size_t>(g.pick(static_cast<int>(full.pdbs.size())));
      if (g.chance(50)) {
        inc.removePdb(full.pdbs[i].namespace_, full.pdbs[i].name);
        full.pdbs.erase(full.pdbs.begin() + static_cast<long>(i));
      } else {
        full.pdbs[i].min_available = IntOrPercent{g.pick(4), false};
        full.pdbs[i].max_unavailable.reset();
        inc.upsertPdb(full.pdbs[i]);
      }
      break;
    }
    case 6: {  // HPA floor
      if (full.hpas.empty()) break;
      auto& h = full.hpas[static_cast<size_t>(g.pick(static_cast<int>(full.hpas.size())))];
      h.min_replicas = 1 + g.pick(3);
      inc.upsertHpa(h);
      break;
    }
    case 7: {  // relabelled: selectors of other pods see it differently
      Pod& p = some_pod();
      p.labels["app"] = g.chance(50) ? "other" : p.labels["app"] + "x";
      inc.upsertPod(p);
      break;
    }
    case 8: {  // a Service appears or goes
      if (!full.services.empty() && g.chance(50)) {
        size_t i = static_cast<size_t>(g.pick(static_cast<int>(full.services.size())));
        inc.removeService(full.services[i].namespace_, full.services[i].name);
        full.services.erase(full.services.begin() + static_cast<long>(i));
      } else {
        Service svc;
        svc.namespace_ = g.any(kNamespaces);
        svc.name = "svc" + std::to_string(g.serial++);
        svc.type = "ClusterIP";
        svc.selector = {{"app", svc.namespace_.substr(0, 1) + "app0"}};
        full.services.push_back(svc);
        inc.upsertService(svc);
      }
      break;
    }
    case 9: {  // the clock moves (backup ages)
      full.now_unix += 3600 * (1 + g.pick(30));
      inc.setNow(full.now_unix);
      break;
    }
    case 10: {  // a node goes silent or comes back
      std::set<std::string> silent;
      if (g.chance(60)) silent.insert(g.any(nodeNames(full)));
      full.silent_nodes = silent;
      inc.setSilentNodes(silent);
      break;
    }
    case 11: {  // a pod terminates
      Pod& p = some_pod();
      p.terminating = !p.terminating;
      inc.upsertPod(p);
      break;
    }
    case 12: {  // every pod of a workload gone: PDBs match its template now
      const Pod& victim = some_pod();
      if (victim.owners.empty()) break;
      const std::string ns = victim.namespace_, owner = victim.owners.front().name;
      for (size_t i = full.pods.size(); i-- > 0;) {
        const Pod& p = full.pods[i];
        if (p.namespace_ != ns || p.owners.empty() || p.owners.front().name != owner) continue;
        inc.removePod(p.namespace_, p.name);
        full.pods.erase(full.pods.begin() + static_cast<long>(i));
      }
      break;
    }
    case 13: {  // a new PDB or Service over a tier, or a relabelled template
      const std::string ns = g.any(kNamespaces);
      if (g.chance(40)) {
        PodDisruptionBudget pdb;
        pdb.namespace_ = ns;
        pdb.name = "tier-pdb" + std::to_string(g.serial++);
        pdb.selector = matchLabels({{"tier", g.chance(50) ? "front" : "back"}});
        pdb.min_available = IntOrPercent{1 + g.pick(2), false};
        full.pdbs.push_back(pdb);
        inc.upsertPdb(pdb);
      } else if (g.chance(50)) {
        Service svc;
        svc.namespace_ = ns;
        svc.name = "tier-svc" + std::to_string(g.serial++);
        svc.type = "ClusterIP";
        svc.selector = {{"tier", "back"}};
        full.services.push_back(svc);
        inc.upsertService(svc);
      } else {
        Workload& w =
            full.workloads[static_cast<size_t>(g.pick(static_cast<int>(full.workloads.size())))];
        w.template_labels["tier"] = "back";
        inc.upsertWorkload(w);
      }
      break;
    }
    case 14: {  // an HPA appears, or goes
      if (!full.hpas.empty() && g.chance(40)) {
        size_t i = static_cast<size_t>(g.pick(static_cast<int>(full.hpas.size())));
        inc.removeHpa(full.hpas[i].namespace_, full.hpas[i].name);
        full.hpas.erase(full.hpas.begin() + static_cast<long>(i));
        break;
      }
      const Workload& w =
          full.workloads[static_cast<size_t>(g.pick(static_cast<int>(full.workloads.size())))];
      HorizontalPodAutoscaler h;
      h.namespace_ = w.namespace_;
      h.name = "hpa" + std::to_string(g.serial++);
      h.target_kind = w.kind;
      h.target_name = w.name;
      h.min_replicas = 1 + g.pick(3);
      h.max_replicas = 6;
      full.hpas.push_back(h);
      inc.upsertHpa(h);
      break;
    }
    case 15: {  // a claim is released, or a ReplicaSet object goes
      if (!full.pvcs.empty() && g.chance(50)) {
        size_t i = static_cast<size_t>(g.pick(static_cast<int>(full.pvcs.size())));
        if (g.chance(50)) {
          inc.removePvc(full.pvcs[i].namespace_, full.pvcs[i].name);
          full.pvcs.erase(full.pvcs.begin() + static_cast<long>(i));
        } else {
          full.pvcs[i].volume_name.clear();
          inc.upsertPvc(full.pvcs[i]);
        }
        break;
      }
      for (size_t i = 0; i < full.workloads.size(); ++i) {
        if (full.workloads[i].kind != "ReplicaSet") continue;
        inc.removeWorkload("ReplicaSet", full.workloads[i].namespace_, full.workloads[i].name);
        full.workloads.erase(full.workloads.begin() + static_cast<long>(i));
        break;
      }
      break;
    }
  }
}

// A node-level change, which only a whole-snapshot sync can express.
void randomNodeChange(Gen& g, Snapshot& full) {
  Node& n = full.nodes[static_cast<size_t>(g.pick(static_cast<int>(full.nodes.size())))];
  switch (g.pick(3)) {
    case 0:
      n.conditions[0].status = n.conditions[0].status == "True" ? "False" : "True";
      break;
    case 1:
      n.unschedulable = !n.unschedulable;
      break;
    case 2:
      full.namespaces[0].labels["team"] =
          full.namespaces[0].labels["team"] == "blue" ? "red" : "blue";
      break;
  }
}

}  // namespace

TEST_CASE("property: the incremental report equals a full evaluation after every change") {
  int compared = 0, checked_findings = 0;
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    Gen g(seed);
    Snapshot full = randomCluster(g);
    Incremental by_delta;  // fed single-object changes
    Incremental by_sync;   // fed whole snapshots
    by_delta.reset(full);
    by_sync.reset(full);
    for (int step = 0; step < 25; ++step) {
      if (step % 7 == 6) {
        randomNodeChange(g, full);
        by_delta.sync(full);
      } else {
        randomChange(g, full, by_delta);
      }
      by_sync.sync(full);
      std::string expected = render(evaluate(full, {}));
      CAPTURE(seed);
      CAPTURE(step);
      std::string got = render(by_delta.report());
      REQUIRE(got == expected);
      REQUIRE(render(by_sync.report()) == expected);
      ++compared;
      checked_findings += static_cast<int>(evaluate(full, {}).findings.size());
    }
  }
  CHECK(compared == 40 * 25);
  // The clusters are not trivially clean: the comparison covers findings.
  CHECK(checked_findings > 40 * 25 * 5);
}

TEST_CASE("a pod change re-evaluates its namespace only; a node change everything") {
  Snapshot s;
  s.now_unix = 1767384600;
  s.nodes = {makeNode("n1", "za"), makeNode("n2", "zb")};
  for (const char* ns : {"a", "b", "c"}) {
    s.workloads.push_back(makeWorkload("Deployment", ns, "web", 2));
    s.pods.push_back(makePod(ns, "web-1", "n1", {{"app", "web"}}, "ReplicaSet", "web-5d8f"));
    s.pods.push_back(makePod(ns, "web-2", "n2", {{"app", "web"}}, "ReplicaSet", "web-5d8f"));
  }
  Incremental inc;
  inc.reset(s);
  CHECK(inc.refresh() == 4);  // three namespaces and the cluster
  CHECK(inc.refresh() == 0);  // nothing changed

  Pod moved = s.pods[0];
  moved.node_name = "n2";
  inc.upsertPod(moved);
  CHECK(inc.refresh() == 1);
  inc.upsertPod(moved);  // the same object again: no work
  CHECK(inc.refresh() == 0);

  // A pod in "b" whose anti-affinity reads namespace "c": a change in "c"
  // re-evaluates "b" too.
  Pod reader = makePod("b", "reader", "n1", {{"app", "reader"}});
  PodAffinityRules rules;
  PodAffinityTerm t;
  t.label_selector = matchLabels({{"app", "web"}});
  t.namespaces = {"c"};
  t.topology_key = "kubernetes.io/hostname";
  rules.required.push_back(t);
  reader.placement.pod_anti_affinity = rules;
  inc.upsertPod(reader);
  CHECK(inc.refresh() == 1);
  inc.removePod("c", "web-2");
  CHECK(inc.refresh() == 2);

  s.nodes[1].unschedulable = true;
  Snapshot next = s;
  inc.sync(next);
  CHECK(inc.stats().full_invalidations == 2);  // reset, then the node change
  CHECK(inc.refresh() == 4);
}

TEST_CASE("a cancelled evaluation gives Cancelled, and the next one the full report") {
  for (uint32_t seed = 1; seed <= 10; ++seed) {
    CAPTURE(seed);
    Gen g(seed);
    Snapshot full = randomCluster(g);
    std::stop_source stopped;
    stopped.request_stop();
    CHECK_FALSE(evaluate(full, {}, stopped.get_token()).has_value());
    const std::string expected = render(evaluate(full, {}));
    auto whole = evaluate(full, {}, std::stop_source().get_token());
    REQUIRE(whole.has_value());
    CHECK(render(*whole) == expected);

    Incremental inc;
    inc.reset(full);
    CHECK_FALSE(inc.tryReportShared(stopped.get_token()).has_value());
    randomChange(g, full, inc);
    CHECK_FALSE(inc.tryReportShared(stopped.get_token()).has_value());
    auto next = inc.tryReportShared(std::stop_token());
    REQUIRE(next.has_value());
    CHECK(render(**next) == render(evaluate(full, {})));
  }
}

TEST_CASE("cancelled at any point, the incremental engine's next report is still exact") {
  // Another thread cancels after a varying amount of work; wherever the
  // cancellation lands (before, inside or after the evaluation), a report
  // handed out is exact, and so is the next uncancelled one.
  int cancelled = 0, completed = 0;
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    Gen g(seed);
    Snapshot full = randomCluster(g);
    Incremental inc;
    inc.reset(full);
    for (int step = 0; step < 8; ++step) {
      CAPTURE(seed);
      CAPTURE(step);
      if (step % 2 == 1) {
        randomNodeChange(g, full);
        inc.sync(full);
      } else {
        randomChange(g, full, inc);
      }
      const std::string expected = render(evaluate(full, {}));
      std::stop_source source;
      std::atomic<bool> go{false};
      const int spins = g.pick(5000);
      std::thread canceller([&] {
        while (!go.load()) {
        }
        for (volatile int i = 0; i < spins; i = i + 1) {
        }
        source.request_stop();
      });
      go = true;
      auto got = inc.tryReportShared(source.get_token());
      canceller.join();
      if (got) {
        ++completed;
        REQUIRE(render(**got) == expected);
      } else {
        ++cancelled;
      }
      REQUIRE(render(inc.report()) == expected);
    }
  }
  MESSAGE("cancelled ", cancelled, ", completed ", completed);
  CHECK(cancelled + completed == 12 * 8);
}
