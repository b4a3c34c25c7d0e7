// readCluster against a scripted local API server: the lists it makes, the
// pages it follows, and what it does with 404s and other failures.
#include "rampart/cluster_reader.h"

#include <doctest/doctest.h>
#include <httplib.h>

#include <map>
#include <mutex>
#include <thread>

#include "test_support.h"

using namespace rampart;
using namespace std::chrono_literals;

namespace {

struct Answer {
  int status = 200;
  std::string body;
};

// Answers GETs from a table keyed by path + "?" + query as received; an
// unlisted path gets an empty typed list of the kind the path names.
class ScriptedApi {
 public:
  explicit ScriptedApi(std::map<std::string, Answer> script) : script_(std::move(script)) {
    server_.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string query = req.target.find('?') == std::string::npos
                                    ? ""
                                    : req.target.substr(req.target.find('?') + 1);
      Answer a;
      {
        std::lock_guard lock(mu_);
        requests_.push_back(req.path + "?" + query);
        auto it = script_.find(req.path + "?" + query);
        if (it == script_.end()) it = script_.find(req.path);
        a = it != script_.end() ? it->second : emptyList(req.path);
      }
      res.status = a.status;
      res.set_content(a.body, "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    REQUIRE(testing::waitUntil([this] { return server_.is_running(); }, 5s));
  }
  ~ScriptedApi() {
    server_.stop();
    thread_.join();
  }
  KubeClient client() const {
    KubeCredentials creds;
    creds.server = "http://127.0.0.1:" + std::to_string(port_);
    return KubeClient(creds);
  }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

  static Answer emptyList(const std::string& path) {
    static const std::map<std::string, std::pair<std::string, std::string>> kKinds = {
        {"nodes", {"NodeList", "v1"}},
        {"pods", {"PodList", "v1"}},
        {"services", {"ServiceList", "v1"}},
        {"namespaces", {"NamespaceList", "v1"}},
        {"persistentvolumeclaims", {"PersistentVolumeClaimList", "v1"}},
        {"persistentvolumes", {"PersistentVolumeList", "v1"}},
        {"deployments", {"DeploymentList", "apps/v1"}},
        {"replicasets", {"ReplicaSetList", "apps/v1"}},
        {"statefulsets", {"StatefulSetList", "apps/v1"}},
        {"daemonsets", {"DaemonSetList", "apps/v1"}},
        {"poddisruptionbudgets", {"PodDisruptionBudgetList", "policy/v1"}},
        {"horizontalpodautoscalers", {"HorizontalPodAutoscalerList", "autoscaling/v2"}},
        {"backups", {"BackupList", "velero.io/v1"}},
        {"schedules", {"ScheduleList", "velero.io/v1"}},
    };
    auto it = kKinds.find(path.substr(path.rfind('/') + 1));
    if (it == kKinds.end()) return {404, notFound()};
    return {200, R"({"kind":")" + it->second.first + R"(","apiVersion":")" + it->second.second +
                     R"(","metadata":{"resourceVersion":"9"},"items":[]})"};
  }
  static std::string notFound() {
    return R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","code":404})";
  }

 private:
  httplib::Server server_;
  std::mutex mu_;
  std::map<std::string, Answer> script_;
  std::vector<std::string> requests_;
  std::thread thread_;
  int port_ = 0;
};

std::string node(const std::string& name) {
  return R"({"metadata":{"name":")" + name + R"(","uid":"u-)" + name +
         R"(","labels":{"topology.kubernetes.io/zone":"z1"}},"spec":{},"status":{"conditions":[{"type":"Ready","status":"True"}]}})";
}

std::string hpaItem(const std::string& name) {
  return R"({"metadata":{"name":")" + name +
         R"(","namespace":"shop"},"spec":{"scaleTargetRef":{"kind":"Deployment","name":"web"},"minReplicas":2,"maxReplicas":5}})";
}

}  // namespace

TEST_CASE("readCluster lists every kind in order, follows continue tokens and decodes all") {
  ScriptedApi api({
      {"/api/v1/nodes?limit=500",
       {200,
        R"({"kind":"NodeList","apiVersion":"v1","metadata":{"resourceVersion":"9","continue":"tok/1+"},"items":[)" +
            node("n1") + "]}"}},
      {"/api/v1/nodes?limit=500&continue=tok%2F1%2B",
       {200,
        R"({"kind":"NodeList","apiVersion":"v1","metadata":{"resourceVersion":"9"},"items":[)" +
            node("n2") + "]}"}},
      {"/apis/velero.io/v1/backups",
       {200,
        R"({"kind":"BackupList","apiVersion":"velero.io/v1","metadata":{},"items":[{"metadata":{"name":"b1","namespace":"velero","labels":{"velero.io/schedule-name":"daily"}},"spec":{},"status":{"phase":"Completed","startTimestamp":"2026-01-02T02:00:00Z"}}]})"}},
  });
  auto client = api.client();
  auto objects = rampart::k8s::readCluster(client);
  REQUIRE_MESSAGE(objects.has_value(), (objects ? "" : objects.error().describe()));
  REQUIRE(objects->nodes.size() == 2);
  CHECK(objects->nodes[0].name == "n1");
  CHECK(objects->nodes[1].name == "n2");
  CHECK(objects->nodes[1].zone == "z1");
  REQUIRE(objects->velero_backups.size() == 1);
  CHECK(objects->velero_backups[0].schedule_name == "daily");
  CHECK(objects->velero_seen);
  CHECK(objects->warnings.empty());
  CHECK_FALSE(objects->partial);

  std::vector<std::string> expected = {"/api/v1/nodes?limit=500",
                                       "/api/v1/nodes?limit=500&continue=tok%2F1%2B"};
  for (size_t i = 1; i < rampart::k8s::liveLists().size(); ++i) {
    expected.push_back(rampart::k8s::liveLists()[i].path + "?limit=500");
  }
  CHECK(api.requests() == expected);
}

TEST_CASE("kinds the server does not serve: Velero silently, others with a warning") {
  ScriptedApi api({
      {"/apis/policy/v1/poddisruptionbudgets", {404, ScriptedApi::notFound()}},
      {"/apis/autoscaling/v2/horizontalpodautoscalers", {404, ScriptedApi::notFound()}},
      {"/apis/autoscaling/v1/horizontalpodautoscalers",
       {200,
        R"({"kind":"HorizontalPodAutoscalerList","apiVersion":"autoscaling/v1","metadata":{},"items":[)" +
            hpaItem("web") + "]}"}},
      {"/apis/velero.io/v1/backups", {404, ScriptedApi::notFound()}},
      {"/apis/velero.io/v1/schedules", {404, ScriptedApi::notFound()}},
  });
  auto client = api.client();
  auto objects = rampart::k8s::readCluster(client, {.page_size = 50});
  REQUIRE_MESSAGE(objects.has_value(), (objects ? "" : objects.error().describe()));
  // autoscaling/v1 stands in for v2.
  REQUIRE(objects->hpas.size() == 1);
  CHECK(objects->hpas[0].min_replicas == 2);
  CHECK(objects->pdbs.empty());
  CHECK_FALSE(objects->velero_seen);
  REQUIRE(objects->warnings.size() == 1);
  CHECK(objects->warnings[0] ==
        "PodDisruptionBudgets not read: the API server does not serve "
        "/apis/policy/v1/poddisruptionbudgets (404)");
  CHECK(api.requests().at(0) == "/api/v1/nodes?limit=50");

  ScriptedApi old({
      {"/apis/autoscaling/v2/horizontalpodautoscalers", {404, ScriptedApi::notFound()}},
      {"/apis/autoscaling/v1/horizontalpodautoscalers", {404, ScriptedApi::notFound()}},
  });
  auto old_client = old.client();
  auto without_hpas = rampart::k8s::readCluster(old_client);
  REQUIRE(without_hpas.has_value());
  REQUIRE(without_hpas->warnings.size() == 1);
  CHECK(without_hpas->warnings[0].find("/apis/autoscaling/v2/horizontalpodautoscalers") !=
        std::string::npos);
  CHECK(without_hpas->velero_seen);  // empty Velero lists: installed, nothing backed up
}

TEST_CASE("other failures end the read with an error naming the path") {
  struct Case {
    const char* path;
    Answer answer;
    const char* expect;
    int http_status;
  };
  const Case cases[] = {
      {"/api/v1/services",
       {500,
        R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":"etcdserver: request timed out","code":500})"},
       "GET /api/v1/services: ",
       500},
      {"/api/v1/pods",
       {403, R"({"kind":"Status","message":"pods is forbidden","code":403})"},
       "GET /api/v1/pods: ",
       403},
      {"/apis/apps/v1/deployments",
       {200, "<html>proxy error</html>"},
       "GET /apis/apps/v1/deployments: ",
       0},
      // A 404 on a later page is not "not served".
      {"/api/v1/nodes?limit=500&continue=x",
       {404, ScriptedApi::notFound()},
       "GET /api/v1/nodes: ",
       404},
  };
  for (const auto& c : cases) {
    CAPTURE(c.path);
    ScriptedApi api({
        {c.path, c.answer},
        {"/api/v1/nodes?limit=500",
         {200, R"({"kind":"NodeList","apiVersion":"v1","metadata":{"continue":"x"},"items":[]})"}},
    });
    auto client = api.client();
    auto objects = rampart::k8s::readCluster(client);
    REQUIRE_FALSE(objects.has_value());
    CHECK_MESSAGE(objects.error().message.rfind(c.expect, 0) == 0, objects.error().message);
    CHECK(objects.error().http_status == c.http_status);
  }
}
