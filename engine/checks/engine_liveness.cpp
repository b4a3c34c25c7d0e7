// Node liveness: a node whose Rampart agent went silent (Snapshot::silent_nodes)
// joined with the API server's view of it (its Ready condition and its
// heartbeat Lease). docs/checks.md, "Liveness".
#include <string>

#include "engine_hadr.h"

namespace rampart::engine {
namespace {

constexpr int32_t kDefaultLeaseSeconds = 40;  // the kubelet's default leaseDurationSeconds
constexpr std::string_view kLeaseNamespace = "kube-node-lease";

const NodeLease* leaseOf(const Snapshot& s, const std::string& node) {
  for (const NodeLease& l : s.node_leases) {
    if (l.name == node && l.namespace_ == kLeaseNamespace) return &l;
  }
  return nullptr;
}

const NodeCondition* readyCondition(const Node& n) {
  for (const NodeCondition& c : n.conditions) {
    if (c.type == "Ready") return &c;
  }
  return nullptr;
}

}  // namespace

Finding nodeLivenessFinding(const Index& index, const NodeInfo& info, size_t pods) {
  const Node& node = *info.node;
  const std::string& name = node.name;
  const NodeCondition* ready = readyCondition(node);
  const NodeLease* lease = leaseOf(index.snapshot, name);
  const bool condition_bad =
      ready != nullptr && (ready->status == "False" || ready->status == "Unknown");
  std::optional<int64_t> lease_age;
  int32_t lease_duration = kDefaultLeaseSeconds;
  if (lease != nullptr && lease->renew_unix > 0) {
    lease_age = index.snapshot.now_unix - lease->renew_unix;
    if (lease->duration_seconds > 0) lease_duration = lease->duration_seconds;
  }
  const bool lease_expired = lease_age && *lease_age > lease_duration;

  std::string check;
  Severity severity = Severity::kHigh;
  std::string message;
  const std::string pods_text =
      std::to_string(pods) + " active pod(s) on it no longer count as ready";
  if (condition_bad || lease_expired) {
    check = "node.down";
    severity = Severity::kCritical;
    std::string api;
    if (condition_bad) {
      api = "the API server reports Ready=" + ready->status +
            (ready->reason.empty() ? "" : " (" + ready->reason + ")");
    } else {
      api = "its kubelet last renewed its lease " + std::to_string(*lease_age) + " s ago (lease " +
            std::to_string(lease_duration) + " s)";
    }
    message = "node " + name + " is down: its Rampart agent stopped reporting and " + api + "; " +
              pods_text;
  } else if (ready != nullptr || lease_age) {
    check = "node.partitioned-or-agent-failed";
    std::string api = ready != nullptr ? "the API server still sees it Ready" : "";
    if (lease_age) {
      api += (api.empty() ? "" : ", ") + std::string("its kubelet renewed its lease ") +
             std::to_string(*lease_age) + " s ago";
    }
    message = "node " + name + "'s Rampart agent stopped reporting but " + api +
              ": the agent failed or the node is cut off from the aggregator; " + pods_text +
              " until it reports again";
  } else {
    check = "node.agent-silent";
    message = "node " + name +
              "'s Rampart agent stopped reporting and the API server's view of the node is not "
              "known; " +
              pods_text;
  }
  Finding f = index.finding(check, severity, {"Node", "", name});
  f.node = name;
  f.zone = node.zone;
  f.details["ready"] = ready != nullptr ? nlohmann::ordered_json(ready->status) : nullptr;
  f.details["reason"] = ready != nullptr ? nlohmann::ordered_json(ready->reason) : nullptr;
  f.details["lease_age_seconds"] = lease_age ? nlohmann::ordered_json(*lease_age) : nullptr;
  f.details["lease_duration_seconds"] = lease_duration;
  f.details["pods"] = pods;
  f.message = std::move(message);
  if (check == "node.down") {
    f.remediation = "Check the machine behind " + name + " (console, cloud provider); if it is " +
                    "gone, `kubectl drain " + name +
                    " --ignore-daemonsets --delete-emptydir-data` (or delete the Node) so its "
                    "pods are recreated elsewhere without waiting for the 300 s eviction.";
  } else if (check == "node.partitioned-or-agent-failed") {
    f.remediation =
        "Check the agent (`kubectl -n rampart logs ds/rampart-agent` on " + name +
        ", `kubectl -n rampart get pods -o wide --field-selector spec.nodeName=" + name +
        "`) and the network path from the node to the aggregator's ingest port.";
  } else {
    f.remediation = "Check the agent on " + name +
                    " and give the aggregator API access (--kubeconfig or --in-cluster) so "
                    "that silence can be told apart from a node loss.";
  }
  return f;
}

}  // namespace rampart::engine
