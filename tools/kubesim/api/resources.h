// The resource types kubesim serves, with what discovery, routing, field
// selectors and watch events need to know about each.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::kubesim {

enum class Resource : size_t {
  kNamespaces = 0,
  kNodes,
  kPods,
  kDeployments,
  kReplicaSets,
  kStatefulSets,
  kDaemonSets,
  kPodDisruptionBudgets,
  kServices,
  kPersistentVolumeClaims,
  kPersistentVolumes,
  kHorizontalPodAutoscalers,
  kVeleroBackups,
  kVeleroSchedules,
  kLeases,  // coordination.k8s.io/v1, the kubelets' node Leases
  kCount,
};

struct ResourceType {
  Resource id;
  std::string_view group;  // "" for core
  std::string_view version;
  std::string_view plural;
  std::string_view singular;
  std::string_view kind;
  bool namespaced;
  std::vector<std::string_view> short_names;
  std::vector<std::string> field_selectors;  // supported fieldSelector fields
  std::vector<std::string_view> verbs;
  std::vector<std::string_view> categories;  // "all" for `kubectl get all`
  bool custom = false;                       // served through a CustomResourceDefinition (Velero)

  std::string apiVersion() const;  // "v1", "apps/v1"
  std::string listKind() const { return std::string(kind) + "List"; }
};

const ResourceType& resourceType(Resource id);
const std::vector<ResourceType>& allResourceTypes();
std::optional<Resource> findResource(std::string_view group, std::string_view version,
                                     std::string_view plural);

// A parsed API path: /api/v1/..., /apis/GROUP/VERSION/...
struct ApiPath {
  Resource resource = Resource::kPods;
  std::string ns;    // "" for cluster-wide or cluster-scoped
  std::string name;  // "" for a collection
  std::string subresource;
};

// nullopt when the path names no served resource (the caller answers 404).
std::optional<ApiPath> parseApiPath(std::string_view path);

}  // namespace rampart::kubesim

namespace rampart::kubesim {

// The query parameters of a request target ("/api/v1/pods?a=b&c=d"), split on
// the first '=' only, so that an unencoded `fieldSelector=spec.nodeName=n1`
// means what its author meant; %XX and '+' are decoded.
std::map<std::string, std::string> parseQuery(std::string_view target);

// A list's `continue` token as the real API server makes it: unpadded
// base64url of {"v":"meta.k8s.io/v1","rv":RV,"start":"KEY\u0000"}, where KEY
// is the storage key of the last item served ("ns/name" or "name").
struct ContinueToken {
  uint64_t resource_version = 0;
  std::string after_key;
};
std::string encodeContinue(const ContinueToken& token);
// nullopt for a token this server did not make.
std::optional<ContinueToken> decodeContinue(std::string_view text);

}  // namespace rampart::kubesim
