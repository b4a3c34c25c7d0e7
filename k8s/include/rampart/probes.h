// Node-local probe results: what an agent's own checks of its node found
// (kubelet health, API server reachability from the node, operator HTTP and
// TCP probes), as the agent reports them (wire version 3), the aggregator
// keeps them and the engine judges them (docs/agent.md, "Probes"). Plain
// value types, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rampart/model.h"

namespace rampart {

// Frozen values (they are the wire enumerants of ProbeKind); only appended.
enum class ProbeKind : uint8_t { kUnknown = 0, kKubelet = 1, kApiServer = 2, kHttp = 3, kTcp = 4 };

inline std::string_view probeKindName(ProbeKind kind) {
  switch (kind) {
    case ProbeKind::kKubelet:
      return "kubelet";
    case ProbeKind::kApiServer:
      return "apiserver";
    case ProbeKind::kHttp:
      return "http";
    case ProbeKind::kTcp:
      return "tcp";
    case ProbeKind::kUnknown:
      break;
  }
  return "unknown";
}

// The latest outcome of one probe on one node.
struct ProbeResult {
  std::string name;  // unique per node: "kubelet", "apiserver", or the operator's name
  ProbeKind kind = ProbeKind::kUnknown;
  std::string target;  // the URL or host:port probed
  bool ok = false;
  double latency_ms = 0;      // how long the last attempt took (to the timeout when it timed out)
  std::string error;          // empty when ok
  int64_t checked_at_ms = 0;  // Unix ms, the agent's clock, when the attempt ended
  uint32_t consecutive_failures = 0;  // 0 when ok
  bool operator==(const ProbeResult&) const = default;
};

// A pod whose readiness flipped at least the aggregator's threshold of times
// within its window; the engine turns each into a pod.readiness-flapping
// finding (docs/checks.md, "Node-local probes and readiness flapping").
struct PodReadinessFlapping {
  std::string namespace_;
  std::string name;
  std::string node;
  std::vector<OwnerRef> owners;  // the pod's owner chain, for the workload it counts against
  int32_t flips = 0;             // readiness transitions still inside the window
  int64_t window_seconds = 0;
  bool ready = false;  // the pod's readiness as last reported
  bool operator==(const PodReadinessFlapping&) const = default;
};

}  // namespace rampart
