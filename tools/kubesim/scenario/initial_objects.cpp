// Builds a scenario's initial objects: what the controllers and the scheduler
// of a real cluster would have created, in a fixed order so that every
// identifier drawn from the seeded generator lands in the same object.
#include <algorithm>

#include "cluster/scheduler.h"
#include "scenario/initial_resources.h"
#include "scenario/objects.h"

namespace rampart::kubesim {
namespace {

constexpr int64_t kWorkloadStart = 300;  // workloads arrive 5 minutes after the nodes
constexpr int64_t kWorkloadStep = 7;

Json ownerRef(std::string_view kind, const std::string& name, const std::string& uid) {
  return Json{{"apiVersion", "apps/v1"},
              {"kind", kind},
              {"name", name},
              {"uid", uid},
              {"controller", true},
              {"blockOwnerDeletion", true}};
}

Json nodeCondition(std::string_view type, std::string_view status, const std::string& heartbeat,
                   const std::string& transition, std::string_view reason,
                   std::string_view message) {
  return Json{{"type", type},
              {"status", status},
              {"lastHeartbeatTime", heartbeat},
              {"lastTransitionTime", transition},
              {"reason", reason},
              {"message", message}};
}

Json makeNamespace(const std::string& name, const Json& extra_labels, int64_t created,
                   IdGenerator& ids) {
  Json labels{{"kubernetes.io/metadata.name", name}};
  labels.update(extra_labels);
  return Json{{"metadata", Json{{"name", name},
                                {"uid", ids.uid()},
                                {"resourceVersion", "0"},
                                {"creationTimestamp", formatRfc3339(created)},
                                {"labels", labels}}},
              {"spec", Json{{"finalizers", Json::array({"kubernetes"})}}},
              {"status", Json{{"phase", "Active"}}}};
}

Json makeNode(const Scenario& s, const NodeSpec& n, size_t index, IdGenerator& ids) {
  std::string region;
  size_t zone_index = 0;
  for (size_t i = 0; i < s.zones.size(); ++i) {
    if (s.zones[i].name == n.zone) {
      region = s.zones[i].region;
      zone_index = i;
    }
  }
  const std::string host_ip =
      "10.0." + std::to_string(zone_index) + "." + std::to_string(10 + index);
  Json labels{{"beta.kubernetes.io/arch", "amd64"},
              {"beta.kubernetes.io/os", "linux"},
              {"kubernetes.io/arch", "amd64"},
              {"kubernetes.io/hostname", n.name},
              {"kubernetes.io/os", "linux"},
              {"node.kubernetes.io/instance-type", n.control_plane ? "sim.large" : "sim.xlarge"}};
  if (!n.zone.empty()) {
    labels["topology.kubernetes.io/region"] = region;
    labels["topology.kubernetes.io/zone"] = n.zone;
  }
  if (n.control_plane) labels["node-role.kubernetes.io/control-plane"] = "";
  labels.update(n.labels);
  const std::string created = formatRfc3339(s.epoch);
  const std::string ready = formatRfc3339(s.epoch + 20);
  const std::string heartbeat = formatRfc3339(s.epoch + 240);
  Json spec{{"podCIDR", "10.244." + std::to_string(index) + ".0/24"},
            {"podCIDRs", Json::array({"10.244." + std::to_string(index) + ".0/24"})},
            {"providerID", "kubesim://" + s.cluster + "/" + n.name}};
  Json taints = n.taints;
  if (n.control_plane && taints.empty()) {
    taints.push_back(
        Json{{"key", "node-role.kubernetes.io/control-plane"}, {"effect", "NoSchedule"}});
  }
  if (n.unschedulable) {
    spec["unschedulable"] = true;
    taints.push_back(Json{{"key", "node.kubernetes.io/unschedulable"},
                          {"effect", "NoSchedule"},
                          {"timeAdded", created}});
  }
  if (!taints.empty()) spec["taints"] = taints;
  Json capacity{{"cpu", "8"},
                {"ephemeral-storage", "101430960Ki"},
                {"hugepages-1Gi", "0"},
                {"hugepages-2Mi", "0"},
                {"memory", "32817604Ki"},
                {"pods", "110"}};
  capacity.update(n.capacity);
  Json allocatable = capacity;
  if (!n.capacity.contains("cpu")) allocatable["cpu"] = "7910m";
  if (!n.capacity.contains("memory")) allocatable["memory"] = "32203204Ki";
  const std::string kubelet = n.kubelet_version.empty() ? s.kubelet_version : n.kubelet_version;
  const std::string machine = ids.hex(32);
  Json status{
      {"capacity", capacity},
      {"allocatable", allocatable},
      {"conditions",
       Json::array(
           {nodeCondition("NetworkUnavailable", "False", ready, ready, "RouteCreated",
                          "RouteController created a route"),
            nodeCondition("MemoryPressure", "False", heartbeat, created,
                          "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            nodeCondition("DiskPressure", "False", heartbeat, created, "KubeletHasNoDiskPressure",
                          "kubelet has no disk pressure"),
            nodeCondition("PIDPressure", "False", heartbeat, created, "KubeletHasSufficientPID",
                          "kubelet has sufficient PID available"),
            nodeCondition("Ready", "True", heartbeat, ready, "KubeletReady",
                          "kubelet is posting ready status")})},
      {"addresses", Json::array({Json{{"type", "InternalIP"}, {"address", host_ip}},
                                 Json{{"type", "Hostname"}, {"address", n.name}}})},
      {"daemonEndpoints", Json{{"kubeletEndpoint", Json{{"Port", 10250}}}}},
      {"nodeInfo", Json{{"machineID", machine},
                        {"systemUUID", machine.substr(0, 8) + "-" + machine.substr(8, 4) + "-" +
                                           machine.substr(12, 4) + "-" + machine.substr(16, 4) +
                                           "-" + machine.substr(20, 12)},
                        {"bootID", ids.uid()},
                        {"kernelVersion", "6.1.0-28-amd64"},
                        {"osImage", "Debian GNU/Linux 12 (bookworm)"},
                        {"containerRuntimeVersion", "containerd://1.7.24"},
                        {"kubeletVersion", kubelet},
                        {"kubeProxyVersion", kubelet},
                        {"operatingSystem", "linux"},
                        {"architecture", "amd64"}}}};
  Json meta{
      {"name", n.name},
      {"uid", ids.uid()},
      {"resourceVersion", "0"},
      {"creationTimestamp", created},
      {"labels", labels},
      {"annotations", Json{{"node.alpha.kubernetes.io/ttl", "0"},
                           {"volumes.kubernetes.io/controller-managed-attach-detach", "true"}}}};
  return Json{{"metadata", meta}, {"spec", spec}, {"status", status}};
}

Json controllerMeta(const WorkloadSpec& w, const std::string& uid, int64_t created) {
  Json meta{{"name", w.name},    {"namespace", w.ns},
            {"uid", uid},        {"resourceVersion", "0"},
            {"generation", 1},   {"creationTimestamp", formatRfc3339(created)},
            {"labels", w.labels}};
  if (!w.annotations.empty()) meta["annotations"] = w.annotations;
  return meta;
}

// The controller's own annotations plus the ones the scenario gives.
void addAnnotations(Json& meta, const Json& controller_annotations) {
  Json merged = controller_annotations;
  merged.update(meta.value("annotations", Json::object()));
  meta["annotations"] = merged;
}

// A StatefulSet pod mounts one claim per volumeClaimTemplate, named
// TEMPLATE-STS-ORDINAL, as the StatefulSet controller adds them.
void addClaimVolumes(const WorkloadSpec& w, int ordinal, Json& pod_spec) {
  if (w.volume_claim_templates.empty()) return;
  Json volumes = Json::array();
  for (const auto& v : pod_spec.value("volumes", Json::array())) {
    bool replaced = false;
    for (const auto& t : w.volume_claim_templates)
      replaced = replaced || v["name"] == t["metadata"]["name"];
    if (!replaced) volumes.push_back(v);
  }
  for (const auto& t : w.volume_claim_templates) {
    const std::string name = t["metadata"]["name"];
    volumes.push_back(
        Json{{"name", name},
             {"persistentVolumeClaim", Json{{"claimName", claimName(name, w.name, ordinal)}}}});
  }
  pod_spec["volumes"] = volumes;
}

Json templateOf(const Json& labels, const Json& pod_spec) {
  return Json{{"metadata", Json{{"labels", labels}}}, {"spec", pod_spec}};
}

// DaemonSet pods tolerate what the DaemonSet controller adds; the scheduler
// must see those tolerations when picking nodes.
Json daemonSchedulingSpec(const Json& pod_spec) {
  Json spec = pod_spec;
  if (!spec.contains("tolerations")) spec["tolerations"] = Json::array();
  for (const char* key :
       {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable",
        "node.kubernetes.io/unschedulable", "node.kubernetes.io/disk-pressure",
        "node.kubernetes.io/memory-pressure", "node.kubernetes.io/pid-pressure"}) {
    spec["tolerations"].push_back(Json{{"key", key}, {"operator", "Exists"}});
  }
  return spec;
}

// What the kubelet runs a control-plane manifest with (kubeadm's manifests
// set hostNetwork, the priority class and the seccomp profile).
Json staticPodSpec(const Json& pod_spec) {
  Json spec = pod_spec;
  if (!spec.contains("hostNetwork")) spec["hostNetwork"] = true;
  if (!spec.contains("priorityClassName")) spec["priorityClassName"] = "system-node-critical";
  if (!spec.contains("priority")) spec["priority"] = 2000001000;
  if (!spec.contains("tolerations")) {
    spec["tolerations"] = Json::array({Json{{"operator", "Exists"}, {"effect", "NoExecute"}}});
  }
  if (!spec.contains("securityContext")) {
    spec["securityContext"] = Json{{"seccompProfile", Json{{"type", "RuntimeDefault"}}}};
  }
  return spec;
}

}  // namespace

std::string hostIpOf(const Json& node) {
  for (const auto& a : node["status"].value("addresses", Json::array())) {
    if (a.value("type", "") == "InternalIP") return a.value("address", "");
  }
  return "";
}

std::string podIpFor(const Json& node, int octet) {
  std::string cidr = node["spec"].value("podCIDR", "10.244.0.0/24");
  auto last_dot = cidr.rfind('.');
  return cidr.substr(0, last_dot) + "." + std::to_string(octet % 254 + 1);
}

InitialObjects buildInitialObjects(const Scenario& s, IdGenerator& ids) {
  InitialObjects out;
  for (const auto& ns : s.namespaces) {
    auto labels = s.namespace_labels.find(ns);
    out.namespaces.push_back(makeNamespace(
        ns, labels == s.namespace_labels.end() ? Json::object() : labels->second, s.epoch, ids));
  }
  std::map<std::string, const Json*> node_by_name;
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    out.nodes.push_back(makeNode(s, s.nodes[i], i, ids));
    out.next_pod_ip[s.nodes[i].name] = 1;
  }
  for (const auto& n : out.nodes) node_by_name[n["metadata"]["name"].get<std::string>()] = &n;
  Scheduler scheduler(out.nodes);

  auto add_pod = [&](PodParams params) {
    if (!params.node.empty()) {
      const Json& node = *node_by_name.at(params.node);
      params.host_ip = hostIpOf(node);
      // A host-network pod has its node's address.
      params.pod_ip = params.pod_spec.value("hostNetwork", false)
                          ? params.host_ip
                          : podIpFor(node, out.next_pod_ip[params.node]++);
    }
    out.pods.push_back(makePod(params, ids));
  };
  auto node_for = [&](const WorkloadSpec& w, int replica, const Json& labels) -> std::string {
    if (!w.pinned_nodes.empty()) {
      const std::string& node = w.pinned_nodes[static_cast<size_t>(replica)];
      scheduler.record(node, w.ns, labels);
      return node;
    }
    return scheduler.place(w.pod_spec, w.ns, labels).value_or("");
  };

  int64_t created = s.epoch + kWorkloadStart;
  for (const auto& w : s.workloads) {
    created += kWorkloadStep;
    const std::string uid = ids.uid();
    Json pod_template = templateOf(w.labels, w.pod_spec);
    if (w.kind == WorkloadKind::kDeployment) {
      const std::string hash = templateHash(w.ns + "/" + w.name + pod_template.dump());
      const std::string rs_name = w.name + "-" + hash;
      Json meta = controllerMeta(w, uid, created);
      addAnnotations(meta, Json{{"deployment.kubernetes.io/revision", "1"}});
      Json spec{{"replicas", w.replicas},
                {"selector", Json{{"matchLabels", w.labels}}},
                {"template", pod_template},
                {"strategy",
                 Json{{"type", "RollingUpdate"},
                      {"rollingUpdate", Json{{"maxUnavailable", "25%"}, {"maxSurge", "25%"}}}}},
                {"revisionHistoryLimit", 10},
                {"progressDeadlineSeconds", 600}};
      const std::string when = formatRfc3339(created + 10);
      Json status{
          {"conditions", Json::array({Json{{"type", "Progressing"},
                                           {"status", "True"},
                                           {"lastUpdateTime", when},
                                           {"lastTransitionTime", formatRfc3339(created)},
                                           {"reason", "NewReplicaSetAvailable"},
                                           {"message", "ReplicaSet \"" + rs_name +
                                                           "\" has successfully progressed."}}})}};
      out.deployments.push_back(Json{{"metadata", meta}, {"spec", spec}, {"status", status}});

      Json rs_labels = w.labels;
      rs_labels["pod-template-hash"] = hash;
      const std::string rs_uid = ids.uid();
      Json rs_meta{{"name", rs_name},
                   {"namespace", w.ns},
                   {"uid", rs_uid},
                   {"resourceVersion", "0"},
                   {"generation", 1},
                   {"creationTimestamp", formatRfc3339(created)},
                   {"labels", rs_labels},
                   {"annotations",
                    Json{{"deployment.kubernetes.io/desired-replicas", std::to_string(w.replicas)},
                         {"deployment.kubernetes.io/max-replicas",
                          std::to_string(w.replicas + (w.replicas + 3) / 4)},
                         {"deployment.kubernetes.io/revision", "1"}}},
                   {"ownerReferences", Json::array({ownerRef("Deployment", w.name, uid)})}};
      Json rs_spec{{"replicas", w.replicas},
                   {"selector", Json{{"matchLabels", rs_labels}}},
                   {"template", templateOf(rs_labels, w.pod_spec)}};
      out.replicasets.push_back(
          Json{{"metadata", rs_meta}, {"spec", rs_spec}, {"status", Json::object()}});
      for (int r = 0; r < w.replicas; ++r) {
        PodParams p;
        p.ns = w.ns;
        p.generate_name = rs_name + "-";
        p.name = rs_name + "-" + ids.suffix(5);
        p.labels = rs_labels;
        p.pod_spec = w.pod_spec;
        p.node = node_for(w, r, rs_labels);
        p.owner = {"ReplicaSet", rs_name, rs_uid};
        p.created = created + 1;
        add_pod(std::move(p));
      }
    } else if (w.kind == WorkloadKind::kStatefulSet) {
      const std::string hash = templateHash(w.ns + "/" + w.name + pod_template.dump());
      Json spec{{"replicas", w.replicas},
                {"selector", Json{{"matchLabels", w.labels}}},
                {"template", pod_template},
                {"serviceName", w.name},
                {"podManagementPolicy", "OrderedReady"},
                {"updateStrategy",
                 Json{{"type", "RollingUpdate"}, {"rollingUpdate", Json{{"partition", 0}}}}},
                {"revisionHistoryLimit", 10},
                {"persistentVolumeClaimRetentionPolicy",
                 Json{{"whenDeleted", "Retain"}, {"whenScaled", "Retain"}}}};
      if (!w.volume_claim_templates.empty())
        spec["volumeClaimTemplates"] = w.volume_claim_templates;
      Json sts{{"metadata", controllerMeta(w, uid, created)},
               {"spec", spec},
               {"status", Json{{"currentRevision", w.name + "-" + hash},
                               {"updateRevision", w.name + "-" + hash}}}};
      for (int r = 0; r < w.replicas; ++r) {
        PodParams p;
        p.ns = w.ns;
        p.name = w.name + "-" + std::to_string(r);
        p.generate_name = w.name + "-";
        p.labels = w.labels;
        p.labels["apps.kubernetes.io/pod-index"] = std::to_string(r);
        p.labels["controller-revision-hash"] = w.name + "-" + hash;
        p.labels["statefulset.kubernetes.io/pod-name"] = p.name;
        p.pod_spec = w.pod_spec;
        p.pod_spec["hostname"] = p.name;
        p.pod_spec["subdomain"] = w.name;
        addClaimVolumes(w, r, p.pod_spec);
        p.node = node_for(w, r, p.labels);
        p.owner = {"StatefulSet", w.name, uid};
        p.created = created + 1 + r;
        add_pod(std::move(p));
      }
      out.statefulsets.push_back(std::move(sts));
    } else {
      const std::string hash = templateHash(w.ns + "/" + w.name + pod_template.dump());
      Json spec{
          {"selector", Json{{"matchLabels", w.labels}}},
          {"template", pod_template},
          {"updateStrategy", Json{{"type", "RollingUpdate"},
                                  {"rollingUpdate", Json{{"maxUnavailable", 1}, {"maxSurge", 0}}}}},
          {"revisionHistoryLimit", 10}};
      Json meta = controllerMeta(w, uid, created);
      addAnnotations(meta, Json{{"deprecated.daemonset.template.generation", "1"}});
      out.daemonsets.push_back(
          Json{{"metadata", meta}, {"spec", spec}, {"status", Json::object()}});
      const Json scheduling = daemonSchedulingSpec(w.pod_spec);
      for (const auto& node : out.nodes) {
        if (!nodeEligible(node, scheduling)) continue;
        PodParams p;
        p.ns = w.ns;
        p.generate_name = w.name + "-";
        p.name = w.name + "-" + ids.suffix(5);
        p.labels = w.labels;
        p.labels["controller-revision-hash"] = hash;
        p.labels["pod-template-generation"] = "1";
        p.pod_spec = w.pod_spec;
        p.node = node["metadata"]["name"].get<std::string>();
        scheduler.record(p.node, w.ns, p.labels);
        p.owner = {"DaemonSet", w.name, uid};
        p.created = created + 1;
        add_pod(std::move(p));
      }
    }
  }
  for (const auto& bare : s.pods) {
    created += kWorkloadStep;
    PodParams p;
    p.ns = bare.ns;
    p.name = bare.name;
    p.labels = bare.labels;
    p.pod_spec = bare.pod_spec;
    p.annotations = bare.annotations;
    if (bare.is_static) {
      const Json& node = *node_by_name.at(bare.node);
      p.owner = {"Node", bare.node, node["metadata"]["uid"].get<std::string>()};
      p.pod_spec = staticPodSpec(bare.pod_spec);
      const std::string hash = templateHash(bare.ns + "/" + bare.name + p.pod_spec.dump(), 32);
      Json annotations{{"kubernetes.io/config.hash", hash},
                       {"kubernetes.io/config.mirror", hash},
                       {"kubernetes.io/config.seen", formatRfc3339(s.epoch + 15)},
                       {"kubernetes.io/config.source", "file"}};
      annotations.update(bare.annotations);
      p.annotations = annotations;
    }
    if (bare.node.empty()) {
      p.node = scheduler.place(bare.pod_spec, bare.ns, bare.labels).value_or("");
    } else {
      p.node = bare.node;
      scheduler.record(p.node, bare.ns, bare.labels);
    }
    p.created = created;
    add_pod(std::move(p));
  }
  for (const auto& pdb : s.pdbs) {
    created += kWorkloadStep;
    Json spec = Json::object();
    if (!pdb.min_available.is_null()) spec["minAvailable"] = pdb.min_available;
    if (!pdb.max_unavailable.is_null()) spec["maxUnavailable"] = pdb.max_unavailable;
    spec["selector"] = pdb.selector;
    Json meta{{"name", pdb.name}, {"namespace", pdb.ns},
              {"uid", ids.uid()}, {"resourceVersion", "0"},
              {"generation", 1},  {"creationTimestamp", formatRfc3339(created)}};
    out.pdbs.push_back(Json{{"metadata", meta}, {"spec", spec}, {"status", Json::object()}});
  }
  // Drawn after everything above, so that adding these to a scenario leaves
  // the other objects' identifiers as they were.
  addServices(s, created, ids, out);
  addClaims(s, ids, out);
  addHpas(s, created, ids, out);
  addVelero(s, ids, out);
  return out;
}

}  // namespace rampart::kubesim
