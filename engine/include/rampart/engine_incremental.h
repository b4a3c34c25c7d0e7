// The resilience engine kept live: holds a cluster snapshot, takes changes
// one object at a time, and re-evaluates only what a change can affect. The
// report it gives equals engine::evaluate() of the same snapshot, byte for
// byte once rendered (a property test checks this on random clusters and
// random changes).
//
// How (docs/incremental.md): every finding is decided either by one
// namespace's objects (placement, workloads, PDBs, HPAs, pods, volumes, and
// the what-if of those workloads and PDBs) or by the cluster-wide objects
// (nodes, zones, control plane, etcd, Velero schedules). The engine keeps the
// objects of each namespace in groups that nothing ties to each other (a
// pod's owners, the pods a PDB, Service, spread or anti-affinity selector
// matches, an HPA's target, a pod's claims), plus one partition for the
// cluster, each with its findings, workload facts and what-if impacts. A
// namespaced object's change marks its group dirty (merged first with the
// groups the change ties it to), and the groups of other namespaces whose
// anti-affinity terms read its pods; a control-plane pod, a Velero object,
// the clock, or a pod count on a NotReady or cordoned node marks the cluster
// partition; a node, Namespace or PersistentVolume change or a new set of
// silent nodes marks everything (and re-forms the groups). Node-side lookups
// are built once and shared by every group. refresh() re-evaluates the dirty
// partitions; report() merges the partitions, scores and orders the findings.
//
// Not thread-safe: one thread owns an Incremental.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "rampart/engine.h"

namespace rampart::engine {

struct IncrementalStats {
  uint64_t refreshes = 0;              // refresh() calls that found work
  uint64_t namespace_evaluations = 0;  // namespaced partitions re-evaluated
  uint64_t cluster_evaluations = 0;    // cluster partition re-evaluated
  uint64_t full_invalidations = 0;     // changes that dirtied every partition
  size_t namespaces = 0;               // namespaces held
  size_t partitions = 0;               // namespaced partitions held (after refresh())
};

class Incremental {
 public:
  explicit Incremental(Options options = {});
  ~Incremental();
  Incremental(const Incremental&) = delete;
  Incremental& operator=(const Incremental&) = delete;

  // Replaces the whole input; every partition is dirty.
  void reset(Snapshot snapshot);
  // Replaces the whole input, marking dirty only the partitions whose
  // objects differ from the held ones (one comparison per object).
  void sync(Snapshot snapshot);

  // Single-object changes. Objects are identified by namespace and name
  // (and kind for controllers); an upsert of a known object replaces it.
  void upsertPod(const Pod& pod);
  void removePod(std::string_view namespace_, std::string_view name);
  void upsertWorkload(Workload workload);
  void removeWorkload(std::string_view kind, std::string_view namespace_, std::string_view name);
  void upsertPdb(PodDisruptionBudget pdb);
  void removePdb(std::string_view namespace_, std::string_view name);
  void upsertHpa(HorizontalPodAutoscaler hpa);
  void removeHpa(std::string_view namespace_, std::string_view name);
  void upsertService(Service service);
  void removeService(std::string_view namespace_, std::string_view name);
  void upsertPvc(PersistentVolumeClaim pvc);
  void removePvc(std::string_view namespace_, std::string_view name);
  void setNow(int64_t now_unix);
  void setSilentNodes(std::set<std::string> silent);

  // Re-evaluates the dirty partitions; returns how many were evaluated.
  size_t refresh();
  // refresh(), then the merged, scored and ordered report.
  Report report();
  // The same report, shared: made once after the partitions changed and
  // handed out again (no copy) until the next change that re-evaluates
  // something. The Report never changes once returned.
  std::shared_ptr<const Report> reportShared();
  // reportShared(), cancellable: `cancel` is checked between partitions and
  // in the checks' long loops. Cancelled leaves the partitions not yet
  // re-evaluated dirty (the next call evaluates them: its report is again
  // the one evaluate() gives), and caches nothing.
  Cancellable<std::shared_ptr<const Report>> tryReportShared(std::stop_token cancel);

  const IncrementalStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rampart::engine
