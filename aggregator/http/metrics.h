// The aggregator's Prometheus metrics (docs/metrics.md is the contract).
// Every series carries the `cluster` label. Thread-safe.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <cstddef>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "http/probe_metrics.h"
#include "rampart/engine.h"
#include "state/cluster_state.h"

namespace rampart::aggregator {

// Default of --metrics-max-workloads: rampart_workload_score series exported.
inline constexpr size_t kDefaultMaxWorkloadSeries = 2000;

class Metrics {
 public:
  // At most `max_workload_series` rampart_workload_score series are exported
  // (the lowest scores; rampart_workload_series_dropped counts the rest).
  Metrics(prometheus::Registry& registry, const std::string& cluster,
          size_t max_workload_series = kDefaultMaxWorkloadSeries);

  void received(const std::string& kind);    // hello | full | delta | heartbeat
  void rejected(const std::string& reason);  // see docs/metrics.md
  void resyncRequested();
  void resyncDeferred();  // not asked: the node's backoff (resync_backoff.h)
  void storeError();
  void apiError();  // a failed read of the API server's objects
  // The API object cache (rampart/object_cache.h): one watch event of
  // `resource` applied; one successful list of it and why (initial, expired,
  // error, resync); whether every kind has been listed once.
  void apiWatchEvent(std::string_view resource);
  void apiRelisted(std::string_view resource, std::string_view reason);
  void apiSynced(bool synced);

  // Publishes one evaluation: the scores, finding counts and what-if verdicts
  // of `report` (series of workloads, namespaces, nodes and zones no longer in
  // it are removed; finding counts of vanished check/severity pairs drop to
  // 0), and how long it took. Workload scores: the worst
  // `max_workload_series` only.
  void evaluated(const engine::Report& report, double seconds);
  // The evaluated snapshot's nodes: rampart_node_ready from their Ready
  // condition (nodes no longer listed lose their series).
  void nodesEvaluated(const std::vector<Node>& nodes);

  // A malformed placement finding from an agent was dropped (reason: a short
  // token, docs/metrics.md).
  void agentFindingDropped();

  // Recomputes the model gauges; called before each scrape. An agent counts as
  // connected while its last message is younger than `missed` of its intervals.
  void refresh(const ClusterState& state, int64_t now_ms, int missed);

  // The node-local probe families (probe_metrics.h), refreshed by refresh().
  ProbeMetrics& probes() { return probes_; }

 private:
  // rampart_{zone,node}_loss_* of one what-if level; `published` the domains
  // with series.
  void publishLoss(const std::vector<engine::DomainImpact>& domains, const char* label,
                   prometheus::Family<prometheus::Gauge>& at_risk,
                   prometheus::Family<prometheus::Gauge>& pdbs, std::set<std::string>& published);

  prometheus::Family<prometheus::Counter>& received_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Counter& resyncs_;
  prometheus::Counter& resyncs_deferred_;
  prometheus::Counter& store_errors_;
  prometheus::Gauge& agents_connected_;
  prometheus::Gauge& agents_known_;
  prometheus::Family<prometheus::Gauge>& last_report_age_;
  prometheus::Family<prometheus::Gauge>& pods_;
  prometheus::Family<prometheus::Gauge>& nodes_;
  prometheus::Counter& api_errors_;
  prometheus::Family<prometheus::Counter>& api_watch_events_;
  prometheus::Family<prometheus::Counter>& api_relists_;
  prometheus::Gauge& api_synced_;
  prometheus::Counter& evaluations_;
  prometheus::Histogram& engine_duration_;
  prometheus::Gauge& cluster_score_;
  prometheus::Family<prometheus::Gauge>& namespace_score_;
  prometheus::Family<prometheus::Gauge>& workload_score_;
  prometheus::Family<prometheus::Gauge>& findings_;
  prometheus::Gauge& survives_node_loss_;
  prometheus::Gauge& survives_zone_loss_;
  prometheus::Family<prometheus::Gauge>& agent_findings_;
  prometheus::Counter& agent_findings_dropped_;
  prometheus::Family<prometheus::Gauge>& namespace_findings_;
  prometheus::Family<prometheus::Gauge>& zone_loss_at_risk_;
  prometheus::Family<prometheus::Gauge>& zone_loss_pdbs_;
  prometheus::Family<prometheus::Gauge>& node_loss_at_risk_;
  prometheus::Family<prometheus::Gauge>& node_loss_pdbs_;
  prometheus::Gauge& workload_series_dropped_;
  prometheus::Gauge& workload_series_limit_;
  prometheus::Family<prometheus::Gauge>& node_ready_;
  prometheus::Family<prometheus::Gauge>& node_agent_connected_;
  ProbeMetrics probes_;
  const size_t max_workload_series_;

  std::mutex mu_;
  std::map<std::string, prometheus::Counter*> received_by_kind_;
  std::map<std::string, prometheus::Counter*> rejected_by_reason_;
  std::set<std::string> zones_seen_;
  std::set<std::string> namespaces_scored_;
  std::set<std::array<std::string, 3>> workloads_scored_;        // kind, namespace, name
  std::set<std::pair<std::string, std::string>> findings_seen_;  // check, severity
  std::set<std::string> namespaces_with_findings_;               // rampart_namespace_findings
  std::set<std::string> loss_zones_, loss_nodes_;                // rampart_{zone,node}_loss_*
  std::set<std::string> nodes_ready_;                            // rampart_node_ready
  std::set<std::string> nodes_refreshed_;                        // refresh()'s per-node gauges
  // node -> (check, severity) pairs published for it.
  std::map<std::string, std::set<std::pair<std::string, std::string>>> agent_findings_seen_;
};

}  // namespace rampart::aggregator
