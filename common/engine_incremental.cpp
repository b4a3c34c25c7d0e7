// The incremental engine (include/rampart/engine_incremental.h,
// docs/incremental.md): partitions, dirty marking, per-partition evaluation
// with the shared cluster objects lent in (moved, not copied), and the merge
// that gives evaluate()'s report.
#include "rampart/engine_incremental.h"

#include <algorithm>
#include <array>
#include <map>
#include <tuple>
#include <utility>

#include "engine_index.h"

namespace rampart::engine {
namespace {

// Namespaced objects are kept sorted by these keys.
std::tuple<const std::string&> keyOf(const Pod& p) {
  return std::tie(p.name);
}
std::tuple<const std::string&, const std::string&> keyOf(const Workload& w) {
  return std::tie(w.kind, w.name);
}
std::tuple<const std::string&> keyOf(const PodDisruptionBudget& p) {
  return std::tie(p.name);
}
std::tuple<const std::string&> keyOf(const HorizontalPodAutoscaler& h) {
  return std::tie(h.name);
}
std::tuple<const std::string&> keyOf(const Service& s) {
  return std::tie(s.name);
}
std::tuple<const std::string&> keyOf(const PersistentVolumeClaim& c) {
  return std::tie(c.name);
}

template <typename T, typename Key>
typename std::vector<T>::iterator findSorted(std::vector<T>& v, const Key& key) {
  return std::lower_bound(v.begin(), v.end(), key,
                          [](const T& a, const Key& k) { return keyOf(a) < k; });
}

template <typename T>
void sortByKey(std::vector<T>& v) {
  std::sort(v.begin(), v.end(), [](const T& a, const T& b) { return keyOf(a) < keyOf(b); });
}

// The namespace a finding counts against.
const std::string& findingNamespace(const Finding& f) {
  return f.workload ? f.workload->namespace_ : f.subject.namespace_;
}

// Other namespaces the anti-affinity terms of `pods` read; "*" for a
// namespaceSelector (it may select any namespace).
std::set<std::string> readsOf(const std::vector<Pod>& pods, const std::string& own) {
  std::set<std::string> reads;
  auto term = [&](const PodAffinityTerm& t) {
    if (t.namespace_selector) reads.insert("*");
    for (const std::string& ns : t.namespaces) {
      if (ns != own) reads.insert(ns);
    }
  };
  for (const Pod& p : pods) {
    const auto& rules = p.placement.pod_anti_affinity;
    if (!rules) continue;
    for (const PodAffinityTerm& t : rules->required) term(t);
    for (const WeightedPodAffinityTerm& t : rules->preferred) term(t.term);
  }
  return reads;
}

void sortUnique(std::vector<ObjectRef>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// The what-if impacts one partition contributes, per level (nodes, zones,
// regions): only domains where something is at risk.
using Impacts = std::array<std::map<std::string, DomainImpact>, 3>;

std::array<const std::vector<DomainImpact>*, 3> levelsOf(const WhatIf& w) {
  return {&w.nodes, &w.zones, &w.regions};
}

}  // namespace

struct Incremental::Impl {
  struct Partition {
    std::string name;
    Snapshot snap;  // this namespace's own objects, sorted by key
    bool dirty = true;
    std::set<std::string> reads;  // other namespaces its anti-affinity terms read
    // Results of the last evaluation.
    std::vector<Finding> findings;
    std::map<ObjectRef, WorkloadFacts> workloads;
    Impacts impacts;
    size_t unknown_pods = 0;
    std::set<std::string> missing_nodes;
  };

  Options options;
  // The cluster-wide objects: nodes, namespaces, PVs, Velero, silent nodes,
  // the clock, the input's warnings. Namespaced vectors stay empty.
  Snapshot shared;
  std::map<std::string, Partition, std::less<>> parts;
  bool cluster_dirty = true;
  std::vector<Finding> cluster_findings;
  WhatIf cluster_whatif;  // every domain; etcd's quorum impacts
  size_t node_count = 0;
  std::map<std::string, int32_t, std::less<>> pods_per_node;  // active pods
  // Nodes whose findings print their pod count (NotReady, silent, cordoned).
  std::set<std::string, std::less<>> counted_nodes;
  IncrementalStats stats;

  explicit Impl(Options o) : options(std::move(o)) {}

  Partition& partition(std::string_view ns) {
    auto it = parts.find(ns);
    if (it == parts.end()) {
      it = parts.emplace(std::string(ns), Partition{}).first;
      it->second.name = std::string(ns);
    }
    return it->second;
  }

  void markAll() {
    for (auto& [name, p] : parts) p.dirty = true;
    cluster_dirty = true;
    ++stats.full_invalidations;
  }

  // A namespace changed: it and the namespaces whose terms read it.
  void markNamespace(const std::string& ns, bool pods_changed) {
    partition(ns).dirty = true;
    if (!pods_changed) return;
    for (auto& [name, p] : parts) {
      if (!p.dirty && (p.reads.contains(ns) || p.reads.contains("*"))) p.dirty = true;
    }
  }

  void countPod(const Pod& p, int32_t delta) {
    if (!podCounts(p) || p.node_name.empty()) return;
    auto it = pods_per_node.find(p.node_name);
    if (it == pods_per_node.end()) it = pods_per_node.emplace(p.node_name, 0).first;
    it->second += delta;
    if (it->second == 0) pods_per_node.erase(it);
    if (counted_nodes.contains(p.node_name)) cluster_dirty = true;
  }

  // Book-keeping for a pod that changed from `before` to `after` (either may
  // be null).
  void podChanged(const Pod* before, const Pod* after) {
    if (before != nullptr) countPod(*before, -1);
    if (after != nullptr) countPod(*after, +1);
    if ((before != nullptr && controlPlaneComponent(*before)) ||
        (after != nullptr && controlPlaneComponent(*after))) {
      cluster_dirty = true;
    }
  }

  template <typename T>
  bool upsert(std::vector<T>& v, T obj) {
    auto it = findSorted(v, keyOf(obj));
    if (it != v.end() && keyOf(*it) == keyOf(obj)) {
      if (*it == obj) return false;
      *it = std::move(obj);
    } else {
      v.insert(it, std::move(obj));
    }
    return true;
  }

  template <typename T, typename Key>
  bool remove(std::vector<T>& v, const Key& key) {
    auto it = findSorted(v, key);
    if (it == v.end() || keyOf(*it) != key) return false;
    v.erase(it);
    return true;
  }

  // Distributes a snapshot's namespaced objects over per-namespace
  // snapshots, sorted; the cluster-wide ones stay in `s`.
  static std::map<std::string, Snapshot, std::less<>> split(Snapshot& s) {
    std::map<std::string, Snapshot, std::less<>> groups;
    for (Pod& p : s.pods) groups[p.namespace_].pods.push_back(std::move(p));
    for (Workload& w : s.workloads) groups[w.namespace_].workloads.push_back(std::move(w));
    for (auto& x : s.pdbs) groups[x.namespace_].pdbs.push_back(std::move(x));
    for (auto& x : s.hpas) groups[x.namespace_].hpas.push_back(std::move(x));
    for (auto& x : s.services) groups[x.namespace_].services.push_back(std::move(x));
    for (auto& x : s.pvcs) groups[x.namespace_].pvcs.push_back(std::move(x));
    s.pods.clear();
    s.workloads.clear();
    s.pdbs.clear();
    s.hpas.clear();
    s.services.clear();
    s.pvcs.clear();
    for (auto& [ns, g] : groups) {
      sortByKey(g.pods);
      sortByKey(g.workloads);
      sortByKey(g.pdbs);
      sortByKey(g.hpas);
      sortByKey(g.services);
      sortByKey(g.pvcs);
    }
    return groups;
  }

  // Lends the cluster-wide objects to a partition's snapshot for one
  // evaluation (vectors are swapped, not copied) and takes them back.
  class Lend {
   public:
    Lend(Snapshot& shared, Snapshot& to) : shared_(shared), to_(to) { swapAll(); }
    ~Lend() { swapAll(); }
    Lend(const Lend&) = delete;
    Lend& operator=(const Lend&) = delete;

   private:
    void swapAll() {
      std::swap(shared_.nodes, to_.nodes);
      std::swap(shared_.namespaces, to_.namespaces);
      std::swap(shared_.pvs, to_.pvs);
      std::swap(shared_.velero_schedules, to_.velero_schedules);
      std::swap(shared_.velero_backups, to_.velero_backups);
      std::swap(shared_.silent_nodes, to_.silent_nodes);
      std::swap(shared_.velero_seen, to_.velero_seen);
      std::swap(shared_.now_unix, to_.now_unix);
    }
    Snapshot& shared_;
    Snapshot& to_;
  };

  void evaluateNamespace(Partition& part) {
    part.dirty = false;
    part.findings.clear();
    part.workloads.clear();
    for (auto& level : part.impacts) level.clear();
    part.unknown_pods = 0;
    part.missing_nodes.clear();
    part.reads = readsOf(part.snap.pods, part.name);
    Snapshot& s = part.snap;
    if (s.pods.empty() && s.workloads.empty() && s.pdbs.empty() && s.hpas.empty() &&
        s.services.empty() && s.pvcs.empty()) {
      return;
    }
    ++stats.namespace_evaluations;

    // Pods of the namespaces the anti-affinity terms read, for the matching.
    const size_t own = s.pods.size();
    if (!part.reads.empty()) {
      for (const auto& [name, other] : parts) {
        if (name == part.name || (!part.reads.contains(name) && !part.reads.contains("*"))) {
          continue;
        }
        for (const Pod& p : other.snap.pods) {
          if (podCounts(p)) s.pods.push_back(p);
        }
      }
    }

    {
      Lend lend(shared, s);
      Index index(s, options);
      std::vector<Finding> found;
      checkNamespaceScoped(index, found);
      for (Finding& f : found) {
        if (findingNamespace(f) != part.name) continue;
        std::sort(f.pods.begin(), f.pods.end());
        part.findings.push_back(std::move(f));
      }
      for (const auto& [ref, facts] : workloadFacts(index)) {
        if (ref.namespace_ == part.name) part.workloads.emplace(ref, facts);
      }
      WhatIf whatif = computeWhatIf(index, {.workloads = true, .etcd = false});
      auto levels = levelsOf(whatif);
      for (size_t l = 0; l < levels.size(); ++l) {
        for (const DomainImpact& d : *levels[l]) {
          DomainImpact mine;
          auto own_refs = [&](const std::vector<ObjectRef>& from, std::vector<ObjectRef>& to) {
            for (const ObjectRef& r : from) {
              if (r.namespace_ == part.name) to.push_back(r);
            }
          };
          own_refs(d.outage, mine.outage);
          own_refs(d.below_pdb, mine.below_pdb);
          own_refs(d.quorum_lost, mine.quorum_lost);
          if (mine.outage.empty() && mine.below_pdb.empty() && mine.quorum_lost.empty()) continue;
          mine.name = d.name;
          part.impacts[l].emplace(d.name, std::move(mine));
        }
      }
      for (const Pod* p : index.pods_on_unknown_nodes) {
        if (p->namespace_ != part.name) continue;
        ++part.unknown_pods;
        part.missing_nodes.insert(p->node_name);
      }
    }
    s.pods.resize(own);
  }

  void evaluateCluster() {
    cluster_dirty = false;
    ++stats.cluster_evaluations;
    Snapshot c;
    if (auto it = parts.find("kube-system"); it != parts.end()) {
      for (const Pod& p : it->second.snap.pods) {
        if (controlPlaneComponent(p)) c.pods.push_back(p);
      }
    }
    Lend lend(shared, c);
    Index index(c, options);
    index.active_pod_counts = &pods_per_node;
    cluster_findings.clear();
    checkClusterScoped(index, cluster_findings);
    for (Finding& f : cluster_findings) std::sort(f.pods.begin(), f.pods.end());
    cluster_whatif = computeWhatIf(index, {.workloads = false, .etcd = true});
    node_count = index.nodes.size();
    counted_nodes.clear();
    for (const auto& [name, info] : index.nodes) {
      if (!info.ready || info.node->unschedulable) counted_nodes.insert(name);
    }
  }

  size_t refresh() {
    size_t n = 0;
    for (auto& [name, p] : parts) {
      if (!p.dirty) continue;
      evaluateNamespace(p);
      ++n;
    }
    if (cluster_dirty) {
      evaluateCluster();
      ++n;
    }
    if (n > 0) ++stats.refreshes;
    stats.namespaces = parts.size();
    return n;
  }

  Report report() {
    refresh();
    Report report;
    report.now_unix = shared.now_unix;
    report.warnings = shared.input_warnings;
    report.partial = shared.partial;

    std::vector<Finding> findings = cluster_findings;
    std::map<ObjectRef, WorkloadFacts> facts;
    report.whatif = cluster_whatif;
    auto levels = std::array<std::vector<DomainImpact>*, 3>{
        &report.whatif.nodes, &report.whatif.zones, &report.whatif.regions};
    size_t unknown_pods = 0;
    std::set<std::string> missing;
    for (const auto& [name, p] : parts) {
      findings.insert(findings.end(), p.findings.begin(), p.findings.end());
      facts.insert(p.workloads.begin(), p.workloads.end());
      for (size_t l = 0; l < levels.size(); ++l) {
        std::vector<DomainImpact>& domains = *levels[l];
        for (const auto& [domain, impact] : p.impacts[l]) {
          auto it = std::lower_bound(
              domains.begin(), domains.end(), domain,
              [](const DomainImpact& d, const std::string& name) { return d.name < name; });
          if (it == domains.end() || it->name != domain) continue;  // not a domain of the nodes
          it->outage.insert(it->outage.end(), impact.outage.begin(), impact.outage.end());
          it->below_pdb.insert(it->below_pdb.end(), impact.below_pdb.begin(),
                               impact.below_pdb.end());
          it->quorum_lost.insert(it->quorum_lost.end(), impact.quorum_lost.begin(),
                                 impact.quorum_lost.end());
        }
      }
      unknown_pods += p.unknown_pods;
      missing.insert(p.missing_nodes.begin(), p.missing_nodes.end());
    }
    for (std::vector<DomainImpact>* domains : levels) {
      for (DomainImpact& d : *domains) {
        sortUnique(d.outage);
        sortUnique(d.below_pdb);
        sortUnique(d.quorum_lost);
      }
    }
    std::string w = unknownNodesWarning(unknown_pods, missing);
    if (!w.empty()) {
      report.warnings.push_back(std::move(w));
      report.partial = true;
    }

    Snapshot empty;
    Index index(empty, options);
    checkWhatIf(index, report.whatif, findings);
    std::erase_if(findings, [&](const Finding& f) { return !index.enabled(f.check); });
    report.score = score(facts, node_count, findings);
    orderFindings(findings);
    report.findings = std::move(findings);
    return report;
  }

  void resetFrom(Snapshot s) {
    auto groups = split(s);
    shared = std::move(s);
    parts.clear();
    pods_per_node.clear();
    for (auto& [ns, g] : groups) {
      Partition& p = partition(ns);
      p.snap = std::move(g);
      for (const Pod& pod : p.snap.pods) countPod(pod, +1);
    }
    markAll();
  }

  // Replaces the namespaced objects of one kind in a partition; true when
  // they differ.
  template <typename T>
  static bool replaceIfChanged(std::vector<T>& held, std::vector<T>& incoming) {
    if (held == incoming) return false;
    held = std::move(incoming);
    return true;
  }

  void syncPods(Partition& p, std::vector<Pod>& incoming) {
    if (p.snap.pods == incoming) return;
    // Walk both sorted lists for the book-keeping of each changed pod.
    auto a = p.snap.pods.begin(), b = incoming.begin();
    while (a != p.snap.pods.end() || b != incoming.end()) {
      if (b == incoming.end() || (a != p.snap.pods.end() && a->name < b->name)) {
        podChanged(&*a++, nullptr);
      } else if (a == p.snap.pods.end() || b->name < a->name) {
        podChanged(nullptr, &*b++);
      } else {
        if (!(*a == *b)) podChanged(&*a, &*b);
        ++a;
        ++b;
      }
    }
    p.snap.pods = std::move(incoming);
    markNamespace(p.name, true);
  }

  void syncFrom(Snapshot s) {
    auto groups = split(s);
    bool all = false;
    all |= replaceIfChanged(shared.nodes, s.nodes);
    all |= replaceIfChanged(shared.namespaces, s.namespaces);
    all |= replaceIfChanged(shared.pvs, s.pvs);
    all |= replaceIfChanged(shared.velero_schedules, s.velero_schedules);
    if (shared.velero_seen != s.velero_seen) {
      shared.velero_seen = s.velero_seen;
      all = true;
    }
    if (shared.silent_nodes != s.silent_nodes) {
      shared.silent_nodes = std::move(s.silent_nodes);
      all = true;
    }
    if (replaceIfChanged(shared.velero_backups, s.velero_backups)) cluster_dirty = true;
    if (shared.now_unix != s.now_unix) {
      shared.now_unix = s.now_unix;
      cluster_dirty = true;
    }
    shared.partial = s.partial;
    shared.input_warnings = std::move(s.input_warnings);

    std::vector<Pod> none;
    for (auto& [name, p] : parts) {
      if (!groups.contains(name)) {
        syncPods(p, none);
        Snapshot empty;
        bool changed = !p.snap.workloads.empty() || !p.snap.pdbs.empty() || !p.snap.hpas.empty() ||
                       !p.snap.services.empty() || !p.snap.pvcs.empty();
        empty.pods = std::move(p.snap.pods);
        p.snap = std::move(empty);
        if (changed) markNamespace(name, false);
      }
    }
    for (auto& [ns, g] : groups) {
      Partition& p = partition(ns);
      syncPods(p, g.pods);
      bool changed = false;
      changed |= replaceIfChanged(p.snap.workloads, g.workloads);
      changed |= replaceIfChanged(p.snap.pdbs, g.pdbs);
      changed |= replaceIfChanged(p.snap.hpas, g.hpas);
      changed |= replaceIfChanged(p.snap.services, g.services);
      changed |= replaceIfChanged(p.snap.pvcs, g.pvcs);
      if (changed) markNamespace(ns, false);
    }
    if (all) markAll();
  }
};

Incremental::Incremental(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Incremental::~Incremental() = default;

void Incremental::reset(Snapshot snapshot) {
  impl_->resetFrom(std::move(snapshot));
}

void Incremental::sync(Snapshot snapshot) {
  impl_->syncFrom(std::move(snapshot));
}

void Incremental::upsertPod(Pod pod) {
  Impl::Partition& p = impl_->partition(pod.namespace_);
  auto it = findSorted(p.snap.pods, keyOf(pod));
  const bool known = it != p.snap.pods.end() && it->name == pod.name;
  if (known && *it == pod) return;
  impl_->podChanged(known ? &*it : nullptr, &pod);
  std::string ns = pod.namespace_;
  if (known) {
    *it = std::move(pod);
  } else {
    p.snap.pods.insert(it, std::move(pod));
  }
  impl_->markNamespace(ns, true);
}

void Incremental::removePod(std::string_view namespace_, std::string_view name) {
  auto pit = impl_->parts.find(namespace_);
  if (pit == impl_->parts.end()) return;
  auto& pods = pit->second.snap.pods;
  std::string key(name);
  auto it = findSorted(pods, std::tie(key));
  if (it == pods.end() || it->name != name) return;
  impl_->podChanged(&*it, nullptr);
  pods.erase(it);
  impl_->markNamespace(pit->first, true);
}

void Incremental::upsertWorkload(Workload workload) {
  std::string ns = workload.namespace_;
  if (impl_->upsert(impl_->partition(ns).snap.workloads, std::move(workload))) {
    impl_->markNamespace(ns, false);
  }
}

void Incremental::removeWorkload(std::string_view kind, std::string_view namespace_,
                                 std::string_view name) {
  std::string k(kind), n(name), ns(namespace_);
  if (impl_->remove(impl_->partition(ns).snap.workloads, std::tie(k, n))) {
    impl_->markNamespace(ns, false);
  }
}

#define RAMPART_NAMESPACED(Type, Field, Upsert, Remove)                          \
  void Incremental::Upsert(Type obj) {                                           \
    std::string ns = obj.namespace_;                                             \
    if (impl_->upsert(impl_->partition(ns).snap.Field, std::move(obj))) {        \
      impl_->markNamespace(ns, false);                                           \
    }                                                                            \
  }                                                                              \
  void Incremental::Remove(std::string_view namespace_, std::string_view name) { \
    std::string n(name), ns(namespace_);                                         \
    if (impl_->remove(impl_->partition(ns).snap.Field, std::tie(n))) {           \
      impl_->markNamespace(ns, false);                                           \
    }                                                                            \
  }

RAMPART_NAMESPACED(PodDisruptionBudget, pdbs, upsertPdb, removePdb)
RAMPART_NAMESPACED(HorizontalPodAutoscaler, hpas, upsertHpa, removeHpa)
RAMPART_NAMESPACED(Service, services, upsertService, removeService)
RAMPART_NAMESPACED(PersistentVolumeClaim, pvcs, upsertPvc, removePvc)
#undef RAMPART_NAMESPACED

void Incremental::setNow(int64_t now_unix) {
  if (impl_->shared.now_unix == now_unix) return;
  impl_->shared.now_unix = now_unix;
  impl_->cluster_dirty = true;
}

void Incremental::setSilentNodes(std::set<std::string> silent) {
  if (impl_->shared.silent_nodes == silent) return;
  impl_->shared.silent_nodes = std::move(silent);
  impl_->markAll();
}

size_t Incremental::refresh() {
  return impl_->refresh();
}

Report Incremental::report() {
  return impl_->report();
}

const IncrementalStats& Incremental::stats() const {
  return impl_->stats;
}

}  // namespace rampart::engine
