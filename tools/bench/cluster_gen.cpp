#include "cluster_gen.h"

#include <algorithm>
#include <random>
#include <vector>

namespace rampart::bench {
namespace {

class Writer {
 public:
  std::string out;
  bool first_item = true;

  void item(const std::string& json) {
    if (!first_item) out += ",\n";
    first_item = false;
    out += json;
  }
};

std::string zoneName(int32_t z) {
  return "zone-" + std::string(1, static_cast<char>('a' + z));
}

std::string nodeName(int32_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "node-%05d", i);
  return buf;
}

std::string uid(uint64_t n) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012llx",
                static_cast<unsigned long long>(n));
  return buf;
}

const char* const kTolerations =
    R"([{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300},{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}])";

std::string nodeJson(const std::string& name, const std::string& zone, bool control_plane,
                     bool ready, bool cordoned, uint64_t id) {
  std::string s =
      R"({"apiVersion":"v1","kind":"Node","metadata":{"name":")" + name + R"(","uid":")" + uid(id) +
      R"(","resourceVersion":"1000","labels":{"kubernetes.io/hostname":")" + name +
      R"(","kubernetes.io/os":"linux","topology.kubernetes.io/region":"region-1","topology.kubernetes.io/zone":")" +
      zone + "\"";
  if (control_plane) s += R"(,"node-role.kubernetes.io/control-plane":"")";
  s += R"(}},"spec":{)";
  if (control_plane) {
    s += R"("taints":[{"key":"node-role.kubernetes.io/control-plane","effect":"NoSchedule"}])";
  }
  if (cordoned) {
    s += control_plane ? "," : "";
    s += R"("unschedulable":true)";
  }
  s +=
      R"(},"status":{"conditions":[{"type":"MemoryPressure","status":"False","reason":"KubeletHasSufficientMemory"},{"type":"DiskPressure","status":"False","reason":"KubeletHasNoDiskPressure"},{"type":"PIDPressure","status":"False","reason":"KubeletHasSufficientPID"},{"type":"Ready","status":")";
  s += ready ? R"(True","reason":"KubeletReady"})" : R"(Unknown","reason":"NodeStatusUnknown"})";
  s += R"(],"nodeInfo":{"kubeletVersion":"v1.31.2"}}})";
  return s;
}

struct PodSpec {
  std::string ns, name, node, app;
  std::string owner_kind, owner_name;
  std::string extra_labels;  // ,"k":"v"
  std::string affinity;      // "affinity":{...},
  std::string spread;        // "topologySpreadConstraints":[...],
  bool readiness = true, liveness = true, ready = true;
  int32_t restarts = 0;
  std::string pvc;
  uint64_t id = 0;
};

std::string podJson(const PodSpec& p) {
  std::string s = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + p.name +
                  R"(","namespace":")" + p.ns + R"(","uid":")" + uid(p.id) +
                  R"(","resourceVersion":")" + std::to_string(2000 + p.id) +
                  R"(","creationTimestamp":"2026-11-01T00:00:00Z","labels":{"app":")" + p.app +
                  "\"" + p.extra_labels + "}";
  if (!p.owner_kind.empty()) {
    s += R"(,"ownerReferences":[{"apiVersion":"apps/v1","kind":")" + p.owner_kind +
         R"(","name":")" + p.owner_name + R"(","uid":")" + uid(p.id ^ 0xabcdef) +
         R"(","controller":true,"blockOwnerDeletion":true}])";
  }
  s += R"(},"spec":{"nodeName":")" + p.node + "\"," + p.affinity + p.spread;
  s +=
      R"("containers":[{"name":"app","image":"registry.example.com/)" + p.app +
      R"(:1.4.2","ports":[{"containerPort":8080,"protocol":"TCP"}],"resources":{"requests":{"cpu":"100m","memory":"128Mi"},"limits":{"memory":"256Mi"}})";
  if (p.readiness) {
    s +=
        R"(,"readinessProbe":{"httpGet":{"path":"/ready","port":8080,"scheme":"HTTP"},"periodSeconds":5,"timeoutSeconds":1,"successThreshold":1,"failureThreshold":3})";
  }
  if (p.liveness) {
    s +=
        R"(,"livenessProbe":{"httpGet":{"path":"/healthz","port":8080,"scheme":"HTTP"},"periodSeconds":10,"timeoutSeconds":1,"successThreshold":1,"failureThreshold":3})";
  }
  s += R"(,"terminationMessagePath":"/dev/termination-log","imagePullPolicy":"IfNotPresent"}])";
  if (!p.pvc.empty()) {
    s += R"(,"volumes":[{"name":"data","persistentVolumeClaim":{"claimName":")" + p.pvc + R"("}}])";
  }
  s +=
      R"(,"restartPolicy":"Always","schedulerName":"default-scheduler","serviceAccountName":"default","tolerations":)";
  s += kTolerations;
  s +=
      R"(},"status":{"phase":"Running","conditions":[{"type":"Initialized","status":"True"},{"type":"Ready","status":")";
  s += p.ready ? "True" : "False";
  s += R"("},{"type":"ContainersReady","status":")";
  s += p.ready ? "True" : "False";
  s +=
      R"("},{"type":"PodScheduled","status":"True"}],"hostIP":"10.0.0.1","podIP":"10.244.0.1","startTime":"2026-11-01T00:00:01Z","qosClass":"Burstable","containerStatuses":[{"name":"app","ready":)";
  s += p.ready ? "true" : "false";
  s +=
      R"(,"restartCount":)" + std::to_string(p.restarts) + R"(,"image":"registry.example.com/)" +
      p.app +
      R"(:1.4.2","imageID":"","containerID":"containerd://0","started":true,"state":{"running":{"startedAt":"2026-11-01T00:00:05Z"}}}]}})";
  return s;
}

std::string selectorJson(const std::string& app) {
  return R"({"matchLabels":{"app":")" + app + R"("}})";
}

std::string workloadJson(const std::string& kind, const std::string& ns, const std::string& name,
                         const std::string& app, int32_t replicas, int32_t ready, uint64_t id,
                         const std::string& owner_kind, const std::string& owner_name,
                         const std::string& template_extra, const std::string& spec_extra) {
  std::string s = R"({"apiVersion":"apps/v1","kind":")" + kind + R"(","metadata":{"name":")" +
                  name + R"(","namespace":")" + ns + R"(","uid":")" + uid(id) +
                  R"(","resourceVersion":"500","labels":{"app":")" + app + "\"}";
  if (!owner_kind.empty()) {
    s += R"(,"ownerReferences":[{"apiVersion":"apps/v1","kind":")" + owner_kind + R"(","name":")" +
         owner_name + R"(","uid":")" + uid(id ^ 0x55) + R"(","controller":true}])";
  }
  s += R"(},"spec":{)";
  if (kind != "DaemonSet") s += R"("replicas":)" + std::to_string(replicas) + ",";
  s += R"("selector":)" + selectorJson(app) + spec_extra +
       R"(,"template":{"metadata":{"labels":{"app":")" + app + R"("}},"spec":{)" + template_extra +
       R"("containers":[{"name":"app","image":"registry.example.com/app:1"}]}}},"status":{)";
  if (kind == "DaemonSet") {
    s += R"("desiredNumberScheduled":)" + std::to_string(replicas) + R"(,"numberReady":)" +
         std::to_string(ready) + R"(,"numberAvailable":)" + std::to_string(ready);
  } else {
    s += R"("replicas":)" + std::to_string(replicas) + R"(,"readyReplicas":)" +
         std::to_string(ready) + R"(,"availableReplicas":)" + std::to_string(ready);
  }
  s += "}}";
  return s;
}

}  // namespace

GeneratedCluster generateCluster(const ClusterShape& shape) {
  std::mt19937_64 rng(shape.seed);
  auto chance = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };
  GeneratedCluster g;
  Writer w;
  w.out.reserve(static_cast<size_t>(shape.pods) * 2100 + (1u << 20));
  w.out += R"({"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":[)";
  w.out += "\n";
  uint64_t id = 1;

  // Nodes: control plane first, then workers round-robin over zones.
  std::vector<std::string> workers;
  std::vector<int32_t> worker_zone;
  for (int32_t i = 0; i < shape.control_plane; ++i) {
    std::string name = "cp-" + std::to_string(i);
    w.item(nodeJson(name, zoneName(i % shape.zones), true, true, false, id++));
    ++g.nodes;
  }
  for (int32_t i = 0; i < shape.nodes; ++i) {
    std::string name = nodeName(i);
    bool ready = !(i % 997 == 13);
    bool cordoned = i % 1499 == 7;
    w.item(nodeJson(name, zoneName(i % shape.zones), false, ready, cordoned, id++));
    workers.push_back(name);
    worker_zone.push_back(i % shape.zones);
    ++g.nodes;
  }

  // Control-plane static pods (mirror pods owned by their Node).
  for (int32_t i = 0; i < shape.control_plane; ++i) {
    std::string node = "cp-" + std::to_string(i);
    for (const char* c : {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}) {
      PodSpec p;
      p.ns = "kube-system";
      p.name = std::string(c) + "-" + node;
      p.node = node;
      p.app = c;
      p.extra_labels = std::string(R"(,"component":")") + c + R"(","tier":"control-plane")";
      p.owner_kind = "Node";
      p.owner_name = node;
      p.id = id++;
      w.item(podJson(p));
      ++g.pods;
    }
  }

  // Two DaemonSets on every worker.
  for (const char* ds : {"kube-proxy", "node-agent"}) {
    w.item(workloadJson("DaemonSet", "kube-system", ds, ds, shape.nodes, shape.nodes, id++, "", "",
                        "", ""));
    ++g.workloads;
    for (int32_t i = 0; i < shape.nodes; ++i) {
      PodSpec p;
      p.ns = "kube-system";
      p.name = std::string(ds) + "-" + std::to_string(i);
      p.node = workers[i];
      p.app = ds;
      p.owner_kind = "DaemonSet";
      p.owner_name = ds;
      p.liveness = std::string(ds) == "kube-proxy";
      p.id = id++;
      w.item(podJson(p));
      ++g.pods;
    }
  }

  // Deployments and StatefulSets until the pod budget is spent.
  const int32_t sizes[] = {1, 2, 2, 3, 3, 3, 5, 5, 10, 20, 50};
  const int32_t namespaces = std::max(1, shape.pods / 1500);
  int32_t n = 0;
  while (g.pods < shape.pods) {
    int32_t replicas = sizes[rng() % std::size(sizes)];
    replicas = std::min(replicas, std::max(1, shape.pods - g.pods));
    std::string ns = "team-" + std::to_string(n % namespaces);
    bool sts = chance(8);
    std::string name = (sts ? "db-" : "svc-") + std::to_string(n);
    const std::string& app = name;
    ++n;
    bool anti = chance(30), spread = !anti && chance(30), concentrated = chance(5);
    std::string affinity, spread_json;
    if (anti) {
      affinity =
          std::string(
              R"("affinity":{"podAntiAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[{"labelSelector":)") +
          selectorJson(app) + R"(,"topologyKey":"kubernetes.io/hostname"}]}},)";
    }
    if (spread) {
      spread_json =
          std::string(
              R"("topologySpreadConstraints":[{"maxSkew":1,"topologyKey":"topology.kubernetes.io/zone","whenUnsatisfiable":"ScheduleAnyway","labelSelector":)") +
          selectorJson(app) + "}],";
    }
    bool readiness = chance(85), liveness = chance(65);
    std::string kind = sts ? "StatefulSet" : "Deployment";
    std::string spec_extra =
        sts ? R"(,"serviceName":")" + name +
                  R"(","volumeClaimTemplates":[{"metadata":{"name":"data"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"10Gi"}}}}])"
            : "";
    w.item(workloadJson(kind, ns, name, app, replicas, replicas, id++, "", "",
                        affinity + spread_json, spec_extra));
    ++g.workloads;
    std::string rs = name + "-5d8f9c7b6";
    if (!sts) {
      w.item(workloadJson("ReplicaSet", ns, rs, app, replicas, replicas, id++, "Deployment", name,
                          affinity + spread_json, ""));
    }
    if (chance(50) && replicas > 1) {
      w.item(
          R"({"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":")" + name +
          R"(","namespace":")" + ns + R"("},"spec":{"minAvailable":)" +
          (chance(50) ? std::string("\"50%\"") : std::string("1")) + R"(,"selector":)" +
          selectorJson(app) +
          R"(},"status":{"observedGeneration":1,"currentHealthy":1,"desiredHealthy":1,"disruptionsAllowed":1,"expectedPods":)" +
          std::to_string(replicas) + "}}");
    }
    if (!sts && chance(20)) {
      w.item(
          R"({"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":")" +
          name + R"(","namespace":")" + ns +
          R"("},"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":")" +
          name + R"("},"minReplicas":)" + std::to_string(std::max(1, replicas / 2)) +
          R"(,"maxReplicas":)" + std::to_string(replicas * 3) + "}}");
    }
    if (chance(60)) {
      w.item(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":")" + name +
             R"(","namespace":")" + ns + R"("},"spec":{"type":"ClusterIP","selector":{"app":")" +
             app + R"("},"ports":[{"port":80,"targetPort":8080,"protocol":"TCP"}]}})");
    }
    int32_t start = static_cast<int32_t>(rng() % workers.size());
    for (int32_t r = 0; r < replicas; ++r) {
      PodSpec p;
      p.ns = ns;
      p.app = app;
      p.id = id++;
      if (sts) {
        p.name = name + "-" + std::to_string(r);
        p.owner_kind = "StatefulSet";
        p.owner_name = name;
        p.pvc = "data-" + p.name;
      } else {
        p.name = rs + "-" + uid(p.id).substr(30);
        p.owner_kind = "ReplicaSet";
        p.owner_name = rs;
        p.extra_labels = R"(,"pod-template-hash":"5d8f9c7b6")";
      }
      // Spread over consecutive workers (so over zones), or all on one node.
      int32_t node = concentrated ? start : (start + r * 7) % static_cast<int32_t>(workers.size());
      p.node = workers[node];
      p.affinity = affinity;
      p.spread = spread_json;
      p.readiness = readiness;
      p.liveness = liveness;
      p.ready = !chance(1);
      p.restarts = chance(2) ? 7 : 0;
      w.item(podJson(p));
      ++g.pods;
    }
  }
  w.out += "\n]}\n";
  g.json = std::move(w.out);
  return g;
}

}  // namespace rampart::bench
