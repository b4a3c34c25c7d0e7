// Pod-level checks (pod.*, run through checkWorkloads): readiness, crash
// loops, OOM kills, restarts, bare pods; with the real CrashLoopBackOff and
// OOMKilled pod fixtures. docs/checks.md, "HA/DR checks".
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "engine_index.h"
#include "engine_test_util.h"
#include "rampart/k8s_json.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::engine;
using namespace rampart::engine::testutil;

namespace {

std::vector<Finding> run(const Snapshot& snapshot, const Options& options = {}) {
  Index index(snapshot, options);
  std::vector<Finding> out;
  checkWorkloads(index, out);
  return out;
}

}  // namespace

TEST_CASE("pod-level checks: not ready, restarts, bare pods") {
  struct Row {
    const char* name;
    bool node_ready;
    bool node_silent;
    std::string node;  // "" = unscheduled
    PodPhase phase;
    bool ready;
    int32_t restarts;
    std::string owner_kind;
    Labels labels;
    std::set<std::string> want;
  };
  const Row rows[] = {
      {"not ready on a Ready node",
       true,
       false,
       "n1",
       PodPhase::kRunning,
       false,
       0,
       "ReplicaSet",
       {},
       {"pod.not-ready"}},
      {"not ready on a NotReady node: the node's finding",
       false,
       false,
       "n1",
       PodPhase::kRunning,
       false,
       0,
       "ReplicaSet",
       {},
       {}},
      {"not ready on a silent node: the node's finding",
       true,
       true,
       "n1",
       PodPhase::kRunning,
       false,
       0,
       "ReplicaSet",
       {},
       {}},
      {"Pending, unscheduled",
       true,
       false,
       "",
       PodPhase::kPending,
       false,
       0,
       "ReplicaSet",
       {},
       {"pod.not-ready"}},
      {"restarts one below the threshold",
       true,
       false,
       "n1",
       PodPhase::kRunning,
       true,
       4,
       "ReplicaSet",
       {},
       {}},
      {"restarts at the threshold",
       true,
       false,
       "n1",
       PodPhase::kRunning,
       true,
       5,
       "ReplicaSet",
       {},
       {"pod.restarts"}},
      {"bare pod", true, false, "n1", PodPhase::kRunning, true, 0, "", {}, {"pod.bare"}},
      {"static pod (owned by its Node)",
       true,
       false,
       "n1",
       PodPhase::kRunning,
       true,
       0,
       "Node",
       {},
       {}},
      {"control-plane pod seen without its Node owner",
       true,
       false,
       "n1",
       PodPhase::kRunning,
       true,
       0,
       "",
       {{"component", "kube-scheduler"}, {"tier", "control-plane"}},
       {}},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    Snapshot s;
    s.nodes = {makeNode("n1", "a")};
    if (!row.node_ready) s.nodes[0].conditions[0].status = "False";
    if (row.node_silent) s.silent_nodes.insert("n1");
    const std::string ns = row.labels.empty() ? "shop" : "kube-system";
    Pod p = makePod(ns, "payments-7d9f-abc", row.node, row.labels, row.owner_kind,
                    row.owner_kind == "Node" ? "n1" : "payments-7d9f");
    p.phase = row.phase;
    p.ready = row.ready;
    p.containers = {makeContainer("app", row.ready)};
    p.containers[0].restart_count = row.restarts;
    s.pods = {p};
    std::set<std::string> got;
    for (const std::string& id : ids(run(s))) {
      if (id.starts_with("pod.")) got.insert(id);
    }
    CHECK(got == row.want);
  }
}

TEST_CASE("pod-level findings: messages and details") {
  Snapshot s;
  s.nodes = {makeNode("n1", "a")};
  Pod p = makePod("shop", "payments-7d9f-abc", "n1", {{"app", "payments"}}, "ReplicaSet",
                  "payments-7d9f");
  p.ready = false;
  p.containers = {makeContainer("app", false)};
  p.containers[0].restart_count = 9;
  p.containers[0].last_termination_reason = "OOMKilled";
  p.containers[0].last_termination_exit_code = 137;
  s.pods = {p};
  Pod unscheduled = makePod("shop", "queued", "", {}, "ReplicaSet", "queued-1");
  unscheduled.phase = PodPhase::kPending;
  unscheduled.ready = false;
  s.pods.push_back(unscheduled);
  Options o;
  o.restart_threshold = 9;
  std::vector<Finding> all = run(s, o);

  auto nr = findingsOf(all, "pod.not-ready");
  REQUIRE(nr.size() == 2);
  CHECK(nr[0].severity == Severity::kHigh);
  CHECK(nr[0].subject == ObjectRef{"Pod", "shop", "payments-7d9f-abc"});
  CHECK(nr[0].workload == ObjectRef{"Deployment", "shop", "payments"});
  CHECK(nr[0].message ==
        "container app of shop/payments-7d9f-abc is not ready (Running, 0/1 containers ready)");
  CHECK(nr[0].details["phase"] == "Running");
  CHECK(nr[0].details["containers_not_ready"] == nlohmann::ordered_json::array({"app"}));
  CHECK(nr[0].node == "n1");
  CHECK(nr[0].zone == "a");
  CHECK(nr[1].message == "pod shop/queued is not ready (Pending, not scheduled to a node)");
  CHECK(nr[1].details["containers_not_ready"] == nlohmann::ordered_json::array());

  auto oom = findingsOf(all, "pod.oomkilled");
  REQUIRE(oom.size() == 1);
  CHECK(oom[0].severity == Severity::kMedium);
  CHECK(oom[0].details["containers"] == nlohmann::ordered_json::array({"app"}));
  CHECK(oom[0].details["exit_code"] == 137);

  auto rs = findingsOf(all, "pod.restarts");
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].severity == Severity::kLow);
  CHECK(rs[0].details["restarts"] == 9);
  CHECK(rs[0].details["threshold"] == 9);
  CHECK(rs[0].message ==
        "container app of shop/payments-7d9f-abc has restarted 9 times (threshold 9)");

  Snapshot b;
  b.nodes = {makeNode("n1", "a")};
  b.pods = {makePod("shop", "debug", "n1")};
  auto bare = findingsOf(run(b), "pod.bare");
  REQUIRE(bare.size() == 1);
  CHECK(bare[0].severity == Severity::kMedium);
  CHECK(bare[0].subject == ObjectRef{"Pod", "shop", "debug"});
  CHECK(bare[0].workload == ObjectRef{"Pod", "shop", "debug"});
  CHECK(bare[0].message ==
        "shop/debug has no controller: it will not be recreated if its node fails or it is "
        "evicted");
}

TEST_CASE("real pods: CrashLoopBackOff and OOMKilled fixtures") {
  auto fixture = [](const std::string& name) {
    return rampart::testing::readFile(rampart::testing::testData("k8s/" + name));
  };
  auto crash = k8s::decodePodList(fixture("apiserver-pods_crashloopbackoff.json"));
  REQUIRE(crash.has_value());
  Snapshot s;
  s.nodes = {makeNode("minikube")};
  s.pods = crash->items;
  std::vector<Finding> all = run(s);
  auto cl = findingsOf(all, "pod.crashloop");
  REQUIRE(cl.size() == 1);
  CHECK(cl[0].severity == Severity::kHigh);
  CHECK(cl[0].subject == ObjectRef{"Pod", "message-pod-crashloop-backoff", "init-demo"});
  CHECK(cl[0].details["containers"] == nlohmann::ordered_json::array({"nginx"}));
  CHECK(cl[0].details["restarts"] == 4);
  CHECK(cl[0].message ==
        "container nginx of message-pod-crashloop-backoff/init-demo is in CrashLoopBackOff (4 "
        "restarts)");
  // It has no owner: a bare pod, and its own (down) workload.
  CHECK(findingsOf(all, "pod.bare").size() == 1);
  CHECK(findingsOf(all, "pod.not-ready").size() == 1);
  CHECK(findingsOf(all, "workload.unavailable").size() == 1);
  CHECK(findingsOf(all, "pod.oomkilled").empty());

  auto oom = k8s::decodePodList(fixture("apiserver-pods_oomkilled.json"));
  REQUIRE(oom.has_value());
  Snapshot o;
  o.nodes = {makeNode("minikube")};
  o.pods = oom->items;
  all = run(o);
  auto f = findingsOf(all, "pod.oomkilled");
  REQUIRE(f.size() == 1);  // a Failed Job pod: OOMKilled is why it failed
  CHECK(f[0].severity == Severity::kMedium);
  CHECK(f[0].subject == ObjectRef{"Pod", "message-oomkill-pod", "oom-kill-job3-gbb89"});
  CHECK(f[0].workload == ObjectRef{"Job", "message-oomkill-pod", "oom-kill-job3"});
  CHECK(f[0].details["containers"] == nlohmann::ordered_json::array({"memory-eater"}));
  CHECK(f[0].details["exit_code"].is_null());  // the model keeps only lastState's exit code
  CHECK(f[0].message ==
        "container memory-eater of message-oomkill-pod/oom-kill-job3-gbb89 was OOMKilled "
        "(Failed): the kernel killed it for exceeding its memory limit");
  CHECK(findingsOf(all, "pod.not-ready").empty());  // a Failed pod is not active
}
