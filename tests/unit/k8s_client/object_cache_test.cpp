// The pure half of the API object cache (rampart/object_cache.h): the store,
// its change log and snapshot, and watch line decoding.
#include <doctest/doctest.h>

#include "rampart/object_cache.h"

using namespace rampart;
using namespace rampart::k8s;

namespace {

Pod pod(const std::string& ns, const std::string& name, const std::string& rv = "1",
        const std::string& node = "n1") {
  Pod p;
  p.uid = "uid-" + name;
  p.namespace_ = ns;
  p.name = name;
  p.node_name = node;
  p.resource_version = rv;
  return p;
}

Workload deployment(const std::string& ns, const std::string& name, int replicas) {
  Workload w;
  w.kind = "Deployment";
  w.namespace_ = ns;
  w.name = name;
  w.replicas = replicas;
  return w;
}

Node node(const std::string& name, const std::string& rv = "1") {
  Node n;
  n.name = name;
  n.resource_version = rv;
  return n;
}

std::vector<std::string> describe(const std::vector<ObjectChange>& changes) {
  std::vector<std::string> out;
  out.reserve(changes.size());
  for (const auto& c : changes) {
    out.push_back((c.op == ObjectChange::Op::kUpserted ? "+" : "-") + c.key.describe());
  }
  return out;
}

constexpr const char* kDeployment =
    R"({"type":"%s","object":{"kind":"Deployment","apiVersion":"apps/v1",)"
    R"("metadata":{"name":"web","namespace":"shop","uid":"u1","resourceVersion":"42"},)"
    R"("spec":{"replicas":%s,"selector":{"matchLabels":{"app":"web"}},)"
    R"("template":{"metadata":{"labels":{"app":"web"}},)"
    R"("spec":{"containers":[{"name":"c","image":"i"}]}}}}})";

std::string deploymentEvent(const std::string& type, const std::string& replicas) {
  char buf[1024];
  std::snprintf(buf, sizeof buf, kDeployment, type.c_str(), replicas.c_str());
  return buf;
}

}  // namespace

TEST_CASE("ObjectStore: upserts, resourceVersion-only updates, removals and the change log") {
  ObjectStore store(3);
  CHECK(store.upsert(0, node("n1", "5")));
  CHECK(store.upsert(1, pod("shop", "web-1", "6")));
  CHECK(store.upsert(2, deployment("shop", "web", 2)));
  CHECK(describe(store.drain()) ==
        std::vector<std::string>{"+Deployment shop/web", "+Node n1", "+Pod shop/web-1"});
  CHECK(store.drain().empty());

  // Only the resourceVersion moved: stored, but no change.
  CHECK_FALSE(store.upsert(0, node("n1", "9")));
  CHECK_FALSE(store.upsert(1, pod("shop", "web-1", "10")));
  CHECK(store.drain().empty());
  CHECK(store.snapshot().pods.at(0).resource_version == "10");

  CHECK(store.upsert(2, deployment("shop", "web", 3)));
  CHECK(store.upsert(1, pod("shop", "web-2")));
  CHECK(store.remove(1, ObjectKey{"Pod", "shop", "web-2"}));  // added then removed: one removal
  CHECK_FALSE(store.remove(1, ObjectKey{"Pod", "shop", "gone"}));
  auto changes = store.drain();
  CHECK(describe(changes) == std::vector<std::string>{"+Deployment shop/web", "-Pod shop/web-2"});
  REQUIRE(changes[0].object != nullptr);
  CHECK(std::get<Workload>(*changes[0].object).replicas == 3);
  CHECK(changes[1].object == nullptr);
  CHECK(store.size() == 3);
}

TEST_CASE("ObjectStore::replace: a relist removes what it no longer lists, in its slot only") {
  ObjectStore store(2);
  store.upsert(0, pod("a", "p1"));
  store.upsert(0, pod("a", "p2"));
  store.upsert(1, deployment("a", "d", 1));
  store.drain();
  std::vector<Object> relisted = {pod("a", "p2"), pod("a", "p3")};
  CHECK(store.replace(0, std::move(relisted)) == 2);  // p1 removed, p3 added, p2 unchanged
  CHECK(describe(store.drain()) == std::vector<std::string>{"-Pod a/p1", "+Pod a/p3"});
  CHECK(store.size(0) == 2);
  CHECK(store.size(1) == 1);
  CHECK(store.replace(0, {}) == 2);
  CHECK(store.size() == 1);
}

TEST_CASE("ObjectStore::snapshot: slots in order, sorted by key, warnings and Velero") {
  ObjectStore store(3);
  store.upsert(1, pod("b", "z"));
  store.upsert(1, pod("a", "y"));
  store.upsert(0, node("n2"));
  store.upsert(0, node("n1"));
  store.setListWarnings(1, {"items[3] (Pod a/x): spec: expected object"}, 1);
  store.setBadObject(2, ObjectKey{"Deployment", "a", "d"}, "Deployment a/d: bad");
  store.setSlotNote(2, "Deployments not read");
  Objects o = store.snapshot();
  REQUIRE(o.nodes.size() == 2);
  CHECK(o.nodes[0].name == "n1");
  REQUIRE(o.pods.size() == 2);
  CHECK(o.pods[0].namespace_ == "a");
  CHECK(o.warnings == std::vector<std::string>{"items[3] (Pod a/x): spec: expected object",
                                               "Deployment a/d: bad", "Deployments not read"});
  CHECK(o.skipped == 2);
  CHECK(o.partial);
  CHECK_FALSE(o.velero_seen);
  store.clearBadObject(2, ObjectKey{"Deployment", "a", "d"});
  store.setListWarnings(1, {}, 0);
  store.setSlotNote(2, "");
  store.setVeleroSeen(2, true);
  o = store.snapshot();
  CHECK(o.warnings.empty());
  CHECK_FALSE(o.partial);
  CHECK(o.velero_seen);
}

TEST_CASE("objectsOf and keyOf: every kind keyed by kind, namespace and name") {
  Objects o;
  o.nodes.push_back(node("n1"));
  o.workloads.push_back(deployment("shop", "web", 1));
  o.pdbs.push_back(PodDisruptionBudget{.namespace_ = "shop", .name = "web"});
  o.velero_backups.push_back(VeleroBackup{.namespace_ = "velero", .name = "b1"});
  o.namespaces.push_back(NamespaceInfo{.name = "shop"});
  auto objects = objectsOf(std::move(o));
  std::vector<std::string> keys;
  keys.reserve(objects.size());
  for (const auto& obj : objects) keys.push_back(keyOf(obj).describe());
  CHECK(keys == std::vector<std::string>{"Node n1", "Deployment shop/web",
                                         "PodDisruptionBudget shop/web", "Namespace shop",
                                         "Backup velero/b1"});
}

TEST_CASE("decodeWatchLine: events, bookmarks, errors") {
  auto added = decodeWatchLine(deploymentEvent("ADDED", "3"), "Deployment");
  REQUIRE(added.has_value());
  CHECK(added->type == WatchEventType::kAdded);
  CHECK(added->resource_version == "42");
  CHECK(added->key == ObjectKey{"Deployment", "shop", "web"});
  REQUIRE(added->object.has_value());
  CHECK(std::get<Workload>(*added->object).replicas == 3);

  auto deleted = decodeWatchLine(deploymentEvent("DELETED", "3"), "Deployment");
  REQUIRE(deleted.has_value());
  CHECK(deleted->type == WatchEventType::kDeleted);
  CHECK(deleted->key == ObjectKey{"Deployment", "shop", "web"});

  auto bookmark = decodeWatchLine(
      R"({"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"77"}}})", "Pod");
  REQUIRE(bookmark.has_value());
  CHECK(bookmark->type == WatchEventType::kBookmark);
  CHECK(bookmark->resource_version == "77");

  auto gone = decodeWatchLine(
      R"js({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired",)js"
      R"js("message":"too old resource version: 5 (9)"}})js",
      "Pod");
  REQUIRE(gone.has_value());
  CHECK(gone->type == WatchEventType::kError);
  CHECK(gone->status.code == 410);
  CHECK(gone->status.reason == "Expired");
}

TEST_CASE("decodeWatchLine: a bad object is a warning, a bad event an error") {
  // A field of the wrong type: the key is known, the object is not.
  auto bad = decodeWatchLine(deploymentEvent("MODIFIED", R"("three")"), "Deployment");
  REQUIRE(bad.has_value());
  CHECK_FALSE(bad->object.has_value());
  CHECK(bad->key == ObjectKey{"Deployment", "shop", "web"});
  CHECK(bad->object_warning.find("Deployment shop/web") == 0);

  // No kind in the object: the list's kind.
  auto kindless = decodeWatchLine(
      R"({"type":"ADDED","object":{"metadata":{"name":"n1","resourceVersion":"3"}}})", "Node");
  REQUIRE(kindless.has_value());
  CHECK(kindless->key == ObjectKey{"Node", "", "n1"});
  CHECK(kindless->object.has_value());

  const char* errors[] = {
      "",
      "not json",
      R"({"type":"ADDED","object":{"kind":"Node","metadata":{"name":)",  // truncated
      R"(["ADDED"])",
      R"({"object":{}})",
      R"({"type":"RENAMED","object":{}})",
      R"({"type":"ADDED"})",
      R"({"type":"ADDED","object":"x"})",
      R"({"type":"MODIFIED","object":{"kind":"Node","metadata":{}}})",
  };
  for (const char* line : errors) {
    CAPTURE(line);
    CHECK_FALSE(decodeWatchLine(line, "Node").has_value());
  }
}
