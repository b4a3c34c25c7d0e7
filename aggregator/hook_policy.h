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
//
// Not thread-safe: one owner (the runner's thread).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "hook_config.h"
#include "rampart/engine.h"

namespace rampart::aggregator {

enum class HookSkip { kCooldown, kConcurrency, kRate };
std::string_view hookSkipName(HookSkip skip);  // "skipped_cooldown", ...

struct HookPlan {
  struct Start {
    size_t hook;  // index into HooksConfig::hooks
    std::string key;
    const engine::Finding* finding;  // points into the planned report
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

 private:
  struct Occurrence {
    bool open = false;           // handled and not resolved since
    int64_t last_start_ms = -1;  // -1: never started
    int blocked = -1;            // the HookSkip last counted for the waiting occurrence, or -1
  };
  const HooksConfig& config_;
  std::vector<std::map<std::string, Occurrence>> state_;  // per hook, by finding key
  std::vector<std::deque<int64_t>> starts_;               // per hook, in the last hour
};

}  // namespace rampart::aggregator
