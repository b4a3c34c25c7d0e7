#include "metrics.h"

namespace rampart::aggregator {

Metrics::Metrics(prometheus::Registry& registry, const std::string& cluster)
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
                 .Register(registry)) {
  std::lock_guard lock(mu_);
  // Pre-created so that rate() sees a zero before the first increment.
  for (const char* kind : {"hello", "full", "delta", "heartbeat"}) {
    received_by_kind_[kind] = &received_.Add({{"kind", kind}});
  }
  for (const char* reason :
       {"decode_error", "unknown_kind", "malformed_envelope", "unauthorized", "out_of_sequence"}) {
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
void Metrics::storeError() {
  store_errors_.Increment();
}

void Metrics::refresh(const ClusterState& state, int64_t now_ms, int missed) {
  std::lock_guard lock(mu_);
  int connected = 0;
  std::map<std::string, int> per_zone;
  for (const auto& [name, rec] : state.nodes()) {
    double age = static_cast<double>(now_ms - rec.last_message_ms) / 1000.0;
    if (rec.last_message_ms > 0 &&
        now_ms - rec.last_message_ms <= int64_t{missed} * rec.interval_ms) {
      ++connected;
    }
    last_report_age_.Add({{"node", name}}).Set(rec.last_message_ms > 0 ? age : -1);
    pods_.Add({{"node", name}}).Set(static_cast<double>(rec.pods.size()));
    ++per_zone[rec.identity.node.zone];
  }
  for (const auto& zone : zones_seen_) {
    if (!per_zone.contains(zone)) nodes_.Add({{"zone", zone}}).Set(0);
  }
  for (const auto& [zone, n] : per_zone) {
    zones_seen_.insert(zone);
    nodes_.Add({{"zone", zone}}).Set(n);
  }
  agents_connected_.Set(connected);
  agents_known_.Set(static_cast<double>(state.nodes().size()));
}

}  // namespace rampart::aggregator
