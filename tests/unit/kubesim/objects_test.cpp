// The objects kubesim builds for the kinds the resilience engine reads
// (Services, claims and volumes, HPAs, Velero, static pods), and the demo
// scenario's deliberate flaws, checked on the API objects themselves.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <set>

#include "cluster/cluster.h"
#include "cluster/ids.h"
#include "scenario/objects.h"
#include "test_paths.h"

using namespace rampart::kubesim;

namespace {

constexpr int64_t kNow = 1767400000;

std::unique_ptr<Cluster> load(const std::string& name) {
  auto s = loadScenarioFile(std::filesystem::path(rampart::testing::kSourceDir) /
                            "tools/kubesim/scenarios" / name);
  REQUIRE_MESSAGE(s.has_value(), (s ? "" : s.error().message));
  return Cluster::create(*s, {.history = 1000, .clock = [] { return kNow; }});
}

std::vector<Json> all(const Cluster& c, Resource r, const std::string& ns = "") {
  return c.list(r, ns, LabelQuery{}, FieldQuery{}).items;
}

Json one(const Cluster& c, Resource r, const std::string& ns, const std::string& name) {
  auto o = c.get(r, ns, name);
  REQUIRE_MESSAGE(o.has_value(), ns << "/" << name);
  return *o;
}

std::vector<Json> podsMatching(const Cluster& c, const std::string& ns, const Json& selector) {
  std::vector<Json> out;
  for (const auto& p : all(c, Resource::kPods, ns)) {
    if (matchesLabelSelector(selector, p["metadata"]["labels"])) out.push_back(p);
  }
  return out;
}

std::string zoneOf(const Cluster& c, const std::string& node) {
  return one(c, Resource::kNodes, "", node)["metadata"]["labels"]["topology.kubernetes.io/zone"];
}

std::string condition(const Json& status, const std::string& type, const char* field) {
  for (const auto& cond : status["conditions"]) {
    if (cond["type"] == type) return cond[field];
  }
  return "";
}

}  // namespace

TEST_CASE("StatefulSet claims are bound to volumes pinned to the zone of their pod's node") {
  auto c = load("demo.yaml");
  const Json sts = one(*c, Resource::kStatefulSets, "data", "zookeeper");
  CHECK(sts["metadata"]["annotations"]["rampart.io/quorum"] == "true");
  REQUIRE(sts["spec"]["volumeClaimTemplates"].size() == 1);
  CHECK(sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data");
  std::map<std::string, int> per_zone;
  for (int i = 0; i < 3; ++i) {
    const std::string pod_name = "zookeeper-" + std::to_string(i);
    CAPTURE(pod_name);
    const Json pod = one(*c, Resource::kPods, "data", pod_name);
    CHECK(pod["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet");
    CHECK(pod["metadata"]["ownerReferences"][0]["uid"] == sts["metadata"]["uid"]);
    const std::string claim = "data-" + pod_name;
    bool mounted = false;
    for (const auto& v : pod["spec"]["volumes"]) {
      mounted =
          mounted || (v["name"] == "data" && v["persistentVolumeClaim"]["claimName"] == claim);
    }
    CHECK(mounted);
    const Json pvc = one(*c, Resource::kPersistentVolumeClaims, "data", claim);
    const std::string node = pod["spec"]["nodeName"];
    CHECK(pvc["status"]["phase"] == "Bound");
    CHECK(pvc["metadata"]["labels"] == Json{{"app", "zookeeper"}});
    CHECK(pvc["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == node);
    CHECK(pvc["spec"]["storageClassName"] == "zonal-ssd");
    const Json pv = one(*c, Resource::kPersistentVolumes, "", pvc["spec"]["volumeName"]);
    CHECK(pv["spec"]["claimRef"]["name"] == claim);
    CHECK(pv["spec"]["claimRef"]["uid"] == pvc["metadata"]["uid"]);
    CHECK(pv["spec"]["capacity"]["storage"] == "10Gi");
    const Json& term =
        pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0];
    CHECK(term["key"] == "topology.kubernetes.io/zone");
    CHECK(term["values"] == Json::array({zoneOf(*c, node)}));
    ++per_zone[zoneOf(*c, node)];
  }
  // The flaw: a zone outage takes two of the three members (and their volumes).
  CHECK(per_zone["eu-west-1a"] == 2);
  CHECK(all(*c, Resource::kPersistentVolumeClaims).size() == 6);  // postgres 3 + zookeeper 3
  CHECK(all(*c, Resource::kPersistentVolumes).size() == 6);
}

TEST_CASE("an unscheduled StatefulSet pod's claim stays Pending without a volume") {
  auto s = parseScenario(R"(
nodes: [{name: n1, unschedulable: true}]
workloads:
  - kind: StatefulSet
    name: db
    volumeClaimTemplates: [{metadata: {name: data}, spec: {resources: {requests: {storage: 1Gi}}}}]
)");
  REQUIRE(s.has_value());
  auto c = Cluster::create(*s, {});
  const Json pvc = one(*c, Resource::kPersistentVolumeClaims, "default", "data-db-0");
  CHECK(pvc["status"]["phase"] == "Pending");
  CHECK_FALSE(pvc["spec"].contains("volumeName"));
  CHECK(pvc["spec"]["storageClassName"] == "standard");
  CHECK(all(*c, Resource::kPersistentVolumes).empty());
}

TEST_CASE("control-plane static pods are mirror pods owned by their node") {
  auto c = load("demo.yaml");
  const Json node = one(*c, Resource::kNodes, "", "cp-1");
  for (const char* component :
       {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}) {
    CAPTURE(component);
    const Json pod = one(*c, Resource::kPods, "kube-system", std::string(component) + "-cp-1");
    const Json& meta = pod["metadata"];
    CHECK(meta["labels"]["component"] == component);
    CHECK(meta["labels"]["tier"] == "control-plane");
    REQUIRE(meta["ownerReferences"].size() == 1);
    CHECK(meta["ownerReferences"][0] == Json{{"apiVersion", "v1"},
                                             {"kind", "Node"},
                                             {"name", "cp-1"},
                                             {"uid", node["metadata"]["uid"]},
                                             {"controller", true}});
    CHECK(meta["annotations"]["kubernetes.io/config.source"] == "file");
    CHECK(meta["annotations"]["kubernetes.io/config.mirror"] ==
          meta["annotations"]["kubernetes.io/config.hash"]);
    CHECK(pod["spec"]["nodeName"] == "cp-1");
    CHECK(pod["spec"]["hostNetwork"] == true);
    CHECK(pod["spec"]["priorityClassName"] == "system-node-critical");
    CHECK(pod["status"]["podIP"] == pod["status"]["hostIP"]);
    CHECK(pod["status"]["phase"] == "Running");
  }
}

TEST_CASE("services get cluster addresses, node ports and load-balancer ingress") {
  auto c = load("demo.yaml");
  const Json api = one(*c, Resource::kServices, "default", "kubernetes");
  CHECK(api["spec"]["clusterIP"] == "10.96.0.1");
  CHECK_FALSE(api["spec"].contains("selector"));
  CHECK(one(*c, Resource::kServices, "kube-system", "kube-dns")["spec"]["clusterIP"] ==
        "10.96.0.10");
  const Json lb = one(*c, Resource::kServices, "shop", "storefront");
  CHECK(lb["spec"]["type"] == "LoadBalancer");
  const int64_t node_port = lb["spec"]["ports"][0]["nodePort"];
  CHECK(node_port >= 30000);
  CHECK(node_port <= 32767);
  CHECK(lb["status"]["loadBalancer"]["ingress"][0]["ip"] == "203.0.113.10");
  CHECK(one(*c, Resource::kServices, "data", "zookeeper")["spec"]["clusterIP"] == "None");
  std::set<std::string> ips;
  size_t with_ip = 0;
  for (const auto& svc : all(*c, Resource::kServices)) {
    if (svc["spec"]["clusterIP"] == "None") continue;
    ++with_ip;
    ips.insert(svc["spec"]["clusterIP"].get<std::string>());
    CHECK(svc["spec"]["clusterIPs"] == Json::array({svc["spec"]["clusterIP"]}));
  }
  CHECK(ips.size() == with_ip);  // no address handed out twice
}

TEST_CASE("HPA status follows its target's replicas") {
  auto c = load("demo.yaml");
  const Json hpa = one(*c, Resource::kHorizontalPodAutoscalers, "shop", "storefront");
  CHECK(hpa["spec"]["scaleTargetRef"] ==
        Json{{"kind", "Deployment"}, {"name", "storefront"}, {"apiVersion", "apps/v1"}});
  CHECK(hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70);
  CHECK(hpa["status"]["currentReplicas"] == 3);
  CHECK(hpa["status"]["desiredReplicas"] == 3);
  const Json& current = hpa["status"]["currentMetrics"][0]["resource"]["current"];
  CHECK(current["averageUtilization"] == 38);
  CHECK(current["averageValue"] == "95m");  // 38% of the 250m request
  CHECK(condition(hpa["status"], "ScalingLimited", "status") == "False");

  // One storefront pod gone (controllers do not replace it): below minReplicas.
  auto pod = podsMatching(*c, "shop", Json{{"matchLabels", {{"app", "storefront"}}}}).at(0);
  REQUIRE(c->deletePod("shop", pod["metadata"]["name"]).has_value());
  const Json after = one(*c, Resource::kHorizontalPodAutoscalers, "shop", "storefront");
  CHECK(after["status"]["currentReplicas"] == 2);
  CHECK(after["status"]["desiredReplicas"] == 3);
  CHECK(condition(after["status"], "ScalingLimited", "status") == "True");
  CHECK(condition(after["status"], "ScalingLimited", "reason") == "TooFewReplicas");
}

TEST_CASE("Velero backups carry scheduled names and times counted back from the settled state") {
  auto c = load("demo.yaml");
  const Json daily = one(*c, Resource::kVeleroSchedules, "velero", "daily-all");
  CHECK(daily["spec"]["schedule"] == "0 2 * * *");
  CHECK(daily["spec"]["template"]["includedNamespaces"] == Json::array({"*"}));
  CHECK(daily["spec"]["template"]["excludedNamespaces"] == Json::array({"kube-system"}));
  CHECK(daily["status"]["phase"] == "Enabled");
  CHECK(daily["status"]["lastBackup"] == "2026-01-02T02:00:00Z");
  const Json newest = one(*c, Resource::kVeleroBackups, "velero", "daily-all-20260102020000");
  CHECK(newest["metadata"]["labels"]["velero.io/schedule-name"] == "daily-all");
  CHECK(newest["spec"]["storageLocation"] == "default");
  CHECK(newest["status"]["phase"] == "Completed");
  CHECK(newest["status"]["startTimestamp"] == "2026-01-02T02:00:00Z");
  CHECK(newest["status"]["completionTimestamp"] == "2026-01-02T02:04:12Z");
  CHECK(newest["status"]["expiration"] == "2026-02-01T02:00:00Z");  // ttl 720h
  CHECK(newest["status"]["progress"]["itemsBackedUp"] ==
        newest["status"]["progress"]["totalItems"]);

  // The flaw: data-weekly's newest backup failed more than two days before.
  const int64_t settled = *rampart::parseRfc3339Seconds("2026-01-02T20:10:00Z");
  Json weekly_newest;
  for (const auto& b : all(*c, Resource::kVeleroBackups, "velero")) {
    if (b["metadata"]["labels"].value("velero.io/schedule-name", "") != "data-weekly") continue;
    if (weekly_newest.is_null() ||
        b["status"]["startTimestamp"] > weekly_newest["status"]["startTimestamp"]) {
      weekly_newest = b;
    }
  }
  REQUIRE(weekly_newest.is_object());
  CHECK(weekly_newest["status"]["phase"] == "Failed");
  CHECK(weekly_newest["status"].contains("failureReason"));
  CHECK(settled - *rampart::parseRfc3339Seconds(
                      weekly_newest["status"]["startTimestamp"].get<std::string>()) >
        2 * 86400);
  CHECK(one(*c, Resource::kVeleroSchedules, "velero", "data-weekly")["status"]["lastBackup"] ==
        weekly_newest["status"]["startTimestamp"]);
  CHECK(one(*c, Resource::kVeleroBackups, "velero", "pre-upgrade-1-31")["metadata"]["labels"] ==
        Json{{"velero.io/storage-location", "default"}});
  CHECK(c->serves(Resource::kVeleroBackups));
  CHECK_FALSE(load("bench-110.yaml")->serves(Resource::kVeleroSchedules));
}

TEST_CASE("demo.yaml carries the flaws the audit is meant to find") {
  auto c = load("demo.yaml");
  // A Service whose pods have no readiness probe, and one that selects nothing.
  const Json reports = one(*c, Resource::kServices, "batch", "reports");
  auto reports_pods = podsMatching(*c, "batch", Json{{"matchLabels", reports["spec"]["selector"]}});
  REQUIRE(reports_pods.size() == 2);
  for (const auto& p : reports_pods) {
    CHECK_FALSE(p["spec"]["containers"][0].contains("readinessProbe"));
  }
  const Json orphan = one(*c, Resource::kServices, "shop", "recommendations");
  CHECK(podsMatching(*c, "shop", Json{{"matchLabels", orphan["spec"]["selector"]}}).empty());

  // PDBs: a good one, one that blocks every eviction, one at its HPA's minReplicas.
  CHECK(one(*c, Resource::kPodDisruptionBudgets, "shop",
            "storefront")["status"]["disruptionsAllowed"] == 1);
  const Json blocking = one(*c, Resource::kPodDisruptionBudgets, "monitoring", "prometheus");
  CHECK(blocking["spec"]["maxUnavailable"] == 0);
  CHECK(blocking["status"]["disruptionsAllowed"] == 0);
  const Json search_pdb = one(*c, Resource::kPodDisruptionBudgets, "shop", "search");
  const Json search_hpa = one(*c, Resource::kHorizontalPodAutoscalers, "shop", "search");
  CHECK(search_pdb["spec"]["minAvailable"].get<int>() >=
        search_hpa["spec"]["minReplicas"].get<int>());
  CHECK(one(*c, Resource::kHorizontalPodAutoscalers, "shop", "payments")["spec"]["minReplicas"] ==
        1);

  // Namespaces, with the labels the scenario adds.
  std::set<std::string> namespaces;
  for (const auto& ns : all(*c, Resource::kNamespaces)) namespaces.insert(ns["metadata"]["name"]);
  CHECK(namespaces == std::set<std::string>{"batch", "data", "default", "kube-node-lease",
                                            "kube-public", "kube-system", "monitoring", "shop",
                                            "velero"});
  CHECK(one(*c, Resource::kNamespaces, "", "shop")["metadata"]["labels"]["team"] == "commerce");

  // Owner chains: Deployment <- ReplicaSet <- Pod, DaemonSet <- Pod.
  const Json deploy = one(*c, Resource::kDeployments, "shop", "cart");
  auto cart_pods = podsMatching(*c, "shop", Json{{"matchLabels", {{"app", "cart"}}}});
  REQUIRE(cart_pods.size() == 3);
  const Json& rs_ref = cart_pods[0]["metadata"]["ownerReferences"][0];
  CHECK(rs_ref["kind"] == "ReplicaSet");
  const Json rs = one(*c, Resource::kReplicaSets, "shop", rs_ref["name"]);
  CHECK(rs["metadata"]["ownerReferences"][0]["kind"] == "Deployment");
  CHECK(rs["metadata"]["ownerReferences"][0]["uid"] == deploy["metadata"]["uid"]);
  const Json ds = one(*c, Resource::kDaemonSets, "monitoring", "node-exporter");
  for (const auto& p :
       podsMatching(*c, "monitoring", Json{{"matchLabels", {{"app", "node-exporter"}}}})) {
    CHECK(p["metadata"]["ownerReferences"][0]["uid"] == ds["metadata"]["uid"]);
  }
}
