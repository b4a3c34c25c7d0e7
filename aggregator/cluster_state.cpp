#include "cluster_state.h"

namespace rampart::aggregator {

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

void ClusterState::restore(std::vector<NodeRecord> nodes) {
  ++generation_;
  for (auto& rec : nodes) {
    rec.synced = false;
    std::string name = rec.identity.node.name;
    nodes_[name] = std::move(rec);
  }
}

ApplyOutcome ClusterState::apply(const wire::Message& message, const std::string& agent,
                                 int64_t now_ms) {
  ApplyOutcome out = applyMessage(message, agent, now_ms);
  if (out.node_changed || !out.upserted.empty() || !out.removed_uids.empty()) ++generation_;
  return out;
}

ApplyOutcome ClusterState::applyMessage(const wire::Message& message, const std::string& agent,
                                        int64_t now_ms) {
  ApplyOutcome out;
  out.kind = std::string(wire::messageKindName(message));
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
      rec.last_sequence = report->sequence;
      rec.synced = true;
      rec.last_message_ms = rec.last_report_ms = now_ms;
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
