// Disruption policy checks: PodDisruptionBudgets and HorizontalPodAutoscalers
// (pdb.*, hpa.*). docs/checks.md, "HA/DR checks".
#include <algorithm>
#include <optional>
#include <set>

#include "engine_hadr.h"
#include "engine_index.h"
#include "engine_policy.h"

namespace rampart::engine {
namespace {

ObjectRef pdbRef(const PodDisruptionBudget& pdb) {
  return {"PodDisruptionBudget", pdb.namespace_, pdb.name};
}

std::string pdbName(const PodDisruptionBudget& pdb) {
  return pdb.namespace_ + "/" + pdb.name;
}

// "minAvailable 2", "maxUnavailable 0%", "neither minAvailable nor maxUnavailable".
std::string budgetText(const PodDisruptionBudget& pdb) {
  if (pdb.max_unavailable) return "maxUnavailable " + intOrPercentText(*pdb.max_unavailable);
  if (pdb.min_available) return "minAvailable " + intOrPercentText(*pdb.min_available);
  return "neither minAvailable nor maxUnavailable";
}

void budgetDetails(const PodDisruptionBudget& pdb, nlohmann::ordered_json& details) {
  if (pdb.max_unavailable) {
    details["max_unavailable"] = intOrPercentJson(*pdb.max_unavailable);
  } else if (pdb.min_available) {
    details["min_available"] = intOrPercentJson(*pdb.min_available);
  }
}

// Why a PDB allows no eviction even with every expected pod healthy; nullopt
// when it allows one. `owner` names the pod controller that makes the
// disruption controller fail, for "no-scale-subresource".
struct Block {
  std::string reason;  // budget | no-budget | no-scale-subresource | unmanaged-pods
  std::string owner;
};

std::optional<Block> blocks(const PodDisruptionBudget& pdb, const std::vector<const Pod*>& pods,
                            int32_t expected) {
  if (!pdb.min_available && !pdb.max_unavailable) return Block{"no-budget", ""};
  // Percentages and maxUnavailable need the controllers' scale: the
  // controller fails (and fails safe to 0 allowed) on a pod whose controller
  // has no scale subresource, and counts pods without a controller as 0.
  bool needs_scale = pdb.max_unavailable || pdb.min_available->percent;
  if (needs_scale) {
    bool all_unmanaged = true;
    for (const Pod* p : pods) {
      if (p->owners.empty() || !p->owners.front().controller) continue;
      all_unmanaged = false;
      const OwnerRef& o = p->owners.front();
      if (o.kind == "DaemonSet" || o.kind == "Job" || o.kind == "Node") {
        return Block{"no-scale-subresource", o.kind + " " + p->namespace_ + "/" + o.name};
      }
    }
    if (all_unmanaged) return Block{"unmanaged-pods", ""};
  }
  if (pdbDesiredHealthy(pdb, expected) >= expected) return Block{"budget", ""};
  return std::nullopt;
}

// The one workload whose pods a PDB selects, if there is exactly one.
std::optional<ObjectRef> soleWorkload(const Index& index, const std::vector<const Pod*>& pods) {
  std::set<ObjectRef> refs;
  for (const Pod* p : pods) {
    if (auto ref = index.workloadOf(*p)) refs.insert(*ref);
  }
  if (refs.size() != 1) return std::nullopt;
  return *refs.begin();
}

void missingPdb(const Index& index, std::vector<Finding>& out) {
  for (const auto& [ref, w] : index.workloads) {
    if (!w.replicated() || w.desired < 2 || !pdbsFor(index, w).empty()) continue;
    Finding f = index.finding("pdb.missing", Severity::kMedium, ref);
    f.workload = ref;
    for (const Pod* p : w.pods) f.pods.push_back(Index::podKey(*p));
    f.details["replicas"] = w.desired;
    f.message = refName(ref) + " (" + std::to_string(w.desired) +
                " replicas) has no PodDisruptionBudget: a node drain or cluster upgrade may "
                "evict all its replicas at once";
    f.remediation = "Create a PodDisruptionBudget in namespace " + ref.namespace_ +
                    " with maxUnavailable: 1 and the workload's pod selector (`kubectl -n " +
                    ref.namespace_ + " create pdb " + ref.name +
                    " --max-unavailable=1 --selector=<its labels>`).";
    out.push_back(std::move(f));
  }
}

std::string blockMessage(const PodDisruptionBudget& pdb, const Block& b, size_t pods,
                         int32_t expected, int32_t desired) {
  std::string head = "PodDisruptionBudget " + pdbName(pdb);
  const std::string tail = ": a node drain blocks forever";
  if (b.reason == "no-budget") {
    return head +
           " sets neither minAvailable nor maxUnavailable, so the disruption controller allows "
           "no eviction of its " +
           std::to_string(pods) + " pod(s)" + tail;
  }
  if (b.reason == "no-scale-subresource") {
    return head + " uses " + budgetText(pdb) + " over pods of " + b.owner +
           ", which has no scale subresource: the disruption controller cannot count the "
           "expected pods and allows no eviction" +
           tail;
  }
  if (b.reason == "unmanaged-pods") {
    return head + " uses " + budgetText(pdb) + " over " + std::to_string(pods) +
           " pod(s) without a controller: the disruption controller counts 0 expected pods and "
           "allows no eviction" +
           tail;
  }
  return head + " allows no eviction even with all " + std::to_string(expected) +
         " expected pods healthy (" + budgetText(pdb) + ", desired healthy " +
         std::to_string(desired) + ")" + tail;
}

void blockingPdbs(const Index& index, std::vector<Finding>& out) {
  for (const PodDisruptionBudget* pdb : sortedByName(index.snapshot.pdbs)) {
    std::vector<const Pod*> pods = pdbPods(index, *pdb);
    int32_t expected = pdbExpectedPods(index, *pdb);
    if (pods.empty() || expected <= 0) continue;  // nothing to drain
    std::optional<Block> b = blocks(*pdb, pods, expected);
    if (!b) continue;
    int32_t desired = pdbDesiredHealthy(*pdb, expected);
    Finding f = index.finding("pdb.blocks-eviction", Severity::kMedium, pdbRef(*pdb));
    f.workload = soleWorkload(index, pods);
    for (const Pod* p : pods) f.pods.push_back(Index::podKey(*p));
    budgetDetails(*pdb, f.details);
    f.details["expected_pods"] = expected;
    f.details["desired_healthy"] = desired;
    f.details["reason"] = b->reason;
    f.message = blockMessage(*pdb, *b, pods.size(), expected, desired);
    if (b->reason == "no-scale-subresource" || b->reason == "unmanaged-pods") {
      f.remediation = "Use an integer minAvailable in " + pdbName(*pdb) +
                      " (the controller needs a scalable owner for percentages and "
                      "maxUnavailable), lower than the number of pods it selects.";
    } else {
      f.remediation = "Let at least one pod go: set maxUnavailable: 1 in " + pdbName(*pdb) +
                      " (or a minAvailable below the replica count), or add replicas.";
    }
    out.push_back(std::move(f));
  }
}

void hpaChecks(const Index& index, std::vector<Finding>& out) {
  for (const HorizontalPodAutoscaler* h : sortedByName(index.snapshot.hpas)) {
    ObjectRef target{h->target_kind, h->namespace_, h->target_name};
    auto it = index.workloads.find(target);
    // A target the snapshot does not know, or scaled to zero (the HPA is
    // then inactive): nothing to say.
    if (it == index.workloads.end() || it->second.desired == 0) continue;
    const WorkloadInfo& w = it->second;
    ObjectRef hpa_ref{"HorizontalPodAutoscaler", h->namespace_, h->name};

    if (h->min_replicas < 2) {
      Finding f = index.finding("hpa.min-replicas-low", Severity::kMedium, hpa_ref);
      f.workload = target;
      f.details["min_replicas"] = h->min_replicas;
      f.details["max_replicas"] = h->max_replicas;
      f.message = "HorizontalPodAutoscaler " + h->namespace_ + "/" + h->name + " may scale " +
                  refName(target) + " down to " + std::to_string(h->min_replicas) +
                  " replica (minReplicas " + std::to_string(h->min_replicas) +
                  "): at quiet times a single node loss takes it down";
      f.remediation = "Set spec.minReplicas to at least 2 in " + h->namespace_ + "/" + h->name +
                      (h->max_replicas < 2 ? " (and spec.maxReplicas to at least 2)" : "") + ".";
      out.push_back(std::move(f));
    }

    for (const PodDisruptionBudget* pdb : pdbsFor(index, w)) {
      std::vector<const Pod*> pods = pdbPods(index, *pdb);
      int32_t expected = pdbExpectedPods(index, *pdb);
      // Already blocking at today's scale: pdb.blocks-eviction says so.
      if (!pods.empty() && expected > 0 && blocks(*pdb, pods, expected)) continue;
      if (!pdb->min_available && !pdb->max_unavailable) continue;
      int32_t others = std::max<int32_t>(0, expected - w.desired);
      int32_t at_min = others + h->min_replicas;
      int32_t desired = pdbDesiredHealthy(*pdb, at_min);
      if (at_min <= 0 || desired < at_min) continue;
      Finding f = index.finding("pdb.above-hpa-min", Severity::kMedium, pdbRef(*pdb));
      f.workload = target;
      budgetDetails(*pdb, f.details);
      f.details["hpa"] = h->name;
      f.details["min_replicas"] = h->min_replicas;
      f.details["expected_pods_at_min"] = at_min;
      f.details["desired_healthy_at_min"] = desired;
      f.message = "at the minimum of HorizontalPodAutoscaler " + h->namespace_ + "/" + h->name +
                  " (" + std::to_string(h->min_replicas) + " replica(s) of " + refName(target) +
                  "), PodDisruptionBudget " + pdbName(*pdb) + " (" + budgetText(*pdb) + ") needs " +
                  std::to_string(desired) + " of " + std::to_string(at_min) +
                  " pods healthy: no eviction is possible once the HPA scales down";
      f.remediation = "Use maxUnavailable: 1 in " + pdbName(*pdb) +
                      " (it scales with the replica count), or raise the HPA's minReplicas "
                      "above the PDB's minAvailable.";
      out.push_back(std::move(f));
    }
  }
}

}  // namespace

void checkDisruptionPolicies(const Index& index, std::vector<Finding>& out) {
  missingPdb(index, out);
  blockingPdbs(index, out);
  hpaChecks(index, out);
}

}  // namespace rampart::engine
