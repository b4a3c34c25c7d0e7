#include "http/metrics.h"

#include <algorithm>
#include <tuple>

namespace rampart::aggregator {

Metrics::Metrics(prometheus::Registry& registry, const std::string& cluster,
                 size_t max_workload_series)
    : received_(prometheus::BuildCounter()
                    .Name("rampart_reports_received_total")
                    .Help("Agent messages accepted, by kind (hello, full, delta, heartbeat).")
                    .Labels({{"cluster", cluster}})
                    .Register(registry)),
      rejected_(prometheus::BuildCounter()
                    .Name("rampart_reports_rejected_total")
                    .Help("Agent messages or connections refused, by reason.")
                    .Labels({{"cluster", cluster}})
                    .Register(registry)),
      resyncs_(prometheus::BuildCounter()
                   .Name("rampart_resyncs_requested_total")
                   .Help("Resync requests sent to agents (unknown node, sequence gap).")
                   .Labels({{"cluster", cluster}})
                   .Register(registry)
                   .Add({})),
      resyncs_deferred_(prometheus::BuildCounter()
                            .Name("rampart_resyncs_deferred_total")
                            .Help("Resyncs not asked because the node was asked less than its "
                                  "backoff ago and has not sent an acceptable full report since.")
                            .Labels({{"cluster", cluster}})
                            .Register(registry)
                            .Add({})),
      store_errors_(prometheus::BuildCounter()
                        .Name("rampart_store_errors_total")
                        .Help("Failed writes to the SQLite store.")
                        .Labels({{"cluster", cluster}})
                        .Register(registry)
                        .Add({})),
      agents_connected_(
          prometheus::BuildGauge()
              .Name("rampart_agents_connected")
              .Help("Agents whose last message is younger than the missed-heartbeat limit.")
              .Labels({{"cluster", cluster}})
              .Register(registry)
              .Add({})),
      agents_known_(prometheus::BuildGauge()
                        .Name("rampart_agents_known")
                        .Help("Nodes that have ever reported.")
                        .Labels({{"cluster", cluster}})
                        .Register(registry)
                        .Add({})),
      last_report_age_(prometheus::BuildGauge()
                           .Name("rampart_node_last_report_age_seconds")
                           .Help("Seconds since the node's agent last sent anything.")
                           .Labels({{"cluster", cluster}})
                           .Register(registry)),
      pods_(prometheus::BuildGauge()
                .Name("rampart_node_pods")
                .Help("Pods on the node as its agent reports them.")
                .Labels({{"cluster", cluster}})
                .Register(registry)),
      nodes_(prometheus::BuildGauge()
                 .Name("rampart_zone_nodes")
                 .Help("Reporting nodes per zone (zone=\"\" when a node has no zone label).")
                 .Labels({{"cluster", cluster}})
                 .Register(registry)),
      api_errors_(
          prometheus::BuildCounter()
              .Name("rampart_api_errors_total")
              .Help("Failed reads of the API server's objects (the last good ones are kept).")
              .Labels({{"cluster", cluster}})
              .Register(registry)
              .Add({})),
      api_watch_events_(prometheus::BuildCounter()
                            .Name("rampart_api_watch_events_total")
                            .Help("Watch events applied to the API object cache, by resource.")
                            .Labels({{"cluster", cluster}})
                            .Register(registry)),
      api_relists_(prometheus::BuildCounter()
                       .Name("rampart_api_relists_total")
                       .Help("Successful full lists of one resource, by resource and reason "
                             "(initial, expired, error, resync).")
                       .Labels({{"cluster", cluster}})
                       .Register(registry)),
      api_synced_(prometheus::BuildGauge()
                      .Name("rampart_api_synced")
                      .Help("1 once every resource the engine reads has been listed, else 0.")
                      .Labels({{"cluster", cluster}})
                      .Register(registry)
                      .Add({})),
      evaluations_(prometheus::BuildCounter()
                       .Name("rampart_engine_evaluations_total")
                       .Help("Resilience engine evaluations of the live cluster.")
                       .Labels({{"cluster", cluster}})
                       .Register(registry)
                       .Add({})),
      engine_duration_(
          prometheus::BuildHistogram()
              .Name("rampart_engine_duration_seconds")
              .Help("Time one engine evaluation took (checks, what-if, scores).")
              .Labels({{"cluster", cluster}})
              .Register(registry)
              .Add({},
                   prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                           0.1, 0.25, 0.5, 1, 2.5, 5, 10})),
      cluster_score_(prometheus::BuildGauge()
                         .Name("rampart_cluster_score")
                         .Help("The cluster's resilience score, 0-100 (docs/scoring.md).")
                         .Labels({{"cluster", cluster}})
                         .Register(registry)
                         .Add({})),
      namespace_score_(prometheus::BuildGauge()
                           .Name("rampart_namespace_score")
                           .Help("A namespace's resilience score, 0-100.")
                           .Labels({{"cluster", cluster}})
                           .Register(registry)),
      workload_score_(prometheus::BuildGauge()
                          .Name("rampart_workload_score")
                          .Help("A workload's resilience score, 0-100.")
                          .Labels({{"cluster", cluster}})
                          .Register(registry)),
      findings_(prometheus::BuildGauge()
                    .Name("rampart_findings")
                    .Help("Current findings of the last evaluation, by check id and severity.")
                    .Labels({{"cluster", cluster}})
                    .Register(registry)),
      survives_node_loss_(
          prometheus::BuildGauge()
              .Name("rampart_survives_node_loss")
              .Help("1 when losing any one node leaves every workload a ready replica and every "
                    "quorum intact, else 0.")
              .Labels({{"cluster", cluster}})
              .Register(registry)
              .Add({})),
      survives_zone_loss_(
          prometheus::BuildGauge()
              .Name("rampart_survives_zone_loss")
              .Help("1 when losing any one zone leaves every workload a ready replica and every "
                    "quorum intact, else 0.")
              .Labels({{"cluster", cluster}})
              .Register(registry)
              .Add({})),
      agent_findings_(prometheus::BuildGauge()
                          .Name("rampart_agent_placement_findings")
                          .Help("Node-local placement findings the node's agent reports, by "
                                "check id and severity.")
                          .Labels({{"cluster", cluster}})
                          .Register(registry)),
      agent_findings_dropped_(
          prometheus::BuildCounter()
              .Name("rampart_agent_findings_dropped_total")
              .Help("Malformed placement findings from agents (bad check id, unknown severity, "
                    "details not a JSON object), dropped.")
              .Labels({{"cluster", cluster}})
              .Register(registry)
              .Add({})),
      namespace_findings_(prometheus::BuildGauge()
                              .Name("rampart_namespace_findings")
                              .Help("Current findings of the last evaluation in a namespace (the "
                                    "workload's, else the subject's), by severity.")
                              .Labels({{"cluster", cluster}})
                              .Register(registry)),
      zone_loss_at_risk_(
          prometheus::BuildGauge()
              .Name("rampart_zone_loss_workloads_at_risk")
              .Help("Workloads (and quorums) losing zone would take down: every ready replica "
                    "or the quorum in that zone.")
              .Labels({{"cluster", cluster}})
              .Register(registry)),
      zone_loss_pdbs_(prometheus::BuildGauge()
                          .Name("rampart_zone_loss_pdbs_violated")
                          .Help("PodDisruptionBudgets losing the zone would drive below their "
                                "minimum healthy count.")
                          .Labels({{"cluster", cluster}})
                          .Register(registry)),
      node_loss_at_risk_(
          prometheus::BuildGauge()
              .Name("rampart_node_loss_workloads_at_risk")
              .Help("Workloads (and quorums) losing the node would take down: every ready "
                    "replica or the quorum on that node.")
              .Labels({{"cluster", cluster}})
              .Register(registry)),
      node_loss_pdbs_(prometheus::BuildGauge()
                          .Name("rampart_node_loss_pdbs_violated")
                          .Help("PodDisruptionBudgets losing the node would drive below their "
                                "minimum healthy count.")
                          .Labels({{"cluster", cluster}})
                          .Register(registry)),
      workload_series_dropped_(
          prometheus::BuildGauge()
              .Name("rampart_workload_series_dropped")
              .Help("Workloads scored by the last evaluation whose rampart_workload_score is not "
                    "exported (over --metrics-max-workloads; the best scores are left out).")
              .Labels({{"cluster", cluster}})
              .Register(registry)
              .Add({})),
      workload_series_limit_(prometheus::BuildGauge()
                                 .Name("rampart_workload_series_limit")
                                 .Help("--metrics-max-workloads: rampart_workload_score series "
                                       "exported at most.")
                                 .Labels({{"cluster", cluster}})
                                 .Register(registry)
                                 .Add({})),
      node_ready_(prometheus::BuildGauge()
                      .Name("rampart_node_ready")
                      .Help("1 when the node's Ready condition is True (or absent) as the API "
                            "server reports it, else 0.")
                      .Labels({{"cluster", cluster}})
                      .Register(registry)),
      node_agent_connected_(
          prometheus::BuildGauge()
              .Name("rampart_node_agent_connected")
              .Help("1 while the node's agent is connected (its last message younger than the "
                    "missed-heartbeat limit), else 0.")
              .Labels({{"cluster", cluster}})
              .Register(registry)),
      probes_(registry, cluster),
      max_workload_series_(max_workload_series) {
  workload_series_limit_.Set(static_cast<double>(max_workload_series_));
  std::lock_guard lock(mu_);
  // Pre-created so that rate() sees a zero before the first increment.
  for (const char* kind : {"hello", "full", "delta", "heartbeat"}) {
    received_by_kind_[kind] = &received_.Add({{"kind", kind}});
  }
  for (const char* reason :
       {"decode_error", "unknown_kind", "malformed_envelope", "unauthorized", "out_of_sequence",
        "limit_frame_bytes", "limit_pods", "limit_findings", "limit_probes", "limit_list_items",
        "limit_text_bytes", "limit_amplification", "invalid_utf8", "invalid_node_name",
        "limit_pods_per_node", "handshake"}) {
    rejected_by_reason_[reason] = &rejected_.Add({{"reason", reason}});
  }
}

void Metrics::received(const std::string& kind) {
  std::lock_guard lock(mu_);
  auto& c = received_by_kind_[kind];
  if (c == nullptr) c = &received_.Add({{"kind", kind}});
  c->Increment();
}

void Metrics::rejected(const std::string& reason) {
  std::lock_guard lock(mu_);
  auto& c = rejected_by_reason_[reason];
  if (c == nullptr) c = &rejected_.Add({{"reason", reason}});
  c->Increment();
}

void Metrics::resyncRequested() {
  resyncs_.Increment();
}
void Metrics::resyncDeferred() {
  resyncs_deferred_.Increment();
}
void Metrics::storeError() {
  store_errors_.Increment();
}

void Metrics::agentFindingDropped() {
  agent_findings_dropped_.Increment();
}

void Metrics::apiError() {
  api_errors_.Increment();
}

void Metrics::apiWatchEvent(std::string_view resource) {
  // Family::Add returns the existing series for known labels; thread-safe.
  api_watch_events_.Add({{"resource", std::string(resource)}}).Increment();
}

void Metrics::apiRelisted(std::string_view resource, std::string_view reason) {
  api_relists_.Add({{"resource", std::string(resource)}, {"reason", std::string(reason)}})
      .Increment();
}

void Metrics::apiSynced(bool synced) {
  api_synced_.Set(synced ? 1 : 0);
}

namespace {

constexpr std::array kSeverities{engine::Severity::kInfo, engine::Severity::kLow,
                                 engine::Severity::kMedium, engine::Severity::kHigh,
                                 engine::Severity::kCritical};

double scoreValue(engine::Centi centi) {
  return static_cast<double>(centi) / 100.0;
}

bool survives(const std::vector<engine::DomainImpact>& domains) {
  for (const auto& d : domains) {
    if (!d.outage.empty() || !d.quorum_lost.empty()) return false;
  }
  return true;
}

}  // namespace

void Metrics::evaluated(const engine::Report& report, double seconds) {
  std::lock_guard lock(mu_);
  evaluations_.Increment();
  engine_duration_.Observe(seconds);
  cluster_score_.Set(scoreValue(report.score.cluster));

  std::set<std::string> namespaces;
  for (const auto& ns : report.score.namespaces) {
    namespaces.insert(ns.name);
    namespace_score_.Add({{"namespace", ns.name}}).Set(scoreValue(ns.score));
  }
  for (const auto& gone : namespaces_scored_) {
    if (!namespaces.contains(gone))
      namespace_score_.Remove(&namespace_score_.Add({{"namespace", gone}}));
  }
  namespaces_scored_ = std::move(namespaces);

  // The worst max_workload_series_ workloads (lowest score; ties by
  // namespace, name, kind: the same set every evaluation for the same report).
  std::vector<const engine::WorkloadScore*> exported;
  exported.reserve(report.score.workloads.size());
  for (const auto& w : report.score.workloads) exported.push_back(&w);
  if (exported.size() > max_workload_series_) {
    auto worse = [](const engine::WorkloadScore* a, const engine::WorkloadScore* b) {
      return std::tie(a->score, a->ref.namespace_, a->ref.name, a->ref.kind) <
             std::tie(b->score, b->ref.namespace_, b->ref.name, b->ref.kind);
    };
    std::nth_element(exported.begin(),
                     exported.begin() + static_cast<std::ptrdiff_t>(max_workload_series_),
                     exported.end(), worse);
    exported.resize(max_workload_series_);
  }
  workload_series_dropped_.Set(
      static_cast<double>(report.score.workloads.size() - exported.size()));
  std::set<std::array<std::string, 3>> workloads;
  for (const auto* wp : exported) {
    const auto& w = *wp;
    std::array<std::string, 3> key{w.ref.kind, w.ref.namespace_, w.ref.name};
    workloads.insert(key);
    workload_score_.Add({{"kind", key[0]}, {"namespace", key[1]}, {"workload", key[2]}})
        .Set(scoreValue(w.score));
  }
  for (const auto& gone : workloads_scored_) {
    if (workloads.contains(gone)) continue;
    workload_score_.Remove(
        &workload_score_.Add({{"kind", gone[0]}, {"namespace", gone[1]}, {"workload", gone[2]}}));
  }
  workloads_scored_ = std::move(workloads);

  std::map<std::pair<std::string, std::string>, int> counts;
  for (const auto& f : report.findings) {
    ++counts[{f.check, std::string(engine::severityName(f.severity))}];
  }
  // Check ids and severities are a closed set: vanished pairs stay at 0.
  for (const auto& key : findings_seen_) {
    if (!counts.contains(key))
      findings_.Add({{"check", key.first}, {"severity", key.second}}).Set(0);
  }
  for (const auto& [key, n] : counts) {
    findings_seen_.insert(key);
    findings_.Add({{"check", key.first}, {"severity", key.second}}).Set(n);
  }
  survives_node_loss_.Set(survives(report.whatif.nodes) ? 1 : 0);
  survives_zone_loss_.Set(survives(report.whatif.zones) ? 1 : 0);
  publishLoss(report.whatif.zones, "zone", zone_loss_at_risk_, zone_loss_pdbs_, loss_zones_);
  publishLoss(report.whatif.nodes, "node", node_loss_at_risk_, node_loss_pdbs_, loss_nodes_);

  // Findings per namespace and severity: every severity of a namespace in
  // the report (scored or with a finding) exists, at 0 when it has none.
  std::map<std::string, std::array<int, kSeverities.size()>> per_ns;
  for (const auto& ns : report.score.namespaces) per_ns[ns.name] = {};
  for (const auto& f : report.findings) {
    const std::string& ns = f.workload ? f.workload->namespace_ : f.subject.namespace_;
    if (ns.empty()) continue;
    ++per_ns[ns][static_cast<size_t>(f.severity)];
  }
  for (const auto& gone : namespaces_with_findings_) {
    if (per_ns.contains(gone)) continue;
    for (auto sev : kSeverities) {
      namespace_findings_.Remove(&namespace_findings_.Add(
          {{"namespace", gone}, {"severity", std::string(engine::severityName(sev))}}));
    }
  }
  namespaces_with_findings_.clear();
  for (const auto& [ns, counts_by_severity] : per_ns) {
    namespaces_with_findings_.insert(ns);
    for (auto sev : kSeverities) {
      namespace_findings_
          .Add({{"namespace", ns}, {"severity", std::string(engine::severityName(sev))}})
          .Set(counts_by_severity[static_cast<size_t>(sev)]);
    }
  }
}

void Metrics::publishLoss(const std::vector<engine::DomainImpact>& domains, const char* label,
                          prometheus::Family<prometheus::Gauge>& at_risk,
                          prometheus::Family<prometheus::Gauge>& pdbs,
                          std::set<std::string>& published) {
  std::set<std::string> now;
  for (const auto& d : domains) {
    // A quorum StatefulSet can be both out and without quorum: counted once.
    std::set<engine::ObjectRef> down(d.outage.begin(), d.outage.end());
    down.insert(d.quorum_lost.begin(), d.quorum_lost.end());
    now.insert(d.name);
    at_risk.Add({{label, d.name}}).Set(static_cast<double>(down.size()));
    pdbs.Add({{label, d.name}}).Set(static_cast<double>(d.below_pdb.size()));
  }
  for (const auto& gone : published) {
    if (now.contains(gone)) continue;
    at_risk.Remove(&at_risk.Add({{label, gone}}));
    pdbs.Remove(&pdbs.Add({{label, gone}}));
  }
  published = std::move(now);
}

void Metrics::nodesEvaluated(const std::vector<Node>& nodes) {
  std::lock_guard lock(mu_);
  std::set<std::string> now;
  for (const Node& n : nodes) {
    bool ready = true;  // no Ready condition: nothing says otherwise (as the engine)
    for (const auto& c : n.conditions) {
      if (c.type == "Ready") ready = c.status == "True";
    }
    now.insert(n.name);
    node_ready_.Add({{"node", n.name}}).Set(ready ? 1 : 0);
  }
  for (const auto& gone : nodes_ready_) {
    if (!now.contains(gone)) node_ready_.Remove(&node_ready_.Add({{"node", gone}}));
  }
  nodes_ready_ = std::move(now);
}

void Metrics::refresh(const ClusterState& state, int64_t now_ms, int missed) {
  std::lock_guard lock(mu_);
  int connected = 0;
  std::map<std::string, int> per_zone;
  std::set<std::string> nodes;
  for (const auto& [name, rec] : state.nodes()) {
    double age = static_cast<double>(now_ms - rec.last_message_ms) / 1000.0;
    const bool is_connected = agentConnected(rec, now_ms, missed);
    if (is_connected) ++connected;
    last_report_age_.Add({{"node", name}}).Set(rec.last_message_ms > 0 ? age : -1);
    pods_.Add({{"node", name}}).Set(static_cast<double>(rec.pods.size()));
    node_agent_connected_.Add({{"node", name}}).Set(is_connected ? 1 : 0);
    ++per_zone[rec.identity.node.zone];
    nodes.insert(name);
  }
  // A node gone from the model loses its series.
  for (const auto& gone : nodes_refreshed_) {
    if (nodes.contains(gone)) continue;
    for (auto* family : {&last_report_age_, &pods_, &node_agent_connected_})
      family->Remove(&family->Add({{"node", gone}}));
  }
  nodes_refreshed_ = std::move(nodes);
  for (const auto& zone : zones_seen_) {
    if (!per_zone.contains(zone)) nodes_.Add({{"zone", zone}}).Set(0);
  }
  for (const auto& [zone, n] : per_zone) {
    zones_seen_.insert(zone);
    nodes_.Add({{"zone", zone}}).Set(n);
  }
  agents_connected_.Set(connected);
  agents_known_.Set(static_cast<double>(state.nodes().size()));
  probes_.refresh(state, now_ms, missed);

  // A node's vanished check/severity pairs stay at 0; a node gone from the
  // model loses its series.
  std::map<std::string, std::map<std::pair<std::string, std::string>, int>> counts;
  for (const auto& [name, rec] : state.nodes()) {
    auto& per_node = counts[name];
    for (const auto& f : rec.placement_findings) {
      ++per_node[{f.check, std::string(engine::severityName(f.severity))}];
    }
  }
  auto labels = [](const std::string& node, const std::pair<std::string, std::string>& key) {
    return std::map<std::string, std::string>{
        {"node", node}, {"check", key.first}, {"severity", key.second}};
  };
  for (auto it = agent_findings_seen_.begin(); it != agent_findings_seen_.end();) {
    auto now = counts.find(it->first);
    for (const auto& key : it->second) {
      if (now == counts.end()) {
        agent_findings_.Remove(&agent_findings_.Add(labels(it->first, key)));
      } else if (!now->second.contains(key)) {
        agent_findings_.Add(labels(it->first, key)).Set(0);
      }
    }
    it = now == counts.end() ? agent_findings_seen_.erase(it) : std::next(it);
  }
  for (const auto& [node, per_node] : counts) {
    for (const auto& [key, n] : per_node) {
      agent_findings_seen_[node].insert(key);
      agent_findings_.Add(labels(node, key)).Set(n);
    }
  }
}

}  // namespace rampart::aggregator
