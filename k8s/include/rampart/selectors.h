// Kubernetes matching semantics over the model: label selectors, node
// selector terms, node affinity and taint toleration, as the scheduler defines
// them (k8s.io/apimachinery labels, k8s.io/component-helpers nodeaffinity,
// v1helper.TolerationsTolerateTaint). Pure functions; the engine builds on
// them: its placement checks, the pods a PodDisruptionBudget or a Velero
// schedule selects, and the incremental engine's partitions (kubesim matches
// its JSON objects with its own api/selectors.h). Choices where Kubernetes
// leaves room are noted per function and collected in docs/checks.md,
// "Matching".
#pragma once

#include <string>
#include <vector>

#include "rampart/model.h"

namespace rampart {

// matchLabels AND every matchExpression. An empty selector matches every
// label set. In/NotIn with an empty value list (invalid in the API) and unknown
// operators match nothing.
bool selectorMatches(const LabelSelector& selector, const Labels& labels);

// One node selector requirement against a node: label keys for
// matchExpressions (Gt/Lt compare the label as a decimal integer and fail when
// either side is not one), and only `metadata.name` for matchFields.
bool nodeRequirementMatches(const NodeSelectorRequirement& req, const Node& node, bool field);

// All requirements of the term. A term with no requirements matches nothing,
// as in the scheduler.
bool nodeTermMatches(const NodeSelectorTerm& term, const Node& node);

// The pod's nodeSelector (every key equal) and its required node affinity (any
// term) both hold. A pod with neither fits every node. A required node
// affinity without terms (rejected by API validation) is treated as absent.
bool fitsRequiredNodeAffinity(const PlacementSpec& placement, const Node& node);

// Sum of the weights of the preferred node affinity terms the node matches.
int32_t preferredNodeAffinityScore(const PlacementSpec& placement, const Node& node);

// v1 Toleration.ToleratesTaint: an empty effect matches every effect, an
// empty key every key; Exists then tolerates, Equal (or "") needs equal
// values; an unknown operator tolerates nothing.
bool tolerates(const Toleration& toleration, const Taint& taint);

// The node's taints with one of `effects` that no toleration of the pod
// tolerates, in node order.
std::vector<Taint> untoleratedTaints(const PlacementSpec& placement, const Node& node,
                                     const std::vector<std::string>& effects);

}  // namespace rampart
