// The engine inputs of node-local probes and readiness flapping, taken from
// the aggregator's model into a snapshot (assembleSnapshot).
#pragma once

#include <set>
#include <string>

#include "rampart/engine.h"
#include "state/cluster_state.h"

namespace rampart::aggregator {

// Sets s.node_probes (the nodes of `s.nodes` that have results and are not in
// `silent`) and s.readiness_flapping (the flapping pods of the nodes of
// `s.nodes`). Call once s.nodes is final.
void fillProbeInputs(const ClusterState& state, const std::set<std::string>& silent,
                     engine::Snapshot& s);

}  // namespace rampart::aggregator
