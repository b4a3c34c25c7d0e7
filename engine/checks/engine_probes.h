// Internal to the engine: the checks of node-local probe results and of pod
// readiness flapping (docs/checks.md, "Node-local probes and readiness
// flapping"). Both read cluster-wide inputs (Snapshot::node_probes,
// readiness_flapping) and are cluster-scoped (called from checkClusterScoped).
#pragma once

#include <vector>

#include "engine_index.h"

namespace rampart::engine {

// node.kubelet-unhealthy, node.apiserver-unreachable, probe.node-check-failed
// for the nodes of the index that are not silent, once a probe failed
// Options::probe_failure_threshold times in a row.
void checkNodeProbes(const Index& index, std::vector<Finding>& out);

// pod.readiness-flapping for every entry of Snapshot::readiness_flapping.
// The workload comes from the pod's owner chain alone (as the agents report
// it), so that the full and the incremental engine agree.
void checkReadinessFlapping(const Index& index, std::vector<Finding>& out);

}  // namespace rampart::engine
