#include <doctest/doctest.h>

#include "k8s_test_util.h"
#include "rampart/k8s_json.h"
#include "rampart/time.h"

using namespace rampart;
using namespace rampart::k8s;
using namespace rampart::k8s::testutil;

namespace {

PodList podList(const std::string& file) {
  auto r = decodePodList(fixture(file));
  REQUIRE_MESSAGE(r.has_value(), file << ": " << r.error().describe());
  return std::move(*r);
}

}  // namespace

TEST_CASE("EKS kube-system pod list: owners, inferred Deployment, placement, probes") {
  PodList l = podList("apiserver-pods_kube-system_eks-v1.31.json");
  CHECK(l.resource_version == "2575");
  REQUIRE(l.items.size() == 6);

  const Pod* aws = byName(l.items, "aws-node-9t64t");
  REQUIRE(aws != nullptr);
  CHECK(aws->namespace_ == "kube-system");
  CHECK(aws->phase == PodPhase::kRunning);
  CHECK(aws->ready);
  CHECK_FALSE(aws->terminating);
  CHECK(!aws->uid.empty());
  CHECK(!aws->node_name.empty());
  CHECK(!aws->resource_version.empty());
  REQUIRE(aws->owners.size() == 1);
  CHECK(aws->owners[0] == OwnerRef{"DaemonSet", "aws-node", aws->owners[0].uid, true, false});
  CHECK(!aws->owners[0].uid.empty());
  // Init container first; then spec order (aws-node, aws-eks-nodeagent) even
  // though the statuses list aws-eks-nodeagent first.
  REQUIRE(aws->containers.size() == 3);
  CHECK(aws->containers[0].name == "aws-vpc-cni-init");
  CHECK(aws->containers[0].init);
  CHECK(aws->containers[0].state == ContainerState::kTerminated);
  CHECK(aws->containers[0].state_reason == "Completed");
  CHECK(aws->containers[1].name == "aws-node");
  CHECK_FALSE(aws->containers[1].init);
  CHECK(aws->containers[1].probes == ContainerProbes{true, true, false});
  CHECK(aws->containers[1].state == ContainerState::kRunning);
  CHECK(aws->containers[1].ready);
  CHECK(aws->containers[2].name == "aws-eks-nodeagent");
  CHECK(aws->containers[2].probes == ContainerProbes{});
  REQUIRE(aws->placement.node_affinity.has_value());
  CHECK_FALSE(aws->placement.node_affinity->required.empty());
  CHECK(aws->placement.tolerations.size() == 8);

  const Pod* dns = byName(l.items, "coredns-789f8477df-knmwr");
  REQUIRE(dns != nullptr);
  CHECK(dns->created_unix == 1767383904);  // 2026-01-02T19:58:24Z
  CHECK(dns->labels.at("pod-template-hash") == "789f8477df");
  REQUIRE(dns->owners.size() == 2);
  CHECK(dns->owners[0].kind == "ReplicaSet");
  CHECK(dns->owners[0].name == "coredns-789f8477df");
  CHECK_FALSE(dns->owners[0].inferred);
  CHECK(dns->owners[1] == OwnerRef{"Deployment", "coredns", "", true, true});

  const PlacementSpec& p = dns->placement;
  REQUIRE(p.node_affinity.has_value());
  REQUIRE(p.node_affinity->required.size() == 1);
  const NodeSelectorTerm& term = p.node_affinity->required[0];
  REQUIRE(term.match_expressions.size() == 2);
  CHECK(term.match_expressions[0] == NodeSelectorRequirement{"kubernetes.io/os", "In", {"linux"}});
  CHECK(term.match_expressions[1] ==
        NodeSelectorRequirement{"kubernetes.io/arch", "In", {"amd64", "arm64"}});
  CHECK_FALSE(p.pod_affinity.has_value());
  REQUIRE(p.pod_anti_affinity.has_value());
  CHECK(p.pod_anti_affinity->required.empty());
  REQUIRE(p.pod_anti_affinity->preferred.size() == 1);
  const WeightedPodAffinityTerm& w = p.pod_anti_affinity->preferred[0];
  CHECK(w.weight == 100);
  CHECK(w.term.topology_key == "kubernetes.io/hostname");
  REQUIRE(w.term.label_selector.has_value());
  CHECK(w.term.label_selector->match_expressions ==
        std::vector<LabelSelectorRequirement>{{"k8s-app", "In", {"kube-dns"}}});
  CHECK_FALSE(w.term.namespace_selector.has_value());
  REQUIRE(p.topology_spread.size() == 1);
  const TopologySpreadConstraint& c = p.topology_spread[0];
  CHECK(c.max_skew == 1);
  CHECK(c.topology_key == "topology.kubernetes.io/zone");
  CHECK(c.when_unsatisfiable == "ScheduleAnyway");
  REQUIRE(c.label_selector.has_value());
  CHECK(c.label_selector->match_labels == Labels{{"k8s-app", "kube-dns"}});
  CHECK_FALSE(c.min_domains.has_value());
  REQUIRE(p.tolerations.size() == 4);
  CHECK(p.tolerations[0] ==
        Toleration{"node-role.kubernetes.io/control-plane", "", "", "NoSchedule", std::nullopt});
  CHECK(p.tolerations[1] == Toleration{"CriticalAddonsOnly", "Exists", "", "", std::nullopt});
  CHECK(p.tolerations[2] ==
        Toleration{"node.kubernetes.io/not-ready", "Exists", "", "NoExecute", 300});
  REQUIRE(dns->containers.size() == 1);
  CHECK(dns->containers[0].probes == ContainerProbes{true, true, false});

  const Pod* proxy = byName(l.items, "kube-proxy-82mb2");
  REQUIRE(proxy != nullptr);
  CHECK(proxy->owners.size() == 1);
  CHECK(proxy->owners[0].kind == "DaemonSet");
  CHECK(proxy->containers[0].probes == ContainerProbes{});
}

TEST_CASE("CrashLoopBackOff pod: waiting reason, restarts, last termination") {
  PodList l = podList("apiserver-pods_crashloopbackoff.json");
  CHECK(l.resource_version == "981519");
  REQUIRE(l.items.size() == 1);
  const Pod& p = l.items[0];
  CHECK(p.name == "init-demo");
  CHECK(p.namespace_ == "message-pod-crashloop-backoff");
  CHECK(p.created_unix == 1689046301);  // 2023-07-11T03:31:41Z
  CHECK(p.phase == PodPhase::kRunning);
  CHECK_FALSE(p.ready);
  CHECK(p.owners.empty());
  REQUIRE(p.containers.size() == 1);
  const ContainerStatus& c = p.containers[0];
  CHECK(c.name == "nginx");
  CHECK(c.state == ContainerState::kWaiting);
  CHECK(c.state_reason == "CrashLoopBackOff");
  CHECK(c.restart_count == 4);
  CHECK_FALSE(c.ready);
  CHECK(c.last_termination_reason == "ContainerCannotRun");
  CHECK(c.last_termination_exit_code == 127);
}

TEST_CASE("OOMKilled Job pod") {
  PodList l = podList("apiserver-pods_oomkilled.json");
  REQUIRE(l.items.size() == 1);
  const Pod& p = l.items[0];
  CHECK(p.name == "oom-kill-job3-gbb89");
  CHECK(p.phase == PodPhase::kFailed);
  REQUIRE(p.owners.size() == 1);
  CHECK(p.owners[0].kind == "Job");
  CHECK(p.owners[0].name == "oom-kill-job3");
  REQUIRE(p.containers.size() == 1);
  CHECK(p.containers[0].state == ContainerState::kTerminated);
  CHECK(p.containers[0].state_reason == "OOMKilled");
  CHECK(p.containers[0].restart_count == 0);
  CHECK(p.containers[0].last_termination_reason.empty());
}

TEST_CASE("kubelet /pods (v1.34): no list resourceVersion, static pods, every owner kind") {
  PodList l = podList("kubelet-pods_v1.34_minikube.json");
  CHECK(l.resource_version.empty());
  REQUIRE(l.items.size() == 24);

  int static_pods = 0, failed = 0, succeeded = 0;
  for (const Pod& p : l.items) {
    CHECK_MESSAGE(!p.containers.empty(), p.name);
    if (p.phase == PodPhase::kFailed) ++failed;
    if (p.phase == PodPhase::kSucceeded) ++succeeded;
    if (p.name.ends_with("-datagen-1-34")) {
      ++static_pods;
      CHECK_MESSAGE(p.owners.empty(), p.name);
    }
  }
  CHECK(static_pods == 4);
  CHECK(failed == 4);
  CHECK(succeeded == 1);

  const Pod* sched = byName(l.items, "kube-scheduler-datagen-1-34");
  REQUIRE(sched != nullptr);
  CHECK(sched->created_unix == 0);  // "creationTimestamp": null on the kubelet's static pod
  CHECK(sched->containers[0].probes == ContainerProbes{true, true, true});

  const Pod* crash = byName(l.items, "e2e-container-creating");
  REQUIRE(crash != nullptr);
  CHECK(crash->containers[0].state == ContainerState::kWaiting);
  CHECK(crash->containers[0].state_reason == "CrashLoopBackOff");
  CHECK(crash->containers[0].restart_count == 2);
  CHECK(crash->containers[0].last_termination_reason == "Completed");
  CHECK(crash->containers[0].last_termination_exit_code == 0);

  const Pod* ds = byName(l.items, "kindnet-zqk2n");
  REQUIRE(ds != nullptr);
  REQUIRE(ds->owners.size() == 1);
  CHECK(ds->owners[0].kind == "DaemonSet");
  REQUIRE(ds->placement.node_affinity.has_value());
  REQUIRE(ds->placement.node_affinity->required.size() == 1);
  CHECK(ds->placement.node_affinity->required[0].match_fields ==
        std::vector<NodeSelectorRequirement>{{"metadata.name", "In", {"datagen-1-34"}}});
  REQUIRE(ds->placement.tolerations.size() == 8);
  CHECK(ds->placement.tolerations[0] == Toleration{"", "Exists", "", "NoSchedule", std::nullopt});

  const Pod* sts = byName(l.items, "e2e-statefulset-0");
  REQUIRE(sts != nullptr);
  CHECK(sts->owners[0].kind == "StatefulSet");
  CHECK(sts->pvc_names == std::vector<std::string>{"e2e-pv-claim"});

  const Pod* deploy = byName(l.items, "e2e-deployment-6fb786454b-mrr5s");
  REQUIRE(deploy != nullptr);
  REQUIRE(deploy->owners.size() == 2);
  CHECK(deploy->owners[1] == OwnerRef{"Deployment", "e2e-deployment", "", true, true});

  // A Job owned by a CronJob: the CronJob cannot be inferred from the pod.
  const Pod* cron = byName(l.items, "e2e-cronjob-29472159-pvnhf");
  REQUIRE(cron != nullptr);
  REQUIRE(cron->owners.size() == 1);
  CHECK(cron->owners[0].kind == "Job");
  CHECK(cron->phase == PodPhase::kSucceeded);

  const Pod* with_sel = byName(l.items, "coredns-66bc5c9577-d98t2");
  REQUIRE(with_sel != nullptr);
  CHECK(with_sel->placement.node_selector == Labels{{"kubernetes.io/os", "linux"}});
}

TEST_CASE("kubelet with no pods answers items: null") {
  PodList l = podList("kubelet-pods_empty_items-null.json");
  CHECK(l.items.empty());
  CHECK(l.resource_version.empty());
  auto missing = decodePodList(R"({"kind":"PodList","metadata":{"resourceVersion":"7"}})");
  REQUIRE(missing.has_value());
  CHECK(missing->items.empty());
  CHECK(missing->resource_version == "7");
  auto empty = decodePodList(R"({"items":[]})");
  REQUIRE(empty.has_value());
  CHECK(empty->items.empty());
}

TEST_CASE("decodePod on a single list item equals the list's decoding") {
  const std::string file = "apiserver-pods_kube-system_eks-v1.31.json";
  PodList l = podList(file);
  for (size_t i = 0; i < l.items.size(); ++i) {
    auto p = decodePod(listItem(file, i));
    REQUIRE_MESSAGE(p.has_value(), p.error().describe());
    CHECK(*p == l.items[i]);
  }
}

TEST_CASE("every placement field decodes") {
  const char* json = R"({
    "metadata": {"name": "p", "namespace": "ns", "uid": "u1", "resourceVersion": "42",
      "labels": {"app": "web", "pod-template-hash": "abc"},
      "creationTimestamp": "2000-02-29T12:34:56Z",
      "deletionTimestamp": "2000-02-29T12:40:00Z",
      "ownerReferences": [
        {"apiVersion": "v1", "kind": "Other", "name": "o", "uid": "u-o"},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc", "uid": "u-rs",
         "controller": true, "blockOwnerDeletion": true}]},
    "spec": {
      "nodeName": "n1",
      "nodeSelector": {"disk": "ssd"},
      "affinity": {
        "nodeAffinity": {
          "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 7, "preference": {"matchExpressions": [{"key": "z", "operator": "Gt", "values": ["3"]}]}}]},
        "podAffinity": {
          "requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "db"}}, "namespaces": ["a", "b"],
             "namespaceSelector": {}, "topologyKey": "zone",
             "matchLabelKeys": ["pod-template-hash"], "mismatchLabelKeys": ["tenant"]}]},
        "podAntiAffinity": {
          "requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]},
             "topologyKey": "kubernetes.io/hostname"}]}},
      "topologySpreadConstraints": [
        {"maxSkew": 2, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
         "labelSelector": {"matchLabels": {"app": "web"}}, "minDomains": 3,
         "nodeAffinityPolicy": "Ignore", "nodeTaintsPolicy": "Honor",
         "matchLabelKeys": ["pod-template-hash"]}],
      "tolerations": [{"key": "k", "operator": "Equal", "value": "v", "effect": "NoExecute",
                       "tolerationSeconds": 60}],
      "volumes": [{"name": "a", "persistentVolumeClaim": {"claimName": "data-0"}},
                  {"name": "b", "emptyDir": {}},
                  {"name": "c", "persistentVolumeClaim": {"claimName": "logs-0", "readOnly": true}}],
      "initContainers": [{"name": "setup"}],
      "containers": [{"name": "app", "startupProbe": {"exec": {}}}, {"name": "sidecar"}]},
    "status": {"phase": "Pending",
      "conditions": [{"type": "Ready", "status": "False"}],
      "initContainerStatuses": [{"name": "setup", "ready": false, "restartCount": 3,
        "state": {"running": {}}}],
      "containerStatuses": [{"name": "app", "ready": false, "restartCount": 0,
        "state": {"waiting": {"reason": "PodInitializing"}}}]}})";
  auto r = decodePod(json);
  REQUIRE_MESSAGE(r.has_value(), r.error().describe());
  const Pod& p = *r;
  CHECK(p.uid == "u1");
  CHECK(p.resource_version == "42");
  CHECK(p.terminating);
  CHECK(p.created_unix == 951827696);
  CHECK(p.phase == PodPhase::kPending);
  CHECK_FALSE(p.ready);
  CHECK(p.node_name == "n1");
  REQUIRE(p.owners.size() == 3);
  CHECK(p.owners[0].kind == "ReplicaSet");
  CHECK(p.owners[0].controller);
  CHECK(p.owners[1].kind == "Other");
  CHECK(p.owners[2] == OwnerRef{"Deployment", "web", "", true, true});
  CHECK(p.pvc_names == std::vector<std::string>{"data-0", "logs-0"});

  PlacementSpec want;
  want.node_selector = {{"disk", "ssd"}};
  want.node_affinity.emplace().preferred.push_back(
      PreferredSchedulingTerm{7, NodeSelectorTerm{{{"z", "Gt", {"3"}}}, {}}});
  PodAffinityTerm aff;
  aff.label_selector = LabelSelector{{{"app", "db"}}, {}};
  aff.namespaces = {"a", "b"};
  aff.namespace_selector = LabelSelector{};
  aff.topology_key = "zone";
  aff.match_label_keys = {"pod-template-hash"};
  aff.mismatch_label_keys = {"tenant"};
  want.pod_affinity.emplace().required.push_back(aff);
  PodAffinityTerm anti;
  anti.label_selector = LabelSelector{{}, {{"app", "Exists", {}}}};
  anti.topology_key = "kubernetes.io/hostname";
  want.pod_anti_affinity.emplace().required.push_back(anti);
  want.topology_spread.push_back(TopologySpreadConstraint{2,
                                                          "zone",
                                                          "DoNotSchedule",
                                                          LabelSelector{{{"app", "web"}}, {}},
                                                          3,
                                                          "Ignore",
                                                          "Honor",
                                                          {"pod-template-hash"}});
  want.tolerations.push_back(Toleration{"k", "Equal", "v", "NoExecute", 60});
  CHECK(p.placement == want);

  REQUIRE(p.containers.size() == 3);
  CHECK(p.containers[0].name == "setup");
  CHECK(p.containers[0].init);
  CHECK(p.containers[0].restart_count == 3);
  CHECK(p.containers[0].state == ContainerState::kRunning);
  CHECK(p.containers[1].name == "app");
  CHECK(p.containers[1].probes == ContainerProbes{false, false, true});
  CHECK(p.containers[1].state == ContainerState::kWaiting);
  CHECK(p.containers[1].state_reason == "PodInitializing");
  // No status yet: still listed, state unknown.
  CHECK(p.containers[2].name == "sidecar");
  CHECK(p.containers[2].state == ContainerState::kUnknown);
  CHECK_FALSE(p.containers[2].init);
}

TEST_CASE("Deployment inference needs the pod-template-hash suffix") {
  auto decode = [](const std::string& labels, const std::string& rs) {
    auto r = decodePod(R"({"metadata":{"name":"x","labels":)" + labels +
                       R"(,"ownerReferences":[{"kind":"ReplicaSet","name":")" + rs +
                       R"(","controller":true}]}})");
    REQUIRE_MESSAGE(r.has_value(), r.error().describe());
    return r->owners;
  };
  CHECK(decode(R"({"pod-template-hash":"h1"})", "web-h1").size() == 2);
  CHECK(decode(R"({"pod-template-hash":"h1"})", "web-h2").size() == 1);
  CHECK(decode(R"({"pod-template-hash":"h1"})", "webh1").size() == 1);
  CHECK(decode(R"({"pod-template-hash":"h1"})", "-h1").size() == 1);
  CHECK(decode(R"({})", "web-h1").size() == 1);
  // Not the controller: no inference.
  auto r = decodePod(
      R"({"metadata":{"labels":{"pod-template-hash":"h"},"ownerReferences":[{"kind":"ReplicaSet","name":"a-h"}]}})");
  REQUIRE(r.has_value());
  CHECK(r->owners.size() == 1);
}

TEST_CASE("phases") {
  struct Case {
    const char* phase;
    PodPhase want;
  };
  for (Case c : {Case{"Pending", PodPhase::kPending}, Case{"Running", PodPhase::kRunning},
                 Case{"Succeeded", PodPhase::kSucceeded}, Case{"Failed", PodPhase::kFailed},
                 Case{"Unknown", PodPhase::kUnknown}, Case{"Weird", PodPhase::kUnknown}}) {
    auto r = decodePod(std::string(R"({"status":{"phase":")") + c.phase + R"("}})");
    REQUIRE(r.has_value());
    CHECK_MESSAGE(r->phase == c.want, c.phase);
  }
}
