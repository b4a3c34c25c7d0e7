// Probe and flapping checks (engine_probes.h).
#include "engine_probes.h"

#include <cmath>

#include "rampart/text.h"

namespace rampart::engine {
namespace {

// Rounded to 0.1 ms so that details stay readable.
double roundedMs(double ms) {
  return std::round(ms * 10.0) / 10.0;
}

std::optional<ObjectRef> workloadFromOwners(const PodReadinessFlapping& p) {
  if (p.owners.empty() || !p.owners.front().controller) {
    return ObjectRef{"Pod", p.namespace_, p.name};
  }
  const OwnerRef& owner = p.owners.front();
  if (owner.kind == "Node") return std::nullopt;  // a static pod's mirror
  if (owner.kind == "ReplicaSet" || owner.kind == "Job") {
    const std::string_view parent = owner.kind == "ReplicaSet" ? "Deployment" : "CronJob";
    if (p.owners.size() > 1 && p.owners[1].kind == parent) {
      return ObjectRef{p.owners[1].kind, p.namespace_, p.owners[1].name};
    }
  }
  return ObjectRef{owner.kind, p.namespace_, owner.name};
}

void probeDetails(Finding& f, const ProbeResult& r) {
  f.details["probe"] = r.name;
  f.details["kind"] = std::string(probeKindName(r.kind));
  f.details["target"] = r.target;
  f.details["error"] = r.error;
  f.details["latency_ms"] = roundedMs(r.latency_ms);
  f.details["consecutive_failures"] = r.consecutive_failures;
  f.details["checked_at_ms"] = r.checked_at_ms;
}

}  // namespace

void checkNodeProbes(const Index& index, std::vector<Finding>& out) {
  const uint32_t threshold = std::max<uint32_t>(1, index.options.probe_failure_threshold);
  for (const auto& [node, results] : index.snapshot.node_probes) {
    const NodeInfo* info = index.nodeInfo(node);
    if (info == nullptr || info->silent) continue;  // stale: node.* liveness covers it
    for (const ProbeResult& r : results) {
      if (r.ok || r.consecutive_failures < threshold) continue;
      const std::string failures = std::to_string(r.consecutive_failures) + " time(s) in a row";
      Finding f;
      switch (r.kind) {
        case ProbeKind::kKubelet:
          f = index.finding("node.kubelet-unhealthy", Severity::kHigh, {"Node", "", node});
          f.message = concat("the kubelet on node ", node, " is unhealthy (", r.target, ": ",
                             r.error, ", ", failures,
                             "): the node stops reporting status and starting pods, and "
                             "Kubernetes marks it NotReady after its grace period");
          f.remediation = concat("On ", node,
                                 ": `systemctl status kubelet` and `journalctl -u kubelet -n 200` "
                                 "(the container runtime, certificates, disk and memory are the "
                                 "usual causes); if the node cannot recover, cordon and drain it.");
          break;
        case ProbeKind::kApiServer:
          f = index.finding("node.apiserver-unreachable", Severity::kHigh, {"Node", "", node});
          f.message =
              concat("node ", node, " cannot reach the API server (", r.target, ": ", r.error,
                     " after ", std::to_string(std::llround(r.latency_ms)), " ms, ", failures,
                     "): its kubelet cannot renew its lease or report pods");
          f.remediation =
              concat("Check the path from ", node,
                     " to the API server: the load balancer or endpoint, network policy and "
                     "routes, DNS, and the API server instances' health.");
          break;
        case ProbeKind::kHttp:
        case ProbeKind::kTcp:
          f = index.finding("probe.node-check-failed", Severity::kMedium,
                            {"NodeProbe", "", node + "/" + r.name});
          f.message = concat("probe ", r.name, " (", probeKindName(r.kind), " ", r.target,
                             ") fails from node ", node, ": ", r.error, ", ", failures);
          f.remediation = concat("Check what ", r.target, " depends on as seen from ", node,
                                 " (the service, its endpoints, network policy, routes, DNS).");
          break;
        case ProbeKind::kUnknown:
          continue;
      }
      f.node = node;
      f.zone = info->node->zone;
      probeDetails(f, r);
      out.push_back(std::move(f));
    }
  }
}

void checkReadinessFlapping(const Index& index, std::vector<Finding>& out) {
  for (const auto& [uid, p] : index.snapshot.readiness_flapping) {
    Finding f =
        index.finding("pod.readiness-flapping", Severity::kMedium, {"Pod", p.namespace_, p.name});
    f.workload = workloadFromOwners(p);
    f.pods.push_back(p.namespace_ + "/" + p.name);
    f.node = p.node;
    if (const Node* n = index.node(p.node)) f.zone = n->zone;
    f.details["flips"] = p.flips;
    f.details["window_seconds"] = p.window_seconds;
    f.details["ready"] = p.ready;
    f.message = "pod " + p.namespace_ + "/" + p.name + " changed readiness " +
                std::to_string(p.flips) + " times in the last " + std::to_string(p.window_seconds) +
                " s (now " + (p.ready ? "ready" : "not ready") +
                "): its endpoints come and go and clients see intermittent errors";
    f.remediation = "Look at the readiness probe and the pod's events (`kubectl describe pod -n " +
                    p.namespace_ + " " + p.name +
                    "`): a probe timeout or threshold too tight for the app's latency, a "
                    "dependency the probe checks that is itself flaky, or CPU throttling.";
    out.push_back(std::move(f));
  }
}

}  // namespace rampart::engine
