#include "engine_placement_ctx.h"

#include <algorithm>
#include <set>

#include "rampart/selectors.h"

namespace rampart::engine::placement {

namespace {

uint64_t domainKey(int ns, int domain) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(ns)) << 32) | static_cast<uint32_t>(domain);
}

}  // namespace

std::span<const int> Topology::podsIn(int ns, int domain) const {
  const uint64_t key = domainKey(ns, domain);
  auto [lo, hi] = std::equal_range(keys.begin(), keys.end(), key);
  return {ids.data() + (lo - keys.begin()), static_cast<size_t>(hi - lo)};
}

NodeCache::NodeCache(const std::map<std::string, NodeInfo>& by_name) {
  nodes.reserve(by_name.size());
  names.reserve(by_name.size());
  for (const auto& [name, info] : by_name) {
    names.push_back(name);
    nodes.push_back(&info);
  }
}

int NodeCache::ordinal(std::string_view name) const {
  auto it = std::lower_bound(names.begin(), names.end(), name);
  return it == names.end() || *it != name ? -1 : static_cast<int>(it - names.begin());
}

const NodeTopology& NodeCache::topology(const std::string& key) {
  auto [it, inserted] = topologies.try_emplace(key);
  NodeTopology& t = it->second;
  if (!inserted) return t;
  std::vector<std::optional<std::string>> values;
  values.reserve(nodes.size());
  std::set<std::string> domain_names;
  for (const NodeInfo* n : nodes) {
    auto domain = Index::domainOf(*n->node, key);
    if (domain) domain_names.insert(*domain);
    values.push_back(std::move(domain));
  }
  t.domains.assign(domain_names.begin(), domain_names.end());
  t.node_domain.reserve(nodes.size());
  for (const auto& v : values) {
    if (!v) {
      t.node_domain.push_back(-1);
      continue;
    }
    auto pos = std::lower_bound(t.domains.begin(), t.domains.end(), *v);
    t.node_domain.push_back(static_cast<int>(pos - t.domains.begin()));
  }
  return t;
}

const NodeFit& NodeCache::fit(const PlacementSpec& placement) {
  std::string key;
  appendRequiredNodeKey(key, placement);
  appendTolerationsKey(key, placement);
  auto [it, inserted] = fits.try_emplace(std::move(key));
  NodeFit& f = it->second;
  if (!inserted) return f;
  static const std::vector<std::string> kHardEffects = {"NoSchedule", "NoExecute"};
  f.affinity.reserve(nodes.size());
  f.tolerated.reserve(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    const NodeInfo& n = *nodes[i];
    const bool affinity = fitsRequiredNodeAffinity(placement, *n.node);
    const bool tolerated = untoleratedTaints(placement, *n.node, kHardEffects).empty();
    f.affinity.push_back(affinity ? 1 : 0);
    f.tolerated.push_back(tolerated ? 1 : 0);
    if (affinity && tolerated && n.ready && !n.node->unschedulable) {
      f.hosts.push_back(static_cast<int>(i));
    }
  }
  return f;
}

const NodeFit& NodeCache::rankedFit(const PlacementSpec& placement) {
  // The ranking depends on the preferred terms too: a separate cache entry
  // whose key extends the fit key.
  std::string key;
  appendRequiredNodeKey(key, placement);
  appendTolerationsKey(key, placement);
  key += "|preferred";
  if (placement.node_affinity) {
    for (const auto& p : placement.node_affinity->preferred) {
      appendKey(key, std::to_string(p.weight));
      for (const auto& r : p.preference.match_expressions) {
        appendKey(key, r.key);
        appendKey(key, r.op);
        for (const auto& v : r.values) appendKey(key, v);
        key += ';';
      }
      key += '/';
      for (const auto& r : p.preference.match_fields) {
        appendKey(key, r.key);
        appendKey(key, r.op);
        for (const auto& v : r.values) appendKey(key, v);
        key += ';';
      }
      key += '#';
    }
  }
  if (auto it = fits.find(key); it != fits.end()) return it->second;
  NodeFit f = fit(placement);
  for (int n : f.hosts) {
    f.ranked.emplace_back(preferredNodeAffinityScore(placement, *nodes[n]->node), n);
  }
  // Hosts are in name order already: a stable sort by score keeps it for ties.
  std::stable_sort(f.ranked.begin(), f.ranked.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  return fits.emplace(std::move(key), std::move(f)).first->second;
}

namespace {

NodeCache* cacheFor(const Index& index, std::unique_ptr<NodeCache>& own) {
  if (index.node_tables != nullptr && index.node_tables->placement != nullptr) {
    return index.node_tables->placement.get();
  }
  own = std::make_unique<NodeCache>(index.nodes);
  return own.get();
}

}  // namespace

Context::Context(const Index& idx, const std::string* only_node)
    : cache_(cacheFor(idx, own_cache_)), index(idx), nodes(cache_->nodes) {
  if (only_node != nullptr) {
    filtered_ = true;
    only_node_ = nodeOrdinal(*only_node);  // -1 matches no node: nothing in scope
  }
  placed.reserve(index.active_pods.size());
  std::set<std::string_view> namespaces;
  for (const Pod* p : index.active_pods) {
    if (p->node_name.empty()) continue;
    int node = nodeOrdinal(p->node_name);
    if (node < 0) continue;
    const int id = static_cast<int>(placed.size());
    // active_pods is sorted by namespace: a new namespace comes last.
    if (placed_namespaces_.empty() || placed_namespaces_.back() != p->namespace_) {
      placed_namespaces_.push_back(p->namespace_);
    }
    placed.push_back({p, node, static_cast<int>(placed_namespaces_.size()) - 1});
    NsPods& ns = by_ns_[p->namespace_];
    ns.all.push_back(id);
    for (const auto& [k, v] : p->labels) ns.by_label[{k, v}].push_back(id);
  }
  for (const auto& [ns, pods] : by_ns_) namespaces.insert(ns);
  for (const NamespaceInfo& ns : index.snapshot.namespaces) namespaces.insert(ns.name);
  all_namespaces_.assign(namespaces.begin(), namespaces.end());
}

int Context::nodeOrdinal(std::string_view name) const {
  return cache_->ordinal(name);
}

int Context::namespaceOrdinal(std::string_view ns) const {
  auto it = std::lower_bound(placed_namespaces_.begin(), placed_namespaces_.end(), ns);
  return it == placed_namespaces_.end() || *it != ns
             ? -1
             : static_cast<int>(it - placed_namespaces_.begin());
}

const Topology& Context::topology(const std::string& key) {
  auto [it, inserted] = topologies_.try_emplace(key);
  Topology& t = it->second;
  if (!inserted) return t;
  const NodeTopology& nt = cache_->topology(key);
  t.node_domain = nt.node_domain;
  t.domains = nt.domains;
  std::vector<std::pair<uint64_t, int>> entries;
  entries.reserve(placed.size());
  for (size_t id = 0; id < placed.size(); ++id) {
    const int d = t.node_domain[placed[id].node];
    if (d >= 0) entries.emplace_back(domainKey(placed[id].namespace_, d), static_cast<int>(id));
  }
  std::sort(entries.begin(), entries.end());
  t.keys.reserve(entries.size());
  t.ids.reserve(entries.size());
  for (const auto& [key, id] : entries) {
    t.keys.push_back(key);
    t.ids.push_back(id);
  }
  return t;
}

const NodeFit& Context::fit(const PlacementSpec& placement) {
  return cache_->fit(placement);
}

const NodeFit& Context::rankedFit(const PlacementSpec& placement) {
  return cache_->rankedFit(placement);
}

const std::vector<int>* Context::labelList(const NsPods& ns, const std::string& key,
                                           const std::string& value) const {
  auto it = ns.by_label.find({key, value});
  return it == ns.by_label.end() ? nullptr : &it->second;
}

Candidates Context::candidates(std::string_view ns, const LabelSelector& selector) const {
  Candidates c;
  auto nit = by_ns_.find(ns);
  static const std::vector<int> kNone;
  if (nit == by_ns_.end()) {
    c.list = &kNone;
    return c;
  }
  const NsPods& pods = nit->second;
  c.list = &pods.all;
  for (const auto& [k, v] : selector.match_labels) {
    const std::vector<int>* l = labelList(pods, k, v);
    if (l == nullptr) {
      c.list = &kNone;
      return c;
    }
    if (l->size() < c.list->size()) c.list = l;
  }
  // An In requirement narrows to the union of its values' lists.
  const LabelSelectorRequirement* best_in = nullptr;
  size_t best_in_size = c.list->size();
  for (const auto& r : selector.match_expressions) {
    if (r.op != "In") continue;
    size_t total = 0;
    for (const auto& v : r.values) {
      if (const std::vector<int>* l = labelList(pods, r.key, v)) total += l->size();
    }
    if (total < best_in_size) {
      best_in = &r;
      best_in_size = total;
    }
  }
  if (best_in != nullptr) {
    c.list = nullptr;
    for (const auto& v : best_in->values) {
      if (const std::vector<int>* l = labelList(pods, best_in->key, v)) {
        c.owned.insert(c.owned.end(), l->begin(), l->end());
      }
    }
    std::sort(c.owned.begin(), c.owned.end());
    c.owned.erase(std::unique(c.owned.begin(), c.owned.end()), c.owned.end());
  }
  return c;
}

std::vector<int> Context::matching(std::string_view ns, const LabelSelector& selector) const {
  std::vector<int> out;
  Candidates c = candidates(ns, selector);
  for (int id : c.ids()) {
    if (selectorMatches(selector, placed[id].pod->labels)) out.push_back(id);
  }
  return out;
}

const std::vector<std::string>& Context::namespacesMatching(const LabelSelector& selector) {
  std::string key;
  appendSelectorKey(key, selector);
  auto [it, inserted] = ns_selections_.try_emplace(std::move(key));
  if (inserted) {
    for (const std::string& ns : all_namespaces_) {
      if (selectorMatches(selector, index.namespaceLabels(ns))) it->second.push_back(ns);
    }
  }
  return it->second;
}

void appendKey(std::string& out, std::string_view s) {
  out += std::to_string(s.size());
  out += ':';
  out += s;
}

void appendSelectorKey(std::string& out, const LabelSelector& selector) {
  out += '{';
  for (const auto& [k, v] : selector.match_labels) {
    appendKey(out, k);
    appendKey(out, v);
  }
  out += '|';
  for (const auto& r : selector.match_expressions) {
    appendKey(out, r.key);
    appendKey(out, r.op);
    for (const auto& v : r.values) appendKey(out, v);
    out += ';';
  }
  out += '}';
}

void appendRequiredNodeKey(std::string& out, const PlacementSpec& placement) {
  out += "ns{";
  for (const auto& [k, v] : placement.node_selector) {
    appendKey(out, k);
    appendKey(out, v);
  }
  out += "}na{";
  if (placement.node_affinity) {
    for (const auto& term : placement.node_affinity->required) {
      for (const auto& r : term.match_expressions) {
        appendKey(out, r.key);
        appendKey(out, r.op);
        for (const auto& v : r.values) appendKey(out, v);
        out += ';';
      }
      out += '/';
      for (const auto& r : term.match_fields) {
        appendKey(out, r.key);
        appendKey(out, r.op);
        for (const auto& v : r.values) appendKey(out, v);
        out += ';';
      }
      out += '#';
    }
  }
  out += '}';
}

void appendTolerationsKey(std::string& out, const PlacementSpec& placement) {
  out += "tol{";
  for (const auto& t : placement.tolerations) {
    appendKey(out, t.key);
    appendKey(out, t.op);
    appendKey(out, t.value);
    appendKey(out, t.effect);
    out += ';';
  }
  out += '}';
}

bool isMirrorPod(const Pod& pod) {
  return !pod.owners.empty() && pod.owners.front().controller && pod.owners.front().kind == "Node";
}

std::string nameList(const std::vector<std::string>& names, size_t max) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < max; ++i) {
    if (i > 0) s += ", ";
    s += names[i];
  }
  if (names.size() > max) s += " and " + std::to_string(names.size() - max) + " more";
  return s;
}

std::string domainPhrase(const std::string& key, const std::string& domain) {
  std::string word = "domain";
  if (key == zoneKey()) word = "zone";
  if (key == regionKey()) word = "region";
  if (key == hostnameKey()) word = "node";
  return word + " " + domain + " (" + key + ")";
}

}  // namespace rampart::engine::placement
