// Remediation hooks (docs/hooks.md): runs the operator's commands for the
// findings they match, on the runner's own threads, with the limits of
// hook_policy.h, every run recorded in SQLite (hook_runs) and counted in
// rampart_hook_runs_total / rampart_hook_running.
//
// Only the leading aggregator runs hooks: with `leader` false the runner
// validates its configuration and does nothing else.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hooks/hook_alert.h"
#include "hooks/hook_config.h"
#include "hooks/hook_policy.h"
#include "hooks/hook_process.h"
#include "rampart/engine.h"
#include "rampart/log.h"
#include "rampart/time.h"
#include "state/store.h"

namespace rampart::aggregator {

// The payload's schema id; fields are added, never renamed or removed.
inline constexpr const char* kHookSchema = "rampart.hook/v1";

struct HookRunnerOptions {
  HooksConfig config;
  std::string cluster = "default";
  std::filesystem::path db_path;  // the aggregator's --db; the runner opens its own connection
  std::shared_ptr<WriteGate> write_gate;  // the process's (store.h); null: its own
  bool leader = true;
  std::string kubeconfig;  // passed on as KUBECONFIG when set
  // Milliseconds since the Unix epoch; default the system clock. Limits,
  // cooldowns and the recorded times use it.
  MillisClock clock = unixMillisNow;
  size_t max_output = size_t{64} << 10;
  // How often waiting (blocked) occurrences are planned again without a new report.
  std::chrono::milliseconds recheck{1000};
};

// The JSON written to a hook's stdin and the environment it gets (both
// documented in docs/hooks.md). Pure.
// With `alert` (an Alertmanager alert; `finding` is its finding-shaped view)
// the source is "alertmanager" and the alert is added.
std::string hookPayload(const HookSpec& hook, const engine::Finding& finding,
                        const std::string& key, const std::string& cluster, int64_t now_ms,
                        const HookAlert* alert = nullptr);
std::vector<std::string> hookEnvironment(const HookSpec& hook, const engine::Finding& finding,
                                         const std::string& key, const std::string& cluster,
                                         const std::string& kubeconfig,
                                         const HookAlert* alert = nullptr);
// The alert as hooks see it in the payload's "alert" and the run's detail.
nlohmann::ordered_json hookAlertJson(const HookAlert& alert);

class HookRunner;

// What main() needs: nullptr without a hooks file; the file's problem
// (kConfig, naming the file, hook and field) or a store failure otherwise.
// The runner is not started.
Result<std::unique_ptr<HookRunner>> makeHookRunner(const std::string& hooks_path, bool leader,
                                                   const std::filesystem::path& db_path,
                                                   const std::string& cluster,
                                                   const std::string& kubeconfig,
                                                   prometheus::Registry& registry, Logger log,
                                                   std::shared_ptr<WriteGate> write_gate = nullptr);

class HookRunner {
 public:
  // Opens the store and restores what earlier runs handled. kStore on a
  // database failure.
  static Result<std::unique_ptr<HookRunner>> create(HookRunnerOptions options,
                                                    prometheus::Registry& registry, Logger log);
  ~HookRunner();
  HookRunner(const HookRunner&) = delete;
  HookRunner& operator=(const HookRunner&) = delete;

  void start();
  // Terminates running hooks (SIGTERM, grace, SIGKILL to each group), records
  // them and joins every thread.
  void stop();

  // Hands over the latest evaluation; never blocks on a hook (the newest
  // report replaces one not yet planned). Thread-safe. Register it in
  // EngineRunnerOptions::on_report.
  void update(std::shared_ptr<const engine::Report> report, int64_t now_ms);

  // For tests: waits until every handed report has been planned and no hook
  // process is running; false after `timeout`.
  bool waitIdle(std::chrono::milliseconds timeout);

  // Alerts from Alertmanager's webhook (docs/hooks.md): planned on the
  // runner's thread with the findings' limits; waits up to `wait` for the
  // plan (not for the hooks). A standby (leader false) plans nothing.
  struct AlertDelivery {
    bool leader = true;
    bool planned = false;  // false: not planned within `wait` (still queued)
    std::vector<HookPlan::AlertOutcome> outcomes;
  };
  AlertDelivery deliverAlerts(std::vector<HookAlert> alerts, std::chrono::milliseconds wait);
  const HooksConfig& config() const { return options_.config; }
  bool leader() const { return options_.leader; }

 private:
  struct Completion {
    size_t hook;
    int64_t row;
    uint64_t worker;
    std::string key;
    ProcessResult result;
  };

  HookRunner(HookRunnerOptions options, std::unique_ptr<Store> store,
             prometheus::Registry& registry, Logger log);
  Result<void> restore();
  void run();
  struct AlertBatch {
    std::vector<HookAlert> alerts;
    bool done = false;  // guarded by mu_
    std::vector<HookPlan::AlertOutcome> outcomes;
  };
  void planLocked(std::unique_lock<std::mutex>& lock);
  void planAlertsLocked(std::unique_lock<std::mutex>& lock);
  void apply(const HookPlan& plan, int64_t now_ms);
  void recordResolved(const std::vector<HookPlan::Resolved>& resolved, int64_t now_ms);
  std::vector<std::string> ownFindingKeys(const HookAlert& alert);
  void launch(const HookPlan::Start& start, int64_t now_ms);
  void finish(Completion c);
  void count(size_t hook, std::string_view result);
  int64_t now() const { return options_.clock(); }

  HookRunnerOptions options_;
  std::unique_ptr<Store> store_;  // the runner's thread only
  Logger log_;
  RateLimiter warn_limiter_;
  HookPolicy policy_;
  prometheus::Family<prometheus::Counter>& runs_;
  prometheus::Family<prometheus::Gauge>& running_gauge_;
  std::vector<std::map<std::string, prometheus::Counter*, std::less<>>> counters_;  // per hook

  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::shared_ptr<const engine::Report> pending_;          // guarded by mu_
  int64_t pending_ms_ = 0;                                 // guarded by mu_
  std::shared_ptr<const engine::Report> planned_;          // runner thread only
  std::deque<Completion> done_;                            // guarded by mu_
  std::deque<std::shared_ptr<AlertBatch>> alert_batches_;  // guarded by mu_
  std::condition_variable alerts_planned_;
  std::vector<int> running_;                 // guarded by mu_
  int busy_ = 0;                             // guarded by mu_: running processes + planning
  std::map<uint64_t, std::thread> workers_;  // guarded by mu_
  uint64_t next_worker_ = 0;                 // guarded by mu_
  std::thread thread_;
};

}  // namespace rampart::aggregator
