#include "state/engine_runner.h"

#include "rampart/engine_input.h"
#include "rampart/time.h"
#include "state/probe_inputs.h"

namespace rampart::aggregator {

bool EvaluationGate::changed(const Seen& seen, int64_t wall_ms) const {
  if (!last_ || !(*last_ == seen)) return true;
  return !seen.silent.empty() && wall_ms / 1000 != last_second_;
}

bool EvaluationGate::due(const Seen& seen, int64_t wall_ms, int64_t steady_ms) const {
  return changed(seen, wall_ms) && steady_ms >= next_steady_ms_;
}

void EvaluationGate::evaluated(Seen seen, int64_t wall_ms, int64_t ended_steady_ms,
                               int64_t took_ms) {
  last_ = std::move(seen);
  last_second_ = wall_ms / 1000;
  next_steady_ms_ = ended_steady_ms + std::max(interval_ms_, 2 * took_ms);
}

int64_t EvaluationGate::waitMs(bool changed, int64_t steady_ms, int64_t tick_ms) const {
  if (changed && steady_ms < next_steady_ms_) {
    return std::min(tick_ms, next_steady_ms_ - steady_ms + 1);
  }
  return tick_ms;
}

std::vector<std::string> DepartedTracker::update(const std::map<std::string, bool>& agents,
                                                 const std::set<std::string>& api_nodes,
                                                 int64_t now_ms) {
  std::erase_if(absent_since_, [&](const auto& e) { return !agents.contains(e.first); });
  std::vector<std::string> out;
  for (const auto& [name, connected] : agents) {
    if (api_nodes.contains(name) || connected) {
      absent_since_.erase(name);
      continue;
    }
    auto [it, fresh] = absent_since_.try_emplace(name, now_ms);
    if (!fresh && now_ms - it->second >= grace_ms_) out.push_back(name);
  }
  return out;
}

std::shared_ptr<const engine::Report> LatestReport::get() const {
  std::lock_guard lock(mu_);
  return report_;
}

void LatestReport::set(std::shared_ptr<const engine::Report> report) {
  std::lock_guard lock(mu_);
  report_ = std::move(report);
}

std::set<std::string> silentNodes(const ClusterState& state, int64_t now_ms,
                                  int missed_heartbeats) {
  std::set<std::string> out;
  for (const auto& [name, rec] : state.nodes()) {
    if (agentSilent(rec, now_ms, missed_heartbeats)) out.insert(name);
  }
  return out;
}

engine::Snapshot assembleSnapshot(const ClusterState& state, const k8s::Objects* api,
                                  int64_t now_ms, int missed_heartbeats) {
  return assembleSnapshot(state, api ? std::optional<k8s::Objects>(*api) : std::nullopt, now_ms,
                          missed_heartbeats);
}

engine::Snapshot assembleSnapshot(const ClusterState& state, std::optional<k8s::Objects> api,
                                  int64_t now_ms, int missed_heartbeats) {
  const int64_t now_unix = now_ms / 1000;
  std::set<std::string> silent = silentNodes(state, now_ms, missed_heartbeats);
  if (!api) {
    engine::Snapshot s;
    s.now_unix = now_unix;
    for (const auto& [name, rec] : state.nodes()) {
      s.nodes.push_back(rec.identity.node);
      for (const auto& [uid, pod] : rec.pods) s.pods.push_back(pod);
    }
    fillProbeInputs(state, silent, s);
    s.silent_nodes = std::move(silent);
    s.partial = true;
    s.input_warnings.push_back(
        "controllers, PDBs, HPAs, Services, volumes and backups are unknown (no --kubeconfig or "
        "--in-cluster, or not every kind listed yet): only the agents' nodes and pods were "
        "evaluated");
    return s;
  }
  std::set<std::string> api_nodes;
  for (const auto& n : api->nodes) api_nodes.insert(n.name);
  std::vector<Pod> api_pods = std::move(api->pods);
  api->pods.clear();
  engine::Snapshot s = engine::snapshotOf(std::move(*api), now_unix);
  // A node's pods as its agent reports them; the API server's for nodes
  // without an agent and for agents that have not listed their pods yet.
  for (Pod& pod : api_pods) {
    const NodeRecord* rec = state.node(pod.node_name);
    if (rec == nullptr || rec->pods_unknown) s.pods.push_back(std::move(pod));
  }
  for (const auto& [name, rec] : state.nodes()) {
    if (!api_nodes.contains(name)) continue;
    if (!rec.pods_unknown) {
      for (const auto& [uid, pod] : rec.pods) s.pods.push_back(pod);
    }
    if (silent.contains(name)) s.silent_nodes.insert(name);
  }
  fillProbeInputs(state, silent, s);
  // Only silent nodes' leases matter to the engine (liveness); the others are
  // renewed every 10 s and would make every renewal a change.
  std::erase_if(s.node_leases,
                [&](const NodeLease& l) { return !s.silent_nodes.contains(l.name); });
  return s;
}

EngineRunner::EngineRunner(EngineRunnerOptions options, LiveModel& model, Metrics& metrics,
                           LatestReport& latest, Logger log)
    : options_(std::move(options)),
      model_(model),
      metrics_(metrics),
      departed_(options_.departed_grace.count()),
      latest_(latest),
      log_(std::move(log)),
      incremental_(options_.engine) {}

EngineRunner::~EngineRunner() {
  stop();
}

void EngineRunner::start() {
  if (options_.credentials) {
    log_->info(
        "engine: evaluating the agents' model with the API objects of {} (list and watch, full "
        "relist every {} s)",
        options_.credentials->server, options_.api_resync.count());
    k8s::ObjectCacheOptions cache_opts;
    cache_opts.request_timeout = options_.request_timeout;
    cache_opts.resync = options_.api_resync;
    cache_opts.watch_window = options_.watch_window;
    cache_opts.user_agent = "rampart-aggregator/" RAMPART_VERSION;
    k8s::ObjectCacheHooks hooks;
    hooks.changed = [this] { wake_.notify_all(); };
    hooks.watch_event = [this](std::string_view resource) { metrics_.apiWatchEvent(resource); };
    hooks.relisted = [this](std::string_view resource, k8s::RelistReason reason) {
      metrics_.apiRelisted(resource, k8s::relistReasonName(reason));
    };
    hooks.request_failed = [this](std::string_view) { metrics_.apiError(); };
    cache_ = std::make_unique<k8s::ObjectCache>(*options_.credentials, cache_opts, log_,
                                                std::move(hooks));
    cache_->start();
  } else {
    log_->warn(
        "engine: no --kubeconfig or --in-cluster; evaluating the agents' nodes and pods "
        "alone (controllers, PDBs and Services unknown)");
  }
  thread_ = std::thread([this] { run(); });
}

void EngineRunner::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cancel_.request_stop();
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (cache_) cache_->stop();
}

void EngineRunner::evaluate(int64_t now_ms) {
  // Copied outside the model's lock: ingest is not held up by the copy.
  std::optional<k8s::Objects> api = cache_ ? cache_->objects() : std::nullopt;
  // Decided by this copy, not by asking the cache again later: it may finish
  // its first lists while this (agents-only) snapshot is evaluated.
  bool complete_view = !cache_ || api.has_value();
  if (cache_) {
    // Nothing consumes the deltas yet (the engine evaluates whole snapshots);
    // draining keeps the cache's change log from growing with every deletion.
    auto changes = cache_->drainChanges();
    if (!changes.empty()) log_->debug("engine: {} API object changes", changes.size());
  }
  std::set<std::string> api_nodes;
  if (api) {
    for (const auto& n : api->nodes) api_nodes.insert(n.name);
  }
  engine::Snapshot snapshot;
  {
    std::lock_guard lock(model_.mu);
    if (api) noteDeparted(api_nodes, now_ms);
    snapshot = assembleSnapshot(model_.state, std::move(api), now_ms, options_.missed_heartbeats);
    // After a restart, until every restored node's agent spoke again or had
    // its grace, the view is not complete either (docs/checks.md, "Unknown is
    // not a finding"): observers neither open nor resolve anything.
    if (model_.state.awaitingAgents(now_ms) > 0) complete_view = false;
  }
  if (options_.etcd_source) snapshot.etcd = options_.etcd_source();
  metrics_.nodesEvaluated(snapshot.nodes);
  auto started = std::chrono::steady_clock::now();
  // Only the namespaces whose objects changed since the last evaluation are
  // re-evaluated (docs/incremental.md); the report equals a full evaluation.
  incremental_.sync(std::move(snapshot));
  // Shared, not copied: the report of 150k pods takes about a second to copy.
  // stop() cancels it: a cancelled evaluation is neither published nor seen
  // by the observers (no history, alert or hook acts on half a report).
  auto evaluated = incremental_.tryReportShared(cancel_.get_token());
  if (!evaluated) {
    std::chrono::duration<double> after = std::chrono::steady_clock::now() - started;
    log_->info("engine: evaluation cancelled after {:.1f} s (stopping); nothing published",
               after.count());
    return;
  }
  std::shared_ptr<const engine::Report> report = std::move(*evaluated);
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  metrics_.evaluated(*report, took.count());
  // Observers (history, alerts, hooks) act on complete views only: until every
  // API kind has been listed, findings would come and go with the listing;
  // until restored agents reconnected, with their reconnection.
  if (complete_view) {
    for (const auto& observer : options_.on_report) observer(report, now_ms);
  }
  latest_.set(std::move(report));
}

void EngineRunner::noteDeparted(const std::set<std::string>& api_nodes, int64_t now_ms) {
  std::map<std::string, bool> agents;
  for (const auto& [name, rec] : model_.state.nodes()) {
    agents.emplace(name, agentConnected(rec, now_ms, options_.missed_heartbeats));
  }
  for (std::string& name : departed_.update(agents, api_nodes, now_ms)) {
    model_.departed.insert(std::move(name));
  }
}

void EngineRunner::run() {
  EvaluationGate gate(options_.engine_interval.count());
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (stopping_) return;
    }
    // The cache's generation moves with every change of the objects; a kind
    // that finishes its first list moves it too.
    EvaluationGate::Seen seen;
    seen.api = cache_ ? cache_->generation() : 0;
    seen.synced = cache_ && cache_->synced();
    seen.etcd = options_.etcd_generation ? options_.etcd_generation() : 0;
    if (cache_ && (!gate.last() || gate.last()->synced != seen.synced)) {
      metrics_.apiSynced(seen.synced);
    }
    const int64_t now_ms = options_.wall_clock();
    {
      std::lock_guard lock(model_.mu);
      seen.model = model_.state.generation();
      seen.silent = silentNodes(model_.state, now_ms, options_.missed_heartbeats);
    }
    const bool changed = gate.changed(seen, now_ms);
    if (gate.due(seen, now_ms, options_.steady_clock()) && !cancel_.stop_requested()) {
      const int64_t began = options_.steady_clock();
      evaluate(now_ms);
      const int64_t ended = options_.steady_clock();
      gate.evaluated(std::move(seen), now_ms, ended, ended - began);
    }
    std::unique_lock lock(mu_);
    // Woken early by a cache change; the 100 ms tick notices agents' changes
    // and silence.
    const int64_t wait = gate.waitMs(changed, options_.steady_clock(), 100);
    wake_.wait_for(lock, std::chrono::milliseconds(wait), [this] { return stopping_; });
  }
}

}  // namespace rampart::aggregator
