// The simulated cluster's object store: every object of every served
// resource, one global resourceVersion counter (like etcd's revision), a
// bounded history of watch events, and the faults that mutate it.
//
// Thread-safety: all public methods may be called from any thread; one mutex
// guards the state and a condition variable wakes watchers when events are
// appended (no polling).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/resources.h"
#include "api/selectors.h"
#include "cluster/ids.h"
#include "scenario/scenario.h"

namespace rampart::kubesim {

// The errors the API server answers for a bad request and a missing object.
inline std::unexpected<Error> badRequest(const std::string& message) {
  return fail(ErrorCode::kParse, message, 400);
}
inline std::unexpected<Error> notFound(const std::string& message) {
  return fail(ErrorCode::kProtocol, message, 404);
}

struct ClusterOptions {
  size_t history = 1000;           // watch events retained
  std::function<int64_t()> clock;  // Unix seconds; default: the system clock
  // Unix microseconds, for MicroTime fields (Lease renewTime); default: the
  // system clock, or clock() * 1e6 when only `clock` is given.
  std::function<int64_t()> clock_micros;
};

struct ListResult {
  std::string resource_version;
  std::vector<Json> items;           // without kind/apiVersion, sorted by namespace/name
  std::string continue_token;        // "" on the last page
  std::optional<int64_t> remaining;  // remainingItemCount, when the list is paged
};

struct WatchRequest {
  Resource resource = Resource::kPods;
  std::string ns;  // "" for all namespaces
  LabelQuery labels;
  FieldQuery fields;
  std::string resource_version;  // "" or "0": start with ADDED for current objects
};

// A watcher's position in the event history. Owned by the watching request.
class WatchCursor {
 public:
  uint64_t resourceVersion() const { return rv_; }
  const WatchRequest& request() const { return request_; }

 private:
  friend class Cluster;
  WatchRequest request_;
  uint64_t rv_ = 0;
  std::vector<std::string> pending_;  // initial ADDED events
};

struct WatchBatch {
  std::vector<std::string> lines;  // newline-terminated watch events
  bool closed = false;             // the server is shutting down
  bool expired = false;            // lines holds one ERROR 410 event; end the stream
};

// A request-level failure injected by the api-error / api-garbage faults.
struct ApiFailure {
  int status = 200;      // HTTP status to answer
  bool garbage = false;  // answer 200 with broken JSON
};

// The answer to an API write: the HTTP status and its body (the object, or a
// metav1.Status).
// NOLINTNEXTLINE(bugprone-exception-escape): nlohmann::json moves do not throw.
struct WriteResult {
  int status = 200;
  Json body;
};

class Cluster {
 public:
  static std::unique_ptr<Cluster> create(const Scenario& scenario, ClusterOptions options);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  ListResult list(Resource resource, const std::string& ns, const LabelQuery& labels,
                  const FieldQuery& fields) const;
  // One page of at most `limit` items (0: all) after `continue_token` (from
  // an earlier page; "" starts at the beginning). Later pages report the first
  // page's resourceVersion, as a real server does, but show the objects as
  // they are now (kubesim keeps no old revisions). kParse (400) for a token
  // kubesim did not make; kGone (410) when the token's resourceVersion is
  // older than the retained watch history, as etcd compaction would make it.
  Result<ListResult> listPage(Resource resource, const std::string& ns, const LabelQuery& labels,
                              const FieldQuery& fields, size_t limit,
                              const std::string& continue_token) const;
  std::optional<Json> get(Resource resource, const std::string& ns, const std::string& name) const;
  std::string resourceVersion() const;
  // Whether the API serves `resource`: every built-in one, and Velero's only
  // when the scenario installs Velero. Immutable; no lock.
  bool serves(Resource resource) const;

  // kGone (410, message "too old resource version: X (Y)") when the history
  // no longer holds events after the requested resourceVersion; kParse (400)
  // for a malformed one.
  Result<WatchCursor> watch(WatchRequest request);
  // Waits until events matching the cursor's request exist, `until` passes or
  // shutdown() is called. Returns the events (possibly none).
  WatchBatch next(WatchCursor& cursor, std::chrono::steady_clock::time_point until);

  // Applies one fault (see docs/kubesim.md). The error's http_status is 400
  // for malformed input and 404 for an unknown node / pod / owner.
  Result<Json> applyFault(const Json& fault);
  // Consumes one injected API failure for a request of `path`, if any is
  // pending for it (a fault's "path" is a prefix; none = every path).
  std::optional<ApiFailure> takeApiFailure(std::string_view path);

  // cluster_writes.cpp, the writes kubectl's remediation commands send
  // (docs/kubesim.md). POST pods/NAME/eviction: 429 with the DisruptionBudget
  // cause when the pod's PDB allows no disruption, 500 for a pod with several
  // PDBs, else the pod is deleted as deletePod and 201.
  WriteResult evictPod(const std::string& ns, const std::string& name, const std::string& body);
  // PATCH of an object or of its `scale` subresource (Deployments,
  // ReplicaSets, StatefulSets). Merge and strategic-merge patches are applied
  // as JSON merge patches (a $-directive is 422), JSON patches as RFC 6902;
  // identity fields are kept; one MODIFIED event when something changed.
  WriteResult patchObject(Resource resource, const std::string& ns, const std::string& name,
                          const std::string& subresource, std::string_view content_type,
                          const std::string& body);
  // GET of the autoscaling/v1 Scale of a Deployment, ReplicaSet or StatefulSet.
  WriteResult getScale(Resource resource, const std::string& ns, const std::string& name);
  // POST of a new object to its collection (not pods: 405): 409 when it
  // exists, generateName honoured, stored as given plus uid, timestamps.
  WriteResult createObject(Resource resource, const std::string& ns, const std::string& body);

  // Deletes a pod as `kubectl delete pod` would (MODIFIED with
  // deletionTimestamp, then DELETED). Returns the deleted object, or nullopt.
  std::optional<Json> deletePod(const std::string& ns, const std::string& name);
  // Deletes any other object at once (DELETED; no finalizers, no garbage
  // collection of what it owns), as `kubectl delete pdb NAME` would see it.
  // Pods go through deletePod. Returns the deleted object, or nullopt.
  std::optional<Json> deleteObject(Resource resource, const std::string& ns,
                                   const std::string& name);

  // A kubelet's renewal round: every node whose Ready condition is True gets
  // its Lease's renewTime set to now (one MODIFIED each; a missing Lease is
  // created, ADDED, as the kubelet does). One batch under the lock, one wake of
  // the watchers. The history retains these events on top of its size, so a
  // round never expires a watch by itself. Returns the Leases written.
  size_t renewLeases();

  Json state() const;
  // Wakes and ends every watch; later next() calls return closed.
  void shutdown();

 private:
  struct Event {
    uint64_t rv;
    Resource resource;
    std::shared_ptr<const Json> object;  // with kind/apiVersion
    std::shared_ptr<const std::string> line;
  };
  using Store = std::map<std::string, Json>;  // "ns/name" or "name" -> object

  Cluster(const Scenario& scenario, ClusterOptions options);
  int64_t now() const { return options_.clock(); }
  static std::string keyOf(const std::string& ns, const std::string& name);

  // All below require mu_.
  void commit(Resource resource, Json object, std::string_view type);
  void reconcile();
  bool matchesWatch(const WatchRequest& request, const Json& object) const;
  Json* findPod(const std::string& ns, const std::string& name);
  bool nodeIsReady(const std::string& name) const;
  std::vector<const Json*> podsOwnedBy(const std::string& uid) const;
  int controllerScale(const Json& pod) const;
  Result<Json> deletePodLocked(const std::string& ns, const std::string& name);
  Result<Json> setNodeDown(const Json& fault, bool down);
  Result<Json> setContainerReady(const Json& fault, bool ready);
  Result<Json> restartContainer(const Json& fault);
  Result<Json> addPod(const Json& fault);
  // cluster_objects.cpp: the scale, delete-object and put-object faults.
  Result<Json> deleteObjectLocked(Resource resource, const std::string& ns,
                                  const std::string& name);
  Result<Json> scaleObject(const Json& fault);
  Result<Json> deleteObjectFault(const Json& fault);
  Result<Json> putObject(const Json& fault);
  // cluster_leases.cpp: renews (or creates) one node's Lease; false when the
  // node does not exist.
  bool renewLeaseLocked(const std::string& node);

  ClusterOptions options_;
  IdGenerator ids_;
  const bool velero_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Store> stores_;  // indexed by Resource
  uint64_t rv_ = 0;
  uint64_t compacted_rv_ = 0;  // events with rv <= this are gone
  size_t history_slack_ = 0;   // events retained beyond options_.history: the last lease round
  std::deque<Event> history_;
  std::map<std::string, int> next_pod_ip_;
  int api_error_remaining_ = 0;
  int api_error_status_ = 500;
  std::string api_error_path_;  // prefix of the paths it hits; "" = all
  int api_garbage_remaining_ = 0;
  std::string api_garbage_path_;
  uint64_t faults_applied_ = 0;
  bool shutdown_ = false;
};

}  // namespace rampart::kubesim
