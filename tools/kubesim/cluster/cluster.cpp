#include "cluster/cluster.h"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <set>

#include "cluster/node_leases.h"
#include "scenario/objects.h"

namespace rampart::kubesim {
namespace {

Json withKind(Resource resource, const Json& object) {
  const ResourceType& type = resourceType(resource);
  Json out{{"kind", type.kind}, {"apiVersion", type.apiVersion()}};
  for (const auto& [k, v] : object.items()) out[k] = v;
  return out;
}

std::string eventLine(std::string_view type, const Json& object) {
  Json event{{"type", type}, {"object", object}};
  return event.dump() + "\n";
}

std::string nsOf(const Json& object) {
  return object["metadata"].value("namespace", "");
}
std::string nameOf(const Json& object) {
  return object["metadata"].value("name", "");
}
std::string uidOf(const Json& object) {
  return object["metadata"].value("uid", "");
}

std::string controllerUid(const Json& object) {
  for (const auto& ref : object["metadata"].value("ownerReferences", Json::array())) {
    if (ref.value("controller", false)) return ref.value("uid", "");
  }
  return "";
}

}  // namespace

std::unique_ptr<Cluster> Cluster::create(const Scenario& scenario, ClusterOptions options) {
  return std::unique_ptr<Cluster>(new Cluster(scenario, std::move(options)));
}

Cluster::Cluster(const Scenario& scenario, ClusterOptions options)
    : options_(std::move(options)),
      ids_(scenario.seed),
      velero_(scenario.velero.installed),
      stores_(static_cast<size_t>(Resource::kCount)) {
  if (!options_.clock_micros) {
    if (options_.clock) {
      options_.clock_micros = [clock = options_.clock] { return clock() * 1000000; };
    } else {
      options_.clock_micros = [] {
        return static_cast<int64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
      };
    }
  }
  if (!options_.clock) {
    options_.clock = [] { return static_cast<int64_t>(std::time(nullptr)); };
  }
  if (options_.history == 0) options_.history = 1;
  InitialObjects initial = buildInitialObjects(scenario, ids_);
  next_pod_ip_ = initial.next_pod_ip;
  std::lock_guard lock(mu_);
  auto load = [&](Resource r, std::vector<Json>& objects) {
    for (auto& o : objects) commit(r, std::move(o), "ADDED");
  };
  load(Resource::kNamespaces, initial.namespaces);
  load(Resource::kNodes, initial.nodes);
  load(Resource::kDeployments, initial.deployments);
  load(Resource::kReplicaSets, initial.replicasets);
  load(Resource::kStatefulSets, initial.statefulsets);
  load(Resource::kDaemonSets, initial.daemonsets);
  load(Resource::kPods, initial.pods);
  load(Resource::kPodDisruptionBudgets, initial.pdbs);
  load(Resource::kServices, initial.services);
  load(Resource::kPersistentVolumeClaims, initial.pvcs);
  load(Resource::kPersistentVolumes, initial.pvs);
  load(Resource::kHorizontalPodAutoscalers, initial.hpas);
  load(Resource::kVeleroSchedules, initial.velero_schedules);
  load(Resource::kVeleroBackups, initial.velero_backups);
  // Initial statuses use the scenario's clock, not the wall clock, so the
  // initial API output depends only on the scenario and the seed.
  auto real_clock = options_.clock;
  const int64_t settled = scenario.epoch + 600;
  options_.clock = [settled] { return settled; };
  reconcile();
  options_.clock = real_clock;
  // Each kubelet's Lease, renewed now; committed last so that every other
  // object keeps the resourceVersion it had before Leases were served.
  for (const auto& [name, node] : stores_[static_cast<size_t>(Resource::kNodes)]) {
    commit(Resource::kLeases, makeNodeLease(node, options_.clock_micros()), "ADDED");
  }
  history_.clear();
  compacted_rv_ = rv_;
}

Cluster::~Cluster() {
  shutdown();
}

std::string Cluster::keyOf(const std::string& ns, const std::string& name) {
  return ns.empty() ? name : ns + "/" + name;
}

void Cluster::commit(Resource resource, Json object, std::string_view type) {
  ++rv_;
  object["metadata"]["resourceVersion"] = std::to_string(rv_);
  const std::string key = keyOf(nsOf(object), nameOf(object));
  auto with_kind = std::make_shared<const Json>(withKind(resource, object));
  auto line = std::make_shared<const std::string>(eventLine(type, *with_kind));
  Store& store = stores_[static_cast<size_t>(resource)];
  if (type == "DELETED") {
    store.erase(key);
  } else {
    store[key] = std::move(object);
  }
  history_.push_back(Event{rv_, resource, std::move(with_kind), std::move(line)});
  while (history_.size() > options_.history + history_slack_) {
    compacted_rv_ = history_.front().rv;
    history_.pop_front();
  }
}

bool Cluster::nodeIsReady(const std::string& name) const {
  const Store& nodes = stores_[static_cast<size_t>(Resource::kNodes)];
  auto it = nodes.find(name);
  return it != nodes.end() && kubesim::nodeReady(it->second);
}

std::vector<const Json*> Cluster::podsOwnedBy(const std::string& uid) const {
  std::vector<const Json*> out;
  for (const auto& [key, pod] : stores_[static_cast<size_t>(Resource::kPods)]) {
    if (controllerUid(pod) == uid && !podTerminating(pod)) out.push_back(&pod);
  }
  return out;
}

// The scale of the controller that owns `pod`, as the disruption controller
// reads it for PDBs: Deployment replicas for ReplicaSet pods.
int Cluster::controllerScale(const Json& pod) const {
  const std::string owner = controllerUid(pod);
  if (owner.empty()) return 1;
  for (Resource r : {Resource::kReplicaSets, Resource::kStatefulSets, Resource::kDaemonSets}) {
    for (const auto& [key, obj] : stores_[static_cast<size_t>(r)]) {
      if (uidOf(obj) != owner) continue;
      if (r == Resource::kDaemonSets) return obj["status"].value("desiredNumberScheduled", 0);
      if (r == Resource::kReplicaSets) {
        const std::string dep = controllerUid(obj);
        for (const auto& [dkey, d] : stores_[static_cast<size_t>(Resource::kDeployments)]) {
          if (uidOf(d) == dep) return d["spec"].value("replicas", 1);
        }
      }
      return obj["spec"].value("replicas", 1);
    }
  }
  return 1;
}

void Cluster::reconcile() {
  const int64_t t = now();
  auto update = [&](Resource r, const std::string& key, Json status) {
    Json& obj = stores_[static_cast<size_t>(r)][key];
    if (obj["status"] == status) return;
    Json copy = obj;
    copy["status"] = std::move(status);
    commit(r, std::move(copy), "MODIFIED");
  };
  auto keys = [&](Resource r) {
    std::vector<std::string> out;
    for (const auto& [key, obj] : stores_[static_cast<size_t>(r)]) out.push_back(key);
    return out;
  };
  for (const auto& key : keys(Resource::kReplicaSets)) {
    const Json& rs = stores_[static_cast<size_t>(Resource::kReplicaSets)][key];
    update(Resource::kReplicaSets, key, replicaSetStatus(rs, podsOwnedBy(uidOf(rs))));
  }
  for (const auto& key : keys(Resource::kDeployments)) {
    const Json& d = stores_[static_cast<size_t>(Resource::kDeployments)][key];
    std::vector<const Json*> pods;
    for (const auto& [rkey, rs] : stores_[static_cast<size_t>(Resource::kReplicaSets)]) {
      if (controllerUid(rs) != uidOf(d)) continue;
      auto owned = podsOwnedBy(uidOf(rs));
      pods.insert(pods.end(), owned.begin(), owned.end());
    }
    update(Resource::kDeployments, key, deploymentStatus(d, pods, d["status"], t));
  }
  for (const auto& key : keys(Resource::kStatefulSets)) {
    const Json& s = stores_[static_cast<size_t>(Resource::kStatefulSets)][key];
    update(Resource::kStatefulSets, key, statefulSetStatus(s, podsOwnedBy(uidOf(s))));
  }
  for (const auto& key : keys(Resource::kDaemonSets)) {
    const Json& ds = stores_[static_cast<size_t>(Resource::kDaemonSets)][key];
    auto pods = podsOwnedBy(uidOf(ds));
    const int desired = ds["status"].value("desiredNumberScheduled", static_cast<int>(pods.size()));
    update(Resource::kDaemonSets, key, daemonSetStatus(ds, pods, desired));
  }
  for (const auto& key : keys(Resource::kPodDisruptionBudgets)) {
    const Json& pdb = stores_[static_cast<size_t>(Resource::kPodDisruptionBudgets)][key];
    std::vector<const Json*> pods;
    std::set<std::string> controllers;
    int expected = 0;
    for (const auto& [pkey, pod] : stores_[static_cast<size_t>(Resource::kPods)]) {
      if (nsOf(pod) != nsOf(pdb) || podTerminating(pod)) continue;
      if (!matchesLabelSelector(pdb["spec"]["selector"], pod["metadata"]["labels"])) continue;
      pods.push_back(&pod);
      const std::string owner = controllerUid(pod);
      if (owner.empty()) {
        ++expected;
      } else if (controllers.insert(owner).second) {
        expected += controllerScale(pod);
      }
    }
    update(Resource::kPodDisruptionBudgets, key, pdbStatus(pdb, pods, expected, pdb["status"], t));
  }
  for (const auto& key : keys(Resource::kHorizontalPodAutoscalers)) {
    const Json& hpa = stores_[static_cast<size_t>(Resource::kHorizontalPodAutoscalers)][key];
    const Json& ref = hpa["spec"]["scaleTargetRef"];
    const Resource target =
        ref.value("kind", "") == "StatefulSet" ? Resource::kStatefulSets : Resource::kDeployments;
    const Store& targets = stores_[static_cast<size_t>(target)];
    auto it = targets.find(keyOf(nsOf(hpa), ref.value("name", "")));
    const int current = it == targets.end() ? 0 : it->second["status"].value("replicas", 0);
    update(Resource::kHorizontalPodAutoscalers, key, hpaStatus(hpa, current, hpa["status"], t));
  }
}

ListResult Cluster::list(Resource resource, const std::string& ns, const LabelQuery& labels,
                         const FieldQuery& fields) const {
  std::lock_guard lock(mu_);
  ListResult out;
  out.resource_version = std::to_string(rv_);
  for (const auto& [key, obj] : stores_[static_cast<size_t>(resource)]) {
    if (!ns.empty() && nsOf(obj) != ns) continue;
    if (!labels.matches(obj["metadata"].value("labels", Json::object()))) continue;
    if (!fields.matches(obj)) continue;
    out.items.push_back(obj);
  }
  return out;
}

Result<ListResult> Cluster::listPage(Resource resource, const std::string& ns,
                                     const LabelQuery& labels, const FieldQuery& fields,
                                     size_t limit, const std::string& continue_token) const {
  std::lock_guard lock(mu_);
  ListResult out;
  uint64_t rv = rv_;
  const Store& store = stores_[static_cast<size_t>(resource)];
  auto it = store.begin();
  if (!continue_token.empty()) {
    auto token = decodeContinue(continue_token);
    if (!token) return fail(ErrorCode::kParse, "continue key is not valid", 400);
    if (token->resource_version < compacted_rv_) {
      return fail(ErrorCode::kGone,
                  "The provided continue parameter is too old to display a consistent list "
                  "result. You can start a new list without the continue parameter.",
                  410);
    }
    rv = token->resource_version;
    it = store.upper_bound(token->after_key);
  }
  out.resource_version = std::to_string(rv);
  const bool filtered = !labels.empty() || !fields.empty();
  std::string last_key;
  for (; it != store.end(); ++it) {
    const Json& obj = it->second;
    if (!ns.empty() && nsOf(obj) != ns) continue;
    if (!labels.matches(obj["metadata"].value("labels", Json::object()))) continue;
    if (!fields.matches(obj)) continue;
    if (limit > 0 && out.items.size() == limit) {
      // More match: the token resumes after the last item served.
      out.continue_token = encodeContinue({rv, last_key});
      if (!filtered) {
        int64_t rest = 0;
        for (auto r = it; r != store.end(); ++r) {
          if (ns.empty() || nsOf(r->second) == ns) ++rest;
        }
        out.remaining = rest;
      }
      break;
    }
    out.items.push_back(obj);
    last_key = it->first;
  }
  return out;
}

std::optional<Json> Cluster::get(Resource resource, const std::string& ns,
                                 const std::string& name) const {
  std::lock_guard lock(mu_);
  const Store& store = stores_[static_cast<size_t>(resource)];
  auto it = store.find(keyOf(ns, name));
  if (it == store.end()) return std::nullopt;
  return it->second;
}

std::string Cluster::resourceVersion() const {
  std::lock_guard lock(mu_);
  return std::to_string(rv_);
}

bool Cluster::matchesWatch(const WatchRequest& request, const Json& object) const {
  if (!request.ns.empty() && nsOf(object) != request.ns) return false;
  return request.labels.matches(object["metadata"].value("labels", Json::object())) &&
         request.fields.matches(object);
}

Result<WatchCursor> Cluster::watch(WatchRequest request) {
  std::lock_guard lock(mu_);
  WatchCursor cursor;
  const std::string& rv_text = request.resource_version;
  if (rv_text.empty() || rv_text == "0") {
    cursor.rv_ = rv_;
    for (const auto& [key, obj] : stores_[static_cast<size_t>(request.resource)]) {
      if (matchesWatch(request, obj)) {
        cursor.pending_.push_back(eventLine("ADDED", withKind(request.resource, obj)));
      }
    }
  } else {
    uint64_t from = 0;
    auto [end, ec] = std::from_chars(rv_text.data(), rv_text.data() + rv_text.size(), from);
    if (ec != std::errc() || end != rv_text.data() + rv_text.size()) {
      return fail(ErrorCode::kParse, "invalid resource version \"" + rv_text + "\"", 400);
    }
    if (from < compacted_rv_) {
      return fail(
          ErrorCode::kGone,
          "too old resource version: " + rv_text + " (" + std::to_string(compacted_rv_) + ")", 410);
    }
    // A resourceVersion from the future is served from now on.
    cursor.rv_ = std::min(from, rv_);
  }
  cursor.request_ = std::move(request);
  return cursor;
}

WatchBatch Cluster::next(WatchCursor& cursor, std::chrono::steady_clock::time_point until) {
  WatchBatch batch;
  std::unique_lock lock(mu_);
  if (!cursor.pending_.empty()) {
    batch.lines = std::move(cursor.pending_);
    cursor.pending_.clear();
    return batch;
  }
  cv_.wait_until(lock, until, [&] {
    return shutdown_ || (!history_.empty() && history_.back().rv > cursor.rv_);
  });
  if (shutdown_) {
    batch.closed = true;
    return batch;
  }
  if (cursor.rv_ < compacted_rv_) {
    // The watcher fell behind the retained history while it was writing.
    Json status{{"kind", "Status"},
                {"apiVersion", "v1"},
                {"metadata", Json::object()},
                {"status", "Failure"},
                {"message", "too old resource version: " + std::to_string(cursor.rv_) + " (" +
                                std::to_string(compacted_rv_) + ")"},
                {"reason", "Expired"},
                {"code", 410}};
    batch.lines.push_back(eventLine("ERROR", status));
    batch.expired = true;
    return batch;
  }
  auto it = std::upper_bound(history_.begin(), history_.end(), cursor.rv_,
                             [](uint64_t rv, const Event& e) { return rv < e.rv; });
  for (; it != history_.end(); ++it) {
    cursor.rv_ = it->rv;
    if (it->resource != cursor.request_.resource) continue;
    if (!matchesWatch(cursor.request_, *it->object)) continue;
    batch.lines.push_back(*it->line);
  }
  return batch;
}

std::optional<ApiFailure> Cluster::takeApiFailure(std::string_view path) {
  std::lock_guard lock(mu_);
  if (api_error_remaining_ > 0 && path.starts_with(api_error_path_)) {
    --api_error_remaining_;
    return ApiFailure{api_error_status_, false};
  }
  if (api_garbage_remaining_ > 0 && path.starts_with(api_garbage_path_)) {
    --api_garbage_remaining_;
    return ApiFailure{200, true};
  }
  return std::nullopt;
}

bool Cluster::serves(Resource resource) const {
  return !resourceType(resource).custom || velero_;
}

Json Cluster::state() const {
  std::lock_guard lock(mu_);
  Json counts = Json::object();
  for (const auto& t : allResourceTypes()) {
    if (!serves(t.id)) continue;
    counts[std::string(t.plural)] = stores_[static_cast<size_t>(t.id)].size();
  }
  Json down = Json::array();
  for (const auto& [name, node] : stores_[static_cast<size_t>(Resource::kNodes)]) {
    if (!kubesim::nodeReady(node)) down.push_back(name);
  }
  return Json{{"resourceVersion", std::to_string(rv_)},
              {"oldestResourceVersion", std::to_string(compacted_rv_)},
              {"historyEvents", history_.size()},
              {"objects", counts},
              {"nodesNotReady", down},
              {"faultsApplied", faults_applied_},
              {"pendingApiErrors", api_error_remaining_},
              {"pendingApiGarbage", api_garbage_remaining_}};
}

void Cluster::shutdown() {
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
}

}  // namespace rampart::kubesim
