// Alertmanager alerts as hook occurrences (docs/hooks.md, "Alerts from
// Alertmanager"): the webhook payload (version 4) parsed and checked, each
// alert mapped to the finding-shaped view hooks get, and hook matching on
// alerts. Pure: no clock, no store, no processes.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hooks/hook_config.h"
#include "rampart/engine.h"
#include "rampart/error.h"

namespace rampart::aggregator {

// The largest webhook body accepted (413 above it).
inline constexpr size_t kWebhookMaxBody = size_t{1} << 20;

// One alert of the payload, as Alertmanager sent it, plus what Rampart derives.
struct HookAlert {
  std::string status;  // "firing" | "resolved"
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::string starts_at;  // canonicalTime(startsAt); with the fingerprint, the occurrence
  std::string ends_at;
  std::string generator_url;
  std::string fingerprint;   // Alertmanager's (16 hex digits); computed from labels when absent
  std::string external_url;  // the payload's externalURL (the sending Alertmanager)

  // Derived by parseWebhookPayload:
  std::string key;          // "alert|<fingerprint>": hook_runs.finding_key, cooldown identity
  engine::Finding finding;  // the finding-shaped view (alertFinding)
  // Set by the receiver: the aggregator sent this alert itself (`check` label
  // and its own `cluster`, or generatorURL under its --external-url).
  bool own = false;
  // For own alerts: the finding keys the alert stands for (the alerts table,
  // and the latest report's findings of the same check and subject).
  std::vector<std::string> own_keys;

  bool firing() const { return status == "firing"; }
  std::string alertname() const;
};

struct WebhookPayload {
  std::string version;
  std::string group_key;
  std::string status;
  std::string receiver;
  std::string external_url;
  std::vector<HookAlert> alerts;
};

// Parses and checks Alertmanager's webhook JSON (version "4"). kParse with a
// short reason for anything that is not one: invalid
// JSON, nesting deeper than 32, a wrong version, a missing or mistyped field,
// a status other than firing/resolved, a malformed fingerprint. Never throws.
Result<WebhookPayload> parseWebhookPayload(std::string_view body);

// An RFC 3339 time in one spelling per instant: UTC, "Z", the fraction of a
// second without trailing zeros (Go's RFC3339Nano, as Alertmanager's webhook
// writes UTC times): "2026-11-26T03:30:00.780+02:00" -> "2026-11-26T01:30:00.78Z".
// nullopt when `text` is not one.
std::optional<std::string> canonicalTime(std::string_view text);

// The finding-shaped view of an alert (documented in docs/hooks.md):
// check = the `check` label, else "alert:<alertname>"; severity from the
// `severity` label; subject from `subject` ("Kind ns/name"), else the pod,
// the node, else {Alert, namespace, alertname}; node, zone, workload from
// their labels; message = summary, else description, else alertname; runbook
// = runbook_url.
engine::Finding alertFinding(const HookAlert& alert);

// A Rampart severity from a severity label: info, low, medium, high, critical;
// also warning (medium), error (high), page (critical); anything else info.
engine::Severity alertSeverity(std::string_view label);

// Whether `alert` passes every condition of `match`: a `checks` pattern
// matches "alert:<alertname>" or the `check` label; min_severity against the
// severity label; `labels` against the finding-shaped view; `alert_labels`
// against the alert's labels (a missing label is "").
bool hookMatchesAlert(const HookMatch& match, const HookAlert& alert);

// Whether the aggregator sent `alert` itself.
bool isOwnAlert(const HookAlert& alert, std::string_view cluster, std::string_view external_url);

}  // namespace rampart::aggregator
