#include "scenario/objects.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "api/selectors.h"
#include "cluster/scheduler.h"

namespace rampart::kubesim {
namespace {

Json ownerRef(std::string_view api_version, std::string_view kind, const std::string& name,
              const std::string& uid) {
  return Json{{"apiVersion", api_version},
              {"kind", kind},
              {"name", name},
              {"uid", uid},
              {"controller", true},
              {"blockOwnerDeletion", true}};
}

Json condition(std::string_view type, bool status, const std::string& when,
               std::string_view reason = "", std::string_view message = "") {
  Json c{{"type", type},
         {"status", status ? "True" : "False"},
         {"lastProbeTime", nullptr},
         {"lastTransitionTime", when}};
  if (!reason.empty()) c["reason"] = reason;
  if (!message.empty()) c["message"] = message;
  return c;
}

void defaultProbe(Json& probe) {
  if (!probe.is_object()) return;
  if (!probe.contains("timeoutSeconds")) probe["timeoutSeconds"] = 1;
  if (!probe.contains("periodSeconds")) probe["periodSeconds"] = 10;
  if (!probe.contains("successThreshold")) probe["successThreshold"] = 1;
  if (!probe.contains("failureThreshold")) probe["failureThreshold"] = 3;
}

bool hasToleration(const Json& tolerations, std::string_view key, std::string_view effect) {
  for (const auto& t : tolerations) {
    if (t.value("key", "") == key && t.value("effect", "") == effect) return true;
    if (t.value("key", "").empty() && t.value("operator", "") == "Exists") return true;
  }
  return false;
}

// What the API server's admission and defaulting add to a pod spec.
Json defaultPodSpec(Json spec, const std::string& node, bool daemon) {
  for (auto& c : spec["containers"]) {
    if (!c.contains("resources")) c["resources"] = Json::object();
    for (const char* p : {"livenessProbe", "readinessProbe", "startupProbe"}) {
      if (c.contains(p)) defaultProbe(c[p]);
    }
    if (!c.contains("terminationMessagePath")) c["terminationMessagePath"] = "/dev/termination-log";
    if (!c.contains("terminationMessagePolicy")) c["terminationMessagePolicy"] = "File";
    if (!c.contains("imagePullPolicy")) c["imagePullPolicy"] = "IfNotPresent";
  }
  Json out = Json::object();
  out["containers"] = spec["containers"];
  out["restartPolicy"] = spec.value("restartPolicy", "Always");
  out["terminationGracePeriodSeconds"] = spec.value("terminationGracePeriodSeconds", 30);
  out["dnsPolicy"] = spec.value("dnsPolicy", "ClusterFirst");
  if (spec.contains("nodeSelector")) out["nodeSelector"] = spec["nodeSelector"];
  const std::string sa = spec.value("serviceAccountName", "default");
  out["serviceAccountName"] = sa;
  out["serviceAccount"] = sa;
  if (!node.empty()) out["nodeName"] = node;
  out["securityContext"] = spec.value("securityContext", Json::object());
  Json affinity = spec.value("affinity", Json());
  if (daemon && !node.empty()) {
    // The DaemonSet controller pins each pod to its node with matchFields.
    affinity = affinity.is_object() ? affinity : Json::object();
    affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] =
        Json{{"nodeSelectorTerms",
              Json::array(
                  {Json{{"matchFields", Json::array({Json{{"key", "metadata.name"},
                                                          {"operator", "In"},
                                                          {"values", Json::array({node})}}})}}})}};
  }
  if (affinity.is_object()) out["affinity"] = affinity;
  out["schedulerName"] = spec.value("schedulerName", "default-scheduler");
  Json tolerations = spec.value("tolerations", Json::array());
  if (daemon) {
    for (auto [key, effect] : std::initializer_list<std::pair<std::string_view, std::string_view>>{
             {"node.kubernetes.io/not-ready", "NoExecute"},
             {"node.kubernetes.io/unreachable", "NoExecute"},
             {"node.kubernetes.io/disk-pressure", "NoSchedule"},
             {"node.kubernetes.io/memory-pressure", "NoSchedule"},
             {"node.kubernetes.io/pid-pressure", "NoSchedule"},
             {"node.kubernetes.io/unschedulable", "NoSchedule"}}) {
      if (!hasToleration(tolerations, key, effect)) {
        tolerations.push_back(Json{{"key", key}, {"operator", "Exists"}, {"effect", effect}});
      }
    }
  } else {
    for (std::string_view key :
         {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}) {
      if (!hasToleration(tolerations, key, "NoExecute")) {
        tolerations.push_back(Json{{"key", key},
                                   {"operator", "Exists"},
                                   {"effect", "NoExecute"},
                                   {"tolerationSeconds", 300}});
      }
    }
  }
  out["tolerations"] = tolerations;
  if (spec.contains("topologySpreadConstraints")) {
    out["topologySpreadConstraints"] = spec["topologySpreadConstraints"];
  }
  for (const auto& [k, v] : spec.items()) {
    if (!out.contains(k)) out[k] = v;  // anything else the scenario set, verbatim
  }
  out["priority"] = spec.value("priority", 0);
  out["enableServiceLinks"] = spec.value("enableServiceLinks", true);
  out["preemptionPolicy"] = spec.value("preemptionPolicy", "PreemptLowerPriority");
  return out;
}

std::string qosClass(const Json& containers) {
  bool any = false;
  for (const auto& c : containers) {
    const Json& r = c.value("resources", Json::object());
    if (!r.empty()) any = true;
  }
  return any ? "Burstable" : "BestEffort";
}

int scaled(const Json& value, int total, bool round_up) {
  if (value.is_number_integer()) return value.get<int>();
  if (value.is_string()) {
    const std::string s = value.get<std::string>();
    double pct = std::strtod(s.c_str(), nullptr);
    double v = pct * total / 100.0;
    return static_cast<int>(round_up ? std::ceil(v) : std::floor(v));
  }
  return 0;
}

void putCount(Json& status, const char* key, int value) {
  if (value != 0) status[key] = value;  // omitempty, as the real types declare
}

}  // namespace

Json makePod(const PodParams& p, IdGenerator& ids) {
  const bool daemon = p.owner.kind == "DaemonSet";
  const std::string created = formatRfc3339(p.created);
  Json meta = Json::object();
  meta["name"] = p.name;
  if (!p.generate_name.empty()) meta["generateName"] = p.generate_name;
  meta["namespace"] = p.ns;
  meta["uid"] = ids.uid();
  meta["resourceVersion"] = "0";
  meta["creationTimestamp"] = created;
  meta["labels"] = p.labels;
  if (!p.annotations.empty()) meta["annotations"] = p.annotations;
  if (p.owner.kind == "Node") {
    // A mirror pod: the kubelet names its node as the controller.
    meta["ownerReferences"] = Json::array({Json{{"apiVersion", "v1"},
                                                {"kind", "Node"},
                                                {"name", p.owner.name},
                                                {"uid", p.owner.uid},
                                                {"controller", true}}});
  } else if (!p.owner.kind.empty()) {
    meta["ownerReferences"] =
        Json::array({ownerRef("apps/v1", p.owner.kind, p.owner.name, p.owner.uid)});
  }
  Json spec = defaultPodSpec(p.pod_spec, p.node, daemon);
  Json status = Json::object();
  if (p.node.empty()) {
    status["phase"] = "Pending";
    status["conditions"] = Json::array(
        {condition("PodScheduled", false, created, "Unschedulable",
                   "0/0 nodes are available: no node matched the pod's placement rules.")});
    status["qosClass"] = qosClass(spec["containers"]);
    return Json{{"metadata", meta}, {"spec", spec}, {"status", status}};
  }
  const std::string started = formatRfc3339(p.created + 2);
  const std::string ready_at = formatRfc3339(p.created + 5);
  status["phase"] = "Running";
  status["conditions"] =
      Json::array({condition("PodReadyToStartContainers", true, started),
                   condition("Initialized", true, formatRfc3339(p.created + 1)),
                   condition("Ready", true, ready_at), condition("ContainersReady", true, ready_at),
                   condition("PodScheduled", true, created)});
  status["hostIP"] = p.host_ip;
  status["hostIPs"] = Json::array({Json{{"ip", p.host_ip}}});
  status["podIP"] = p.pod_ip;
  status["podIPs"] = Json::array({Json{{"ip", p.pod_ip}}});
  status["startTime"] = formatRfc3339(p.created + 1);
  Json statuses = Json::array();
  for (const auto& c : spec["containers"]) {
    const std::string image = c.value("image", "");
    const std::string container_id = "containerd://" + ids.hex(64);
    statuses.push_back(Json{{"name", c["name"]},
                            {"state", Json{{"running", Json{{"startedAt", started}}}}},
                            {"lastState", Json::object()},
                            {"ready", true},
                            {"restartCount", 0},
                            {"image", image},
                            {"imageID", image + "@sha256:" + ids.hex(64)},
                            {"containerID", container_id},
                            {"started", true}});
  }
  status["containerStatuses"] = statuses;
  status["qosClass"] = qosClass(spec["containers"]);
  return Json{{"metadata", meta}, {"spec", spec}, {"status", status}};
}

bool podTerminating(const Json& pod) {
  return pod["metadata"].contains("deletionTimestamp");
}

bool podReady(const Json& pod) {
  if (podTerminating(pod)) return false;
  for (const auto& c : pod["status"].value("conditions", Json::array())) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

int podRestarts(const Json& pod) {
  int total = 0;
  for (const auto& c : pod["status"].value("containerStatuses", Json::array())) {
    total += c.value("restartCount", 0);
  }
  return total;
}

bool refreshPodConditions(Json& pod, bool node_ready, int64_t now) {
  Json& status = pod["status"];
  if (!status.contains("containerStatuses")) return false;
  std::vector<std::string> unready;
  for (const auto& c : status["containerStatuses"]) {
    if (!c.value("ready", false)) unready.push_back(c["name"].get<std::string>());
  }
  const bool containers_ready = unready.empty();
  std::string message;
  if (!containers_ready) {
    message = "containers with unready status: [";
    for (size_t i = 0; i < unready.size(); ++i) message += (i ? " " : "") + unready[i];
    message += "]";
  }
  bool changed = false;
  for (auto& c : status["conditions"]) {
    const std::string type = c.value("type", "");
    bool want;
    std::string reason;
    if (type == "ContainersReady") {
      want = containers_ready;
      reason = containers_ready ? "" : "ContainersNotReady";
    } else if (type == "Ready") {
      want = containers_ready && node_ready;
      reason = want ? "" : (containers_ready ? "NodeNotReady" : "ContainersNotReady");
    } else {
      continue;
    }
    const std::string want_status = want ? "True" : "False";
    if (c.value("status", "") != want_status || c.value("reason", "") != reason) {
      Json fresh{{"type", type},
                 {"status", want_status},
                 {"lastProbeTime", nullptr},
                 {"lastTransitionTime", formatRfc3339(now)}};
      if (!want) {
        fresh["reason"] = reason;
        fresh["message"] = containers_ready ? "Node is not ready" : message;
      }
      c = fresh;
      changed = true;
    }
  }
  return changed;
}

bool nodeReady(const Json& node) {
  for (const auto& c : node["status"].value("conditions", Json::array())) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

void markNodeDown(Json& node, int64_t now) {
  for (auto& c : node["status"]["conditions"]) {
    const std::string type = c["type"];
    if (type == "NetworkUnavailable") continue;  // set by the CNI, not the kubelet
    c["status"] = "Unknown";
    c["lastTransitionTime"] = formatRfc3339(now);
    c["reason"] = "NodeStatusUnknown";
    c["message"] = "Kubelet stopped posting node status.";
  }
  Json& spec = node["spec"];
  if (!spec.contains("taints")) spec["taints"] = Json::array();
  Json& taints = spec["taints"];
  for (const char* effect : {"NoSchedule", "NoExecute"}) {
    bool present = std::any_of(taints.begin(), taints.end(), [&](const Json& t) {
      return t.value("key", "") == "node.kubernetes.io/unreachable" &&
             t.value("effect", "") == effect;
    });
    if (present) continue;
    Json t{{"key", "node.kubernetes.io/unreachable"}, {"effect", effect}};
    if (std::string_view(effect) == "NoExecute") t["timeAdded"] = formatRfc3339(now);
    taints.push_back(t);
  }
}

void markNodeUp(Json& node, int64_t now) {
  static const std::map<std::string, std::pair<std::string, std::string>> kHealthy = {
      {"MemoryPressure", {"KubeletHasSufficientMemory", "kubelet has sufficient memory available"}},
      {"DiskPressure", {"KubeletHasNoDiskPressure", "kubelet has no disk pressure"}},
      {"PIDPressure", {"KubeletHasSufficientPID", "kubelet has sufficient PID available"}},
      {"Ready", {"KubeletReady", "kubelet is posting ready status"}},
  };
  for (auto& c : node["status"]["conditions"]) {
    auto it = kHealthy.find(c["type"].get<std::string>());
    if (it == kHealthy.end()) continue;
    const std::string want = it->first == "Ready" ? "True" : "False";
    if (c["status"] != want) c["lastTransitionTime"] = formatRfc3339(now);
    c["status"] = want;
    c["lastHeartbeatTime"] = formatRfc3339(now);
    c["reason"] = it->second.first;
    c["message"] = it->second.second;
  }
  Json& spec = node["spec"];
  if (spec.contains("taints")) {
    Json kept = Json::array();
    for (const auto& t : spec["taints"]) {
      if (t.value("key", "") != "node.kubernetes.io/unreachable") kept.push_back(t);
    }
    if (kept.empty()) {
      spec.erase("taints");
    } else {
      spec["taints"] = kept;
    }
  }
}

Json replicaSetStatus(const Json& rs, const std::vector<const Json*>& pods) {
  int replicas = 0, ready = 0;
  for (const Json* p : pods) {
    ++replicas;
    if (podReady(*p)) ++ready;
  }
  (void)rs;
  Json s = Json::object();
  s["replicas"] = replicas;
  putCount(s, "fullyLabeledReplicas", replicas);
  putCount(s, "readyReplicas", ready);
  putCount(s, "availableReplicas", ready);
  s["observedGeneration"] = 1;
  return s;
}

Json deploymentStatus(const Json& deployment, const std::vector<const Json*>& pods,
                      const Json& previous, int64_t now) {
  const int desired = deployment["spec"].value("replicas", 1);
  int replicas = 0, ready = 0;
  for (const Json* p : pods) {
    ++replicas;
    if (podReady(*p)) ++ready;
  }
  const int max_unavailable = scaled(Json("25%"), desired, false);
  const bool available = ready >= desired - max_unavailable;
  Json s = Json::object();
  s["observedGeneration"] = 1;
  putCount(s, "replicas", replicas);
  putCount(s, "updatedReplicas", replicas);
  putCount(s, "readyReplicas", ready);
  putCount(s, "availableReplicas", ready);
  putCount(s, "unavailableReplicas", std::max(0, desired - ready));
  const std::string when = formatRfc3339(now);
  Json prev_available = Json();
  Json prev_progressing = Json();
  for (const auto& c : previous.value("conditions", Json::array())) {
    if (c.value("type", "") == "Available") prev_available = c;
    if (c.value("type", "") == "Progressing") prev_progressing = c;
  }
  Json avail{{"type", "Available"},
             {"status", available ? "True" : "False"},
             {"lastUpdateTime", when},
             {"lastTransitionTime", when},
             {"reason", available ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable"},
             {"message", available ? "Deployment has minimum availability."
                                   : "Deployment does not have minimum availability."}};
  if (prev_available.is_object() && prev_available["status"] == avail["status"]) {
    avail = prev_available;
  }
  Json progressing = prev_progressing;
  if (!progressing.is_object()) {
    progressing = Json{{"type", "Progressing"},
                       {"status", "True"},
                       {"lastUpdateTime", when},
                       {"lastTransitionTime", when},
                       {"reason", "NewReplicaSetAvailable"},
                       {"message", "Deployment has successfully progressed."}};
  }
  s["conditions"] = Json::array({avail, progressing});
  return s;
}

Json statefulSetStatus(const Json& sts, const std::vector<const Json*>& pods) {
  int replicas = 0, ready = 0;
  for (const Json* p : pods) {
    ++replicas;
    if (podReady(*p)) ++ready;
  }
  const std::string revision = sts["status"].value("currentRevision", "");
  Json s = Json::object();
  s["observedGeneration"] = 1;
  s["replicas"] = replicas;
  putCount(s, "readyReplicas", ready);
  putCount(s, "currentReplicas", replicas);
  putCount(s, "updatedReplicas", replicas);
  s["currentRevision"] = revision;
  s["updateRevision"] = revision;
  s["collisionCount"] = 0;
  s["availableReplicas"] = ready;
  return s;
}

Json daemonSetStatus(const Json& ds, const std::vector<const Json*>& pods, int desired) {
  (void)ds;
  int scheduled = 0, ready = 0;
  for (const Json* p : pods) {
    ++scheduled;
    if (podReady(*p)) ++ready;
  }
  Json s = Json::object();
  s["currentNumberScheduled"] = scheduled;
  s["numberMisscheduled"] = 0;
  s["desiredNumberScheduled"] = desired;
  s["numberReady"] = ready;
  s["observedGeneration"] = 1;
  s["updatedNumberScheduled"] = scheduled;
  putCount(s, "numberAvailable", ready);
  putCount(s, "numberUnavailable", std::max(0, desired - ready));
  return s;
}

Json hpaStatus(const Json& hpa, int current_replicas, const Json& previous, int64_t now) {
  const Json& spec = hpa["spec"];
  const int min = spec.value("minReplicas", 1);
  const int max = spec.value("maxReplicas", min);
  int desired = std::clamp(current_replicas, min, std::max(min, max));
  std::string limited_reason = "DesiredWithinRange";
  std::string limited_message = "the desired count is within the acceptable range";
  if (current_replicas < min) {
    limited_reason = "TooFewReplicas";
    limited_message = "the desired replica count is less than the minimum replica count";
  } else if (current_replicas > max) {
    limited_reason = "TooManyReplicas";
    limited_message = "the desired replica count is more than the maximum replica count";
  }
  const std::string when = formatRfc3339(now);
  auto cond = [&](std::string_view type, bool status, std::string_view reason,
                  std::string_view message) {
    Json c{{"type", type},
           {"status", status ? "True" : "False"},
           {"lastTransitionTime", when},
           {"reason", reason},
           {"message", message}};
    for (const auto& p : previous.value("conditions", Json::array())) {
      if (p.value("type", "") == type && p["status"] == c["status"]) {
        c["lastTransitionTime"] = p["lastTransitionTime"];
      }
    }
    return c;
  };
  Json s = Json::object();
  putCount(s, "currentReplicas", current_replicas);
  s["desiredReplicas"] = desired;
  if (previous.contains("currentMetrics")) s["currentMetrics"] = previous["currentMetrics"];
  s["conditions"] = Json::array(
      {cond("AbleToScale", true, "ReadyForNewScale", "recommended size matches current size"),
       cond("ScalingActive", true, "ValidMetricFound",
            "the HPA was able to successfully calculate a replica count from cpu resource "
            "utilization (percentage of request)"),
       cond("ScalingLimited", limited_reason != "DesiredWithinRange", limited_reason,
            limited_message)});
  return s;
}

Json pdbStatus(const Json& pdb, const std::vector<const Json*>& pods, int expected,
               const Json& previous, int64_t now) {
  int healthy = 0;
  for (const Json* p : pods) {
    if (podReady(*p)) ++healthy;
  }
  const Json& spec = pdb["spec"];
  int desired = 0;
  if (spec.contains("minAvailable")) {
    desired = scaled(spec["minAvailable"], expected, true);
  } else if (spec.contains("maxUnavailable")) {
    desired = std::max(0, expected - scaled(spec["maxUnavailable"], expected, true));
  }
  const int allowed = std::max(0, healthy - desired);
  Json s = Json::object();
  s["observedGeneration"] = 1;
  s["disruptionsAllowed"] = allowed;
  s["currentHealthy"] = healthy;
  s["desiredHealthy"] = desired;
  s["expectedPods"] = expected;
  Json cond{{"type", "DisruptionAllowed"},
            {"status", allowed > 0 ? "True" : "False"},
            {"observedGeneration", 1},
            {"lastTransitionTime", formatRfc3339(now)},
            {"reason", allowed > 0 ? "SufficientPods" : "InsufficientPods"},
            {"message", ""}};
  for (const auto& c : previous.value("conditions", Json::array())) {
    if (c.value("type", "") == "DisruptionAllowed" && c["status"] == cond["status"]) cond = c;
  }
  s["conditions"] = Json::array({cond});
  return s;
}

}  // namespace rampart::kubesim
