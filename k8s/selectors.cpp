#include "rampart/selectors.h"

#include <algorithm>
#include <charconv>
#include <optional>

namespace rampart {
namespace {

bool contains(const std::vector<std::string>& values, const std::string& v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

std::optional<int64_t> parseInt(const std::string& s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// Shared by label selectors and node selector requirements: the operators
// In, NotIn, Exists, DoesNotExist mean the same in both.
std::optional<bool> setOperatorMatches(const std::string& op,
                                       const std::vector<std::string>& values,
                                       const std::string* value) {
  if (op == "In") return value != nullptr && !values.empty() && contains(values, *value);
  if (op == "NotIn") return !values.empty() && (value == nullptr || !contains(values, *value));
  if (op == "Exists") return value != nullptr;
  if (op == "DoesNotExist") return value == nullptr;
  return std::nullopt;
}

const std::string* lookup(const Labels& labels, const std::string& key) {
  auto it = labels.find(key);
  return it == labels.end() ? nullptr : &it->second;
}

}  // namespace

bool selectorMatches(const LabelSelector& selector, const Labels& labels) {
  for (const auto& [k, v] : selector.match_labels) {
    const std::string* have = lookup(labels, k);
    if (have == nullptr || *have != v) return false;
  }
  for (const auto& req : selector.match_expressions) {
    if (!setOperatorMatches(req.op, req.values, lookup(labels, req.key)).value_or(false)) {
      return false;
    }
  }
  return true;
}

bool nodeRequirementMatches(const NodeSelectorRequirement& req, const Node& node, bool field) {
  const std::string* value = nullptr;
  if (field) {
    // The only field the scheduler supports in matchFields.
    if (req.key != "metadata.name") return false;
    value = &node.name;
  } else {
    value = lookup(node.labels, req.key);
  }
  if (auto m = setOperatorMatches(req.op, req.values, value)) return *m;
  if (req.op == "Gt" || req.op == "Lt") {
    if (value == nullptr || req.values.size() != 1) return false;
    auto have = parseInt(*value);
    auto want = parseInt(req.values[0]);
    if (!have || !want) return false;
    return req.op == "Gt" ? *have > *want : *have < *want;
  }
  return false;
}

bool nodeTermMatches(const NodeSelectorTerm& term, const Node& node) {
  if (term.match_expressions.empty() && term.match_fields.empty()) return false;
  for (const auto& r : term.match_expressions) {
    if (!nodeRequirementMatches(r, node, false)) return false;
  }
  for (const auto& r : term.match_fields) {
    if (!nodeRequirementMatches(r, node, true)) return false;
  }
  return true;
}

bool fitsRequiredNodeAffinity(const PlacementSpec& placement, const Node& node) {
  for (const auto& [k, v] : placement.node_selector) {
    const std::string* have = lookup(node.labels, k);
    if (have == nullptr || *have != v) return false;
  }
  if (!placement.node_affinity || placement.node_affinity->required.empty()) return true;
  const auto& terms = placement.node_affinity->required;
  return std::any_of(terms.begin(), terms.end(),
                     [&](const NodeSelectorTerm& t) { return nodeTermMatches(t, node); });
}

int32_t preferredNodeAffinityScore(const PlacementSpec& placement, const Node& node) {
  if (!placement.node_affinity) return 0;
  int32_t score = 0;
  for (const auto& p : placement.node_affinity->preferred) {
    if (nodeTermMatches(p.preference, node)) score += p.weight;
  }
  return score;
}

bool tolerates(const Toleration& t, const Taint& taint) {
  if (!t.effect.empty() && t.effect != taint.effect) return false;
  if (!t.key.empty() && t.key != taint.key) return false;
  if (t.op == "Exists") return true;
  if (t.op.empty() || t.op == "Equal") return t.value == taint.value;
  return false;
}

std::vector<Taint> untoleratedTaints(const PlacementSpec& placement, const Node& node,
                                     const std::vector<std::string>& effects) {
  std::vector<Taint> out;
  for (const auto& taint : node.taints) {
    if (!contains(effects, taint.effect)) continue;
    bool ok = std::any_of(placement.tolerations.begin(), placement.tolerations.end(),
                          [&](const Toleration& t) { return tolerates(t, taint); });
    if (!ok) out.push_back(taint);
  }
  return out;
}

}  // namespace rampart
