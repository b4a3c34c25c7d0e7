#include "state/cluster_state.h"

#include <algorithm>
#include <set>

#include "rampart/text.h"

namespace rampart::aggregator {

namespace {

constexpr size_t kMaxCheckId = 64;
constexpr size_t kMaxDetailsBytes = size_t{64} << 10;
constexpr int kMaxDetailsDepth = 16;

std::optional<engine::Severity> parseSeverity(std::string_view name) {
  for (auto s : {engine::Severity::kInfo, engine::Severity::kLow, engine::Severity::kMedium,
                 engine::Severity::kHigh, engine::Severity::kCritical}) {
    if (engine::severityName(s) == name) return s;
  }
  return std::nullopt;
}

bool validCheckId(std::string_view id) {
  return !id.empty() && id.size() <= kMaxCheckId && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
  });
}

// Deepest [ / { nesting of JSON text (strings skipped), so that a hostile
// document cannot make the recursive serialiser overflow the stack later.
int jsonDepth(std::string_view text) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

std::string printable(std::string_view s) {
  std::string out(s.substr(0, 40));
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}

}  // namespace

std::expected<AgentFinding, std::string> validateFinding(const wire::PlacementFinding& in) {
  if (!validCheckId(in.check))
    return std::unexpected("bad check id \"" + printable(in.check) + "\"");
  auto severity = parseSeverity(in.severity);
  if (!severity) {
    return std::unexpected("unknown severity \"" + printable(in.severity) + "\" in " + in.check);
  }
  AgentFinding out;
  if (!in.details_json.empty()) {
    if (in.details_json.size() > kMaxDetailsBytes) {
      return std::unexpected("details of " + in.check + " exceed " +
                             std::to_string(kMaxDetailsBytes) + " bytes");
    }
    if (jsonDepth(in.details_json) > kMaxDetailsDepth) {
      return std::unexpected("details of " + in.check + " nest deeper than " +
                             std::to_string(kMaxDetailsDepth));
    }
    out.details = nlohmann::ordered_json::parse(in.details_json, nullptr, false);
    if (out.details.is_discarded() || !out.details.is_object()) {
      return std::unexpected("details of " + in.check + " are not a JSON object");
    }
  }
  out.check = in.check;
  out.severity = *severity;
  out.hard = in.hard;
  out.pods = in.pods;
  if (in.workload) {
    out.workload = engine::ObjectRef{in.workload->kind, in.workload->namespace_, in.workload->name};
  }
  out.message = in.message;
  out.remediation = in.remediation;
  return out;
}

namespace {

std::vector<AgentFinding> validFindings(const std::vector<wire::PlacementFinding>& in,
                                        std::vector<std::string>& dropped) {
  std::vector<AgentFinding> out;
  out.reserve(in.size());
  for (const auto& f : in) {
    auto v = validateFinding(f);
    if (v) {
      out.push_back(std::move(*v));
    } else {
      dropped.push_back(std::move(v.error()));
    }
  }
  return out;
}

}  // namespace

const NodeRecord* ClusterState::node(const std::string& name) const {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : &it->second;
}

size_t ClusterState::podCount() const {
  size_t n = 0;
  for (const auto& [name, rec] : nodes_) n += rec.pods.size();
  return n;
}

bool agentConnected(const NodeRecord& rec, int64_t now_ms, int missed) {
  int64_t age_ms = now_ms - rec.last_message_ms;
  return rec.last_message_ms > 0 && age_ms >= 0 && age_ms <= int64_t{missed} * rec.interval_ms;
}

bool ClusterState::forget(const std::string& name) {
  if (nodes_.erase(name) == 0) return false;
  ++generation_;
  return true;
}

namespace {

// Restored at start, not heard from since, and within its start-up grace:
// what its agent would say is not known yet.
bool awaitingAgent(const NodeRecord& rec, int64_t now_ms) {
  return rec.last_message_ms == 0 && now_ms < rec.silent_not_before_ms;
}

}  // namespace

size_t ClusterState::awaitingAgents(int64_t now_ms) const {
  return static_cast<size_t>(std::count_if(nodes_.begin(), nodes_.end(), [&](const auto& entry) {
    return awaitingAgent(entry.second, now_ms);
  }));
}

bool agentSilent(const NodeRecord& rec, int64_t now_ms, int missed) {
  // Once it spoke after the restart, the missed-heartbeat rule alone decides.
  return !agentConnected(rec, now_ms, missed) && !awaitingAgent(rec, now_ms);
}

void ClusterState::restore(std::vector<NodeRecord> nodes, int64_t now_ms, int64_t grace_ms) {
  ++generation_;
  for (auto& rec : nodes) {
    rec.synced = false;
    rec.silent_not_before_ms = now_ms + grace_ms;
    std::string name = rec.identity.node.name;
    nodes_[name] = std::move(rec);
  }
}

ApplyOutcome ClusterState::apply(const wire::Message& message, const std::string& agent,
                                 int64_t now_ms) {
  // Probe results and readiness flapping (probe_state.h).
  const std::map<std::string, Pod>* known_pods = nullptr;
  if (const auto* r = std::get_if<wire::Report>(&message)) {
    if (const NodeRecord* rec = node(r->identity.node.name)) known_pods = &rec->pods;
  }
  auto ready_before = ReadinessFlaps::readinessBefore(message, known_pods);
  const uint64_t flaps_version = flaps_.version();
  ApplyOutcome out = applyMessage(message, agent, now_ms);
  if (!out.resync_reason) {
    const std::vector<ProbeResult>* probes = nullptr;
    if (const auto* r = std::get_if<wire::Report>(&message)) probes = &r->probe_results;
    if (const auto* h = std::get_if<wire::Heartbeat>(&message)) probes = &h->probe_results;
    if (auto it = nodes_.find(out.node); probes != nullptr && it != nodes_.end()) {
      out.probes_changed =
          replaceProbeResults(it->second.probe_results, *probes, out.dropped_probes);
    }
  }
  flaps_.observe(out.upserted, out.removed_uids, ready_before, now_ms);
  flaps_.expire(now_ms);
  if (out.node_changed || !out.upserted.empty() || !out.removed_uids.empty() ||
      out.probes_changed || flaps_.version() != flaps_version) {
    ++generation_;
  }
  return out;
}

ApplyOutcome ClusterState::applyMessage(const wire::Message& message, const std::string& agent,
                                        int64_t now_ms) {
  ApplyOutcome out;
  out.kind = std::string(wire::messageKindName(message));
  // The node name keys the model, the store, metric labels and log fields:
  // it must be a name the API server could have given a node.
  const std::string* name = nullptr;
  if (const auto* h = std::get_if<wire::Hello>(&message)) name = &h->identity.node.name;
  if (const auto* r = std::get_if<wire::Report>(&message)) name = &r->identity.node.name;
  if (const auto* h = std::get_if<wire::Heartbeat>(&message)) name = &h->node_name;
  if (name != nullptr && !isDnsSubdomain(*name)) {
    out.rejected = "invalid_node_name";
    out.why = "node name \"" + printable(*name) + "\" is not a DNS-1123 subdomain";
    return out;
  }
  if (const auto* hello = std::get_if<wire::Hello>(&message)) {
    const std::string& name = hello->identity.node.name;
    out.node = name;
    auto [it, inserted] = nodes_.try_emplace(name);
    NodeRecord& rec = it->second;
    if (inserted) rec.first_seen_ms = now_ms;
    rec.identity = hello->identity;
    rec.agent_started_ms = hello->agent_started_unix_ms;
    rec.interval_ms = hello->report_interval_ms == 0 ? 1000 : hello->report_interval_ms;
    rec.agent = agent;
    rec.synced = false;
    rec.last_message_ms = now_ms;
    out.node_changed = true;
    return out;
  }
  if (const auto* report = std::get_if<wire::Report>(&message)) {
    const std::string& name = report->identity.node.name;
    out.node = name;
    out.kind = report->full ? "full" : "delta";
    auto it = nodes_.find(name);
    if (report->full) {
      if (it == nodes_.end()) {
        it = nodes_.try_emplace(name).first;
        it->second.first_seen_ms = now_ms;
      }
      NodeRecord& rec = it->second;
      out.node_changed = !(rec.identity == report->identity) || !rec.synced;
      rec.identity = report->identity;
      rec.health = report->health;
      rec.agent = agent;
      if (rec.pods_unknown != report->pods_unknown) out.pods_unknown_now = report->pods_unknown;
      rec.pods_unknown = report->pods_unknown;
      rec.placement_findings = validFindings(report->placement_findings, out.dropped_findings);
      rec.last_sequence = report->sequence;
      rec.synced = true;
      rec.last_message_ms = rec.last_report_ms = now_ms;
      // "Not listed yet" is not "no pods": what was known stays.
      if (report->pods_unknown) return out;
      std::map<std::string, Pod> next;
      for (Pod pod : report->pods) {
        auto old = rec.pods.find(pod.uid);
        if (old == rec.pods.end() || !sameExceptResourceVersion(old->second, pod)) {
          out.upserted.push_back(pod);
        }
        std::string uid = pod.uid;
        next.emplace(std::move(uid), std::move(pod));
      }
      for (const auto& [uid, pod] : rec.pods) {
        if (!next.contains(uid)) out.removed_uids.push_back(uid);
      }
      rec.pods = std::move(next);
      return out;
    }
    if (it == nodes_.end() || !it->second.synced) {
      out.resync_reason = "no full state for node " + name;
      return out;
    }
    NodeRecord& rec = it->second;
    rec.last_message_ms = now_ms;
    if (report->base_sequence != rec.last_sequence) {
      out.resync_reason = "sequence gap on node " + name + ": have " +
                          std::to_string(rec.last_sequence) + ", delta applies on " +
                          std::to_string(report->base_sequence);
      rec.synced = false;
      return out;
    }
    std::set<std::string_view> added, gone;
    for (const Pod& pod : report->pods) {
      if (!rec.pods.contains(pod.uid)) added.insert(pod.uid);
    }
    for (const auto& uid : report->removed_pod_uids) {
      if (rec.pods.contains(uid)) gone.insert(uid);
    }
    const size_t pods_after = rec.pods.size() + added.size() - gone.size();
    if (pods_after > max_pods_per_node_) {
      out.rejected = "limit_pods_per_node";
      out.why = "a delta that would give node " + name + " " + std::to_string(pods_after) +
                " pods, over the limit of " + std::to_string(max_pods_per_node_);
      out.resync_reason = out.why;
      rec.synced = false;
      return out;
    }
    out.node_changed = !(rec.identity == report->identity);
    rec.identity = report->identity;
    rec.health = report->health;
    for (Pod pod : report->pods) {
      auto old = rec.pods.find(pod.uid);
      if (old == rec.pods.end() || !sameExceptResourceVersion(old->second, pod)) {
        out.upserted.push_back(pod);
      }
      std::string uid = pod.uid;
      rec.pods[uid] = std::move(pod);
    }
    for (const auto& uid : report->removed_pod_uids) {
      if (rec.pods.erase(uid) > 0) out.removed_uids.push_back(uid);
    }
    rec.placement_findings = validFindings(report->placement_findings, out.dropped_findings);
    rec.last_sequence = report->sequence;
    rec.last_report_ms = now_ms;
    return out;
  }
  if (const auto* hb = std::get_if<wire::Heartbeat>(&message)) {
    out.node = hb->node_name;
    auto it = nodes_.find(hb->node_name);
    if (it == nodes_.end() || !it->second.synced) {
      out.resync_reason = "no full state for node " + hb->node_name;
      return out;
    }
    NodeRecord& rec = it->second;
    rec.last_message_ms = now_ms;
    rec.health = hb->health;
    if (hb->sequence != rec.last_sequence) {
      out.resync_reason = "node " + hb->node_name + " reports sequence " +
                          std::to_string(hb->sequence) + ", last applied " +
                          std::to_string(rec.last_sequence);
      rec.synced = false;
    }
    return out;
  }
  return out;  // a resync is aggregator -> agent only: nothing to apply
}

}  // namespace rampart::aggregator
