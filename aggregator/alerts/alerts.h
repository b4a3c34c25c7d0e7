// Alerts to Alertmanager (docs/alerts.md). After every engine evaluation the
// sender turns the report's findings into alerts (alert_rules.h), diffs them
// with its state (alert_book.h) and POSTs changes to every configured
// Alertmanager's /api/v2/alerts, re-sending firing alerts every resend
// interval with endsAt = now + 4 x resend and resolutions once with
// endsAt = the resolution time. Unreachable Alertmanagers (or 5xx answers)
// get the alerts queued and retried with exponential backoff.
//
// State survives a restart in the SQLite `alerts` table (its own connection
// to --db): a still-firing alert keeps its startsAt and is not sent as new; a
// resolution still owed to an Alertmanager is delivered.
//
// Thread-safety: update() may be called from any thread and never blocks on
// the network or the disk; everything else happens on the sender's thread
// (one, driving every Alertmanager's POST at once through libcurl's multi
// interface). start()/stop() from the owning thread.
#pragma once

#include <prometheus/registry.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "alerts/alert_book.h"
#include "alerts/alert_rules.h"
#include "rampart/engine.h"
#include "rampart/error.h"
#include "rampart/log.h"
#include "rampart/time.h"
#include "state/write_gate.h"

namespace rampart::aggregator {

// curl_global_init / curl_global_cleanup, once in main() before any sender.
class CurlGlobal {
 public:
  CurlGlobal();
  ~CurlGlobal();
  CurlGlobal(const CurlGlobal&) = delete;
  CurlGlobal& operator=(const CurlGlobal&) = delete;
};

struct AlertSenderOptions {
  std::vector<std::string> alertmanagers;  // base URLs (--alertmanager), at least one
  std::filesystem::path db_path;           // the aggregator's --db
  std::shared_ptr<WriteGate> write_gate;   // the process's (store.h); null: its own
  std::string cluster;                     // the `cluster` label
  std::string external_url;                // generatorURL base (--external-url)
  AlertBookOptions book;                   // resend (--alert-resend-seconds), queue, backoff
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds connect_timeout{3000};
  // Resolved alerts delivered everywhere are deleted from SQLite this long
  // after their resolution.
  std::chrono::hours retention{24 * 7};
  // After a start, reports marked partial (the API objects not listed yet)
  // resolve nothing until the first complete report or until this long after
  // start-up (an aggregator without --kubeconfig only ever has partial ones).
  std::chrono::milliseconds settle{30000};
  // Decides resends, retries, settling and pruning (rampart/time.h).
  MillisClock clock = unixMillisNow;
};

// The POST endpoint of an Alertmanager URL: http(s)://host[:port][/prefix]
// + "/api/v2/alerts" (kept when already there). kConfig error otherwise.
Result<std::string> alertmanagerEndpoint(std::string_view url);
// `url` without user:password@ (for metric labels and logs).
std::string redactUrl(std::string_view url);
// The body of one POST: a JSON array of {labels, annotations, startsAt,
// endsAt, generatorURL}; generatorURL = external_url +
// "api/v1/findings?check=CHECK[&namespace=NS]".
std::string alertsJson(const std::vector<AlertPayload>& alerts, const std::string& external_url);

class AlertSender {
 public:
  // Opens its own Store on options.db_path and restores the persisted alerts.
  // Errors: a bad Alertmanager URL, the store. Registers its metrics on
  // `registry` (rampart_alert*; docs/metrics.md).
  static Result<std::unique_ptr<AlertSender>> create(AlertSenderOptions options, AlertRules rules,
                                                     prometheus::Registry& registry, Logger log);
  ~AlertSender();  // stop()
  AlertSender(const AlertSender&) = delete;
  AlertSender& operator=(const AlertSender&) = delete;

  void start();
  // Joins the thread; POSTs in flight are abandoned (what they carried stays
  // owed in SQLite).
  void stop();

  // Hands the report of an evaluation at `now_ms` to the sender's thread; a
  // report not yet taken is replaced (the newest wins). Never blocks.
  void update(std::shared_ptr<const engine::Report> report, int64_t now_ms);

  struct Impl;

 private:
  explicit AlertSender(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rampart::aggregator
