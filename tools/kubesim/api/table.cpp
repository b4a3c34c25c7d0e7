// Server-side printing, as kube-apiserver's printers do for `kubectl get`:
// the same column names, priorities (1 = only with -o wide) and cell text.
#include <fmt/format.h>

#include <cstdio>

#include "api/api_views.h"
#include "cluster/ids.h"
#include "scenario/objects.h"

namespace rampart::kubesim {
namespace {

struct Column {
  const char* name;
  const char* type;
  const char* format;
  int priority;
  const char* description;
};

Json columnJson(const Column& c) {
  return Json{{"name", c.name},
              {"type", c.type},
              {"format", c.format},
              {"description", c.description},
              {"priority", c.priority}};
}

const char* const kNameDoc =
    "Name must be unique within a namespace. Is required when creating resources, although some "
    "resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const char* const kAgeDoc =
    "CreationTimestamp is a timestamp representing the server time when this object was created.";

std::vector<Column> columnsFor(Resource r) {
  switch (r) {
    case Resource::kPods:
      return {{"Name", "string", "name", 0, kNameDoc},
              {"Ready", "string", "", 0,
               "The aggregate readiness state of this pod for accepting traffic."},
              {"Status", "string", "", 0, "The aggregate status of the containers in this pod."},
              {"Restarts", "string", "", 0,
               "The number of times the containers in this pod have been restarted and when the "
               "last container in this pod has restarted."},
              {"Age", "string", "", 0, kAgeDoc},
              {"IP", "string", "", 1,
               "IP address allocated to the pod. Routable at least within the cluster. Empty if "
               "not yet allocated."},
              {"Node", "string", "", 1,
               "NodeName is a request to schedule this pod onto a specific node."},
              {"Nominated Node", "string", "", 1,
               "nominatedNodeName is set when this pod preempts other pods on the node."},
              {"Readiness Gates", "string", "", 1,
               "If specified, all readiness gates will be evaluated for pod readiness."}};
    case Resource::kNodes:
      return {
          {"Name", "string", "name", 0, kNameDoc},
          {"Status", "string", "", 0, "The status of the node"},
          {"Roles", "string", "", 0, "The roles of the node"},
          {"Age", "string", "", 0, kAgeDoc},
          {"Version", "string", "", 0, "Kubelet Version reported by the node."},
          {"Internal-IP", "string", "", 1,
           "List of addresses reachable to the node. Queried from cloud provider, if available."},
          {"External-IP", "string", "", 1,
           "List of addresses reachable to the node. Queried from cloud provider, if available."},
          {"OS-Image", "string", "", 1,
           "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 "
           "(wheezy))."},
          {"Kernel-Version", "string", "", 1,
           "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."},
          {"Container-Runtime", "string", "", 1,
           "ContainerRuntime Version reported by the node through runtime remote API (e.g. "
           "containerd://1.4.2)."}};
    case Resource::kDeployments:
      return {{"Name", "string", "name", 0, kNameDoc},
              {"Ready", "string", "", 0, "Number of the pod with ready state"},
              {"Up-to-date", "string", "", 0,
               "Total number of non-terminated pods targeted by this deployment that have the "
               "desired template spec."},
              {"Available", "string", "", 0,
               "Total number of available pods (ready for at least minReadySeconds) targeted by "
               "this deployment."},
              {"Age", "string", "", 0, kAgeDoc},
              {"Containers", "string", "", 1, "Names of each container in the template."},
              {"Images", "string", "", 1, "Images referenced by each container in the template."},
              {"Selector", "string", "", 1,
               "Label selector for pods. Existing ReplicaSets whose pods are selected by this will "
               "be the ones affected by this deployment."}};
    case Resource::kReplicaSets:
      return {{"Name", "string", "name", 0, kNameDoc},
              {"Desired", "integer", "", 0, "Replicas is the number of desired replicas."},
              {"Current", "integer", "", 0,
               "Replicas is the most recently observed number of replicas."},
              {"Ready", "integer", "", 0, "The number of ready replicas for this replica set."},
              {"Age", "string", "", 0, kAgeDoc},
              {"Containers", "string", "", 1, "Names of each container in the template."},
              {"Images", "string", "", 1, "Images referenced by each container in the template."},
              {"Selector", "string", "", 1,
               "Selector is a label query over pods that should match the replica count."}};
    case Resource::kStatefulSets:
      return {{"Name", "string", "name", 0, kNameDoc},
              {"Ready", "string", "", 0, "Number of the pod with ready state"},
              {"Age", "string", "", 0, kAgeDoc},
              {"Containers", "string", "", 1, "Names of each container in the template."},
              {"Images", "string", "", 1, "Images referenced by each container in the template."}};
    case Resource::kDaemonSets:
      return {{"Name", "string", "name", 0, kNameDoc},
              {"Desired", "integer", "", 0,
               "The total number of nodes that should be running the daemon pod."},
              {"Current", "integer", "", 0,
               "The number of nodes that are running at least 1 daemon pod and are supposed to run "
               "the daemon pod."},
              {"Ready", "integer", "", 0,
               "numberReady is the number of nodes that should be running the daemon pod and have "
               "one or more of the daemon pod running with a Ready Condition."},
              {"Up-to-date", "integer", "", 0,
               "The total number of nodes that are running updated daemon pod"},
              {"Available", "integer", "", 0,
               "The number of nodes that should be running the daemon pod and have one or more of "
               "the daemon pod running and available."},
              {"Node Selector", "string", "", 0,
               "NodeSelector is a selector which must be true for the pod to fit on a node."},
              {"Age", "string", "", 0, kAgeDoc},
              {"Containers", "string", "", 1, "Names of each container in the template."},
              {"Images", "string", "", 1, "Images referenced by each container in the template."},
              {"Selector", "string", "", 1,
               "A label query over pods that are managed by the daemon set."}};
    case Resource::kPodDisruptionBudgets:
      return {{"Name", "string", "name", 0, kNameDoc},
              {"Min Available", "string", "", 0,
               "The minimum number of pods that must be available simultaneously. This can be "
               "either an integer or a string specifying a percentage, e.g. \"28%\"."},
              {"Max Unavailable", "string", "", 0,
               "The maximum number of pods that may be unavailable simultaneously. This can be "
               "either an integer or a string specifying a percentage, e.g. \"28%\"."},
              {"Allowed Disruptions", "integer", "", 0,
               "Calculated number of pods that may be disrupted at this time."},
              {"Age", "string", "", 0, kAgeDoc}};
    case Resource::kServices:
      return {{"Name", "string", "name", 0, kNameDoc},
              {"Type", "string", "", 0,
               "type determines how the Service is exposed. Defaults to ClusterIP."},
              {"Cluster-IP", "string", "", 0,
               "clusterIP is the IP address of the service and is usually assigned randomly."},
              {"External-IP", "string", "", 0,
               "externalIPs is a list of IP addresses for which nodes in the cluster will also "
               "accept traffic for this service."},
              {"Port(s)", "string", "", 0, "The list of ports that are exposed by this service."},
              {"Age", "string", "", 0, kAgeDoc},
              {"Selector", "string", "", 1,
               "Route service traffic to pods with label keys and values matching this selector."}};
    case Resource::kPersistentVolumeClaims:
      return {{"Name", "string", "name", 0, kNameDoc},
              {"Status", "string", "", 0,
               "phase represents the current phase of PersistentVolumeClaim."},
              {"Volume", "string", "", 0,
               "volumeName is the binding reference to the PersistentVolume backing this claim."},
              {"Capacity", "string", "", 0,
               "capacity represents the actual resources of the underlying volume."},
              {"Access Modes", "string", "", 0,
               "accessModes contains the actual access modes the volume backing the PVC has."},
              {"StorageClass", "string", "", 0, "StorageClass of the pvc"},
              {"VolumeAttributesClass", "string", "", 0, "VolumeAttributesClass of the pvc"},
              {"Age", "string", "", 0, kAgeDoc},
              {"VolumeMode", "string", "", 1,
               "volumeMode defines what type of volume is required by the claim."}};
    case Resource::kPersistentVolumes:
      return {{"Name", "string", "name", 0, kNameDoc},
              {"Capacity", "string", "", 0,
               "capacity is the description of the persistent volume's resources and capacity."},
              {"Access Modes", "string", "", 0,
               "accessModes contains all ways the volume can be mounted."},
              {"Reclaim Policy", "string", "", 0,
               "persistentVolumeReclaimPolicy defines what happens to a persistent volume when "
               "released from its claim."},
              {"Status", "string", "", 0,
               "phase indicates if a volume is available, bound to a claim, or released by a "
               "claim."},
              {"Claim", "string", "", 0,
               "claimRef is part of a bi-directional binding between PersistentVolume and "
               "PersistentVolumeClaim."},
              {"StorageClass", "string", "", 0, "StorageClass of the pv"},
              {"VolumeAttributesClass", "string", "", 0, "VolumeAttributesClass of the pv"},
              {"Reason", "string", "", 0,
               "reason is a brief CamelCase string that describes any failure."},
              {"Age", "string", "", 0, kAgeDoc},
              {"VolumeMode", "string", "", 1,
               "volumeMode defines if a volume is intended to be used with a formatted "
               "filesystem or to remain in raw block state."}};
    case Resource::kHorizontalPodAutoscalers:
      return {
          {"Name", "string", "name", 0, kNameDoc},
          {"Reference", "string", "", 0, "scaleTargetRef points to the target resource to scale."},
          {"Targets", "string", "", 0,
           "metrics contains the specifications for which to use to calculate the desired "
           "replica count."},
          {"MinPods", "string", "", 0,
           "minReplicas is the lower limit for the number of replicas to which the "
           "autoscaler can scale down."},
          {"MaxPods", "string", "", 0,
           "maxReplicas is the upper limit for the number of replicas to which the "
           "autoscaler can scale up."},
          {"Replicas", "string", "", 0,
           "currentReplicas is current number of replicas of pods managed by this "
           "autoscaler."},
          {"Age", "string", "", 0, kAgeDoc}};
    // Velero's CRDs: Name, then their additionalPrinterColumns.
    case Resource::kVeleroBackups:
      return {{"Name", "string", "name", 0, kNameDoc},
              {"Status", "string", "", 0, "Backup status such as InProgress/Completed"},
              {"Errors", "integer", "", 0,
               "Count of all error messages that were generated during execution of this backup"},
              {"Warnings", "integer", "", 0,
               "Count of all warning messages that were generated during execution of this "
               "backup"},
              {"Created", "date", "", 0, "Time when this backup was started"},
              {"Storage Location", "string", "", 0,
               "Name of the Backup Storage Location where this backup should be stored"},
              {"Age", "date", "", 0, ""}};
    case Resource::kVeleroSchedules:
      return {{"Name", "string", "name", 0, kNameDoc},
              {"Status", "string", "", 0, "Status of the schedule"},
              {"Schedule", "string", "", 0, "A Cron expression defining when to run the Backup"},
              {"LastBackup", "date", "", 0, "The last time a Backup was run for this schedule"},
              {"Age", "date", "", 0, ""},
              {"Paused", "boolean", "", 0, ""}};
    case Resource::kLeases:
      return {{"Name", "string", "name", 0, kNameDoc},
              {"Holder", "string", "", 0,
               "holderIdentity contains the identity of the holder of a current lease. If "
               "Coordinated Leader Election is used, the holder identity must be equal to the "
               "elected LeaseCandidate.metadata.name field."},
              {"Age", "string", "", 0, kAgeDoc}};
    case Resource::kNamespaces:
    default:
      return {{"Name", "string", "name", 0, kNameDoc},
              {"Status", "string", "", 0, "The status of the namespace"},
              {"Age", "string", "", 0, kAgeDoc}};
  }
}

std::string age(const Json& obj, int64_t now) {
  auto created = parseRfc3339Seconds(obj["metadata"].value("creationTimestamp", ""));
  return created ? humanDuration(now - *created) : "<unknown>";
}

std::string joinContainers(const Json& pod_template, const char* field) {
  std::string out;
  for (const auto& c : pod_template["spec"].value("containers", Json::array())) {
    if (!out.empty()) out += ",";
    out += c.value(field, "");
  }
  return out;
}

std::string selectorText(const Json& selector) {
  std::string out;
  const Json match_labels = selector.value("matchLabels", Json::object());
  for (const auto& [k, v] : match_labels.items()) {
    if (!out.empty()) out += ",";
    out += k + "=" + v.get<std::string>();
  }
  for (const auto& e : selector.value("matchExpressions", Json::array())) {
    if (!out.empty()) out += ",";
    const std::string op = e.value("operator", "");
    std::string values;
    for (const auto& v : e.value("values", Json::array())) {
      values += (values.empty() ? "" : ",") + v.get<std::string>();
    }
    if (op == "Exists") {
      out += e.value("key", "");
    } else if (op == "DoesNotExist") {
      out += "!" + e.value("key", "");
    } else {
      out += e.value("key", "") + (op == "In" ? " in (" : " notin (") + values + ")";
    }
  }
  return out.empty() ? "<none>" : out;
}

// A CRD "date" column: the age of an RFC 3339 field, or null (kubectl
// prints <none>) when the field is absent.
Json dateCell(const Json& value, int64_t now) {
  if (!value.is_string()) return nullptr;
  auto t = parseRfc3339Seconds(value.get<std::string>());
  return t ? Json(humanDuration(now - *t)) : Json(nullptr);
}

// An optional CRD field: its value, or null.
Json optionalCell(const Json& object, const char* key) {
  return object.is_object() && object.contains(key) ? object[key] : Json(nullptr);
}

std::string accessModes(const Json& modes) {
  std::string out;
  for (const auto& m : modes) {
    const std::string mode = m.get<std::string>();
    const std::string abbr = mode == "ReadWriteOnce"      ? "RWO"
                             : mode == "ReadOnlyMany"     ? "ROX"
                             : mode == "ReadWriteMany"    ? "RWX"
                             : mode == "ReadWriteOncePod" ? "RWOP"
                                                          : mode;
    out += (out.empty() ? "" : ",") + abbr;
  }
  return out;
}

Json serviceCells(const Json& svc, int64_t now) {
  const Json& spec = svc["spec"];
  const std::string type = spec.value("type", "ClusterIP");
  std::vector<std::string> external;
  for (const auto& ip : spec.value("externalIPs", Json::array())) external.push_back(ip);
  if (type == "LoadBalancer") {
    std::vector<std::string> ingress;
    for (const auto& i : svc["status"]["loadBalancer"].value("ingress", Json::array())) {
      ingress.push_back(i.contains("ip") ? i.value("ip", "") : i.value("hostname", ""));
    }
    if (ingress.empty() && external.empty()) external.push_back("<pending>");
    external.insert(external.end(), ingress.begin(), ingress.end());
  }
  std::string external_text;
  for (const auto& e : external) external_text += (external_text.empty() ? "" : ",") + e;
  std::string ports;
  for (const auto& p : spec.value("ports", Json::array())) {
    std::string port = std::to_string(p.value("port", 0));
    if (p.contains("nodePort")) port += ":" + std::to_string(p.value("nodePort", 0));
    ports += (ports.empty() ? "" : ",") + port + "/" + p.value("protocol", "TCP");
  }
  std::string selector;
  const Json selector_labels = spec.value("selector", Json::object());
  for (const auto& [k, v] : selector_labels.items()) {
    selector += (selector.empty() ? "" : ",") + k + "=" + v.get<std::string>();
  }
  return Json::array({svc["metadata"]["name"], type, spec.value("clusterIP", "<none>"),
                      external_text.empty() ? "<none>" : external_text,
                      ports.empty() ? "<none>" : ports, age(svc, now),
                      selector.empty() ? "<none>" : selector});
}

Json hpaCells(const Json& hpa, int64_t now) {
  const Json& spec = hpa["spec"];
  const Json& status = hpa["status"];
  std::string targets;
  for (const auto& m : spec.value("metrics", Json::array())) {
    if (m.value("type", "") != "Resource") continue;
    const std::string name = m["resource"].value("name", "");
    const Json target = m["resource"].value("target", Json::object());
    std::string current = "<unknown>";
    for (const auto& c : status.value("currentMetrics", Json::array())) {
      if (c.value("type", "") == "Resource" && c["resource"].value("name", "") == name &&
          c["resource"]["current"].contains("averageUtilization")) {
        current = std::to_string(c["resource"]["current"].value("averageUtilization", 0)) + "%";
      }
    }
    targets += fmt::format("{}{}: {}/{}%", targets.empty() ? "" : ", ", name, current,
                           target.value("averageUtilization", 0));
  }
  const Json& ref = spec["scaleTargetRef"];
  return Json::array({hpa["metadata"]["name"], ref.value("kind", "") + "/" + ref.value("name", ""),
                      targets.empty() ? "<none>" : targets, spec.value("minReplicas", 1),
                      spec.value("maxReplicas", 0), status.value("currentReplicas", 0),
                      age(hpa, now)});
}

std::string intOrString(const Json& v) {
  if (v.is_null()) return "N/A";
  return v.is_string() ? v.get<std::string>() : v.dump();
}

Json podCells(const Json& pod, int64_t now) {
  const Json& status = pod["status"];
  const auto statuses = status.value("containerStatuses", Json::array());
  const size_t total = pod["spec"].value("containers", Json::array()).size();
  int ready = 0;
  int64_t last_restart = 0;
  std::string reason = status.value("phase", "Pending");
  for (const auto& cs : statuses) {
    if (cs.value("ready", false)) ++ready;
    if (cs.contains("lastState") && cs["lastState"].contains("terminated")) {
      auto t = parseRfc3339Seconds(cs["lastState"]["terminated"].value("finishedAt", ""));
      if (t && *t > last_restart) last_restart = *t;
    }
    if (cs["state"].contains("waiting") && cs["state"]["waiting"].contains("reason")) {
      reason = cs["state"]["waiting"]["reason"];
    } else if (cs["state"].contains("terminated")) {
      reason = cs["state"]["terminated"].value("reason", "Error");
    }
  }
  if (pod["metadata"].contains("deletionTimestamp")) reason = "Terminating";
  std::string restarts = std::to_string(podRestarts(pod));
  if (last_restart > 0) restarts += " (" + humanDuration(now - last_restart) + " ago)";
  return Json::array({pod["metadata"]["name"], std::to_string(ready) + "/" + std::to_string(total),
                      reason, restarts, age(pod, now), status.value("podIP", "<none>"),
                      pod["spec"].value("nodeName", "<none>"),
                      status.value("nominatedNodeName", "<none>"), "<none>"});
}

Json nodeCells(const Json& node, int64_t now) {
  std::string status = "Unknown";
  for (const auto& c : node["status"].value("conditions", Json::array())) {
    if (c.value("type", "") != "Ready") continue;
    const std::string s = c.value("status", "");
    status = s == "True" ? "Ready" : s == "False" ? "NotReady" : "Unknown";
    if (s == "Unknown") status = "NotReady";
  }
  if (node["spec"].value("unschedulable", false)) status += ",SchedulingDisabled";
  std::string roles;
  const Json labels = node["metadata"].value("labels", Json::object());
  for (const auto& [k, v] : labels.items()) {
    const std::string prefix = "node-role.kubernetes.io/";
    if (k.rfind(prefix, 0) == 0 && k.size() > prefix.size()) {
      roles += (roles.empty() ? "" : ",") + k.substr(prefix.size());
    }
  }
  std::string internal = "<none>", external = "<none>";
  for (const auto& a : node["status"].value("addresses", Json::array())) {
    if (a.value("type", "") == "InternalIP") internal = a.value("address", "");
    if (a.value("type", "") == "ExternalIP") external = a.value("address", "");
  }
  const Json info = node["status"].value("nodeInfo", Json::object());
  return Json::array({node["metadata"]["name"], status, roles.empty() ? "<none>" : roles,
                      age(node, now), info.value("kubeletVersion", ""), internal, external,
                      info.value("osImage", ""), info.value("kernelVersion", ""),
                      info.value("containerRuntimeVersion", "")});
}

Json cellsFor(Resource r, const Json& obj, int64_t now) {
  const Json& spec = obj["spec"];
  const Json& status = obj["status"];
  switch (r) {
    case Resource::kPods:
      return podCells(obj, now);
    case Resource::kNodes:
      return nodeCells(obj, now);
    case Resource::kDeployments:
      return Json::array({obj["metadata"]["name"],
                          std::to_string(status.value("readyReplicas", 0)) + "/" +
                              std::to_string(spec.value("replicas", 1)),
                          status.value("updatedReplicas", 0), status.value("availableReplicas", 0),
                          age(obj, now), joinContainers(spec["template"], "name"),
                          joinContainers(spec["template"], "image"),
                          selectorText(spec["selector"])});
    case Resource::kReplicaSets:
      return Json::array({obj["metadata"]["name"], spec.value("replicas", 1),
                          status.value("replicas", 0), status.value("readyReplicas", 0),
                          age(obj, now), joinContainers(spec["template"], "name"),
                          joinContainers(spec["template"], "image"),
                          selectorText(spec["selector"])});
    case Resource::kStatefulSets:
      return Json::array({obj["metadata"]["name"],
                          std::to_string(status.value("readyReplicas", 0)) + "/" +
                              std::to_string(spec.value("replicas", 1)),
                          age(obj, now), joinContainers(spec["template"], "name"),
                          joinContainers(spec["template"], "image")});
    case Resource::kDaemonSets: {
      std::string node_selector;
      const Json selector = spec["template"]["spec"].value("nodeSelector", Json::object());
      for (const auto& [k, v] : selector.items()) {
        node_selector += (node_selector.empty() ? "" : ",") + k + "=" + v.get<std::string>();
      }
      return Json::array(
          {obj["metadata"]["name"], status.value("desiredNumberScheduled", 0),
           status.value("currentNumberScheduled", 0), status.value("numberReady", 0),
           status.value("updatedNumberScheduled", 0), status.value("numberAvailable", 0),
           node_selector.empty() ? "<none>" : node_selector, age(obj, now),
           joinContainers(spec["template"], "name"), joinContainers(spec["template"], "image"),
           selectorText(spec["selector"])});
    }
    case Resource::kPodDisruptionBudgets:
      return Json::array({obj["metadata"]["name"], intOrString(spec.value("minAvailable", Json())),
                          intOrString(spec.value("maxUnavailable", Json())),
                          status.value("disruptionsAllowed", 0), age(obj, now)});
    case Resource::kServices:
      return serviceCells(obj, now);
    case Resource::kPersistentVolumeClaims:
      return Json::array({obj["metadata"]["name"], status.value("phase", "Pending"),
                          spec.value("volumeName", ""),
                          status.value("capacity", Json::object()).value("storage", ""),
                          accessModes(status.value("accessModes", Json::array())),
                          spec.value("storageClassName", ""), "<unset>", age(obj, now),
                          spec.value("volumeMode", "Filesystem")});
    case Resource::kPersistentVolumes: {
      const Json claim = spec.value("claimRef", Json::object());
      return Json::array(
          {obj["metadata"]["name"], spec.value("capacity", Json::object()).value("storage", ""),
           accessModes(spec.value("accessModes", Json::array())),
           spec.value("persistentVolumeReclaimPolicy", ""), status.value("phase", ""),
           claim.empty() ? "" : claim.value("namespace", "") + "/" + claim.value("name", ""),
           spec.value("storageClassName", ""), "<unset>", status.value("reason", ""), age(obj, now),
           spec.value("volumeMode", "Filesystem")});
    }
    case Resource::kHorizontalPodAutoscalers:
      return hpaCells(obj, now);
    case Resource::kVeleroBackups:
      return Json::array({obj["metadata"]["name"], optionalCell(status, "phase"),
                          optionalCell(status, "errors"), optionalCell(status, "warnings"),
                          dateCell(status.value("startTimestamp", Json()), now),
                          optionalCell(spec, "storageLocation"), age(obj, now)});
    case Resource::kVeleroSchedules:
      return Json::array({obj["metadata"]["name"], optionalCell(status, "phase"),
                          optionalCell(spec, "schedule"),
                          dateCell(status.value("lastBackup", Json()), now), age(obj, now),
                          optionalCell(spec, "paused")});
    case Resource::kLeases:
      return Json::array(
          {obj["metadata"]["name"], spec.value("holderIdentity", "<none>"), age(obj, now)});
    case Resource::kNamespaces:
    default:
      return Json::array({obj["metadata"]["name"], status.value("phase", "Active"), age(obj, now)});
  }
}

}  // namespace

std::string humanDuration(int64_t s) {
  if (s < -1) return "<invalid>";
  if (s < 0) return "0s";
  char buf[32];
  if (s < 120) {
    std::snprintf(buf, sizeof(buf), "%llds", static_cast<long long>(s));
    return buf;
  }
  const long long minutes = s / 60;
  if (minutes < 10) {
    const long long sec = s % 60;
    if (sec == 0) {
      std::snprintf(buf, sizeof(buf), "%lldm", minutes);
    } else {
      std::snprintf(buf, sizeof(buf), "%lldm%llds", minutes, sec);
    }
    return buf;
  }
  if (minutes < 180) {
    std::snprintf(buf, sizeof(buf), "%lldm", minutes);
    return buf;
  }
  const long long hours = s / 3600;
  if (hours < 8) {
    const long long m = minutes % 60;
    if (m == 0) {
      std::snprintf(buf, sizeof(buf), "%lldh", hours);
    } else {
      std::snprintf(buf, sizeof(buf), "%lldh%lldm", hours, m);
    }
  } else if (hours < 48) {
    std::snprintf(buf, sizeof(buf), "%lldh", hours);
  } else if (hours < 24LL * 8) {
    const long long h = hours % 24;
    if (h == 0) {
      std::snprintf(buf, sizeof(buf), "%lldd", hours / 24);
    } else {
      std::snprintf(buf, sizeof(buf), "%lldd%lldh", hours / 24, h);
    }
  } else if (hours < 24LL * 365 * 2) {
    std::snprintf(buf, sizeof(buf), "%lldd", hours / 24);
  } else if (hours < 24LL * 365 * 8) {
    const long long dy = (hours / 24) % 365;
    if (dy == 0) {
      std::snprintf(buf, sizeof(buf), "%lldy", hours / 24 / 365);
    } else {
      std::snprintf(buf, sizeof(buf), "%lldy%lldd", hours / 24 / 365, dy);
    }
  } else {
    std::snprintf(buf, sizeof(buf), "%lldy", hours / 24 / 365);
  }
  return buf;
}

TableObjects parseIncludeObject(const std::string& param) {
  if (param == "None") return TableObjects::kNone;
  if (param == "Object") return TableObjects::kObject;
  return TableObjects::kMetadata;
}

Json buildTable(Resource resource, const std::vector<Json>& items,
                const std::string& resource_version, TableObjects include, int64_t now) {
  const ResourceType& type = resourceType(resource);
  Json columns = Json::array();
  for (const auto& c : columnsFor(resource)) columns.push_back(columnJson(c));
  Json rows = Json::array();
  for (const auto& obj : items) {
    Json row{{"cells", cellsFor(resource, obj, now)}};
    if (include == TableObjects::kMetadata) {
      Json meta = obj["metadata"];
      meta.erase("managedFields");
      row["object"] = Json{
          {"kind", "PartialObjectMetadata"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", meta}};
    } else if (include == TableObjects::kObject) {
      Json full{{"kind", type.kind}, {"apiVersion", type.apiVersion()}};
      for (const auto& [k, v] : obj.items()) full[k] = v;
      row["object"] = full;
    }
    rows.push_back(row);
  }
  return Json{{"kind", "Table"},
              {"apiVersion", "meta.k8s.io/v1"},
              {"metadata", Json{{"resourceVersion", resource_version}}},
              {"columnDefinitions", columns},
              {"rows", rows}};
}

}  // namespace rampart::kubesim
