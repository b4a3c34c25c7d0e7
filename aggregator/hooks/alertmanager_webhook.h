// POST /api/v1/alertmanager/webhook (docs/hooks.md, "Alerts from
// Alertmanager"): Alertmanager's webhook payload (version 4) in, each alert
// handed to the hook runner, a JSON answer out. Checks the optional bearer
// token, counts every request in
// rampart_alertmanager_webhook_requests_total{cluster,result}.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "hooks/hook_alert.h"
#include "rampart/error.h"
#include "rampart/log.h"

namespace rampart::aggregator {

class HookRunner;

inline constexpr const char* kWebhookPath = "/api/v1/alertmanager/webhook";

// The token of --webhook-token-file: the file's first line without
// surrounding white space. kConfig when unreadable or empty.
Result<std::string> readWebhookToken(const std::filesystem::path& path);

class AlertmanagerWebhook {
 public:
  struct Options {
    std::string cluster = "default";
    std::string token;  // empty: no authentication
    std::chrono::milliseconds plan_wait{5000};
  };
  // `hooks` may be null (no --hooks): alerts are accepted and run nothing.
  AlertmanagerWebhook(Options options, HookRunner* hooks, prometheus::Registry& registry,
                      Logger log);

  // The aggregator's --external-url (its alerts' generatorURL base), known
  // once the HTTP port is bound. Thread-safe.
  void setExternalUrl(std::string url);

  struct Reply {
    int status = 200;
    std::string body;  // JSON
  };
  // One request: the Authorization header, the body (empty and `too_large`
  // when it was longer than kWebhookMaxBody). Thread-safe; never throws.
  // The token check alone, before any of the body is read: a reply (401)
  // when the request must be refused.
  std::optional<Reply> authorize(std::string_view authorization);
  Reply handle(std::string_view authorization, std::string_view body, bool too_large);

 private:
  Reply answer(std::string_view result, int status, std::string body);

  Options options_;
  HookRunner* hooks_;
  Logger log_;
  RateLimiter warn_limiter_;
  std::mutex mu_;             // guards external_url_ and warn_limiter_
  std::string external_url_;  // guarded by mu_
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Counter>& alerts_;
};

}  // namespace rampart::aggregator
