// The placement checks an agent can decide alone, on a snapshot of its own
// Node and the pods on it (docs/checks.md, "Placement on one node"). Pure: no
// I/O, no clock.
//
// The rule: a finding is reported only when the pods and the node the agent
// sees are all that decide it.
//   - placement.anti-affinity: only terms (required and preferred) whose
//     topologyKey is kubernetes.io/hostname; every pod of that domain is on
//     this node. Terms on other keys (zone, region, custom) are removed from
//     the agent's copy of each pod before the engine runs.
//   - placement.node-affinity: the required rules (nodeSelector, required
//     node affinity) only; the preferred finding compares other nodes.
//   - placement.taint: every untolerated taint of this node.
// Not reported: placement.topology-spread and placement.colocated-replicas
// (they count other nodes' pods or need candidate nodes): the aggregator's
// engine reports them from the whole cluster.
#pragma once

#include <vector>

#include "rampart/engine.h"
#include "rampart/model.h"
#include "rampart/wire.h"

namespace rampart::agent {

// Narrows a pod's rules to what one node decides: anti-affinity terms on
// kubernetes.io/hostname only, no topology spread constraints.
void keepNodeLocalRules(PlacementSpec& placement);

// True for the findings of checkPlacementOnNode that one node decides (the
// rule above; anti-affinity findings assume keepNodeLocalRules ran).
bool decidableOnNode(const engine::Finding& finding);

// The wire form: severity by name, details as compact JSON text.
wire::PlacementFinding toWire(const engine::Finding& finding);

// Runs the engine's placement checks for `node` over `pods` (the pods on it,
// any order) and returns the node-decidable findings, sorted by check, then
// pods. `pods` is taken by value: its rules are narrowed in place.
std::vector<wire::PlacementFinding> nodeLocalPlacementFindings(const Node& node,
                                                               std::vector<Pod> pods);

}  // namespace rampart::agent
