// The pod watcher against a scripted HTTP server: list, watch, relist on 410,
// retry on errors and broken JSON.
#include <doctest/doctest.h>
#include <httplib.h>

#include <deque>
#include <mutex>
#include <thread>

#include "pod_watcher.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::agent;
using namespace std::chrono_literals;

namespace {

std::string podJson(const std::string& uid, const std::string& rv, bool ready = true) {
  return R"({"metadata":{"uid":")" + uid + R"(","name":"pod-)" + uid +
         R"(","namespace":"shop","resourceVersion":")" + rv +
         R"("},"spec":{"nodeName":"n1","containers":[{"name":"c"}]},"status":{"phase":"Running","conditions":[{"type":"Ready","status":")" +
         (ready ? "True" : "False") + R"("}]}})";
}

std::string listJson(const std::string& rv, const std::vector<std::string>& pods) {
  std::string items;
  for (const auto& p : pods) items += (items.empty() ? "" : ",") + p;
  return R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":")" + rv +
         R"("},"items":[)" + items + "]}";
}

// Each list or watch request takes the next scripted answer; when the script
// is empty, lists answer the last list again and watches hang up at once.
struct ScriptedApi {
  struct Answer {
    int status = 200;
    std::string body;  // list body, or watch lines joined by '\n'
  };
  std::mutex mu;
  std::deque<Answer> lists, watches;
  Answer last_list{200, listJson("1", {})};
  std::vector<std::string> requests;
  httplib::Server server;
  std::thread thread;
  int port = 0;

  ScriptedApi() {
    server.Get("/api/v1/nodes/n1", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(
          R"({"metadata":{"name":"n1","uid":"node-uid","labels":{"topology.kubernetes.io/zone":"z1"}}})",
          "application/json");
    });
    server.Get("/api/v1/pods", [this](const httplib::Request& req, httplib::Response& res) {
      bool watch = req.has_param("watch");
      Answer a;
      {
        std::lock_guard lock(mu);
        requests.push_back((watch ? "watch rv=" : "list") +
                           (watch ? req.get_param_value("resourceVersion") : ""));
        auto& q = watch ? watches : lists;
        if (!q.empty()) {
          a = q.front();
          q.pop_front();
          if (!watch) last_list = a;
        } else {
          a = watch ? Answer{200, ""} : last_list;
        }
      }
      res.status = a.status;
      res.set_content(a.body, "application/json");
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
  }
  ~ScriptedApi() {
    server.stop();
    thread.join();
  }
  size_t count(const std::string& prefix) {
    std::lock_guard lock(mu);
    return std::count_if(requests.begin(), requests.end(),
                         [&](const std::string& r) { return r.starts_with(prefix); });
  }
};

struct Watched {
  ScriptedApi api;
  std::unique_ptr<PodWatcher> watcher;

  void start() {
    KubeCredentials creds;
    creds.server = "http://127.0.0.1:" + std::to_string(api.port);
    PodWatcherOptions opts;
    opts.node_name = "n1";
    opts.watch_window = std::chrono::seconds(1);
    opts.backoff_min = 10ms;
    opts.backoff_max = 50ms;
    watcher = std::make_unique<PodWatcher>(creds, opts, nullLogger(), nullptr);
    watcher->start();
  }
  std::set<std::string> uids() {
    std::set<std::string> out;
    for (const auto& p : watcher->snapshot()) out.insert(p.uid);
    return out;
  }
};

}  // namespace

TEST_CASE("list then watch: added, modified and deleted pods become changes") {
  Watched w;
  w.api.lists.push_back({200, listJson("10", {podJson("a", "10"), podJson("b", "10")})});
  w.api.watches.push_back(
      {200,
       R"({"type":"ADDED","object":)" + podJson("c", "11") + "}\n" +
           R"({"type":"MODIFIED","object":)" + podJson("a", "12", false) + "}\n" +
           R"({"type":"DELETED","object":)" + podJson("b", "13") + "}\n" +
           R"({"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"20"}}})" +
           "\n"});
  w.start();
  REQUIRE(testing::waitUntil([&] { return w.uids() == std::set<std::string>{"a", "c"}; }, 5s));
  auto changes = w.watcher->drainChanges();
  std::set<std::string> upserted;
  for (const auto& p : changes.upserted) upserted.insert(p.uid);
  CHECK(upserted == std::set<std::string>{"a", "c"});
  CHECK(changes.removed_uids == std::vector<std::string>{"b"});
  for (const auto& p : w.watcher->snapshot()) {
    if (p.uid == "a") CHECK_FALSE(p.ready);
  }
  // The next watch resumes from the bookmark, not from a relist.
  REQUIRE(testing::waitUntil([&] { return w.api.count("watch rv=20") >= 1; }, 5s));
  CHECK(w.api.count("list") == 1);
  REQUIRE(w.watcher->node().has_value());
  CHECK(w.watcher->node()->zone == "z1");
}

TEST_CASE("a 410 Expired watch event makes the watcher relist") {
  Watched w;
  w.api.lists.push_back({200, listJson("10", {podJson("a", "10")})});
  w.api.watches.push_back(
      {200,
       R"J({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 10 (50)","reason":"Expired","code":410}})J"
       "\n"});
  w.api.lists.push_back({200, listJson("60", {podJson("z", "60")})});
  w.start();
  REQUIRE(testing::waitUntil([&] { return w.uids() == std::set<std::string>{"z"}; }, 5s));
  CHECK(w.watcher->stats().relists_gone == 1);
  CHECK(w.api.count("list") == 2);
  auto changes = w.watcher->drainChanges();
  CHECK(changes.removed_uids == std::vector<std::string>{"a"});
}

TEST_CASE("HTTP 410 on the watch request makes the watcher relist") {
  Watched w;
  w.api.lists.push_back({200, listJson("10", {podJson("a", "10")})});
  w.api.watches.push_back(
      {410, R"({"kind":"Status","code":410,"reason":"Gone","message":"gone"})"});
  w.api.lists.push_back({200, listJson("70", {podJson("a", "70"), podJson("y", "70")})});
  w.start();
  REQUIRE(testing::waitUntil([&] { return w.uids().size() == 2; }, 5s));
  CHECK(w.watcher->stats().relists_gone >= 1);
}

TEST_CASE("a 500, then broken JSON, then a good list: errors are counted and retried") {
  Watched w;
  w.api.lists.push_back({500, R"({"kind":"Status","code":500,"message":"etcdserver: timeout"})"});
  w.api.lists.push_back({200, R"({"kind":"PodList","items":[{"metadata":)"});
  w.api.lists.push_back({200, listJson("5", {podJson("a", "5")})});
  w.start();
  REQUIRE(testing::waitUntil([&] { return w.watcher->stats().synced; }, 5s));
  CHECK(w.uids() == std::set<std::string>{"a"});
  CHECK(w.watcher->stats().errors >= 2);
}

TEST_CASE("an undecodable watch event makes the watcher relist") {
  Watched w;
  w.api.lists.push_back({200, listJson("10", {podJson("a", "10")})});
  w.api.watches.push_back({200, "{\"type\":\"ADDED\",\"object\":{\"metadata\":\n"});
  w.api.lists.push_back({200, listJson("11", {podJson("b", "11")})});
  w.start();
  REQUIRE(testing::waitUntil([&] { return w.uids() == std::set<std::string>{"b"}; }, 5s));
  CHECK(w.watcher->stats().errors >= 1);
}

TEST_CASE("an unreachable API server is retried without a crash") {
  KubeCredentials creds;
  creds.server = "http://127.0.0.1:1";
  PodWatcherOptions opts;
  opts.node_name = "n1";
  opts.backoff_min = 10ms;
  opts.backoff_max = 20ms;
  PodWatcher watcher(creds, opts, nullLogger(), nullptr);
  watcher.start();
  REQUIRE(testing::waitUntil([&] { return watcher.stats().errors >= 3; }, 5s));
  CHECK_FALSE(watcher.stats().synced);
  CHECK_FALSE(watcher.podsKnown());  // an empty snapshot, but not "no pods"
  watcher.stop();
}

TEST_CASE("the pods are known from the first successful list on, an empty one too") {
  Watched w;
  w.api.lists.push_back({500, R"({"kind":"Status","code":500,"message":"etcdserver: timeout"})"});
  w.api.lists.push_back({200, listJson("5", {})});
  w.start();
  REQUIRE(testing::waitUntil([&] { return w.watcher->stats().errors >= 1; }, 5s));
  REQUIRE(testing::waitUntil([&] { return w.watcher->stats().lists >= 1; }, 5s));
  CHECK(w.watcher->podsKnown());  // known: the node has no pods
  CHECK(w.uids().empty());
}
