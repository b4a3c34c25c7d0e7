#include <doctest/doctest.h>

#include <set>

#include "api_views.h"
#include "fault_client.h"
#include "resources.h"

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
  for (const auto& r : (*core)["resources"]) names.insert(r["name"].get<std::string>());
  CHECK(names == std::set<std::string>{"namespaces", "nodes", "pods"});
  CHECK(apiResourceList("apps", "v1").has_value());
  CHECK(apiResourceList("policy", "v1").has_value());
  CHECK_FALSE(apiResourceList("batch", "v1").has_value());
  Json groups = apiGroupList();
  CHECK(groups["groups"].size() == 2);
  CHECK(statusBody(404, "x")["reason"] == "NotFound");
  CHECK(statusBody(410, "x")["reason"] == "Expired");
}
