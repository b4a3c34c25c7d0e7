#include "state/probe_inputs.h"

namespace rampart::aggregator {

void fillProbeInputs(const ClusterState& state, const std::set<std::string>& silent,
                     engine::Snapshot& s) {
  std::set<std::string> nodes;
  for (const Node& n : s.nodes) nodes.insert(n.name);
  s.node_probes.clear();
  for (const auto& [name, rec] : state.nodes()) {
    // A silent agent's results are stale: its silence is the finding.
    if (rec.probe_results.empty() || silent.contains(name) || !nodes.contains(name)) continue;
    s.node_probes.emplace(name, rec.probe_results);
  }
  s.readiness_flapping.clear();
  for (auto& [uid, pod] : state.flaps().flapping()) {
    if (nodes.contains(pod.node)) s.readiness_flapping.emplace(uid, std::move(pod));
  }
}

}  // namespace rampart::aggregator
