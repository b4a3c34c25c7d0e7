#include "state/ingest.h"

#include <chrono>
#include <cstring>

#include "rampart/time.h"
#include "rampart/wire.h"

namespace rampart::aggregator {
namespace {}  // namespace

Ingest::Ingest(zmq::context_t& context, IngestOptions options, LiveModel& model, Store* store,
               Metrics& metrics, Logger log)
    : options_(std::move(options)),
      model_(model),
      store_(store),
      metrics_(metrics),
      log_(std::move(log)),
      resync_backoff_(options_.resync_backoff_max),
      zap_(std::make_unique<ZapAuthenticator>(
          context, options_.allowed_agents,
          [this](const std::string& address, const std::string& key) {
            metrics_.rejected("unauthorized");
            if (limiter_.allow("zap:" + address) >= 0) {
              log_->warn("refused agent connection from {}: public key {} is not allowed", address,
                         key.empty() ? "(none)" : key);
            }
          })),
      socket_(context, zmq::socket_type::router),
      monitor_(context, zmq::socket_type::pair) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::curve_server, 1);
  socket_.set(zmq::sockopt::curve_secretkey, options_.server_keys.secret_key);
  socket_.set(zmq::sockopt::zap_domain, "rampart");
  // Per connection: what one agent may have queued before ZeroMQ stops
  // reading from it, and the largest frame it may send (bigger ones close
  // the connection before a byte of them is buffered).
  socket_.set(zmq::sockopt::rcvhwm, options_.queue_per_agent);
  socket_.set(zmq::sockopt::sndhwm, 1000);
  socket_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(options_.limits.max_frame_bytes));
  socket_.set(zmq::sockopt::heartbeat_ivl, 1000);
  socket_.set(zmq::sockopt::heartbeat_timeout, 5000);
  const std::string monitor_endpoint =
      "inproc://rampart-ingest-monitor-" + std::to_string(reinterpret_cast<uintptr_t>(this));
  if (zmq_socket_monitor(
          socket_.handle(), monitor_endpoint.c_str(),
          ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) == 0) {
    monitor_.set(zmq::sockopt::linger, 0);
    monitor_.connect(monitor_endpoint);
  }
}

Ingest::~Ingest() {
  monitor_.close();
  socket_.close();
  zap_.reset();
}

uint64_t Ingest::denied() const {
  return zap_->denied();
}

Result<std::string> Ingest::bind() {
  try {
    socket_.bind(options_.bind);
    return socket_.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return fail(ErrorCode::kConfig, "cannot bind ingest " + options_.bind + ": " + e.what());
  }
}

void Ingest::persist(const ApplyOutcome& outcome, uint64_t sequence, int64_t now_ms) {
  if (store_ == nullptr) return;
  bool history = outcome.kind != "heartbeat";
  if (!history && !outcome.node_changed) return;
  if (!in_transaction_) {
    if (auto r = store_->begin(); !r) {
      metrics_.storeError();
      if (limiter_.allow("store-begin") >= 0) log_->error("store: {}", r.error().describe());
      return;
    }
    in_transaction_ = true;
    transaction_began_ = std::chrono::steady_clock::now();
  }
  auto check = [&](Result<void> r) {
    if (!r) {
      metrics_.storeError();
      if (limiter_.allow("store") >= 0) log_->error("store: {}", r.error().describe());
    }
  };
  if (outcome.node_changed) {
    std::lock_guard lock(model_.mu);
    if (const auto* rec = model_.state.node(outcome.node)) check(store_->upsertNode(*rec));
  }
  for (const auto& pod : outcome.upserted) check(store_->upsertPod(pod, now_ms));
  for (const auto& uid : outcome.removed_uids) check(store_->deletePod(uid));
  if (history) {
    check(store_->recordEvent(ReportEvent{
        now_ms, outcome.node, outcome.resync_reason ? "resync" : outcome.kind,
        static_cast<int64_t>(sequence), static_cast<int64_t>(outcome.upserted.size()),
        static_cast<int64_t>(outcome.removed_uids.size()), outcome.resync_reason.value_or("")}));
  }
}

void Ingest::handle(zmq::message_t& routing_id, zmq::message_t& payload, int64_t now_ms) {
  const char* user = payload.gets("User-Id");
  std::string agent = user != nullptr ? user : "";
  auto decoded = wire::decode(
      std::string_view(static_cast<const char*>(payload.data()), payload.size()), options_.limits);
  if (!decoded) {
    refuseFrame(decoded.error(), agent);
    return;
  }
  uint64_t sequence = 0;
  if (const auto* r = std::get_if<wire::Report>(&decoded->message)) sequence = r->sequence;
  if (const auto* h = std::get_if<wire::Heartbeat>(&decoded->message)) sequence = h->sequence;
  ApplyOutcome outcome;
  {
    std::lock_guard lock(model_.mu);
    outcome = model_.state.apply(decoded->message, agent, now_ms);
  }
  if (!outcome.rejected.empty()) {
    metrics_.rejected(outcome.rejected);
    if (limiter_.allow(outcome.rejected) >= 0) {
      log_->warn("dropped a {} from agent {}: {}", outcome.kind, agent, outcome.why);
    }
  }
  if (outcome.resync_reason.has_value()) {
    if (outcome.rejected.empty()) metrics_.rejected("out_of_sequence");
    askResync(routing_id, outcome.node, outcome.resync_reason.value());
  } else if (outcome.rejected.empty()) {
    noteApplied(outcome, agent);
  } else {
    return;  // refused, nothing to persist
  }
  persist(outcome, sequence, now_ms);
}

void Ingest::drainMonitor() {
  // Each event is two frames: 6 bytes (uint16 event, uint32 value: an errno
  // or a ZMTP protocol error code), then the endpoint.
  for (;;) {
    zmq::message_t event, endpoint;
    try {
      if (!monitor_.recv(event, zmq::recv_flags::dontwait).has_value()) return;
      if (event.more()) (void)monitor_.recv(endpoint, zmq::recv_flags::none);
    } catch (const zmq::error_t&) {
      return;
    }
    if (event.size() < 6) continue;
    uint16_t id = 0;
    uint32_t value = 0;
    std::memcpy(&id, event.data(), sizeof id);
    std::memcpy(&value, static_cast<const char*>(event.data()) + 2, sizeof value);
    metrics_.rejected("handshake");
    if (limiter_.allow("handshake") >= 0) {
      log_->warn(
          "an agent connection failed its handshake on {} ({} 0x{:x}): a client without CURVE, "
          "with another aggregator's public key, or not speaking ZeroMQ",
          endpoint.to_string(),
          id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ? "protocol error" : "error", value);
    }
  }
}

void Ingest::refuseFrame(const Error& e, const std::string& agent) {
  std::string reason = e.code == ErrorCode::kProtocol ? "unknown_kind"
                       : e.code == ErrorCode::kLimit  ? "limit_" + std::string(e.reason)
                       : !e.reason.empty()            ? std::string(e.reason)
                                                      : "decode_error";
  metrics_.rejected(reason);
  if (limiter_.allow(reason) >= 0) {
    log_->warn("dropped a message from agent {}: {}", agent, e.describe());
  }
}

void Ingest::askResync(zmq::message_t& routing_id, const std::string& node,
                       const std::string& reason) {
  if (!resync_backoff_.allow(node, options_.clock())) {
    metrics_.resyncDeferred();
    return;
  }
  metrics_.resyncRequested();
  const LogFields node_field{{"node", node}};
  logFields(log_, spdlog::level::info, node_field, "asking node {} for a resync: {}", node, reason);
  std::string frame = wire::encode(wire::Message{wire::Resync{reason}});
  try {
    socket_.send(routing_id, zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    socket_.send(zmq::buffer(frame), zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    logFields(log_, spdlog::level::warn, node_field, "cannot send resync to node {}: {}", node,
              e.what());
  }
}

void Ingest::noteApplied(const ApplyOutcome& outcome, const std::string& agent) {
  metrics_.received(outcome.kind);
  const LogFields node_field{{"node", outcome.node}};
  for (const auto& why : outcome.dropped_findings) {
    metrics_.agentFindingDropped();
    if (limiter_.allow("bad-finding:" + outcome.node) >= 0) {
      logFields(log_, spdlog::level::warn, node_field,
                "dropped a placement finding from node {} (agent {}): {}", outcome.node, agent,
                why);
    }
  }
  for (const auto& why : outcome.dropped_probes) {
    metrics_.probes().resultDropped();
    if (limiter_.allow("bad-probe:" + outcome.node) >= 0) {
      logFields(log_, spdlog::level::warn, node_field,
                "dropped a probe result from node {} (agent {}): {}", outcome.node, agent, why);
    }
  }
  if (outcome.pods_unknown_now == true) {
    logFields(log_, spdlog::level::info, node_field,
              "agent for node {} has not listed its pods yet: its last known pods stay in the "
              "model and the engine uses the API server's pods of the node",
              outcome.node);
  } else if (outcome.pods_unknown_now == false) {
    logFields(log_, spdlog::level::info, node_field, "agent for node {} listed its pods again",
              outcome.node);
  }
  if (outcome.kind == "full") resync_backoff_.synced(outcome.node);
  if (outcome.kind == "hello") {
    logFields(log_, spdlog::level::info, node_field, "agent for node {} said hello (agent {})",
              outcome.node, agent);
  }
}

void Ingest::pruneHistory(int64_t now_ms) {
  if (store_ == nullptr || now_ms < next_prune_ms_) return;
  next_prune_ms_ =
      now_ms + std::chrono::duration_cast<std::chrono::milliseconds>(options_.prune_period).count();
  auto cutoff =
      now_ms -
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.event_retention).count();
  auto pruned = store_->pruneEvents(cutoff);
  if (!pruned) {
    metrics_.storeError();
    log_->error("store: pruning report history: {}", pruned.error().describe());
  } else if (*pruned > 0) {
    log_->info("pruned {} report events older than {} h", *pruned,
               options_.event_retention.count());
  }
}

void Ingest::forgetDeparted(int64_t now_ms) {
  std::vector<std::string> gone;
  {
    std::lock_guard lock(model_.mu);
    if (model_.departed.empty()) return;
    for (const auto& name : model_.departed) {
      const NodeRecord* rec = model_.state.node(name);
      // An agent that spoke again since the decision keeps its node.
      if (rec == nullptr || agentConnected(*rec, now_ms, options_.missed_heartbeats)) continue;
      if (model_.state.forget(name)) gone.push_back(name);
    }
    model_.departed.clear();
  }
  for (const auto& name : gone) {
    logFields(log_, spdlog::level::info, {{"node", name}},
              "node {} left the cluster (the API server no longer lists it and its agent is "
              "silent): forgotten",
              name);
    if (store_ == nullptr) continue;
    if (auto r = store_->deleteNode(name); !r) {
      metrics_.storeError();
      logFields(log_, spdlog::level::err, {{"node", name}}, "store: forgetting node {}: {}", name,
                r.error().describe());
    }
  }
}

Ingest::Received Ingest::receive(zmq::message_t& routing_id, zmq::message_t& payload) {
  try {
    if (!socket_.recv(routing_id, zmq::recv_flags::dontwait).has_value()) return Received::kNothing;
    if (!routing_id.more()) return Received::kMalformed;
    (void)socket_.recv(payload, zmq::recv_flags::none);
    // An agent sends exactly one frame per message: drain and refuse more.
    bool malformed = false;
    for (bool more = payload.more(); more;) {
      zmq::message_t junk;
      (void)socket_.recv(junk, zmq::recv_flags::none);
      more = junk.more();
      malformed = true;
    }
    return malformed ? Received::kMalformed : Received::kMessage;
  } catch (const zmq::error_t& e) {
    return e.num() == ETERM ? Received::kTerminated : Received::kNothing;
  }
}

void Ingest::run(const std::atomic<bool>& stop) {
  while (!stop) {
    pruneHistory(options_.clock());
    forgetDeparted(options_.clock());
    zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0},
                               {monitor_.handle(), 0, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 2, std::chrono::milliseconds(100));
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) break;
      continue;
    }
    if ((items[1].revents & ZMQ_POLLIN) != 0) drainMonitor();
    int handled = 0;
    while ((items[0].revents & ZMQ_POLLIN) != 0 && handled < options_.max_batch &&
           !(in_transaction_ &&
             std::chrono::steady_clock::now() - transaction_began_ >= options_.max_transaction)) {
      zmq::message_t routing_id, payload;
      const Received got = receive(routing_id, payload);
      if (got == Received::kTerminated) return;
      if (got == Received::kNothing) break;
      ++handled;
      if (got == Received::kMalformed) {
        metrics_.rejected("malformed_envelope");
        continue;
      }
      handle(routing_id, payload, options_.clock());
    }
    if (in_transaction_) {
      if (auto r = store_->commit(); !r) {
        metrics_.storeError();
        log_->error("store commit: {}", r.error().describe());
      }
      in_transaction_ = false;
    }
  }
}

}  // namespace rampart::aggregator
