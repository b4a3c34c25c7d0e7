#include <doctest/doctest.h>

#include <filesystem>
#include <optional>

#include "cluster/cluster.h"
#include "scenario/scenario.h"
#include "test_paths.h"

using namespace rampart::kubesim;
using rampart::ErrorCode;

namespace {

std::filesystem::path scenarioPath(const std::string& name) {
  return std::filesystem::path(rampart::testing::kSourceDir) / "tools/kubesim/scenarios" / name;
}

// Every list, serialized: what a client would read from a fresh server.
std::string dumpAll(const Cluster& cluster) {
  std::string out;
  for (const auto& t : allResourceTypes()) {
    auto list = cluster.list(t.id, "", LabelQuery{}, FieldQuery{});
    out += std::string(t.plural) + ":" + list.resource_version + "\n";
    for (const auto& item : list.items) out += item.dump() + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("the shipped scenarios parse") {
  for (const char* name : {"small.yaml", "demo.yaml", "bench-110.yaml"}) {
    CAPTURE(name);
    auto s = loadScenarioFile(scenarioPath(name));
    REQUIRE_MESSAGE(s.has_value(), (s ? "" : s.error().message));
    CHECK_FALSE(s->nodes.empty());
  }
}

TEST_CASE("demo.yaml has the shape the demo relies on") {
  auto s = loadScenarioFile(scenarioPath("demo.yaml"));
  REQUIRE(s.has_value());
  CHECK(s->zones.size() == 3);
  int workers = 0, control_planes = 0;
  for (const auto& n : s->nodes) (n.control_plane ? control_planes : workers)++;
  CHECK(workers >= 6);
  CHECK(control_planes >= 1);
  CHECK(s->workloads.size() >= 10);
  bool pinned_to_one_node = false, single_replica = false, sts = false, ds = false;
  for (const auto& w : s->workloads) {
    if (w.pinned_nodes.size() > 1 &&
        std::all_of(w.pinned_nodes.begin(), w.pinned_nodes.end(),
                    [&](const std::string& n) { return n == w.pinned_nodes[0]; })) {
      pinned_to_one_node = true;
    }
    if (w.kind == WorkloadKind::kDeployment && w.replicas == 1) single_replica = true;
    if (w.kind == WorkloadKind::kStatefulSet) sts = true;
    if (w.kind == WorkloadKind::kDaemonSet) ds = true;
  }
  CHECK(pinned_to_one_node);
  CHECK(single_replica);
  CHECK(sts);
  CHECK(ds);
}

TEST_CASE("bench-110.yaml puts 110 pods on bench-node") {
  auto s = loadScenarioFile(scenarioPath("bench-110.yaml"));
  REQUIRE(s.has_value());
  auto cluster = Cluster::create(*s, {});
  auto q = FieldQuery::parse("spec.nodeName=bench-node", {"spec.nodeName"});
  REQUIRE(q.has_value());
  CHECK(cluster->list(Resource::kPods, "", LabelQuery{}, *q).items.size() == 110);
}

TEST_CASE("same scenario and seed give byte-identical API output") {
  auto s = loadScenarioFile(scenarioPath("demo.yaml"));
  REQUIRE(s.has_value());
  // Node Leases are renewed "now" (clock_micros); nothing else depends on the clock.
  auto micros = [] { return int64_t{5}; };
  auto a = Cluster::create(
      *s, {.history = 100, .clock = [] { return int64_t{1}; }, .clock_micros = micros});
  auto b = Cluster::create(
      *s, {.history = 100, .clock = [] { return int64_t{999999}; }, .clock_micros = micros});
  const std::string dump_a = dumpAll(*a);
  CHECK(dump_a == dumpAll(*b));
  CHECK(dump_a.find("\"uid\"") != std::string::npos);

  Scenario other = *s;
  other.seed = s->seed + 1;
  auto c = Cluster::create(other, {});
  CHECK(dump_a != dumpAll(*c));
}

TEST_CASE("pods carry the names, hashes and owners controllers give them") {
  auto s = loadScenarioFile(scenarioPath("small.yaml"));
  REQUIRE(s.has_value());
  auto cluster = Cluster::create(*s, {});
  auto web = LabelQuery::parse("app=web");
  REQUIRE(web.has_value());
  auto pods = cluster->list(Resource::kPods, "shop", *web, FieldQuery{}).items;
  REQUIRE(pods.size() == 3);
  auto rs = cluster->list(Resource::kReplicaSets, "shop", *web, FieldQuery{}).items;
  REQUIRE(rs.size() == 1);
  const std::string hash = rs[0]["metadata"]["labels"]["pod-template-hash"];
  CHECK(hash.size() == 10);
  CHECK(rs[0]["metadata"]["name"] == "web-" + hash);
  for (const auto& pod : pods) {
    const std::string name = pod["metadata"]["name"];
    CHECK(name.rfind("web-" + hash + "-", 0) == 0);
    CHECK(name.size() == std::string("web-").size() + 10 + 1 + 5);
    CHECK(pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet");
    CHECK(pod["metadata"]["ownerReferences"][0]["uid"] == rs[0]["metadata"]["uid"]);
    CHECK(pod["status"]["phase"] == "Running");
    CHECK(pod["spec"]["containers"][0].contains("readinessProbe"));
    CHECK(pod["spec"].contains("topologySpreadConstraints"));
    CHECK(pod["status"]["containerStatuses"][0]["ready"] == true);
  }
  auto sts = cluster->get(Resource::kPods, "shop", "db-0");
  REQUIRE(sts.has_value());
  CHECK((*sts)["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "db-0");
  auto deployment = cluster->get(Resource::kDeployments, "shop", "web");
  REQUIRE(deployment.has_value());
  CHECK((*deployment)["status"]["readyReplicas"] == 3);
  auto ds = cluster->get(Resource::kDaemonSets, "kube-system", "node-agent");
  REQUIRE(ds.has_value());
  CHECK((*ds)["status"]["desiredNumberScheduled"] == 3);
  CHECK((*ds)["status"]["numberReady"] == 3);
  auto pdb = cluster->get(Resource::kPodDisruptionBudgets, "shop", "web");
  REQUIRE(pdb.has_value());
  CHECK((*pdb)["status"]["currentHealthy"] == 3);
  CHECK((*pdb)["status"]["desiredHealthy"] == 2);
  CHECK((*pdb)["status"]["disruptionsAllowed"] == 1);
  CHECK((*pdb)["status"]["expectedPods"] == 3);
}

TEST_CASE("nodes carry topology labels, roles, taints and conditions") {
  auto s = loadScenarioFile(scenarioPath("demo.yaml"));
  REQUIRE(s.has_value());
  auto cluster = Cluster::create(*s, {});
  auto cp = cluster->get(Resource::kNodes, "", "cp-1");
  REQUIRE(cp.has_value());
  const Json& labels = (*cp)["metadata"]["labels"];
  CHECK(labels["kubernetes.io/hostname"] == "cp-1");
  CHECK(labels["topology.kubernetes.io/zone"] == "eu-west-1a");
  CHECK(labels["topology.kubernetes.io/region"] == "eu-west-1");
  CHECK(labels.contains("node-role.kubernetes.io/control-plane"));
  CHECK((*cp)["spec"]["taints"][0]["key"] == "node-role.kubernetes.io/control-plane");
  std::vector<std::string> types;
  for (const auto& c : (*cp)["status"]["conditions"]) {
    types.push_back(c["type"]);
    CHECK(c.contains("lastHeartbeatTime"));
  }
  CHECK(types == std::vector<std::string>{"NetworkUnavailable", "MemoryPressure", "DiskPressure",
                                          "PIDPressure", "Ready"});
  CHECK((*cp)["status"]["nodeInfo"]["kubeletVersion"] == "v1.31.4");
  CHECK((*cp)["status"]["allocatable"].contains("pods"));
}

TEST_CASE("bad scenarios fail with a message naming the problem") {
  struct Case {
    const char* yaml;
    const char* expect;
  };
  const Case cases[] = {
      {"nodes: [ {name: a", "invalid YAML"},
      {"- just\n- a list\n", "must be a mapping"},
      {"nodes: []\n", "at least one node"},
      {"nodes: [{name: n1}]\nworklods: []\n", "unknown key 'worklods'"},
      {"zones: [{name: z}]\nnodes: [{name: n1, zone: q}]\n", "unknown zone 'q'"},
      {"nodes: [{name: n1}]\nworkloads: [{name: w, kind: Job}]\n", "kind must be"},
      {"nodes: [{name: n1}]\nworkloads: [{name: w, nodes: [n2]}]\n", "unknown node"},
      {"nodes: [{name: n1}]\nworkloads: [{name: w, replicas: 3, nodes: [n1]}]\n",
       "'replicas' is 3 but 'nodes' pins 1"},
      {"nodes: [{name: n1}]\nworkloads: [{name: w, namespace: nope}]\n", "not declared"},
      {"nodes: [{name: n1}]\npdbs: [{name: p, selector: {}}]\n", "exactly one of"},
      {"nodes: [{name: n1}, {name: n1}]\n", "duplicate node"},
      {"nodes: [{name: n1, taints: [{key: k, effect: Sometimes}]}]\n", "taint effect"},
      {"epoch: yesterday\nnodes: [{name: n1}]\n", "RFC 3339"},
      {"nodes: [{name: n1}]\nservices: [{name: s, type: External, ports: [{port: 80}]}]\n",
       "type must be ClusterIP, NodePort or LoadBalancer"},
      {"nodes: [{name: n1}]\nservices: [{name: s}]\n", "'ports' is required"},
      {"nodes: [{name: n1}]\nservices: [{name: s, ports: [{port: 80}, {port: 81}]}]\n",
       "must be named"},
      {"nodes: [{name: n1}]\nservices: [{name: s, type: NodePort, clusterIP: None}]\n",
       "headless service must be of type ClusterIP"},
      {"nodes: [{name: n1}]\nservices: [{name: s, ports: [{port: 80, nodePort: 30001}]}]\n",
       "needs type NodePort or LoadBalancer"},
      {"nodes: [{name: n1}]\nservices: [{name: s, clusterIP: 10.0.0.1, ports: [{port: 1}]}]\n",
       "may only be None"},
      {"nodes: [{name: n1}]\nhpas: [{name: h, scaleTargetRef: {kind: Deployment, name: w}, "
       "maxReplicas: 3}]\n",
       "names no Deployment or StatefulSet"},
      {"nodes: [{name: n1}]\nworkloads: [{name: w}]\nhpas: [{name: h, scaleTargetRef: {kind: "
       "Deployment, name: w}}]\n",
       "missing 'maxReplicas'"},
      {"nodes: [{name: n1}]\nworkloads: [{name: w}]\nhpas: [{name: h, scaleTargetRef: {kind: "
       "Deployment, name: w}, minReplicas: 4, maxReplicas: 3}]\n",
       "below 'minReplicas'"},
      {"nodes: [{name: n1}]\nworkloads: [{name: w}]\nhpas: [{name: h, scaleTargetRef: {kind: "
       "Deployment, name: w}, minReplicas: 0, maxReplicas: 3}]\n",
       "at least 1"},
      {"nodes: [{name: n1}]\nvelero: {}\n", "namespace 'velero' is not declared"},
      {"nodes: [{name: n1}]\nnamespaces: [velero]\nvelero: {schedules: [{name: d}]}\n",
       "missing 'schedule'"},
      {"nodes: [{name: n1}]\nnamespaces: [velero]\nvelero: {schedules: [{name: d, schedule: x, "
       "backups: [{ago: 1h, phase: Done}]}]}\n",
       "unknown backup phase 'Done'"},
      {"nodes: [{name: n1}]\nnamespaces: [velero]\nvelero: {schedules: [{name: d, schedule: x, "
       "backups: [{ago: yesterday}]}]}\n",
       "duration like 90s"},
      {"nodes: [{name: n1}]\nnamespaces: [velero]\nvelero: {schedules: [{name: d, schedule: x, "
       "backups: [{phase: Failed}]}]}\n",
       "missing 'ago'"},
      {"nodes: [{name: n1}]\nnamespaces: [velero]\nvelero: {schedules: [{name: d, schedule: x, "
       "backups: [{ago: 1h}, {ago: 60m}]}]}\n",
       "same time"},
      {"nodes: [{name: n1}]\npods: [{name: p, static: true}]\n", "a static pod needs its 'node'"},
      {"nodes: [{name: n1}]\nworkloads: [{name: w, volumeClaimTemplates: []}]\n",
       "only a StatefulSet"},
      {"nodes: [{name: n1}]\nworkloads: [{name: w, kind: StatefulSet, volumeClaimTemplates: "
       "[{metadata: {name: data}, spec: {}}]}]\n",
       "needs spec.resources.requests.storage"},
      {"nodes: [{name: n1}]\nnamespaces: [{name: shop, colour: red}]\n", "unknown key 'colour'"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.yaml);
    auto s = parseScenario(c.yaml);
    REQUIRE_FALSE(s.has_value());
    CHECK_MESSAGE(s.error().message.find(c.expect) != std::string::npos, s.error().message);
  }
}

TEST_CASE("a missing scenario file is an I/O error naming the path") {
  auto s = loadScenarioFile("/nonexistent/scenario.yaml");
  REQUIRE_FALSE(s.has_value());
  CHECK(s.error().code == ErrorCode::kIo);
  CHECK(s.error().message.find("/nonexistent/scenario.yaml") != std::string::npos);
}

TEST_CASE("YAML typing keeps quoted scalars as strings") {
  auto j = yamlToJson("a: \"80\"\nb: 80\nc: true\nd: ~\ne: 1.5\nf: [x, 'y']\n");
  REQUIRE(j.has_value());
  CHECK((*j)["a"] == "80");
  CHECK((*j)["b"] == 80);
  CHECK((*j)["c"] == true);
  CHECK((*j)["d"].is_null());
  CHECK((*j)["e"] == 1.5);
  CHECK((*j)["f"][1] == "y");
}

TEST_CASE("durations for backup times: s, m, h, d and combinations") {
  struct Case {
    const char* text;
    std::optional<int64_t> seconds;
  };
  const Case cases[] = {{"90s", 90},          {"15m", 900},         {"6h", 21600},
                        {"3d", 259200},       {"1d12h", 129600},    {"720h0m0s", 2592000},
                        {"", std::nullopt},   {"6", std::nullopt},  {"h", std::nullopt},
                        {"5w", std::nullopt}, {"-1h", std::nullopt}};
  for (const auto& c : cases) {
    CAPTURE(c.text);
    CHECK(parseAgo(c.text) == c.seconds);
  }
}

TEST_CASE("services, HPAs, Velero, static pods, namespace labels and claim templates parse") {
  const char* yaml = R"(
nodes: [{name: n1}]
namespaces: [{name: shop, labels: {team: web}}, velero]
workloads:
  - {name: web, namespace: shop, replicas: 2, annotations: {rampart.io/quorum: "true"}}
  - kind: StatefulSet
    name: db
    namespace: shop
    volumeClaimTemplates:
      - {metadata: {name: data}, spec: {storageClassName: ssd, resources: {requests: {storage: 1Gi}}}}
pods:
  - {name: etcd-n1, namespace: kube-system, node: n1, static: true, labels: {component: etcd}}
services:
  - {name: web, namespace: shop, type: NodePort, selector: {app: web}, ports: [{port: 80, targetPort: http}]}
  - {name: manual, namespace: shop, clusterIP: None}
hpas:
  - {name: web, namespace: shop, scaleTargetRef: {kind: Deployment, name: web}, maxReplicas: 5}
velero:
  schedules:
    - name: daily
      schedule: "0 1 * * *"
      paused: true
      template: {includedNamespaces: [shop]}
      backups: [{ago: 2h, phase: Failed, errors: 3}, {ago: 1d2h}]
  backups:
    - {name: by-hand, ago: 90s, phase: InProgress, spec: {includedNamespaces: [shop]}}
)";
  auto s = parseScenario(yaml);
  REQUIRE_MESSAGE(s.has_value(), (s ? "" : s.error().message));
  CHECK(s->namespace_labels.at("shop") == Json{{"team", "web"}});
  CHECK(s->workloads[0].annotations == Json{{"rampart.io/quorum", "true"}});
  const Json& claim = s->workloads[1].volume_claim_templates.at(0);
  CHECK(claim["kind"] == "PersistentVolumeClaim");
  CHECK(claim["spec"]["accessModes"] == Json::array({"ReadWriteOnce"}));
  CHECK(claim["spec"]["volumeMode"] == "Filesystem");
  CHECK(claim["status"]["phase"] == "Pending");
  REQUIRE(s->pods.size() == 1);
  CHECK(s->pods[0].is_static);
  REQUIRE(s->services.size() == 2);
  CHECK(s->services[0].type == "NodePort");
  CHECK(s->services[0].ports ==
        Json::array({Json{{"protocol", "TCP"}, {"port", 80}, {"targetPort", "http"}}}));
  CHECK(s->services[0].selector == Json{{"app", "web"}});
  CHECK(s->services[1].cluster_ip == "None");
  CHECK(s->services[1].selector.is_null());
  REQUIRE(s->hpas.size() == 1);
  CHECK(s->hpas[0].min_replicas == 1);
  CHECK(s->hpas[0].max_replicas == 5);
  CHECK(s->hpas[0].cpu_utilization == 80);
  CHECK(s->hpas[0].current_cpu_utilization == 48);
  CHECK(s->velero.installed);
  CHECK(s->velero.ns == "velero");
  REQUIRE(s->velero.schedules.size() == 1);
  CHECK(s->velero.schedules[0].paused);
  REQUIRE(s->velero.backups.size() == 3);
  CHECK(s->velero.backups[0].schedule == "daily");
  CHECK(s->velero.backups[0].phase == "Failed");
  CHECK(s->velero.backups[0].errors == 3);
  CHECK(s->velero.backups[0].ago_seconds == 7200);
  CHECK(s->velero.backups[0].spec == Json{{"includedNamespaces", Json::array({"shop"})}});
  CHECK(s->velero.backups[1].phase == "Completed");
  CHECK(s->velero.backups[1].ago_seconds == 93600);
  CHECK(s->velero.backups[2].name == "by-hand");
  CHECK(s->velero.backups[2].schedule.empty());

  auto plain = parseScenario("nodes: [{name: n1}]\n");
  REQUIRE(plain.has_value());
  CHECK_FALSE(plain->velero.installed);
}
