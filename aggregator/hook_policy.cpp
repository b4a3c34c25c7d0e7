#include "hook_policy.h"

#include <algorithm>
#include <optional>
#include <set>

#include "rampart/finding_key.h"

namespace rampart::aggregator {

namespace {
constexpr int64_t kHourMs = 3600 * 1000;
}  // namespace

std::string_view hookSkipName(HookSkip skip) {
  switch (skip) {
    case HookSkip::kCooldown:
      return "skipped_cooldown";
    case HookSkip::kConcurrency:
      return "skipped_concurrency";
    case HookSkip::kRate:
      return "skipped_rate";
  }
  return "skipped";
}

HookPolicy::HookPolicy(const HooksConfig& config)
    : config_(config), state_(config.hooks.size()), starts_(config.hooks.size()) {}

void HookPolicy::restoreOccurrence(size_t hook, const std::string& key, int64_t last_start_ms,
                                   bool open) {
  if (hook >= state_.size()) return;
  Occurrence& o = state_[hook][key];
  o.open = open;
  o.last_start_ms = last_start_ms;
}

void HookPolicy::restoreStart(size_t hook, int64_t started_ms) {
  if (hook < starts_.size()) starts_[hook].push_back(started_ms);
}

size_t HookPolicy::openOccurrences(size_t hook) const {
  size_t n = 0;
  for (const auto& [key, o] : state_.at(hook)) n += o.open ? 1 : 0;
  return n;
}

HookPlan HookPolicy::plan(const engine::Report& report, int64_t now_ms,
                          const std::vector<int>& running_in) {
  HookPlan plan;
  std::vector<int> running = running_in;
  running.resize(config_.hooks.size(), 0);
  for (size_t h = 0; h < config_.hooks.size(); ++h) {
    const HookSpec& spec = config_.hooks[h];
    auto& states = state_[h];
    auto& starts = starts_[h];
    std::sort(starts.begin(), starts.end());
    while (!starts.empty() && starts.front() <= now_ms - kHourMs) starts.pop_front();

    std::vector<std::pair<std::string, const engine::Finding*>> matching;
    std::set<std::string> active;
    for (const engine::Finding& f : report.findings) {
      if (!hookMatches(spec.match, f)) continue;
      std::string key = engine::findingKey(f);
      if (active.insert(key).second) matching.emplace_back(std::move(key), &f);
    }

    // Occurrences that ended. A partial report may lack findings that still
    // hold, so only a complete one resolves anything.
    for (auto it = states.begin(); it != states.end();) {
      Occurrence& o = it->second;
      if (!active.contains(it->first)) {
        if (o.open && !report.partial) {
          o.open = false;
          plan.resolved.push_back({h, it->first});
        }
        if (!report.partial) o.blocked = -1;
        const bool cooled =
            o.last_start_ms < 0 || now_ms - o.last_start_ms >= spec.cooldown.count();
        if (!o.open && cooled) {
          it = states.erase(it);
          continue;
        }
      }
      ++it;
    }

    for (auto& [key, finding] : matching) {
      Occurrence& o = states[key];
      if (o.open) continue;
      std::optional<HookSkip> blocked;
      if (o.last_start_ms >= 0 && now_ms - o.last_start_ms < spec.cooldown.count()) {
        blocked = HookSkip::kCooldown;
      } else if (running[h] >= spec.max_concurrent) {
        blocked = HookSkip::kConcurrency;
      } else if (static_cast<int64_t>(starts.size()) >= spec.max_runs_per_hour) {
        blocked = HookSkip::kRate;
      }
      if (blocked) {
        plan.blocked = true;
        if (o.blocked != static_cast<int>(*blocked)) {
          o.blocked = static_cast<int>(*blocked);
          plan.skips.push_back({h, key, *blocked});
        }
        continue;
      }
      o.open = true;
      o.blocked = -1;
      o.last_start_ms = now_ms;
      starts.push_back(now_ms);
      ++running[h];
      plan.starts.push_back({h, key, finding});
    }
  }
  return plan;
}

}  // namespace rampart::aggregator
