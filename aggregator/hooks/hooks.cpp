#include "hooks/hooks.h"

#include <cstdlib>

#include "rampart/engine_json.h"
#include "rampart/finding_key.h"
#include "rampart/time.h"

namespace rampart::aggregator {
namespace {

// The structured log fields of a hook run (docs/logging.md): the hook and its
// finding (an Alertmanager alert's key gives only `finding`).
LogFields runFields(const std::string& hook, const std::string& key) {
  LogFields out = engine::findingKeyLogFields(key);
  out.push_back({"hook", hook});
  return out;
}

constexpr int64_t kHourMs = int64_t{3600} * 1000;
constexpr const char* kResults[] = {"success",     "failure",          "timeout",
                                    "dry_run",     "skipped_cooldown", "skipped_concurrency",
                                    "skipped_rate"};

std::string dumpJson(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string resultOf(const ProcessResult& r) {
  if (r.timed_out) return "timeout";
  if (r.started && r.exit_code && *r.exit_code == 0) return "success";
  return "failure";
}

}  // namespace

nlohmann::ordered_json hookAlertJson(const HookAlert& a) {
  nlohmann::ordered_json j;
  j["status"] = a.status;
  j["labels"] = a.labels;
  j["annotations"] = a.annotations;
  j["startsAt"] = a.starts_at;
  j["endsAt"] = a.ends_at;
  j["generatorURL"] = a.generator_url;
  j["fingerprint"] = a.fingerprint;
  j["externalURL"] = a.external_url;
  j["own"] = a.own;
  return j;
}

std::string hookPayload(const HookSpec& hook, const engine::Finding& finding,
                        const std::string& key, const std::string& cluster, int64_t now_ms,
                        const HookAlert* alert) {
  nlohmann::ordered_json j;
  j["schema"] = kHookSchema;
  j["hook"] = hook.name;
  j["cluster"] = cluster;
  j["key"] = key;
  j["dry_run"] = hook.dry_run;
  j["sent_at"] = formatRfc3339(now_ms / 1000);
  j["source"] = alert != nullptr ? "alertmanager" : "findings";
  j["finding"] = engine::findingToJson(finding);
  if (alert != nullptr) j["alert"] = hookAlertJson(*alert);
  return dumpJson(j) + "\n";
}

std::vector<std::string> hookEnvironment(const HookSpec& hook, const engine::Finding& f,
                                         const std::string& key, const std::string& cluster,
                                         const std::string& kubeconfig, const HookAlert* alert) {
  std::vector<std::string> env;
  auto add = [&env](const char* name, std::string_view value) {
    env.push_back(std::string(name) + "=" + envSafe(value));
  };
  const char* path = std::getenv("PATH");
  add("PATH", path != nullptr && *path != '\0' ? path : "/usr/local/bin:/usr/bin:/bin");
  const char* home = std::getenv("HOME");
  add("HOME", home != nullptr && *home != '\0' ? home : "/");
  if (!kubeconfig.empty()) add("KUBECONFIG", kubeconfig);
  add("RAMPART_SCHEMA", kHookSchema);
  add("RAMPART_HOOK", hook.name);
  add("RAMPART_CLUSTER", cluster);
  add("RAMPART_FINDING_KEY", key);
  add("RAMPART_CHECK", f.check);
  add("RAMPART_SEVERITY", engine::severityName(f.severity));
  add("RAMPART_NAMESPACE", f.workload ? f.workload->namespace_ : f.subject.namespace_);
  add("RAMPART_WORKLOAD_KIND", f.workload ? f.workload->kind : "");
  add("RAMPART_WORKLOAD_NAME", f.workload ? f.workload->name : "");
  add("RAMPART_NODE", f.node);
  add("RAMPART_ZONE", f.zone);
  add("RAMPART_SUBJECT_KIND", f.subject.kind);
  add("RAMPART_SUBJECT_NAMESPACE", f.subject.namespace_);
  add("RAMPART_SUBJECT_NAME", f.subject.name);
  add("RAMPART_DRY_RUN", hook.dry_run ? "true" : "false");
  add("RAMPART_SOURCE", alert != nullptr ? "alertmanager" : "findings");
  if (alert != nullptr) {
    add("RAMPART_ALERT_NAME", alert->alertname());
    add("RAMPART_ALERT_FINGERPRINT", alert->fingerprint);
    add("RAMPART_ALERT_STARTS_AT", alert->starts_at);
    add("RAMPART_ALERT_GENERATOR_URL", alert->generator_url);
    add("RAMPART_ALERT_LABELS", dumpJson(nlohmann::ordered_json(alert->labels)));
    add("RAMPART_ALERT_ANNOTATIONS", dumpJson(nlohmann::ordered_json(alert->annotations)));
  }
  return env;
}

Result<std::unique_ptr<HookRunner>> makeHookRunner(const std::string& hooks_path, bool leader,
                                                   const std::filesystem::path& db_path,
                                                   const std::string& cluster,
                                                   const std::string& kubeconfig,
                                                   prometheus::Registry& registry, Logger log,
                                                   std::shared_ptr<WriteGate> write_gate) {
  if (hooks_path.empty()) return std::unique_ptr<HookRunner>();
  auto config = loadHooksConfig(hooks_path);
  if (!config) return std::unexpected(config.error());
  HookRunnerOptions options;
  options.config = std::move(*config);
  options.leader = leader;
  options.db_path = db_path;
  options.write_gate = std::move(write_gate);
  options.cluster = cluster;
  if (!kubeconfig.empty()) options.kubeconfig = std::filesystem::absolute(kubeconfig).string();
  log->info("hooks: {} loaded from {}{}", options.config.hooks.size(), hooks_path,
            leader ? "" : " (not the leader: none will run)");
  return HookRunner::create(std::move(options), registry, std::move(log));
}

Result<std::unique_ptr<HookRunner>> HookRunner::create(HookRunnerOptions options,
                                                       prometheus::Registry& registry, Logger log) {
  if (!options.clock) options.clock = unixMillisNow;
  std::unique_ptr<Store> store;
  if (options.leader) {
    auto s = Store::open(options.db_path, options.write_gate);
    if (!s) return std::unexpected(s.error());
    store = std::move(*s);
  }
  std::unique_ptr<HookRunner> runner(
      new HookRunner(std::move(options), std::move(store), registry, std::move(log)));
  if (runner->store_) {
    if (auto r = runner->restore(); !r) return std::unexpected(r.error());
  }
  return runner;
}

HookRunner::HookRunner(HookRunnerOptions options, std::unique_ptr<Store> store,
                       prometheus::Registry& registry, Logger log)
    : options_(std::move(options)),
      store_(std::move(store)),
      log_(std::move(log)),
      policy_(options_.config),
      runs_(prometheus::BuildCounter()
                .Name("rampart_hook_runs_total")
                .Help("Remediation hook runs by hook and result (success, failure, timeout, "
                      "dry_run, skipped_cooldown, skipped_concurrency, skipped_rate).")
                .Labels({{"cluster", options_.cluster}})
                .Register(registry)),
      running_gauge_(prometheus::BuildGauge()
                         .Name("rampart_hook_running")
                         .Help("Hook processes running now, by hook.")
                         .Labels({{"cluster", options_.cluster}})
                         .Register(registry)),
      counters_(options_.config.hooks.size()),
      running_(options_.config.hooks.size(), 0) {
  for (size_t h = 0; h < options_.config.hooks.size(); ++h) {
    const std::string& name = options_.config.hooks[h].name;
    for (const char* r : kResults) counters_[h][r] = &runs_.Add({{"hook", name}, {"result", r}});
    running_gauge_.Add({{"hook", name}}).Set(0);
  }
}

HookRunner::~HookRunner() {
  stop();
}

Result<void> HookRunner::restore() {
  std::map<std::string, size_t> index;
  for (size_t h = 0; h < options_.config.hooks.size(); ++h) {
    index[options_.config.hooks[h].name] = h;
  }
  // The newest row of each (hook, finding key) says whether its occurrence
  // is still open (no resolved_ms) and when it last started.
  auto s = store_->prepare(
      "SELECT hook, finding_key, MAX(id), started_ms, "
      "json_extract(detail, '$.resolved_ms') IS NULL, "
      "IFNULL(json_extract(detail, '$.alert.startsAt'), '') FROM hook_runs "
      "GROUP BY hook, finding_key");
  if (!s) return std::unexpected(s.error());
  size_t open = 0;
  while (true) {
    auto row = s->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    auto it = index.find(s->text(0));
    if (it == index.end()) continue;
    const bool is_open = s->integer(4) != 0;
    open += is_open ? 1 : 0;
    const std::string key = s->text(1);
    if (key.starts_with("alert|")) {
      policy_.restoreAlertOccurrence(it->second, key, s->text(5), s->integer(3), is_open);
    } else {
      policy_.restoreOccurrence(it->second, key, s->integer(3), is_open);
    }
  }
  auto starts = store_->prepare("SELECT hook, started_ms FROM hook_runs WHERE started_ms > ?1");
  if (!starts) return std::unexpected(starts.error());
  starts->bind(1, now() - kHourMs);
  while (true) {
    auto row = starts->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    auto it = index.find(starts->text(0));
    if (it != index.end()) policy_.restoreStart(it->second, starts->integer(1));
  }
  // Runs the last aggregator did not see end (it was killed: its hooks died
  // with it, PR_SET_PDEATHSIG) stay without ended_ms; say so, once.
  if (auto r = store_->exec(
          "UPDATE hook_runs SET detail = json_set(detail, '$.interrupted', json('true')) "
          "WHERE ended_ms IS NULL AND json_extract(detail, '$.interrupted') IS NULL");
      !r) {
    return r;
  }
  if (auto changed = store_->prepare("SELECT changes()");
      changed && changed->step().value_or(false)) {
    if (const int64_t n = changed->integer(0); n > 0) {
      log_->warn("hooks: {} run(s) interrupted by the previous aggregator's end recorded as such",
                 n);
    }
  }
  if (open > 0) log_->info("hooks: {} handled findings restored from the store", open);
  return {};
}

void HookRunner::start() {
  if (!options_.leader) {
    log_->info("hooks: {} configured, not run: this aggregator is not the leader (--hooks-leader)",
               options_.config.hooks.size());
    return;
  }
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void HookRunner::stop() {
  {
    // Under the lock: the runner thread checks it between waits.
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HookRunner::update(std::shared_ptr<const engine::Report> report, int64_t now_ms) {
  if (!options_.leader || !report) return;
  {
    std::lock_guard lock(mu_);
    pending_ = std::move(report);
    pending_ms_ = now_ms;
  }
  wake_.notify_all();
}

bool HookRunner::waitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return idle_.wait_for(lock, timeout, [this] {
    int total = 0;
    for (int n : running_) total += n;
    return !pending_ && done_.empty() && alert_batches_.empty() && total == 0 && busy_ == 0;
  });
}

HookRunner::AlertDelivery HookRunner::deliverAlerts(std::vector<HookAlert> alerts,
                                                    std::chrono::milliseconds wait) {
  AlertDelivery out;
  out.leader = options_.leader;
  if (!options_.leader || alerts.empty()) {
    out.planned = true;
    return out;
  }
  auto batch = std::make_shared<AlertBatch>();
  batch->alerts = std::move(alerts);
  std::unique_lock lock(mu_);
  if (stopping_) return out;
  alert_batches_.push_back(batch);
  wake_.notify_all();
  alerts_planned_.wait_for(lock, wait, [&] { return batch->done || stopping_.load(); });
  out.planned = batch->done;
  if (batch->done) out.outcomes = std::move(batch->outcomes);
  return out;
}

std::vector<std::string> HookRunner::ownFindingKeys(const HookAlert& alert) {
  std::vector<std::string> keys;
  // The alerts table says which finding the aggregator sent this alert for.
  if (auto s = store_->prepare("SELECT finding_key FROM alerts WHERE fingerprint = ?1"); s) {
    s->bind(1, alert.fingerprint);
    while (s->step().value_or(false)) keys.push_back(s->text(0));
  }
  // And the latest report's findings of the same check and subject.
  if (planned_) {
    auto check = alert.labels.find("check");
    auto subject = alert.labels.find("subject");
    if (check != alert.labels.end() && subject != alert.labels.end()) {
      for (const auto& f : planned_->findings) {
        if (f.check == check->second && f.subject.str() == subject->second) {
          keys.push_back(engine::findingKey(f));
        }
      }
    }
  }
  return keys;
}

void HookRunner::count(size_t hook, std::string_view result) {
  auto it = counters_[hook].find(result);
  if (it != counters_[hook].end()) it->second->Increment();
}

void HookRunner::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.recheck, [this] {
      return stopping_ || pending_ != nullptr || !done_.empty() || !alert_batches_.empty();
    });
    if (stopping_) break;
    busy_ = 1;
    while (!done_.empty()) {
      Completion c = std::move(done_.front());
      done_.pop_front();
      lock.unlock();
      finish(std::move(c));
      lock.lock();
    }
    if (pending_) planned_ = std::move(pending_);
    if (planned_) planLocked(lock);
    planAlertsLocked(lock);
    busy_ = 0;
    idle_.notify_all();
  }
  // Deliveries not planned get their answer now (nothing ran for them).
  alert_batches_.clear();
  alerts_planned_.notify_all();
  // Running hooks see stopping_ and terminate their groups.
  std::map<uint64_t, std::thread> workers = std::move(workers_);
  workers_.clear();
  lock.unlock();
  for (auto& [id, w] : workers) w.join();
  lock.lock();
  while (!done_.empty()) {
    Completion c = std::move(done_.front());
    done_.pop_front();
    lock.unlock();
    finish(std::move(c));
    lock.lock();
  }
  idle_.notify_all();
}

void HookRunner::planLocked(std::unique_lock<std::mutex>& lock) {
  std::vector<int> running = running_;
  auto report = planned_;
  lock.unlock();
  const int64_t now_ms = now();
  apply(policy_.plan(*report, now_ms, running), now_ms);
  lock.lock();
}

void HookRunner::planAlertsLocked(std::unique_lock<std::mutex>& lock) {
  std::deque<std::shared_ptr<AlertBatch>> batches = std::move(alert_batches_);
  alert_batches_.clear();
  std::vector<int> running = running_;
  lock.unlock();
  const int64_t now_ms = now();
  for (auto& batch : batches) {
    for (auto& a : batch->alerts) {
      if (a.own && a.firing()) a.own_keys = ownFindingKeys(a);
    }
    HookPlan plan = policy_.planAlerts(batch->alerts, planned_.get(), now_ms, running);
    for (const auto& s : plan.starts) ++running[s.hook];
    batch->outcomes = plan.alert_outcomes;
    for (const auto& o : plan.alert_outcomes) {
      const HookAlert& a = batch->alerts[o.alert];
      if (o.result == "already_handled" || o.result == "handled_by_finding") {
        log_->debug("hooks: {} for alert {} ({}): {}", options_.config.hooks[o.hook].name,
                    a.alertname(), a.fingerprint, o.result);
      }
    }
    apply(plan, now_ms);
  }
  {
    std::lock_guard inner(mu_);
    running = running_;
    for (auto& batch : batches) batch->done = true;
  }
  alerts_planned_.notify_all();
  apply(policy_.planWaitingAlerts(now_ms, running), now_ms);
  lock.lock();
}

void HookRunner::apply(const HookPlan& plan, int64_t now_ms) {
  if (!plan.resolved.empty()) recordResolved(plan.resolved, now_ms);
  for (const auto& skip : plan.skips) {
    count(skip.hook, hookSkipName(skip.reason));
    const std::string& name = options_.config.hooks[skip.hook].name;
    logFields(log_, spdlog::level::info, runFields(name, skip.key), "hooks: {} for {} waits ({})",
              name, skip.key, hookSkipName(skip.reason));
  }
  for (const auto& start : plan.starts) launch(start, now_ms);
}

// One write transaction for the resolutions (the store's write gate).
void HookRunner::recordResolved(const std::vector<HookPlan::Resolved>& resolved, int64_t now_ms) {
  Store::Transaction tx(*store_);
  for (const auto& r : resolved) {
    auto s = store_->prepare(
        "UPDATE hook_runs SET detail = json_set(detail, '$.resolved_ms', ?1) WHERE id = "
        "(SELECT MAX(id) FROM hook_runs WHERE hook = ?2 AND finding_key = ?3)");
    if (s) {
      auto done =
          s->bind(1, now_ms).bind(2, options_.config.hooks[r.hook].name).bind(3, r.key).run();
      if (!done) s = std::unexpected(done.error());
    }
    if (!s)
      warnLimited(log_, warn_limiter_, "store",
                  "hooks: cannot record a resolution: " + s.error().message);
  }
  if (auto c = tx.commit(); !c) {
    warnLimited(log_, warn_limiter_, "store",
                "hooks: cannot record a resolution: " + c.error().message);
  }
}

void HookRunner::launch(const HookPlan::Start& start, int64_t now_ms) {
  const HookSpec& hook = options_.config.hooks[start.hook];
  const engine::Finding& f = *start.finding;
  nlohmann::ordered_json detail;
  detail["schema"] = kHookSchema;
  detail["severity"] = engine::severityName(f.severity);
  detail["subject"] = engine::refToJson(f.subject);
  detail["workload"] = f.workload ? engine::refToJson(*f.workload) : nlohmann::ordered_json();
  detail["node"] = f.node;
  detail["zone"] = f.zone;
  detail["message"] = f.message;
  detail["argv"] = hook.command;
  detail["source"] = start.alert ? "alertmanager" : "findings";
  if (start.alert) detail["alert"] = hookAlertJson(*start.alert);
  Store::Transaction tx(*store_);
  auto insert = store_->prepare(
      "INSERT INTO hook_runs(hook, finding_key, check_id, started_ms, ended_ms, exit_code, signal, "
      "timed_out, dry_run, output, detail) VALUES(?1, ?2, ?3, ?4, NULLIF(?5, -1), NULL, NULL, 0, "
      "?6, '', ?7)");
  int64_t row = -1;
  if (insert) {
    auto r = insert->bind(1, hook.name)
                 .bind(2, start.key)
                 .bind(3, f.check)
                 .bind(4, now_ms)
                 .bind(5, hook.dry_run ? now_ms : int64_t{-1})
                 .bind(6, int64_t{hook.dry_run})
                 .bind(7, dumpJson(detail))
                 .run();
    if (r) {
      auto id = store_->prepare("SELECT last_insert_rowid()");
      if (id && id->step().value_or(false)) row = id->integer(0);
    } else {
      insert = std::unexpected(r.error());
    }
  }
  if (auto c = tx.commit(); !c) insert = std::unexpected(c.error());
  if (!insert) {
    warnLimited(log_, warn_limiter_, "store",
                "hooks: cannot record a run of " + hook.name + ": " + insert.error().message);
  }
  if (hook.dry_run) {
    count(start.hook, "dry_run");
    logFields(log_, spdlog::level::info, runFields(hook.name, start.key),
              "hooks: {} for {}: dry run, not executed", hook.name, start.key);
    return;
  }
  ProcessSpec spec;
  spec.argv = hook.command;
  spec.env =
      hookEnvironment(hook, f, start.key, options_.cluster, options_.kubeconfig, start.alert.get());
  spec.stdin_data = hookPayload(hook, f, start.key, options_.cluster, now_ms, start.alert.get());
  spec.timeout = hook.timeout;
  spec.kill_grace = hook.kill_grace;
  spec.max_output = options_.max_output;
  logFields(log_, spdlog::level::info, runFields(hook.name, start.key), "hooks: running {} for {}",
            hook.name, start.key);
  std::lock_guard lock(mu_);
  ++running_[start.hook];
  running_gauge_.Add({{"hook", hook.name}}).Set(running_[start.hook]);
  const uint64_t id = next_worker_++;
  workers_[id] =
      std::thread([this, id, h = start.hook, row, key = start.key, spec = std::move(spec)] {
        ProcessResult result = runProcess(spec, stopping_);
        {
          std::lock_guard inner(mu_);
          done_.push_back(Completion{h, row, id, key, std::move(result)});
        }
        wake_.notify_all();
      });
}

void HookRunner::finish(Completion c) {
  const HookSpec& hook = options_.config.hooks[c.hook];
  const ProcessResult& r = c.result;
  std::thread worker;
  {
    std::lock_guard lock(mu_);
    --running_[c.hook];
    running_gauge_.Add({{"hook", hook.name}}).Set(running_[c.hook]);
    // The finished worker is returning; join it so that threads do not pile up.
    if (auto it = workers_.find(c.worker); it != workers_.end()) {
      worker = std::move(it->second);
      workers_.erase(it);
    }
  }
  if (worker.joinable()) worker.join();
  const std::string result = resultOf(r);
  count(c.hook, result);
  const int64_t ended = now();
  std::string output = r.output;
  if (r.output_bytes > r.output.size()) {
    output += "\n[rampart: output truncated, " + std::to_string(r.output_bytes) + " bytes in all]";
  }
  nlohmann::ordered_json patch = nlohmann::ordered_json::object();
  patch["result"] = result;
  patch["pid"] = r.pid;
  patch["output_bytes"] = r.output_bytes;
  if (!r.started) patch["error"] = r.error;
  if (r.stopped) {
    // The aggregator is stopping (SIGTERM): the hook was terminated, not done.
    patch["stopped"] = true;
    patch["interrupted"] = true;
  }
  Store::Transaction tx(*store_);
  auto s = store_->prepare(
      "UPDATE hook_runs SET ended_ms = ?1, exit_code = NULLIF(?2, -1), signal = NULLIF(?3, -1), "
      "timed_out = ?4, output = ?5, detail = json_patch(detail, ?6) WHERE id = ?7");
  if (s) {
    auto done = s->bind(1, ended)
                    .bind(2, int64_t{r.exit_code.value_or(-1)})
                    .bind(3, int64_t{r.signal.value_or(-1)})
                    .bind(4, int64_t{r.timed_out})
                    .bind(5, output)
                    .bind(6, dumpJson(patch))
                    .bind(7, c.row)
                    .run();
    if (!done) s = std::unexpected(done.error());
  }
  if (auto committed = tx.commit(); !committed && s) s = std::unexpected(committed.error());
  if (!s) {
    warnLimited(log_, warn_limiter_, "store",
                "hooks: cannot record the end of " + hook.name + ": " + s.error().message);
  }
  if (result == "success") {
    logFields(log_, spdlog::level::info, runFields(hook.name, c.key), "hooks: {} for {} succeeded",
              hook.name, c.key);
  } else {
    std::string why = !r.started    ? r.error
                      : r.timed_out ? "timed out after " + std::to_string(hook.timeout.count()) +
                                          " ms, process group killed"
                      : r.exit_code ? "exit code " + std::to_string(*r.exit_code)
                      : r.signal    ? "killed by signal " + std::to_string(*r.signal)
                                    : "unknown";
    if (long suppressed = warn_limiter_.allow("run:" + hook.name); suppressed >= 0) {
      logFields(log_, spdlog::level::warn, runFields(hook.name, c.key),
                "hooks: {} for {} failed: {}{}", hook.name, c.key, why,
                suppressed > 0 ? " (" + std::to_string(suppressed) + " similar messages suppressed)"
                               : std::string());
    }
  }
}

}  // namespace rampart::aggregator
