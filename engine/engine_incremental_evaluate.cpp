// The incremental engine's evaluation (engine_incremental_impl.h,
// docs/incremental.md, "What a change re-evaluates"): refresh() re-evaluates
// the dirty partitions, each with the shared cluster objects lent in (moved,
// not copied) and the node-side tables shared, and merge() puts their
// findings, workload facts and what-if impacts together into the report
// evaluate() gives for the same snapshot.
#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine_incremental_impl.h"

namespace rampart::engine {
namespace {

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

std::array<const std::vector<DomainImpact>*, 3> levelsOf(const WhatIf& w) {
  return {&w.nodes, &w.zones, &w.regions};
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
    std::swap(shared_.etcd, to_.etcd);
    std::swap(shared_.node_leases, to_.node_leases);
    std::swap(shared_.node_probes, to_.node_probes);
    std::swap(shared_.readiness_flapping, to_.readiness_flapping);
    std::swap(shared_.velero_seen, to_.velero_seen);
    std::swap(shared_.now_unix, to_.now_unix);
  }
  Snapshot& shared_;
  Snapshot& to_;
};

}  // namespace

void Incremental::Impl::evaluateGroup(Space& ns, int id, Group& g) {
  g.dirty = false;
  g.findings.clear();
  g.workloads.clear();
  for (auto& level : g.impacts) level.clear();
  g.unknown_pods = 0;
  g.missing_nodes.clear();
  g.reads = readsOf(g.snap.pods, ns.name);
  if (g.reads.empty()) {
    cross_readers.erase({ns.name, id});
  } else {
    cross_readers.insert({ns.name, id});
  }
  Snapshot& s = g.snap;
  if (g.size() == 0) return;
  ++stats.namespace_evaluations;

  // Pods of the namespaces the anti-affinity terms read, for the matching.
  const size_t own = s.pods.size();
  if (!g.reads.empty()) {
    for (const auto& [name, other] : spaces) {
      if (name == ns.name || (!g.reads.contains(name) && !g.reads.contains("*"))) continue;
      for (const auto& [oid, og] : other.groups) {
        for (const Pod& p : og.snap.pods) {
          if (podCounts(p)) s.pods.push_back(p);
        }
      }
    }
  }

  {
    Lend lend(shared, s);
    Index index(s, options, tables.get());
    index.cancel = cancel;
    std::vector<Finding> found;
    checkNamespaceScoped(index, found);
    for (Finding& f : found) {
      if (findingNamespace(f) != ns.name) continue;
      std::sort(f.pods.begin(), f.pods.end());
      g.findings.push_back(std::move(f));
    }
    for (const auto& [ref, facts] : workloadFacts(index)) {
      if (ref.namespace_ == ns.name) g.workloads.emplace(ref, facts);
    }
    WhatIf whatif = computeWhatIf(index, {.workloads = true, .etcd = false, .domains = false});
    auto levels = levelsOf(whatif);
    for (size_t l = 0; l < levels.size(); ++l) {
      for (const DomainImpact& d : *levels[l]) {
        DomainImpact mine;
        auto own_refs = [&](const std::vector<ObjectRef>& from, std::vector<ObjectRef>& to) {
          for (const ObjectRef& r : from) {
            if (r.namespace_ == ns.name) to.push_back(r);
          }
        };
        own_refs(d.outage, mine.outage);
        own_refs(d.below_pdb, mine.below_pdb);
        own_refs(d.quorum_lost, mine.quorum_lost);
        if (mine.outage.empty() && mine.below_pdb.empty() && mine.quorum_lost.empty()) continue;
        mine.name = d.name;
        g.impacts[l].emplace(d.name, std::move(mine));
      }
    }
    for (const Pod* p : index.pods_on_unknown_nodes) {
      if (p->namespace_ != ns.name) continue;
      ++g.unknown_pods;
      g.missing_nodes.insert(p->node_name);
    }
  }
  s.pods.resize(own);
  // Its results may be partial: evaluated again by the next refresh.
  if (cancel.stop_requested()) g.dirty = true;
}

void Incremental::Impl::evaluateCluster() {
  cluster_dirty = false;
  ++stats.cluster_evaluations;
  Snapshot c;
  if (auto it = spaces.find("kube-system"); it != spaces.end()) {
    for (const auto& [id, g] : it->second.groups) {
      for (const Pod& p : g.snap.pods) {
        if (controlPlaneComponent(p)) c.pods.push_back(p);
      }
    }
  }
  Lend lend(shared, c);
  Index index(c, options);
  index.cancel = cancel;
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
  if (cancel.stop_requested()) cluster_dirty = true;
}

size_t Incremental::Impl::refresh() {
  if (regroup) {
    regroup = false;
    cross_readers.clear();
    for (auto& [name, ns] : spaces) build(ns, collect(ns));
  }
  size_t n = 0;
  auto evaluate = [&](Space& ns, int id, Group& g) {
    if (cancel.stop_requested()) return;  // g stays dirty
    if (tables == nullptr) {
      tables = std::make_unique<NodeTables>(shared.nodes, shared.silent_nodes, shared.namespaces);
    }
    evaluateGroup(ns, id, g);
    ++n;
  };
  if (all_dirty) {
    for (auto& [name, ns] : spaces) {
      for (auto& [id, g] : ns.groups) {
        if (g.dirty) evaluate(ns, id, g);
      }
    }
  } else {
    for (const auto& [ns, id] : dirty_list) {
      auto it = ns->groups.find(ns->find(id));
      if (it != ns->groups.end() && it->second.dirty) evaluate(*ns, it->first, it->second);
    }
  }
  // Cancelled: the dirty groups are those still marked; the next refresh
  // looks at every group's mark.
  all_dirty = cancel.stop_requested();
  dirty_list.clear();
  if (cluster_dirty && !cancel.stop_requested()) {
    evaluateCluster();
    ++n;
  }
  if (n > 0 || cancel.stop_requested()) {
    ++stats.refreshes;
    cached.reset();
  }
  stats.namespaces = spaces.size();
  stats.partitions = 0;
  for (const auto& [name, ns] : spaces) stats.partitions += ns.groups.size();
  return n;
}

Cancellable<std::shared_ptr<const Report>> Incremental::Impl::reportShared() {
  refresh();
  if (cancel.stop_requested()) return std::unexpected(Cancelled{});
  if (cached == nullptr) {
    auto report = std::make_shared<const Report>(merge());
    if (cancel.stop_requested()) return std::unexpected(Cancelled{});
    cached = std::move(report);
  }
  return cached;
}

Report Incremental::Impl::merge() {
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
  for (const auto& [name, ns] : spaces) {
    if (cancel.stop_requested()) break;  // not cached, not returned
    for (const auto& [id, p] : ns.groups) {
      findings.insert(findings.end(), p.findings.begin(), p.findings.end());
      facts.insert(p.workloads.begin(), p.workloads.end());
      for (size_t l = 0; l < levels.size(); ++l) {
        std::vector<DomainImpact>& domains = *levels[l];
        for (const auto& [domain, impact] : p.impacts[l]) {
          auto it = std::lower_bound(
              domains.begin(), domains.end(), domain,
              [](const DomainImpact& d, const std::string& n) { return d.name < n; });
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
  index.cancel = cancel;
  checkWhatIf(index, report.whatif, findings);
  std::erase_if(findings, [&](const Finding& f) { return !index.enabled(f.check); });
  report.score = score(facts, node_count, findings);
  orderFindings(findings);
  report.findings = std::move(findings);
  return report;
}

size_t Incremental::refresh() {
  return impl_->refresh();
}

Report Incremental::report() {
  return *reportShared();
}

std::shared_ptr<const Report> Incremental::reportShared() {
  // Without a stop source nothing can cancel it.
  return *tryReportShared(std::stop_token());
}

Cancellable<std::shared_ptr<const Report>> Incremental::tryReportShared(std::stop_token cancel) {
  impl_->cancel = std::move(cancel);
  auto out = impl_->reportShared();
  impl_->cancel = std::stop_token();
  return out;
}

const IncrementalStats& Incremental::stats() const {
  return impl_->stats;
}

}  // namespace rampart::engine
