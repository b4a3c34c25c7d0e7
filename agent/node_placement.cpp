#include "node_placement.h"

#include <algorithm>

#include "rampart/engine.h"

namespace rampart::agent {

void keepNodeLocalRules(PlacementSpec& placement) {
  const std::string hostname = engine::hostnameKey();
  if (placement.pod_anti_affinity) {
    auto& rules = *placement.pod_anti_affinity;
    std::erase_if(rules.required,
                  [&](const PodAffinityTerm& t) { return t.topology_key != hostname; });
    std::erase_if(rules.preferred, [&](const WeightedPodAffinityTerm& w) {
      return w.term.topology_key != hostname;
    });
  }
  placement.topology_spread.clear();
}

bool decidableOnNode(const engine::Finding& finding) {
  if (finding.check == "placement.anti-affinity" || finding.check == "placement.taint") {
    return true;
  }
  // Only the required form: the preferred one ranks this node against others.
  return finding.check == "placement.node-affinity" && finding.hard;
}

wire::PlacementFinding toWire(const engine::Finding& f) {
  wire::PlacementFinding out;
  out.check = f.check;
  out.severity = std::string(engine::severityName(f.severity));
  out.hard = f.hard;
  out.pods = f.pods;
  if (f.workload)
    out.workload = wire::WorkloadRef{f.workload->kind, f.workload->namespace_, f.workload->name};
  out.message = f.message;
  // Pod names and labels come from the API server: never throw on bad UTF-8.
  out.details_json =
      f.details.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  out.remediation = f.remediation;
  return out;
}

std::vector<wire::PlacementFinding> nodeLocalPlacementFindings(const Node& node,
                                                               std::vector<Pod> pods) {
  engine::Snapshot snapshot;
  snapshot.nodes.push_back(node);
  for (Pod& p : pods) keepNodeLocalRules(p.placement);
  snapshot.pods = std::move(pods);
  const std::vector<engine::Finding> found =
      engine::checkPlacementOnNode(snapshot, node.name, engine::Options{});

  std::vector<wire::PlacementFinding> out;
  for (const engine::Finding& f : found) {
    if (decidableOnNode(f)) out.push_back(toWire(f));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.check, a.pods) < std::tie(b.check, b.pods);
  });
  return out;
}

}  // namespace rampart::agent
