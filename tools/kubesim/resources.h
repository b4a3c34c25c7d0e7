// The resource types kubesim serves, with what discovery, routing, field
// selectors and watch events need to know about each.
#pragma once

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

}  // namespace rampart::kubesim
