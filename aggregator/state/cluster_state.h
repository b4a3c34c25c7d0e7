// The aggregator's model of the cluster as its agents report it: nodes, their
// host health and their pods. Pure: messages and the current time in, changes
// out. Not thread-safe; the owner serialises access.
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rampart/engine.h"
#include "rampart/model.h"
#include "rampart/wire.h"
#include "state/probe_state.h"

namespace rampart::aggregator {

// A node-local placement finding as its agent reported it, validated
// (docs/api.md, /api/v1/agent-findings).
struct AgentFinding {
  std::string check;
  engine::Severity severity = engine::Severity::kInfo;
  bool hard = false;
  std::vector<std::string> pods;
  std::optional<engine::ObjectRef> workload;
  std::string message;
  nlohmann::ordered_json details = nlohmann::ordered_json::object();
  std::string remediation;
};

// Checks one finding from the wire: a check id of [a-z0-9.-] (1-64
// characters), a known severity name, details that are a JSON object (empty
// text meaning {}) of at most 64 KiB, nested at most 16 deep. The reason
// when it is malformed.
std::expected<AgentFinding, std::string> validateFinding(const wire::PlacementFinding& in);

struct NodeRecord {
  wire::NodeIdentity identity;
  HostHealth health;
  std::map<std::string, Pod> pods;  // by uid
  uint64_t last_sequence = 0;
  bool synced = false;  // a full report was applied since the agent's hello
  // The agent's last full report said it has not listed its pods yet (wire
  // v4): `pods` holds what was known before, and the engine takes the API
  // server's view of the node's pods when it has one.
  bool pods_unknown = false;
  int64_t first_seen_ms = 0;
  int64_t last_message_ms = 0;  // any message, aggregator clock
  int64_t last_report_ms = 0;   // full or delta report, aggregator clock
  int64_t agent_started_ms = 0;
  // Restored from the store at start: the agent counts as silent only from
  // this time on (its chance to reconnect), not from the restart.
  int64_t silent_not_before_ms = 0;
  uint32_t interval_ms = 1000;
  std::string agent;  // who authenticated (ZAP User-Id)
  // The agent's current node-local placement findings: replaced by every
  // applied report, not persisted (empty until the first report after a
  // restart of the aggregator).
  std::vector<AgentFinding> placement_findings;
  // The agent's latest node-local probe results, validated (probe_state.h):
  // replaced by every applied report and heartbeat, not persisted.
  std::vector<ProbeResult> probe_results;
};

// The missed-heartbeat rule: an agent counts as connected while its last
// message (any kind) is younger than `missed` of its report intervals.
bool agentConnected(const NodeRecord& rec, int64_t now_ms, int missed);
// Silent: not connected, and past the start-up grace of a restored node. A
// restored node whose agent has not spoken yet is unknown, not silent: no
// finding, no page, no hook (docs/checks.md, "Unknown is not a finding").
bool agentSilent(const NodeRecord& rec, int64_t now_ms, int missed);

// What one message changed, for the store and the logs.
struct ApplyOutcome {
  std::string node;
  std::string kind;           // hello | full | delta | heartbeat
  bool node_changed = false;  // identity or health worth persisting
  std::vector<Pod> upserted;  // pods new or different
  std::vector<std::string> removed_uids;
  // Set when the message could not be applied and the agent must send hello
  // and a full report; the message was otherwise ignored.
  std::optional<std::string> resync_reason;
  // Set when the message was refused and nothing of it applied: the
  // rampart_reports_rejected_total reason ("invalid_node_name",
  // "limit_pods_per_node"), with `why` for the log.
  std::string rejected;
  std::string why;
  // Findings of an applied report that were malformed and dropped: why.
  std::vector<std::string> dropped_findings;
  // Probe results of an applied report or heartbeat that were malformed and
  // dropped: why. probes_changed: what the engine judges of them changed.
  std::vector<std::string> dropped_probes;
  bool probes_changed = false;
  // A full report whose "pods unknown" differs from the node's previous one:
  // the agent stopped or started knowing its pods (for the log).
  std::optional<bool> pods_unknown_now;
};

class ClusterState {
 public:
  ApplyOutcome apply(const wire::Message& message, const std::string& agent, int64_t now_ms);

  const std::map<std::string, NodeRecord>& nodes() const { return nodes_; }
  const NodeRecord* node(const std::string& name) const;
  size_t podCount() const;
  // Nodes restored at start whose agents have not spoken since and whose
  // start-up grace has not passed: what they would say is not known yet.
  size_t awaitingAgents(int64_t now_ms) const;
  // Bumped by every apply that changed a node or a pod, and by restore: a
  // reader that saw the same generation has seen the same nodes and pods.
  uint64_t generation() const { return generation_; }

  // Loads state persisted by a previous run: nodes and pods as last seen,
  // marked unsynced until their agents report again, and not silent before
  // now_ms + grace_ms.
  void restore(std::vector<NodeRecord> nodes, int64_t now_ms, int64_t grace_ms);
  // Drops a node and its pods from the model (it left the cluster); false
  // when it was not there.
  bool forget(const std::string& name);

  // Readiness flapping of the agents' pods (probe_state.h), updated by every
  // apply; a change of the flapping set or counts bumps generation().
  const ReadinessFlaps& flaps() const { return flaps_; }
  void setFlapPolicy(FlapPolicy policy) { flaps_.setPolicy(policy); }
  // The most pods one node may hold: a delta that would pass it is refused
  // (and the agent asked for a full report, which the wire limits bound).
  void setMaxPodsPerNode(size_t max) { max_pods_per_node_ = max; }

 private:
  ApplyOutcome applyMessage(const wire::Message& message, const std::string& agent, int64_t now_ms);

  std::map<std::string, NodeRecord> nodes_;
  uint64_t generation_ = 0;
  ReadinessFlaps flaps_;
  size_t max_pods_per_node_ = wire::DecodeLimits{}.max_pods;
};

}  // namespace rampart::aggregator
