#include "scenario/scenario.h"

#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "cluster/ids.h"
#include "rampart/files.h"
#include "rampart/text.h"
#include "scenario/scenario_checker.h"

namespace rampart::kubesim {

namespace detail {

bool validName(const std::string& name) {
  return isDnsSubdomain(name);
}

}  // namespace detail

namespace {

using detail::Checker;
using detail::validName;

Json scalarToJson(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted: always a string
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  int64_t as_int = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), as_int);
  if (ec == std::errc() && end == text.data() + text.size()) return as_int;
  double as_double = 0;
  auto [dend, dec] = std::from_chars(text.data(), text.data() + text.size(), as_double);
  if (dec == std::errc() && dend == text.data() + text.size()) return as_double;
  return text;
}

Json nodeToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return scalarToJson(node);
    case YAML::NodeType::Sequence: {
      Json out = Json::array();
      for (const auto& item : node) out.push_back(nodeToJson(item));
      return out;
    }
    case YAML::NodeType::Map: {
      Json out = Json::object();
      for (const auto& kv : node) out[kv.first.as<std::string>()] = nodeToJson(kv.second);
      return out;
    }
    default:
      return nullptr;
  }
}

Result<Json> containersFor(const Checker& c, const Json& entry, Json pod_spec) {
  if (entry.contains("containers")) {
    if (pod_spec.contains("containers")) {
      return c.bad("containers given both at top level and in template.spec");
    }
    pod_spec["containers"] = entry["containers"];
  }
  if (!pod_spec.contains("containers")) {
    pod_spec["containers"] = Json::array({Json{{"name", "app"}}});
  }
  Json& containers = pod_spec["containers"];
  if (!containers.is_array() || containers.empty()) {
    return c.bad("containers must be a non-empty list");
  }
  std::set<std::string> seen;
  for (auto& container : containers) {
    if (!container.is_object() || !container.contains("name") || !container["name"].is_string()) {
      return c.bad("every container needs a name");
    }
    if (!seen.insert(container["name"].get<std::string>()).second) {
      return c.bad("duplicate container name '" + container["name"].get<std::string>() + "'");
    }
    if (!container.contains("image")) container["image"] = "registry.k8s.io/pause:3.10";
  }
  return pod_spec;
}

// Splits `template:` (a PodTemplateSpec in Kubernetes' shape) into labels and spec.
Result<std::pair<Json, Json>> templateParts(const Checker& c, const Json& entry) {
  Json labels = Json::object();
  Json spec = Json::object();
  if (auto it = entry.find("template"); it != entry.end() && !it->is_null()) {
    if (auto ok = c.onlyKeys(*it, {"metadata", "spec"}); !ok) return std::unexpected(ok.error());
    if (it->contains("metadata")) {
      auto l = c.stringMap((*it)["metadata"], "labels");
      if (!l) return std::unexpected(l.error());
      labels = *l;
    }
    if (it->contains("spec")) {
      if (!(*it)["spec"].is_object()) return c.bad("template.spec must be a mapping");
      spec = (*it)["spec"];
    }
  }
  return std::make_pair(labels, spec);
}

Result<Json> intOrPercent(const Checker& c, const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Json();
  if (it->is_number_integer() && it->get<int64_t>() >= 0) return *it;
  if (it->is_string()) {
    const auto s = it->get<std::string>();
    if (s.size() >= 2 && s.back() == '%' && s.find_first_not_of("0123456789") == s.size() - 1) {
      return *it;
    }
  }
  return c.bad(std::string("'") + key + "' must be a non-negative integer or a percentage");
}

// volumeClaimTemplates in Kubernetes' shape, completed with what the API
// server's defaulting adds (as in tests/data/k8s/apiserver-statefulsets_*).
Result<Json> claimTemplates(const Checker& c, const Json& list) {
  if (!list.is_array()) return c.bad("'volumeClaimTemplates' must be a list");
  Json out = Json::array();
  std::set<std::string> names;
  for (const auto& t : list) {
    if (!t.is_object() || !t.contains("metadata") || !t["metadata"].is_object() ||
        !t["metadata"].contains("name") || !t["metadata"]["name"].is_string() ||
        !validName(t["metadata"]["name"].get<std::string>())) {
      return c.bad("every volumeClaimTemplate needs a valid metadata.name");
    }
    const std::string name = t["metadata"]["name"];
    if (!names.insert(name).second) return c.bad("duplicate volumeClaimTemplate '" + name + "'");
    Json spec = t.value("spec", Json::object());
    if (!spec.is_object() || !spec.contains("resources") ||
        !spec["resources"].value("requests", Json::object()).contains("storage")) {
      return c.bad("volumeClaimTemplate '" + name + "' needs spec.resources.requests.storage");
    }
    if (!spec.contains("accessModes")) spec["accessModes"] = Json::array({"ReadWriteOnce"});
    if (!spec.contains("volumeMode")) spec["volumeMode"] = "Filesystem";
    Json meta = t["metadata"];
    meta["creationTimestamp"] = nullptr;
    out.push_back(Json{{"kind", "PersistentVolumeClaim"},
                       {"apiVersion", "v1"},
                       {"metadata", meta},
                       {"spec", spec},
                       {"status", Json{{"phase", "Pending"}}}});
  }
  return out;
}

}  // namespace

std::string_view workloadKindName(WorkloadKind kind) {
  switch (kind) {
    case WorkloadKind::kDeployment:
      return "Deployment";
    case WorkloadKind::kStatefulSet:
      return "StatefulSet";
    case WorkloadKind::kDaemonSet:
      return "DaemonSet";
  }
  return "Deployment";
}

Result<Json> yamlToJson(std::string_view yaml_text) {
  try {
    YAML::Node root = YAML::Load(std::string(yaml_text));
    return nodeToJson(root);
  } catch (const YAML::Exception& e) {
    return fail(ErrorCode::kParse, std::string("scenario: invalid YAML: ") + e.what());
  }
}

Result<Scenario> parseScenario(std::string_view yaml_text) {
  auto parsed = yamlToJson(yaml_text);
  if (!parsed) return std::unexpected(parsed.error());
  const Json& root = *parsed;
  Checker top{"top level"};
  if (!root.is_object()) return top.bad("the document must be a mapping");
  if (auto ok = top.onlyKeys(
          root, {"cluster", "seed", "epoch", "kubeletVersion", "zones", "nodes", "namespaces",
                 "workloads", "pods", "pdbs", "services", "hpas", "velero"});
      !ok) {
    return std::unexpected(ok.error());
  }
  Scenario s;
  if (auto v = top.str(root, "cluster", false); !v) {
    return std::unexpected(v.error());
  } else if (!v->empty()) {
    s.cluster = *v;
  }
  if (root.contains("seed")) {
    if (!root["seed"].is_number_integer()) return top.bad("'seed' must be an integer");
    s.seed = root["seed"].get<uint64_t>();
  }
  if (auto v = top.str(root, "epoch", false); !v) {
    return std::unexpected(v.error());
  } else if (!v->empty()) {
    auto t = parseRfc3339Seconds(*v);
    if (!t) return top.bad("'epoch' must be an RFC 3339 UTC time like 2026-01-02T20:00:00Z");
    s.epoch = *t;
  }
  if (auto v = top.str(root, "kubeletVersion", false); !v) {
    return std::unexpected(v.error());
  } else if (!v->empty()) {
    s.kubelet_version = *v;
  }

  auto list = [&](const char* key) -> Result<Json> {
    auto it = root.find(key);
    if (it == root.end() || it->is_null()) return Json::array();
    if (!it->is_array()) return top.bad(std::string("'") + key + "' must be a list");
    return *it;
  };

  // Zones.
  auto zones = list("zones");
  if (!zones) return std::unexpected(zones.error());
  std::set<std::string> zone_names;
  for (size_t i = 0; i < zones->size(); ++i) {
    const Json& z = (*zones)[i];
    Checker c{"zones[" + std::to_string(i) + "]"};
    if (auto ok = c.onlyKeys(z, {"name", "region"}); !ok) return std::unexpected(ok.error());
    auto name = c.str(z, "name");
    if (!name) return std::unexpected(name.error());
    auto region = c.str(z, "region", false);
    if (!region) return std::unexpected(region.error());
    if (!zone_names.insert(*name).second) return c.bad("duplicate zone '" + *name + "'");
    s.zones.push_back({*name, region->empty() ? "region-1" : *region});
  }

  // Nodes.
  auto nodes = list("nodes");
  if (!nodes) return std::unexpected(nodes.error());
  if (nodes->empty()) return top.bad("at least one node is required");
  std::set<std::string> node_names;
  for (size_t i = 0; i < nodes->size(); ++i) {
    const Json& n = (*nodes)[i];
    Checker c{"nodes[" + std::to_string(i) + "]"};
    if (auto ok = c.onlyKeys(n, {"name", "zone", "controlPlane", "unschedulable", "labels",
                                 "taints", "capacity", "kubeletVersion"});
        !ok) {
      return std::unexpected(ok.error());
    }
    NodeSpec node;
    auto name = c.str(n, "name");
    if (!name) return std::unexpected(name.error());
    node.name = *name;
    c.where += " (" + node.name + ")";
    if (!validName(node.name)) return c.bad("invalid node name");
    if (!node_names.insert(node.name).second) return c.bad("duplicate node name");
    auto zone = c.str(n, "zone", !s.zones.empty());
    if (!zone) return std::unexpected(zone.error());
    if (!zone->empty() && !zone_names.count(*zone)) return c.bad("unknown zone '" + *zone + "'");
    node.zone = *zone;
    auto cp = c.boolean(n, "controlPlane");
    if (!cp) return std::unexpected(cp.error());
    node.control_plane = *cp;
    auto unsched = c.boolean(n, "unschedulable");
    if (!unsched) return std::unexpected(unsched.error());
    node.unschedulable = *unsched;
    auto labels = c.stringMap(n, "labels");
    if (!labels) return std::unexpected(labels.error());
    node.labels = *labels;
    if (n.contains("taints")) {
      if (!n["taints"].is_array()) return c.bad("'taints' must be a list");
      for (const auto& t : n["taints"]) {
        if (!t.is_object() || !t.contains("key") || !t.contains("effect")) {
          return c.bad("every taint needs a key and an effect");
        }
        const auto effect = t["effect"].get<std::string>();
        if (effect != "NoSchedule" && effect != "PreferNoSchedule" && effect != "NoExecute") {
          return c.bad("taint effect must be NoSchedule, PreferNoSchedule or NoExecute");
        }
      }
      node.taints = n["taints"];
    }
    auto cap = c.stringMap(n, "capacity");
    if (!cap) return std::unexpected(cap.error());
    node.capacity = *cap;
    auto kv = c.str(n, "kubeletVersion", false);
    if (!kv) return std::unexpected(kv.error());
    node.kubelet_version = *kv;
    s.nodes.push_back(std::move(node));
  }

  // Namespaces.
  s.namespaces = {"default", "kube-node-lease", "kube-public", "kube-system"};
  auto namespaces = list("namespaces");
  if (!namespaces) return std::unexpected(namespaces.error());
  for (size_t i = 0; i < namespaces->size(); ++i) {
    const Json& entry = (*namespaces)[i];
    std::string name;
    if (entry.is_string()) {
      name = entry.get<std::string>();
    } else {
      // {name: shop, labels: {...}}: labels for namespaceSelectors.
      Checker c{"namespaces[" + std::to_string(i) + "]"};
      if (auto ok = c.onlyKeys(entry, {"name", "labels"}); !ok) return std::unexpected(ok.error());
      auto n = c.str(entry, "name");
      if (!n) return std::unexpected(n.error());
      name = *n;
      auto labels = c.stringMap(entry, "labels");
      if (!labels) return std::unexpected(labels.error());
      s.namespace_labels[name] = *labels;
    }
    if (!validName(name)) {
      return top.bad("namespaces must be a list of valid names (or {name, labels} mappings)");
    }
    if (std::find(s.namespaces.begin(), s.namespaces.end(), name) == s.namespaces.end()) {
      s.namespaces.push_back(name);
    }
  }
  auto known_namespace = [&](const std::string& ns) {
    return std::find(s.namespaces.begin(), s.namespaces.end(), ns) != s.namespaces.end();
  };

  // Workloads.
  auto workloads = list("workloads");
  if (!workloads) return std::unexpected(workloads.error());
  std::set<std::string> workload_keys;
  for (size_t i = 0; i < workloads->size(); ++i) {
    const Json& w = (*workloads)[i];
    Checker c{"workloads[" + std::to_string(i) + "]"};
    if (auto ok = c.onlyKeys(w, {"kind", "namespace", "name", "replicas", "labels", "containers",
                                 "template", "nodes", "annotations", "volumeClaimTemplates"});
        !ok) {
      return std::unexpected(ok.error());
    }
    WorkloadSpec wl;
    auto name = c.str(w, "name");
    if (!name) return std::unexpected(name.error());
    wl.name = *name;
    auto ns = c.str(w, "namespace", false);
    if (!ns) return std::unexpected(ns.error());
    wl.ns = ns->empty() ? "default" : *ns;
    c.where += " (" + wl.ns + "/" + wl.name + ")";
    if (!validName(wl.name)) return c.bad("invalid name");
    if (!known_namespace(wl.ns)) return c.bad("namespace '" + wl.ns + "' is not declared");
    auto kind = c.str(w, "kind", false);
    if (!kind) return std::unexpected(kind.error());
    if (kind->empty() || *kind == "Deployment") {
      wl.kind = WorkloadKind::kDeployment;
    } else if (*kind == "StatefulSet") {
      wl.kind = WorkloadKind::kStatefulSet;
    } else if (*kind == "DaemonSet") {
      wl.kind = WorkloadKind::kDaemonSet;
    } else {
      return c.bad("kind must be Deployment, StatefulSet or DaemonSet, not '" + *kind + "'");
    }
    if (!workload_keys.insert(std::string(workloadKindName(wl.kind)) + "/" + wl.ns + "/" + wl.name)
             .second) {
      return c.bad("duplicate workload");
    }
    auto parts = templateParts(c, w);
    if (!parts) return std::unexpected(parts.error());
    auto labels = c.stringMap(w, "labels");
    if (!labels) return std::unexpected(labels.error());
    wl.labels = parts->first;
    wl.labels.update(*labels);
    if (wl.labels.empty()) wl.labels = Json{{"app", wl.name}};
    auto spec = containersFor(c, w, parts->second);
    if (!spec) return std::unexpected(spec.error());
    wl.pod_spec = *spec;
    if (w.contains("nodes")) {
      if (wl.kind == WorkloadKind::kDaemonSet) return c.bad("a DaemonSet cannot pin 'nodes'");
      if (!w["nodes"].is_array()) return c.bad("'nodes' must be a list of node names");
      for (const auto& n : w["nodes"]) {
        if (!n.is_string() || !node_names.count(n.get<std::string>())) {
          return c.bad("'nodes' names an unknown node: " + n.dump());
        }
        wl.pinned_nodes.push_back(n.get<std::string>());
      }
    }
    if (w.contains("replicas")) {
      if (!w["replicas"].is_number_integer() || w["replicas"].get<int64_t>() < 0) {
        return c.bad("'replicas' must be a non-negative integer");
      }
      wl.replicas = w["replicas"].get<int>();
      if (!wl.pinned_nodes.empty() && static_cast<size_t>(wl.replicas) != wl.pinned_nodes.size()) {
        return c.bad("'replicas' is " + std::to_string(wl.replicas) + " but 'nodes' pins " +
                     std::to_string(wl.pinned_nodes.size()));
      }
    } else if (!wl.pinned_nodes.empty()) {
      wl.replicas = static_cast<int>(wl.pinned_nodes.size());
    }
    auto annotations = c.stringMap(w, "annotations");
    if (!annotations) return std::unexpected(annotations.error());
    wl.annotations = *annotations;
    if (w.contains("volumeClaimTemplates")) {
      if (wl.kind != WorkloadKind::kStatefulSet) {
        return c.bad("only a StatefulSet has 'volumeClaimTemplates'");
      }
      auto templates = claimTemplates(c, w["volumeClaimTemplates"]);
      if (!templates) return std::unexpected(templates.error());
      wl.volume_claim_templates = *templates;
    }
    s.workloads.push_back(std::move(wl));
  }

  // Bare pods.
  auto pods = list("pods");
  if (!pods) return std::unexpected(pods.error());
  std::set<std::string> pod_keys;
  for (size_t i = 0; i < pods->size(); ++i) {
    const Json& p = (*pods)[i];
    Checker c{"pods[" + std::to_string(i) + "]"};
    if (auto ok = c.onlyKeys(p, {"namespace", "name", "labels", "containers", "template", "node",
                                 "static", "annotations"});
        !ok) {
      return std::unexpected(ok.error());
    }
    BarePodSpec pod;
    auto name = c.str(p, "name");
    if (!name) return std::unexpected(name.error());
    pod.name = *name;
    auto ns = c.str(p, "namespace", false);
    if (!ns) return std::unexpected(ns.error());
    pod.ns = ns->empty() ? "default" : *ns;
    c.where += " (" + pod.ns + "/" + pod.name + ")";
    if (!validName(pod.name)) return c.bad("invalid name");
    if (!known_namespace(pod.ns)) return c.bad("namespace '" + pod.ns + "' is not declared");
    if (!pod_keys.insert(pod.ns + "/" + pod.name).second) return c.bad("duplicate pod");
    auto parts = templateParts(c, p);
    if (!parts) return std::unexpected(parts.error());
    auto labels = c.stringMap(p, "labels");
    if (!labels) return std::unexpected(labels.error());
    pod.labels = parts->first;
    pod.labels.update(*labels);
    auto spec = containersFor(c, p, parts->second);
    if (!spec) return std::unexpected(spec.error());
    pod.pod_spec = *spec;
    auto node = c.str(p, "node", false);
    if (!node) return std::unexpected(node.error());
    if (!node->empty() && !node_names.count(*node)) return c.bad("unknown node '" + *node + "'");
    pod.node = *node;
    auto is_static = c.boolean(p, "static");
    if (!is_static) return std::unexpected(is_static.error());
    pod.is_static = *is_static;
    if (pod.is_static && pod.node.empty()) return c.bad("a static pod needs its 'node'");
    auto annotations = c.stringMap(p, "annotations");
    if (!annotations) return std::unexpected(annotations.error());
    pod.annotations = *annotations;
    s.pods.push_back(std::move(pod));
  }

  // PodDisruptionBudgets.
  auto pdbs = list("pdbs");
  if (!pdbs) return std::unexpected(pdbs.error());
  for (size_t i = 0; i < pdbs->size(); ++i) {
    const Json& p = (*pdbs)[i];
    Checker c{"pdbs[" + std::to_string(i) + "]"};
    if (auto ok =
            c.onlyKeys(p, {"namespace", "name", "minAvailable", "maxUnavailable", "selector"});
        !ok) {
      return std::unexpected(ok.error());
    }
    PdbSpec pdb;
    auto name = c.str(p, "name");
    if (!name) return std::unexpected(name.error());
    pdb.name = *name;
    auto ns = c.str(p, "namespace", false);
    if (!ns) return std::unexpected(ns.error());
    pdb.ns = ns->empty() ? "default" : *ns;
    c.where += " (" + pdb.ns + "/" + pdb.name + ")";
    if (!known_namespace(pdb.ns)) return c.bad("namespace '" + pdb.ns + "' is not declared");
    auto min = intOrPercent(c, p, "minAvailable");
    if (!min) return std::unexpected(min.error());
    auto max = intOrPercent(c, p, "maxUnavailable");
    if (!max) return std::unexpected(max.error());
    if (min->is_null() == max->is_null()) {
      return c.bad("exactly one of minAvailable and maxUnavailable is required");
    }
    pdb.min_available = *min;
    pdb.max_unavailable = *max;
    if (!p.contains("selector") || !p["selector"].is_object()) {
      return c.bad("'selector' (matchLabels / matchExpressions) is required");
    }
    pdb.selector = p["selector"];
    s.pdbs.push_back(std::move(pdb));
  }
  if (auto ok = detail::parseServices(root, s); !ok) return std::unexpected(ok.error());
  if (auto ok = detail::parseHpas(root, s); !ok) return std::unexpected(ok.error());
  if (auto ok = detail::parseVelero(root, s); !ok) return std::unexpected(ok.error());
  return s;
}

Result<Scenario> loadScenarioFile(const std::filesystem::path& path) {
  auto text = readFile(path);
  if (!text) return fail(ErrorCode::kIo, "scenario: " + text.error().message);
  auto s = parseScenario(*text);
  if (!s) {
    Error e = s.error();
    e.message = path.string() + ": " + e.message;
    return std::unexpected(e);
  }
  return s;
}

}  // namespace rampart::kubesim
