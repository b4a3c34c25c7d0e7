#include "hooks/alertmanager_webhook.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "hooks/hooks.h"
#include "rampart/text.h"

namespace rampart::aggregator {
namespace {

using nlohmann::ordered_json;

constexpr const char* kResults[] = {"accepted", "standby", "invalid", "too_large", "unauthorized"};

std::string dumpJson(const ordered_json& j) {
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

std::string errorBody(const std::string& message) {
  ordered_json j;
  j["error"] = message;
  return dumpJson(j);
}

// Compares without an early exit, so the time taken does not tell how much of
// a guess was right.
bool sameSecret(std::string_view a, std::string_view b) {
  if (b.empty()) return false;
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i % b.size()]);
  }
  return diff == 0;
}

}  // namespace

Result<std::string> readWebhookToken(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kConfig, "--webhook-token-file: cannot read " + path.string());
  std::string line;
  std::getline(in, line);
  std::string token(trim(line));
  if (token.empty()) {
    return fail(ErrorCode::kConfig,
                "--webhook-token-file: " + path.string() + ": empty (the first line is the token)");
  }
  for (char c : token) {
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) {
      return fail(ErrorCode::kConfig, "--webhook-token-file: " + path.string() +
                                          ": the token may not hold spaces or control characters");
    }
  }
  return token;
}

AlertmanagerWebhook::AlertmanagerWebhook(Options options, HookRunner* hooks,
                                         prometheus::Registry& registry, Logger log)
    : options_(std::move(options)),
      hooks_(hooks),
      log_(std::move(log)),
      requests_(prometheus::BuildCounter()
                    .Name("rampart_alertmanager_webhook_requests_total")
                    .Help("Requests to the Alertmanager webhook (POST " +
                          std::string(kWebhookPath) +
                          ") by result: accepted, standby, invalid, too_large, unauthorized.")
                    .Labels({{"cluster", options_.cluster}})
                    .Register(registry)),
      alerts_(prometheus::BuildCounter()
                  .Name("rampart_alertmanager_webhook_alerts_total")
                  .Help("Alerts received on the Alertmanager webhook, by status (firing, "
                        "resolved).")
                  .Labels({{"cluster", options_.cluster}})
                  .Register(registry)) {
  for (const char* r : kResults) requests_.Add({{"result", r}});
  alerts_.Add({{"status", "firing"}});
  alerts_.Add({{"status", "resolved"}});
}

void AlertmanagerWebhook::setExternalUrl(std::string url) {
  std::lock_guard lock(mu_);
  external_url_ = std::move(url);
}

AlertmanagerWebhook::Reply AlertmanagerWebhook::answer(std::string_view result, int status,
                                                       std::string body) {
  requests_.Add({{"result", std::string(result)}}).Increment();
  if (status >= 400) {
    std::lock_guard lock(mu_);
    warnLimited(log_, warn_limiter_, "webhook:" + std::string(result),
                "alertmanager webhook: " + std::to_string(status) + " (" + std::string(result) +
                    "): " + body);
  }
  return Reply{status, std::move(body)};
}

std::optional<AlertmanagerWebhook::Reply> AlertmanagerWebhook::authorize(
    std::string_view authorization) {
  if (options_.token.empty()) return std::nullopt;
  constexpr std::string_view kBearer = "Bearer ";
  const bool ok = authorization.size() > kBearer.size() &&
                  authorization.substr(0, kBearer.size()) == kBearer &&
                  sameSecret(trim(authorization.substr(kBearer.size())), options_.token);
  if (ok) return std::nullopt;
  return answer("unauthorized", 401,
                errorBody("missing or wrong bearer token (--webhook-token-file)"));
}

AlertmanagerWebhook::Reply AlertmanagerWebhook::handle(std::string_view authorization,
                                                       std::string_view body, bool too_large) {
  try {
    if (auto refused = authorize(authorization)) return std::move(*refused);
    if (too_large || body.size() > kWebhookMaxBody) {
      return answer("too_large", 413,
                    errorBody("body larger than " + std::to_string(kWebhookMaxBody) + " bytes"));
    }
    auto payload = parseWebhookPayload(body);
    if (!payload) {
      return answer(
          "invalid", 400,
          errorBody("not an Alertmanager webhook payload (version 4): " + payload.error().message));
    }
    std::string external_url;
    {
      std::lock_guard lock(mu_);
      external_url = external_url_;
    }
    size_t firing = 0;
    for (auto& a : payload->alerts) {
      a.own = isOwnAlert(a, options_.cluster, external_url);
      firing += a.firing() ? 1 : 0;
    }
    const size_t resolved = payload->alerts.size() - firing;
    alerts_.Add({{"status", "firing"}}).Increment(static_cast<double>(firing));
    alerts_.Add({{"status", "resolved"}}).Increment(static_cast<double>(resolved));

    ordered_json j;
    j["status"] = "ok";
    j["alerts"] = payload->alerts.size();
    j["firing"] = firing;
    j["resolved"] = resolved;
    if (hooks_ == nullptr) {
      j["leader"] = true;
      j["hooks"] = ordered_json::array();
      j["message"] = "no hooks configured (--hooks): nothing runs";
      return answer("accepted", 200, dumpJson(j));
    }
    if (!hooks_->leader()) {
      j["leader"] = false;
      j["hooks"] = ordered_json::array();
      j["message"] = "not the leader (--hooks-leader=false): no hook runs on this aggregator";
      return answer("standby", 200, dumpJson(j));
    }
    std::vector<HookAlert> alerts = payload->alerts;
    auto delivery = hooks_->deliverAlerts(std::move(alerts), options_.plan_wait);
    j["leader"] = true;
    j["planned"] = delivery.planned;
    ordered_json runs = ordered_json::array();
    for (const auto& o : delivery.outcomes) {
      const HookAlert& a = payload->alerts.at(o.alert);
      ordered_json r;
      r["hook"] = hooks_->config().hooks.at(o.hook).name;
      r["alertname"] = a.alertname();
      r["fingerprint"] = a.fingerprint;
      r["startsAt"] = a.starts_at;
      r["result"] = o.result;
      runs.push_back(std::move(r));
    }
    j["hooks"] = std::move(runs);
    if (!delivery.planned) j["message"] = "queued: the hook runner has not planned it yet";
    log_->info(
        "alertmanager webhook: {} alert(s) ({} firing) from receiver '{}', {} hook outcome(s)",
        payload->alerts.size(), firing, payload->receiver, delivery.outcomes.size());
    return answer("accepted", 200, dumpJson(j));
  } catch (const std::exception& e) {
    // Nothing above should throw on any input; a bug answers 400, not a crash.
    return answer("invalid", 400, errorBody(std::string("cannot handle the payload: ") + e.what()));
  }
}

}  // namespace rampart::aggregator
