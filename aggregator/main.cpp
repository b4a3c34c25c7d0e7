// rampart-aggregator: receives agent reports, keeps the cluster model, runs the
// resilience engine on it, serves /metrics and the JSON API. Options parsing
// and wiring only.
#include <prometheus/registry.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>

#include "alerts/alerts.h"
#include "etcd/etcd_monitor.h"
#include "hooks/alertmanager_webhook.h"
#include "hooks/hooks.h"
#include "http/http_api.h"
#include "rampart/signals.h"
#include "rampart/text.h"
#include "state/engine_runner.h"
#include "state/findings_history.h"
#include "state/ingest.h"

int main(int argc, char** argv) {
  using namespace rampart;
  using namespace rampart::aggregator;
  CLI::App app{"rampart-aggregator: the Rampart cluster model, metrics and API"};
  IngestOptions ingest_opts;
  HttpOptions http_opts;
  std::string key_file, allowlist, db_path = "rampart.db", ready_file, http_listen = "0.0.0.0:7401";
  std::string log_format = "text", log_level = "info";
  http_opts.cluster = "default";
  app.add_option("--ingest", ingest_opts.bind, "ZeroMQ endpoint agents connect to");
  app.add_option("--http", http_listen, "HOST:PORT for /metrics and /api (port 0 = any)");
  app.add_option("--curve-key", key_file,
                 "the aggregator's CURVE key pair file (rampartctl keygen)")
      ->required();
  app.add_option("--allowed-agent-keys", allowlist,
                 "file or directory of agent public keys allowed to connect")
      ->required();
  app.add_option("--db", db_path, "SQLite database file");
  app.add_option("--cluster", http_opts.cluster, "value of the cluster label on every metric");
  app.add_option("--missed-heartbeats", http_opts.missed_heartbeats,
                 "intervals without a message before an agent counts as disconnected")
      ->check(CLI::Range(1, 1000));
  int retention_hours = 24 * 7;
  app.add_option("--event-retention-hours", retention_hours, "keep the report history this long")
      ->check(CLI::Range(1, 24 * 3650));
  std::string kubeconfig;
  bool in_cluster = false;
  int api_resync_seconds = 300, engine_interval_ms = 200;
  auto* kc = app.add_option("--kubeconfig", kubeconfig,
                            "read controllers, PDBs, Services, volumes... from this API server");
  app.add_flag("--in-cluster", in_cluster, "read them with the pod's service account")
      ->excludes(kc);
  app.add_option("--api-resync-seconds", api_resync_seconds,
                 "list every API kind again this often although watches keep them current "
                 "(a safety net)")
      ->check(CLI::Range(1, 86400));
  app.add_option("--engine-interval-ms", engine_interval_ms,
                 "minimum gap between two evaluations of the engine, which runs on a change; "
                 "the gap is also at least twice the last evaluation's duration")
      ->check(CLI::Range(10, 3600000));
  int forget_departed_seconds = 60;
  app.add_option("--forget-departed-seconds", forget_departed_seconds,
                 "forget a node (model, SQLite, metrics) once the API server has stopped listing "
                 "it and its agent has been silent this long")
      ->check(CLI::Range(1, 86400 * 30));
  app.add_option("--ready-file", ready_file, "write bound addresses here once serving");
  EtcdFlags etcd_flags;  // etcd and API-server probes: docs/etcd.md
  addEtcdFlags(app, etcd_flags);
  std::string hooks_path;  // remediation hooks: docs/hooks.md
  bool hooks_leader = true;
  app.add_option("--hooks", hooks_path, "remediation hooks YAML (docs/hooks.md)");
  app.add_option("--hooks-leader", hooks_leader,
                 "run the hooks (true: this replica leads; false: a standby only validates them)");
  std::string webhook_token_file;  // POST /api/v1/alertmanager/webhook: docs/hooks.md
  app.add_option("--webhook-token-file", webhook_token_file,
                 "require 'Authorization: Bearer TOKEN' on the Alertmanager webhook (the file's "
                 "first line is the token)");
  std::vector<std::string> alertmanagers;  // alerts: docs/alerts.md
  std::string alert_rules_path, external_url;
  int alert_resend_seconds = 60;
  app.add_option("--alertmanager", alertmanagers, "POST alerts to this Alertmanager (repeatable)");
  app.add_option("--alert-rules", alert_rules_path, "alert rules YAML (default: built-in rules)");
  app.add_option("--alert-resend-seconds", alert_resend_seconds, "re-send firing alerts this often")
      ->check(CLI::Range(1, 86400));
  app.add_option("--external-url", external_url,
                 "this aggregator's URL in alerts' generatorURL (default http://<--http>/)");
  std::string runbook_base_url;  // docs/runbooks/README.md
  app.add_option("--runbook-base-url", runbook_base_url,
                 "base of findings' runbook links (alerts' runbook_url): BASE + check id with "
                 "'.' as '-' + \".md\" (default: docs/runbooks/ on GitHub)");
  FlapPolicy flap_policy;  // probes and flapping: docs/agent.md, docs/checks.md
  int flap_window_seconds = 300;
  uint32_t probe_failure_threshold = 1;
  app.add_option("--flap-threshold", flap_policy.threshold,
                 "readiness changes within the window that make a pod flapping")
      ->check(CLI::Range(2, 1000));
  app.add_option("--flap-window-seconds", flap_window_seconds, "the flapping window")
      ->check(CLI::Range(10, 86400));
  app.add_option("--probe-failure-threshold", probe_failure_threshold,
                 "consecutive failures of an agent's probe before it is a finding")
      ->check(CLI::Range(1u, 1000u));
  size_t metrics_max_workloads = kDefaultMaxWorkloadSeries;  // docs/metrics.md
  app.add_option("--metrics-max-workloads", metrics_max_workloads,
                 "export rampart_workload_score for at most this many workloads (the worst "
                 "scores; rampart_workload_series_dropped counts the others)")
      ->check(CLI::Range(size_t{0}, size_t{10'000'000}));
  app.add_option("--log-format", log_format, "text or json");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error");
  CLI11_PARSE(app, argc, argv);

  auto log = makeLogger("aggregator", log_format, log_level);
  if (!log) {
    std::fprintf(stderr, "rampart-aggregator: %s\n", log.error().message.c_str());
    return 2;
  }
  auto die = [&](const std::string& what) {
    (*log)->critical("{}", what);
    return 2;
  };
  auto http_address = splitHostPort(http_listen);
  if (!http_address) return die("--http must be HOST:PORT");
  http_opts.host = http_address->host;
  http_opts.port = http_address->port;
  ingest_opts.event_retention = std::chrono::hours(retention_hours);
  auto alert_rules = loadAlertRules(alert_rules_path);
  if (!alert_rules) return die(alert_rules.error().message);
  CurlGlobal curl_global;
  auto keys = readKeyFile(key_file, true);
  if (!keys) return die(keys.error().message);
  ingest_opts.server_keys = *keys;
  auto allowed = readAllowlist(allowlist);
  if (!allowed) return die(allowed.error().message);
  ingest_opts.allowed_agents = *allowed;
  EngineRunnerOptions engine_opts;
  engine_opts.api_resync = std::chrono::seconds(api_resync_seconds);
  engine_opts.engine_interval = std::chrono::milliseconds(engine_interval_ms);
  engine_opts.missed_heartbeats = http_opts.missed_heartbeats;
  ingest_opts.missed_heartbeats = http_opts.missed_heartbeats;
  engine_opts.departed_grace = std::chrono::seconds(forget_departed_seconds);
  engine_opts.engine.probe_failure_threshold = probe_failure_threshold;
  if (!runbook_base_url.empty()) {
    if (runbook_base_url.back() != '/') runbook_base_url += '/';
    engine_opts.engine.runbook_base = runbook_base_url;
  }
  if (in_cluster || !kubeconfig.empty()) {
    auto creds = in_cluster ? inClusterCredentials() : loadKubeconfig(kubeconfig);
    if (!creds) return die(creds.error().message);
    engine_opts.credentials = std::move(*creds);
  }
  auto store = Store::open(db_path);
  if (!store) return die(store.error().message);

  std::atomic<bool> stop{false};
  ShutdownSignals signals([&](int sig) {
    (*log)->info("signal {} received, stopping", sig);
    stop = true;
  });

  LiveModel model;
  flap_policy.window_ms = int64_t{flap_window_seconds} * 1000;
  model.state.setFlapPolicy(flap_policy);
  if (auto nodes = (*store)->loadNodes(); nodes) {
    (*log)->info("restored {} nodes from {}", nodes->size(), db_path);
    model.state.restore(std::move(*nodes));
  } else {
    return die(nodes.error().message);
  }
  auto registry = std::make_shared<prometheus::Registry>();
  Metrics metrics(*registry, http_opts.cluster, metrics_max_workloads);
  auto etcd_monitor = makeEtcdMonitor(etcd_flags, http_opts.cluster, engine_opts.credentials,
                                      engine_opts.engine, *registry, *log);
  if (!etcd_monitor) return die(etcd_monitor.error().message);
  if (auto* m = etcd_monitor->get(); m != nullptr) {
    engine_opts.etcd_source = [m] { return m->latest(); };
    engine_opts.etcd_generation = [m] { return m->generation(); };
    m->start();
  }
  // Findings history first: the other report observers run after it.
  auto history = FindingsHistory::open(db_path, *log);
  if (!history) return die(history.error().message);
  (*log)->info("findings history: {} active finding(s) restored", (*history)->activeCount());
  engine_opts.on_report.push_back(
      [h = history->get()](const auto& r, int64_t now_ms) { h->update(*r, now_ms); });
  auto hooks = makeHookRunner(hooks_path, hooks_leader, db_path, http_opts.cluster, kubeconfig,
                              *registry, *log);
  if (!hooks) return die(hooks.error().message);
  if (*hooks) {
    (*hooks)->start();
    engine_opts.on_report.push_back(
        [h = hooks->get()](const auto& r, int64_t now_ms) { h->update(r, now_ms); });
  }
  zmq::context_t context(1);
  std::atomic<bool> serving{false};
  LatestReport latest;
  {
    Ingest ingest(context, ingest_opts, model, store->get(), metrics, *log);
    auto endpoint = ingest.bind();
    if (!endpoint) return die(endpoint.error().message);
    AlertmanagerWebhook::Options webhook_opts{http_opts.cluster, ""};
    if (!webhook_token_file.empty()) {
      auto token = readWebhookToken(webhook_token_file);
      if (!token) return die(token.error().message);
      webhook_opts.token = std::move(*token);
    }
    // Before the server that calls it, so that it outlives it.
    AlertmanagerWebhook webhook(webhook_opts, hooks->get(), *registry, *log);
    HttpApi http(
        http_opts, model, *registry, metrics, latest, [&] { return serving.load(); }, *log);
    http.addJsonRoute("/api/v1/findings/history", [h = history->get()](const auto& params) {
      auto r = historyReply(*h, params);
      return HttpApi::JsonReply{r.status, std::move(r.body)};
    });
    http.addPostRoute(kWebhookPath, kWebhookMaxBody, [&webhook](const auto& req) {
      auto r = webhook.handle(req.authorization, req.body, req.too_large);
      return HttpApi::JsonReply{r.status, std::move(r.body)};
    });
    auto port = http.start();
    if (!port) return die(port.error().message);
    webhook.setExternalUrl(!external_url.empty()
                               ? external_url
                               : "http://" + http_opts.host + ":" + std::to_string(*port) + "/");
    std::unique_ptr<AlertSender> alerts;
    if (!alertmanagers.empty()) {
      AlertSenderOptions ao{alertmanagers, db_path, http_opts.cluster, external_url};
      if (ao.external_url.empty())
        ao.external_url = "http://" + http_opts.host + ":" + std::to_string(*port) + "/";
      ao.book.resend = std::chrono::seconds(alert_resend_seconds);
      auto sender = AlertSender::create(std::move(ao), std::move(*alert_rules), *registry, *log);
      if (!sender) return die(sender.error().message);
      alerts = std::move(*sender);
      alerts->start();
      engine_opts.on_report.push_back(
          [a = alerts.get()](const auto& r, int64_t now_ms) { a->update(r, now_ms); });
    }
    EngineRunner engine(engine_opts, model, metrics, latest, *log);
    engine.start();
    serving = true;
    (*log)->info(
        "rampart-aggregator {} serving: ingest {}, http {}:{}, cluster {}, {} allowed agent keys",
        RAMPART_VERSION, *endpoint, http_opts.host, *port, http_opts.cluster,
        ingest_opts.allowed_agents.size());
    if (!ready_file.empty()) {
      std::string host = http_opts.host == "0.0.0.0" ? "127.0.0.1" : http_opts.host;
      std::string ingest_ep = *endpoint;
      if (auto p = ingest_ep.find("0.0.0.0"); p != std::string::npos)
        ingest_ep.replace(p, 7, "127.0.0.1");
      std::string tmp = ready_file + ".tmp";
      std::ofstream(tmp) << "ingest=" << ingest_ep << "\nhttp=http://" << host << ":" << *port
                         << "\n";
      std::filesystem::rename(tmp, ready_file);
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
