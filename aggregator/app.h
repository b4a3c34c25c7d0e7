// The aggregator process (docs/architecture.md): its options, and the run that
// wires ingest, the store, the engine runner, metrics, the HTTP API, alerts,
// hooks and the etcd prober together until a signal. main.cpp parses the
// command line into AppOptions and calls runAggregator.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "etcd/etcd_monitor.h"
#include "http/http_api.h"
#include "http/metrics.h"
#include "state/ingest.h"
#include "state/probe_state.h"

namespace rampart::aggregator {

struct AppOptions {
  IngestOptions ingest;
  HttpOptions http;
  std::string http_listen = "0.0.0.0:7401";
  std::string key_file, allowlist, db_path = "rampart.db", ready_file;
  int retention_hours = 24 * 7;
  std::string kubeconfig;
  bool in_cluster = false;
  int api_resync_seconds = 300, engine_interval_ms = 200, forget_departed_seconds = 60;
  int startup_grace_seconds = 30;  // --startup-grace-seconds
  EtcdFlags etcd;                  // docs/etcd.md
  std::string hooks_path;          // docs/hooks.md
  bool hooks_leader = true;
  std::string webhook_token_file;          // POST /api/v1/alertmanager/webhook
  std::vector<std::string> alertmanagers;  // docs/alerts.md
  std::string alert_rules_path, external_url;
  int alert_resend_seconds = 60;
  std::string runbook_base_url;  // docs/runbooks/README.md
  FlapPolicy flap_policy;        // docs/agent.md, docs/checks.md
  int flap_window_seconds = 300;
  uint32_t probe_failure_threshold = 1;
  size_t metrics_max_workloads = kDefaultMaxWorkloadSeries;  // docs/metrics.md
  std::string log_format = "text", log_level = "info";
};

// Declares every flag on `app`, writing into `options`.
void addAppOptions(CLI::App& app, AppOptions& options);

// Runs the aggregator until SIGTERM/SIGINT. The process exit code: 0 after a
// clean stop, 2 when the options or the environment do not allow a start (one
// log line says why).
int runAggregator(AppOptions options);

}  // namespace rampart::aggregator
