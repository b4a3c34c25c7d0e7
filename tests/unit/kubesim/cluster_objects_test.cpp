// The object-editing faults (scale, delete-object, put-object) and DELETE of
// any object: the events a watcher sees and the errors for bad input.
#include <doctest/doctest.h>

#include <filesystem>

#include "cluster/cluster.h"
#include "fault_client.h"
#include "test_paths.h"

using namespace rampart::kubesim;

namespace {

constexpr int64_t kNow = 1767400000;

std::unique_ptr<Cluster> smallCluster() {
  auto s = loadScenarioFile(std::filesystem::path(rampart::testing::kSourceDir) /
                            "tools/kubesim/scenarios/small.yaml");
  REQUIRE(s.has_value());
  return Cluster::create(*s, {.history = 1000, .clock = [] { return kNow; }});
}

// Events of `resource` after `rv`, as {"TYPE ns/name", ...}.
std::vector<std::string> eventsSince(Cluster& cluster, Resource resource, const std::string& rv) {
  WatchRequest r;
  r.resource = resource;
  r.resource_version = rv;
  auto cursor = cluster.watch(std::move(r));
  REQUIRE(cursor.has_value());
  std::vector<std::string> out;
  for (;;) {
    auto batch = cluster.next(*cursor, std::chrono::steady_clock::now());
    if (batch.lines.empty()) break;
    for (const auto& line : batch.lines) {
      Json e = Json::parse(line);
      out.push_back(e["type"].get<std::string>() + " " +
                    e["object"]["metadata"].value("namespace", "") + "/" +
                    e["object"]["metadata"]["name"].get<std::string>());
    }
  }
  return out;
}

}  // namespace

TEST_CASE("scale sets spec.replicas of a Deployment with one MODIFIED") {
  auto c = smallCluster();
  const std::string rv = c->resourceVersion();
  auto r = c->applyFault(Json{{"type", "scale"},
                              {"resource", "deploy"},
                              {"namespace", "shop"},
                              {"name", "web"},
                              {"replicas", 5}});
  REQUIRE_MESSAGE(r.has_value(), r.error().message);
  CHECK((*r)["replicasBefore"] == 3);
  auto web = c->get(Resource::kDeployments, "shop", "web");
  REQUIRE(web.has_value());
  CHECK((*web)["spec"]["replicas"] == 5);
  auto events = eventsSince(*c, Resource::kDeployments, rv);
  REQUIRE_FALSE(events.empty());
  CHECK(events.front() == "MODIFIED shop/web");

  CHECK(c->applyFault(Json{{"type", "scale"},
                           {"resource", "svc"},
                           {"namespace", "shop"},
                           {"name", "web"},
                           {"replicas", 1}})
            .error()
            .http_status == 400);
  CHECK(c->applyFault(Json{{"type", "scale"},
                           {"resource", "deployments"},
                           {"namespace", "shop"},
                           {"name", "nope"},
                           {"replicas", 1}})
            .error()
            .http_status == 404);
  CHECK(c->applyFault(Json{{"type", "scale"},
                           {"resource", "deployments"},
                           {"namespace", "shop"},
                           {"name", "web"},
                           {"replicas", "2"}})
            .error()
            .http_status == 400);
}

TEST_CASE("delete-object and deleteObject remove a PDB with one DELETED") {
  auto c = smallCluster();
  const std::string rv = c->resourceVersion();
  auto r = c->applyFault(
      Json{{"type", "delete-object"}, {"resource", "pdb"}, {"namespace", "shop"}, {"name", "web"}});
  REQUIRE_MESSAGE(r.has_value(), r.error().message);
  CHECK_FALSE(c->get(Resource::kPodDisruptionBudgets, "shop", "web").has_value());
  CHECK(eventsSince(*c, Resource::kPodDisruptionBudgets, rv) ==
        std::vector<std::string>{"DELETED shop/web"});
  CHECK(c->applyFault(Json{{"type", "delete-object"},
                           {"resource", "pdb"},
                           {"namespace", "shop"},
                           {"name", "web"}})
            .error()
            .http_status == 404);
  CHECK(c->applyFault(Json{{"type", "delete-object"}, {"resource", "widgets"}, {"name", "x"}})
            .error()
            .http_status == 400);

  auto deleted = c->deleteObject(Resource::kServices, "shop", "db");
  REQUIRE(deleted.has_value());
  CHECK((*deleted)["metadata"]["name"] == "db");
  CHECK_FALSE(c->deleteObject(Resource::kServices, "shop", "db").has_value());
}

TEST_CASE("put-object adds, then replaces, a Service") {
  auto c = smallCluster();
  const std::string rv = c->resourceVersion();
  // kind and apiVersion before metadata: put-object erases them from an
  // ordered_json, which once left its reference to metadata dangling.
  Json svc = {{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata", {{"namespace", "shop"}, {"name", "admin"}}},
              {"spec", {{"selector", {{"app", "web"}}}}}};
  auto r = c->applyFault(Json{{"type", "put-object"}, {"object", svc}});
  REQUIRE_MESSAGE(r.has_value(), r.error().message);
  CHECK((*r)["created"] == true);
  auto stored = c->get(Resource::kServices, "shop", "admin");
  REQUIRE(stored.has_value());
  const std::string uid = (*stored)["metadata"]["uid"];
  CHECK_FALSE(uid.empty());
  CHECK_FALSE(stored->contains("kind"));

  svc["spec"]["type"] = "NodePort";
  r = c->applyFault(Json{{"type", "put-object"}, {"object", svc}});
  REQUIRE_MESSAGE(r.has_value(), r.error().message);
  CHECK((*r)["created"] == false);
  stored = c->get(Resource::kServices, "shop", "admin");
  CHECK((*stored)["metadata"]["uid"] == uid);
  CHECK((*stored)["spec"]["type"] == "NodePort");
  CHECK(eventsSince(*c, Resource::kServices, rv) ==
        std::vector<std::string>{"ADDED shop/admin", "MODIFIED shop/admin"});

  svc["metadata"]["namespace"] = "nowhere";
  CHECK(c->applyFault(Json{{"type", "put-object"}, {"object", svc}}).error().http_status == 404);
  CHECK(c->applyFault(Json{{"type", "put-object"}, {"object", Json{{"kind", "Widget"}}}})
            .error()
            .http_status == 400);
  CHECK(c->applyFault(Json{{"type", "put-object"}}).error().http_status == 400);
}

TEST_CASE("kubesim fault: scale, delete-object and put-object from the command line") {
  auto scale = faultFromArgs({"scale", "deployments", "shop/web", "--replicas", "4"});
  REQUIRE(scale.has_value());
  CHECK(*scale == Json{{"type", "scale"},
                       {"resource", "deployments"},
                       {"namespace", "shop"},
                       {"name", "web"},
                       {"replicas", 4}});
  auto del = faultFromArgs({"delete-object", "pv", "pv-1"});
  REQUIRE(del.has_value());
  CHECK(*del == Json{{"type", "delete-object"}, {"resource", "pv"}, {"name", "pv-1"}});
  CHECK_FALSE(faultFromArgs({"scale", "deployments", "shop/web"}).has_value());
  CHECK_FALSE(faultFromArgs({"put-object"}).has_value());
  CHECK_FALSE(faultFromArgs({"put-object", "--file", "/nonexistent.json"}).has_value());
}
