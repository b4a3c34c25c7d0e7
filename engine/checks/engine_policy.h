// Internal to the engine: PodDisruptionBudget arithmetic as the Kubernetes
// disruption controller does it (pkg/controller/disruption: getExpectedPodCount,
// getExpectedScale, updatePdbStatus), and the small selection helpers the
// HA/DR checks and the what-if share. Pure; results sorted by namespace/name.
// Choices where Rampart departs from the controller are in docs/checks.md
// ("HA/DR checks").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine_index.h"

namespace rampart::engine {

// Active pods a PDB selects: same namespace, selector matches. An absent
// selector selects nothing, an empty one every pod of the namespace
// (policy/v1). Sorted by namespace/name.
std::vector<const Pod*> pdbPods(const Index& index, const PodDisruptionBudget& pdb);

// The expected pod count of a PDB (status.expectedPods as the controller
// would compute it for a percentage or maxUnavailable): the sum of `desired`
// of the workloads owning its selected pods, each workload once. A pod with no
// workload (a static pod) counts 1, and a bare pod is its own workload of 1
// (the controller counts neither and warns "UnmanagedPods"). When the PDB
// carries a status whose expectedPods is larger, that wins: it was computed
// from controllers the snapshot may lack. 0 when nothing is selected.
int32_t pdbExpectedPods(const Index& index, const PodDisruptionBudget& pdb);

// desiredHealthy for `expected` pods, as the disruption controller computes
// it: maxUnavailable set: expected - maxUnavailable (a percentage of expected
// rounded up), at least 0; else minAvailable: the integer, or a percentage of
// expected rounded up. Neither set (valid in policy/v1, which has no
// defaulting): the controller writes desiredHealthy 0 with expectedPods 0,
// which forces disruptionsAllowed to 0 for good; this returns `expected`, the
// value that means the same ("no pod may go").
int32_t pdbDesiredHealthy(const PodDisruptionBudget& pdb, int32_t expected);

// disruptionsAllowed with `healthy` healthy pods out of `expected`:
// healthy - desiredHealthy, 0 when negative or when expected <= 0.
int32_t pdbDisruptionsAllowed(const PodDisruptionBudget& pdb, int32_t expected, int32_t healthy);

// PDBs of the workload's namespace selecting at least one of its active pods
// or, when it has none, whose selector matches its pod template labels.
// Sorted by name.
std::vector<const PodDisruptionBudget*> pdbsFor(const Index& index, const WorkloadInfo& workload);

// "2" or "50%": an IntOrPercent as the manifest wrote it, for messages; and as
// JSON (a number, or the "50%" string).
std::string intOrPercentText(const IntOrPercent& v);
nlohmann::ordered_json intOrPercentJson(const IntOrPercent& v);

// A Service selects a pod: same namespace, a non-empty selector whose every
// label the pod carries with the same value (core/v1 Service semantics; an
// empty selector means the endpoints are managed by hand).
bool serviceSelects(const Service& service, const Pod& pod);

// "ns/name", or "name" for cluster-scoped refs.
std::string refName(const ObjectRef& ref);

}  // namespace rampart::engine
