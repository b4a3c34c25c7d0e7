// Services, PersistentVolumeClaims and PersistentVolumes, HPAs and Velero
// objects of a scenario, in the shapes the API server (and Velero) store.
#include "scenario/initial_resources.h"

#include <algorithm>
#include <optional>
#include <set>

namespace rampart::kubesim {
namespace {

constexpr int64_t kStep = 7;
constexpr int64_t kSettle = 600;  // initial statuses are settled at epoch + 10 minutes
constexpr const char* kProvisioner = "disk.csi.kubesim.io";
constexpr const char* kDefaultStorageClass = "standard";

Json objectMeta(const std::string& ns, const std::string& name, IdGenerator& ids, int64_t created) {
  Json meta{{"name", name}};
  if (!ns.empty()) meta["namespace"] = ns;
  meta["uid"] = ids.uid();
  meta["resourceVersion"] = "0";
  meta["creationTimestamp"] = formatRfc3339(created);
  return meta;
}

std::string nodeZone(const InitialObjects& out, const std::string& node) {
  for (const auto& n : out.nodes) {
    if (n["metadata"]["name"] == node) {
      return n["metadata"]["labels"].value("topology.kubernetes.io/zone", "");
    }
  }
  return "";
}

const Json* findPod(const InitialObjects& out, const std::string& ns, const std::string& name) {
  for (const auto& p : out.pods) {
    if (p["metadata"]["namespace"] == ns && p["metadata"]["name"] == name) return &p;
  }
  return nullptr;
}

// "250m" or "2" -> millicores; nullopt for anything else.
std::optional<int64_t> milliCpu(const Json& quantity) {
  if (!quantity.is_string()) return std::nullopt;
  std::string q = quantity.get<std::string>();
  const bool milli = !q.empty() && q.back() == 'm';
  if (milli) q.pop_back();
  if (q.empty() || q.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  const int64_t v = std::stoll(q);
  return milli ? v : v * 1000;
}

// Velero's compact timestamp in generated backup names: 20260102020000.
std::string compactTime(int64_t t) {
  std::string out;
  for (char c : formatRfc3339(t)) {
    if (c >= '0' && c <= '9') out.push_back(c);
  }
  return out;
}

std::string ttlOf(const Json& spec) {
  return spec.value("ttl", std::string("720h0m0s"));
}

}  // namespace

std::string claimName(const std::string& claim_template, const std::string& statefulset,
                      int ordinal) {
  return claim_template + "-" + statefulset + "-" + std::to_string(ordinal);
}

void addServices(const Scenario& s, int64_t created, IdGenerator& ids, InitialObjects& out) {
  std::set<std::string> used_ips = {"10.96.0.1", "10.96.0.10"};
  std::set<int64_t> used_node_ports;
  for (const auto& svc : s.services) {
    for (const auto& p : svc.ports) {
      if (p.contains("nodePort")) used_node_ports.insert(p["nodePort"].get<int64_t>());
    }
  }
  int next_lb = 10;
  auto make = [&](const ServiceSpec& svc, const std::string& fixed_ip, int64_t when) {
    Json meta = objectMeta(svc.ns, svc.name, ids, when);
    if (!svc.labels.empty()) meta["labels"] = svc.labels;
    std::string ip = fixed_ip;
    if (svc.cluster_ip == "None") {
      ip = "None";
    } else if (ip.empty() && svc.ns == "kube-system" && svc.name == "kube-dns") {
      ip = "10.96.0.10";
    }
    while (ip.empty()) {
      const uint64_t r = ids.next();
      std::string candidate =
          "10.96." + std::to_string((r >> 8) % 256) + "." + std::to_string(r % 254 + 1);
      if (used_ips.insert(candidate).second) ip = candidate;
    }
    const bool node_ports = svc.type != "ClusterIP";
    Json ports = svc.ports;
    for (auto& p : ports) {
      while (node_ports && !p.contains("nodePort")) {
        const int64_t candidate = 30000 + static_cast<int64_t>(ids.next() % 2768);
        if (used_node_ports.insert(candidate).second) p["nodePort"] = candidate;
      }
    }
    Json spec = Json::object();
    if (!ports.empty()) spec["ports"] = ports;
    if (svc.selector.is_object()) spec["selector"] = svc.selector;
    spec["clusterIP"] = ip;
    spec["clusterIPs"] = Json::array({ip});
    spec["type"] = svc.type;
    spec["sessionAffinity"] = "None";
    if (node_ports) spec["externalTrafficPolicy"] = "Cluster";
    spec["ipFamilies"] = Json::array({"IPv4"});
    spec["ipFamilyPolicy"] = "SingleStack";
    if (svc.type == "LoadBalancer") spec["allocateLoadBalancerNodePorts"] = true;
    spec["internalTrafficPolicy"] = "Cluster";
    Json status{{"loadBalancer", Json::object()}};
    if (svc.type == "LoadBalancer") {
      status["loadBalancer"]["ingress"] =
          Json::array({Json{{"ip", "203.0.113." + std::to_string(next_lb++)}, {"ipMode", "VIP"}}});
    }
    out.services.push_back(Json{{"metadata", meta}, {"spec", spec}, {"status", status}});
  };
  bool has_kubernetes = false;
  for (const auto& svc : s.services) {
    created += kStep;
    make(svc, "", created);
    has_kubernetes = has_kubernetes || (svc.ns == "default" && svc.name == "kubernetes");
  }
  if (!has_kubernetes) {
    ServiceSpec api;
    api.ns = "default";
    api.name = "kubernetes";
    api.labels = Json{{"component", "apiserver"}, {"provider", "kubernetes"}};
    api.ports = Json::array(
        {Json{{"name", "https"}, {"protocol", "TCP"}, {"port", 443}, {"targetPort", 6443}}});
    make(api, "10.96.0.1", s.epoch);
  }
}

void addClaims(const Scenario& s, IdGenerator& ids, InitialObjects& out) {
  for (const auto& w : s.workloads) {
    if (w.kind != WorkloadKind::kStatefulSet) continue;
    for (int r = 0; r < w.replicas; ++r) {
      const Json* pod = findPod(out, w.ns, w.name + "-" + std::to_string(r));
      if (!pod) continue;
      const std::string node = (*pod)["spec"].value("nodeName", "");
      const int64_t created =
          parseRfc3339Seconds((*pod)["metadata"].value("creationTimestamp", "")).value_or(s.epoch);
      for (const auto& t : w.volume_claim_templates) {
        const std::string name = claimName(t["metadata"]["name"], w.name, r);
        Json meta = objectMeta(w.ns, name, ids, created);
        meta["labels"] = w.labels;  // the StatefulSet's matchLabels
        const std::string pvc_uid = meta["uid"];
        Json spec = t["spec"];
        const std::string storage_class = spec.value("storageClassName", kDefaultStorageClass);
        spec["storageClassName"] = storage_class;
        Json annotations{{"volume.beta.kubernetes.io/storage-provisioner", kProvisioner},
                         {"volume.kubernetes.io/storage-provisioner", kProvisioner}};
        meta["finalizers"] = Json::array({"kubernetes.io/pvc-protection"});
        if (node.empty()) {
          // WaitForFirstConsumer: nothing is provisioned until the pod is scheduled.
          meta["annotations"] = annotations;
          out.pvcs.push_back(
              Json{{"metadata", meta}, {"spec", spec}, {"status", Json{{"phase", "Pending"}}}});
          continue;
        }
        const std::string pv_name = "pvc-" + pvc_uid;
        annotations["pv.kubernetes.io/bind-completed"] = "yes";
        annotations["pv.kubernetes.io/bound-by-controller"] = "yes";
        annotations["volume.kubernetes.io/selected-node"] = node;
        meta["annotations"] = annotations;
        spec["volumeName"] = pv_name;
        const Json storage = spec["resources"]["requests"]["storage"];
        out.pvcs.push_back(Json{{"metadata", meta},
                                {"spec", spec},
                                {"status", Json{{"phase", "Bound"},
                                                {"accessModes", spec["accessModes"]},
                                                {"capacity", Json{{"storage", storage}}}}}});

        const std::string zone = nodeZone(out, node);
        Json term = zone.empty() ? Json{{"key", "kubernetes.io/hostname"},
                                        {"operator", "In"},
                                        {"values", Json::array({node})}}
                                 : Json{{"key", "topology.kubernetes.io/zone"},
                                        {"operator", "In"},
                                        {"values", Json::array({zone})}};
        Json pv_meta = objectMeta("", pv_name, ids, created + 3);
        pv_meta["annotations"] =
            Json{{"pv.kubernetes.io/provisioned-by", kProvisioner},
                 {"volume.kubernetes.io/provisioner-deletion-secret-name", ""},
                 {"volume.kubernetes.io/provisioner-deletion-secret-namespace", ""}};
        pv_meta["finalizers"] = Json::array(
            {"external-provisioner.volume.kubernetes.io/finalizer", "kubernetes.io/pv-protection"});
        Json pv_spec{
            {"capacity", Json{{"storage", storage}}},
            {"csi", Json{{"driver", kProvisioner},
                         {"volumeHandle", "vol-" + ids.hex(17)},
                         {"fsType", "ext4"},
                         {"volumeAttributes",
                          Json{{"storage.kubernetes.io/csiProvisionerIdentity",
                                std::to_string(s.epoch) + "000-1234-" + kProvisioner}}}}},
            {"accessModes", spec["accessModes"]},
            {"claimRef", Json{{"kind", "PersistentVolumeClaim"},
                              {"namespace", w.ns},
                              {"name", name},
                              {"uid", pvc_uid},
                              {"apiVersion", "v1"}}},
            {"persistentVolumeReclaimPolicy", "Delete"},
            {"storageClassName", storage_class},
            {"volumeMode", spec.value("volumeMode", "Filesystem")},
            {"nodeAffinity",
             Json{{"required",
                   Json{{"nodeSelectorTerms",
                         Json::array({Json{{"matchExpressions", Json::array({term})}}})}}}}}};
        out.pvs.push_back(Json{
            {"metadata", pv_meta},
            {"spec", pv_spec},
            {"status",
             Json{{"phase", "Bound"}, {"lastPhaseTransitionTime", formatRfc3339(created + 3)}}}});
      }
    }
  }
}

void addHpas(const Scenario& s, int64_t created, IdGenerator& ids, InitialObjects& out) {
  for (const auto& h : s.hpas) {
    created += kStep;
    Json spec{
        {"scaleTargetRef",
         Json{{"kind", h.target_kind}, {"name", h.target_name}, {"apiVersion", "apps/v1"}}},
        {"minReplicas", h.min_replicas},
        {"maxReplicas", h.max_replicas},
        {"metrics",
         Json::array({Json{
             {"type", "Resource"},
             {"resource", Json{{"name", "cpu"},
                               {"target", Json{{"type", "Utilization"},
                                               {"averageUtilization", h.cpu_utilization}}}}}}})}};
    // averageValue is the utilization of the first container's CPU request.
    Json current{{"averageUtilization", h.current_cpu_utilization}};
    for (const auto& w : s.workloads) {
      if (w.ns != h.ns || w.name != h.target_name) continue;
      const Json& containers = w.pod_spec["containers"];
      if (containers.empty()) continue;
      Json request = containers[0]
                         .value("resources", Json::object())
                         .value("requests", Json::object())
                         .value("cpu", Json());
      if (auto m = milliCpu(request)) {
        current = Json{{"averageValue", std::to_string(*m * h.current_cpu_utilization / 100) + "m"},
                       {"averageUtilization", h.current_cpu_utilization}};
      }
    }
    Json status{{"currentMetrics",
                 Json::array({Json{{"type", "Resource"},
                                   {"resource", Json{{"name", "cpu"}, {"current", current}}}}})}};
    out.hpas.push_back(Json{
        {"metadata", objectMeta(h.ns, h.name, ids, created)}, {"spec", spec}, {"status", status}});
  }
}

void addVelero(const Scenario& s, IdGenerator& ids, InitialObjects& out) {
  if (!s.velero.installed) return;
  const int64_t settled = s.epoch + kSettle;
  const std::string& ns = s.velero.ns;
  const Json template_defaults{{"csiSnapshotTimeout", "10m0s"},
                               {"hooks", Json::object()},
                               {"includedNamespaces", Json::array({"*"})},
                               {"itemOperationTimeout", "4h0m0s"},
                               {"metadata", Json::object()},
                               {"ttl", "720h0m0s"}};
  for (const auto& sched : s.velero.schedules) {
    int64_t oldest = settled;
    int64_t newest = 0;
    for (const auto& b : s.velero.backups) {
      if (b.schedule != sched.name) continue;
      oldest = std::min(oldest, settled - b.ago_seconds);
      newest = std::max(newest, settled - b.ago_seconds);
    }
    Json backup_template = template_defaults;
    backup_template.update(sched.backup_template);
    Json spec{{"schedule", sched.cron},
              {"template", backup_template},
              {"useOwnerReferencesInBackup", false}};
    if (sched.paused) spec["paused"] = true;
    Json meta = objectMeta(ns, sched.name, ids, std::min(s.epoch + 300, oldest - 3600));
    meta["generation"] = 1;
    Json status{{"phase", "Enabled"}};
    if (newest > 0) status["lastBackup"] = formatRfc3339(newest);
    out.velero_schedules.push_back(Json{{"metadata", meta}, {"spec", spec}, {"status", status}});
  }

  const std::string version = s.kubelet_version;
  std::string minor;
  if (auto dot = version.find('.'); dot != std::string::npos) {
    minor = version.substr(dot + 1, version.find('.', dot + 1) - dot - 1);
  }
  for (const auto& b : s.velero.backups) {
    const int64_t start = settled - b.ago_seconds;
    const std::string name = b.name.empty() ? b.schedule + "-" + compactTime(start) : b.name;
    Json meta = objectMeta(ns, name, ids, start);
    meta["generation"] = 1;
    Json labels{{"velero.io/storage-location", "default"}};
    if (!b.schedule.empty()) labels["velero.io/schedule-name"] = b.schedule;
    meta["labels"] = labels;
    meta["annotations"] = Json{{"velero.io/resource-timeout", "10m0s"},
                               {"velero.io/source-cluster-k8s-gitversion", version},
                               {"velero.io/source-cluster-k8s-major-version", "1"},
                               {"velero.io/source-cluster-k8s-minor-version", minor}};
    Json spec = template_defaults;
    spec.update(b.spec);
    if (!spec.contains("storageLocation")) spec["storageLocation"] = "default";
    if (!spec.contains("volumeSnapshotLocations")) {
      spec["volumeSnapshotLocations"] = Json::array({"default"});
    }
    if (!spec.contains("defaultVolumesToFsBackup")) spec["defaultVolumesToFsBackup"] = false;
    const int64_t ttl = parseAgo(ttlOf(spec)).value_or(720 * 3600);
    const int total = 120 + static_cast<int>(ids.next() % 300);
    Json status{{"version", 1}, {"formatVersion", "1.1.0"}};
    if (b.phase == "FailedValidation" || b.phase == "New") {
      status["phase"] = b.phase;
      if (b.phase == "FailedValidation") {
        status["validationErrors"] =
            Json::array({"an existing backup storage location was not specified at backup "
                         "creation time and the default 'default' was not found"});
      }
    } else {
      status["expiration"] = formatRfc3339(start + ttl);
      status["phase"] = b.phase;
      status["startTimestamp"] = formatRfc3339(start);
      const bool finished =
          b.phase == "Completed" || b.phase == "PartiallyFailed" || b.phase == "Failed";
      if (finished) status["completionTimestamp"] = formatRfc3339(start + b.duration_seconds);
      const bool all_items = b.phase == "Completed" || b.phase == "PartiallyFailed";
      status["progress"] =
          Json{{"totalItems", total}, {"itemsBackedUp", all_items ? total : total / 3}};
      if (b.errors > 0) status["errors"] = b.errors;
      if (b.warnings > 0) status["warnings"] = b.warnings;
      if (b.phase == "Failed") {
        status["failureReason"] =
            "error uploading backup to object storage: AccessDenied: Access Denied (status code: "
            "403)";
      }
      status["hookStatus"] = Json::object();
    }
    out.velero_backups.push_back(Json{{"metadata", meta}, {"spec", spec}, {"status", status}});
  }
}

}  // namespace rampart::kubesim
