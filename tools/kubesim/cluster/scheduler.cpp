#include "cluster/scheduler.h"

#include <algorithm>
#include <cstdlib>

#include "api/selectors.h"

namespace rampart::kubesim {
namespace {

std::string str(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool expressionMatches(const Json& expr, const Json& labels, const std::string& node_name,
                       bool is_field) {
  const std::string key = str(expr, "key");
  const std::string op = str(expr, "operator");
  std::optional<std::string> value;
  if (is_field) {
    if (key == "metadata.name") value = node_name;
  } else if (labels.is_object() && labels.contains(key) && labels[key].is_string()) {
    value = labels[key].get<std::string>();
  }
  std::vector<std::string> values;
  if (expr.contains("values") && expr["values"].is_array()) {
    for (const auto& v : expr["values"])
      values.push_back(v.is_string() ? v.get<std::string>() : v.dump());
  }
  auto in = [&] {
    return value && std::find(values.begin(), values.end(), *value) != values.end();
  };
  if (op == "In") return in();
  if (op == "NotIn") return !in();
  if (op == "Exists") return value.has_value();
  if (op == "DoesNotExist") return !value.has_value();
  if ((op == "Gt" || op == "Lt") && value && values.size() == 1) {
    char* end = nullptr;
    long long have = std::strtoll(value->c_str(), &end, 10);
    if (*end != '\0') return false;
    long long want = std::strtoll(values[0].c_str(), &end, 10);
    return op == "Gt" ? have > want : have < want;
  }
  return false;
}

bool termMatches(const Json& term, const Json& labels, const std::string& node_name) {
  for (const char* kind : {"matchExpressions", "matchFields"}) {
    if (auto it = term.find(kind); it != term.end() && it->is_array()) {
      for (const auto& expr : *it) {
        if (!expressionMatches(expr, labels, node_name, kind[5] == 'F')) return false;
      }
    }
  }
  return true;
}

}  // namespace

bool tolerates(const Json& toleration, const Json& taint) {
  const std::string effect = str(toleration, "effect");
  if (!effect.empty() && effect != str(taint, "effect")) return false;
  const std::string key = str(toleration, "key");
  std::string op = str(toleration, "operator");
  if (op.empty()) op = "Equal";
  if (key.empty()) return op == "Exists";
  if (key != str(taint, "key")) return false;
  if (op == "Exists") return true;
  return op == "Equal" && str(toleration, "value") == str(taint, "value");
}

bool nodeEligible(const Json& node, const Json& pod_spec) {
  const Json& spec = node.contains("spec") ? node["spec"] : Json::object();
  if (spec.value("unschedulable", false)) return false;
  const Json labels = node["metadata"].value("labels", Json::object());
  const std::string name = str(node["metadata"], "name");

  if (auto it = pod_spec.find("nodeSelector"); it != pod_spec.end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) {
      if (!labels.contains(k) || labels[k] != v) return false;
    }
  }
  const Json* required = nullptr;
  if (pod_spec.contains("affinity") && pod_spec["affinity"].contains("nodeAffinity")) {
    const Json& na = pod_spec["affinity"]["nodeAffinity"];
    if (auto it = na.find("requiredDuringSchedulingIgnoredDuringExecution"); it != na.end()) {
      required = &*it;
    }
  }
  if (required && required->contains("nodeSelectorTerms")) {
    const Json& terms = (*required)["nodeSelectorTerms"];
    bool any = std::any_of(terms.begin(), terms.end(),
                           [&](const Json& term) { return termMatches(term, labels, name); });
    if (!any) return false;
  }
  const Json tolerations = pod_spec.value("tolerations", Json::array());
  if (auto it = spec.find("taints"); it != spec.end() && it->is_array()) {
    for (const auto& taint : *it) {
      const std::string effect = str(taint, "effect");
      if (effect != "NoSchedule" && effect != "NoExecute") continue;
      bool ok = std::any_of(tolerations.begin(), tolerations.end(),
                            [&](const Json& t) { return tolerates(t, taint); });
      if (!ok) return false;
    }
  }
  return true;
}

bool Scheduler::antiAffinityAllows(size_t node, const Json& pod_spec, const std::string& ns) const {
  if (!pod_spec.contains("affinity") || !pod_spec["affinity"].contains("podAntiAffinity")) {
    return true;
  }
  const Json& anti = pod_spec["affinity"]["podAntiAffinity"];
  auto it = anti.find("requiredDuringSchedulingIgnoredDuringExecution");
  if (it == anti.end() || !it->is_array()) return true;
  const Json& labels = nodes_[node]["metadata"]["labels"];
  for (const auto& term : *it) {
    const std::string key = str(term, "topologyKey");
    if (!labels.contains(key)) continue;
    const Json domain = labels[key];
    std::vector<std::string> namespaces = {ns};
    if (term.contains("namespaces") && term["namespaces"].is_array()) {
      for (const auto& n : term["namespaces"]) namespaces.push_back(n.get<std::string>());
    }
    for (const auto& p : placed_) {
      if (std::find(namespaces.begin(), namespaces.end(), p.ns) == namespaces.end()) continue;
      const Json& other = nodes_[p.node]["metadata"]["labels"];
      if (!other.contains(key) || other[key] != domain) continue;
      if (matchesLabelSelector(term.value("labelSelector", Json()), p.labels)) return false;
    }
  }
  return true;
}

std::optional<std::string> Scheduler::place(const Json& pod_spec, const std::string& ns,
                                            const Json& labels) {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    size_t idx = (cursor_ + i) % nodes_.size();
    if (nodeEligible(nodes_[idx], pod_spec) && antiAffinityAllows(idx, pod_spec, ns)) {
      cursor_ = idx + 1;
      placed_.push_back({idx, ns, labels});
      return nodes_[idx]["metadata"]["name"].get<std::string>();
    }
  }
  return std::nullopt;
}

void Scheduler::record(const std::string& node, const std::string& ns, const Json& labels) {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i]["metadata"]["name"] == node) placed_.push_back({i, ns, labels});
  }
}

}  // namespace rampart::kubesim
