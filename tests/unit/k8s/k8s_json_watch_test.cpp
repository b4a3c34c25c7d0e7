#include <doctest/doctest.h>

#include <sstream>

#include "k8s_test_util.h"
#include "rampart/k8s_json.h"

using namespace rampart;
using namespace rampart::k8s;
using namespace rampart::k8s::testutil;

TEST_CASE("kind watch stream: every line decodes, graceful delete sequence") {
  std::istringstream in(fixture("apiserver-watch-pods_kind_graceful-delete.ndjson"));
  std::vector<WatchEvent<Pod>> events;
  std::string line;
  while (std::getline(in, line)) {
    auto ev = decodePodWatchEvent(line);
    REQUIRE_MESSAGE(ev.has_value(), "line " << events.size() + 1 << ": " << ev.error().describe());
    events.push_back(std::move(*ev));
  }
  REQUIRE(events.size() == 6);

  struct Want {
    WatchEventType type;
    const char* name;
    const char* rv;
    bool terminating;
    ContainerState state;
  };
  const Want want[] = {
      {WatchEventType::kAdded, "network-tool1", "744176", false, ContainerState::kRunning},
      {WatchEventType::kAdded, "network-tool", "744186", false, ContainerState::kRunning},
      {WatchEventType::kModified, "network-tool", "759935", true, ContainerState::kRunning},
      {WatchEventType::kModified, "network-tool", "760008", true, ContainerState::kTerminated},
      {WatchEventType::kModified, "network-tool", "760031", true, ContainerState::kTerminated},
      {WatchEventType::kDeleted, "network-tool", "760032", true, ContainerState::kTerminated},
  };
  for (size_t i = 0; i < events.size(); ++i) {
    CAPTURE(i);
    const WatchEvent<Pod>& e = events[i];
    CHECK(e.type == want[i].type);
    CHECK(e.object.name == want[i].name);
    CHECK(e.object.namespace_ == "default");
    CHECK(e.resource_version == want[i].rv);
    CHECK(e.object.resource_version == want[i].rv);
    CHECK(e.object.terminating == want[i].terminating);
    REQUIRE(e.object.containers.size() == 1);
    const ContainerStatus& c = e.object.containers[0];
    CHECK(c.state == want[i].state);
    CHECK(c.restart_count == 1);
    CHECK(c.last_termination_reason == "Unknown");
    CHECK(c.last_termination_exit_code == 255);
  }
}

TEST_CASE("watch ERROR carries a metav1.Status (410 Expired / Gone)") {
  for (const char* reason : {"Expired", "Gone"}) {
    std::string line =
        std::string(
            R"j({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 185325401 (185325402)","reason":")j") +
        reason + R"j(","code":410}})j" + "\n";
    auto ev = decodePodWatchEvent(line);
    REQUIRE_MESSAGE(ev.has_value(), ev.error().describe());
    CHECK(ev->type == WatchEventType::kError);
    CHECK(ev->status.code == 410);
    CHECK(ev->status.reason == reason);
    CHECK(ev->status.message == "too old resource version: 185325401 (185325402)");
    CHECK(ev->resource_version.empty());
    auto nev = decodeNodeWatchEvent(line);
    REQUIRE(nev.has_value());
    CHECK(nev->status.code == 410);
  }
}

TEST_CASE("watch BOOKMARK carries only a resourceVersion") {
  auto ev = decodePodWatchEvent(
      R"({"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"12345","annotations":{"k8s.io/initial-events-end":"true"}}}})");
  REQUIRE_MESSAGE(ev.has_value(), ev.error().describe());
  CHECK(ev->type == WatchEventType::kBookmark);
  CHECK(ev->resource_version == "12345");
  CHECK(ev->object.name.empty());
}

TEST_CASE("node watch event") {
  auto ev = decodeNodeWatchEvent(
      R"({"type":"MODIFIED","object":{"kind":"Node","apiVersion":"v1","metadata":{"name":"n1","resourceVersion":"77","labels":{"topology.kubernetes.io/zone":"a"}},"spec":{"unschedulable":true}}})"
      "\r\n");
  REQUIRE_MESSAGE(ev.has_value(), ev.error().describe());
  CHECK(ev->type == WatchEventType::kModified);
  CHECK(ev->object.name == "n1");
  CHECK(ev->object.zone == "a");
  CHECK(ev->object.unschedulable);
  CHECK(ev->resource_version == "77");
}

TEST_CASE("watch event with object before type still decodes") {
  auto ev = decodePodWatchEvent(
      R"({"object":{"metadata":{"name":"p","resourceVersion":"5"}},"type":"DELETED"})");
  REQUIRE_MESSAGE(ev.has_value(), ev.error().describe());
  CHECK(ev->type == WatchEventType::kDeleted);
  CHECK(ev->object.name == "p");
  CHECK(ev->resource_version == "5");
  auto err = decodePodWatchEvent(R"({"object":{"code":410,"reason":"Expired"},"type":"ERROR"})");
  REQUIRE(err.has_value());
  CHECK(err->status.code == 410);
}

TEST_CASE("bad watch events") {
  for (const char* bad :
       {R"({"type":"ADDED"})", R"({"object":{}})", R"({"type":"RESYNC","object":{}})",
        R"({"type":7,"object":{}})", R"({"type":"ADDED","object":null})",
        R"({"type":"ADDED","object":{}}{"type":"ADDED","object":{}})"}) {
    auto ev = decodePodWatchEvent(bad);
    CHECK_MESSAGE(!ev.has_value(), bad);
    if (!ev) CHECK(ev.error().code == ErrorCode::kParse);
  }
}
