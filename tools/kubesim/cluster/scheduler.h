// A small deterministic scheduler: filters nodes the way the default
// scheduler's hard predicates do (unschedulable, nodeSelector, required node
// affinity, untolerated NoSchedule/NoExecute taints) and places replicas
// round-robin over the eligible nodes. Required pod anti-affinity against
// pods it placed itself is honoured; no scoring, no pod affinity, no topology
// spread, no resource fit: the point is reproducible placements.
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

  // The next eligible node after the last one used, or nullopt when none
  // fits. The placement is recorded for later anti-affinity checks.
  std::optional<std::string> place(const Json& pod_spec, const std::string& ns = "",
                                   const Json& labels = Json::object());
  // Records a pod placed without the scheduler (pinned, DaemonSet).
  void record(const std::string& node, const std::string& ns, const Json& labels);

 private:
  struct Placed {
    size_t node;
    std::string ns;
    Json labels;
  };
  bool antiAffinityAllows(size_t node, const Json& pod_spec, const std::string& ns) const;

  std::vector<Json> nodes_;
  std::vector<Placed> placed_;
  size_t cursor_ = 0;
};

}  // namespace rampart::kubesim
