// Placement checks, part 2: the checks that relate pods to nodes (colocated
// replicas, node affinity, taints). Part 1 is engine_placement.cpp.
#include <algorithm>

#include "engine_placement_ctx.h"
#include "rampart/selectors.h"
#include "rampart/text.h"

namespace rampart::engine::placement {
namespace {

std::string plural(size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// The taints the node lifecycle controller and cloud providers manage
// (not-ready, unreachable, unschedulable, *-pressure, uninitialized): they
// describe the node's state, which the node checks report; DaemonSet pods get
// tolerations for them automatically.
bool conditionTaint(const Taint& t) {
  return t.key.starts_with("node.kubernetes.io/") ||
         t.key == "node.cloudprovider.kubernetes.io/uninitialized";
}

int effectRank(const std::string& effect) {
  if (effect == "NoExecute") return 3;
  if (effect == "NoSchedule") return 2;
  return 1;  // PreferNoSchedule
}

}  // namespace

void checkColocatedReplicas(Context& ctx, std::vector<Finding>& out) {
  const Index& index = ctx.index;
  std::vector<int> on_node(ctx.nodes.size(), 0);  // reused per workload, reset after
  for (const auto& [ref, w] : index.workloads) {
    if (index.cancelled()) return;
    if (!w.replicated() || w.pods.size() < 2) continue;
    std::map<int, std::vector<const Pod*>> by_node;  // node ordinal -> pods, by namespace/name
    for (const Pod* p : w.pods) {
      if (p->node_name.empty()) continue;
      const int n = ctx.nodeOrdinal(p->node_name);
      if (n < 0) continue;
      by_node[n].push_back(p);
      ++on_node[n];
    }
    for (const auto& [n, pods] : by_node) {
      const int c = static_cast<int>(pods.size());
      if (c < 2 || !ctx.inScope(n)) continue;
      // The pods of one workload share their template: the first one stands
      // for all.
      const NodeFit& fit = ctx.fit(pods.front()->placement);
      std::vector<std::string> names;
      int candidates = 0;
      for (int m : fit.hosts) {
        if (m == n || on_node[m] >= c - 1) continue;
        ++candidates;
        if (names.size() < 5) names.push_back(ctx.nodes[m]->node->name);
      }
      if (candidates == 0) continue;

      const NodeInfo& node = *ctx.nodes[n];
      const bool all = c == static_cast<int>(w.pods.size());
      Finding f = index.finding("placement.colocated-replicas",
                                all ? Severity::kHigh : Severity::kMedium, ref);
      f.hard = false;
      f.workload = ref;
      for (const Pod* p : pods) f.pods.push_back(Index::podKey(*p));
      f.node = node.node->name;
      f.zone = node.node->zone;
      f.details["node"] = node.node->name;
      f.details["replicas_on_node"] = c;
      f.details["replicas"] = w.pods.size();
      f.details["candidate_nodes"] = names;
      f.details["candidates"] = candidates;
      f.message = std::to_string(c) + " of " + std::to_string(w.pods.size()) + " replicas of " +
                  ref.namespace_ + "/" + ref.name + " on node " + node.node->name + " while " +
                  plural(candidates, "other node", "other nodes") + " could host them";
      f.remediation = "Losing " + node.node->name + " takes " + std::to_string(c) +
                      " replicas at once: add a topologySpreadConstraint (or preferred pod "
                      "anti-affinity) on kubernetes.io/hostname to the " +
                      ref.kind + "'s pod template, then `kubectl rollout restart`.";
      out.push_back(std::move(f));
    }
    for (const auto& [n, pods] : by_node) on_node[n] = 0;
  }
}

namespace {

// Which of the pod's required node rules its node fails.
nlohmann::ordered_json requiredFailure(const PlacementSpec& placement, const Node& node,
                                       std::string& summary) {
  nlohmann::ordered_json d = {{"required", true}};
  nlohmann::ordered_json selector = nlohmann::ordered_json::array();
  std::vector<std::string> parts;
  for (const auto& [k, v] : placement.node_selector) {
    auto it = node.labels.find(k);
    if (it != node.labels.end() && it->second == v) continue;
    selector.push_back({{"key", k},
                        {"want", v},
                        {"have", it == node.labels.end() ? nlohmann::ordered_json(nullptr)
                                                         : nlohmann::ordered_json(it->second)}});
    parts.push_back(concat(
        "nodeSelector ", k, "=", v, " (node has ",
        it == node.labels.end() ? std::string_view("no such label") : std::string_view(it->second),
        ")"));
  }
  d["node_selector_failed"] = std::move(selector);
  const auto* terms = placement.node_affinity ? &placement.node_affinity->required : nullptr;
  const size_t n_terms = terms != nullptr ? terms->size() : 0;
  const bool terms_ok =
      n_terms == 0 || std::any_of(terms->begin(), terms->end(), [&](const NodeSelectorTerm& t) {
        return nodeTermMatches(t, node);
      });
  d["affinity_terms"] = n_terms;
  d["affinity_failed"] = !terms_ok;
  if (!terms_ok) {
    parts.push_back("required node affinity (" + plural(n_terms, "term", "terms") +
                    ", none matching)");
  }
  summary.clear();
  for (size_t i = 0; i < parts.size(); ++i) summary += (i > 0 ? " and " : "") + parts[i];
  return d;
}

}  // namespace

void checkNodeAffinity(Context& ctx, std::vector<Finding>& out) {
  const Index& index = ctx.index;
  for (const Placed& p : ctx.placed) {
    const Pod& pod = *p.pod;
    if (!ctx.inScope(p.node) || isMirrorPod(pod)) continue;
    const PlacementSpec& rules = pod.placement;
    const bool has_preferred = rules.node_affinity && !rules.node_affinity->preferred.empty();
    if (rules.node_selector.empty() && !rules.node_affinity) continue;
    const Node& node = *ctx.nodes[p.node]->node;
    const ObjectRef subject{"Pod", pod.namespace_, pod.name};

    if (!fitsRequiredNodeAffinity(rules, node)) {
      Finding f = index.finding("placement.node-affinity", Severity::kHigh, subject);
      std::string summary;
      f.details = requiredFailure(rules, node, summary);
      f.hard = true;
      f.workload = index.workloadOf(pod);
      f.pods = {Index::podKey(pod)};
      f.node = node.name;
      f.zone = node.zone;
      f.message = Index::podKey(pod) + " runs on node " + node.name + ", which its " + summary +
                  " excludes";
      f.remediation =
          "The node's labels changed after scheduling (or the pod was bound by "
          "hand): restore the label on " +
          node.name +
          " or delete the pod so the scheduler places it on a node that "
          "fits spec.nodeSelector / spec.affinity.nodeAffinity.";
      out.push_back(std::move(f));
      continue;
    }
    if (!has_preferred) continue;

    const int32_t own = preferredNodeAffinityScore(rules, node);
    const NodeFit& fit = ctx.rankedFit(rules);
    std::vector<std::string> better;
    int32_t best = own;
    size_t better_count = 0;
    for (const auto& [score, m] : fit.ranked) {
      if (score <= own) break;
      if (m == p.node) continue;
      best = std::max(best, score);
      ++better_count;
      if (better.size() < 5) better.push_back(ctx.nodes[m]->node->name);
    }
    if (better_count == 0) continue;
    Finding f = index.finding("placement.node-affinity", Severity::kLow, subject);
    f.hard = false;
    f.workload = index.workloadOf(pod);
    f.pods = {Index::podKey(pod)};
    f.node = node.name;
    f.zone = node.zone;
    f.details["required"] = false;
    f.details["node_score"] = own;
    f.details["best_score"] = best;
    f.details["better_nodes"] = better;
    f.details["better_count"] = better_count;
    f.message = Index::podKey(pod) + " runs on node " + node.name +
                " with preferred node affinity score " + std::to_string(own) + " while " +
                plural(better_count, "schedulable node scores", "schedulable nodes score") +
                " up to " + std::to_string(best) + " (" + nameList(better) + ")";
    f.remediation =
        "The preferred nodes had no room or did not exist when the pod was "
        "scheduled: delete the pod (`kubectl delete pod -n " +
        pod.namespace_ + " " + pod.name + "`) to let the scheduler move it to a preferred node.";
    out.push_back(std::move(f));
  }
}

void checkTaints(Context& ctx, std::vector<Finding>& out) {
  const Index& index = ctx.index;
  static const std::vector<std::string> kEffects = {"NoExecute", "NoSchedule", "PreferNoSchedule"};
  for (const Placed& p : ctx.placed) {
    const Pod& pod = *p.pod;
    if (!ctx.inScope(p.node) || isMirrorPod(pod)) continue;
    const Node& node = *ctx.nodes[p.node]->node;
    if (node.taints.empty()) continue;
    std::vector<Taint> taints = untoleratedTaints(pod.placement, node, kEffects);
    std::erase_if(taints, conditionTaint);
    if (taints.empty()) continue;
    const Taint* strongest = &taints.front();
    for (const Taint& t : taints) {
      if (effectRank(t.effect) > effectRank(strongest->effect)) strongest = &t;
    }
    const bool hard = strongest->effect != "PreferNoSchedule";
    Finding f = index.finding("placement.taint", hard ? Severity::kHigh : Severity::kLow,
                              ObjectRef{"Pod", pod.namespace_, pod.name});
    f.hard = hard;
    f.workload = index.workloadOf(pod);
    f.pods = {Index::podKey(pod)};
    f.node = node.name;
    f.zone = node.zone;
    f.details["effect"] = strongest->effect;
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    std::vector<std::string> names;
    for (const Taint& t : taints) {
      list.push_back({{"key", t.key}, {"value", t.value}, {"effect", t.effect}});
      names.push_back(t.key + (t.value.empty() ? "" : "=" + t.value) + ":" + t.effect);
    }
    f.details["taints"] = std::move(list);
    f.message = Index::podKey(pod) + " runs on node " + node.name + " with " +
                plural(taints.size(), "taint", "taints") +
                " it does not tolerate: " + nameList(names);
    f.remediation =
        hard ? "If the pod belongs on " + node.name +
                   ", add a matching toleration to its spec.tolerations; otherwise remove the "
                   "taint (`kubectl taint nodes " +
                   node.name + " " + strongest->key + ":" + strongest->effect +
                   "-`) or delete the pod so it is rescheduled elsewhere."
             : "The node prefers other pods: add a PreferNoSchedule toleration if the pod "
               "belongs on " +
                   node.name + ", or delete the pod to let the scheduler pick an untainted node.";
    out.push_back(std::move(f));
  }
}

}  // namespace rampart::engine::placement
