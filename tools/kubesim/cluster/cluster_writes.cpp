// The API's write verbs that kubectl's remediation commands send (the example
// hooks in tools/hooks/): POST pods/NAME/eviction with PodDisruptionBudget
// checks, PATCH of any object (strategic-merge and merge patches applied as
// JSON merge patches, JSON patches), the scale subresource (GET, PATCH) and
// POST of a new object (kubectl create).
#include <algorithm>

#include "api/api_views.h"
#include "cluster/cluster.h"
#include "scenario/objects.h"

namespace rampart::kubesim {
namespace {

WriteResult status(int code, const std::string& message, const Json& details = Json(),
                   const char* reason = nullptr) {
  Json body = statusBody(code, message, details);
  if (reason != nullptr) {
    body["reason"] = reason;
  } else if (code == 415) {
    body["reason"] = "UnsupportedMediaType";
  } else if (code == 422) {
    body["reason"] = "Invalid";
  } else if (code == 500) {
    body["reason"] = "InternalError";
  }
  return WriteResult{code, std::move(body)};
}

WriteResult objectNotFound(Resource resource, const std::string& name) {
  const ResourceType& type = resourceType(resource);
  std::string plural(type.plural);
  if (!type.group.empty()) plural += "." + std::string(type.group);
  return status(404, plural + " \"" + name + "\" not found",
                Json{{"name", name}, {"kind", std::string(type.plural)}});
}

Json withKindOf(Resource resource, const Json& object) {
  const ResourceType& type = resourceType(resource);
  Json out{{"kind", type.kind}, {"apiVersion", type.apiVersion()}};
  for (const auto& [k, v] : object.items()) out[k] = v;
  return out;
}

bool scalable(Resource r) {
  return r == Resource::kDeployments || r == Resource::kReplicaSets || r == Resource::kStatefulSets;
}

// "app=web,tier=front" from matchLabels, as Scale.status.selector.
std::string selectorString(const Json& object) {
  std::string out;
  const Json* labels = nullptr;
  if (auto s = object.find("spec"); s != object.end()) {
    if (auto sel = s->find("selector"); sel != s->end() && sel->is_object()) {
      if (auto ml = sel->find("matchLabels"); ml != sel->end() && ml->is_object()) labels = &*ml;
    }
  }
  if (labels == nullptr) return out;
  std::vector<std::pair<std::string, std::string>> sorted;
  for (const auto& [k, v] : labels->items()) {
    sorted.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
  }
  std::sort(sorted.begin(), sorted.end());
  for (const auto& [k, v] : sorted) {
    if (!out.empty()) out += ",";
    out += k;
    out += "=";
    out += v;
  }
  return out;
}

Json scaleOf(Resource resource, const Json& object) {
  const Json& meta = object["metadata"];
  Json m{{"name", meta.value("name", "")},
         {"namespace", meta.value("namespace", "")},
         {"uid", meta.value("uid", "")},
         {"resourceVersion", meta.value("resourceVersion", "")},
         {"creationTimestamp", meta.value("creationTimestamp", "")}};
  const int64_t replicas =
      object.contains("spec") ? object["spec"].value("replicas", int64_t{1}) : int64_t{1};
  Json st{{"replicas", object.contains("status") ? object["status"].value("replicas", int64_t{0})
                                                 : int64_t{0}}};
  if (auto sel = selectorString(object); !sel.empty()) st["selector"] = sel;
  (void)resource;
  return Json{{"kind", "Scale"},
              {"apiVersion", "autoscaling/v1"},
              {"metadata", m},
              {"spec", Json{{"replicas", replicas}}},
              {"status", st}};
}

bool hasDirective(const Json& j) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (!k.empty() && k[0] == '$') return true;
      if (hasDirective(v)) return true;
    }
  } else if (j.is_array()) {
    for (const auto& v : j) {
      if (hasDirective(v)) return true;
    }
  }
  return false;
}

// Applies `body` of `content_type` to `target`; an error answer or nullopt.
std::optional<WriteResult> applyPatch(Json& target, std::string_view content_type,
                                      const std::string& body) {
  const std::string type(content_type.substr(0, content_type.find(';')));
  Json patch;
  try {
    patch = Json::parse(body);
  } catch (const Json::exception& e) {
    return status(400, std::string("the patch is not valid JSON: ") + e.what());
  }
  try {
    if (type == "application/merge-patch+json") {
      target.merge_patch(patch);
    } else if (type == "application/strategic-merge-patch+json") {
      // What kubectl cordon / scale / rollout restart send holds no list and
      // no directive, where a strategic merge is a JSON merge.
      if (hasDirective(patch)) {
        return status(422,
                      "kubesim applies strategic merge patches as JSON merge patches; "
                      "$-directives are not supported");
      }
      target.merge_patch(patch);
    } else if (type == "application/json-patch+json") {
      target = target.patch(patch);
    } else {
      return status(415,
                    "the body of the request was in an unknown format - accepted media "
                    "types include: application/json-patch+json, "
                    "application/merge-patch+json, application/strategic-merge-patch+json");
    }
  } catch (const Json::exception& e) {
    return status(422, std::string("the patch cannot be applied: ") + e.what());
  }
  if (!target.is_object()) return status(422, "the patch does not leave an object");
  return std::nullopt;
}

}  // namespace

WriteResult Cluster::evictPod(const std::string& ns, const std::string& name,
                              const std::string& body) {
  if (!body.empty()) {
    Json eviction = Json::parse(body, nullptr, false);
    if (eviction.is_discarded() || !eviction.is_object()) {
      return status(400, "the Eviction is not valid JSON");
    }
    const std::string kind = eviction.value("kind", "Eviction");
    if (kind != "Eviction") return status(400, "expected kind Eviction, got " + kind);
  }
  WriteResult out;
  {
    std::lock_guard lock(mu_);
    Json* pod = findPod(ns, name);
    if (pod == nullptr) return objectNotFound(Resource::kPods, name);
    const Json labels = (*pod)["metadata"].value("labels", Json::object());
    std::vector<const Json*> budgets;
    for (const auto& [key, pdb] : stores_[static_cast<size_t>(Resource::kPodDisruptionBudgets)]) {
      if (pdb["metadata"].value("namespace", "") != ns) continue;
      if (!pdb.contains("spec") || !pdb["spec"].contains("selector")) continue;
      if (matchesLabelSelector(pdb["spec"]["selector"], labels)) budgets.push_back(&pdb);
    }
    if (budgets.size() > 1) {
      return status(500,
                    "This pod has more than one PodDisruptionBudget, which the eviction "
                    "subresource does not support.");
    }
    if (budgets.size() == 1 && !podTerminating(*pod)) {
      const Json& pdb = *budgets[0];
      const Json st = pdb.value("status", Json::object());
      const int64_t allowed = st.value("disruptionsAllowed", int64_t{0});
      const int64_t healthy = st.value("currentHealthy", int64_t{0});
      const int64_t desired = st.value("desiredHealthy", int64_t{0});
      // IfHealthyBudget: a pod that is not ready may go while the budget holds.
      const bool unhealthy_ok = !podReady(*pod) && healthy >= desired;
      if (allowed < 1 && !unhealthy_ok) {
        const std::string pdb_name = pdb["metadata"].value("name", "");
        return status(
            429, "Cannot evict pod as it would violate the pod's disruption budget.",
            Json{{"causes", Json::array({Json{
                                {"reason", "DisruptionBudget"},
                                {"message", "The disruption budget " + pdb_name + " needs " +
                                                std::to_string(desired) + " healthy pods and has " +
                                                std::to_string(healthy) + " currently"}}})}});
      }
    }
    auto deleted = deletePodLocked(ns, name);
    if (!deleted) return objectNotFound(Resource::kPods, name);
    reconcile();
    out = WriteResult{201, Json{{"kind", "Status"},
                                {"apiVersion", "v1"},
                                {"metadata", Json::object()},
                                {"status", "Success"},
                                {"code", 201}}};
  }
  cv_.notify_all();
  return out;
}

WriteResult Cluster::getScale(Resource resource, const std::string& ns, const std::string& name) {
  if (!scalable(resource)) return status(404, "the server could not find the requested resource");
  std::lock_guard lock(mu_);
  const Store& store = stores_[static_cast<size_t>(resource)];
  auto it = store.find(keyOf(ns, name));
  if (it == store.end()) return objectNotFound(resource, name);
  return WriteResult{200, scaleOf(resource, it->second)};
}

WriteResult Cluster::patchObject(Resource resource, const std::string& ns, const std::string& name,
                                 const std::string& subresource, std::string_view content_type,
                                 const std::string& body) {
  if (!serves(resource)) return status(404, "the server could not find the requested resource");
  if (!subresource.empty() && (subresource != "scale" || !scalable(resource))) {
    return status(404, "the server could not find the requested resource");
  }
  WriteResult out;
  {
    std::lock_guard lock(mu_);
    Store& store = stores_[static_cast<size_t>(resource)];
    auto it = store.find(keyOf(ns, name));
    if (it == store.end()) return objectNotFound(resource, name);
    const Json before = it->second;
    Json after = before;
    if (subresource == "scale") {
      Json scale = scaleOf(resource, before);
      if (auto err = applyPatch(scale, content_type, body)) return *err;
      // An update (PUT, as kubectl scale --current-replicas sends) carries the
      // resourceVersion it read.
      if (scale.contains("metadata") && scale["metadata"].is_object() &&
          scale["metadata"].value("resourceVersion", "") !=
              before["metadata"].value("resourceVersion", "")) {
        return status(409, "Operation cannot be fulfilled on " +
                               std::string(resourceType(resource).plural) + ".apps \"" + name +
                               "\": the object has been modified; please apply your changes to "
                               "the latest version and try again");
      }
      const Json& spec = scale["spec"];
      if (!spec.is_object() || !spec.contains("replicas") ||
          !spec["replicas"].is_number_integer() || spec["replicas"].get<int64_t>() < 0) {
        return status(422, "Scale.spec.replicas: Invalid value: must be a non-negative integer");
      }
      after["spec"]["replicas"] = spec["replicas"];
    } else {
      if (auto err = applyPatch(after, content_type, body)) return *err;
      if (!after.contains("metadata") || !after["metadata"].is_object()) {
        return status(422, "metadata: Required value");
      }
      Json& meta = after["metadata"];
      const Json& old = before["metadata"];
      if (meta.contains("resourceVersion") &&
          meta["resourceVersion"] != old.value("resourceVersion", "")) {
        const ResourceType& type = resourceType(resource);
        return status(409, "Operation cannot be fulfilled on " + std::string(type.plural) + " \"" +
                               name +
                               "\": the object has been modified; please apply your changes to "
                               "the latest version and try again");
      }
      for (const char* frozen :
           {"name", "namespace", "uid", "creationTimestamp", "resourceVersion", "generation"}) {
        if (old.contains(frozen)) {
          meta[frozen] = old[frozen];
        } else {
          meta.erase(frozen);
        }
      }
      after.erase("kind");
      after.erase("apiVersion");
      // The node lifecycle controller's taint follows spec.unschedulable.
      if (resource == Resource::kNodes) {
        const bool was = before.contains("spec") && before["spec"].value("unschedulable", false);
        const bool now_cordoned = after.contains("spec") && after["spec"].is_object() &&
                                  after["spec"].value("unschedulable", false);
        if (was != now_cordoned) {
          Json taints = Json::array();
          if (after["spec"].contains("taints") && after["spec"]["taints"].is_array()) {
            for (const auto& t : after["spec"]["taints"]) {
              if (t.value("key", "") != "node.kubernetes.io/unschedulable") taints.push_back(t);
            }
          }
          if (now_cordoned) {
            taints.push_back(Json{{"key", "node.kubernetes.io/unschedulable"},
                                  {"effect", "NoSchedule"},
                                  {"timeAdded", formatRfc3339(now())}});
          }
          if (taints.empty()) {
            after["spec"].erase("taints");
          } else {
            after["spec"]["taints"] = taints;
          }
        }
      }
    }
    if (after != before) {
      const bool spec_changed = after.value("spec", Json()) != before.value("spec", Json());
      if (spec_changed && before["metadata"].contains("generation")) {
        after["metadata"]["generation"] = before["metadata"].value("generation", int64_t{1}) + 1;
      }
      commit(resource, after, "MODIFIED");
      reconcile();
    }
    const Json& now_object = store.at(keyOf(ns, name));
    out = WriteResult{200, subresource == "scale" ? scaleOf(resource, now_object)
                                                  : withKindOf(resource, now_object)};
  }
  cv_.notify_all();
  return out;
}

WriteResult Cluster::createObject(Resource resource, const std::string& ns,
                                  const std::string& body) {
  if (!serves(resource)) return status(404, "the server could not find the requested resource");
  const ResourceType& type = resourceType(resource);
  if (resource == Resource::kPods) {
    return status(405, "kubesim creates pods only through the add-pod fault");
  }
  Json object = Json::parse(body, nullptr, false);
  if (object.is_discarded() || !object.is_object()) {
    return status(400, "the request body is not a JSON object");
  }
  const std::string kind = object.value("kind", std::string(type.kind));
  const std::string api_version = object.value("apiVersion", type.apiVersion());
  if (kind != type.kind || api_version != type.apiVersion()) {
    return status(400, "the API version in the data (" + api_version + ", kind " + kind +
                           ") does not match the expected API version (" + type.apiVersion() +
                           ", kind " + std::string(type.kind) + ")");
  }
  object.erase("kind");
  object.erase("apiVersion");
  if (!object.contains("metadata") || !object["metadata"].is_object()) {
    return status(422, std::string(type.kind) + ": metadata.name: Required value");
  }
  WriteResult out;
  {
    std::lock_guard lock(mu_);
    Json& meta = object["metadata"];
    std::string name = meta.value("name", "");
    if (name.empty() && !meta.value("generateName", "").empty()) {
      name = meta.value("generateName", "") + ids_.suffix(5);
    }
    if (name.empty()) {
      return status(422, std::string(type.kind) +
                             ": metadata.name: Required value: name or "
                             "generateName is required");
    }
    meta["name"] = name;
    if (type.namespaced) {
      const std::string body_ns = meta.value("namespace", ns);
      if (body_ns != ns) {
        return status(400,
                      "the namespace of the provided object does not match the namespace "
                      "sent on the request");
      }
      if (!stores_[static_cast<size_t>(Resource::kNamespaces)].count(ns)) {
        return objectNotFound(Resource::kNamespaces, ns);
      }
      meta["namespace"] = ns;
    } else {
      meta.erase("namespace");
    }
    Store& store = stores_[static_cast<size_t>(resource)];
    if (store.count(keyOf(type.namespaced ? ns : "", name))) {
      std::string plural(type.plural);
      if (!type.group.empty()) plural += "." + std::string(type.group);
      return status(409, plural + " \"" + name + "\" already exists",
                    Json{{"name", name}, {"kind", std::string(type.plural)}}, "AlreadyExists");
    }
    meta["uid"] = ids_.uid();
    meta["creationTimestamp"] = formatRfc3339(now());
    meta["generation"] = 1;
    meta.erase("resourceVersion");
    // Tables and controllers read both; a real server would have defaulted them.
    for (const char* part : {"spec", "status"}) {
      if (!object.contains(part) || !object[part].is_object()) object[part] = Json::object();
    }
    commit(resource, object, "ADDED");
    reconcile();
    out = WriteResult{201, withKindOf(resource, store.at(keyOf(type.namespaced ? ns : "", name)))};
  }
  cv_.notify_all();
  return out;
}

}  // namespace rampart::kubesim
