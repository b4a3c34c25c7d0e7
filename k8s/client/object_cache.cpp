// ObjectCache: the list+watch threads of rampart/object_cache.h.
#include "rampart/object_cache.h"

#include <nlohmann/json.hpp>
#include <random>

#include "rampart/cluster_reader.h"

namespace rampart::k8s {
namespace {

// The kind of a list's items, for watch events whose object has no kind.
std::string itemKind(const std::string& resource) {
  static const std::map<std::string, std::string> kKinds = {
      {"nodes", "Node"},
      {"pods", "Pod"},
      {"services", "Service"},
      {"namespaces", "Namespace"},
      {"persistentvolumeclaims", "PersistentVolumeClaim"},
      {"persistentvolumes", "PersistentVolume"},
      {"deployments", "Deployment"},
      {"replicasets", "ReplicaSet"},
      {"statefulsets", "StatefulSet"},
      {"daemonsets", "DaemonSet"},
      {"poddisruptionbudgets", "PodDisruptionBudget"},
      {"horizontalpodautoscalers", "HorizontalPodAutoscaler"},
      {"backups.velero.io", "Backup"},
      {"schedules.velero.io", "Schedule"},
      {"leases", "Lease"},
  };
  auto it = kKinds.find(resource);
  return it == kKinds.end() ? std::string() : it->second;
}

constexpr const char* kHpaV1 = "/apis/autoscaling/v1/horizontalpodautoscalers";

}  // namespace

struct ObjectCache::Kind {
  LiveList list;
  std::string resource;  // "deployments", "backups.velero.io"
  std::string item_kind;
  std::vector<std::string> paths;  // tried in order; the first served one is watched
  bool velero = false;
  // The slot's thread only.
  std::string path;  // the served path
  std::string resource_version;
  // Guarded by ObjectCache::mu_.
  ObjectCacheKindStats stats;
};

ObjectCache::ObjectCache(KubeCredentials credentials, ObjectCacheOptions options, Logger log,
                         ObjectCacheHooks hooks)
    : credentials_(std::move(credentials)),
      options_(std::move(options)),
      log_(std::move(log)),
      hooks_(std::move(hooks)),
      limiter_(std::chrono::seconds(60)),
      store_(liveLists().size()) {
  for (const auto& list : liveLists()) {
    auto kind = std::make_unique<Kind>();
    kind->list = list;
    kind->resource = list.path.substr(list.path.rfind('/') + 1);
    kind->velero = list.path.find("/velero.io/") != std::string::npos;
    if (kind->velero) kind->resource += ".velero.io";
    kind->item_kind = itemKind(kind->resource);
    kind->paths.push_back(list.path);
    // Servers before 1.23 have only autoscaling/v1; its HPAs decode the same.
    if (list.path.find("/autoscaling/v2/") != std::string::npos) kind->paths.push_back(kHpaV1);
    kind->stats.resource = kind->resource;
    kinds_.push_back(std::move(kind));
  }
}

ObjectCache::~ObjectCache() {
  stop();
}

void ObjectCache::start() {
  if (!threads_.empty()) return;
  for (size_t i = 0; i < kinds_.size(); ++i) threads_.emplace_back([this, i] { run(i); });
}

void ObjectCache::stop() {
  stop_ = true;
  { std::lock_guard lock(sleep_mu_); }
  sleep_cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

bool ObjectCache::synced() const {
  std::lock_guard lock(mu_);
  return std::all_of(kinds_.begin(), kinds_.end(), [](const auto& k) { return k->stats.synced; });
}

uint64_t ObjectCache::generation() const {
  return generation_.load();
}

std::optional<Objects> ObjectCache::objects() const {
  std::lock_guard lock(mu_);
  for (const auto& k : kinds_) {
    if (!k->stats.synced) return std::nullopt;
  }
  return store_.snapshot();
}

std::vector<ObjectChange> ObjectCache::drainChanges() {
  std::lock_guard lock(mu_);
  return store_.drain();
}

std::vector<ObjectCacheKindStats> ObjectCache::stats() const {
  std::lock_guard lock(mu_);
  std::vector<ObjectCacheKindStats> out;
  out.reserve(kinds_.size());
  for (const auto& k : kinds_) out.push_back(k->stats);
  return out;
}

void ObjectCache::warn(const std::string& key, const std::string& message) {
  warnLimited(log_, limiter_, key, message);
}

void ObjectCache::notifyChanged(bool changed) {
  if (changed && hooks_.changed) hooks_.changed();
}

void ObjectCache::sleepFor(std::chrono::milliseconds duration) {
  std::unique_lock lock(sleep_mu_);
  sleep_cv_.wait_for(lock, duration, [this] { return stop_.load(); });
}

void ObjectCache::backoff(std::chrono::milliseconds& current) {
  current =
      current.count() == 0 ? options_.backoff_min : std::min(current * 2, options_.backoff_max);
  // Full jitter: fourteen kinds that failed together do not retry in lockstep.
  static thread_local std::minstd_rand rng(std::random_device{}());
  sleepFor(std::chrono::milliseconds(current.count() / 2 +
                                     static_cast<long>(rng() % (current.count() / 2 + 1))));
}

bool ObjectCache::list(KubeClient& client, size_t slot, RelistReason reason) {
  Kind& k = *kinds_[slot];
  auto failed = [&](const std::string& message) {
    {
      std::lock_guard lock(mu_);
      ++k.stats.errors;
    }
    if (hooks_.request_failed) hooks_.request_failed(k.resource);
    warn("list " + k.resource, "listing " + k.resource + " failed, retrying: " + message);
    return false;
  };
  for (const std::string& path : k.paths) {
    Objects out;
    std::string token, resource_version;
    bool served = true;
    for (;;) {
      std::string target = path + "?limit=" + std::to_string(options_.page_size);
      if (!token.empty()) target += "&continue=" + urlEncode(token);
      auto body = client.get(target, options_.request_timeout);
      if (!body) {
        if (body.error().http_status == 404 && token.empty()) {
          served = false;
          break;
        }
        return failed("GET " + path + ": " + body.error().describe());
      }
      if (auto ok = decodeObjects(*body, out); !ok) {
        return failed("GET " + path + ": " + ok.error().describe());
      }
      ListMeta meta = listMeta(*body);
      if (token.empty()) resource_version = meta.resource_version;
      token = meta.continue_token;
      if (token.empty()) break;
    }
    if (!served) continue;
    if (resource_version.empty()) return failed("GET " + path + ": list has no resourceVersion");
    bool changed = false;
    {
      std::lock_guard lock(mu_);
      size_t skipped = out.skipped;
      std::vector<std::string> warnings = std::move(out.warnings);
      changed = store_.replace(slot, objectsOf(std::move(out))) > 0;
      store_.setListWarnings(slot, std::move(warnings), skipped);
      store_.setVeleroSeen(slot, k.velero);
      store_.setSlotNote(slot, "");
      ++k.stats.lists;
      k.stats.served = true;
      changed = changed || !k.stats.synced;
      k.stats.synced = true;
      k.stats.objects = store_.size(slot);
      k.stats.resource_version = resource_version;
      if (changed) ++generation_;
    }
    k.path = path;
    k.resource_version = resource_version;
    log_->debug("listed {} ({}) at resourceVersion {}", k.resource, relistReasonName(reason),
                resource_version);
    if (hooks_.relisted) hooks_.relisted(k.resource, reason);
    notifyChanged(changed);
    return true;
  }
  // Not served: nothing to read, and nothing left of what an earlier list read.
  bool changed = false;
  {
    std::lock_guard lock(mu_);
    changed = store_.replace(slot, {}) > 0;
    store_.setListWarnings(slot, {}, 0);
    store_.setVeleroSeen(slot, false);
    store_.setSlotNote(slot, k.list.optional
                                 ? std::string()
                                 : k.list.what + " not read: the API server does not serve " +
                                       k.list.path + " (404)");
    changed = changed || !k.stats.synced;
    k.stats.served = false;
    k.stats.synced = true;
    k.stats.objects = 0;
    if (changed) ++generation_;
  }
  k.path.clear();
  if (!k.list.optional) {
    warn("404 " + k.resource,
         k.list.what + " not read: the API server does not serve " + k.list.path + " (404)");
  }
  notifyChanged(changed);
  return true;
}

void ObjectCache::applyEvent(size_t slot, DecodedWatchEvent& ev) {
  Kind& k = *kinds_[slot];
  bool changed = false;
  {
    std::lock_guard lock(mu_);
    if (ev.type == WatchEventType::kDeleted) {
      store_.clearBadObject(slot, ev.key);
      changed = store_.remove(slot, ev.key);
    } else if (ev.object) {
      store_.clearBadObject(slot, ev.key);
      changed = store_.upsert(slot, std::move(*ev.object));
    } else {
      // As a relist would: the object is skipped with a warning.
      changed = store_.remove(slot, ev.key);
      store_.setBadObject(slot, ev.key, ev.object_warning);
      ++k.stats.errors;
    }
    ++k.stats.watch_events;
    k.stats.objects = store_.size(slot);
    k.stats.resource_version = ev.resource_version;
    if (changed) ++generation_;
  }
  if (!ev.object && ev.type != WatchEventType::kDeleted) {
    warn("bad " + k.resource,
         "skipping an undecodable object from the " + k.resource + " watch: " + ev.object_warning);
  }
  if (hooks_.watch_event) hooks_.watch_event(k.resource);
  notifyChanged(changed);
}

ObjectCache::WatchEnd ObjectCache::watch(KubeClient& client, size_t slot,
                                         std::chrono::seconds window) {
  Kind& k = *kinds_[slot];
  const std::string target = k.path + "?watch=1&allowWatchBookmarks=true&resourceVersion=" +
                             urlEncode(k.resource_version) +
                             "&timeoutSeconds=" + std::to_string(window.count());
  WatchEnd end = WatchEnd::kRewatch;
  auto on_line = [&](std::string_view line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) return true;
    auto ev = decodeWatchLine(line, k.item_kind);
    if (!ev) {
      {
        std::lock_guard lock(mu_);
        ++k.stats.errors;
      }
      warn("watch-decode " + k.resource,
           "undecodable " + k.resource + " watch event, relisting: " + ev.error().describe());
      end = WatchEnd::kRelistError;
      return false;
    }
    switch (ev->type) {
      case WatchEventType::kError:
        if (ev->status.code == 410) {
          log_->info("watch of {} expired ({}), relisting", k.resource, ev->status.message);
          end = WatchEnd::kRelistExpired;
        } else {
          {
            std::lock_guard lock(mu_);
            ++k.stats.errors;
          }
          warn("watch-error " + k.resource, "watch of " + k.resource + ": ERROR " +
                                                std::to_string(ev->status.code) + " " +
                                                ev->status.message + ", relisting");
          end = WatchEnd::kRelistError;
        }
        return false;
      case WatchEventType::kBookmark:
        if (!ev->resource_version.empty()) k.resource_version = ev->resource_version;
        return true;
      default:
        if (!ev->resource_version.empty()) k.resource_version = ev->resource_version;
        applyEvent(slot, *ev);
        return true;
    }
  };
  auto result = client.watch(target, on_line, window + std::chrono::seconds(15), stop_);
  if (!result) {
    if (result.error().code == ErrorCode::kGone) {
      log_->info("watch of {} expired ({}), relisting", k.resource, result.error().message);
      return WatchEnd::kRelistExpired;
    }
    {
      std::lock_guard lock(mu_);
      ++k.stats.errors;
    }
    if (hooks_.request_failed) hooks_.request_failed(k.resource);
    warn("watch " + k.resource,
         "watching " + k.resource + " failed, relisting: " + result.error().describe());
    return WatchEnd::kRelistError;
  }
  return end;
}

void ObjectCache::run(size_t slot) {
  using Clock = std::chrono::steady_clock;
  Kind& k = *kinds_[slot];
  KubeClient client(credentials_, options_.user_agent);
  RelistReason reason = RelistReason::kInitial;
  bool need_list = true;
  std::chrono::milliseconds current_backoff{0};
  Clock::time_point next_resync = Clock::time_point::max();
  const auto probe_again = options_.resync.count() > 0 ? options_.resync : options_.watch_window;
  while (!stop_) {
    if (need_list) {
      if (!list(client, slot, reason)) {
        backoff(current_backoff);
        continue;
      }
      current_backoff = std::chrono::milliseconds(0);
      if (options_.resync.count() > 0) next_resync = Clock::now() + options_.resync;
      if (k.path.empty()) {
        // Not served: ask again later.
        sleepFor(probe_again);
        reason = RelistReason::kResync;
        continue;
      }
      need_list = false;
    }
    std::chrono::seconds window = options_.watch_window;
    if (options_.resync.count() > 0) {
      auto left = std::chrono::ceil<std::chrono::seconds>(next_resync - Clock::now());
      if (left.count() <= 0) {
        need_list = true;
        reason = RelistReason::kResync;
        continue;
      }
      window = std::min(window, left);
    }
    uint64_t events_before = 0;
    {
      std::lock_guard lock(mu_);
      events_before = k.stats.watch_events;
    }
    auto started = Clock::now();
    WatchEnd end = watch(client, slot, window);
    if (stop_) break;
    uint64_t events_after = 0;
    {
      std::lock_guard lock(mu_);
      events_after = k.stats.watch_events;
    }
    switch (end) {
      case WatchEnd::kRewatch:
        if (events_after > events_before) {
          current_backoff = std::chrono::milliseconds(0);
        } else if (Clock::now() - started < std::chrono::seconds(1)) {
          // A stream that ends at once with nothing in it (a proxy cutting
          // connections, a server shutting down) must not become a busy loop.
          backoff(current_backoff);
        }
        break;
      case WatchEnd::kRelistExpired:
        need_list = true;
        reason = RelistReason::kExpired;
        break;
      case WatchEnd::kRelistError:
        need_list = true;
        reason = RelistReason::kError;
        backoff(current_backoff);
        break;
    }
  }
}

}  // namespace rampart::k8s
