// When to ask a node's agent for a resync again (docs/security.md, "Limits"):
// a full report the aggregator refuses (over --max-pods-per-node, say) would
// otherwise be asked for, sent and refused again on every delta and
// heartbeat. The first ask goes at once; asks for the same node before a full
// report of it is applied wait 1 s, then 2 s, 4 s... up to `max`. Pure.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace rampart::aggregator {

class ResyncBackoff {
 public:
  explicit ResyncBackoff(std::chrono::milliseconds max, size_t max_nodes = 65'536)
      : max_ms_(max.count()), max_nodes_(max_nodes) {}

  // True when a resync may be asked of `node` now (and records the ask).
  bool allow(const std::string& node, int64_t now_ms) {
    auto it = nodes_.find(node);
    if (it == nodes_.end()) {
      if (nodes_.size() >= max_nodes_) prune(now_ms);
      // Still full: asks stay allowed, untracked (a resync costs one frame).
      if (nodes_.size() < max_nodes_) nodes_.emplace(node, Entry{now_ms + kFirstMs, kFirstMs});
      return true;
    }
    Entry& e = it->second;
    if (now_ms < e.next_ms) return false;
    e.delay_ms = std::min(e.delay_ms * 2, std::max<int64_t>(max_ms_, kFirstMs));
    e.next_ms = now_ms + e.delay_ms;
    return true;
  }

  // A full report of `node` was applied: the next ask goes at once.
  void synced(const std::string& node) { nodes_.erase(node); }

  size_t tracked() const { return nodes_.size(); }

 private:
  static constexpr int64_t kFirstMs = 1000;
  struct Entry {
    int64_t next_ms;
    int64_t delay_ms;
  };
  // Forgets nodes not asked for longer than the longest delay.
  void prune(int64_t now_ms) {
    std::erase_if(nodes_, [&](const auto& kv) { return kv.second.next_ms + max_ms_ < now_ms; });
  }

  int64_t max_ms_;
  size_t max_nodes_;
  std::unordered_map<std::string, Entry> nodes_;
};

}  // namespace rampart::aggregator
