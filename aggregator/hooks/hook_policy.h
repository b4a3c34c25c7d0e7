// Which hook runs for which finding, and when: the pure half of the hook
// runner (no processes, no clock, no store). docs/hooks.md describes the rules:
//
//  - An occurrence of a finding for a hook starts when the finding matches and
//    ends when a complete (non-partial) report no longer holds it. Each
//    occurrence is handled at most once per hook.
//  - A new occurrence runs unless a limit blocks it: the cooldown since the
//    last start for the same (hook, finding key), the hook's running processes
//    (max_concurrent) or its starts in the last hour (max_runs_per_hour). A
//    blocked occurrence waits and is planned again later; each occurrence
//    counts one skip per reason it was blocked for.
//  - Alertmanager alerts (planAlerts): an occurrence is (hook, fingerprint,
//    startsAt); it ends with a `resolved` notification or a new startsAt.
//    The same limits apply, counted together with the findings' runs. An alert
//    the aggregator sent itself runs no hook whose finding path owns its
//    finding (the hook matches the finding in the latest report, or handled or
//    holds it now).
//
// Not thread-safe: one owner (the runner's thread).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hooks/hook_alert.h"
#include "hooks/hook_config.h"
#include "rampart/engine.h"

namespace rampart::aggregator {

enum class HookSkip { kCooldown, kConcurrency, kRate };
std::string_view hookSkipName(HookSkip skip);  // "skipped_cooldown", ...

struct HookPlan {
  struct Start {
    size_t hook;  // index into HooksConfig::hooks
    std::string key;
    const engine::Finding* finding;          // points into the planned report (or the alert)
    std::shared_ptr<const HookAlert> alert;  // set for an Alertmanager alert (owns `finding`)
  };
  struct Skip {
    size_t hook;
    std::string key;
    HookSkip reason;
  };
  struct Resolved {
    size_t hook;
    std::string key;
  };
  std::vector<Start> starts;
  std::vector<Skip> skips;
  std::vector<Resolved> resolved;  // handled occurrences that ended
  bool blocked = false;            // some occurrence waits: plan again later
  // planAlerts: what happened to each (alert, matching hook), for the
  // webhook's answer: "started", "already_handled", "handled_by_finding",
  // "waiting_cooldown" / "waiting_concurrency" / "waiting_rate", "resolved".
  struct AlertOutcome {
    size_t alert;  // index into the planned alerts
    size_t hook;
    std::string result;
  };
  std::vector<AlertOutcome> alert_outcomes;
};

class HookPolicy {
 public:
  explicit HookPolicy(const HooksConfig& config);

  // State from the store (before the first plan): the last start of (hook,
  // key) and whether that occurrence is still open (handled, not resolved).
  void restoreOccurrence(size_t hook, const std::string& key, int64_t last_start_ms, bool open);
  // A start of `hook` at `started_ms`, for the hourly limit.
  void restoreStart(size_t hook, int64_t started_ms);

  // Plans against `report` at `now_ms`. `running[h]` is how many processes
  // hook h has now. Starts are taken as made (counted against the limits).
  HookPlan plan(const engine::Report& report, int64_t now_ms, const std::vector<int>& running);

  // Open occurrences (handled, not resolved) of `hook`; for tests.
  size_t openOccurrences(size_t hook) const;

  // State from the store for an alert key ("alert|<fingerprint>"): the
  // occurrence (startsAt) last handled, when it started, whether it is open.
  void restoreAlertOccurrence(size_t hook, const std::string& key, const std::string& starts_at,
                              int64_t last_start_ms, bool open);

  // Plans Alertmanager alerts delivered at `now_ms` (firing ones start or
  // wait, resolved ones end their occurrence). `report` is the latest
  // evaluation (may be null): an own alert whose finding a hook matches there
  // is left to the finding path.
  HookPlan planAlerts(const std::vector<HookAlert>& alerts, const engine::Report* report,
                      int64_t now_ms, const std::vector<int>& running);
  // Plans the alert occurrences that wait on a limit; drops those whose last
  // delivery is older than kAlertWaitMs, and forgets closed occurrences
  // after their cooldown and open ones kAlertForgetMs after their last
  // delivery.
  HookPlan planWaitingAlerts(int64_t now_ms, const std::vector<int>& running);

  static constexpr int64_t kAlertWaitMs = int64_t{3600} * 1000;
  static constexpr int64_t kAlertForgetMs = int64_t{7} * 24 * 3600 * 1000;

 private:
  struct Occurrence {
    bool open = false;           // handled and not resolved since
    int64_t last_start_ms = -1;  // -1: never started
    int blocked = -1;            // the HookSkip last counted for the waiting occurrence, or -1
  };
  struct AlertOccurrence {
    std::string starts_at;  // the occurrence this state is about
    bool open = false;      // handled (started) and not resolved
    int64_t last_start_ms = -1;
    int64_t seen_ms = 0;                       // its last delivery
    int blocked = -1;                          // the HookSkip last counted while waiting, or -1
    std::shared_ptr<const HookAlert> waiting;  // set while it waits on a limit
  };
  // The limits for (hook, key) at now_ms, or nullopt when it may start.
  std::optional<HookSkip> limit(size_t hook, int64_t last_start_ms, int64_t now_ms,
                                const std::vector<int>& running);
  void trimStarts(size_t hook, int64_t now_ms);
  // Starts the occurrence or makes it wait; its outcome.
  std::string tryAlert(size_t hook, AlertOccurrence& o, std::shared_ptr<const HookAlert> alert,
                       int64_t now_ms, std::vector<int>& running, HookPlan& plan);

  const HooksConfig& config_;
  std::vector<std::map<std::string, Occurrence>> state_;             // per hook, by finding key
  std::vector<std::map<std::string, AlertOccurrence>> alert_state_;  // per hook, by alert key
  std::vector<std::deque<int64_t>> starts_;                          // per hook, in the last hour
};

}  // namespace rampart::aggregator
