#include "http/probe_metrics.h"

namespace rampart::aggregator {

ProbeMetrics::ProbeMetrics(prometheus::Registry& registry, const std::string& cluster)
    : up_(prometheus::BuildGauge()
              .Name("rampart_agent_probe_up")
              .Help("1 when the node-local probe's last attempt succeeded, else 0 (node, probe).")
              .Labels({{"cluster", cluster}})
              .Register(registry)),
      latency_(prometheus::BuildGauge()
                   .Name("rampart_agent_probe_latency_seconds")
                   .Help("How long the node-local probe's last attempt took (to the timeout when "
                         "it timed out).")
                   .Labels({{"cluster", cluster}})
                   .Register(registry)),
      dropped_(prometheus::BuildCounter()
                   .Name("rampart_agent_probe_results_dropped_total")
                   .Help("Malformed probe results from agents (bad name, unknown kind, latency "
                         "out of range, duplicates, too many), dropped.")
                   .Labels({{"cluster", cluster}})
                   .Register(registry)
                   .Add({})),
      flapping_(prometheus::BuildGauge()
                    .Name("rampart_pods_readiness_flapping")
                    .Help("Pods whose readiness flaps (pod.readiness-flapping).")
                    .Labels({{"cluster", cluster}})
                    .Register(registry)
                    .Add({})) {}

void ProbeMetrics::resultDropped() {
  dropped_.Increment();
}

void ProbeMetrics::refresh(const ClusterState& state, int64_t now_ms, int missed) {
  std::lock_guard lock(mu_);
  std::set<std::pair<std::string, std::string>> now;
  for (const auto& [node, rec] : state.nodes()) {
    if (!agentConnected(rec, now_ms, missed)) continue;
    for (const ProbeResult& r : rec.probe_results) {
      std::map<std::string, std::string> labels{{"node", node}, {"probe", r.name}};
      up_.Add(labels).Set(r.ok ? 1 : 0);
      latency_.Add(labels).Set(r.latency_ms / 1000.0);
      now.emplace(node, r.name);
    }
  }
  for (const auto& key : published_) {
    if (now.contains(key)) continue;
    std::map<std::string, std::string> labels{{"node", key.first}, {"probe", key.second}};
    up_.Remove(&up_.Add(labels));
    latency_.Remove(&latency_.Add(labels));
  }
  published_ = std::move(now);
  flapping_.Set(static_cast<double>(state.flaps().flapping().size()));
}

}  // namespace rampart::aggregator
