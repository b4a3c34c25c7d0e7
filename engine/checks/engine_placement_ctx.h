// Internal to the placement checks (engine_placement*.cpp): the lookups they
// share, built once per run so that no check compares every pod with every
// pod. Placed pods are numbered in Index::active_pods order (namespace/name),
// so ascending ids are sorted pods. Borrows the index: it must outlive the
// context. Not thread-safe (caches fill lazily).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine_index.h"

namespace rampart::engine::placement {

// An active pod on a node of the snapshot.
struct Placed {
  const Pod* pod = nullptr;
  int node = 0;        // ordinal in Context::nodes
  int namespace_ = 0;  // ordinal of its namespace among the placed pods'
};

// The node side of a topology key's domains.
struct NodeTopology {
  std::vector<int> node_domain;      // per node ordinal; -1 when the node lacks the key
  std::vector<std::string> domains;  // sorted; a domain id indexes it
};

// The domains of one topology key.
struct Topology {
  std::span<const int> node_domain;      // NodeTopology::node_domain
  std::span<const std::string> domains;  // NodeTopology::domains
  // Placed pod ids sorted by (namespace ordinal, domain, id); keys parallel.
  std::vector<uint64_t> keys;
  std::vector<int> ids;
  // The placed pods of a namespace (ordinal) in a domain, ascending.
  std::span<const int> podsIn(int ns, int domain) const;
};

// What one pod's scheduling rules say about every node.
struct NodeFit {
  std::vector<char> affinity;   // nodeSelector and required node affinity hold
  std::vector<char> tolerated;  // no untolerated NoSchedule/NoExecute taint
  // Nodes that could take the pod now: ready, not cordoned, affinity, tolerated.
  std::vector<int> hosts;
  // Hosts by preferred node affinity score, highest first, then by name.
  std::vector<std::pair<int32_t, int>> ranked;
};

// What the placement checks know of the nodes alone: the nodes by name, the
// topology domains and the scheduling fits by placement rules. Built per
// Context, or once in NodeTables and shared by every Context over them.
// Borrows the NodeInfo map. Caches fill lazily: one thread at a time.
struct NodeCache {
  explicit NodeCache(const std::map<std::string, NodeInfo>& nodes);
  std::vector<const NodeInfo*> nodes;   // by name
  std::vector<std::string_view> names;  // sorted, as nodes
  std::map<std::string, NodeTopology> topologies;
  std::map<std::string, NodeFit>
      fits;  // by appendRequiredNodeKey + appendTolerationsKey (+ preferred)

  int ordinal(std::string_view name) const;  // -1 when unknown
  const NodeTopology& topology(const std::string& key);
  const NodeFit& fit(const PlacementSpec& placement);
  const NodeFit& rankedFit(const PlacementSpec& placement);
};

// Ids of placed pods a selector may match: either a list owned by the
// context or a merged copy.
struct Candidates {
  const std::vector<int>* list = nullptr;
  std::vector<int> owned;
  const std::vector<int>& ids() const { return list != nullptr ? *list : owned; }
  size_t size() const { return ids().size(); }
};

class Context {
 private:
  std::unique_ptr<NodeCache> own_cache_;  // unless the index has shared node tables
  NodeCache* cache_ = nullptr;

 public:
  // `only_node` non-null restricts the subjects (and anti-affinity matches) to
  // the pods on that node; a node absent from the index leaves nothing in scope.
  Context(const Index& index, const std::string* only_node);

  const Index& index;
  const std::vector<const NodeInfo*>& nodes;  // by name
  std::vector<Placed> placed;                 // by namespace/name

  bool filtered() const { return filtered_; }
  // The node is in scope (always, without a node filter).
  bool inScope(int node) const { return !filtered_ || node == only_node_; }
  int nodeOrdinal(std::string_view name) const;     // -1 when unknown
  int namespaceOrdinal(std::string_view ns) const;  // -1 when no pod is placed there

  const Topology& topology(const std::string& key);
  const NodeFit& fit(const PlacementSpec& placement);
  // NodeFit::ranked filled in for the placement's preferred terms.
  const NodeFit& rankedFit(const PlacementSpec& placement);

  // Placed pods of `ns` that `selector` may match (a superset, narrowed by the
  // most selective matchLabels or In requirement), ascending.
  Candidates candidates(std::string_view ns, const LabelSelector& selector) const;
  // Placed pods of `ns` that `selector` matches, ascending.
  std::vector<int> matching(std::string_view ns, const LabelSelector& selector) const;

  // Namespaces whose labels match `selector`, among those with placed pods
  // and the snapshot's Namespace objects; sorted.
  const std::vector<std::string>& namespacesMatching(const LabelSelector& selector);

 private:
  struct NsPods {
    std::vector<int> all;
    std::map<std::pair<std::string_view, std::string_view>, std::vector<int>> by_label;
  };
  const std::vector<int>* labelList(const NsPods& ns, const std::string& key,
                                    const std::string& value) const;

  bool filtered_ = false;
  int only_node_ = -1;
  std::vector<std::string_view> placed_namespaces_;  // sorted
  std::map<std::string_view, NsPods> by_ns_;
  std::vector<std::string> all_namespaces_;
  std::map<std::string, Topology> topologies_;
  std::map<std::string, std::vector<std::string>> ns_selections_;
};

// Canonical, unambiguous encodings used as cache and group keys.
void appendKey(std::string& out, std::string_view s);
void appendSelectorKey(std::string& out, const LabelSelector& selector);
void appendRequiredNodeKey(std::string& out, const PlacementSpec& placement);
void appendTolerationsKey(std::string& out, const PlacementSpec& placement);

// A static pod's mirror (owned by its Node): the kubelet runs it without the
// scheduler, so scheduling rules say nothing about where it is.
bool isMirrorPod(const Pod& pod);

// "a, b, c" of the first `max` names, then " and N more".
std::string nameList(const std::vector<std::string>& names, size_t max = 5);
// "zone eu-west-1a (topology.kubernetes.io/zone)", "node n1 (kubernetes.io/hostname)".
std::string domainPhrase(const std::string& key, const std::string& domain);

// The check bodies; each appends findings for the pods/nodes in scope.
void checkAntiAffinity(Context& ctx, std::vector<Finding>& out);
void checkTopologySpread(Context& ctx, std::vector<Finding>& out);
void checkColocatedReplicas(Context& ctx, std::vector<Finding>& out);
void checkNodeAffinity(Context& ctx, std::vector<Finding>& out);
void checkTaints(Context& ctx, std::vector<Finding>& out);

}  // namespace rampart::engine::placement
