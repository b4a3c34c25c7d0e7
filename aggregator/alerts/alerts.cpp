#include "alerts/alerts.h"

#include <curl/curl.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <condition_variable>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "rampart/text.h"
#include "rampart/time.h"
#include "state/store.h"

namespace rampart::aggregator {
namespace {

using nlohmann::json;

std::string dumpJson(const json& j) {
  // Finding messages may carry invalid UTF-8 (strings from the cluster).
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json mapJson(const AlertLabels& m) {
  json j = json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

AlertLabels mapFromJson(const std::string& text) {
  AlertLabels out;
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object()) return out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

constexpr size_t kMaxResponse = 4096;

size_t appendResponse(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  size_t len = size * n;
  if (out->size() < kMaxResponse) out->append(data, std::min(len, kMaxResponse - out->size()));
  return len;
}

struct CurlEasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct CurlMultiDeleter {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct CurlSlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

CurlGlobal::CurlGlobal() {
  curl_global_init(CURL_GLOBAL_DEFAULT);
}
CurlGlobal::~CurlGlobal() {
  curl_global_cleanup();
}

Result<std::string> alertmanagerEndpoint(std::string_view url) {
  std::string u(url);
  if (!u.starts_with("http://") && !u.starts_with("https://")) {
    return fail(ErrorCode::kConfig,
                "--alertmanager " + redactUrl(url) + ": must be an http:// or https:// URL");
  }
  size_t host = u.find("://") + 3;
  if (host >= u.size() || u[host] == '/') {
    return fail(ErrorCode::kConfig, "--alertmanager " + redactUrl(url) + ": no host");
  }
  if (u.find_first_of(" \t\r\n?#") != std::string::npos) {
    return fail(ErrorCode::kConfig,
                "--alertmanager " + redactUrl(url) + ": no query, fragment or spaces allowed");
  }
  while (u.ends_with('/')) u.pop_back();
  if (!u.ends_with("/api/v2/alerts")) u += "/api/v2/alerts";
  return u;
}

std::string redactUrl(std::string_view url) {
  std::string u(url);
  size_t scheme = u.find("://");
  if (scheme == std::string::npos) return u;
  size_t host = scheme + 3;
  size_t end = u.find('/', host);
  size_t at = u.rfind('@', end == std::string::npos ? u.size() : end);
  if (at != std::string::npos && at >= host) u.erase(host, at + 1 - host);
  return u;
}

std::string alertsJson(const std::vector<AlertPayload>& alerts, const std::string& external_url) {
  json arr = json::array();
  for (const auto& a : alerts) {
    std::string generator = external_url + "api/v1/findings";
    if (auto c = a.labels.find("check"); c != a.labels.end()) {
      generator += "?check=" + urlEncode(c->second);
      if (auto ns = a.labels.find("namespace"); ns != a.labels.end()) {
        generator += "&namespace=" + urlEncode(ns->second);
      }
    }
    arr.push_back(json{{"labels", mapJson(a.labels)},
                       {"annotations", mapJson(a.annotations)},
                       {"startsAt", formatRfc3339Millis(a.starts_at_ms)},
                       {"endsAt", formatRfc3339Millis(a.ends_at_ms)},
                       {"generatorURL", generator}});
  }
  return dumpJson(arr);
}

struct AlertSender::Impl {
  struct Target {
    std::string url;       // as configured
    std::string endpoint;  // .../api/v2/alerts
    std::string label;     // redacted, for metrics and logs
    std::unique_ptr<CURL, CurlEasyDeleter> easy;
    std::optional<AlertBatch> batch;  // in flight
    std::string body, response;
    prometheus::Counter* sent = nullptr;
    prometheus::Counter* failures = nullptr;
    prometheus::Gauge* queue = nullptr;
  };

  AlertSenderOptions options;
  AlertRules rules;
  Logger log;
  RateLimiter limiter;
  std::unique_ptr<Store> store;
  AlertBook book;
  std::vector<Target> targets;
  std::unique_ptr<CURLM, CurlMultiDeleter> multi;
  std::unique_ptr<curl_slist, CurlSlistDeleter> headers;
  prometheus::Gauge* firing = nullptr;
  prometheus::Counter* dropped = nullptr;
  uint64_t dropped_seen = 0;
  int64_t started_ms = 0;
  bool settled = false;  // a report may resolve alerts (see options.settle)
  int64_t last_prune_ms = 0;
  Statement upsert;

  std::mutex mu;
  std::shared_ptr<const engine::Report> pending_report;  // guarded by mu
  int64_t pending_now_ms = 0;                            // guarded by mu
  bool stopping = false;                                 // guarded by mu
  std::thread thread;

  Impl(AlertSenderOptions o, AlertRules r, Logger l)
      : options(std::move(o)),
        rules(std::move(r)),
        log(std::move(l)),
        book(options.book, options.alertmanagers.size()) {}

  void run();
  void persist(const std::set<std::string>& changed);
  void startTransfers(int64_t now_ms, std::set<std::string>& changed);
  void collectTransfers(std::set<std::string>& changed);
  void publish();
  Result<void> restore();
  void prune(int64_t now_ms);
};

Result<std::unique_ptr<AlertSender>> AlertSender::create(AlertSenderOptions options,
                                                         AlertRules rules,
                                                         prometheus::Registry& registry,
                                                         Logger log) {
  if (options.alertmanagers.empty()) {
    return fail(ErrorCode::kConfig, "alerts: no Alertmanager URL");
  }
  if (options.external_url.empty() || options.external_url.back() != '/') {
    options.external_url += '/';
  }
  auto impl = std::make_unique<Impl>(std::move(options), std::move(rules), std::move(log));
  const std::string& cluster = impl->options.cluster;
  auto& sent = prometheus::BuildCounter()
                   .Name("rampart_alerts_sent_total")
                   .Help("Alerts delivered to an Alertmanager (firing, re-sent and resolved).")
                   .Labels({{"cluster", cluster}})
                   .Register(registry);
  auto& failures = prometheus::BuildCounter()
                       .Name("rampart_alert_send_failures_total")
                       .Help("Failed POSTs to an Alertmanager (unreachable, timeout, non-2xx).")
                       .Labels({{"cluster", cluster}})
                       .Register(registry);
  auto& queue = prometheus::BuildGauge()
                    .Name("rampart_alert_queue_length")
                    .Help("Alerts waiting to be delivered to an Alertmanager.")
                    .Labels({{"cluster", cluster}})
                    .Register(registry);
  impl->firing = &prometheus::BuildGauge()
                      .Name("rampart_alerts_firing")
                      .Help("Alerts firing now (sent or still queued).")
                      .Labels({{"cluster", cluster}})
                      .Register(registry)
                      .Add({});
  impl->dropped = &prometheus::BuildCounter()
                       .Name("rampart_alerts_dropped_total")
                       .Help(
                           "Queued alerts dropped: a full queue, or refused by an "
                           "Alertmanager with 400/422.")
                       .Labels({{"cluster", cluster}})
                       .Register(registry)
                       .Add({});
  for (const auto& url : impl->options.alertmanagers) {
    auto endpoint = alertmanagerEndpoint(url);
    if (!endpoint) return std::unexpected(endpoint.error());
    Impl::Target t;
    t.url = url;
    t.endpoint = *endpoint;
    t.label = redactUrl(url);
    t.easy.reset(curl_easy_init());
    if (!t.easy) return fail(ErrorCode::kNetwork, "alerts: curl_easy_init failed");
    t.sent = &sent.Add({{"alertmanager", t.label}});
    t.failures = &failures.Add({{"alertmanager", t.label}});
    t.queue = &queue.Add({{"alertmanager", t.label}});
    impl->targets.push_back(std::move(t));
  }
  impl->multi.reset(curl_multi_init());
  if (!impl->multi) return fail(ErrorCode::kNetwork, "alerts: curl_multi_init failed");
  impl->headers.reset(curl_slist_append(nullptr, "Content-Type: application/json"));
  auto store = Store::open(impl->options.db_path, impl->options.write_gate);
  if (!store) return std::unexpected(store.error());
  impl->store = std::move(*store);
  auto upsert = impl->store->prepare(
      "INSERT INTO alerts(fingerprint,alertname,finding_key,labels,annotations,starts_at_ms,"
      "ends_at_ms,last_sent_ms,state,detail) VALUES(?1,?2,?3,?4,?5,?6,NULLIF(?7,0),?8,?9,?10) "
      "ON CONFLICT(fingerprint) DO UPDATE SET alertname=?2,finding_key=?3,labels=?4,"
      "annotations=?5,starts_at_ms=?6,ends_at_ms=NULLIF(?7,0),last_sent_ms=?8,state=?9,"
      "detail=?10");
  if (!upsert) return std::unexpected(upsert.error());
  impl->upsert = std::move(*upsert);
  impl->started_ms = impl->options.clock();
  impl->prune(impl->started_ms);
  if (auto r = impl->restore(); !r) return std::unexpected(r.error());
  impl->publish();
  return std::unique_ptr<AlertSender>(new AlertSender(std::move(impl)));
}

AlertSender::AlertSender(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AlertSender::~AlertSender() {
  stop();
}

void AlertSender::start() {
  if (impl_->thread.joinable()) return;
  impl_->thread = std::thread([this] { impl_->run(); });
}

void AlertSender::stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  curl_multi_wakeup(impl_->multi.get());
  if (impl_->thread.joinable()) impl_->thread.join();
}

void AlertSender::update(std::shared_ptr<const engine::Report> report, int64_t now_ms) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->pending_report = std::move(report);
    impl_->pending_now_ms = now_ms;
  }
  curl_multi_wakeup(impl_->multi.get());
}

Result<void> AlertSender::Impl::restore() {
  auto s = store->prepare(
      "SELECT fingerprint,finding_key,labels,annotations,starts_at_ms,ifnull(ends_at_ms,0),"
      "last_sent_ms,state,detail FROM alerts ORDER BY fingerprint");
  if (!s) return std::unexpected(s.error());
  size_t firing_count = 0, owed = 0;
  while (true) {
    auto row = s->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    AlertState a;
    a.fingerprint = s->text(0);
    a.finding_key = s->text(1);
    a.labels = mapFromJson(s->text(2));
    a.annotations = mapFromJson(s->text(3));
    a.starts_at_ms = s->integer(4);
    a.ends_at_ms = s->text(7) == "firing" ? 0 : std::max<int64_t>(s->integer(5), 1);
    a.last_sent_ms = s->integer(6);
    a.last_queued_ms = a.last_sent_ms;  // the resend schedule goes on where it was
    std::vector<size_t> pending;
    auto detail = json::parse(s->text(8), nullptr, false);
    if (detail.is_object() && detail["pending"].is_array()) {
      for (const auto& u : detail["pending"]) {
        for (size_t i = 0; i < targets.size(); ++i) {
          if (u.is_string() && u.get<std::string>() == targets[i].url) pending.push_back(i);
        }
      }
    }
    if (!a.firing() && pending.empty()) continue;  // history only
    a.firing() ? ++firing_count : ++owed;
    book.restore(std::move(a), pending);
  }
  log->info("alerts: restored {} firing alerts and {} resolutions still owed from {}", firing_count,
            owed, options.db_path.string());
  return {};
}

void AlertSender::Impl::prune(int64_t now_ms) {
  last_prune_ms = now_ms;
  auto s = store->prepare(
      "DELETE FROM alerts WHERE state='resolved' AND ends_at_ms < ?1 AND "
      "json_array_length(detail,'$.pending') = 0");
  if (!s) {
    warnLimited(log, limiter, "prune", "alerts: " + s.error().message);
    return;
  }
  int64_t cutoff =
      now_ms - std::chrono::duration_cast<std::chrono::milliseconds>(options.retention).count();
  if (auto r = s->bind(1, cutoff).run(); !r) {
    warnLimited(log, limiter, "prune", "alerts: " + r.error().message);
  }
}

void AlertSender::Impl::persist(const std::set<std::string>& changed) {
  if (changed.empty()) return;
  Store::Transaction tx(*store);
  for (const auto& fp : changed) {
    const AlertState* a = book.find(fp);
    if (a == nullptr) continue;
    json pending = json::array();
    for (size_t i : book.pending(fp)) pending.push_back(targets[i].url);
    auto name = a->labels.find("alertname");
    auto r = upsert.bind(1, fp)
                 .bind(2, name == a->labels.end() ? "" : name->second)
                 .bind(3, a->finding_key)
                 .bind(4, dumpJson(mapJson(a->labels)))
                 .bind(5, dumpJson(mapJson(a->annotations)))
                 .bind(6, a->starts_at_ms)
                 .bind(7, a->ends_at_ms)
                 .bind(8, a->last_sent_ms)
                 .bind(9, a->firing() ? "firing" : "resolved")
                 .bind(10, dumpJson(json{{"pending", pending}}))
                 .run();
    if (!r) warnLimited(log, limiter, "store", "alerts: cannot save state: " + r.error().message);
  }
  if (auto r = tx.commit(); !r) {  // rolled back
    warnLimited(log, limiter, "store", "alerts: cannot save state: " + r.error().message);
  }
  for (const auto& fp : changed) book.forget(fp);
}

void AlertSender::Impl::startTransfers(int64_t now_ms, std::set<std::string>& changed) {
  (void)changed;
  for (auto& batch : book.takeDue(now_ms)) {
    Target& t = targets[batch.alertmanager];
    t.body = alertsJson(batch.alerts, options.external_url);
    t.response.clear();
    CURL* c = t.easy.get();
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, t.endpoint.c_str());
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, t.body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(t.body.size()));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_USERAGENT, "rampart-aggregator/" RAMPART_VERSION);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options.request_timeout.count()));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options.connect_timeout.count()));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, appendResponse);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t.response);
    curl_easy_setopt(c, CURLOPT_PRIVATE, &t);
    t.batch = std::move(batch);
    if (curl_multi_add_handle(multi.get(), c) != CURLM_OK) {
      t.failures->Increment();
      changed.merge(book.finish(*t.batch, SendOutcome::kRetry, now_ms));
      t.batch.reset();
    }
  }
}

void AlertSender::Impl::collectTransfers(std::set<std::string>& changed) {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi.get(), &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* c = msg->easy_handle;
    Target* t = nullptr;
    curl_easy_getinfo(c, CURLINFO_PRIVATE, &t);
    CURLcode rc = msg->data.result;
    curl_multi_remove_handle(multi.get(), c);
    if (t == nullptr || !t->batch) continue;
    long status = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    SendOutcome outcome = SendOutcome::kDelivered;
    std::string problem;
    if (rc != CURLE_OK) {
      outcome = SendOutcome::kRetry;
      problem = curl_easy_strerror(rc);
    } else if (status < 200 || status >= 300) {
      // 400 / 422: Alertmanager refuses the alerts themselves; sending them
      // again cannot help. Anything else (5xx, 429, a proxy's 404 or 401
      // while it is being fixed) is retried.
      outcome = status == 400 || status == 422 ? SendOutcome::kRejected : SendOutcome::kRetry;
      problem = "HTTP " + std::to_string(status) + ": " + t->response.substr(0, 200);
    }
    int64_t now = options.clock();
    size_t n = t->batch->alerts.size();
    int failures_before = book.failures(t->batch->alertmanager);
    changed.merge(book.finish(*t->batch, outcome, now));
    t->batch.reset();
    if (outcome == SendOutcome::kDelivered) {
      t->sent->Increment(static_cast<double>(n));
      if (failures_before > 0) {
        log->info("alerts: {} reachable again after {} failed attempts; delivered {} alerts",
                  t->label, failures_before, n);
      }
      log->debug("alerts: delivered {} alerts to {}", n, t->label);
    } else {
      t->failures->Increment();
      warnLimited(log, limiter, "send:" + t->label,
                  "alerts: POST to " + t->label + " failed (" + problem + "); " +
                      (outcome == SendOutcome::kRetry
                           ? std::to_string(n) + " alerts stay queued, retry with backoff"
                           : std::to_string(n) + " alerts refused and dropped"));
    }
  }
}

void AlertSender::Impl::publish() {
  firing->Set(static_cast<double>(book.firing()));
  for (size_t i = 0; i < targets.size(); ++i) {
    targets[i].queue->Set(static_cast<double>(book.queueLength(i)));
  }
  if (book.dropped() > dropped_seen) {
    uint64_t n = book.dropped() - dropped_seen;
    dropped->Increment(static_cast<double>(n));
    dropped_seen = book.dropped();
    warnLimited(log, limiter, "dropped",
                "alerts: " + std::to_string(n) +
                    " queued alerts dropped (queue full or refused); firing ones are re-sent "
                    "with the next resend");
  }
}

void AlertSender::Impl::run() {
  while (true) {
    std::shared_ptr<const engine::Report> report;
    int64_t report_ms = 0;
    {
      std::lock_guard lock(mu);
      if (stopping) break;
      report = std::move(pending_report);
      pending_report.reset();
      report_ms = pending_now_ms;
    }
    std::set<std::string> changed;
    if (report) {
      if (!report->partial || report_ms - started_ms >= options.settle.count()) settled = true;
      auto desired = desiredAlerts(rules, *report, options.cluster);
      changed.merge(book.apply(std::move(desired), !settled, report_ms));
    }
    int64_t now = options.clock();
    changed.merge(book.resendDue(now));
    startTransfers(now, changed);
    int running = 0;
    curl_multi_perform(multi.get(), &running);
    collectTransfers(changed);
    persist(changed);
    publish();
    if (now - last_prune_ms > int64_t{3600} * 1000) prune(now);
    // Sleep until the next retry or resend, a finished transfer, or update().
    now = options.clock();
    int64_t due = book.nextDueMs();
    int timeout = due <= now ? 0 : static_cast<int>(std::min<int64_t>(due - now, 1000));
    if (changed.empty() || timeout > 0) curl_multi_poll(multi.get(), nullptr, 0, timeout, nullptr);
  }
  // Abandon what is in flight: it stays owed (queued in SQLite).
  for (auto& t : targets) {
    if (t.batch) {
      curl_multi_remove_handle(multi.get(), t.easy.get());
      t.batch.reset();
    }
  }
}

}  // namespace rampart::aggregator
