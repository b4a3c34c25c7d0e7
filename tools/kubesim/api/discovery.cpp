#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "api/api_views.h"

namespace rampart::kubesim {

Json versionInfo() {
  return Json{{"major", "1"},
              {"minor", "31"},
              {"gitVersion", "v1.31.4-kubesim"},
              {"gitCommit", "0000000000000000000000000000000000000000"},
              {"gitTreeState", "clean"},
              {"buildDate", "2026-01-02T20:00:00Z"},
              {"goVersion", "go1.22.10"},
              {"compiler", "gc"},
              {"platform", "linux/amd64"}};
}

Json apiVersions(const std::string& server_address) {
  return Json{
      {"kind", "APIVersions"},
      {"versions", Json::array({"v1"})},
      {"serverAddressByClientCIDRs",
       Json::array({Json{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", server_address}}})}};
}

Json apiGroupList(bool custom_resources) {
  std::map<std::string, std::string> groups;  // group -> version, sorted for stable output
  for (const auto& t : allResourceTypes()) {
    if (t.custom && !custom_resources) continue;
    if (!t.group.empty()) groups[std::string(t.group)] = std::string(t.version);
  }
  Json list = Json::array();
  for (const auto& [group, version] : groups) {
    Json gv{{"groupVersion", fmt::format("{}/{}", group, version)}, {"version", version}};
    list.push_back(
        Json{{"name", group}, {"versions", Json::array({gv})}, {"preferredVersion", gv}});
  }
  return Json{{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", list}};
}

std::optional<Json> apiResourceList(const std::string& group, const std::string& version,
                                    bool custom_resources) {
  Json resources = Json::array();
  for (const auto& t : allResourceTypes()) {
    if (t.group != group || t.version != version) continue;
    if (t.custom && !custom_resources) continue;
    // Every resource takes PATCH, and all but pods POST (cluster_writes.cpp).
    std::vector<std::string_view> verbs = t.verbs;
    if (t.id != Resource::kPods) verbs.push_back("create");
    verbs.push_back("patch");
    std::sort(verbs.begin(), verbs.end());
    verbs.erase(std::unique(verbs.begin(), verbs.end()), verbs.end());
    Json r{{"name", t.plural},
           {"singularName", t.singular},
           {"namespaced", t.namespaced},
           {"kind", t.kind},
           {"verbs", verbs}};
    if (!t.short_names.empty()) r["shortNames"] = t.short_names;
    if (!t.categories.empty()) r["categories"] = t.categories;
    resources.push_back(r);
    // The subresources the API serves, as the real server lists them
    // (kubectl scale finds the Scale kind here).
    auto sub = [&](std::string_view name, const char* group, const char* version, const char* kind,
                   std::vector<std::string_view> sub_verbs) {
      Json s{{"name", std::string(t.plural) + "/" + std::string(name)},
             {"singularName", ""},
             {"namespaced", t.namespaced},
             {"group", group},
             {"version", version},
             {"kind", kind},
             {"verbs", sub_verbs}};
      resources.push_back(s);
    };
    if (t.id == Resource::kPods) sub("eviction", "policy", "v1", "Eviction", {"create"});
    if (t.id == Resource::kDeployments || t.id == Resource::kReplicaSets ||
        t.id == Resource::kStatefulSets) {
      sub("scale", "autoscaling", "v1", "Scale", {"get", "patch", "update"});
    }
  }
  if (resources.empty()) return std::nullopt;
  const std::string gv = group.empty() ? version : group + "/" + version;
  return Json{{"kind", "APIResourceList"},
              {"apiVersion", "v1"},
              {"groupVersion", gv},
              {"resources", resources}};
}

Json statusBody(int code, const std::string& message, const Json& details) {
  std::string reason;
  switch (code) {
    case 400:
      reason = "BadRequest";
      break;
    case 401:
      reason = "Unauthorized";
      break;
    case 403:
      reason = "Forbidden";
      break;
    case 404:
      reason = "NotFound";
      break;
    case 405:
      reason = "MethodNotAllowed";
      break;
    case 409:
      reason = "Conflict";
      break;
    case 410:
      reason = "Expired";
      break;
    case 429:
      reason = "TooManyRequests";
      break;
    case 503:
      reason = "ServiceUnavailable";
      break;
    case 504:
      reason = "Timeout";
      break;
    default:
      reason = code >= 500 ? "InternalError" : "BadRequest";
      break;
  }
  Json body{{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", Json::object()},
            {"status", "Failure"}, {"message", message}, {"reason", reason}};
  if (details.is_object()) body["details"] = details;
  body["code"] = code;
  return body;
}

}  // namespace rampart::kubesim
