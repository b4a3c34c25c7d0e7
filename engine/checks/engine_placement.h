// The placement checks for one node, as the agent runs them on its own node.
// The whole-cluster entry point, checkPlacement, is declared in
// engine_index.h; both share one implementation (engine_placement*.cpp) and
// docs/checks.md ("Placement checks") describes every check.
#pragma once

#include <string>
#include <vector>

#include "engine_index.h"

namespace rampart::engine {

// The placement checks restricted to the pods on `node`: anti-affinity,
// node-affinity and taint findings for those pods, topology-spread findings
// for the constraint groups one of those pods carries, colocated-replica
// findings for that node. Anti-affinity counts only matching pods on the same
// node (what a node-local snapshot can see), so the result does not depend on
// how much of the cluster the snapshot holds. Spread counts and candidate
// nodes come from whatever the index holds. A node absent from the index
// yields nothing. Appends findings with points unset.
void checkPlacementOnNode(const Index& index, const std::string& node, std::vector<Finding>& out);

}  // namespace rampart::engine
