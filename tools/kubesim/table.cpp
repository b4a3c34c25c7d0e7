// Server-side printing, as kube-apiserver's printers do for `kubectl get`:
// the same column names, priorities (1 = only with -o wide) and cell text.
#include <cstdio>

#include "api_views.h"
#include "ids.h"
#include "objects.h"

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

const char* kNameDoc =
    "Name must be unique within a namespace. Is required when creating resources, although some "
    "resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const char* kAgeDoc =
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
    case Resource::kNamespaces:
    default:
      return {{"Name", "string", "name", 0, kNameDoc},
              {"Status", "string", "", 0, "The status of the namespace"},
              {"Age", "string", "", 0, kAgeDoc}};
  }
}

std::string age(const Json& obj, int64_t now) {
  auto created = parseTimestampUtc(obj["metadata"].value("creationTimestamp", ""));
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
      auto t = parseTimestampUtc(cs["lastState"]["terminated"].value("finishedAt", ""));
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
  } else if (hours < 24 * 8) {
    const long long h = hours % 24;
    if (h == 0) {
      std::snprintf(buf, sizeof(buf), "%lldd", hours / 24);
    } else {
      std::snprintf(buf, sizeof(buf), "%lldd%lldh", hours / 24, h);
    }
  } else if (hours < 24 * 365 * 2) {
    std::snprintf(buf, sizeof(buf), "%lldd", hours / 24);
  } else if (hours < 24 * 365 * 8) {
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
