#include "hooks/hook_policy.h"

#include <algorithm>
#include <optional>
#include <set>

#include "rampart/finding_key.h"

namespace rampart::aggregator {

namespace {
constexpr int64_t kHourMs = int64_t{3600} * 1000;
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
    : config_(config),
      state_(config.hooks.size()),
      alert_state_(config.hooks.size()),
      starts_(config.hooks.size()) {}

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
    trimStarts(h, now_ms);

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
      if (const std::optional<HookSkip> blocked = limit(h, o.last_start_ms, now_ms, running)) {
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
      starts_[h].push_back(now_ms);
      ++running[h];
      plan.starts.push_back({h, key, finding});
    }
  }
  return plan;
}

void HookPolicy::restoreAlertOccurrence(size_t hook, const std::string& key,
                                        const std::string& starts_at, int64_t last_start_ms,
                                        bool open) {
  if (hook >= alert_state_.size()) return;
  AlertOccurrence& o = alert_state_[hook][key];
  o.starts_at = starts_at;
  o.open = open;
  o.last_start_ms = last_start_ms;
  o.seen_ms = last_start_ms;
}

void HookPolicy::trimStarts(size_t hook, int64_t now_ms) {
  auto& starts = starts_[hook];
  std::sort(starts.begin(), starts.end());
  while (!starts.empty() && starts.front() <= now_ms - kHourMs) starts.pop_front();
}

std::optional<HookSkip> HookPolicy::limit(size_t hook, int64_t last_start_ms, int64_t now_ms,
                                          const std::vector<int>& running) {
  const HookSpec& spec = config_.hooks[hook];
  if (last_start_ms >= 0 && now_ms - last_start_ms < spec.cooldown.count()) {
    return HookSkip::kCooldown;
  }
  if (running[hook] >= spec.max_concurrent) return HookSkip::kConcurrency;
  trimStarts(hook, now_ms);
  if (static_cast<int64_t>(starts_[hook].size()) >= spec.max_runs_per_hour) return HookSkip::kRate;
  return std::nullopt;
}

std::string HookPolicy::tryAlert(size_t h, AlertOccurrence& o,
                                 std::shared_ptr<const HookAlert> alert, int64_t now_ms,
                                 std::vector<int>& running, HookPlan& plan) {
  if (auto blocked = limit(h, o.last_start_ms, now_ms, running)) {
    plan.blocked = true;
    if (o.blocked != static_cast<int>(*blocked)) {
      o.blocked = static_cast<int>(*blocked);
      plan.skips.push_back({h, alert->key, *blocked});
    }
    o.waiting = std::move(alert);
    std::string name(hookSkipName(*blocked));
    return "waiting_" + name.substr(name.find('_') + 1);
  }
  o.open = true;
  o.blocked = -1;
  o.waiting.reset();
  o.last_start_ms = now_ms;
  starts_[h].push_back(now_ms);
  ++running[h];
  const engine::Finding* finding = &alert->finding;
  plan.starts.push_back({h, alert->key, finding, std::move(alert)});
  return "started";
}

HookPlan HookPolicy::planAlerts(const std::vector<HookAlert>& alerts, const engine::Report* report,
                                int64_t now_ms, const std::vector<int>& running_in) {
  HookPlan plan;
  std::vector<int> running = running_in;
  running.resize(config_.hooks.size(), 0);
  // The latest report's findings by key, for own alerts.
  std::map<std::string, const engine::Finding*> findings;
  bool any_own = false;
  for (const auto& a : alerts) any_own = any_own || (a.own && a.firing());
  if (any_own && report != nullptr) {
    for (const auto& f : report->findings) findings.emplace(engine::findingKey(f), &f);
  }
  for (size_t i = 0; i < alerts.size(); ++i) {
    const HookAlert& a = alerts[i];
    std::shared_ptr<const HookAlert> shared;
    for (size_t h = 0; h < config_.hooks.size(); ++h) {
      auto& states = alert_state_[h];
      if (!a.firing()) {
        // Resolved: ends the occurrence it names, whatever the hook's match.
        auto it = states.find(a.key);
        if (it == states.end() || it->second.starts_at != a.starts_at) continue;
        AlertOccurrence& o = it->second;
        o.seen_ms = now_ms;
        o.waiting.reset();
        o.blocked = -1;
        if (o.open) {
          o.open = false;
          plan.resolved.push_back({h, a.key});
          plan.alert_outcomes.push_back({i, h, "resolved"});
        }
        continue;
      }
      if (!hookMatchesAlert(config_.hooks[h].match, a)) continue;
      if (a.own) {
        bool owned = false;
        for (const auto& k : a.own_keys) {
          auto f = findings.find(k);
          if (state_[h].contains(k) ||
              (f != findings.end() && hookMatches(config_.hooks[h].match, *f->second))) {
            owned = true;
            break;
          }
        }
        if (owned) {
          plan.alert_outcomes.push_back({i, h, "handled_by_finding"});
          continue;
        }
      }
      AlertOccurrence& o = states[a.key];
      o.seen_ms = now_ms;
      if (o.starts_at != a.starts_at) {  // a new occurrence of the alert
        o.starts_at = a.starts_at;
        o.open = false;
        o.blocked = -1;
        o.waiting.reset();
      }
      if (o.open) {
        plan.alert_outcomes.push_back({i, h, "already_handled"});
        continue;
      }
      if (!shared) shared = std::make_shared<const HookAlert>(a);
      plan.alert_outcomes.push_back({i, h, tryAlert(h, o, shared, now_ms, running, plan)});
    }
  }
  return plan;
}

HookPlan HookPolicy::planWaitingAlerts(int64_t now_ms, const std::vector<int>& running_in) {
  HookPlan plan;
  std::vector<int> running = running_in;
  running.resize(config_.hooks.size(), 0);
  for (size_t h = 0; h < config_.hooks.size(); ++h) {
    const int64_t cooldown = config_.hooks[h].cooldown.count();
    auto& states = alert_state_[h];
    for (auto it = states.begin(); it != states.end();) {
      AlertOccurrence& o = it->second;
      if (o.waiting && now_ms - o.seen_ms > kAlertWaitMs) {
        o.waiting.reset();  // not delivered again for long: Alertmanager's repeat brings it back
        o.blocked = -1;
      }
      if (o.waiting) {
        tryAlert(h, o, o.waiting, now_ms, running, plan);
      } else if ((!o.open && (o.last_start_ms < 0 || now_ms - o.last_start_ms >= cooldown)) ||
                 (o.open && now_ms - o.seen_ms > kAlertForgetMs)) {
        it = states.erase(it);
        continue;
      }
      ++it;
    }
  }
  return plan;
}

}  // namespace rampart::aggregator
