#include "api/resources.h"

#include <nlohmann/json.hpp>

#include "rampart/text.h"

namespace rampart::kubesim {
namespace {

std::vector<ResourceType> makeTypes() {
  static const std::vector<std::string> kMeta = {"metadata.name", "metadata.namespace"};
  static const std::vector<std::string_view> kReadVerbs = {"get", "list", "watch"};
  static const std::vector<std::string_view> kAll = {"all"};
  std::vector<ResourceType> t;
  // Pushed in the order of the Resource enum: resourceType() indexes by it.
  t.push_back({Resource::kNamespaces,
               "",
               "v1",
               "namespaces",
               "namespace",
               "Namespace",
               false,
               {"ns"},
               {"metadata.name", "status.phase"},
               kReadVerbs,
               {}});
  t.push_back({Resource::kNodes,
               "",
               "v1",
               "nodes",
               "node",
               "Node",
               false,
               {"no"},
               {"metadata.name", "spec.unschedulable"},
               kReadVerbs,
               {}});
  t.push_back({Resource::kPods,
               "",
               "v1",
               "pods",
               "pod",
               "Pod",
               true,
               {"po"},
               {"metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy",
                "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
                "status.podIP", "status.nominatedNodeName"},
               {"delete", "get", "list", "watch"},
               kAll});
  t.push_back({Resource::kDeployments,
               "apps",
               "v1",
               "deployments",
               "deployment",
               "Deployment",
               true,
               {"deploy"},
               kMeta,
               kReadVerbs,
               kAll});
  t.push_back({Resource::kReplicaSets,
               "apps",
               "v1",
               "replicasets",
               "replicaset",
               "ReplicaSet",
               true,
               {"rs"},
               kMeta,
               kReadVerbs,
               kAll});
  t.push_back({Resource::kStatefulSets,
               "apps",
               "v1",
               "statefulsets",
               "statefulset",
               "StatefulSet",
               true,
               {"sts"},
               kMeta,
               kReadVerbs,
               kAll});
  t.push_back({Resource::kDaemonSets,
               "apps",
               "v1",
               "daemonsets",
               "daemonset",
               "DaemonSet",
               true,
               {"ds"},
               kMeta,
               kReadVerbs,
               kAll});
  t.push_back({Resource::kPodDisruptionBudgets,
               "policy",
               "v1",
               "poddisruptionbudgets",
               "poddisruptionbudget",
               "PodDisruptionBudget",
               true,
               {"pdb"},
               kMeta,
               kReadVerbs,
               {}});
  t.push_back({Resource::kServices,
               "",
               "v1",
               "services",
               "service",
               "Service",
               true,
               {"svc"},
               {"metadata.name", "metadata.namespace", "spec.clusterIP", "spec.type"},
               kReadVerbs,
               kAll});
  t.push_back({Resource::kPersistentVolumeClaims,
               "",
               "v1",
               "persistentvolumeclaims",
               "persistentvolumeclaim",
               "PersistentVolumeClaim",
               true,
               {"pvc"},
               kMeta,
               kReadVerbs,
               {}});
  t.push_back({Resource::kPersistentVolumes,
               "",
               "v1",
               "persistentvolumes",
               "persistentvolume",
               "PersistentVolume",
               false,
               {"pv"},
               {"metadata.name"},
               kReadVerbs,
               {}});
  t.push_back({Resource::kHorizontalPodAutoscalers,
               "autoscaling",
               "v2",
               "horizontalpodautoscalers",
               "horizontalpodautoscaler",
               "HorizontalPodAutoscaler",
               true,
               {"hpa"},
               kMeta,
               kReadVerbs,
               kAll});
  // Velero's CRDs declare no short names and no categories.
  t.push_back({Resource::kVeleroBackups,
               "velero.io",
               "v1",
               "backups",
               "backup",
               "Backup",
               true,
               {},
               kMeta,
               kReadVerbs,
               {},
               true});
  t.push_back({Resource::kVeleroSchedules,
               "velero.io",
               "v1",
               "schedules",
               "schedule",
               "Schedule",
               true,
               {},
               kMeta,
               kReadVerbs,
               {},
               true});
  // Leases declare no short names and no categories.
  t.push_back({Resource::kLeases,
               "coordination.k8s.io",
               "v1",
               "leases",
               "lease",
               "Lease",
               true,
               {},
               kMeta,
               kReadVerbs,
               {}});
  return t;
}

std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

}  // namespace

std::string ResourceType::apiVersion() const {
  return group.empty() ? std::string(version) : std::string(group) + "/" + std::string(version);
}

const std::vector<ResourceType>& allResourceTypes() {
  // A constant table, built once; it holds no mutable state.
  static const std::vector<ResourceType> kTypes = makeTypes();
  return kTypes;
}

const ResourceType& resourceType(Resource id) {
  return allResourceTypes()[static_cast<size_t>(id)];
}

std::optional<Resource> findResource(std::string_view group, std::string_view version,
                                     std::string_view plural) {
  for (const auto& t : allResourceTypes()) {
    if (t.group == group && t.version == version && t.plural == plural) return t.id;
  }
  return std::nullopt;
}

std::optional<ApiPath> parseApiPath(std::string_view path) {
  auto parts = split(path);
  std::string_view group;
  std::string_view version;
  size_t i = 0;
  if (parts.size() >= 2 && parts[0] == "api") {
    version = parts[1];
    i = 2;
  } else if (parts.size() >= 3 && parts[0] == "apis") {
    group = parts[1];
    version = parts[2];
    i = 3;
  } else {
    return std::nullopt;
  }
  std::vector<std::string_view> rest(parts.begin() + static_cast<long>(i), parts.end());
  if (rest.empty()) return std::nullopt;
  ApiPath out;
  // /namespaces/NS/RESOURCE[/NAME[/SUB]] unless the path is the namespace itself.
  if (rest[0] == "namespaces" && rest.size() >= 3) {
    out.ns = std::string(rest[1]);
    rest.erase(rest.begin(), rest.begin() + 2);
  }
  auto res = findResource(group, version, rest[0]);
  if (!res || rest.size() > 3) return std::nullopt;
  out.resource = *res;
  if (!out.ns.empty() && !resourceType(*res).namespaced) return std::nullopt;
  if (rest.size() >= 2) out.name = std::string(rest[1]);
  if (rest.size() == 3) out.subresource = std::string(rest[2]);
  return out;
}

}  // namespace rampart::kubesim

namespace rampart::kubesim {
namespace {

std::string urlDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> parseQuery(std::string_view target) {
  std::map<std::string, std::string> out;
  auto q = target.find('?');
  if (q == std::string_view::npos) return out;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    auto eq = pair.find('=');
    std::string key = urlDecode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : urlDecode(pair.substr(eq + 1));
    if (!key.empty()) out.emplace(std::move(key), std::move(value));
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return out;
}

}  // namespace rampart::kubesim

namespace rampart::kubesim {
std::string encodeContinue(const ContinueToken& token) {
  nlohmann::ordered_json j{{"v", "meta.k8s.io/v1"},
                           {"rv", token.resource_version},
                           {"start", token.after_key + std::string(1, '\0')}};
  return base64UrlEncode(j.dump());
}

std::optional<ContinueToken> decodeContinue(std::string_view text) {
  auto raw = base64Decode(text);
  if (!raw) return std::nullopt;
  auto j = nlohmann::json::parse(*raw, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("v", "") != "meta.k8s.io/v1" ||
      !j.contains("rv") || !j["rv"].is_number_unsigned() || !j.contains("start") ||
      !j["start"].is_string()) {
    return std::nullopt;
  }
  std::string start = j["start"];
  if (start.empty() || start.back() != '\0') return std::nullopt;
  start.pop_back();
  return ContinueToken{j["rv"].get<uint64_t>(), start};
}

}  // namespace rampart::kubesim
