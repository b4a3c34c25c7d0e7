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
// Heartbeat.probeResults; 4: NodeReport.podsUnknown (schema/README.md,
// "Versions").
inline constexpr uint16_t kWireVersion = 4;

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
  // A full report from an agent that has not listed its pods yet: `pods` is
  // empty and means nothing (false from an agent older than wire version 4).
  bool pods_unknown = false;
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

// What one frame may declare, checked on each list's and text's declared size
// before anything is allocated for it: a frame over a limit is refused whole
// (Error::reason names the limit). The defaults fit a node at 4x the
// kubelet's default of 110 pods; the aggregator's flags set them
// (docs/security.md, "Limits").
struct DecodeLimits {
  size_t max_frame_bytes = 4u << 20;  // --max-frame-bytes
  uint32_t max_pods = 500;            // pods and removed uids per report: --max-pods-per-node
  uint32_t max_findings = 1000;       // placement findings per report: --max-findings-per-report
  uint32_t max_probes = 256;          // probe results per message: --max-probes-per-report
  // Any other list (labels, containers, owners, terms, values, tolerations,
  // taints, conditions, filesystems...) per object: --max-list-items.
  uint32_t max_list_items = 256;
  uint32_t max_text_bytes = 64u << 10;  // any one text: --max-text-bytes
};

// A refused frame's error: kLimit with Error::reason "frame_bytes", "pods",
// "findings", "probes", "list_items", "text_bytes" (a limit above) or
// "amplification" (the frame unpacks to far more words than its size
// allows: zero runs that declare big lists); kParse with reason
// "invalid_utf8" for a text that is not UTF-8, and no reason for a malformed
// frame.
inline constexpr int kNestingLimit = 32;
// A frame may unpack to at most this many words per packed byte (legitimate
// reports unpack to about 1-2; tests/unit/wire measure it), plus a floor.
inline constexpr uint64_t kWordsPerFrameByte = 4;
inline constexpr uint64_t kTraversalFloorWords = 4096;

std::string encode(const Message& message);
Result<Decoded> decode(std::span<const std::byte> frame, const DecodeLimits& limits = {});
inline Result<Decoded> decode(std::string_view frame, const DecodeLimits& limits = {}) {
  return decode(std::as_bytes(std::span<const char>(frame.data(), frame.size())), limits);
}

std::string_view messageKindName(const Message& message);

}  // namespace rampart::wire
