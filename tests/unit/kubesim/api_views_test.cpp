#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "api/api_views.h"
#include "api/resources.h"
#include "fault_client.h"

using namespace rampart::kubesim;

TEST_CASE("command-line faults become the fault endpoint's JSON") {
  struct Case {
    std::vector<std::string> args;
    const char* json;
  };
  const Case cases[] = {
      {{"node-down", "n1"}, R"({"type":"node-down","node":"n1"})"},
      {{"node-up", "n1"}, R"({"type":"node-up","node":"n1"})"},
      {{"container-not-ready", "shop/web-0", "--container", "web"},
       R"({"type":"container-not-ready","pod":"shop/web-0","container":"web"})"},
      {{"container-ready", "shop/web-0"}, R"({"type":"container-ready","pod":"shop/web-0"})"},
      {{"container-restart", "shop/web-0", "--reason", "OOMKilled"},
       R"({"type":"container-restart","pod":"shop/web-0","reason":"OOMKilled"})"},
      {{"delete-pod", "shop/web-0"}, R"({"type":"delete-pod","pod":"shop/web-0"})"},
      {{"add-pod", "shop/x", "--node", "n1", "--label", "a=b", "--label=c=d", "--owner-kind",
        "Deployment", "--owner-name", "web"},
       R"({"type":"add-pod","pod":"shop/x","node":"n1","labels":{"a":"b","c":"d"},"ownerKind":"Deployment","ownerName":"web"})"},
      {{"api-error", "--status", "503", "--count", "4"},
       R"({"type":"api-error","status":503,"count":4})"},
      {{"api-garbage", "--count", "2"}, R"({"type":"api-garbage","count":2})"},
      {{"api-error", "--path", "/api/v1/pods"},
       R"({"type":"api-error","status":500,"count":1,"path":"/api/v1/pods"})"},
      {{"api-garbage", "--path", "/api/v1/pods"},
       R"({"type":"api-garbage","count":1,"path":"/api/v1/pods"})"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.json);
    auto fault = faultFromArgs(c.args);
    REQUIRE_MESSAGE(fault.has_value(), (fault ? "" : fault.error().message));
    CHECK(fault->dump() == c.json);
  }
}

TEST_CASE("bad fault command lines name the problem") {
  struct Case {
    std::vector<std::string> args;
    const char* expect;
  };
  const Case cases[] = {
      {{}, "missing fault type"},
      {{"node-down"}, "takes 1 argument"},
      {{"node-down", "a", "b"}, "takes 1 argument"},
      {{"delete-pod", "p", "--container", "c"}, "does not take --container"},
      {{"add-pod", "shop/x"}, "needs --node"},
      {{"add-pod", "shop/x", "--node", "n", "--label", "novalue"}, "key=value"},
      {{"api-error", "--count", "many"}, "non-negative integer"},
      {{"api-error", "--status"}, "needs a value"},
      {{"teleport"}, "unknown fault 'teleport'"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.expect);
    auto fault = faultFromArgs(c.args);
    REQUIRE_FALSE(fault.has_value());
    CHECK_MESSAGE(fault.error().message.find(c.expect) != std::string::npos, fault.error().message);
  }
}

TEST_CASE("API paths route to resources") {
  auto p = parseApiPath("/api/v1/namespaces/shop/pods/web-0");
  REQUIRE(p.has_value());
  CHECK(p->resource == Resource::kPods);
  CHECK(p->ns == "shop");
  CHECK(p->name == "web-0");
  auto ns = parseApiPath("/api/v1/namespaces/shop");
  REQUIRE(ns.has_value());
  CHECK(ns->resource == Resource::kNamespaces);
  CHECK(ns->name == "shop");
  auto all = parseApiPath("/apis/apps/v1/deployments");
  REQUIRE(all.has_value());
  CHECK(all->resource == Resource::kDeployments);
  CHECK(all->ns.empty());
  CHECK(parseApiPath("/apis/policy/v1/namespaces/x/poddisruptionbudgets")->resource ==
        Resource::kPodDisruptionBudgets);
  struct Route {
    const char* path;
    Resource resource;
    const char* ns;
    const char* name;
  };
  const Route routes[] = {
      {"/api/v1/services", Resource::kServices, "", ""},
      {"/api/v1/namespaces/shop/services/web", Resource::kServices, "shop", "web"},
      {"/api/v1/persistentvolumeclaims", Resource::kPersistentVolumeClaims, "", ""},
      {"/api/v1/namespaces/data/persistentvolumeclaims/data-db-0",
       Resource::kPersistentVolumeClaims, "data", "data-db-0"},
      {"/api/v1/persistentvolumes/pvc-1", Resource::kPersistentVolumes, "", "pvc-1"},
      {"/apis/autoscaling/v2/horizontalpodautoscalers", Resource::kHorizontalPodAutoscalers, "",
       ""},
      {"/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/web",
       Resource::kHorizontalPodAutoscalers, "shop", "web"},
      {"/apis/velero.io/v1/backups", Resource::kVeleroBackups, "", ""},
      {"/apis/velero.io/v1/namespaces/velero/schedules/daily", Resource::kVeleroSchedules, "velero",
       "daily"},
      {"/apis/coordination.k8s.io/v1/leases", Resource::kLeases, "", ""},
      {"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-a", Resource::kLeases,
       "kube-node-lease", "node-a"},
  };
  for (const auto& r : routes) {
    CAPTURE(r.path);
    auto route = parseApiPath(r.path);
    REQUIRE(route.has_value());
    CHECK(route->resource == r.resource);
    CHECK(route->ns == r.ns);
    CHECK(route->name == r.name);
  }
  CHECK_FALSE(parseApiPath("/api/v1/namespaces/x/persistentvolumes").has_value());
  CHECK_FALSE(parseApiPath("/apis/autoscaling/v1/horizontalpodautoscalers").has_value());
  CHECK_FALSE(parseApiPath("/apis/apps/v2/deployments").has_value());
  CHECK_FALSE(parseApiPath("/api/v1/namespaces/x/nodes").has_value());
  CHECK_FALSE(parseApiPath("/metrics").has_value());
}

TEST_CASE("query strings split on the first '=' and decode") {
  auto q =
      parseQuery("/api/v1/pods?fieldSelector=spec.nodeName=n1&labelSelector=app+in+(a%2Cb)&watch");
  CHECK(q["fieldSelector"] == "spec.nodeName=n1");
  CHECK(q["labelSelector"] == "app in (a,b)");
  CHECK(q.count("watch") == 1);
  CHECK(parseQuery("/api/v1/pods").empty());
}

TEST_CASE("humanDuration matches kubectl's AGE") {
  struct Case {
    int64_t s;
    const char* text;
  };
  const Case cases[] = {{-5, "<invalid>"}, {0, "0s"},        {119, "119s"},   {120, "2m"},
                        {150, "2m30s"},    {600, "10m"},     {10800, "3h"},   {11100, "3h5m"},
                        {86400, "24h"},    {180000, "2d2h"}, {864000, "10d"}, {63072000, "2y"},
                        {63158400, "2y1d"}};
  for (const auto& c : cases) {
    CAPTURE(c.s);
    CHECK(humanDuration(c.s) == c.text);
  }
}

TEST_CASE("tables carry kubectl's columns and partial object metadata") {
  const Json node{{"metadata",
                   {{"name", "n1"},
                    {"creationTimestamp", "2026-01-02T20:00:00Z"},
                    {"labels", {{"node-role.kubernetes.io/control-plane", ""}}}}},
                  {"spec", {{"unschedulable", true}}},
                  {"status",
                   {{"conditions", Json::array({Json{{"type", "Ready"}, {"status", "True"}}})},
                    {"nodeInfo", {{"kubeletVersion", "v1.31.4"}}}}}};
  const int64_t now = 1767384000 + 3600;
  Json t = buildTable(Resource::kNodes, {node}, "42", TableObjects::kMetadata, now);
  CHECK(t["kind"] == "Table");
  CHECK(t["apiVersion"] == "meta.k8s.io/v1");
  CHECK(t["metadata"]["resourceVersion"] == "42");
  std::vector<std::string> names;
  for (const auto& c : t["columnDefinitions"]) {
    if (c["priority"] == 0) names.push_back(c["name"]);
  }
  CHECK(names == std::vector<std::string>{"Name", "Status", "Roles", "Age", "Version"});
  const Json& cells = t["rows"][0]["cells"];
  CHECK(cells[0] == "n1");
  CHECK(cells[1] == "Ready,SchedulingDisabled");
  CHECK(cells[2] == "control-plane");
  CHECK(cells[3] == "60m");
  CHECK(cells[4] == "v1.31.4");
  CHECK(t["rows"][0]["object"]["kind"] == "PartialObjectMetadata");
  CHECK(t["rows"][0]["object"]["metadata"]["name"] == "n1");

  Json full = buildTable(Resource::kNodes, {node}, "42", TableObjects::kObject, now);
  CHECK(full["rows"][0]["object"]["kind"] == "Node");
  CHECK(full["rows"][0]["object"].contains("status"));
  Json none = buildTable(Resource::kNodes, {node}, "42", TableObjects::kNone, now);
  CHECK_FALSE(none["rows"][0].contains("object"));
}

TEST_CASE("discovery lists every served resource") {
  auto core = apiResourceList("", "v1");
  REQUIRE(core.has_value());
  CHECK((*core)["groupVersion"] == "v1");
  std::set<std::string> names;
  std::set<std::string> subresources;
  for (const auto& r : (*core)["resources"]) {
    std::string name = r["name"].get<std::string>();
    (name.find('/') == std::string::npos ? names : subresources).insert(name);
  }
  CHECK(names == std::set<std::string>{"namespaces", "nodes", "pods", "services",
                                       "persistentvolumeclaims", "persistentvolumes"});
  CHECK(subresources.contains("pods/eviction"));
  auto resource = [](const Json& list, const std::string& name) {
    for (const auto& r : list["resources"]) {
      if (r["name"] == name) return r;
    }
    return Json();
  };
  CHECK(resource(*core, "services")["shortNames"] == Json::array({"svc"}));
  CHECK(resource(*core, "services")["categories"] == Json::array({"all"}));
  CHECK(resource(*core, "persistentvolumes")["namespaced"] == false);
  CHECK(resource(*core, "persistentvolumeclaims")["shortNames"] == Json::array({"pvc"}));
  CHECK(apiResourceList("apps", "v1").has_value());
  CHECK(apiResourceList("policy", "v1").has_value());
  auto hpa = apiResourceList("autoscaling", "v2");
  REQUIRE(hpa.has_value());
  CHECK(resource(*hpa, "horizontalpodautoscalers")["kind"] == "HorizontalPodAutoscaler");
  auto velero = apiResourceList("velero.io", "v1");
  REQUIRE(velero.has_value());
  CHECK((*velero)["groupVersion"] == "velero.io/v1");
  CHECK(resource(*velero, "backups")["kind"] == "Backup");
  CHECK(resource(*velero, "schedules")["namespaced"] == true);
  CHECK_FALSE(apiResourceList("velero.io", "v1", /*custom_resources=*/false).has_value());
  auto coordination = apiResourceList("coordination.k8s.io", "v1");
  REQUIRE(coordination.has_value());
  CHECK((*coordination)["resources"].size() == 1);
  CHECK(resource(*coordination, "leases")["kind"] == "Lease");
  CHECK(resource(*coordination, "leases")["namespaced"] == true);
  for (const char* verb : {"get", "list", "watch"}) {
    const Json verbs = resource(*coordination, "leases")["verbs"];
    CHECK(std::find(verbs.begin(), verbs.end(), verb) != verbs.end());
  }
  CHECK_FALSE(resource(*coordination, "leases").contains("shortNames"));
  CHECK_FALSE(apiResourceList("batch", "v1").has_value());
  CHECK_FALSE(apiResourceList("autoscaling", "v1").has_value());
  Json groups = apiGroupList();
  std::vector<std::string> group_names;
  for (const auto& g : groups["groups"]) group_names.push_back(g["name"]);
  CHECK(group_names == std::vector<std::string>{"apps", "autoscaling", "coordination.k8s.io",
                                                "policy", "velero.io"});
  CHECK(groups["groups"][1]["preferredVersion"]["groupVersion"] == "autoscaling/v2");
  CHECK(apiGroupList(/*custom_resources=*/false)["groups"].size() == 4);
  CHECK(statusBody(404, "x")["reason"] == "NotFound");
  CHECK(statusBody(410, "x")["reason"] == "Expired");
}

namespace {

std::vector<std::string> columnNames(const Json& table, int priority) {
  std::vector<std::string> out;
  for (const auto& c : table["columnDefinitions"]) {
    if (c["priority"] == priority) out.push_back(c["name"]);
  }
  return out;
}

}  // namespace

TEST_CASE("tables for Services, claims, volumes, HPAs and Velero have kubectl's cells") {
  const int64_t now = 1767384000 + 7200;
  const Json meta{
      {"name", "x"}, {"namespace", "shop"}, {"creationTimestamp", "2026-01-02T20:00:00Z"}};
  struct Case {
    Resource resource;
    Json object;
    std::vector<std::string> columns;  // priority 0
    Json cells;
  };
  const Case cases[] = {
      {Resource::kServices,
       Json{{"metadata", meta},
            {"spec",
             {{"type", "LoadBalancer"},
              {"clusterIP", "10.96.4.2"},
              {"selector", {{"app", "web"}, {"tier", "front"}}},
              {"ports", Json::array({Json{{"port", 80}, {"nodePort", 31000}, {"protocol", "TCP"}},
                                     Json{{"port", 53}, {"protocol", "UDP"}}})}}},
            {"status",
             {{"loadBalancer", {{"ingress", Json::array({Json{{"ip", "203.0.113.9"}}})}}}}}},
       {"Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age"},
       Json::array({"x", "LoadBalancer", "10.96.4.2", "203.0.113.9", "80:31000/TCP,53/UDP", "120m",
                    "app=web,tier=front"})},
      {Resource::kServices,
       Json{{"metadata", meta},
            {"spec", {{"type", "LoadBalancer"}, {"clusterIP", "10.96.4.3"}}},
            {"status", {{"loadBalancer", Json::object()}}}},
       {"Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age"},
       Json::array({"x", "LoadBalancer", "10.96.4.3", "<pending>", "<none>", "120m", "<none>"})},
      {Resource::kPersistentVolumeClaims,
       Json{{"metadata", meta},
            {"spec",
             {{"volumeName", "pvc-1"}, {"storageClassName", "ssd"}, {"volumeMode", "Filesystem"}}},
            {"status",
             {{"phase", "Bound"},
              {"accessModes", Json::array({"ReadWriteOnce", "ReadOnlyMany"})},
              {"capacity", {{"storage", "10Gi"}}}}}},
       {"Name", "Status", "Volume", "Capacity", "Access Modes", "StorageClass",
        "VolumeAttributesClass", "Age"},
       Json::array(
           {"x", "Bound", "pvc-1", "10Gi", "RWO,ROX", "ssd", "<unset>", "120m", "Filesystem"})},
      {Resource::kPersistentVolumes,
       Json{{"metadata", meta},
            {"spec",
             {{"capacity", {{"storage", "10Gi"}}},
              {"accessModes", Json::array({"ReadWriteOncePod"})},
              {"persistentVolumeReclaimPolicy", "Delete"},
              {"claimRef", {{"namespace", "data"}, {"name", "data-db-0"}}},
              {"storageClassName", "ssd"}}},
            {"status", {{"phase", "Bound"}}}},
       {"Name", "Capacity", "Access Modes", "Reclaim Policy", "Status", "Claim", "StorageClass",
        "VolumeAttributesClass", "Reason", "Age"},
       Json::array({"x", "10Gi", "RWOP", "Delete", "Bound", "data/data-db-0", "ssd", "<unset>", "",
                    "120m", "Filesystem"})},
      {Resource::kHorizontalPodAutoscalers,
       Json{
           {"metadata", meta},
           {"spec",
            {{"scaleTargetRef", {{"kind", "Deployment"}, {"name", "web"}}},
             {"minReplicas", 2},
             {"maxReplicas", 6},
             {"metrics",
              Json::array({Json{
                  {"type", "Resource"},
                  {"resource", {{"name", "cpu"}, {"target", {{"averageUtilization", 70}}}}}}})}}},
           {"status",
            {{"currentReplicas", 3},
             {"currentMetrics",
              Json::array({Json{
                  {"type", "Resource"},
                  {"resource", {{"name", "cpu"}, {"current", {{"averageUtilization", 41}}}}}}})}}}},
       {"Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas", "Age"},
       Json::array({"x", "Deployment/web", "cpu: 41%/70%", 2, 6, 3, "120m"})},
      {Resource::kVeleroBackups,
       Json{{"metadata", meta},
            {"spec", {{"storageLocation", "default"}}},
            {"status",
             {{"phase", "PartiallyFailed"},
              {"errors", 2},
              {"startTimestamp", "2026-01-02T21:00:00Z"}}}},
       {"Name", "Status", "Errors", "Warnings", "Created", "Storage Location", "Age"},
       Json::array({"x", "PartiallyFailed", 2, nullptr, "60m", "default", "120m"})},
      {Resource::kVeleroSchedules,
       Json{{"metadata", meta},
            {"spec", {{"schedule", "0 2 * * *"}}},
            {"status", {{"phase", "Enabled"}, {"lastBackup", "2026-01-02T21:30:00Z"}}}},
       {"Name", "Status", "Schedule", "LastBackup", "Age", "Paused"},
       Json::array({"x", "Enabled", "0 2 * * *", "30m", "120m", nullptr})},
      {Resource::kLeases,
       Json{{"metadata", meta},
            {"spec",
             {{"holderIdentity", "node-a"},
              {"leaseDurationSeconds", 40},
              {"renewTime", "2026-01-02T21:59:58.000001Z"}}}},
       {"Name", "Holder", "Age"},
       Json::array({"x", "node-a", "120m"})},
      {Resource::kLeases,
       Json{{"metadata", meta}, {"spec", Json::object()}},
       {"Name", "Holder", "Age"},
       Json::array({"x", "<none>", "120m"})},
  };
  for (const auto& c : cases) {
    CAPTURE(resourceType(c.resource).plural);
    Json t = buildTable(c.resource, {c.object}, "7", TableObjects::kNone, now);
    CHECK(columnNames(t, 0) == c.columns);
    CHECK(t["rows"][0]["cells"] == c.cells);
    CHECK(t["rows"][0]["cells"].size() == t["columnDefinitions"].size());
  }
}

TEST_CASE("continue tokens round-trip and unknown ones are rejected") {
  const ContinueToken token{1234, "shop/web-0"};
  const std::string text = encodeContinue(token);
  CHECK(text.find_first_of("+/=") == std::string::npos);  // unpadded base64url
  auto back = decodeContinue(text);
  REQUIRE(back.has_value());
  CHECK(back->resource_version == 1234);
  CHECK(back->after_key == "shop/web-0");
  // The real server's token for the same position decodes the same way.
  auto real = decodeContinue(
      "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTIzNCwic3RhcnQiOiJzaG9wL3dlYi0wXHUwMDAwIn0");
  REQUIRE(real.has_value());
  CHECK(real->after_key == "shop/web-0");
  CHECK(real->resource_version == 1234);
  for (const char* bad : {"", "!!!", "e30", "eyJ2IjoieCJ9"}) {
    CAPTURE(bad);
    CHECK_FALSE(decodeContinue(bad).has_value());
  }
}
