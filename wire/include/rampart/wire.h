// The wire codec: model values <-> Cap'n Proto Envelope frames (packed
// encoding), as defined by schema/rampart.capnp. Pure functions.
//
// decode() never throws: malformed, truncated or oversized frames return
// kParse; an Envelope whose kind this build does not know returns kProtocol.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "rampart/error.h"
#include "rampart/model.h"
#include "rampart/probes.h"

namespace rampart::wire {

// 2: NodeReport.placementFindings; 3: NodeReport.probeResults and
// Heartbeat.probeResults (schema/README.md, "Versions").
inline constexpr uint16_t kWireVersion = 3;

// What an agent says about its node. `node.conditions` and friends come from
// the API server's Node object as the agent last saw it.
struct NodeIdentity {
  Node node;
  std::string agent_version;
  std::string boot_id;
  bool operator==(const NodeIdentity&) const = default;
};

struct Hello {
  NodeIdentity identity;
  int64_t agent_started_unix_ms = 0;
  uint32_t report_interval_ms = 0;
  uint32_t full_every_intervals = 0;
  bool operator==(const Hello&) const = default;
};

struct Heartbeat {
  std::string node_name;
  std::string boot_id;
  uint64_t sequence = 0;  // the last report sequence sent
  int64_t sent_unix_ms = 0;
  HostHealth health;
  // The agent's latest probe results, complete (empty from an agent older
  // than wire version 3).
  std::vector<ProbeResult> probe_results;
  bool operator==(const Heartbeat&) const = default;
};

// A Kubernetes workload by kind, namespace and name.
struct WorkloadRef {
  std::string kind;
  std::string namespace_;
  std::string name;
  bool operator==(const WorkloadRef&) const = default;
};

// One node-local placement finding of the agent's engine, as sent (wire
// version 2). Values are not validated here: the receiver checks severity and
// details_json (a JSON object, empty meaning {}).
struct PlacementFinding {
  std::string check;
  std::string severity;  // info | low | medium | high | critical
  bool hard = false;
  std::vector<std::string> pods;  // "ns/name", the subject first
  std::optional<WorkloadRef> workload;
  std::string message;
  std::string details_json;
  std::string remediation;
  bool operator==(const PlacementFinding&) const = default;
};

struct Report {
  NodeIdentity identity;
  uint64_t sequence = 0;
  int64_t sent_unix_ms = 0;
  bool full = false;
  HostHealth health;
  std::vector<Pod> pods;                      // full: all; delta: added or changed
  std::vector<std::string> removed_pod_uids;  // delta only
  uint64_t base_sequence = 0;                 // delta only
  // The agent's complete current set, in full and delta reports alike (empty
  // from a version 1 agent).
  std::vector<PlacementFinding> placement_findings;
  // The agent's latest probe results, complete in full and delta reports
  // alike (empty from an agent older than wire version 3). Not validated here.
  std::vector<ProbeResult> probe_results;
  bool operator==(const Report&) const = default;
};

struct Resync {
  std::string reason;
  bool operator==(const Resync&) const = default;
};

using Message = std::variant<Hello, Report, Heartbeat, Resync>;

struct Decoded {
  uint16_t sender_version = 0;
  Message message;
};

// Hard limits applied while decoding untrusted frames.
inline constexpr size_t kMaxFrameBytes = 64u << 20;
inline constexpr uint64_t kTraversalLimitWords = 16u << 20;  // 128 MiB of words
inline constexpr int kNestingLimit = 32;

std::string encode(const Message& message);
Result<Decoded> decode(std::span<const std::byte> frame);
inline Result<Decoded> decode(std::string_view frame) {
  return decode(std::as_bytes(std::span<const char>(frame.data(), frame.size())));
}

std::string_view messageKindName(const Message& message);

}  // namespace rampart::wire
