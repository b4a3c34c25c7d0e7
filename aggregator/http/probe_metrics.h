// The aggregator's probe metric families (docs/metrics.md):
// rampart_agent_probe_up{node,probe}, rampart_agent_probe_latency_seconds
// {node,probe}, rampart_agent_probe_results_dropped_total and
// rampart_pods_readiness_flapping. Owned by Metrics; thread-safe.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <set>
#include <string>

#include "state/cluster_state.h"

namespace rampart::aggregator {

class ProbeMetrics {
 public:
  ProbeMetrics(prometheus::Registry& registry, const std::string& cluster);

  // A malformed probe result from an agent was dropped.
  void resultDropped();

  // Recomputes the gauges from the model: one series per probe of every node
  // whose agent is connected (`missed` intervals, as agentConnected); the
  // series of a probe or node no longer reported are removed.
  void refresh(const ClusterState& state, int64_t now_ms, int missed);

 private:
  prometheus::Family<prometheus::Gauge>& up_;
  prometheus::Family<prometheus::Gauge>& latency_;
  prometheus::Counter& dropped_;
  prometheus::Gauge& flapping_;

  std::mutex mu_;
  std::set<std::pair<std::string, std::string>> published_;  // node, probe
};

}  // namespace rampart::aggregator
