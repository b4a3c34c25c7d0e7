// The object-editing side of the Cluster: the scale, delete-object and
// put-object faults and DELETE of any object, which let tests change
// controllers, PDBs, Services and the other kinds the way a user would.
#include <algorithm>
#include <cctype>

#include "cluster/cluster.h"
#include "scenario/objects.h"

namespace rampart::kubesim {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// A resource named as kubectl accepts it: plural, singular, kind, a short
// name, or plural.group ("deployments", "deploy", "Deployment", "pdb",
// "backups.velero.io").
std::optional<Resource> resolveResource(std::string_view name) {
  const std::string n = lower(name);
  for (const auto& t : allResourceTypes()) {
    const std::string group_suffix = t.group.empty() ? "" : "." + std::string(t.group);
    if (n == t.plural || n == t.singular || n == lower(t.kind) ||
        n == std::string(t.plural) + group_suffix) {
      return t.id;
    }
    for (auto s : t.short_names) {
      if (n == s) return t.id;
    }
  }
  return std::nullopt;
}

std::string optionalString(const Json& fault, const char* key) {
  auto it = fault.find(key);
  return it != fault.end() && it->is_string() ? it->get<std::string>() : std::string();
}

struct Target {
  Resource resource;
  std::string ns;
  std::string name;
};

// {"resource": R, "namespace": NS, "name": N}; the namespace defaults to
// "default" for namespaced resources and is ignored for cluster-scoped ones.
Result<Target> targetOf(const Json& fault) {
  const std::string type = fault.value("type", "");
  const std::string resource = optionalString(fault, "resource");
  const std::string name = optionalString(fault, "name");
  if (resource.empty() || name.empty()) {
    return badRequest("fault '" + type + "' needs \"resource\" and \"name\" (and \"namespace\")");
  }
  auto r = resolveResource(resource);
  if (!r) return badRequest("unknown resource '" + resource + "'");
  std::string ns = optionalString(fault, "namespace");
  if (!resourceType(*r).namespaced) {
    ns.clear();
  } else if (ns.empty()) {
    ns = "default";
  }
  return Target{*r, ns, name};
}

}  // namespace

Result<Json> Cluster::deleteObjectLocked(Resource resource, const std::string& ns,
                                         const std::string& name) {
  if (resource == Resource::kPods) return deletePodLocked(ns, name);
  const ResourceType& type = resourceType(resource);
  Store& store = stores_[static_cast<size_t>(resource)];
  auto it = store.find(keyOf(ns, name));
  if (it == store.end()) {
    return notFound(std::string(type.plural) + " " + keyOf(ns, name) + " not found");
  }
  Json copy = it->second;
  commit(resource, copy, "DELETED");
  copy["metadata"]["resourceVersion"] = std::to_string(rv_);
  return Json{{"resource", std::string(type.plural)}, {"object", copy}};
}

std::optional<Json> Cluster::deleteObject(Resource resource, const std::string& ns,
                                          const std::string& name) {
  if (resource == Resource::kPods) return deletePod(ns, name);
  std::optional<Json> out;
  {
    std::lock_guard lock(mu_);
    if (!serves(resource)) return std::nullopt;
    auto deleted = deleteObjectLocked(resource, ns, name);
    if (!deleted) return std::nullopt;
    reconcile();
    out = (*deleted)["object"];
  }
  cv_.notify_all();
  return out;
}

Result<Json> Cluster::deleteObjectFault(const Json& fault) {
  auto target = targetOf(fault);
  if (!target) return std::unexpected(target.error());
  if (!serves(target->resource)) return notFound("resource not served");
  auto deleted = deleteObjectLocked(target->resource, target->ns, target->name);
  if (!deleted) return deleted;
  return Json{{"resource", std::string(resourceType(target->resource).plural)},
              {"object", keyOf(target->ns, target->name)}};
}

Result<Json> Cluster::scaleObject(const Json& fault) {
  auto target = targetOf(fault);
  if (!target) return std::unexpected(target.error());
  if (target->resource != Resource::kDeployments && target->resource != Resource::kReplicaSets &&
      target->resource != Resource::kStatefulSets) {
    return badRequest("scale works on deployments, replicasets and statefulsets");
  }
  auto replicas = fault.find("replicas");
  if (replicas == fault.end() || !replicas->is_number_integer() || replicas->get<int64_t>() < 0 ||
      replicas->get<int64_t>() > 100000) {
    return badRequest("scale needs \"replicas\": a non-negative integer");
  }
  Store& store = stores_[static_cast<size_t>(target->resource)];
  auto it = store.find(keyOf(target->ns, target->name));
  if (it == store.end()) {
    return notFound(std::string(resourceType(target->resource).plural) + " " +
                    keyOf(target->ns, target->name) + " not found");
  }
  Json copy = it->second;
  const int64_t was = copy["spec"].value("replicas", 1);
  copy["spec"]["replicas"] = replicas->get<int64_t>();
  copy["metadata"]["generation"] = copy["metadata"].value("generation", 1) + 1;
  commit(target->resource, std::move(copy), "MODIFIED");
  return Json{{"resource", std::string(resourceType(target->resource).plural)},
              {"object", keyOf(target->ns, target->name)},
              {"replicasBefore", was},
              {"replicas", replicas->get<int64_t>()}};
}

Result<Json> Cluster::putObject(const Json& fault) {
  auto it = fault.find("object");
  if (it == fault.end() || !it->is_object()) {
    return badRequest("put-object needs \"object\": a Kubernetes object");
  }
  Json object = *it;
  const std::string kind = optionalString(object, "kind");
  const std::string api_version = optionalString(object, "apiVersion");
  std::optional<Resource> resource;
  for (const auto& t : allResourceTypes()) {
    if (t.kind == kind && (api_version.empty() || t.apiVersion() == api_version)) {
      resource = t.id;
    }
  }
  if (!resource) {
    return badRequest("put-object: kubesim serves no kind '" + kind + "' in '" + api_version + "'");
  }
  if (!serves(*resource)) return notFound("resource not served");
  const ResourceType& type = resourceType(*resource);
  if (!object.contains("metadata") || !object["metadata"].is_object()) {
    return badRequest("put-object: the object needs metadata.name");
  }
  // Stored without kind/apiVersion, as every object of the store. Erased
  // before `meta` is taken: Json is ordered_json, whose members live in a
  // vector, so an erase moves them and would leave `meta` dangling.
  object.erase("kind");
  object.erase("apiVersion");
  Json& meta = object["metadata"];
  const std::string name = optionalString(meta, "name");
  if (name.empty()) return badRequest("put-object: the object needs metadata.name");
  std::string ns = optionalString(meta, "namespace");
  if (!type.namespaced) {
    ns.clear();
    meta.erase("namespace");
  } else {
    if (ns.empty()) ns = "default";
    if (!stores_[static_cast<size_t>(Resource::kNamespaces)].count(ns)) {
      return notFound("namespace " + ns + " not found");
    }
    meta["namespace"] = ns;
  }
  Store& store = stores_[static_cast<size_t>(*resource)];
  auto existing = store.find(keyOf(ns, name));
  const bool created = existing == store.end();
  if (created) {
    meta["uid"] = ids_.uid();
    meta["creationTimestamp"] = formatRfc3339(now());
    meta["generation"] = 1;
  } else {
    const Json& old = existing->second["metadata"];
    meta["uid"] = old.value("uid", "");
    meta["creationTimestamp"] = old.value("creationTimestamp", formatRfc3339(now()));
    meta["generation"] = old.value("generation", 1) + 1;
  }
  commit(*resource, std::move(object), created ? "ADDED" : "MODIFIED");
  return Json{
      {"resource", std::string(type.plural)}, {"object", keyOf(ns, name)}, {"created", created}};
}

}  // namespace rampart::kubesim
