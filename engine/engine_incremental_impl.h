// Internal to the incremental engine (rampart/engine_incremental.h,
// docs/incremental.md): Incremental::Impl, shared by its two halves.
// engine_incremental_partitions.cpp holds the objects: the partitions
// (groups of the objects of one namespace whose findings can depend on each
// other), the keys and links that form them, single-object changes, reset
// and sync of whole snapshots, and dirty marking.
// engine_incremental_evaluate.cpp re-evaluates the dirty partitions (the
// shared cluster objects lent in, moved not copied, and the node-side tables
// shared) and merges their results into evaluate()'s report.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine_index.h"
#include "rampart/engine_incremental.h"

namespace rampart::engine {
namespace incremental {

// What ties an object to others of its namespace (docs/incremental.md,
// "Partitions"): keys it shares with them (owners, claims, spread
// constraints), and the selectors it reads pods (and, for a PDB, controller
// templates) with. Every link is a superset of what the checks read: extra
// links only make partitions larger.
struct Links {
  std::vector<std::string> keys;
  std::vector<LabelSelector> selectors;
  bool templates = false;  // the selectors match controllers' template labels too
};

}  // namespace incremental

struct Incremental::Impl {
  // The what-if impacts one partition contributes, per level (nodes, zones,
  // regions): only domains where something is at risk.
  using Impacts = std::array<std::map<std::string, DomainImpact>, 3>;

  // A partition: objects of one namespace that no selector, owner, claim or
  // spread constraint ties to objects outside it.
  struct Group {
    Snapshot snap;  // its own objects, sorted by key
    bool dirty = true;
    std::set<std::string> reads;  // other namespaces its anti-affinity terms read
    // Results of the last evaluation.
    std::vector<Finding> findings;
    std::map<ObjectRef, WorkloadFacts> workloads;
    Impacts impacts;
    size_t unknown_pods = 0;
    std::set<std::string> missing_nodes;

    size_t size() const {
      return snap.pods.size() + snap.workloads.size() + snap.pdbs.size() + snap.hpas.size() +
             snap.services.size() + snap.pvcs.size();
    }
  };

  struct Reader {
    LabelSelector selector;
    int group = 0;  // a group id (find() it) every object the selector matches is in
    bool templates = false;
  };

  struct Space {
    std::string name;
    std::vector<int> parent;      // union-find over group ids
    std::map<int, Group> groups;  // the roots
    // Item key -> group id, link key -> group id (ids may be stale: find()).
    std::unordered_map<std::string, int> items;
    std::unordered_map<std::string, int> keys;
    std::map<std::string, Reader> readers;  // by selectorKey
    // Pod names by label, for the pods a new selector matches.
    std::map<std::pair<std::string, std::string>, std::set<std::string>> label_pods;
    std::set<std::string> pod_names;

    int find(int g) {
      while (parent[static_cast<size_t>(g)] != g) {
        parent[static_cast<size_t>(g)] =
            parent[static_cast<size_t>(parent[static_cast<size_t>(g)])];
        g = parent[static_cast<size_t>(g)];
      }
      return g;
    }
    int newGroup() {
      const int id = static_cast<int>(parent.size());
      parent.push_back(id);
      groups.emplace(id, Group{});
      return id;
    }
    Group& group(int id) { return groups.at(find(id)); }
  };

  Options options;
  // The cluster-wide objects: nodes, namespaces, PVs, Velero, silent nodes,
  // the clock, the input's warnings. Namespaced vectors stay empty.
  Snapshot shared;
  std::map<std::string, Space, std::less<>> spaces;
  // Groups whose anti-affinity terms read other namespaces: (namespace, id).
  std::set<std::pair<std::string, int>> cross_readers;
  bool cluster_dirty = true;
  std::vector<Finding> cluster_findings;
  WhatIf cluster_whatif;  // every domain; etcd's quorum impacts
  size_t node_count = 0;
  std::map<std::string, int32_t, std::less<>> pods_per_node;  // active pods
  // Nodes whose findings print their pod count (NotReady, silent, cordoned).
  std::set<std::string, std::less<>> counted_nodes;
  IncrementalStats stats;
  // Node-side lookups shared by every partition's Index; rebuilt after a
  // change that dirties everything (nodes, silent set, Namespaces).
  std::unique_ptr<NodeTables> tables;
  // A full invalidation re-forms the groups (they only grow in between).
  bool regroup = false;
  // Groups marked dirty since the last refresh() (namespace, id; ids may be
  // stale or repeated), unless every group is (all_dirty).
  std::vector<std::pair<Space*, int>> dirty_list;
  bool all_dirty = true;
  // The last merged report, while nothing was re-evaluated since.
  std::shared_ptr<const Report> cached;
  // The running tryReportShared()'s token (none otherwise).
  std::stop_token cancel;

  explicit Impl(Options o) : options(std::move(o)) {}

  // ---- Partitions (engine_incremental_partitions.cpp) ----------------------
  // The member templates are defined and instantiated there only.

  // Namespaces and dirty marking.
  Space& space(std::string_view ns);
  void markAll();
  void markReaders(const std::string& ns);
  void countPod(const Pod& p, int32_t delta);
  void podChanged(const Pod* before, const Pod* after);
  // Groups: union-find over the objects of a namespace.
  void touch(Space& ns, int id);
  int unite(Space& ns, int a, int b);
  void matchSelector(Space& ns, const LabelSelector& sel, bool templates, int gid);
  int link(Space& ns, int gid, const incremental::Links& links, const Labels* pod_labels,
           const Labels* template_labels);
  void indexLabels(Space& ns, const Pod& p, bool add);
  void build(Space& ns, Snapshot objects);
  static Snapshot collect(Space& ns);
  // Single-object changes.
  int groupOf(Space& ns, const std::string& item);
  void upsertPod(const Pod& pod);
  void removePod(std::string_view namespace_, std::string_view name);
  template <typename T, typename Field>
  void upsertObject(T obj, Field field);
  template <typename T, typename Field>
  void removeObject(std::string_view namespace_, const std::string& item, Field field,
                    const auto& key);
  // Whole snapshots.
  static std::map<std::string, Snapshot, std::less<>> split(Snapshot& s);
  void resetFrom(Snapshot s);
  template <typename T, typename Upsert, typename Remove>
  void syncKind(Space* ns, std::vector<T>& incoming, std::vector<T> Snapshot::*field, Upsert upsert,
                Remove remove);
  void syncFrom(Snapshot s);
  template <typename T>
  void syncNamed(Space* ns, std::vector<T>& incoming, std::vector<T> Snapshot::*field);

  // ---- Evaluation and merge (engine_incremental_evaluate.cpp) --------------

  // One partition, the cluster partition, the dirty ones; the merged report.
  void evaluateGroup(Space& ns, int id, Group& g);
  void evaluateCluster();
  size_t refresh();
  Cancellable<std::shared_ptr<const Report>> reportShared();
  Report merge();
};

}  // namespace rampart::engine
