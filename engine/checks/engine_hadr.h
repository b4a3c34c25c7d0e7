// Internal to the engine: the parts of the HA/DR check families that live in
// their own files (docs/checks.md, "HA/DR checks"). checkWorkloads calls
// checkDisruptionPolicies and checkPods; each appends findings, points unset.
#pragma once

#include <string>
#include <vector>

#include "engine_index.h"

namespace rampart::engine {

// pdb.missing, pdb.blocks-eviction, pdb.above-hpa-min, hpa.min-replicas-low
// (engine_disruption.cpp).
void checkDisruptionPolicies(const Index& index, std::vector<Finding>& out);

// pod.not-ready, pod.crashloop, pod.oomkilled, pod.restarts, pod.bare
// (engine_pods.cpp).
void checkPods(const Index& index, std::vector<Finding>& out);

// node.down, node.partitioned-or-agent-failed or node.agent-silent for a node
// whose agent is silent (engine_liveness.cpp); `pods` = active pods on it.
Finding nodeLivenessFinding(const Index& index, const NodeInfo& info, size_t pods);

// The resource name kubectl takes for a kind: "deployment", "statefulset".
std::string kubectlResource(const std::string& kind);

// "a, b, c".
std::string joinNames(const std::vector<std::string>& names);

}  // namespace rampart::engine
