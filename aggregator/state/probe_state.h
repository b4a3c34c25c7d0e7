// The aggregator's side of node-local probes and readiness flapping (docs/agent.md "Probes"):
// validating the probe results agents send, and noticing pods whose readiness
// flips often across agent reports. Pure: values and the aggregator's clock
// in. Not thread-safe; ClusterState's owner serialises access.
#pragma once

#include <cstdint>
#include <deque>
#include <expected>
#include <map>
#include <string>
#include <vector>

#include "rampart/model.h"
#include "rampart/probes.h"
#include "rampart/wire.h"

namespace rampart::aggregator {

// At most this many probe results are kept per node; the rest are dropped.
inline constexpr size_t kMaxProbesPerNode = 64;

// Checks one result from the wire: a name of 1-63 characters of
// [a-z0-9._-], a known kind, a finite latency within 0..1 h, error and target
// of at most 1 KiB. The reason when it is malformed.
std::expected<ProbeResult, std::string> validateProbeResult(const ProbeResult& in);

// Replaces a node's results with the valid ones of `in` (a duplicate name and
// anything past kMaxProbesPerNode are dropped too), appending why each
// dropped one was dropped to `dropped`. True when what the engine judges
// changed: the names, kinds, health or failure counts (a new latency alone is
// not a change).
bool replaceProbeResults(std::vector<ProbeResult>& held, const std::vector<ProbeResult>& in,
                         std::vector<std::string>& dropped);

// Flapping: a pod whose readiness flipped at least `threshold` times within
// the last `window_ms` is flapping; it stays flapping until no flip is left
// in the window (docs/checks.md, pod.readiness-flapping).
struct FlapPolicy {
  int64_t window_ms = int64_t{5} * 60 * 1000;
  int32_t threshold = 4;
};

class ReadinessFlaps {
 public:
  explicit ReadinessFlaps(FlapPolicy policy = {}) : policy_(policy) {}
  void setPolicy(FlapPolicy policy) { policy_ = policy; }
  const FlapPolicy& policy() const { return policy_; }

  // The readiness, before a message is applied, of the known pods it names
  // (uid -> ready); `pods` is the node's current pods (null: none known).
  static std::map<std::string, bool> readinessBefore(const wire::Message& message,
                                                     const std::map<std::string, Pod>* pods);

  // Records a flip for every upserted pod whose readiness differs from
  // `before` (a pod new to the aggregator is no flip) and forgets removed
  // pods.
  void observe(const std::vector<Pod>& upserted, const std::vector<std::string>& removed_uids,
               const std::map<std::string, bool>& before, int64_t now_ms);
  // Drops flips older than the window.
  void expire(int64_t now_ms);

  // The flapping pods with the flips still in the window, by uid.
  std::map<std::string, PodReadinessFlapping> flapping() const;
  // Moves whenever flapping() would return something different.
  uint64_t version() const { return version_; }
  size_t tracked() const { return pods_.size(); }

 private:
  struct Tracked {
    PodReadinessFlapping pod;  // flips and window_seconds filled by flapping()
    std::deque<int64_t> flips;
    bool latched = false;
  };
  void relatch(Tracked& t);

  FlapPolicy policy_;
  std::map<std::string, Tracked> pods_;  // only pods that flipped within the window
  uint64_t version_ = 0;
};

}  // namespace rampart::aggregator
