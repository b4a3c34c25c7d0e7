#include "app.h"

#include <prometheus/registry.h>

#include "alerts/alerts.h"
#include "hooks/alertmanager_webhook.h"
#include "hooks/hooks.h"
#include "rampart/files.h"
#include "rampart/signals.h"
#include "rampart/text.h"
#include "state/engine_runner.h"
#include "state/findings_history.h"

namespace rampart::aggregator {

namespace {

// What one agent's frame may declare and queue (docs/security.md, "Limits");
// a frame over a limit is dropped whole and counted in
// rampart_reports_rejected_total{reason="limit_<name>"}.
void addIngestLimitFlags(CLI::App& app, IngestOptions& o) {
  wire::DecodeLimits& l = o.limits;
  app.add_option("--max-frame-bytes", l.max_frame_bytes,
                 "largest frame an agent may send (ZeroMQ closes the connection of a bigger one)")
      ->check(CLI::Range(size_t{4096}, size_t{1} << 30));
  app.add_option("--max-pods-per-node", l.max_pods,
                 "pods one node may hold, and so one report carry (a report or delta over it is "
                 "dropped)")
      ->check(CLI::Range(1u, 1'000'000u));
  app.add_option("--max-findings-per-report", l.max_findings,
                 "placement findings one report may carry")
      ->check(CLI::Range(1u, 1'000'000u));
  app.add_option("--max-probes-per-report", l.max_probes,
                 "probe results one report or heartbeat may carry")
      ->check(CLI::Range(1u, 100'000u));
  app.add_option("--max-list-items", l.max_list_items,
                 "items of any other list of one object (labels, containers, tolerations, "
                 "selector values...)")
      ->check(CLI::Range(1u, 1'000'000u));
  app.add_option("--max-text-bytes", l.max_text_bytes, "bytes of any one text in a frame")
      ->check(CLI::Range(64u, 1u << 30));
  app.add_option("--ingest-queue-per-agent", o.queue_per_agent,
                 "frames ZeroMQ may queue from one agent connection before it stops reading it")
      ->check(CLI::Range(1, 100'000));
  app.add_option_function<int>(
         "--resync-backoff-max-seconds",
         [&o](int v) { o.resync_backoff_max = std::chrono::seconds(v); },
         "longest wait between two resync asks of a node whose full report was not applied "
         "(1 s, then doubling)")
      ->default_str("30")
      ->check(CLI::Range(1, 3600));
}

// What one HTTP client may hold (docs/security.md, "HTTP"); each refusal is
// counted in rampart_http_requests_refused_total{reason}.
void addHttpLimitFlags(CLI::App& app, HttpOptions& o) {
  HttpServerOptions& s = o.server;
  auto seconds = [&app](const std::string& name, std::chrono::milliseconds& into,
                        const std::string& help) {
    app.add_option_function<int>(
           name, [&into](int v) { into = std::chrono::seconds(v); }, help)
        ->default_str(std::to_string(into.count() / 1000))
        ->check(CLI::Range(1, 3600));
  };
  seconds("--http-head-timeout-seconds", s.head_timeout,
          "a request head (request line and headers) must arrive within this long of the "
          "connection (or of its first byte on a kept-alive connection)");
  seconds("--http-io-timeout-seconds", s.io_timeout,
          "a request body must arrive, and a response leave, without a pause this long");
  seconds("--http-exchange-timeout-seconds", s.io_total_timeout,
          "the most one request's body and response may take in all");
  app.add_option("--http-max-connections", s.max_connections,
                 "open HTTP connections in all; at the cap the oldest one still waiting for its "
                 "head makes room")
      ->check(CLI::Range(8u, 100'000u));
  app.add_option("--http-max-connections-per-peer", s.max_connections_per_peer,
                 "open HTTP connections from one client address; at the cap its oldest one "
                 "still waiting for its head makes room")
      ->check(CLI::Range(2u, 100'000u));
  app.add_option("--http-max-header-bytes", s.head.max_bytes,
                 "bytes of a request's line and headers")
      ->check(CLI::Range(1024u, 1u << 20));
  app.add_option("--http-max-headers", s.head.max_headers, "headers of one request")
      ->check(CLI::Range(8u, 10'000u));
  app.add_option("--http-threads", s.api_threads,
                 "workers for /api (two more serve /healthz, /readyz and /metrics only)")
      ->check(CLI::Range(1u, 256u));
  app.add_option("--api-pods-page-max", o.pods_page_max,
                 "most pods one /api/v1/pods page may ask for with ?limit= (default page 500)")
      ->check(CLI::Range(500u, 1'000'000u));
}

}  // namespace

void addAppOptions(CLI::App& app, AppOptions& o) {
  o.http.cluster = "default";
  app.add_option("--ingest", o.ingest.bind, "ZeroMQ endpoint agents connect to");
  app.add_option("--http", o.http_listen, "HOST:PORT for /metrics and /api (port 0 = any)");
  app.add_option("--curve-key", o.key_file,
                 "the aggregator's CURVE key pair file (rampartctl keygen)")
      ->required();
  app.add_option("--allowed-agent-keys", o.allowlist,
                 "file or directory of agent public keys allowed to connect")
      ->required();
  app.add_option("--db", o.db_path, "SQLite database file");
  app.add_option("--cluster", o.http.cluster, "value of the cluster label on every metric");
  app.add_option("--missed-heartbeats", o.http.missed_heartbeats,
                 "intervals without a message before an agent counts as disconnected")
      ->check(CLI::Range(1, 1000));
  app.add_option("--event-retention-hours", o.retention_hours, "keep the report history this long")
      ->check(CLI::Range(1, 24 * 3650));
  auto* kc = app.add_option("--kubeconfig", o.kubeconfig,
                            "read controllers, PDBs, Services, volumes... from this API server");
  app.add_flag("--in-cluster", o.in_cluster, "read them with the pod's service account")
      ->excludes(kc);
  app.add_option("--api-resync-seconds", o.api_resync_seconds,
                 "list every API kind again this often although watches keep them current "
                 "(a safety net)")
      ->check(CLI::Range(1, 86400));
  app.add_option("--engine-interval-ms", o.engine_interval_ms,
                 "minimum gap between two evaluations of the engine, which runs on a change; "
                 "the gap is also at least twice the last evaluation's duration")
      ->check(CLI::Range(10, 3600000));
  app.add_option("--startup-grace-seconds", o.startup_grace_seconds,
                 "after a restart, a node restored from --db counts as silent only once its "
                 "agent had this long to reconnect (until then it is unknown: no finding)")
      ->check(CLI::Range(0, 3600));
  app.add_option("--forget-departed-seconds", o.forget_departed_seconds,
                 "forget a node (model, SQLite, metrics) once the API server has stopped listing "
                 "it and its agent has been silent this long")
      ->check(CLI::Range(1, 86400 * 30));
  app.add_option("--ready-file", o.ready_file, "write bound addresses here once serving");
  addIngestLimitFlags(app, o.ingest);
  addHttpLimitFlags(app, o.http);
  addEtcdFlags(app, o.etcd);
  app.add_option("--hooks", o.hooks_path, "remediation hooks YAML (docs/hooks.md)");
  app.add_option("--hooks-leader", o.hooks_leader,
                 "run the hooks (true: this replica leads; false: a standby only validates them)");
  app.add_option("--webhook-token-file", o.webhook_token_file,
                 "require 'Authorization: Bearer TOKEN' on the Alertmanager webhook (the file's "
                 "first line is the token)");
  app.add_option("--alertmanager", o.alertmanagers,
                 "POST alerts to this Alertmanager (repeatable)");
  app.add_option("--alert-rules", o.alert_rules_path, "alert rules YAML (default: built-in rules)");
  app.add_option("--alert-resend-seconds", o.alert_resend_seconds,
                 "re-send firing alerts this often")
      ->check(CLI::Range(1, 86400));
  app.add_option("--external-url", o.external_url,
                 "this aggregator's URL in alerts' generatorURL (default http://<--http>/)");
  app.add_option("--runbook-base-url", o.runbook_base_url,
                 "base of findings' runbook links (alerts' runbook_url): BASE + check id with "
                 "'.' as '-' + \".md\" (default: docs/runbooks/ on GitHub)");
  app.add_option("--flap-threshold", o.flap_policy.threshold,
                 "readiness changes within the window that make a pod flapping")
      ->check(CLI::Range(2, 1000));
  app.add_option("--flap-window-seconds", o.flap_window_seconds, "the flapping window")
      ->check(CLI::Range(10, 86400));
  app.add_option("--probe-failure-threshold", o.probe_failure_threshold,
                 "consecutive failures of an agent's probe before it is a finding")
      ->check(CLI::Range(1u, 1000u));
  app.add_option("--metrics-max-workloads", o.metrics_max_workloads,
                 "export rampart_workload_score for at most this many workloads (the worst "
                 "scores; rampart_workload_series_dropped counts the others)")
      ->check(CLI::Range(size_t{0}, size_t{10'000'000}));
  app.add_option("--log-format", o.log_format, "text or json");
  app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error");
}

namespace {

// The engine runner's options from the command line (and the API
// credentials, read here so that a bad kubeconfig stops the start).
Result<EngineRunnerOptions> engineRunnerOptions(AppOptions& o) {
  EngineRunnerOptions out;
  out.api_resync = std::chrono::seconds(o.api_resync_seconds);
  out.engine_interval = std::chrono::milliseconds(o.engine_interval_ms);
  out.missed_heartbeats = o.http.missed_heartbeats;
  out.departed_grace = std::chrono::seconds(o.forget_departed_seconds);
  out.engine.probe_failure_threshold = o.probe_failure_threshold;
  if (!o.runbook_base_url.empty()) {
    if (o.runbook_base_url.back() != '/') o.runbook_base_url += '/';
    out.engine.runbook_base = o.runbook_base_url;
  }
  if (o.in_cluster || !o.kubeconfig.empty()) {
    auto creds = o.in_cluster ? inClusterCredentials() : loadKubeconfig(o.kubeconfig);
    if (!creds) return std::unexpected(creds.error());
    out.credentials = std::move(*creds);
  }
  return out;
}

// --ready-file: the bound addresses, for tests and scripts that start the
// aggregator on port 0. Written atomically: a reader sees all of it or none.
Result<void> writeReadyFile(const std::string& path, std::string ingest, const std::string& host,
                            int port) {
  if (auto p = ingest.find("0.0.0.0"); p != std::string::npos) ingest.replace(p, 7, "127.0.0.1");
  const std::string http_host = host == "0.0.0.0" ? "127.0.0.1" : host;
  return writeFileAtomically(
      path, "ingest=" + ingest + "\nhttp=http://" + http_host + ":" + std::to_string(port) + "\n");
}

}  // namespace

int runAggregator(AppOptions o) {
  auto log = makeLogger("aggregator", o.log_format, o.log_level);
  if (!log) {
    std::fprintf(stderr, "rampart-aggregator: %s\n", log.error().message.c_str());
    return 2;
  }
  auto die = [&](const std::string& what) {
    (*log)->critical("{}", what);
    return 2;
  };
  auto http_address = splitHostPort(o.http_listen);
  if (!http_address) return die("--http must be HOST:PORT");
  o.http.host = http_address->host;
  o.http.port = http_address->port;
  o.ingest.event_retention = std::chrono::hours(o.retention_hours);
  auto alert_rules = loadAlertRules(o.alert_rules_path);
  if (!alert_rules) return die(alert_rules.error().message);
  CurlGlobal curl_global;
  auto keys = readKeyFile(o.key_file, true);
  if (!keys) return die(keys.error().message);
  o.ingest.server_keys = *keys;
  auto allowed = readAllowlist(o.allowlist);
  if (!allowed) return die(allowed.error().message);
  o.ingest.allowed_agents = *allowed;
  o.ingest.missed_heartbeats = o.http.missed_heartbeats;
  auto engine_opts = engineRunnerOptions(o);
  if (!engine_opts) return die(engine_opts.error().message);
  // Every connection to --db writes through one gate (write_gate.h).
  auto write_gate = std::make_shared<WriteGate>();
  auto store = Store::open(o.db_path, write_gate);
  if (!store) return die(store.error().message);

  std::atomic<bool> stop{false};
  ShutdownSignals signals([&](int sig) {
    (*log)->info("signal {} received, stopping", sig);
    stop = true;
  });

  LiveModel model;
  o.flap_policy.window_ms = int64_t{o.flap_window_seconds} * 1000;
  model.state.setFlapPolicy(o.flap_policy);
  model.state.setMaxPodsPerNode(o.ingest.limits.max_pods);
  if (auto nodes = (*store)->loadNodes(); nodes) {
    (*log)->info("restored {} nodes from {}", nodes->size(), o.db_path);
    model.state.restore(std::move(*nodes), unixMillisNow(),
                        int64_t{o.startup_grace_seconds} * 1000);
  } else {
    return die(nodes.error().message);
  }
  auto registry = std::make_shared<prometheus::Registry>();
  Metrics metrics(*registry, o.http.cluster, o.metrics_max_workloads);
  auto etcd_monitor = makeEtcdMonitor(o.etcd, o.http.cluster, engine_opts->credentials,
                                      engine_opts->engine, *registry, *log);
  if (!etcd_monitor) return die(etcd_monitor.error().message);
  if (auto* m = etcd_monitor->get(); m != nullptr) {
    engine_opts->etcd_source = [m] { return m->latest(); };
    engine_opts->etcd_generation = [m] { return m->generation(); };
    m->start();
  }
  // Findings history first: the other report observers run after it.
  auto history = FindingsHistory::open(o.db_path, *log, write_gate);
  if (!history) return die(history.error().message);
  (*log)->info("findings history: {} active finding(s) restored", (*history)->activeCount());
  engine_opts->on_report.push_back(
      [h = history->get()](const auto& r, int64_t now_ms) { h->update(*r, now_ms); });
  auto hooks = makeHookRunner(o.hooks_path, o.hooks_leader, o.db_path, o.http.cluster, o.kubeconfig,
                              *registry, *log, write_gate);
  if (!hooks) return die(hooks.error().message);
  if (*hooks) {
    (*hooks)->start();
    engine_opts->on_report.push_back(
        [h = hooks->get()](const auto& r, int64_t now_ms) { h->update(r, now_ms); });
  }
  zmq::context_t context(1);
  std::atomic<bool> serving{false};
  LatestReport latest;
  {
    Ingest ingest(context, o.ingest, model, store->get(), metrics, *log);
    auto endpoint = ingest.bind();
    if (!endpoint) return die(endpoint.error().message);
    AlertmanagerWebhook::Options webhook_opts{o.http.cluster, ""};
    if (!o.webhook_token_file.empty()) {
      auto token = readWebhookToken(o.webhook_token_file);
      if (!token) return die(token.error().message);
      webhook_opts.token = std::move(*token);
    }
    // Before the server that calls it, so that it outlives it.
    AlertmanagerWebhook webhook(webhook_opts, hooks->get(), *registry, *log);
    HttpApi http(
        o.http, model, *registry, metrics, latest, [&] { return serving.load(); }, *log);
    http.addJsonRoute("/api/v1/findings/history", [h = history->get()](const auto& params) {
      auto r = historyReply(*h, params);
      return HttpApi::JsonReply{r.status, std::move(r.body)};
    });
    http.addPostRoute(
        kWebhookPath, kWebhookMaxBody,
        [&webhook](std::string_view authorization) -> std::optional<HttpApi::JsonReply> {
          auto r = webhook.authorize(authorization);
          if (!r) return std::nullopt;
          return HttpApi::JsonReply{r->status, std::move(r->body)};
        },
        [&webhook](const auto& req) {
          auto r = webhook.handle(req.authorization, req.body, req.too_large);
          return HttpApi::JsonReply{r.status, std::move(r.body)};
        });
    auto port = http.start();
    if (!port) return die(port.error().message);
    webhook.setExternalUrl(!o.external_url.empty()
                               ? o.external_url
                               : "http://" + o.http.host + ":" + std::to_string(*port) + "/");
    std::unique_ptr<AlertSender> alerts;
    if (!o.alertmanagers.empty()) {
      AlertSenderOptions ao{o.alertmanagers, o.db_path, write_gate, o.http.cluster, o.external_url};
      if (ao.external_url.empty())
        ao.external_url = "http://" + o.http.host + ":" + std::to_string(*port) + "/";
      ao.book.resend = std::chrono::seconds(o.alert_resend_seconds);
      auto sender = AlertSender::create(std::move(ao), std::move(*alert_rules), *registry, *log);
      if (!sender) return die(sender.error().message);
      alerts = std::move(*sender);
      alerts->start();
      engine_opts->on_report.push_back(
          [a = alerts.get()](const auto& r, int64_t now_ms) { a->update(r, now_ms); });
    }
    EngineRunner engine(*engine_opts, model, metrics, latest, *log);
    engine.start();
    serving = true;
    (*log)->info(
        "rampart-aggregator {} serving: ingest {}, http {}:{}, cluster {}, {} allowed agent keys",
        RAMPART_VERSION, *endpoint, o.http.host, *port, o.http.cluster,
        o.ingest.allowed_agents.size());
    if (!o.ready_file.empty()) {
      if (auto ok = writeReadyFile(o.ready_file, *endpoint, o.http.host, *port); !ok)
        return die(ok.error().message);
    }
    ingest.run(stop);
    serving = false;
    engine.stop();
    http.stop();
  }
  context.shutdown();
  (*log)->info("stopped");
  return 0;
}

}  // namespace rampart::aggregator
