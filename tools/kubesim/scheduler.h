// A small deterministic scheduler: filters nodes the way the default
// scheduler's hard predicates do (unschedulable, nodeSelector, required node
// affinity, untolerated NoSchedule/NoExecute taints) and places replicas
// round-robin over the eligible nodes. No scoring, no inter-pod affinity, no
// resource fit: the point is reproducible placements.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rampart::kubesim {

using Json = nlohmann::ordered_json;

// Whether `toleration` (core/v1 Toleration) tolerates `taint` (core/v1 Taint).
bool tolerates(const Json& toleration, const Json& taint);

// Whether a pod with `pod_spec` may run on `node` (a core/v1 Node object).
bool nodeEligible(const Json& node, const Json& pod_spec);

class Scheduler {
 public:
  // `nodes` are core/v1 Node objects in scenario order; the scheduler copies
  // what it needs.
  explicit Scheduler(std::vector<Json> nodes) : nodes_(std::move(nodes)) {}

  // The next eligible node after the last one used, or nullopt when none fits.
  std::optional<std::string> place(const Json& pod_spec);

 private:
  std::vector<Json> nodes_;
  size_t cursor_ = 0;
};

}  // namespace rampart::kubesim
