#include "pod_watcher.h"

#include <random>

#include "rampart/k8s_json.h"

namespace rampart::agent {

PodWatcher::PodWatcher(KubeCredentials creds, PodWatcherOptions options, Logger log,
                       std::function<void()> on_change)
    : creds_(std::move(creds)),
      options_(std::move(options)),
      log_(std::move(log)),
      on_change_(std::move(on_change)) {}

PodWatcher::~PodWatcher() {
  stop();
}

void PodWatcher::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void PodWatcher::stop() {
  stop_ = true;
  sleep_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<Pod> PodWatcher::snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<Pod> out;
  out.reserve(pods_.size());
  for (const auto& [uid, pod] : pods_) out.push_back(pod);
  return out;
}

PodChanges PodWatcher::drainChanges() {
  std::lock_guard lock(mu_);
  PodChanges changes;
  for (const auto& uid : changed_) {
    auto it = pods_.find(uid);
    if (it != pods_.end()) changes.upserted.push_back(it->second);
  }
  changes.removed_uids.assign(removed_.begin(), removed_.end());
  changed_.clear();
  removed_.clear();
  return changes;
}

std::optional<Node> PodWatcher::node() const {
  std::lock_guard lock(mu_);
  return node_;
}

uint64_t PodWatcher::nodeVersion() const {
  std::lock_guard lock(mu_);
  return node_version_;
}

PodWatcherStats PodWatcher::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void PodWatcher::warn(const std::string& key, const std::string& message) {
  warnLimited(log_, limiter_, key, message);
}

void PodWatcher::backoff() {
  using namespace std::chrono;
  current_backoff_ = current_backoff_.count() == 0
                         ? options_.backoff_min
                         : std::min(current_backoff_ * 2, options_.backoff_max);
  // Full jitter keeps thousands of agents from relisting in lockstep after an
  // API server restart.
  static thread_local std::minstd_rand rng(std::random_device{}());
  auto wait = milliseconds(current_backoff_.count() / 2 +
                           static_cast<long>(rng() % (current_backoff_.count() / 2 + 1)));
  std::unique_lock lock(sleep_mu_);
  sleep_cv_.wait_for(lock, wait, [this] { return stop_.load(); });
}

void PodWatcher::upsert(Pod pod) {
  bool changed = false;
  {
    std::lock_guard lock(mu_);
    auto it = pods_.find(pod.uid);
    changed = it == pods_.end() || !sameExceptResourceVersion(it->second, pod);
    if (changed) {
      removed_.erase(pod.uid);
      changed_.insert(pod.uid);
    }
    pods_[pod.uid] = std::move(pod);
  }
  if (changed && on_change_) on_change_();
}

void PodWatcher::remove(const std::string& uid) {
  bool changed = false;
  {
    std::lock_guard lock(mu_);
    if (pods_.erase(uid) > 0) {
      changed_.erase(uid);
      removed_.insert(uid);
      changed = true;
    }
  }
  if (changed && on_change_) on_change_();
}

void PodWatcher::refreshNode(KubeClient& client) {
  auto body =
      client.get("/api/v1/nodes/" + urlEncode(options_.node_name), options_.request_timeout);
  if (!body) {
    warn("node", "cannot read node " + options_.node_name + ": " + body.error().describe());
    return;
  }
  auto node = k8s::decodeNode(*body);
  if (!node) {
    warn("node-decode", "undecodable node " + options_.node_name + ": " + node.error().describe());
    return;
  }
  bool changed = false;
  {
    std::lock_guard lock(mu_);
    changed = !node_ || node_->labels != node->labels || node_->taints != node->taints ||
              node_->zone != node->zone || node_->region != node->region;
    if (changed) ++node_version_;
    node_ = std::move(*node);
  }
  if (changed && on_change_) on_change_();
}

bool PodWatcher::podsKnown() const {
  std::lock_guard lock(mu_);
  return stats_.lists > 0;
}

bool PodWatcher::listPods(KubeClient& client) {
  std::string path =
      "/api/v1/pods?fieldSelector=" + urlEncode("spec.nodeName=" + options_.node_name);
  auto body = client.get(path, options_.request_timeout);
  if (!body) {
    warn("list", "listing pods of node " + options_.node_name +
                     " failed, retrying: " + body.error().describe());
    std::lock_guard lock(mu_);
    ++stats_.errors;
    return false;
  }
  auto list = k8s::decodePodList(*body);
  if (!list) {
    warn("list-decode", "pod list from " + client.server() +
                            " is not valid, retrying: " + list.error().describe());
    std::lock_guard lock(mu_);
    ++stats_.errors;
    return false;
  }
  std::set<std::string> seen;
  for (auto& pod : list->items) {
    seen.insert(pod.uid);
    upsert(std::move(pod));
  }
  std::vector<std::string> gone;
  {
    std::lock_guard lock(mu_);
    for (const auto& [uid, pod] : pods_) {
      if (!seen.contains(uid)) gone.push_back(uid);
    }
    ++stats_.lists;
    stats_.synced = true;
  }
  for (const auto& uid : gone) remove(uid);
  resource_version_ = list->resource_version;
  log_->debug("listed {} pods on node {} at resourceVersion {}", seen.size(), options_.node_name,
              resource_version_);
  return true;
}

// Returns false when a relist is needed.
bool PodWatcher::watchPods(KubeClient& client) {
  std::string path = "/api/v1/pods?watch=1&allowWatchBookmarks=true&fieldSelector=" +
                     urlEncode("spec.nodeName=" + options_.node_name) +
                     "&resourceVersion=" + urlEncode(resource_version_) +
                     "&timeoutSeconds=" + std::to_string(options_.watch_window.count());
  bool relist = false;
  auto on_line = [&](std::string_view line) {
    auto ev = k8s::decodePodWatchEvent(line);
    if (!ev) {
      warn("watch-decode", "undecodable watch event, relisting: " + ev.error().describe());
      std::lock_guard lock(mu_);
      ++stats_.errors;
      relist = true;
      return false;
    }
    switch (ev->type) {
      case k8s::WatchEventType::kAdded:
      case k8s::WatchEventType::kModified:
        resource_version_ = ev->resource_version;
        if (ev->object.node_name == options_.node_name) {
          upsert(std::move(ev->object));
        } else {
          remove(ev->object.uid);
        }
        break;
      case k8s::WatchEventType::kDeleted:
        resource_version_ = ev->resource_version;
        remove(ev->object.uid);
        break;
      case k8s::WatchEventType::kBookmark:
        resource_version_ = ev->resource_version;
        break;
      case k8s::WatchEventType::kError:
        if (ev->status.code == 410) {
          log_->info("watch of node {} pods expired ({}), relisting", options_.node_name,
                     ev->status.message);
          std::lock_guard lock(mu_);
          ++stats_.relists_gone;
        } else {
          warn("watch-error", "watch error " + std::to_string(ev->status.code) + ": " +
                                  ev->status.message + ", relisting");
          std::lock_guard lock(mu_);
          ++stats_.errors;
        }
        relist = true;
        return false;
    }
    std::lock_guard lock(mu_);
    ++stats_.events;
    return true;
  };
  {
    std::lock_guard lock(mu_);
    ++stats_.watches;
  }
  auto started = std::chrono::steady_clock::now();
  uint64_t events_before = stats().events;
  auto result =
      client.watch(path, on_line, options_.watch_window + std::chrono::seconds(15), stop_);
  if (result && !relist && stats().events == events_before &&
      std::chrono::steady_clock::now() - started < std::chrono::seconds(1)) {
    // A stream that ends at once with nothing in it (a proxy cutting
    // connections, a server shutting down) must not become a busy loop.
    backoff();
  } else if (stats().events > events_before) {
    current_backoff_ = std::chrono::milliseconds(0);
  }
  if (!result) {
    std::lock_guard lock(mu_);
    if (result.error().code == ErrorCode::kGone) {
      ++stats_.relists_gone;
    } else {
      ++stats_.errors;
    }
    relist = true;
  }
  if (!result && result.error().code != ErrorCode::kGone) {
    warn("watch", "watching pods of node " + options_.node_name +
                      " failed, relisting: " + result.error().describe());
    backoff();
  }
  return !relist;
}

void PodWatcher::run() {
  KubeClient client(creds_, "rampart-agent/" RAMPART_VERSION);
  bool need_list = true;
  while (!stop_) {
    refreshNode(client);
    if (need_list) {
      {
        std::lock_guard lock(mu_);
        stats_.synced = false;
      }
      if (!listPods(client)) {
        backoff();
        continue;
      }
      need_list = false;
      current_backoff_ = std::chrono::milliseconds(0);
    }
    if (stop_) break;
    need_list = !watchPods(client);
  }
}

}  // namespace rampart::agent
