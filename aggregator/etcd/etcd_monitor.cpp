#include "etcd/etcd_monitor.h"

#include <algorithm>

#include "rampart/time.h"

namespace rampart::aggregator {
namespace {

// An error message fit for one line of a finding.
std::string oneLine(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  if (s.size() > 200) s = s.substr(0, 200) + "...";
  return s;
}

std::string memberLabel(const engine::EtcdMemberState& m) {
  return !m.name.empty() ? m.name : !m.id.empty() ? m.id : m.endpoint;
}

engine::EtcdObservation withoutTime(engine::EtcdObservation o) {
  o.observed_at_unix = 0;
  return o;
}

}  // namespace

Result<std::unique_ptr<EtcdMonitor>> EtcdMonitor::create(EtcdMonitorOptions options,
                                                         prometheus::Registry& registry,
                                                         Logger log) {
  auto client = etcd::makeHttpClient(options.tls);
  if (!client) {
    return fail(ErrorCode::kConfig,
                "--etcd-cacert/--etcd-cert/--etcd-key: " + client.error().message);
  }
  return std::unique_ptr<EtcdMonitor>(
      new EtcdMonitor(std::move(options), std::move(*client), registry, std::move(log)));
}

EtcdMonitor::EtcdMonitor(EtcdMonitorOptions options, std::unique_ptr<etcd::HttpClient> client,
                         prometheus::Registry& registry, Logger log)
    : options_(std::move(options)),
      client_(std::move(client)),
      log_(std::move(log)),
      window_(options_.leader_window),
      members_(prometheus::BuildGauge()
                   .Name("rampart_etcd_members")
                   .Help("etcd members by state as the prober sees them (healthy, down).")
                   .Labels({{"cluster", options_.cluster}})
                   .Register(registry)),
      members_healthy_(members_.Add({{"state", "healthy"}})),
      members_down_(members_.Add({{"state", "down"}})),
      has_leader_(prometheus::BuildGauge()
                      .Name("rampart_etcd_has_leader")
                      .Help("1 when a healthy etcd member names a leader, else 0.")
                      .Labels({{"cluster", options_.cluster}})
                      .Register(registry)
                      .Add({})),
      leader_changes_(prometheus::BuildGauge()
                          .Name("rampart_etcd_leader_changes_window")
                          .Help("etcd leader changes one member saw within the prober's window "
                                "(10 min).")
                          .Labels({{"cluster", options_.cluster}})
                          .Register(registry)
                          .Add({})),
      probe_errors_(prometheus::BuildCounter()
                        .Name("rampart_etcd_probe_errors_total")
                        .Help("Failed etcd probe requests (transport, HTTP status, unparsable "
                              "answer) by endpoint.")
                        .Labels({{"cluster", options_.cluster}})
                        .Register(registry)),
      snapshot_age_(prometheus::BuildGauge()
                        .Name("rampart_etcd_snapshot_age_seconds")
                        .Help("Age of the newest etcd snapshot (absent when none was found).")
                        .Labels({{"cluster", options_.cluster}})
                        .Register(registry)),
      apiserver_instances_(prometheus::BuildGauge()
                               .Name("rampart_apiserver_instances")
                               .Help("API server instances (--apiserver-endpoint) by /readyz "
                                     "state (healthy, unhealthy).")
                               .Labels({{"cluster", options_.cluster}})
                               .Register(registry)),
      apiserver_healthy_(apiserver_instances_.Add({{"state", "healthy"}})),
      apiserver_unhealthy_(apiserver_instances_.Add({{"state", "unhealthy"}})) {
  for (const std::string& ep : options_.etcd_endpoints) probe_errors_.Add({{"endpoint", ep}});
  for (const std::string& ep : options_.apiserver_endpoints) {
    KubeCredentials creds =
        options_.apiserver_credentials ? *options_.apiserver_credentials : KubeCredentials{};
    creds.server = ep;
    while (!creds.server.empty() && creds.server.back() == '/') creds.server.pop_back();
    apiserver_clients_[ep] =
        std::make_unique<KubeClient>(std::move(creds), "rampart-aggregator/" RAMPART_VERSION);
  }
}

EtcdMonitor::~EtcdMonitor() {
  stop();
}

void EtcdMonitor::start() {
  log_->info("etcd: probing {} endpoint(s) and {} API server(s) every {} ms{}",
             options_.etcd_endpoints.size(), options_.apiserver_endpoints.size(),
             options_.interval.count(),
             !options_.snapshot_dir.empty() ? ", snapshots in " + options_.snapshot_dir.string()
             : !options_.snapshot_marker.empty()
                 ? ", snapshot marker " + options_.snapshot_marker.string()
                 : "");
  thread_ = std::thread([this] { run(); });
}

void EtcdMonitor::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::optional<engine::EtcdObservation> EtcdMonitor::latest() const {
  std::lock_guard lock(mu_);
  return latest_;
}

void EtcdMonitor::run() {
  using Clock = std::chrono::steady_clock;
  for (;;) {
    auto next = Clock::now() + options_.interval;
    probeOnce();
    std::unique_lock lock(mu_);
    if (wake_.wait_until(lock, next, [this] { return stopping_; })) return;
  }
}

void EtcdMonitor::probeOnce() {
  const int64_t now_ms = unixMillisNow();
  engine::EtcdObservation o;
  if (!options_.etcd_endpoints.empty()) {
    std::vector<etcd::EndpointProbe> probes;
    probes.reserve(options_.etcd_endpoints.size());
    for (const std::string& ep : options_.etcd_endpoints) {
      probes.push_back(etcd::probeEndpoint(*client_, ep, options_.timeout));
    }
    // Members the configured endpoints do not cover, at their own client URLs.
    for (const std::string& url : etcd::unprobedMemberUrls(probes, memory_)) {
      probes.push_back(etcd::probeEndpoint(*client_, url, options_.timeout));
    }
    for (const etcd::EndpointProbe& p : probes) {
      if (p.errors > 0) {
        probe_errors_.Add({{"endpoint", p.endpoint}}).Increment(p.errors);
        warnLimited(log_, limiter_, "etcd " + p.endpoint,
                    "etcd: " + p.endpoint + ": " + oneLine(p.firstError()));
      }
    }
    o = etcd::observe(probes, memory_);
    for (auto& m : o.members) m.error = oneLine(m.error);
    for (const etcd::EndpointProbe& p : probes) {
      if (!p.metrics || !p.metrics->leader_changes) continue;
      window_.add(p.status ? p.status->member_id : p.endpoint, now_ms, *p.metrics->leader_changes);
    }
    o.leader_changes = window_.changes(now_ms);
    o.leader_window_seconds = options_.leader_window.count();
    const auto healthy =
        std::count_if(o.members.begin(), o.members.end(), [](const auto& m) { return m.healthy; });
    members_healthy_.Set(static_cast<double>(healthy));
    members_down_.Set(static_cast<double>(o.members.size() - healthy));
    has_leader_.Set(o.has_leader ? 1 : 0);
    leader_changes_.Set(o.leader_changes);
  }
  snapshotAge(o, now_ms / 1000);
  apiservers(o);
  publish(std::move(o), now_ms / 1000);
}

void EtcdMonitor::snapshotAge(engine::EtcdObservation& o, int64_t now_unix) {
  if (options_.snapshot_dir.empty() && options_.snapshot_marker.empty()) return;
  o.snapshot_configured = true;
  const bool dir = !options_.snapshot_dir.empty();
  auto mtime = dir ? etcd::newestFileMtime(options_.snapshot_dir)
                   : etcd::fileMtime(options_.snapshot_marker);
  if (!mtime) {
    o.snapshot_error = mtime.error().message;
    warnLimited(log_, limiter_, "etcd snapshot", "etcd: snapshot age: " + o.snapshot_error);
  } else if (const std::optional<int64_t>& when = *mtime; when) {
    o.snapshot_unix = *when;
  } else {
    o.snapshot_error = dir ? "no snapshot file in " + options_.snapshot_dir.string()
                           : "marker " + options_.snapshot_marker.string() + " does not exist";
  }
  if (o.snapshot_unix) {
    if (snapshot_age_gauge_ == nullptr) snapshot_age_gauge_ = &snapshot_age_.Add({});
    snapshot_age_gauge_->Set(static_cast<double>(now_unix - *o.snapshot_unix));
  } else if (snapshot_age_gauge_ != nullptr) {
    snapshot_age_.Remove(snapshot_age_gauge_);
    snapshot_age_gauge_ = nullptr;
  }
}

void EtcdMonitor::apiservers(engine::EtcdObservation& o) {
  if (options_.apiserver_endpoints.empty()) return;
  o.apiserver_expected = static_cast<int32_t>(options_.apiserver_endpoints.size());
  for (const std::string& ep : options_.apiserver_endpoints) {
    auto r = apiserver_clients_.at(ep)->get("/readyz", options_.timeout);
    if (r) {
      ++o.apiserver_healthy;
      continue;
    }
    std::string error = oneLine(r.error().message);
    warnLimited(log_, limiter_, "apiserver " + ep, "apiserver: " + error);
    o.apiserver_errors.push_back(error);
  }
  apiserver_healthy_.Set(o.apiserver_healthy);
  apiserver_unhealthy_.Set(o.apiserver_expected - o.apiserver_healthy);
}

void EtcdMonitor::publish(engine::EtcdObservation o, int64_t now_unix) {
  const bool stale =
      o.snapshot_configured &&
      (!o.snapshot_unix || now_unix - *o.snapshot_unix > options_.snapshot_max_age_seconds);
  std::optional<engine::EtcdObservation> before;
  {
    std::lock_guard lock(mu_);
    if (latest_ && withoutTime(*latest_) == withoutTime(o) && latest_stale_ == stale) return;
    before = latest_;
    o.observed_at_unix = now_unix;
    latest_ = o;
    latest_stale_ = stale;
  }
  ++generation_;
  // Transitions, once each.
  std::map<std::string, bool> was;
  if (before) {
    for (const auto& m : before->members) was[memberLabel(m)] = m.healthy;
  }
  for (const auto& m : o.members) {
    auto it = was.find(memberLabel(m));
    bool known = it != was.end();
    if (!m.healthy && (!known || it->second)) {
      log_->warn("etcd: member {} ({}) is down: {}", memberLabel(m), m.endpoint, m.error);
    } else if (m.healthy && known && !it->second) {
      log_->info("etcd: member {} ({}) is healthy again", memberLabel(m), m.endpoint);
    }
  }
  if (!o.members.empty() &&
      (!before || before->has_leader != o.has_leader || before->leader_id != o.leader_id)) {
    if (o.has_leader) {
      log_->info("etcd: leader {}", o.leader_id);
    } else {
      log_->warn("etcd: no leader");
    }
  }
}

Result<std::unique_ptr<EtcdMonitor>> makeEtcdMonitor(
    const EtcdFlags& flags, const std::string& cluster,
    const std::optional<KubeCredentials>& apiserver_credentials, engine::Options& engine,
    prometheus::Registry& registry, Logger log) {
  if (!flags.snapshot_dir.empty() && !flags.snapshot_marker.empty()) {
    return fail(ErrorCode::kConfig,
                "--etcd-snapshot-dir and --etcd-snapshot-marker exclude each other");
  }
  if (flags.interval_ms < 100 || flags.interval_ms > 3600000) {
    return fail(ErrorCode::kConfig, "--etcd-interval-ms must be within 100..3600000");
  }
  if (flags.snapshot_max_age_hours < 1) {
    return fail(ErrorCode::kConfig, "--etcd-snapshot-max-age-hours must be at least 1");
  }
  if (flags.cert.empty() != flags.key.empty()) {
    return fail(ErrorCode::kConfig, "--etcd-cert and --etcd-key go together");
  }
  for (const auto& list : {flags.endpoints, flags.apiservers}) {
    for (const std::string& url : list) {
      if (!url.starts_with("http://") && !url.starts_with("https://")) {
        return fail(ErrorCode::kConfig, "not an http(s):// URL: " + url);
      }
    }
  }
  engine.etcd_snapshot_max_age_seconds = int64_t{flags.snapshot_max_age_hours} * 3600;
  if (flags.endpoints.empty() && flags.apiservers.empty() && flags.snapshot_dir.empty() &&
      flags.snapshot_marker.empty()) {
    return nullptr;
  }
  EtcdMonitorOptions o;
  o.etcd_endpoints = flags.endpoints;
  o.tls = {flags.cacert, flags.cert, flags.key};
  o.interval = std::chrono::milliseconds(flags.interval_ms);
  o.timeout = std::min(o.interval, std::chrono::milliseconds(1000));
  o.snapshot_dir = flags.snapshot_dir;
  o.snapshot_marker = flags.snapshot_marker;
  o.apiserver_endpoints = flags.apiservers;
  o.apiserver_credentials = apiserver_credentials;
  o.snapshot_max_age_seconds = engine.etcd_snapshot_max_age_seconds;
  o.cluster = cluster;
  return EtcdMonitor::create(std::move(o), registry, std::move(log));
}

}  // namespace rampart::aggregator
