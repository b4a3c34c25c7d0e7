// An informer for every kind the resilience engine reads (k8s::liveLists()):
// each kind is listed once (paged), then watched from the list's
// resourceVersion; the watch events keep a store of DECODED objects current
// (the model types k8s::Objects holds), keyed by kind + namespace/name.
//
// Three parts, from pure to I/O:
//  - ObjectStore: the store and its change log. Pure, not thread-safe.
//  - decodeWatchLine: one watch event line into a key and a decoded object.
//  - ObjectCache: one thread per watched kind feeding an ObjectStore under a
//    mutex; what the aggregator's engine runner reads.
#pragma once

#include <atomic>
#include <chrono>
#include <compare>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "rampart/error.h"
#include "rampart/k8s_json.h"
#include "rampart/k8s_objects.h"
#include "rampart/kube_client.h"
#include "rampart/log.h"

namespace rampart::k8s {

// One decoded API object.
using Object = std::variant<Node, Pod, Workload, PodDisruptionBudget, HorizontalPodAutoscaler,
                            Service, NamespaceInfo, PersistentVolumeClaim, PersistentVolume,
                            VeleroSchedule, VeleroBackup, NodeLease>;

struct ObjectKey {
  // The Kubernetes kind: Node, Pod, Deployment, ReplicaSet, StatefulSet,
  // DaemonSet, PodDisruptionBudget, HorizontalPodAutoscaler, Service,
  // Namespace, PersistentVolumeClaim, PersistentVolume, and Velero's Schedule
  // and Backup.
  std::string kind;
  std::string namespace_;  // "" for cluster-scoped kinds
  std::string name;
  auto operator<=>(const ObjectKey&) const = default;
  std::string describe() const;  // "Deployment shop/web", "Node worker-a1"
};

ObjectKey keyOf(const Object& object);

// Moves every object out of `objects` (warnings and flags are left behind).
std::vector<Object> objectsOf(Objects&& objects);

// A change since the previous drain. For an object that changed several
// times, one change with its latest state; an object added then removed
// between two drains is one kRemoved (a consumer that never saw it ignores it).
struct ObjectChange {
  enum class Op { kUpserted, kRemoved };
  Op op = Op::kUpserted;
  ObjectKey key;
  std::shared_ptr<const Object> object;  // the current state for kUpserted; null for kRemoved
};

// The store: one slot per watched list (k8s::liveLists() order), each a map
// from key to object, and the keys changed since the last drain. Not
// thread-safe (ObjectCache guards it with a mutex).
class ObjectStore {
 public:
  explicit ObjectStore(size_t slots);

  // Inserts or replaces. Returns whether anything the engine reads changed:
  // an update that only moved a Pod's or Node's resourceVersion is stored but
  // is no change.
  bool upsert(size_t slot, Object object);
  // Returns whether the key was present.
  bool remove(size_t slot, const ObjectKey& key);
  // A relist: `objects` become the slot's whole content; objects no longer
  // listed are removed (and reported as removals). Returns the number of
  // changes (upserts that changed something + removals).
  size_t replace(size_t slot, std::vector<Object> objects);

  // Problems that make the current content incomplete, shown as warnings of
  // snapshot(): the item-level warnings of the slot's last list (they stand
  // until its next list), and objects whose latest watch event could not be
  // decoded (until the key's next good event or the next list).
  void setListWarnings(size_t slot, std::vector<std::string> warnings, size_t skipped);
  void setBadObject(size_t slot, const ObjectKey& key, std::string warning);
  void clearBadObject(size_t slot, const ObjectKey& key);
  // A slot that read Velero objects (served) sets velero_seen of snapshot().
  void setVeleroSeen(size_t slot, bool seen);
  // A standing warning for the slot (e.g. "Deployments not read: ... (404)"); "" clears.
  void setSlotNote(size_t slot, std::string note);

  // The current state as Objects, slots in order, each slot sorted by key
  // (kind, namespace, name). Cost: one copy of every object, O(n), no
  // decoding: about the cost of the objects' memory (for 150k pods, tens of
  // milliseconds and their size again in memory while the copy lives).
  Objects snapshot() const;
  // The changes since the previous drain, sorted by key; clears them.
  std::vector<ObjectChange> drain();

  size_t size() const;
  size_t size(size_t slot) const;

 private:
  using Map = std::map<ObjectKey, std::shared_ptr<const Object>>;
  struct Slot {
    Map objects;
    std::vector<std::string> list_warnings;
    size_t list_skipped = 0;
    std::map<ObjectKey, std::string> bad;
    bool velero_seen = false;
    std::string note;
  };
  void noteUpsert(const ObjectKey& key, size_t slot);
  void noteRemove(const ObjectKey& key);

  std::vector<Slot> slots_;
  std::map<ObjectKey, size_t> upserted_;  // key -> slot, since the last drain
  std::set<ObjectKey> removed_;
};

// One line of a watch stream.
struct DecodedWatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  std::string resource_version;  // the object's or the bookmark's
  ObjectKey key;                 // kAdded, kModified, kDeleted
  std::optional<Object> object;  // kAdded, kModified, kDeleted, when decodable
  std::string object_warning;    // why `object` is empty (a bad single object)
  Status status;                 // kError
};

// Decodes one watch event line. `list_kind` is the kind of the watched list
// (used when the event's object carries no kind). An object that is JSON with
// kind and metadata.name but does not decode (a field of the wrong type) is
// not an error: `object` stays empty and `object_warning` says why. Errors
// (kParse): not JSON, no string `type`, an unknown type, no `object` object,
// an ADDED/MODIFIED/DELETED object without metadata.name.
// Cost: the line is parsed twice (envelope with nlohmann, object with
// decodeObjects) and the object re-serialized once: fine for watch rates
// (thousands of events per second), not meant for lists.
Result<DecodedWatchEvent> decodeWatchLine(std::string_view line, std::string_view list_kind);

enum class RelistReason {
  kInitial,  // the first list of a kind
  kExpired,  // 410 Gone / Expired: the watch's resourceVersion is too old
  kError,    // an ERROR event, an undecodable event, a failed watch request
  kResync,   // the safety full relist period passed
};
std::string_view relistReasonName(RelistReason reason);  // initial, expired, error, resync

struct ObjectCacheOptions {
  size_t page_size = 500;  // `limit` of every list page
  std::chrono::milliseconds request_timeout{10000};
  // Server-side watch window (timeoutSeconds); a new watch from the last
  // resourceVersion follows each window.
  std::chrono::seconds watch_window{300};
  // Every kind is listed again this often even when its watch is healthy (a
  // safety net against a missed event); 0 = never. A kind the server does not
  // serve (404) is probed again this often too (Velero installed later).
  std::chrono::seconds resync{300};
  std::chrono::milliseconds backoff_min{250};
  std::chrono::milliseconds backoff_max{30000};
  std::string user_agent = "rampart";
};

// Called from the cache's threads without its lock held; must be cheap and
// thread-safe. `resource` is the list's resource name as kubectl spells it
// (nodes, pods, deployments, ..., horizontalpodautoscalers,
// backups.velero.io, schedules.velero.io).
struct ObjectCacheHooks {
  std::function<void()> changed;  // the store changed (generation() moved)
  std::function<void(std::string_view resource)> watch_event;             // one event applied
  std::function<void(std::string_view resource, RelistReason)> relisted;  // a list succeeded
  std::function<void(std::string_view resource)> request_failed;          // a list or watch failed
};

struct ObjectCacheKindStats {
  std::string resource;
  bool served = false;  // the last list was answered (not 404)
  bool synced = false;  // listed at least once (a 404 counts: nothing to read)
  uint64_t lists = 0;
  uint64_t watch_events = 0;
  uint64_t errors = 0;
  size_t objects = 0;
  std::string resource_version;
};

// Threads: one per watched kind (14), each with its own KubeClient. The
// client's watch is a blocking read of one HTTP/1.1 stream per connection, so
// a single thread would need a non-blocking client to multiplex 14 streams;
// idle threads blocked in poll() cost a stack each and nothing else.
// Stopping: watches notice `stop` within 250 ms; a list in flight finishes
// or times out (request_timeout) first.
//
// Thread-safety: every public method may be called from any thread.
class ObjectCache {
 public:
  ObjectCache(KubeCredentials credentials, ObjectCacheOptions options, Logger log,
              ObjectCacheHooks hooks = {});
  ~ObjectCache();
  ObjectCache(const ObjectCache&) = delete;
  ObjectCache& operator=(const ObjectCache&) = delete;

  void start();
  void stop();

  // Every kind has been listed at least once.
  bool synced() const;
  // Bumped on every change of the store (not on resourceVersion-only updates).
  uint64_t generation() const;
  // The current state (see ObjectStore::snapshot for the cost), with a
  // warning per kind not read, or nullopt before synced().
  std::optional<Objects> objects() const;
  // Changes since the previous drain (see ObjectChange). Meant for one
  // consumer; changes made before synced() are included.
  std::vector<ObjectChange> drainChanges();
  std::vector<ObjectCacheKindStats> stats() const;

 private:
  struct Kind;
  void run(size_t slot);
  bool list(KubeClient& client, size_t slot, RelistReason reason);
  enum class WatchEnd { kRewatch, kRelistExpired, kRelistError };
  WatchEnd watch(KubeClient& client, size_t slot, std::chrono::seconds window);
  void applyEvent(size_t slot, DecodedWatchEvent& event);
  void backoff(std::chrono::milliseconds& current);
  void sleepFor(std::chrono::milliseconds duration);
  void warn(const std::string& key, const std::string& message);
  void notifyChanged(bool changed);

  KubeCredentials credentials_;
  ObjectCacheOptions options_;
  Logger log_;
  ObjectCacheHooks hooks_;
  RateLimiter limiter_;
  std::vector<std::unique_ptr<Kind>> kinds_;

  mutable std::mutex mu_;
  ObjectStore store_;  // guarded by mu_
  std::atomic<uint64_t> generation_{0};

  std::atomic<bool> stop_{false};
  std::mutex sleep_mu_;
  std::condition_variable sleep_cv_;
  std::vector<std::thread> threads_;
};

}  // namespace rampart::k8s
