#include <doctest/doctest.h>

#include <filesystem>
#include <set>
#include <thread>

#include "cluster/cluster.h"
#include "test_paths.h"

using namespace rampart::kubesim;
using rampart::ErrorCode;

namespace {

constexpr int64_t kNow = 1767400000;

std::unique_ptr<Cluster> smallCluster(size_t history = 1000) {
  auto s = loadScenarioFile(std::filesystem::path(rampart::testing::kSourceDir) /
                            "tools/kubesim/scenarios/small.yaml");
  REQUIRE(s.has_value());
  return Cluster::create(*s, {.history = history, .clock = [] { return kNow; }});
}

WatchRequest podWatch(const std::string& rv, const std::string& ns = "") {
  WatchRequest r;
  r.resource = Resource::kPods;
  r.ns = ns;
  r.resource_version = rv;
  return r;
}

std::vector<Json> drain(Cluster& cluster, WatchCursor& cursor) {
  std::vector<Json> events;
  for (;;) {
    auto batch = cluster.next(cursor, std::chrono::steady_clock::now());
    if (batch.lines.empty()) break;
    for (const auto& line : batch.lines) {
      REQUIRE(!line.empty());
      CHECK(line.back() == '\n');
      events.push_back(Json::parse(line));
    }
  }
  return events;
}

std::string firstPodOn(Cluster& cluster, const std::string& node, const std::string& app) {
  auto fields = FieldQuery::parse("spec.nodeName=" + node, {"spec.nodeName"});
  auto labels = LabelQuery::parse("app=" + app);
  auto pods = cluster.list(Resource::kPods, "", *labels, *fields).items;
  REQUIRE(!pods.empty());
  return pods[0]["metadata"]["namespace"].get<std::string>() + "/" +
         pods[0]["metadata"]["name"].get<std::string>();
}

Json readyCondition(const Json& pod) {
  for (const auto& c : pod["status"]["conditions"]) {
    if (c["type"] == "Ready") return c;
  }
  return Json();
}

}  // namespace

TEST_CASE("lists carry one global resourceVersion and items without kind") {
  auto cluster = smallCluster();
  auto pods = cluster->list(Resource::kPods, "", LabelQuery{}, FieldQuery{});
  auto nodes = cluster->list(Resource::kNodes, "", LabelQuery{}, FieldQuery{});
  CHECK(pods.resource_version == nodes.resource_version);
  CHECK(pods.resource_version == cluster->resourceVersion());
  REQUIRE(pods.items.size() == 11);
  CHECK_FALSE(pods.items[0].contains("kind"));
  std::set<std::string> rvs;
  for (const auto& p : pods.items) rvs.insert(p["metadata"]["resourceVersion"].get<std::string>());
  CHECK(rvs.size() == pods.items.size());
  CHECK(cluster->list(Resource::kPods, "shop", LabelQuery{}, FieldQuery{}).items.size() == 7);
  CHECK_FALSE(cluster->get(Resource::kPods, "shop", "nope").has_value());
}

TEST_CASE("watch from \"\" or \"0\" starts with ADDED events for current objects") {
  auto cluster = smallCluster();
  for (const char* rv : {"", "0"}) {
    auto cursor = cluster->watch(podWatch(rv, "shop"));
    REQUIRE(cursor.has_value());
    auto events = drain(*cluster, *cursor);
    REQUIRE(events.size() == 7);
    for (const auto& e : events) {
      CHECK(e["type"] == "ADDED");
      CHECK(e["object"]["kind"] == "Pod");
      CHECK(e["object"]["apiVersion"] == "v1");
    }
  }
}

TEST_CASE("watch from a resourceVersion older than the history is 410 Expired") {
  auto cluster = smallCluster(/*history=*/3);
  const std::string start = cluster->resourceVersion();
  auto old = cluster->watch(podWatch("1"));
  REQUIRE_FALSE(old.has_value());
  CHECK(old.error().code == ErrorCode::kGone);
  CHECK(old.error().http_status == 410);
  CHECK(old.error().message == "too old resource version: 1 (" + start + ")");

  // The current resourceVersion is fine, until the history rolls past it.
  auto cursor = cluster->watch(podWatch(start));
  REQUIRE(cursor.has_value());
  for (int i = 0; i < 4; ++i) {  // one event each: the fourth pushes out the first
    REQUIRE(cluster->applyFault(Json{{"type", "container-restart"}, {"pod", "shop/db-0"}}));
  }
  auto batch = cluster->next(*cursor, std::chrono::steady_clock::now());
  REQUIRE(batch.expired);
  REQUIRE(batch.lines.size() == 1);
  const Json error = Json::parse(batch.lines[0]);
  CHECK(error["type"] == "ERROR");
  CHECK(error["object"]["code"] == 410);
  CHECK(error["object"]["reason"] == "Expired");
  CHECK_FALSE(cluster->watch(podWatch(start)).has_value());
  CHECK(cluster->watch(podWatch("abc")).error().http_status == 400);
}

TEST_CASE("node-down and node-up: node conditions, taints, pod readiness, controller counts") {
  auto cluster = smallCluster();
  auto cursor = cluster->watch(podWatch(cluster->resourceVersion()));
  WatchRequest node_req;
  node_req.resource = Resource::kNodes;
  node_req.resource_version = cluster->resourceVersion();
  auto node_cursor = cluster->watch(node_req);
  REQUIRE(cursor.has_value());
  REQUIRE(node_cursor.has_value());

  auto r = cluster->applyFault(Json{{"type", "node-down"}, {"node", "node-a"}});
  REQUIRE(r.has_value());
  auto node_events = drain(*cluster, *node_cursor);
  REQUIRE(node_events.size() == 1);
  CHECK(node_events[0]["type"] == "MODIFIED");
  const Json& node = node_events[0]["object"];
  for (const auto& c : node["status"]["conditions"]) {
    if (c["type"] == "Ready") CHECK(c["status"] == "Unknown");
  }
  CHECK(node["spec"]["taints"].size() == 2);
  auto pod_events = drain(*cluster, *cursor);
  CHECK(pod_events.size() == 5);  // every pod on node-a
  for (const auto& e : pod_events) {
    CHECK(e["object"]["spec"]["nodeName"] == "node-a");
    CHECK(readyCondition(e["object"])["status"] == "False");
  }
  auto cache = cluster->get(Resource::kDeployments, "shop", "cache");
  CHECK_FALSE((*cache)["status"].contains("readyReplicas"));
  CHECK((*cache)["status"]["unavailableReplicas"] == 2);
  auto pdb = cluster->get(Resource::kPodDisruptionBudgets, "shop", "web");
  CHECK((*pdb)["status"]["currentHealthy"] == 2);
  CHECK((*pdb)["status"]["disruptionsAllowed"] == 0);

  REQUIRE(cluster->applyFault(Json{{"type", "node-up"}, {"node", "node-a"}}));
  auto up = drain(*cluster, *node_cursor);
  REQUIRE(up.size() == 1);
  CHECK_FALSE(up[0]["object"]["spec"].contains("taints"));
  for (const auto& e : drain(*cluster, *cursor)) {
    CHECK(readyCondition(e["object"])["status"] == "True");
  }
  CHECK((*cluster->get(Resource::kDeployments, "shop", "cache"))["status"]["readyReplicas"] == 2);
}

TEST_CASE("container faults change container status and pod conditions") {
  auto cluster = smallCluster();
  const std::string pod = firstPodOn(*cluster, "node-b", "web");
  const auto slash = pod.find('/');
  auto cursor = cluster->watch(podWatch(cluster->resourceVersion()));
  REQUIRE(cursor.has_value());

  REQUIRE(cluster->applyFault(Json{{"type", "container-not-ready"}, {"pod", pod}}));
  auto events = drain(*cluster, *cursor);
  REQUIRE(events.size() == 1);
  CHECK(events[0]["type"] == "MODIFIED");
  CHECK(events[0]["object"]["status"]["containerStatuses"][0]["ready"] == false);
  CHECK(readyCondition(events[0]["object"])["reason"] == "ContainersNotReady");
  auto web = cluster->get(Resource::kDeployments, "shop", "web");
  CHECK((*web)["status"]["readyReplicas"] == 2);

  REQUIRE(
      cluster->applyFault(Json{{"type", "container-ready"}, {"pod", pod}, {"container", "web"}}));
  events = drain(*cluster, *cursor);
  REQUIRE(events.size() == 1);
  CHECK(readyCondition(events[0]["object"])["status"] == "True");

  REQUIRE(cluster->applyFault(
      Json{{"type", "container-restart"}, {"pod", pod}, {"reason", "OOMKilled"}}));
  events = drain(*cluster, *cursor);
  REQUIRE(events.size() == 1);
  const Json& cs = events[0]["object"]["status"]["containerStatuses"][0];
  CHECK(cs["restartCount"] == 1);
  CHECK(cs["lastState"]["terminated"]["reason"] == "OOMKilled");
  CHECK(cs["lastState"]["terminated"]["exitCode"] == 137);
  CHECK(cs["state"].contains("running"));

  auto missing = cluster->applyFault(Json{{"type", "container-ready"},
                                          {"namespace", pod.substr(0, slash)},
                                          {"name", pod.substr(slash + 1)},
                                          {"container", "nope"}});
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().http_status == 404);
}

TEST_CASE("delete-pod emits MODIFIED with deletionTimestamp, then DELETED") {
  auto cluster = smallCluster();
  auto cursor = cluster->watch(podWatch(cluster->resourceVersion(), "default"));
  REQUIRE(cursor.has_value());
  REQUIRE(cluster->applyFault(Json{{"type", "delete-pod"}, {"pod", "default/debug"}}));
  auto events = drain(*cluster, *cursor);
  REQUIRE(events.size() == 2);
  CHECK(events[0]["type"] == "MODIFIED");
  CHECK(events[0]["object"]["metadata"].contains("deletionTimestamp"));
  CHECK(events[1]["type"] == "DELETED");
  CHECK(std::stoull(events[1]["object"]["metadata"]["resourceVersion"].get<std::string>()) >
        std::stoull(events[0]["object"]["metadata"]["resourceVersion"].get<std::string>()));
  CHECK_FALSE(cluster->get(Resource::kPods, "default", "debug").has_value());
  CHECK(cluster->applyFault(Json{{"type", "delete-pod"}, {"pod", "default/debug"}})
            .error()
            .http_status == 404);
}

TEST_CASE("add-pod creates a running pod owned by the named controller") {
  auto cluster = smallCluster();
  auto cursor = cluster->watch(podWatch(cluster->resourceVersion(), "shop"));
  REQUIRE(cursor.has_value());
  REQUIRE(cluster->applyFault(Json{{"type", "add-pod"},
                                   {"pod", "shop/web-extra"},
                                   {"node", "node-c"},
                                   {"labels", {{"extra", "yes"}}},
                                   {"ownerKind", "Deployment"},
                                   {"ownerName", "web"}}));
  auto events = drain(*cluster, *cursor);
  REQUIRE(events.size() == 1);
  const Json& pod = events[0]["object"];
  CHECK(events[0]["type"] == "ADDED");
  CHECK(pod["spec"]["nodeName"] == "node-c");
  CHECK(pod["metadata"]["labels"]["app"] == "web");
  CHECK(pod["metadata"]["labels"]["extra"] == "yes");
  CHECK(pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet");
  CHECK(pod["status"]["podIP"].get<std::string>().rfind("10.244.2.", 0) == 0);
  CHECK((*cluster->get(Resource::kDeployments, "shop", "web"))["status"]["replicas"] == 4);

  CHECK(cluster->applyFault(Json{{"type", "add-pod"}, {"pod", "shop/x"}, {"node", "nope"}})
            .error()
            .http_status == 404);
  CHECK(
      cluster->applyFault(Json{{"type", "add-pod"}, {"pod", "shop/web-extra"}, {"node", "node-a"}})
          .error()
          .http_status == 409);
}

TEST_CASE("api-error and api-garbage are consumed one request at a time") {
  auto cluster = smallCluster();
  CHECK_FALSE(cluster->takeApiFailure("/api/v1/pods").has_value());
  REQUIRE(cluster->applyFault(Json{{"type", "api-error"}, {"status", 503}, {"count", 2}}));
  REQUIRE(cluster->applyFault(Json{{"type", "api-garbage"}, {"count", 1}}));
  auto a = cluster->takeApiFailure("/api/v1/pods");
  auto b = cluster->takeApiFailure("/api/v1/pods");
  auto c = cluster->takeApiFailure("/api/v1/pods");
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  REQUIRE(c.has_value());
  CHECK(a->status == 503);
  CHECK(b->status == 503);
  CHECK(c->garbage);
  CHECK_FALSE(cluster->takeApiFailure("/api/v1/pods").has_value());
}

TEST_CASE("api-error and api-garbage with a path hit only requests under it") {
  auto cluster = smallCluster();
  REQUIRE(
      cluster->applyFault(Json{{"type", "api-garbage"}, {"count", 2}, {"path", "/api/v1/pods"}}));
  CHECK_FALSE(cluster->takeApiFailure("/api/v1/nodes/node-a").has_value());
  CHECK_FALSE(cluster->takeApiFailure("/apis/apps/v1/deployments").has_value());
  auto a = cluster->takeApiFailure("/api/v1/pods");
  REQUIRE(a.has_value());
  CHECK(a->garbage);
  CHECK(cluster->takeApiFailure("/api/v1/pods/x").has_value());
  CHECK_FALSE(cluster->takeApiFailure("/api/v1/pods").has_value());
  auto e = cluster->applyFault(Json{{"type", "api-error"}, {"path", "pods"}});
  REQUIRE_FALSE(e.has_value());
  CHECK(e.error().http_status == 400);
  CHECK(e.error().message.find("\"path\"") != std::string::npos);
  CHECK_FALSE(cluster->applyFault(Json{{"type", "api-error"}, {"path", 3}}).has_value());
}

TEST_CASE("malformed faults are 400 with a message saying what is wrong") {
  auto cluster = smallCluster();
  struct Case {
    Json fault;
    const char* expect;
  };
  const Case cases[] = {
      {Json::array(), "a fault is a JSON object"},
      {Json{{"kind", "node-down"}}, "a fault is a JSON object"},
      {Json{{"type", "meteor-strike"}}, "unknown fault type 'meteor-strike'"},
      {Json{{"type", "node-down"}}, "needs a string \"node\""},
      {Json{{"type", "delete-pod"}}, "needs \"pod\""},
      {Json{{"type", "api-error"}, {"status", 200}}, "within 400..599"},
      {Json{{"type", "api-error"}, {"count", "many"}}, "non-negative integer"},
      {Json{{"type", "add-pod"}, {"pod", "shop/a"}}, "needs a string \"node\""},
      {Json{{"type", "add-pod"},
            {"pod", "shop/a"},
            {"node", "node-a"},
            {"ownerKind", "Job"},
            {"ownerName", "x"}},
       "ownerKind must be"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.fault.dump());
    auto r = cluster->applyFault(c.fault);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().http_status == 400);
    CHECK_MESSAGE(r.error().message.find(c.expect) != std::string::npos, r.error().message);
  }
}

TEST_CASE("watch filters events by label and field selectors") {
  auto cluster = smallCluster();
  WatchRequest req = podWatch(cluster->resourceVersion());
  req.labels = *LabelQuery::parse("app=web");
  req.fields = *FieldQuery::parse("spec.nodeName=node-a", {"spec.nodeName"});
  auto cursor = cluster->watch(std::move(req));
  REQUIRE(cursor.has_value());
  REQUIRE(cluster->applyFault(Json{{"type", "node-down"}, {"node", "node-a"}}));
  auto events = drain(*cluster, *cursor);
  REQUIRE(events.size() == 1);
  CHECK(events[0]["object"]["metadata"]["labels"]["app"] == "web");
}

TEST_CASE("a watcher blocked in next() is woken by a fault and by shutdown") {
  auto cluster = smallCluster();
  auto cursor = cluster->watch(podWatch(cluster->resourceVersion()));
  REQUIRE(cursor.has_value());
  std::thread faulter([&] {
    REQUIRE(cluster->applyFault(Json{{"type", "delete-pod"}, {"pod", "default/debug"}}));
  });
  auto batch = cluster->next(*cursor, std::chrono::steady_clock::now() + std::chrono::seconds(30));
  faulter.join();
  // The wait ends on the notification; the 30 s deadline would fail the test's time budget.
  CHECK_FALSE(batch.lines.empty());
  std::thread stopper([&] { cluster->shutdown(); });
  auto closed = cluster->next(*cursor, std::chrono::steady_clock::now() + std::chrono::seconds(30));
  stopper.join();
  if (closed.lines.empty()) CHECK(closed.closed);
}

TEST_CASE("lists page with limit and continue, as kubectl --chunk-size does") {
  auto cluster = smallCluster();
  const auto everything = cluster->list(Resource::kPods, "", LabelQuery{}, FieldQuery{});
  REQUIRE(everything.items.size() == 11);
  std::vector<std::string> names;
  std::string token;
  std::vector<int64_t> remaining;
  int pages = 0;
  do {
    auto page = cluster->listPage(Resource::kPods, "", LabelQuery{}, FieldQuery{}, 4, token);
    REQUIRE(page.has_value());
    CHECK(page->resource_version == everything.resource_version);
    CHECK(page->items.size() <= 4);
    for (const auto& p : page->items) names.push_back(p["metadata"]["name"]);
    if (page->remaining) remaining.push_back(*page->remaining);
    token = page->continue_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  CHECK(pages == 3);
  CHECK(remaining == std::vector<int64_t>{7, 3});
  std::vector<std::string> expected;
  expected.reserve(everything.items.size());
  for (const auto& p : everything.items) expected.push_back(p["metadata"]["name"]);
  CHECK(names == expected);

  // With a selector: the same pages, no remainingItemCount (as the real server).
  auto web = LabelQuery::parse("app=web");
  auto first = cluster->listPage(Resource::kPods, "shop", *web, FieldQuery{}, 2, "");
  REQUIRE(first.has_value());
  CHECK(first->items.size() == 2);
  CHECK_FALSE(first->remaining.has_value());
  auto second =
      cluster->listPage(Resource::kPods, "shop", *web, FieldQuery{}, 2, first->continue_token);
  REQUIRE(second.has_value());
  CHECK(second->items.size() == 1);
  CHECK(second->continue_token.empty());
  // An exact fit ends without a token.
  auto exact = cluster->listPage(Resource::kPods, "", LabelQuery{}, FieldQuery{}, 11, "");
  REQUIRE(exact.has_value());
  CHECK(exact->items.size() == 11);
  CHECK(exact->continue_token.empty());

  auto bad = cluster->listPage(Resource::kPods, "", LabelQuery{}, FieldQuery{}, 4, "garbage");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().http_status == 400);
}

TEST_CASE("a continue token older than the retained history is 410 Expired") {
  auto cluster = smallCluster(/*history=*/2);
  auto first = cluster->listPage(Resource::kPods, "", LabelQuery{}, FieldQuery{}, 5, "");
  REQUIRE(first.has_value());
  REQUIRE_FALSE(first->continue_token.empty());
  for (int i = 0; i < 3; ++i) {
    REQUIRE(cluster->applyFault(Json{{"type", "container-restart"}, {"pod", "shop/db-0"}}));
  }
  auto next =
      cluster->listPage(Resource::kPods, "", LabelQuery{}, FieldQuery{}, 5, first->continue_token);
  REQUIRE_FALSE(next.has_value());
  CHECK(next.error().code == ErrorCode::kGone);
  CHECK(next.error().http_status == 410);
}
