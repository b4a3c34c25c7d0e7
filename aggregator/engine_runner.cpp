#include "engine_runner.h"

#include "rampart/engine_input.h"

#include "rampart/cluster_reader.h"

namespace rampart::aggregator {
namespace {

int64_t wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

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
    if (!agentConnected(rec, now_ms, missed_heartbeats)) out.insert(name);
  }
  return out;
}

engine::Snapshot assembleSnapshot(const ClusterState& state, const k8s::Objects* api,
                                  int64_t now_ms, int missed_heartbeats) {
  const int64_t now_unix = now_ms / 1000;
  std::set<std::string> silent = silentNodes(state, now_ms, missed_heartbeats);
  if (api == nullptr) {
    engine::Snapshot s;
    s.now_unix = now_unix;
    for (const auto& [name, rec] : state.nodes()) {
      s.nodes.push_back(rec.identity.node);
      for (const auto& [uid, pod] : rec.pods) s.pods.push_back(pod);
    }
    s.silent_nodes = std::move(silent);
    s.partial = true;
    s.input_warnings.push_back(
        "controllers, PDBs, HPAs, Services, volumes and backups are unknown (no --kubeconfig or "
        "--in-cluster, or no successful API read yet): only the agents' nodes and pods were "
        "evaluated");
    return s;
  }
  // Copied: the API read stays for the next evaluation.
  k8s::Objects objects = *api;
  std::vector<Pod> api_pods = std::move(objects.pods);
  objects.pods.clear();
  engine::Snapshot s = engine::snapshotOf(std::move(objects), now_unix);
  std::set<std::string> api_nodes;
  for (const auto& n : api->nodes) api_nodes.insert(n.name);
  for (Pod& pod : api_pods) {
    if (state.node(pod.node_name) == nullptr) s.pods.push_back(std::move(pod));
  }
  for (const auto& [name, rec] : state.nodes()) {
    if (!api_nodes.contains(name)) continue;
    for (const auto& [uid, pod] : rec.pods) s.pods.push_back(pod);
    if (silent.contains(name)) s.silent_nodes.insert(name);
  }
  return s;
}

EngineRunner::EngineRunner(EngineRunnerOptions options, LiveModel& model, Metrics& metrics,
                           LatestReport& latest, Logger log)
    : options_(std::move(options)),
      model_(model),
      metrics_(metrics),
      latest_(latest),
      log_(std::move(log)),
      limiter_(std::chrono::seconds(60)) {}

EngineRunner::~EngineRunner() {
  stop();
}

void EngineRunner::start() {
  if (options_.credentials) {
    log_->info(
        "engine: evaluating the agents' model with the API objects of {} (relisted every {} s)",
        options_.credentials->server,
        std::chrono::duration_cast<std::chrono::seconds>(options_.api_resync).count());
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
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EngineRunner::readApi(KubeClient& client) {
  auto objects = k8s::readCluster(client, {.request_timeout = options_.request_timeout});
  if (!objects) {
    metrics_.apiError();
    if (long suppressed = limiter_.allow("api"); suppressed >= 0) {
      log_->warn("reading the API server failed ({} similar suppressed), keeping the {}: {}",
                 suppressed, api_ ? "last good objects" : "agents' view alone",
                 objects.error().describe());
    }
    return;
  }
  api_ = std::move(*objects);
  ++api_generation_;
}

void EngineRunner::evaluate(int64_t now_ms) {
  engine::Snapshot snapshot;
  {
    std::lock_guard lock(model_.mu);
    snapshot =
        assembleSnapshot(model_.state, api_ ? &*api_ : nullptr, now_ms, options_.missed_heartbeats);
  }
  auto started = std::chrono::steady_clock::now();
  auto report = std::make_shared<const engine::Report>(engine::evaluate(snapshot, options_.engine));
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  metrics_.evaluated(*report, took.count());
  latest_.set(std::move(report));
}

void EngineRunner::run() {
  using Clock = std::chrono::steady_clock;
  std::unique_ptr<KubeClient> client;
  if (options_.credentials) {
    client =
        std::make_unique<KubeClient>(*options_.credentials, "rampart-aggregator/" RAMPART_VERSION);
  }
  Clock::time_point next_read{}, next_eval{};
  std::optional<uint64_t> seen_model, seen_api;
  std::set<std::string> seen_silent;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (stopping_) return;
    }
    auto now = Clock::now();
    if (client && now >= next_read) {
      readApi(*client);
      next_read = Clock::now() + options_.api_resync;
    }
    int64_t now_ms = wallMs();
    uint64_t model_generation = 0;
    std::set<std::string> silent;
    {
      std::lock_guard lock(model_.mu);
      model_generation = model_.state.generation();
      silent = silentNodes(model_.state, now_ms, options_.missed_heartbeats);
    }
    bool changed =
        seen_model != model_generation || seen_api != api_generation_ || seen_silent != silent;
    if (changed && Clock::now() >= next_eval) {
      evaluate(now_ms);
      seen_model = model_generation;
      seen_api = api_generation_;
      seen_silent = std::move(silent);
      next_eval = Clock::now() + options_.engine_interval;
    }
    std::unique_lock lock(mu_);
    wake_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_; });
  }
}

}  // namespace rampart::aggregator
