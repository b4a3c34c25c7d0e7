// The fault side of the Cluster: each fault changes objects the way the
// kubelet, the node lifecycle controller or a user would, then the
// controllers' statuses are recomputed and watchers woken.
#include <algorithm>

#include "cluster/cluster.h"
#include "scenario/objects.h"

namespace rampart::kubesim {
namespace {

Result<std::string> requiredString(const Json& fault, const char* key) {
  auto it = fault.find(key);
  if (it == fault.end() || !it->is_string() || it->get<std::string>().empty()) {
    return badRequest(std::string("fault '") + fault.value("type", "") + "' needs a string \"" +
                      key + "\"");
  }
  return it->get<std::string>();
}

std::string optionalString(const Json& fault, const char* key) {
  auto it = fault.find(key);
  return it != fault.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<int> positiveInt(const Json& fault, const char* key, int fallback) {
  auto it = fault.find(key);
  if (it == fault.end()) return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 1000000) {
    return badRequest(std::string("\"") + key + "\" must be a non-negative integer");
  }
  return it->get<int>();
}

// The optional "path" of api-error / api-garbage: a request-path prefix.
Result<std::string> pathPrefix(const Json& fault) {
  auto it = fault.find("path");
  if (it == fault.end()) return std::string();
  if (!it->is_string() || !it->get<std::string>().starts_with("/") ||
      it->get<std::string>().size() > 1024) {
    return badRequest("\"path\" must be a path starting with '/' (at most 1024 bytes)");
  }
  return it->get<std::string>();
}

// Pod faults name their pod as {"namespace": NS, "name": POD} or {"pod": "NS/POD"}.
Result<std::pair<std::string, std::string>> podRef(const Json& fault) {
  std::string ns = optionalString(fault, "namespace");
  std::string name = optionalString(fault, "name");
  if (const std::string pod = optionalString(fault, "pod"); !pod.empty()) {
    auto slash = pod.find('/');
    if (slash == std::string::npos) {
      ns = "default";
      name = pod;
    } else {
      ns = pod.substr(0, slash);
      name = pod.substr(slash + 1);
    }
  }
  if (name.empty()) {
    return badRequest("fault '" + fault.value("type", "") +
                      "' needs \"pod\": \"NAMESPACE/NAME\" (or \"namespace\" and \"name\")");
  }
  if (ns.empty()) ns = "default";
  return std::make_pair(ns, name);
}

}  // namespace

Json* Cluster::findPod(const std::string& ns, const std::string& name) {
  Store& pods = stores_[static_cast<size_t>(Resource::kPods)];
  auto it = pods.find(keyOf(ns, name));
  return it == pods.end() ? nullptr : &it->second;
}

Result<Json> Cluster::applyFault(const Json& fault) {
  if (!fault.is_object() || !fault.contains("type") || !fault["type"].is_string()) {
    return badRequest("a fault is a JSON object with a string \"type\"");
  }
  const std::string type = fault["type"];
  Result<Json> result;
  {
    std::lock_guard lock(mu_);
    if (shutdown_) return fail(ErrorCode::kProtocol, "server is shutting down", 503);
    if (type == "node-down" || type == "node-up") {
      result = setNodeDown(fault, type == "node-down");
    } else if (type == "container-not-ready" || type == "container-ready") {
      result = setContainerReady(fault, type == "container-ready");
    } else if (type == "container-restart") {
      result = restartContainer(fault);
    } else if (type == "delete-pod") {
      auto ref = podRef(fault);
      if (!ref) return std::unexpected(ref.error());
      result = deletePodLocked(ref->first, ref->second);
    } else if (type == "add-pod") {
      result = addPod(fault);
    } else if (type == "scale") {
      result = scaleObject(fault);
    } else if (type == "delete-object") {
      result = deleteObjectFault(fault);
    } else if (type == "put-object") {
      result = putObject(fault);
    } else if (type == "api-error") {
      auto status = positiveInt(fault, "status", 500);
      auto count = positiveInt(fault, "count", 1);
      auto path = pathPrefix(fault);
      if (!status) return std::unexpected(status.error());
      if (!count) return std::unexpected(count.error());
      if (!path) return std::unexpected(path.error());
      if (*status < 400 || *status > 599) return badRequest("\"status\" must be within 400..599");
      api_error_status_ = *status;
      api_error_remaining_ = *count;
      api_error_path_ = *path;
      result = Json{{"status", *status}, {"count", *count}};
      if (!path->empty()) (*result)["path"] = *path;
    } else if (type == "api-garbage") {
      auto count = positiveInt(fault, "count", 1);
      auto path = pathPrefix(fault);
      if (!count) return std::unexpected(count.error());
      if (!path) return std::unexpected(path.error());
      api_garbage_remaining_ = *count;
      api_garbage_path_ = *path;
      result = Json{{"count", *count}};
      if (!path->empty()) (*result)["path"] = *path;
    } else {
      return badRequest("unknown fault type '" + type +
                        "'; known: node-down, node-up, container-not-ready, container-ready, "
                        "container-restart, delete-pod, add-pod, scale, delete-object, put-object, "
                        "api-error, api-garbage");
    }
    if (!result) return result;
    reconcile();
    ++faults_applied_;
    (*result)["type"] = type;
    (*result)["resourceVersion"] = std::to_string(rv_);
  }
  cv_.notify_all();
  return result;
}

std::optional<Json> Cluster::deletePod(const std::string& ns, const std::string& name) {
  std::optional<Json> out;
  {
    std::lock_guard lock(mu_);
    auto deleted = deletePodLocked(ns, name);
    if (!deleted) return std::nullopt;
    reconcile();
    out = (*deleted)["object"];
  }
  cv_.notify_all();
  return out;
}

Result<Json> Cluster::deletePodLocked(const std::string& ns, const std::string& name) {
  Json* pod = findPod(ns, name);
  if (!pod) return notFound("pod " + ns + "/" + name + " not found");
  Json copy = *pod;
  copy["metadata"]["deletionTimestamp"] = formatRfc3339(now());
  copy["metadata"]["deletionGracePeriodSeconds"] = 0;
  commit(Resource::kPods, copy, "MODIFIED");
  Json final_copy = *findPod(ns, name);
  commit(Resource::kPods, final_copy, "DELETED");
  final_copy["metadata"]["resourceVersion"] = std::to_string(rv_);
  return Json{{"pod", ns + "/" + name}, {"object", final_copy}};
}

Result<Json> Cluster::setNodeDown(const Json& fault, bool down) {
  auto name = requiredString(fault, "node");
  if (!name) return std::unexpected(name.error());
  Store& nodes = stores_[static_cast<size_t>(Resource::kNodes)];
  auto it = nodes.find(*name);
  if (it == nodes.end()) return notFound("node " + *name + " not found");
  Json node = it->second;
  if (down) {
    markNodeDown(node, now());
  } else {
    markNodeUp(node, now());
  }
  commit(Resource::kNodes, std::move(node), "MODIFIED");
  // A kubelet back renews its Lease at once; a down one stops renewing (the
  // renewal round skips nodes that are not Ready).
  if (!down) renewLeaseLocked(*name);
  int pods_changed = 0;
  for (auto& [key, pod] : stores_[static_cast<size_t>(Resource::kPods)]) {
    if (pod["spec"].value("nodeName", "") != *name) continue;
    Json copy = pod;
    if (refreshPodConditions(copy, !down, now())) {
      commit(Resource::kPods, std::move(copy), "MODIFIED");
      ++pods_changed;
    }
  }
  return Json{{"node", *name}, {"podsChanged", pods_changed}};
}

Result<Json> Cluster::setContainerReady(const Json& fault, bool ready) {
  auto ref = podRef(fault);
  if (!ref) return std::unexpected(ref.error());
  const std::string container = optionalString(fault, "container");
  Json* pod = findPod(ref->first, ref->second);
  if (!pod) return notFound("pod " + ref->first + "/" + ref->second + " not found");
  if (!(*pod)["status"].contains("containerStatuses")) {
    return fail(ErrorCode::kProtocol, "pod " + ref->first + "/" + ref->second + " is not running",
                409);
  }
  Json copy = *pod;
  int matched = 0;
  for (auto& cs : copy["status"]["containerStatuses"]) {
    if (!container.empty() && cs["name"] != container) continue;
    cs["ready"] = ready;
    ++matched;
  }
  if (matched == 0) {
    return notFound("pod " + ref->first + "/" + ref->second + " has no container " + container);
  }
  refreshPodConditions(copy, nodeIsReady(copy["spec"].value("nodeName", "")), now());
  commit(Resource::kPods, std::move(copy), "MODIFIED");
  return Json{{"pod", ref->first + "/" + ref->second}, {"containers", matched}};
}

Result<Json> Cluster::restartContainer(const Json& fault) {
  auto ref = podRef(fault);
  if (!ref) return std::unexpected(ref.error());
  const std::string container = optionalString(fault, "container");
  std::string reason = optionalString(fault, "reason");
  if (reason.empty()) reason = "Error";
  Json* pod = findPod(ref->first, ref->second);
  if (!pod) return notFound("pod " + ref->first + "/" + ref->second + " not found");
  if (!(*pod)["status"].contains("containerStatuses")) {
    return fail(ErrorCode::kProtocol, "pod " + ref->first + "/" + ref->second + " is not running",
                409);
  }
  const int exit_code = reason == "OOMKilled" ? 137 : reason == "Completed" ? 0 : 1;
  const std::string when = formatRfc3339(now());
  Json copy = *pod;
  int matched = 0;
  for (auto& cs : copy["status"]["containerStatuses"]) {
    if (!container.empty() && cs["name"] != container) continue;
    std::string started = when;
    if (cs["state"].contains("running")) {
      started = cs["state"]["running"].value("startedAt", when);
    }
    cs["lastState"] = Json{{"terminated", Json{{"exitCode", exit_code},
                                               {"reason", reason},
                                               {"startedAt", started},
                                               {"finishedAt", when},
                                               {"containerID", cs.value("containerID", "")}}}};
    cs["state"] = Json{{"running", Json{{"startedAt", when}}}};
    cs["restartCount"] = cs.value("restartCount", 0) + 1;
    cs["containerID"] = "containerd://" + ids_.hex(64);
    ++matched;
    if (container.empty()) break;  // without --container, the first container restarts
  }
  if (matched == 0) {
    return notFound("pod " + ref->first + "/" + ref->second + " has no container " + container);
  }
  commit(Resource::kPods, std::move(copy), "MODIFIED");
  return Json{{"pod", ref->first + "/" + ref->second}, {"reason", reason}};
}

Result<Json> Cluster::addPod(const Json& fault) {
  auto ref = podRef(fault);
  if (!ref) return std::unexpected(ref.error());
  auto node_name = requiredString(fault, "node");
  if (!node_name) return std::unexpected(node_name.error());
  const auto& [ns, name] = *ref;
  if (!stores_[static_cast<size_t>(Resource::kNamespaces)].count(ns)) {
    return notFound("namespace " + ns + " not found");
  }
  if (findPod(ns, name))
    return fail(ErrorCode::kProtocol, "pod " + ns + "/" + name + " already exists", 409);
  const Store& nodes = stores_[static_cast<size_t>(Resource::kNodes)];
  auto node_it = nodes.find(*node_name);
  if (node_it == nodes.end()) return notFound("node " + *node_name + " not found");

  PodParams p;
  p.ns = ns;
  p.name = name;
  p.node = *node_name;
  p.created = now();
  p.pod_spec =
      Json{{"containers",
            Json::array({Json{{"name", "app"}, {"image", "registry.k8s.io/pause:3.10"}}})}};
  const std::string owner_kind = optionalString(fault, "ownerKind");
  const std::string owner_name = optionalString(fault, "ownerName");
  if (owner_kind.empty() != owner_name.empty()) {
    return badRequest("add-pod needs both \"ownerKind\" and \"ownerName\", or neither");
  }
  if (!owner_kind.empty()) {
    Resource r;
    if (owner_kind == "ReplicaSet" || owner_kind == "Deployment") {
      r = Resource::kReplicaSets;
    } else if (owner_kind == "StatefulSet") {
      r = Resource::kStatefulSets;
    } else if (owner_kind == "DaemonSet") {
      r = Resource::kDaemonSets;
    } else {
      return badRequest("ownerKind must be Deployment, ReplicaSet, StatefulSet or DaemonSet");
    }
    const Json* owner = nullptr;
    if (owner_kind == "Deployment") {
      // Pods belong to the Deployment's ReplicaSet, never to the Deployment.
      const Store& deployments = stores_[static_cast<size_t>(Resource::kDeployments)];
      auto d = deployments.find(keyOf(ns, owner_name));
      if (d != deployments.end()) {
        for (const auto& [key, rs] : stores_[static_cast<size_t>(r)]) {
          for (const auto& ref_json : rs["metadata"].value("ownerReferences", Json::array())) {
            if (ref_json.value("uid", "") == d->second["metadata"].value("uid", "")) owner = &rs;
          }
        }
      }
    } else {
      const Store& store = stores_[static_cast<size_t>(r)];
      auto it = store.find(keyOf(ns, owner_name));
      if (it != store.end()) owner = &it->second;
    }
    if (!owner) return notFound(owner_kind + " " + ns + "/" + owner_name + " not found");
    p.owner = {std::string(resourceType(r).kind), (*owner)["metadata"]["name"].get<std::string>(),
               (*owner)["metadata"]["uid"].get<std::string>()};
    const Json& tmpl = (*owner)["spec"]["template"];
    p.labels = tmpl["metadata"].value("labels", Json::object());
    p.pod_spec = tmpl["spec"];
    p.generate_name = p.owner.name + "-";
  }
  if (fault.contains("labels")) {
    if (!fault["labels"].is_object()) return badRequest("\"labels\" must be an object");
    for (const auto& [k, v] : fault["labels"].items()) {
      if (!v.is_string()) return badRequest("label values must be strings");
      p.labels[k] = v;
    }
  }
  p.host_ip = hostIpOf(node_it->second);
  p.pod_ip = podIpFor(node_it->second, next_pod_ip_[*node_name]++);
  Json pod = makePod(p, ids_);
  refreshPodConditions(pod, kubesim::nodeReady(node_it->second), now());
  commit(Resource::kPods, std::move(pod), "ADDED");
  return Json{{"pod", ns + "/" + name}, {"node", *node_name}};
}

}  // namespace rampart::kubesim
