#include "agent.h"

#include "node_placement.h"
#include "rampart/time.h"

namespace rampart::agent {

struct Agent::Link {
  Link(zmq::context_t& ctx, const std::string& ep) : socket(ctx, zmq::socket_type::dealer) {
    stats.endpoint = ep;
  }
  zmq::socket_t socket;
  LinkStats stats;
  bool needs_hello = true;
};

Agent::Agent(AgentConfig config, zmq::context_t& context, HostHealthCollector& health,
             PodSource& pods, Logger log)
    : config_(std::move(config)), health_(health), pods_(pods), log_(std::move(log)) {
  started_unix_ms_ = unixMillisNow();
  for (const auto& ep : config_.aggregator_endpoints) {
    auto link = std::make_unique<Link>(context, ep);
    auto& s = link->socket;
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::sndhwm, config_.send_hwm);
    s.set(zmq::sockopt::rcvhwm, 16);
    // Queue only to completed connections, so that "cannot send now" is
    // visible as EAGAIN instead of a pile-up for an absent peer.
    s.set(zmq::sockopt::immediate, 1);
    s.set(zmq::sockopt::reconnect_ivl, 200);
    s.set(zmq::sockopt::reconnect_ivl_max, 5000);
    s.set(zmq::sockopt::heartbeat_ivl, 1000);
    s.set(zmq::sockopt::heartbeat_timeout, 3000);
    s.set(zmq::sockopt::curve_serverkey, config_.aggregator_public_key);
    s.set(zmq::sockopt::curve_publickey, config_.keys.public_key);
    s.set(zmq::sockopt::curve_secretkey, config_.keys.secret_key);
    s.connect(ep);
    links_.push_back(std::move(link));
  }
}

Agent::~Agent() = default;

void Agent::notify() {
  {
    std::lock_guard lock(wake_mu_);
    woken_ = true;
  }
  wake_cv_.notify_one();
}

AgentStats Agent::stats() const {
  std::lock_guard lock(stats_mu_);
  AgentStats s = stats_;
  s.links.clear();
  for (const auto& l : links_) s.links.push_back(l->stats);
  return s;
}

wire::NodeIdentity Agent::identity() const {
  wire::NodeIdentity id;
  if (auto node = pods_.node()) id.node = std::move(*node);
  id.node.name = config_.node_name;
  id.agent_version = RAMPART_VERSION;
  id.boot_id = last_health_.boot_id;
  return id;
}

bool Agent::evaluatePlacement(bool pods_changed) {
  const uint64_t node_version = pods_.nodeVersion();
  if (placement_evaluated_ && !pods_changed && node_version == placement_node_version_) {
    return false;
  }
  auto node = pods_.node();
  // Without its Node object the agent cannot judge the node rules: it reports
  // nothing until the watcher has read it (the watcher wakes the loop then).
  if (!node) return false;
  placement_evaluated_ = true;
  placement_node_version_ = node_version;
  node->name = config_.node_name;
  auto found = nodeLocalPlacementFindings(*node, pods_.snapshot());
  {
    std::lock_guard lock(stats_mu_);
    ++stats_.placement_evaluations;
    stats_.placement_findings = found.size();
  }
  if (found == placement_findings_) return false;
  log_->info("node-local placement findings: {} (was {})", found.size(),
             placement_findings_.size());
  placement_findings_ = std::move(found);
  return true;
}

bool Agent::sendTo(Link& link, const std::string& frame) {
  zmq::send_result_t sent;
  try {
    sent = link.socket.send(zmq::buffer(frame), zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    sent.reset();
    if (limiter_.allow("send-error:" + link.stats.endpoint) >= 0) {
      log_->warn("send to {} failed: {}", link.stats.endpoint, e.what());
    }
  }
  if (!sent) {
    ++link.stats.dropped;
    if (!link.stats.needs_full) {
      long suppressed = limiter_.allow("drop:" + link.stats.endpoint);
      if (suppressed >= 0) {
        log_->warn("aggregator {} cannot take reports now; will resend full state when it can",
                   link.stats.endpoint);
      }
    }
    link.stats.needs_full = true;
    link.needs_hello = true;
    return false;
  }
  ++link.stats.sent;
  return true;
}

void Agent::drainIncoming(Link& link) {
  while (true) {
    zmq::message_t msg;
    zmq::recv_result_t got;
    try {
      got = link.socket.recv(msg, zmq::recv_flags::dontwait);
    } catch (const zmq::error_t&) {
      return;
    }
    if (!got) return;
    auto decoded = wire::decode(std::string_view(static_cast<const char*>(msg.data()), msg.size()));
    if (!decoded) {
      if (limiter_.allow("bad-control") >= 0) {
        log_->warn("undecodable message from {}: {}", link.stats.endpoint,
                   decoded.error().describe());
      }
      continue;
    }
    if (auto* resync = std::get_if<wire::Resync>(&decoded->message)) {
      log_->info("aggregator {} asks for a resync: {}", link.stats.endpoint, resync->reason);
      ++link.stats.resyncs;
      link.stats.needs_full = true;
      link.needs_hello = true;
    }
  }
}

void Agent::tick(bool interval_due) {
  using wire::Message;
  int64_t now_ms = unixMillisNow();
  bool full_due = false;
  if (interval_due) {
    auto sample = health_.sample();
    if (sample) {
      last_health_ = std::move(*sample);
    } else {
      std::lock_guard lock(stats_mu_);
      ++stats_.health_failures;
      if (limiter_.allow("health") >= 0) {
        log_->warn("host health sample failed: {}", sample.error().describe());
      }
    }
    std::lock_guard lock(stats_mu_);
    ++stats_.intervals;
    stats_.last_interval_steady_ms = steadyMillisNow();
    full_due = config_.full_every > 0 && stats_.intervals % config_.full_every == 0;
  }
  for (auto& link : links_) drainIncoming(*link);

  // Which links can take a message right now; a link that cannot is left
  // needing a full report, and nothing is encoded for it.
  std::vector<Link*> ready;
  for (auto& link : links_) {
    bool writable = (link->socket.get(zmq::sockopt::events) & ZMQ_POLLOUT) != 0;
    if (writable) {
      ready.push_back(link.get());
    } else {
      if (!link->stats.needs_full && interval_due) ++link->stats.dropped;
      link->stats.needs_full = true;
      link->needs_hello = true;
    }
  }

  // Read before the changes are drained: a list that completes in between
  // shows in the next tick's full report.
  const bool pods_known = pods_.podsKnown();
  if (pods_known && !pods_known_reported_) full_due = true;
  PodChanges changes = pods_.drainChanges();
  // Evaluated even when no link can take a report now: the next full report
  // carries the set.
  const bool findings_changed = evaluatePlacement(!changes.empty());
  std::vector<ProbeResult> probe_results;
  bool probes_changed = false;
  if (probes_ != nullptr) {
    const uint64_t version = probes_->version();
    probe_results = probes_->results();
    probes_changed = version != probes_version_;
    probes_version_ = version;
  }
  if (ready.empty()) return;
  // Each frame is encoded at most once per tick, and only if a link takes it.
  bool any_full = false, any_incremental = false;
  for (auto* l : ready) {
    bool wants_full = full_due || l->stats.needs_full;
    any_full = any_full || wants_full;
    any_incremental = any_incremental || !wants_full;
  }
  bool any_delta = any_incremental && (!changes.empty() || findings_changed || probes_changed);

  // Heartbeat-only ticks (the common case) need no identity.
  wire::NodeIdentity id;
  if (any_full || any_delta) id = identity();
  uint64_t base = sequence_;
  std::string full_frame, delta_frame, hello_frame, heartbeat_frame;
  if (any_full || any_delta) ++sequence_;
  auto report = [&](bool full) {
    wire::Report r;
    r.identity = id;
    r.sequence = sequence_;
    r.sent_unix_ms = now_ms;
    r.full = full;
    r.health = last_health_;
    r.placement_findings = placement_findings_;
    r.probe_results = probe_results;
    return r;
  };
  if (any_full) {
    wire::Report r = report(true);
    // Never "no pods" for "not listed yet" (docs/checks.md, "Unknown is not a
    // finding").
    r.pods_unknown = !pods_known;
    if (pods_known) r.pods = pods_.snapshot();
    pods_known_reported_ = pods_known;
    full_frame = wire::encode(Message{std::move(r)});
  }
  if (any_delta) {
    wire::Report r = report(false);
    r.base_sequence = base;
    r.pods = std::move(changes.upserted);
    r.removed_pod_uids = std::move(changes.removed_uids);
    delta_frame = wire::encode(Message{std::move(r)});
  }
  for (auto* l : ready) {
    bool wants_full = l->stats.needs_full || full_due;
    if (wants_full && l->needs_hello) {
      if (hello_frame.empty()) {
        hello_frame = wire::encode(Message{
            wire::Hello{id, started_unix_ms_, static_cast<uint32_t>(config_.interval.count()),
                        config_.full_every}});
      }
      if (!sendTo(*l, hello_frame)) continue;
      l->needs_hello = false;
    }
    if (wants_full) {
      if (sendTo(*l, full_frame)) {
        l->stats.needs_full = false;
        std::lock_guard lock(stats_mu_);
        ++stats_.full_reports;
      }
    } else if (!delta_frame.empty()) {
      if (sendTo(*l, delta_frame)) {
        std::lock_guard lock(stats_mu_);
        ++stats_.deltas;
      }
    } else if (interval_due) {
      if (heartbeat_frame.empty()) {
        heartbeat_frame =
            wire::encode(Message{wire::Heartbeat{config_.node_name, last_health_.boot_id, sequence_,
                                                 now_ms, last_health_, probe_results}});
      }
      if (sendTo(*l, heartbeat_frame)) {
        std::lock_guard lock(stats_mu_);
        ++stats_.heartbeats;
      }
    }
  }
}

void Agent::run(const std::atomic<bool>& stop) {
  using clock = std::chrono::steady_clock;
  auto next = clock::now();
  while (!stop) {
    bool interval_due = false;
    {
      std::unique_lock lock(wake_mu_);
      wake_cv_.wait_until(lock, next, [&] { return woken_ || stop.load(); });
      woken_ = false;
    }
    if (stop) break;
    auto now = clock::now();
    if (now >= next) {
      interval_due = true;
      next += config_.interval;
      if (next < now) next = now + config_.interval;  // we were suspended: do not burst
    }
    tick(interval_due);
    if (config_.exit_after_intervals > 0 && interval_due) {
      std::lock_guard lock(stats_mu_);
      if (stats_.intervals >= config_.exit_after_intervals) break;
    }
  }
}

}  // namespace rampart::agent
