// decodeObjects(): every recorded list fixture and the hand-written kubectl
// `v1 List` tests/data/k8s/mixed-list.json (one item of every kind, a pod with
// a bad field, ConfigMaps and a non-Velero Schedule to skip; made for these
// tests, sorted keys and 4-space indent as kubectl prints them), list shapes
// and defaults. Errors, truncation and item recovery: k8s_objects_malformed_test.cpp.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "k8s_json_decode_objects.h"
#include "k8s_objects_test_util.h"
#include "rampart/k8s_json.h"
#include "rampart/k8s_objects.h"

using namespace rampart;
using namespace rampart::k8s;
using namespace rampart::k8s::testutil;

TEST_CASE("every fixture decodes into the expected kinds and counts") {
  struct Case {
    const char* file;
    size_t nodes, pods, workloads, pdbs, backups;
  };
  const Case cases[] = {
      {"apiserver-daemonsets_kube-system_eks-v1.31.json", 0, 0, 2, 0, 0},
      {"apiserver-deployments_kube-system_eks-v1.31.json", 0, 0, 1, 0, 0},
      {"apiserver-deployments_partially-ready_kurl.json", 0, 0, 4, 0, 0},
      {"apiserver-nodes_eks-v1.31_2zones.json", 2, 0, 0, 0, 0},
      {"apiserver-nodes_mixed-versions_7nodes.json", 7, 0, 0, 0, 0},
      {"apiserver-pods_crashloopbackoff.json", 0, 1, 0, 0, 0},
      {"apiserver-pods_kube-system_eks-v1.31.json", 0, 6, 0, 0, 0},
      {"apiserver-pods_oomkilled.json", 0, 1, 0, 0, 0},
      {"apiserver-replicasets_kube-system_eks-v1.31.json", 0, 0, 1, 0, 0},
      {"apiserver-replicasets_kurl.json", 0, 0, 2, 0, 0},
      {"apiserver-statefulsets_partially-ready_kurl.json", 0, 0, 2, 0, 0},
      {"kubectl-get-pdb-A_List_scaleway-kapsule.json", 0, 0, 0, 4, 0},
      {"kubelet-pods_empty_items-null.json", 0, 0, 0, 0, 0},
      {"kubelet-pods_v1.34_minikube.json", 0, 24, 0, 0, 0},
      {"velero-backup_completed_datamover_v1.18.json", 0, 0, 0, 0, 1},
  };
  for (const Case& c : cases) {
    CAPTURE(c.file);
    Objects o = decodeFixture(c.file);
    CHECK(o.nodes.size() == c.nodes);
    CHECK(o.pods.size() == c.pods);
    CHECK(o.workloads.size() == c.workloads);
    CHECK(o.pdbs.size() == c.pdbs);
    CHECK(o.velero_backups.size() == c.backups);
    CHECK(total(o) == c.nodes + c.pods + c.workloads + c.pdbs + c.backups);
    CHECK(o.velero_seen == (c.backups > 0));
    CHECK_MESSAGE(o.warnings.empty(), joined(o.warnings));
    CHECK(o.skipped == 0);
    CHECK_FALSE(o.partial);
  }
}

TEST_CASE("pods and nodes come out exactly as the single-kind decoders make them") {
  for (const char* file :
       {"apiserver-pods_crashloopbackoff.json", "apiserver-pods_kube-system_eks-v1.31.json",
        "apiserver-pods_oomkilled.json", "kubelet-pods_v1.34_minikube.json"}) {
    CAPTURE(file);
    auto l = decodePodList(fixture(file));
    REQUIRE(l.has_value());
    CHECK(decodeFixture(file).pods == l->items);
  }
  for (const char* file :
       {"apiserver-nodes_eks-v1.31_2zones.json", "apiserver-nodes_mixed-versions_7nodes.json"}) {
    CAPTURE(file);
    auto l = decodeNodeList(fixture(file));
    REQUIRE(l.has_value());
    CHECK(decodeFixture(file).nodes == l->items);
  }
}

TEST_CASE("EKS coredns Deployment: replicas, selector, template placement") {
  Objects o = decodeFixture("apiserver-deployments_kube-system_eks-v1.31.json");
  REQUIRE(o.workloads.size() == 1);
  const Workload& w = o.workloads[0];
  CHECK(w.kind == "Deployment");
  CHECK(w.namespace_ == "kube-system");
  CHECK(w.name == "coredns");
  CHECK(w.uid == "9a889c5f-9da2-4168-84fc-56f462f726e3");
  CHECK(w.labels.at("k8s-app") == "kube-dns");
  CHECK(w.annotations.empty());  // only rampart.io/ keys are kept
  CHECK(w.owners.empty());
  CHECK(w.replicas == 2);
  CHECK(w.ready_replicas == 2);
  CHECK(w.available_replicas == 2);
  REQUIRE(w.selector.has_value());
  CHECK(w.selector->match_labels ==
        Labels{{"eks.amazonaws.com/component", "coredns"}, {"k8s-app", "kube-dns"}});
  CHECK(w.selector->match_expressions.empty());
  CHECK(w.template_labels == w.selector->match_labels);

  const PlacementSpec& p = w.template_placement;
  REQUIRE(p.tolerations.size() == 2);
  CHECK(p.tolerations[0] ==
        Toleration{"node-role.kubernetes.io/control-plane", "", "", "NoSchedule", std::nullopt});
  CHECK(p.tolerations[1] == Toleration{"CriticalAddonsOnly", "Exists", "", "", std::nullopt});
  REQUIRE(p.topology_spread.size() == 1);
  CHECK(p.topology_spread[0].topology_key == "topology.kubernetes.io/zone");
  CHECK(p.topology_spread[0].when_unsatisfiable == "ScheduleAnyway");
  REQUIRE(p.node_affinity.has_value());
  REQUIRE(p.node_affinity->required.size() == 1);
  CHECK(p.node_affinity->required[0].match_expressions[1] ==
        NodeSelectorRequirement{"kubernetes.io/arch", "In", {"amd64", "arm64"}});
  REQUIRE(p.pod_anti_affinity.has_value());
  REQUIRE(p.pod_anti_affinity->preferred.size() == 1);
  CHECK(p.pod_anti_affinity->preferred[0].weight == 100);
  CHECK(p.pod_anti_affinity->preferred[0].term.topology_key == "kubernetes.io/hostname");
  CHECK(w.template_pvc_names.empty());  // a configMap volume only

  // The pods of that Deployment carry the same placement as its template.
  Objects pods = decodeFixture("apiserver-pods_kube-system_eks-v1.31.json");
  const Pod* pod = byName(pods.pods, "coredns-789f8477df-knmwr");
  REQUIRE(pod != nullptr);
  CHECK(pod->placement.tolerations.size() >= p.tolerations.size());
  CHECK(pod->placement.topology_spread == p.topology_spread);
  CHECK(pod->placement.pod_anti_affinity == p.pod_anti_affinity);
}

TEST_CASE("kurl StatefulSets, ReplicaSets and EKS DaemonSets") {
  Objects sts = decodeFixture("apiserver-statefulsets_partially-ready_kurl.json");
  REQUIRE(sts.workloads.size() == 2);
  const Workload* am = byName(sts.workloads, "alertmanager-prometheus-alertmanager");
  const Workload* prom = byName(sts.workloads, "prometheus-k8s");
  REQUIRE(am != nullptr);
  REQUIRE(prom != nullptr);
  CHECK(am->kind == "StatefulSet");
  CHECK(am->replicas == 1);  // spec, not status.replicas (2)
  CHECK(am->ready_replicas == 1);
  CHECK(am->available_replicas == 0);  // absent in this older status
  CHECK(am->volume_claim_templates.empty());
  REQUIRE(am->owners.size() == 1);
  CHECK(am->owners[0] == OwnerRef{"Alertmanager", "prometheus-alertmanager",
                                  "c13bc191-0eb8-4fea-95b2-d78a140a64be", true, false});
  CHECK(prom->volume_claim_templates == std::vector<std::string>{"prometheus-k8s-db"});
  CHECK(prom->template_labels.at("app.kubernetes.io/version") == "2.28.1");
  CHECK(prom->selector->match_labels.at("operator.prometheus.io/shard") == "0");

  Objects rs = decodeFixture("apiserver-replicasets_kurl.json");
  const Workload* proxy = byName(rs.workloads, "kurl-proxy-kotsadm-cf695877c");
  REQUIRE(proxy != nullptr);
  CHECK(proxy->kind == "ReplicaSet");
  CHECK(proxy->replicas == 1);
  CHECK(proxy->ready_replicas == 1);
  CHECK(proxy->available_replicas == 0);  // omitted: 0
  REQUIRE(proxy->owners.size() == 1);
  CHECK(proxy->owners[0].kind == "Deployment");
  CHECK(proxy->owners[0].name == "kurl-proxy-kotsadm");
  CHECK(proxy->owners[0].controller);

  Objects ds = decodeFixture("apiserver-daemonsets_kube-system_eks-v1.31.json");
  REQUIRE(ds.workloads.size() == 2);
  for (const Workload& w : ds.workloads) {
    CAPTURE(w.name);
    CHECK(w.kind == "DaemonSet");
    CHECK(w.replicas == 2);  // status.desiredNumberScheduled
    CHECK(w.ready_replicas == 2);
    CHECK(w.available_replicas == 2);
    CHECK(w.template_placement.tolerations ==
          std::vector<Toleration>{Toleration{"", "Exists", "", "", std::nullopt}});
  }
}

TEST_CASE("kubectl PDB List: int and percent budgets, status") {
  Objects o = decodeFixture("kubectl-get-pdb-A_List_scaleway-kapsule.json");
  REQUIRE(o.pdbs.size() == 4);
  const PodDisruptionBudget& cilium = o.pdbs[0];
  CHECK(cilium.namespace_ == "kube-system");
  CHECK(cilium.name == "cilium-operator");
  CHECK_FALSE(cilium.min_available.has_value());
  CHECK(cilium.max_unavailable == IntOrPercent{1, false});
  CHECK(cilium.selector->match_labels ==
        Labels{{"io.cilium/app", "operator"}, {"name", "cilium-operator"}});
  CHECK(cilium.has_status);
  CHECK(cilium.current_healthy == 1);
  CHECK(cilium.desired_healthy == 0);
  CHECK(cilium.disruptions_allowed == 1);
  CHECK(cilium.expected_pods == 1);

  const PodDisruptionBudget& engine = o.pdbs[1];
  CHECK(engine.name == "qovery-engine");
  CHECK(engine.min_available == IntOrPercent{50, true});
  CHECK_FALSE(engine.max_unavailable.has_value());
  CHECK(engine.current_healthy == 2);
  CHECK(engine.expected_pods == 2);

  const PodDisruptionBudget& blocking = o.pdbs[2];
  CHECK(blocking.min_available == IntOrPercent{1, false});
  CHECK(blocking.disruptions_allowed == 0);
}

TEST_CASE("Velero backup, a single object") {
  Objects o = decodeFixture("velero-backup_completed_datamover_v1.18.json");
  REQUIRE(o.velero_backups.size() == 1);
  const VeleroBackup& b = o.velero_backups[0];
  CHECK(b.namespace_ == "velero");
  CHECK(b.name == "demo");
  CHECK(b.phase == "Completed");
  CHECK(b.schedule_name.empty());          // a manual backup: no velero.io/schedule-name label
  CHECK(b.start_unix == 1777482492);       // 2026-04-29T17:08:12Z
  CHECK(b.completion_unix == 1777482557);  // 2026-04-29T17:09:17Z
  CHECK(b.expiration_unix == 1780074492);  // 2026-05-29T17:08:12Z
  CHECK(b.included_namespaces == std::vector<std::string>{"demo"});
  CHECK(b.excluded_namespaces.empty());
  CHECK_FALSE(b.label_selector.has_value());
  CHECK(o.velero_seen);

  Objects s = decode(
      R"({"apiVersion":"velero.io/v1","kind":"Backup","metadata":{"name":"daily-20261120020031",)"
      R"("namespace":"velero","labels":{"velero.io/schedule-name":"daily"}},"status":{"phase":"PartiallyFailed"}})");
  REQUIRE(s.velero_backups.size() == 1);
  CHECK(s.velero_backups[0].schedule_name == "daily");
  CHECK(s.velero_backups[0].phase == "PartiallyFailed");
  CHECK(s.velero_backups[0].completion_unix == 0);
}

TEST_CASE("mixed kubectl List: every kind, one bad pod, skipped kinds") {
  Objects o = decodeFixture("mixed-list.json");
  CHECK(o.warnings ==
        std::vector<std::string>{
            "items[3] (Pod shop/web-1): spec.containers[0].name: expected string",
            "2 items of kind ConfigMap skipped: not used by the engine",
            "1 item of kind Schedule (example.com/v1) skipped: not used by the engine",
        });
  CHECK(o.skipped == 4);
  CHECK(o.partial);
  CHECK(o.velero_seen);

  REQUIRE(o.namespaces.size() == 1);
  CHECK(o.namespaces[0].name == "shop");
  CHECK(o.namespaces[0].labels.at("team") == "payments");

  REQUIRE(o.nodes.size() == 1);
  CHECK(o.nodes[0].zone == "eu-west-1a");
  CHECK(o.nodes[0].taints == std::vector<Taint>{{"dedicated", "db", "NoSchedule"}});

  REQUIRE(o.pods.size() == 1);
  const Pod& pod = o.pods[0];
  CHECK(pod.name == "web-0");
  CHECK(pod.ready);
  CHECK(pod.pvc_names == std::vector<std::string>{"web-cache"});
  REQUIRE(pod.owners.size() == 2);
  CHECK(pod.owners[1] == OwnerRef{"Deployment", "web", "", true, true});
  REQUIRE(pod.containers.size() == 1);
  CHECK(pod.containers[0].probes.readiness);

  REQUIRE(o.workloads.size() == 7);
  const char* kinds[] = {"Deployment", "StatefulSet", "DaemonSet", "ReplicationController",
                         "Job",        "CronJob",     "ReplicaSet"};
  for (size_t i = 0; i < 7; ++i) CHECK(o.workloads[i].kind == kinds[i]);

  const Workload& web = o.workloads[0];
  CHECK(web.annotations == Labels{{"rampart.io/quorum", "2"}, {"rampart.io/tier", "critical"}});
  CHECK(web.replicas == 3);
  CHECK(web.ready_replicas == 2);
  CHECK(web.available_replicas == 2);
  CHECK(web.template_labels == Labels{{"app", "web"}, {"tier", "front"}});
  CHECK(web.template_placement.node_selector == Labels{{"kubernetes.io/os", "linux"}});
  CHECK(web.template_placement.tolerations[0].toleration_seconds == 300);
  CHECK(web.template_placement.topology_spread[0].when_unsatisfiable == "DoNotSchedule");
  REQUIRE(web.template_placement.pod_anti_affinity.has_value());
  CHECK(web.template_placement.pod_anti_affinity->required[0].topology_key ==
        "kubernetes.io/hostname");
  CHECK(web.template_pvc_names == std::vector<std::string>{"web-cache"});

  const Workload& db = o.workloads[1];
  CHECK(db.replicas == 1);  // spec.replicas omitted
  CHECK(db.selector->match_expressions ==
        std::vector<LabelSelectorRequirement>{{"app", "In", {"db"}}});
  CHECK(db.volume_claim_templates == std::vector<std::string>{"data", "wal"});
  CHECK(db.template_pvc_names == std::vector<std::string>{"db-shared"});

  const Workload& agent = o.workloads[2];
  CHECK(agent.replicas == 3);
  CHECK(agent.ready_replicas == 2);
  CHECK(agent.available_replicas == 2);

  const Workload& rc = o.workloads[3];
  REQUIRE(rc.selector.has_value());
  CHECK(rc.selector->match_labels == Labels{{"app", "legacy"}});
  CHECK(rc.replicas == 2);

  const Workload& job = o.workloads[4];
  CHECK(job.replicas == 2);  // spec.parallelism
  CHECK(job.ready_replicas == 1);
  CHECK(job.selector->match_labels.at("batch.kubernetes.io/controller-uid") == "uid-once");

  const Workload& cron = o.workloads[5];
  CHECK_FALSE(cron.selector.has_value());
  CHECK(cron.replicas == 1);
  CHECK(cron.template_labels == Labels{{"app", "nightly"}});
  CHECK(cron.template_placement.node_selector == Labels{{"pool", "batch"}});

  const Workload& rs = o.workloads[6];
  CHECK(rs.replicas == 0);
  REQUIRE(rs.owners.size() == 2);
  CHECK(rs.owners[0].kind == "Deployment");  // the controller first
  CHECK(rs.owners[1].kind == "Team");

  REQUIRE(o.pdbs.size() == 2);
  CHECK(o.pdbs[0].min_available == IntOrPercent{50, true});
  CHECK(o.pdbs[0].has_status);
  CHECK(o.pdbs[0].disruptions_allowed == 1);
  CHECK(o.pdbs[1].max_unavailable == IntOrPercent{0, false});
  CHECK_FALSE(o.pdbs[1].has_status);

  REQUIRE(o.hpas.size() == 2);
  CHECK(o.hpas[0] == HorizontalPodAutoscaler{"shop", "web", "Deployment", "web", 1, 10});
  CHECK(o.hpas[1] ==
        HorizontalPodAutoscaler{"old", "legacy", "ReplicationController", "legacy", 2, 4});

  REQUIRE(o.services.size() == 2);
  CHECK(o.services[0] == Service{"shop", "web", "ClusterIP", {{"app", "web"}}});
  CHECK(o.services[1] == Service{"shop", "external-db", "LoadBalancer", {}});

  REQUIRE(o.pvcs.size() == 1);
  CHECK(o.pvcs[0] ==
        PersistentVolumeClaim{"shop", "data-db-0", "pvc-0a1b", "gp3", "node-a", "Bound"});

  REQUIRE(o.pvs.size() == 1);
  const PersistentVolume& pv = o.pvs[0];
  CHECK(pv.name == "pvc-0a1b");
  CHECK(pv.claim_namespace == "shop");
  CHECK(pv.claim_name == "data-db-0");
  CHECK(pv.storage_class == "gp3");
  CHECK(pv.labels.at("topology.kubernetes.io/zone") == "eu-west-1a");
  REQUIRE(pv.node_affinity.size() == 1);
  CHECK(
      pv.node_affinity[0].match_expressions ==
      std::vector<NodeSelectorRequirement>{{"topology.kubernetes.io/zone", "In", {"eu-west-1a"}}});

  REQUIRE(o.velero_schedules.size() == 1);
  const VeleroSchedule& s = o.velero_schedules[0];
  CHECK(s.namespace_ == "velero");
  CHECK(s.name == "daily");
  CHECK(s.cron == "0 2 * * *");
  CHECK_FALSE(s.paused);
  CHECK(s.included_namespaces == std::vector<std::string>{"shop", "batch"});
  CHECK(s.excluded_namespaces == std::vector<std::string>{"kube-system"});
  CHECK(s.label_selector->match_labels == Labels{{"backup", "yes"}});
  CHECK(s.last_backup_unix == 1795140031);  // 2026-11-20T02:00:31Z
  CHECK(s.phase == "Enabled");
  CHECK(o.velero_backups.empty());
}

TEST_CASE("decoding item by item from spans gives the same result as the fast path") {
  for (const char* file : kListFixtures) {
    CAPTURE(file);
    std::string json = fixture(file);
    Objects fast, spans;
    REQUIRE(detail::decodeObjects(json, fast, detail::ItemRecovery::kDirectThenSpans));
    REQUIRE(detail::decodeObjects(json, spans, detail::ItemRecovery::kSpans));
    checkSame(fast, spans);
  }
}

TEST_CASE("list shapes: items null, typed lists, sorted keys, single objects") {
  SUBCASE("items: null") {
    Objects o = decodeFixture("kubelet-pods_empty_items-null.json");
    CHECK(total(o) == 0);
    CHECK(o.warnings.empty());
    CHECK_FALSE(o.partial);
  }
  SUBCASE("typed list items take the list's kind, even when items come first") {
    const std::string items = R"([{"metadata":{"name":"a","namespace":"n"},"spec":{"replicas":4}},)"
                              R"({"metadata":{"name":"b","namespace":"n"}}])";
    for (const std::string& json : {
             R"({"kind":"DeploymentList","apiVersion":"apps/v1","metadata":{},"items":)" + items +
                 "}",
             R"({"apiVersion":"apps/v1","items":)" + items +
                 R"(,"kind":"DeploymentList","metadata":{}})",
         }) {
      CAPTURE(json);
      Objects o = decode(json);
      CHECK_MESSAGE(o.warnings.empty(), joined(o.warnings));
      REQUIRE(o.workloads.size() == 2);
      CHECK(o.workloads[0].kind == "Deployment");
      CHECK(o.workloads[0].replicas == 4);
      CHECK(o.workloads[1].replicas == 1);  // default
    }
  }
  SUBCASE("an item's own kind wins over the list's") {
    Objects o = decode(list({R"({"kind":"Service","metadata":{"name":"s"}})"}, "PodList"));
    CHECK(o.pods.empty());
    REQUIRE(o.services.size() == 1);
  }
  SUBCASE("a single object whose kind comes last") {
    Objects o =
        decode(R"({"metadata":{"name":"p","namespace":"n"},"kind":"Pod","apiVersion":"v1"})");
    REQUIRE(o.pods.size() == 1);
    CHECK(o.pods[0].name == "p");
    CHECK(o.warnings.empty());
  }
  SUBCASE("a list item whose kind comes last") {
    Objects o = decode(list({R"({"metadata":{"name":"a"},"kind":"Namespace"})",
                             R"({"kind":"Namespace","metadata":{"name":"b"}})"}));
    CHECK_MESSAGE(o.warnings.empty(), joined(o.warnings));
    REQUIRE(o.namespaces.size() == 2);
    CHECK(o.namespaces[0].name == "a");
    CHECK(o.namespaces[1].name == "b");
  }
  SUBCASE("a single object of a kind the engine does not use") {
    Objects o = decodeFixture("eviction-response_429_pdb-blocked_eks.json");
    CHECK(total(o) == 0);
    CHECK(o.warnings ==
          std::vector<std::string>{"1 item of kind Status skipped: not used by the engine"});
    CHECK(o.skipped == 1);
    CHECK_FALSE(o.partial);
  }
  SUBCASE("a typed list of a kind the engine does not use") {
    Objects o = decode(R"({"kind":"ConfigMapList","apiVersion":"v1","items":[)"
                       R"({"metadata":{"name":"a"}},{"metadata":{"name":"b"}}]})");
    CHECK(o.warnings ==
          std::vector<std::string>{"2 items of kind ConfigMap skipped: not used by the engine"});
    CHECK(o.skipped == 2);
  }
  SUBCASE("documents append") {
    Objects o;
    REQUIRE(decodeObjects(fixture("apiserver-nodes_eks-v1.31_2zones.json"), o));
    REQUIRE(decodeObjects(fixture("apiserver-pods_oomkilled.json"), o));
    REQUIRE(decodeObjects(fixture("apiserver-nodes_mixed-versions_7nodes.json"), o));
    CHECK(o.nodes.size() == 9);
    CHECK(o.pods.size() == 1);
  }
  SUBCASE("trailing content is a warning") {
    const std::string list = fixture("apiserver-pods_oomkilled.json");
    const std::string pod = R"({"kind":"Pod","metadata":{"name":"p"}})";
    const std::string at = std::to_string(list.size());
    struct Case {
      std::string json;
      size_t pods;
      std::string warning;
    };
    const Case cases[] = {
        {list + R"({"kind":"Pod"})", 1, "trailing content after the JSON document at byte " + at},
        {list + "x", 1, "trailing content after the JSON document at byte " + at},
        {list + R"("open)", 1, "trailing content after the JSON document at byte " + at},
        {pod + " 42", 1, "trailing content after the JSON document at byte 39"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.json.substr(c.json.size() - 20));
      Objects o = decode(c.json);
      CHECK(o.pods.size() == c.pods);
      CHECK(o.partial);
      REQUIRE(o.warnings.size() == 1);
      CHECK(o.warnings[0] == c.warning + " ignored");
    }
  }
  SUBCASE("a list broken off after its items keeps them") {
    const std::string list = R"({"kind":"NamespaceList","items":[{"metadata":{"name":"a"}}],"kind)";
    for (size_t cut : {list.size(), list.size() - 5, list.size() - 6}) {
      Objects o = decode(list.substr(0, cut));
      CHECK(o.namespaces.size() == 1);
      CHECK(o.partial);
      REQUIRE(o.warnings.size() == 1);
      CHECK(o.warnings[0].starts_with("document breaks off at byte " + std::to_string(cut)));
    }
    Objects o = decode(R"({"apiVersion":"v1","kind":"NamespaceList","items":)");
    CHECK(o.warnings ==
          std::vector<std::string>{"document breaks off at byte 50 (the input ends before the "
                                   "document does); the items before it are kept"});
  }
}

TEST_CASE("velero_seen: a Velero kind, even in an empty typed list") {
  struct Case {
    const char* json;
    bool seen;
  };
  const Case cases[] = {
      {R"({"kind":"ScheduleList","apiVersion":"velero.io/v1","items":[]})", true},
      {R"({"kind":"BackupList","apiVersion":"velero.io/v1","metadata":{},"items":null})", true},
      {R"({"kind":"ScheduleList","apiVersion":"example.com/v1","items":[]})", false},
      {R"({"kind":"PodList","apiVersion":"v1","items":[]})", false},
      {R"({"kind":"List","apiVersion":"v1","items":[{"kind":"Schedule","apiVersion":"velero.io/v1",)"
       R"("metadata":{"name":"s"},"status":{"lastBackup":"yesterday"}}]})",
       true},
  };
  for (const Case& c : cases) {
    CAPTURE(c.json);
    CHECK(decode(c.json).velero_seen == c.seen);
  }
}

TEST_CASE("defaults for omitted fields") {
  Objects o = decode(list({
      R"({"kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":null}})",
      R"({"kind":"Job","metadata":{"name":"j"},"spec":{}})",
      R"({"kind":"DaemonSet","metadata":{"name":"ds"}})",
      R"({"kind":"Service","metadata":{"name":"s"},"spec":{"type":null}})",
      R"({"kind":"HorizontalPodAutoscaler","metadata":{"name":"h"},"spec":{"maxReplicas":3}})",
      R"({"kind":"PodDisruptionBudget","metadata":{"name":"p"},"spec":{"minAvailable":null},"status":null})",
  }));
  CHECK_MESSAGE(o.warnings.empty(), joined(o.warnings));
  REQUIRE(o.workloads.size() == 3);
  CHECK(o.workloads[0].replicas == 1);
  CHECK_FALSE(o.workloads[0].selector.has_value());
  CHECK(o.workloads[1].replicas == 1);
  CHECK(o.workloads[2].replicas == 0);  // a DaemonSet without status targets no node yet
  CHECK(o.services.at(0).type == "ClusterIP");
  CHECK(o.hpas.at(0).min_replicas == 1);
  CHECK(o.hpas.at(0).max_replicas == 3);
  CHECK_FALSE(o.pdbs.at(0).min_available.has_value());
  CHECK_FALSE(o.pdbs.at(0).has_status);
}
