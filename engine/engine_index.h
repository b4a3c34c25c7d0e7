// Internal to the engine: lookups built once per evaluation over a Snapshot
// (nodes by name, pods by node and workload, the workload each pod belongs
// to, control-plane members), and the check entry points that share them.
// Everything is ordered (std::map, sorted vectors) so that results are
// deterministic. Borrows the snapshot: it must outlive the index.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "rampart/engine.h"

namespace rampart::engine {

// Pointers to `items` in namespace and name order, the order reports list
// objects in.
template <typename T>
std::vector<const T*> sortedByName(const std::vector<T>& items) {
  std::vector<const T*> out;
  out.reserve(items.size());
  for (const T& item : items) out.push_back(&item);
  std::sort(out.begin(), out.end(), [](const T* a, const T* b) {
    return std::tie(a->namespace_, a->name) < std::tie(b->namespace_, b->name);
  });
  return out;
}

struct NodeInfo {
  const Node* node = nullptr;
  bool ready = false;            // Ready condition True and the agent not silent
  bool silent = false;           // in Snapshot::silent_nodes
  std::vector<const Pod*> pods;  // active pods on the node, by namespace/name
};

namespace placement {
struct NodeCache;
}

// The node-side lookups of an Index, which depend only on the nodes, the
// silent set and the Namespace objects: built once and shared by every Index
// over the same cluster-wide objects (the incremental engine's partitions,
// docs/incremental.md), instead of once per Index. NodeInfo::pods stays empty
// (an Index over shared tables does not fill it: the checks that read it are
// cluster-scoped). Borrows the Node and NamespaceInfo objects: they must
// outlive the tables and keep their addresses (moving or swapping the vectors
// that hold them is fine). The placement cache fills lazily: one thread at a
// time.
struct NodeTables {
  NodeTables(const std::vector<Node>& nodes, const std::set<std::string>& silent,
             const std::vector<NamespaceInfo>& namespaces);
  ~NodeTables();
  NodeTables(const NodeTables&) = delete;
  NodeTables& operator=(const NodeTables&) = delete;

  std::map<std::string, NodeInfo> nodes;
  std::vector<std::string> zones;    // distinct non-empty node zones, sorted
  std::vector<std::string> regions;  // distinct non-empty node regions, sorted
  std::map<std::string, const NamespaceInfo*> namespaces;
  std::unique_ptr<placement::NodeCache> placement;  // topologies and fits by node
};

// Workload kinds that keep N interchangeable replicas (the HA checks apply).
bool isReplicatedKind(std::string_view kind);

struct WorkloadInfo {
  ObjectRef ref;
  const Workload* object = nullptr;  // null when known only from pods' owners
  std::vector<const Pod*> pods;      // active pods, by namespace/name
  int32_t desired = 0;               // the object's replicas, else pods.size()
  int32_t ready = 0;                 // pods that count as ready
  bool replicated() const { return isReplicatedKind(ref.kind); }
};

class Index {
 private:
  std::map<std::string, NodeInfo> own_nodes_;  // unless node tables are shared

 public:
  Index(const Snapshot& snapshot, const Options& options);
  // With `shared` non-null, the node-side lookups come from the shared tables
  // (built over the same nodes, silent set and Namespace objects as
  // `snapshot` holds), which must outlive the index.
  Index(const Snapshot& snapshot, const Options& options, const NodeTables* shared);
  // Not copyable: `nodes` may refer to the index's own map.
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  const Snapshot& snapshot;
  const Options& options;
  const NodeTables* node_tables = nullptr;  // null: the index built its own

  // Pods that count: phase not Succeeded/Failed and not terminating, sorted
  // by namespace/name.
  std::vector<const Pod*> active_pods;
  // The same pods by namespace (for selectors, which never cross one), and
  // the namespaced policy objects by namespace, in snapshot order.
  std::map<std::string, std::vector<const Pod*>, std::less<>> pods_by_namespace;
  std::map<std::string, std::vector<const PodDisruptionBudget*>, std::less<>> pdbs_by_namespace;
  std::map<std::string, std::vector<const Service*>, std::less<>> services_by_namespace;
  // Every node of the snapshot (NodeInfo::pods empty with shared tables).
  const std::map<std::string, NodeInfo>& nodes;
  std::map<ObjectRef, WorkloadInfo> workloads;
  std::vector<std::string> zones;    // distinct non-empty node zones, sorted
  std::vector<std::string> regions;  // distinct non-empty node regions, sorted
  // Control-plane pods by component: kube-apiserver, kube-controller-manager,
  // kube-scheduler, etcd (kube-system pods with label component=..., or
  // named "<component>-<node>" with tier=control-plane).
  std::map<std::string, std::vector<const Pod*>> control_plane;
  // Pods whose spec.nodeName names no node of the snapshot, and those nodes.
  std::vector<const Pod*> pods_on_unknown_nodes;
  // When set, the active pods per node that the node checks report (the
  // incremental engine evaluates the node checks without every pod in the
  // snapshot); otherwise NodeInfo::pods.size().
  const std::map<std::string, int32_t, std::less<>>* active_pod_counts = nullptr;
  // Set: the evaluation may be cancelled (rampart/engine.h, Cancelled). Long
  // loops return early once it is requested; their partial output is then
  // discarded by whoever set it.
  std::stop_token cancel;
  bool cancelled() const { return cancel.stop_requested(); }
  size_t activePodsOn(const NodeInfo& node) const;

  // Lazily filled lookups of engine_policy.cpp (an Index is used by one
  // thread at a time): the pods a PDB selects, and a namespace's active pods
  // by label key and value.
  mutable std::map<const PodDisruptionBudget*, std::vector<const Pod*>> pdb_pods_cache;
  mutable std::map<std::string,
                   std::map<std::pair<std::string, std::string>, std::vector<const Pod*>>,
                   std::less<>>
      pods_by_label_cache;

  // The workload a pod counts for: its controller (a Deployment through its
  // ReplicaSet, a CronJob through its Job), the pod itself (kind "Pod") when
  // it has no controller, nullopt for static (mirror) pods owned by a Node.
  std::optional<ObjectRef> workloadOf(const Pod& pod) const;
  const WorkloadInfo* workloadInfo(const Pod& pod) const;

  const Node* node(std::string_view name) const;
  const NodeInfo* nodeInfo(std::string_view name) const;

  // Running, Ready, not terminating, and on a node that is neither NotReady
  // (Ready condition False/Unknown) nor silent. A pod on a node absent from
  // the snapshot counts by its own status.
  bool countsReady(const Pod& pod) const;

  // The labels of a namespace: the Namespace object's when the snapshot has
  // it, else just kubernetes.io/metadata.name (which the API server always
  // sets).
  Labels namespaceLabels(std::string_view ns) const;

  // A node label (the topology domain of `key`), nullopt when absent.
  static std::optional<std::string> domainOf(const Node& node, const std::string& key);

  static std::string podKey(const Pod& pod);  // "namespace/name"

  // A finding with check, severity, subject and runbook filled in.
  Finding finding(std::string check, Severity severity, ObjectRef subject) const;
  // False when Options::only_checks excludes the check.
  bool enabled(std::string_view check) const;

 private:
  std::map<std::pair<std::string, std::string>, const Workload*> objects_by_kind_name_;
  std::map<std::string, const NamespaceInfo*> own_namespaces_;
  const std::map<std::string, const NamespaceInfo*>* namespaces_ = nullptr;
  const Workload* object(std::string_view kind, std::string_view ns, std::string_view name) const;
};

std::string zoneKey();    // "topology.kubernetes.io/zone"
std::string regionKey();  // "topology.kubernetes.io/region"
// hostnameKey() (kubernetes.io/hostname) is public: rampart/engine.h.

// A control-plane component a pod runs ("kube-apiserver", ..., "etcd"), see
// Index::control_plane; nullopt for every other pod.
std::optional<std::string> controlPlaneComponent(const Pod& pod);
// Phase not Succeeded/Failed and not terminating: the pod counts.
bool podCounts(const Pod& pod);

// Check families (engine/checks/engine_*.cpp). Each appends its findings with
// points unset. engine.cpp lists them all, in the order evaluate() runs them
// (checkNamespaceScoped and checkClusterScoped below); the live etcd checks
// are declared in engine_etcd.h, the probe and flapping checks in
// engine_probes.h, the what-if below.
void checkPlacement(const Index& index, std::vector<Finding>& out);       // engine_placement.cpp
void checkWorkloads(const Index& index, std::vector<Finding>& out);       // engine_workloads.cpp
void checkInfrastructure(const Index& index, std::vector<Finding>& out);  // engine_infra.cpp
// Backups and volumes (engine_backups.cpp): the cluster-scoped half
// (backup.not-observed, backup.stale), the namespace-scoped half
// (backup.uncovered-volumes, volume.zone-pinned), and both.
void backupsClusterScoped(const Index& index, std::vector<Finding>& out);
void backupsNamespaceScoped(const Index& index, std::vector<Finding>& out);
void checkBackups(const Index& index, std::vector<Finding>& out);

// Every check family but the what-if, split by what decides them (the
// incremental engine runs them per partition, docs/incremental.md), in
// engine.cpp. Namespace-scoped: every finding counts against an object of
// one namespace and depends only on the objects of that namespace (and, for
// anti-affinity terms that name other namespaces, their pods), the nodes, the
// Namespace objects, the PVs and the Velero schedules. Cluster-scoped: nodes
// (with their liveness and probes), zones, control plane, etcd (its pods and
// the prober's observation), Velero schedule freshness, readiness flapping.
void checkNamespaceScoped(const Index& index, std::vector<Finding>& out);
void checkClusterScoped(const Index& index, std::vector<Finding>& out);

// Which parts of the what-if to compute: the workloads, PDBs and quorum
// StatefulSets (namespace-scoped), and etcd's quorum (cluster-scoped). Every
// domain is listed with its nodes unless `domains` is false: then only the
// domains where something is at risk, without their nodes (the incremental
// engine merges those into the cluster partition's full list).
struct WhatIfParts {
  bool workloads = true;
  bool etcd = true;
  bool domains = true;
};

// The what-if for every node, zone and region, and the cluster-level findings
// it implies (whatif.node-loss, whatif.zone-loss).
WhatIf computeWhatIf(const Index& index, WhatIfParts parts = {});
void checkWhatIf(const Index& index, const WhatIf& whatif, std::vector<Finding>& out);

// What the score needs to know of a workload.
struct WorkloadFacts {
  int32_t desired = 0;
  int32_t pods = 0;  // active pods
  int32_t ready = 0;
};
std::map<ObjectRef, WorkloadFacts> workloadFacts(const Index& index);

// Assigns points and cluster_points to every finding and computes the scores
// (docs/scoring.md).
Scores score(const Index& index, std::vector<Finding>& findings);
// The same from the facts alone: `nodes` is the number of nodes (node-level
// findings weigh min(1, 3/nodes)).
Scores score(const std::map<ObjectRef, WorkloadFacts>& workloads, size_t nodes,
             std::vector<Finding>& findings);

// The report's order: top risks first, ties broken by every identifying field.
void orderFindings(std::vector<Finding>& findings);
// The warning for pods on nodes the snapshot lacks ("" when there are none).
std::string unknownNodesWarning(size_t pods, const std::set<std::string>& missing_nodes);

}  // namespace rampart::engine
