// Placement checks, part 1: the entry points, pod anti-affinity and topology
// spread (the checks that relate pods to pods). Part 2 is
// engine_placement_node.cpp. Semantics: docs/checks.md, "Placement checks".
#include "engine_placement.h"

#include <algorithm>
#include <limits>
#include <set>

#include "engine_placement_ctx.h"
#include "rampart/selectors.h"

namespace rampart::engine {
namespace placement {
namespace {

// `s` with one `key op [value]` expression per key, the value taken from the
// pod's labels, as the API server merges matchLabelKeys (In) and
// mismatchLabelKeys (NotIn); keys the pod lacks are skipped.
LabelSelector withLabelKeys(LabelSelector s, const std::vector<std::string>& keys,
                            const Labels& labels, const char* op) {
  for (const std::string& k : keys) {
    if (auto it = labels.find(k); it != labels.end()) {
      s.match_expressions.push_back({k, op, {it->second}});
    }
  }
  return s;
}

// The term's selector with its matchLabelKeys and mismatchLabelKeys merged.
LabelSelector resolvedTermSelector(const PodAffinityTerm& term, const LabelSelector& base,
                                   const Labels& labels) {
  return withLabelKeys(withLabelKeys(base, term.match_label_keys, labels, "In"),
                       term.mismatch_label_keys, labels, "NotIn");
}

// The namespaces a term selects, sorted: its list plus the namespaces its
// namespaceSelector matches; neither means the pod's own namespace. An empty
// namespaceSelector matches every namespace.
std::vector<std::string> termNamespaces(Context& ctx, const PodAffinityTerm& term,
                                        const std::string& own) {
  if (term.namespaces.empty() && !term.namespace_selector) return {own};
  std::vector<std::string> out = term.namespaces;
  if (term.namespace_selector) {
    const auto& selected = ctx.namespacesMatching(*term.namespace_selector);
    out.insert(out.end(), selected.begin(), selected.end());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

struct TermHit {
  const PodAffinityTerm* term = nullptr;
  bool required = false;
  std::string domain;
  std::vector<int> pods;  // ascending ids
};

// Matching pods other than `self` in the same domain of the term's key.
std::optional<TermHit> evaluateTerm(Context& ctx, int self, const PodAffinityTerm& term,
                                    bool required) {
  if (!term.label_selector || term.topology_key.empty()) return std::nullopt;
  const Placed& p = ctx.placed[self];
  const Topology& topo = ctx.topology(term.topology_key);
  const int domain = topo.node_domain[p.node];
  if (domain < 0) return std::nullopt;
  const LabelSelector selector = resolvedTermSelector(term, *term.label_selector, p.pod->labels);
  TermHit hit{&term, required, topo.domains[domain], {}};
  for (const std::string& ns : termNamespaces(ctx, term, p.pod->namespace_)) {
    // Walk whichever is shorter: the pods of this namespace in the domain, or
    // the pods of this namespace the selector's most selective label admits.
    const int ns_ordinal = ctx.namespaceOrdinal(ns);
    if (ns_ordinal < 0) continue;
    const std::span<const int> in_domain = topo.podsIn(ns_ordinal, domain);
    if (in_domain.empty()) continue;
    // A short domain list (a node's pods) is walked as is; narrowing costs more.
    constexpr size_t kShortList = 64;
    Candidates by_label;
    if (in_domain.size() > kShortList) by_label = ctx.candidates(ns, selector);
    const bool use_domain = in_domain.size() <= kShortList || in_domain.size() <= by_label.size();
    const std::span<const int> ids = use_domain ? in_domain : std::span<const int>(by_label.ids());
    for (int id : ids) {
      if (id == self) continue;
      const Placed& q = ctx.placed[id];
      if (!use_domain && topo.node_domain[q.node] != domain) continue;
      // A node-local view sees only the pods on its own node.
      if (ctx.filtered() && !ctx.inScope(q.node)) continue;
      if (selectorMatches(selector, q.pod->labels)) hit.pods.push_back(id);
    }
  }
  if (hit.pods.empty()) return std::nullopt;
  std::sort(hit.pods.begin(), hit.pods.end());
  return hit;
}

std::string nodeZone(const NodeInfo& n) {
  return n.node->zone;
}

}  // namespace

void checkAntiAffinity(Context& ctx, std::vector<Finding>& out) {
  const Index& index = ctx.index;
  for (size_t i = 0; i < ctx.placed.size(); ++i) {
    if (index.cancelled()) return;  // each pod's terms read every matching pod
    const Placed& p = ctx.placed[i];
    const Pod& pod = *p.pod;
    if (!pod.placement.pod_anti_affinity || !ctx.inScope(p.node) || isMirrorPod(pod)) continue;
    const int self = static_cast<int>(i);
    std::vector<TermHit> hits;
    for (const PodAffinityTerm& t : pod.placement.pod_anti_affinity->required) {
      if (auto h = evaluateTerm(ctx, self, t, true)) hits.push_back(std::move(*h));
    }
    for (const WeightedPodAffinityTerm& w : pod.placement.pod_anti_affinity->preferred) {
      if (auto h = evaluateTerm(ctx, self, w.term, false)) hits.push_back(std::move(*h));
    }
    if (hits.empty()) continue;

    const bool hard = hits.front().required;  // required terms come first
    Finding f = index.finding("placement.anti-affinity", hard ? Severity::kHigh : Severity::kMedium,
                              ObjectRef{"Pod", pod.namespace_, pod.name});
    f.hard = hard;
    f.workload = index.workloadOf(pod);
    f.node = pod.node_name;
    f.zone = nodeZone(*ctx.nodes[p.node]);
    std::vector<int> all;
    nlohmann::ordered_json terms = nlohmann::ordered_json::array();
    for (const TermHit& h : hits) {
      nlohmann::ordered_json names = nlohmann::ordered_json::array();
      for (int id : h.pods) names.push_back(Index::podKey(*ctx.placed[id].pod));
      terms.push_back({{"topology_key", h.term->topology_key},
                       {"domain", h.domain},
                       {"required", h.required},
                       {"matching_pods", std::move(names)}});
      all.insert(all.end(), h.pods.begin(), h.pods.end());
    }
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    f.pods.push_back(Index::podKey(pod));
    for (int id : all) f.pods.push_back(Index::podKey(*ctx.placed[id].pod));
    f.details["terms"] = std::move(terms);

    const TermHit& first = hits.front();
    std::vector<std::string> first_names;
    first_names.reserve(first.pods.size());
    for (int id : first.pods) first_names.push_back(Index::podKey(*ctx.placed[id].pod));
    f.message = Index::podKey(pod) + " shares " +
                domainPhrase(first.term->topology_key, first.domain) + " with " +
                std::to_string(first.pods.size()) + (first.pods.size() == 1 ? " pod" : " pods") +
                " its " + (first.required ? "required" : "preferred") +
                " anti-affinity excludes: " + nameList(first_names);
    if (hits.size() > 1) {
      f.message += " (" + std::to_string(hits.size() - 1) + " more violated term" +
                   (hits.size() > 2 ? "s" : "") + ")";
    }
    f.remediation =
        hard ? "The scheduler would not place the pod here today (the rule or the labels changed "
               "after scheduling): delete it (`kubectl delete pod -n " +
                   pod.namespace_ + " " + pod.name +
                   "`) so it is rescheduled once a domain free of matching pods has room."
             : "The preference could not be met at scheduling time: add capacity in another " +
                   first.term->topology_key +
                   " domain, then delete the pod so the scheduler "
                   "can honor spec.affinity.podAntiAffinity (or make the term required).";
    out.push_back(std::move(f));
  }
}

namespace {

struct SpreadGroup {
  const TopologySpreadConstraint* constraint = nullptr;
  std::vector<int> carriers;  // ascending ids
};

bool honorsAffinity(const TopologySpreadConstraint& c) {
  return c.node_affinity_policy != "Ignore";
}
bool honorsTaints(const TopologySpreadConstraint& c) {
  return c.node_taints_policy == "Honor";
}

// Pods whose constraint evaluates identically share a key: same namespace,
// same constraint, same values for its matchLabelKeys, and, when a policy
// makes them matter, the same node rules / tolerations.
std::string groupKey(const Pod& pod, const TopologySpreadConstraint& c) {
  std::string key;
  appendKey(key, pod.namespace_);
  appendKey(key, c.topology_key);
  appendKey(key, std::to_string(c.max_skew));
  appendKey(key, c.when_unsatisfiable);
  appendKey(key, c.min_domains ? std::to_string(*c.min_domains) : "-");
  appendKey(key, c.node_affinity_policy);
  appendKey(key, c.node_taints_policy);
  if (c.label_selector) {
    appendSelectorKey(key, *c.label_selector);
  } else {
    key += "nil";
  }
  key += "mlk{";
  for (const std::string& k : c.match_label_keys) {
    appendKey(key, k);
    auto it = pod.labels.find(k);
    if (it != pod.labels.end()) {
      appendKey(key, it->second);
    } else {
      key += '-';
    }
  }
  key += '}';
  if (honorsAffinity(c)) appendRequiredNodeKey(key, pod.placement);
  if (honorsTaints(c)) appendTolerationsKey(key, pod.placement);
  return key;
}

// How a group's matching pods spread over the eligible domains of its key.
struct SpreadCounts {
  std::vector<int> counts;  // per domain of the topology
  std::vector<char> eligible_domain;
  std::vector<int> counted;  // ids of the matching pods on eligible nodes
  int domains = 0;           // eligible domains
  int max = 0, min = 0, max_domain = -1, min_domain = -1;
  bool below_min_domains = false;  // min is the scheduler's assumed 0
  int skew() const { return max - min; }
};

SpreadCounts countSpread(Context& ctx, const TopologySpreadConstraint& c, const Topology& topo,
                         const Pod& first, const LabelSelector& selector) {
  SpreadCounts s;
  const NodeFit* fit = honorsAffinity(c) || honorsTaints(c) ? &ctx.fit(first.placement) : nullptr;
  std::vector<char> eligible_node(ctx.nodes.size(), 0);
  s.eligible_domain.assign(topo.domains.size(), 0);
  for (size_t n = 0; n < ctx.nodes.size(); ++n) {
    const int d = topo.node_domain[n];
    if (d < 0) continue;
    if (honorsAffinity(c) && !fit->affinity[n]) continue;
    if (honorsTaints(c) && !fit->tolerated[n]) continue;
    eligible_node[n] = 1;
    s.eligible_domain[d] = 1;
  }
  s.domains = static_cast<int>(std::count(s.eligible_domain.begin(), s.eligible_domain.end(), 1));
  if (s.domains == 0) return s;

  s.counts.assign(topo.domains.size(), 0);
  for (int id : ctx.matching(first.namespace_, selector)) {
    const int n = ctx.placed[id].node;
    if (!eligible_node[n]) continue;
    ++s.counts[topo.node_domain[n]];
    s.counted.push_back(id);
  }
  s.max = std::numeric_limits<int>::min();
  s.min = std::numeric_limits<int>::max();
  for (size_t d = 0; d < s.counts.size(); ++d) {
    if (!s.eligible_domain[d]) continue;
    if (s.counts[d] > s.max) s.max = s.counts[d], s.max_domain = static_cast<int>(d);
    if (s.counts[d] < s.min) s.min = s.counts[d], s.min_domain = static_cast<int>(d);
  }
  // The scheduler's rule: fewer eligible domains than minDomains means the
  // global minimum is 0 (a domain still to be filled).
  s.below_min_domains = c.min_domains.has_value() && s.domains < c.min_domains.value();
  if (s.below_min_domains) s.min = 0;
  return s;
}

// The workload all the group's carriers belong to, or nullopt when they differ.
std::optional<ObjectRef> commonWorkload(const Context& ctx, const SpreadGroup& g,
                                        const Pod& first) {
  std::optional<ObjectRef> workload = ctx.index.workloadOf(first);
  for (int id : g.carriers) {
    // Pods with the same owner chain belong to the same workload.
    const Pod& pod = *ctx.placed[id].pod;
    if (pod.owners != first.owners && ctx.index.workloadOf(pod) != workload) return std::nullopt;
  }
  return workload;
}

void evaluateSpread(Context& ctx, const SpreadGroup& g, std::vector<Finding>& out) {
  const Index& index = ctx.index;
  const TopologySpreadConstraint& c = *g.constraint;
  // An absent selector matches no pod: every count is zero.
  if (!c.label_selector || c.topology_key.empty()) return;
  const Pod& first = *ctx.placed[g.carriers.front()].pod;
  const Topology& topo = ctx.topology(c.topology_key);
  const SpreadCounts s =
      countSpread(ctx, c, topo, first,
                  withLabelKeys(*c.label_selector, c.match_label_keys, first.labels, "In"));
  if (s.domains == 0 || s.skew() <= c.max_skew) return;

  const std::optional<ObjectRef> workload = commonWorkload(ctx, g, first);
  const bool by_workload = workload.has_value() && workload->kind != "Pod";
  const ObjectRef subject =
      by_workload ? workload.value() : ObjectRef{"Pod", first.namespace_, first.name};
  const bool hard = c.when_unsatisfiable == "DoNotSchedule";
  Finding f = index.finding("placement.topology-spread", hard ? Severity::kHigh : Severity::kMedium,
                            subject);
  f.hard = hard;
  f.workload = workload.has_value() ? workload : index.workloadOf(first);
  f.pods.reserve(s.counted.size());
  for (int id : s.counted) f.pods.push_back(Index::podKey(*ctx.placed[id].pod));
  f.details["topology_key"] = c.topology_key;
  f.details["max_skew"] = c.max_skew;
  f.details["skew"] = s.skew();
  if (c.min_domains) f.details["min_domains"] = *c.min_domains;
  nlohmann::ordered_json jc = nlohmann::ordered_json::object();
  for (size_t d = 0; d < s.counts.size(); ++d) {
    if (s.eligible_domain[d]) jc[topo.domains[d]] = s.counts[d];
  }
  f.details["counts"] = std::move(jc);

  const std::string who = subject.kind == "Pod" ? Index::podKey(first) : subject.str();
  f.message = who + ": " + std::to_string(s.counted.size()) + " matching pods over " +
              std::to_string(s.domains) + " " + c.topology_key + " domains with skew " +
              std::to_string(s.skew()) + " > maxSkew " + std::to_string(c.max_skew) + " (" +
              std::to_string(s.max) + " in " + topo.domains[s.max_domain] + ", ";
  if (s.below_min_domains) {
    f.message += "0 assumed: " + std::to_string(s.domains) + " domains < minDomains " +
                 std::to_string(c.min_domains.value_or(0)) + ")";
  } else {
    f.message += std::to_string(s.min) + " in " + topo.domains[s.min_domain] + ")";
  }
  f.remediation =
      hard ? "New pods that would deepen the skew stay Pending; rebalance (e.g. `kubectl rollout "
             "restart` of the workload, or the descheduler's "
             "RemovePodsViolatingTopologySpreadConstraint) once the light domains have room."
           : "The spread is only preferred (ScheduleAnyway): rebalance with `kubectl rollout "
             "restart` of the workload once the light domains have room, or make the constraint "
             "DoNotSchedule.";
  out.push_back(std::move(f));
}

}  // namespace

void checkTopologySpread(Context& ctx, std::vector<Finding>& out) {
  // A group never spans namespaces: with a node filter, only the namespaces
  // of the node's carriers can hold a group in scope.
  std::set<std::string_view> scope_namespaces;
  if (ctx.filtered()) {
    for (const Placed& p : ctx.placed) {
      if (ctx.inScope(p.node) && !p.pod->placement.topology_spread.empty()) {
        scope_namespaces.insert(p.pod->namespace_);
      }
    }
  }
  std::map<std::string, SpreadGroup> groups;
  for (size_t i = 0; i < ctx.placed.size(); ++i) {
    const Pod& pod = *ctx.placed[i].pod;
    if (pod.placement.topology_spread.empty() || isMirrorPod(pod)) continue;
    if (ctx.filtered() && !scope_namespaces.contains(pod.namespace_)) continue;
    for (const TopologySpreadConstraint& c : pod.placement.topology_spread) {
      SpreadGroup& g = groups[groupKey(pod, c)];
      if (g.constraint == nullptr) g.constraint = &c;
      g.carriers.push_back(static_cast<int>(i));
    }
  }
  // Report in the order of each group's first carrier (namespace/name).
  std::vector<const SpreadGroup*> order;
  order.reserve(groups.size());
  for (const auto& [key, g] : groups) {
    const bool in_scope = std::any_of(g.carriers.begin(), g.carriers.end(),
                                      [&](int id) { return ctx.inScope(ctx.placed[id].node); });
    if (in_scope) order.push_back(&g);
  }
  std::stable_sort(order.begin(), order.end(), [](const SpreadGroup* a, const SpreadGroup* b) {
    return a->carriers.front() < b->carriers.front();
  });
  for (const SpreadGroup* g : order) {
    if (ctx.index.cancelled()) return;
    evaluateSpread(ctx, *g, out);
  }
}

}  // namespace placement

namespace {

void runPlacement(const Index& index, const std::string* node, std::vector<Finding>& out) {
  placement::Context ctx(index, node);
  for (auto check :
       {placement::checkAntiAffinity, placement::checkTopologySpread,
        placement::checkColocatedReplicas, placement::checkNodeAffinity, placement::checkTaints}) {
    if (index.cancelled()) return;
    check(ctx, out);
  }
}

}  // namespace

void checkPlacement(const Index& index, std::vector<Finding>& out) {
  runPlacement(index, nullptr, out);
}

void checkPlacementOnNode(const Index& index, const std::string& node, std::vector<Finding>& out) {
  runPlacement(index, &node, out);
}

std::vector<Finding> checkPlacementOnNode(const Snapshot& snapshot, const std::string& node,
                                          const Options& options) {
  const Index index(snapshot, options);
  std::vector<Finding> out;
  checkPlacementOnNode(index, node, out);
  return out;
}

}  // namespace rampart::engine
