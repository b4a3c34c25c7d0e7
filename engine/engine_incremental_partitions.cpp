// The incremental engine's partitions (engine_incremental_impl.h,
// docs/incremental.md, "Partitions"): which objects of a namespace belong
// together, the keys and links that decide it, single-object changes, reset
// and sync of whole snapshots, and the dirty marking that tells
// engine_incremental_evaluate.cpp what to re-evaluate.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine_incremental_impl.h"
#include "rampart/selectors.h"

namespace rampart::engine {
namespace {

using incremental::Links;

// Namespaced objects are kept sorted by these keys.
std::tuple<const std::string&> keyOf(const Pod& p) {
  return std::tie(p.name);
}
std::tuple<const std::string&, const std::string&> keyOf(const Workload& w) {
  return std::tie(w.kind, w.name);
}
std::tuple<const std::string&> keyOf(const PodDisruptionBudget& p) {
  return std::tie(p.name);
}
std::tuple<const std::string&> keyOf(const HorizontalPodAutoscaler& h) {
  return std::tie(h.name);
}
std::tuple<const std::string&> keyOf(const Service& s) {
  return std::tie(s.name);
}
std::tuple<const std::string&> keyOf(const PersistentVolumeClaim& c) {
  return std::tie(c.name);
}

template <typename T, typename Key>
typename std::vector<T>::iterator findSorted(std::vector<T>& v, const Key& key) {
  return std::lower_bound(v.begin(), v.end(), key,
                          [](const T& a, const Key& k) { return keyOf(a) < k; });
}

template <typename T>
bool keyLess(const T& a, const T& b) {
  return keyOf(a) < keyOf(b);
}

template <typename T>
void sortByKey(std::vector<T>& v) {
  std::sort(v.begin(), v.end(), keyLess<T>);
}

// Moves the (sorted) objects of `from` into the (sorted) `to`.
template <typename T>
void mergeInto(std::vector<T>& from, std::vector<T>& to) {
  if (from.empty()) return;
  const size_t mid = to.size();
  to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
  std::inplace_merge(to.begin(), to.begin() + static_cast<long>(mid), to.end(), keyLess<T>);
  from.clear();
}

// The item keys of a namespace's objects (a pod, a controller, ...).
std::string itemKey(const Pod& p) {
  return "p/" + p.name;
}
std::string itemKey(const Workload& w) {
  return "w/" + w.kind + "/" + w.name;
}
std::string itemKey(const PodDisruptionBudget& p) {
  return "b/" + p.name;
}
std::string itemKey(const HorizontalPodAutoscaler& h) {
  return "h/" + h.name;
}
std::string itemKey(const Service& s) {
  return "s/" + s.name;
}
std::string itemKey(const PersistentVolumeClaim& c) {
  return "c/" + c.name;
}

// A canonical, unambiguous text of a selector (the key of a reader).
void appendPart(std::string& out, std::string_view s) {
  out += std::to_string(s.size());
  out += ':';
  out += s;
}

std::string selectorKey(const LabelSelector& s) {
  std::string key = "{";
  for (const auto& [k, v] : s.match_labels) {
    appendPart(key, k);
    appendPart(key, v);
  }
  key += '|';
  for (const auto& r : s.match_expressions) {
    appendPart(key, r.key);
    appendPart(key, r.op);
    for (const auto& v : r.values) appendPart(key, v);
    key += ';';
  }
  key += '}';
  return key;
}

std::string ownerKey(const std::string& kind, const std::string& name) {
  return "o/" + kind + "/" + name;
}

Links linksOf(const Pod& p) {
  Links l;
  // Every owner: the controller chain a pod's workload is resolved through
  // (ReplicaSet -> Deployment, Job -> CronJob, the inferred parent).
  for (const OwnerRef& o : p.owners) l.keys.push_back(ownerKey(o.kind, o.name));
  for (const std::string& c : p.pvc_names) l.keys.push_back("c/" + c);
  // Carriers of one spread constraint form one group (one finding).
  for (const TopologySpreadConstraint& c : p.placement.topology_spread) {
    std::string key = "t/";
    appendPart(key, c.topology_key);
    key += c.label_selector ? selectorKey(*c.label_selector) : "nil";
    l.keys.push_back(std::move(key));
    if (c.label_selector) l.selectors.push_back(*c.label_selector);
  }
  // Anti-affinity terms that may read the pod's own namespace.
  auto term = [&](const PodAffinityTerm& t) {
    const bool own =
        (t.namespaces.empty() && !t.namespace_selector) || t.namespace_selector ||
        std::find(t.namespaces.begin(), t.namespaces.end(), p.namespace_) != t.namespaces.end();
    if (own && t.label_selector) l.selectors.push_back(*t.label_selector);
  };
  if (const auto& rules = p.placement.pod_anti_affinity) {
    for (const PodAffinityTerm& t : rules->required) term(t);
    for (const WeightedPodAffinityTerm& t : rules->preferred) term(t.term);
  }
  return l;
}

Links linksOf(const Workload& w) {
  Links l;
  l.keys.push_back(ownerKey(w.kind, w.name));
  for (const OwnerRef& o : w.owners) l.keys.push_back(ownerKey(o.kind, o.name));
  return l;
}

Links linksOf(const PodDisruptionBudget& pdb) {
  Links l;
  if (pdb.selector) l.selectors.push_back(*pdb.selector);
  l.templates = true;
  return l;
}

Links linksOf(const HorizontalPodAutoscaler& h) {
  Links l;
  l.keys.push_back(ownerKey(h.target_kind, h.target_name));
  return l;
}

Links linksOf(const Service& s) {
  Links l;
  if (!s.selector.empty()) {
    LabelSelector sel;
    sel.match_labels = s.selector;
    l.selectors.push_back(std::move(sel));
  }
  return l;
}

Links linksOf(const PersistentVolumeClaim& c) {
  return {{"c/" + c.name}, {}, false};
}

}  // namespace

// ---- Namespaces and dirty marking --------------------------------------

Incremental::Impl::Space& Incremental::Impl::space(std::string_view ns) {
  auto it = spaces.find(ns);
  if (it == spaces.end()) {
    it = spaces.emplace(std::string(ns), Space{}).first;
    it->second.name = std::string(ns);
  }
  return it->second;
}

void Incremental::Impl::markAll() {
  tables.reset();
  for (auto& [name, ns] : spaces) {
    for (auto& [id, g] : ns.groups) g.dirty = true;
  }
  all_dirty = true;
  cluster_dirty = true;
  regroup = true;
  ++stats.full_invalidations;
}

// Pods of `ns` changed: the groups of other namespaces whose terms read it.
void Incremental::Impl::markReaders(const std::string& ns) {
  for (const auto& [reader_ns, id] : cross_readers) {
    if (reader_ns == ns) continue;
    auto it = spaces.find(reader_ns);
    if (it == spaces.end()) continue;
    Group& g = it->second.group(id);
    if (g.dirty) continue;
    if (g.reads.contains(ns) || g.reads.contains("*")) touch(it->second, id);
  }
}

void Incremental::Impl::countPod(const Pod& p, int32_t delta) {
  if (!podCounts(p) || p.node_name.empty()) return;
  auto it = pods_per_node.find(p.node_name);
  if (it == pods_per_node.end()) it = pods_per_node.emplace(p.node_name, 0).first;
  it->second += delta;
  if (it->second == 0) pods_per_node.erase(it);
  if (counted_nodes.contains(p.node_name)) cluster_dirty = true;
}

// Book-keeping for a pod that changed from `before` to `after` (either may
// be null).
void Incremental::Impl::podChanged(const Pod* before, const Pod* after) {
  if (before != nullptr) countPod(*before, -1);
  if (after != nullptr) countPod(*after, +1);
  if ((before != nullptr && controlPlaneComponent(*before)) ||
      (after != nullptr && controlPlaneComponent(*after))) {
    cluster_dirty = true;
  }
}

// ---- Groups ------------------------------------------------------------

void Incremental::Impl::touch(Space& ns, int id) {
  id = ns.find(id);
  ns.groups.at(id).dirty = true;
  dirty_list.emplace_back(&ns, id);
}

// Joins two groups (the smaller one's objects move); returns the root.
int Incremental::Impl::unite(Space& ns, int a, int b) {
  a = ns.find(a);
  b = ns.find(b);
  if (a == b) return a;
  if (ns.groups.at(a).size() < ns.groups.at(b).size()) std::swap(a, b);
  Group& to = ns.groups.at(a);
  Group& from = ns.groups.at(b);
  mergeInto(from.snap.pods, to.snap.pods);
  mergeInto(from.snap.workloads, to.snap.workloads);
  mergeInto(from.snap.pdbs, to.snap.pdbs);
  mergeInto(from.snap.hpas, to.snap.hpas);
  mergeInto(from.snap.services, to.snap.services);
  mergeInto(from.snap.pvcs, to.snap.pvcs);
  ns.parent[static_cast<size_t>(b)] = a;
  touch(ns, a);
  ns.groups.erase(b);
  return a;
}

// The group ids of the pods a selector matches (a superset is fine: the
// candidates come from the label index), and, with `templates`, of the
// controllers whose template labels it matches.
void Incremental::Impl::matchSelector(Space& ns, const LabelSelector& sel, bool templates,
                                      int gid) {
  const std::set<std::string>* narrow = nullptr;
  if (!sel.match_labels.empty()) {
    auto it = ns.label_pods.find(*sel.match_labels.begin());
    static const std::set<std::string> kNone;
    narrow = it == ns.label_pods.end() ? &kNone : &it->second;
  }
  std::vector<int> hits;
  const std::set<std::string>& names = narrow != nullptr ? *narrow : ns.pod_names;
  for (const std::string& name : names) {
    const int g = ns.find(ns.items.at("p/" + name));
    if (g == ns.find(gid)) continue;
    const Group& group = ns.groups.at(g);
    auto it = std::lower_bound(group.snap.pods.begin(), group.snap.pods.end(), name,
                               [](const Pod& p, const std::string& n) { return p.name < n; });
    if (it != group.snap.pods.end() && it->name == name && selectorMatches(sel, it->labels)) {
      hits.push_back(g);
    }
  }
  if (templates) {
    for (const auto& [id, group] : ns.groups) {
      for (const Workload& w : group.snap.workloads) {
        if (selectorMatches(sel, w.template_labels)) {
          hits.push_back(id);
          break;
        }
      }
    }
  }
  for (int g : hits) gid = unite(ns, gid, g);
}

// Ties the object `item` (in group `gid`) to what its links reach: groups
// holding its keys, readers of its selectors (a new selector is matched
// against the namespace's pods), and the readers matching its labels
// (a pod's, or a controller's template labels). Returns the root.
int Incremental::Impl::link(Space& ns, int gid, const Links& links, const Labels* pod_labels,
                            const Labels* template_labels) {
  for (const std::string& key : links.keys) {
    auto [it, inserted] = ns.keys.try_emplace(key, gid);
    if (!inserted) gid = unite(ns, gid, it->second);
  }
  for (const LabelSelector& sel : links.selectors) {
    std::string key = selectorKey(sel);
    auto it = ns.readers.find(key);
    if (it == ns.readers.end()) {
      ns.readers.emplace(key, Reader{sel, gid, links.templates});
      matchSelector(ns, sel, links.templates, gid);
      gid = ns.find(gid);
      continue;
    }
    gid = unite(ns, gid, it->second.group);
    if (links.templates && !it->second.templates) {
      it->second.templates = true;
      matchSelector(ns, sel, true, gid);
      gid = ns.find(gid);
    }
  }
  if (pod_labels != nullptr || template_labels != nullptr) {
    std::vector<int> hits;
    for (const auto& [key, r] : ns.readers) {
      if ((pod_labels != nullptr && selectorMatches(r.selector, *pod_labels)) ||
          (template_labels != nullptr && r.templates &&
           selectorMatches(r.selector, *template_labels))) {
        hits.push_back(r.group);
      }
    }
    for (int g : hits) gid = unite(ns, gid, g);
  }
  return ns.find(gid);
}

void Incremental::Impl::indexLabels(Space& ns, const Pod& p, bool add) {
  for (const auto& kv : p.labels) {
    if (add) {
      ns.label_pods[kv].insert(p.name);
    } else if (auto it = ns.label_pods.find(kv); it != ns.label_pods.end()) {
      it->second.erase(p.name);
      if (it->second.empty()) ns.label_pods.erase(it);
    }
  }
  if (add) {
    ns.pod_names.insert(p.name);
  } else {
    ns.pod_names.erase(p.name);
  }
}

// Forms the groups of a namespace from its objects (sorted by key) at once:
// union-find over the objects, then each object moved to its group.
void Incremental::Impl::build(Space& ns, Snapshot objects) {
  ns.parent.clear();
  ns.groups.clear();
  ns.items.clear();
  ns.keys.clear();
  ns.readers.clear();
  ns.label_pods.clear();
  ns.pod_names.clear();

  const size_t n_pods = objects.pods.size(), n_w = objects.workloads.size();
  const size_t n_b = objects.pdbs.size(), n_h = objects.hpas.size();
  const size_t n_s = objects.services.size(), n_c = objects.pvcs.size();
  const size_t total = n_pods + n_w + n_b + n_h + n_s + n_c;
  std::vector<size_t> uf(total);
  for (size_t i = 0; i < total; ++i) uf[i] = i;
  auto find = [&](size_t i) {
    while (uf[i] != i) i = uf[i] = uf[uf[i]];
    return i;
  };
  auto join = [&](size_t a, size_t b) {
    a = find(a);
    b = find(b);
    if (a != b) uf[std::max(a, b)] = std::min(a, b);
  };
  std::unordered_map<std::string, size_t> key_item;
  struct BuildReader {
    LabelSelector selector;
    size_t item;
    bool templates;
  };
  std::map<std::string, BuildReader> readers;
  auto add = [&](size_t item, const Links& l) {
    for (const std::string& k : l.keys) {
      auto [it, inserted] = key_item.try_emplace(k, item);
      if (!inserted) join(item, it->second);
    }
    for (const LabelSelector& sel : l.selectors) {
      auto [it, inserted] = readers.try_emplace(selectorKey(sel), BuildReader{sel, item, false});
      if (!inserted) join(item, it->second.item);
      it->second.templates = it->second.templates || l.templates;
    }
  };
  size_t base = 0;
  for (size_t i = 0; i < n_pods; ++i) {
    add(base + i, linksOf(objects.pods[i]));
    indexLabels(ns, objects.pods[i], true);
  }
  base += n_pods;
  for (size_t i = 0; i < n_w; ++i) add(base + i, linksOf(objects.workloads[i]));
  base += n_w;
  for (size_t i = 0; i < n_b; ++i) add(base + i, linksOf(objects.pdbs[i]));
  base += n_b;
  for (size_t i = 0; i < n_h; ++i) add(base + i, linksOf(objects.hpas[i]));
  base += n_h;
  for (size_t i = 0; i < n_s; ++i) add(base + i, linksOf(objects.services[i]));
  base += n_s;
  for (size_t i = 0; i < n_c; ++i) add(base + i, linksOf(objects.pvcs[i]));

  // Selectors over the pods (narrowed by a label) and the templates.
  auto pod_index = [&](const std::string& name) {
    auto it = std::lower_bound(objects.pods.begin(), objects.pods.end(), name,
                               [](const Pod& p, const std::string& n) { return p.name < n; });
    return static_cast<size_t>(it - objects.pods.begin());
  };
  for (const auto& [key, r] : readers) {
    if (!r.selector.match_labels.empty()) {
      auto it = ns.label_pods.find(*r.selector.match_labels.begin());
      if (it != ns.label_pods.end()) {
        for (const std::string& name : it->second) {
          const size_t i = pod_index(name);
          if (selectorMatches(r.selector, objects.pods[i].labels)) join(r.item, i);
        }
      }
    } else {
      for (size_t i = 0; i < n_pods; ++i) {
        if (selectorMatches(r.selector, objects.pods[i].labels)) join(r.item, i);
      }
    }
    if (r.templates) {
      for (size_t i = 0; i < n_w; ++i) {
        if (selectorMatches(r.selector, objects.workloads[i].template_labels)) {
          join(r.item, n_pods + i);
        }
      }
    }
  }

  // One group per root, objects moved in (kept in key order).
  std::unordered_map<size_t, int> group_of;
  auto group_for = [&](size_t item) {
    const size_t root = find(item);
    auto [it, inserted] = group_of.try_emplace(root, 0);
    if (inserted) it->second = ns.newGroup();
    return it->second;
  };
  base = 0;
  auto place = [&]<typename T>(std::vector<T>& from, std::vector<T> Snapshot::*field) {
    for (size_t i = 0; i < from.size(); ++i) {
      const int g = group_for(base + i);
      ns.items[itemKey(from[i])] = g;
      (ns.groups.at(g).snap.*field).push_back(std::move(from[i]));
    }
    base += from.size();
  };
  place(objects.pods, &Snapshot::pods);
  place(objects.workloads, &Snapshot::workloads);
  place(objects.pdbs, &Snapshot::pdbs);
  place(objects.hpas, &Snapshot::hpas);
  place(objects.services, &Snapshot::services);
  place(objects.pvcs, &Snapshot::pvcs);
  for (const auto& [k, item] : key_item) ns.keys[k] = group_for(item);
  for (auto& [k, r] : readers) {
    ns.readers.emplace(k, Reader{std::move(r.selector), group_for(r.item), r.templates});
  }
}

// The objects of a namespace, out of its groups, sorted by key.
Snapshot Incremental::Impl::collect(Space& ns) {
  Snapshot s;
  for (auto& [id, g] : ns.groups) {
    auto take = [](auto& from, auto& to) {
      to.insert(to.end(), std::make_move_iterator(from.begin()),
                std::make_move_iterator(from.end()));
    };
    take(g.snap.pods, s.pods);
    take(g.snap.workloads, s.workloads);
    take(g.snap.pdbs, s.pdbs);
    take(g.snap.hpas, s.hpas);
    take(g.snap.services, s.services);
    take(g.snap.pvcs, s.pvcs);
  }
  sortByKey(s.pods);
  sortByKey(s.workloads);
  sortByKey(s.pdbs);
  sortByKey(s.hpas);
  sortByKey(s.services);
  sortByKey(s.pvcs);
  return s;
}

// ---- Single-object changes ---------------------------------------------

// The group holding an item, or a new one.
int Incremental::Impl::groupOf(Space& ns, const std::string& item) {
  auto it = ns.items.find(item);
  if (it != ns.items.end()) return ns.find(it->second);
  const int g = ns.newGroup();
  ns.items.emplace(item, g);
  return g;
}

void Incremental::Impl::upsertPod(const Pod& pod) {
  Space& ns = space(pod.namespace_);
  const std::string item = itemKey(pod);
  int gid = groupOf(ns, item);
  {
    std::vector<Pod>& pods = ns.groups.at(gid).snap.pods;
    auto it = findSorted(pods, keyOf(pod));
    const bool known = it != pods.end() && it->name == pod.name;
    if (known && *it == pod) return;
    podChanged(known ? &*it : nullptr, &pod);
    if (known) {
      indexLabels(ns, *it, false);
      *it = pod;
    } else {
      pods.insert(it, pod);
    }
  }
  indexLabels(ns, pod, true);
  gid = link(ns, gid, linksOf(pod), &pod.labels, nullptr);
  touch(ns, gid);
  markReaders(ns.name);
}

void Incremental::Impl::removePod(std::string_view namespace_, std::string_view name) {
  auto sit = spaces.find(namespace_);
  if (sit == spaces.end()) return;
  Space& ns = sit->second;
  std::string item = "p/" + std::string(name);
  auto iit = ns.items.find(item);
  if (iit == ns.items.end()) return;
  Group& g = ns.group(iit->second);
  std::string key(name);
  auto it = findSorted(g.snap.pods, std::tie(key));
  if (it != g.snap.pods.end() && it->name == name) {
    podChanged(&*it, nullptr);
    indexLabels(ns, *it, false);
    g.snap.pods.erase(it);
  }
  touch(ns, iit->second);
  ns.items.erase(iit);
  markReaders(ns.name);
}

template <typename T, typename Field>
void Incremental::Impl::upsertObject(T obj, Field field) {
  Space& ns = space(obj.namespace_);
  const std::string item = itemKey(obj);
  int gid = groupOf(ns, item);
  {
    auto& v = ns.groups.at(gid).snap.*field;
    auto it = findSorted(v, keyOf(obj));
    if (it != v.end() && keyOf(*it) == keyOf(obj)) {
      if (*it == obj) return;
      *it = obj;
    } else {
      v.insert(it, obj);
    }
  }
  const Labels* templates = nullptr;
  if constexpr (std::is_same_v<T, Workload>) templates = &obj.template_labels;
  gid = link(ns, gid, linksOf(obj), nullptr, templates);
  touch(ns, gid);
}

template <typename T, typename Field>
void Incremental::Impl::removeObject(std::string_view namespace_, const std::string& item,
                                     Field field, const auto& key) {
  auto sit = spaces.find(namespace_);
  if (sit == spaces.end()) return;
  Space& ns = sit->second;
  auto iit = ns.items.find(item);
  if (iit == ns.items.end()) return;
  Group& g = ns.group(iit->second);
  auto& v = g.snap.*field;
  auto it = findSorted(v, key);
  if (it != v.end() && keyOf(*it) == key) v.erase(it);
  touch(ns, iit->second);
  ns.items.erase(iit);
}

// ---- Whole snapshots ---------------------------------------------------

// Distributes a snapshot's namespaced objects over per-namespace
// snapshots, sorted; the cluster-wide ones stay in `s`.
std::map<std::string, Snapshot, std::less<>> Incremental::Impl::split(Snapshot& s) {
  std::map<std::string, Snapshot, std::less<>> groups;
  for (Pod& p : s.pods) groups[p.namespace_].pods.push_back(std::move(p));
  for (Workload& w : s.workloads) groups[w.namespace_].workloads.push_back(std::move(w));
  for (auto& x : s.pdbs) groups[x.namespace_].pdbs.push_back(std::move(x));
  for (auto& x : s.hpas) groups[x.namespace_].hpas.push_back(std::move(x));
  for (auto& x : s.services) groups[x.namespace_].services.push_back(std::move(x));
  for (auto& x : s.pvcs) groups[x.namespace_].pvcs.push_back(std::move(x));
  s.pods.clear();
  s.workloads.clear();
  s.pdbs.clear();
  s.hpas.clear();
  s.services.clear();
  s.pvcs.clear();
  for (auto& [ns, g] : groups) {
    sortByKey(g.pods);
    sortByKey(g.workloads);
    sortByKey(g.pdbs);
    sortByKey(g.hpas);
    sortByKey(g.services);
    sortByKey(g.pvcs);
  }
  return groups;
}

void Incremental::Impl::resetFrom(Snapshot s) {
  auto groups = split(s);
  shared = std::move(s);
  spaces.clear();
  dirty_list.clear();
  cross_readers.clear();
  pods_per_node.clear();
  for (auto& [name, g] : groups) {
    for (const Pod& pod : g.pods) countPod(pod, +1);
    build(space(name), std::move(g));
  }
  markAll();
  regroup = false;  // just formed
}

// The held objects of one kind in a namespace against the incoming ones
// (both sorted by key): upserts what differs, removes what is gone.
template <typename T, typename Upsert, typename Remove>
void Incremental::Impl::syncKind(Space* ns, std::vector<T>& incoming,
                                 std::vector<T> Snapshot::*field, Upsert upsert, Remove remove) {
  // Compare first, change after: a change moves the held objects.
  std::vector<const T*> held;
  if (ns != nullptr) {
    for (const auto& [id, g] : ns->groups) {
      for (const T& x : g.snap.*field) held.push_back(&x);
    }
  }
  std::sort(held.begin(), held.end(), [](const T* a, const T* b) { return keyLess(*a, *b); });
  std::vector<T*> changed;
  std::vector<T> gone;
  auto a = held.begin();
  for (T& x : incoming) {
    while (a != held.end() && keyLess(**a, x)) gone.push_back(**a++);
    if (a != held.end() && keyOf(**a) == keyOf(x)) {
      const bool same = **a == x;
      ++a;
      if (same) continue;
    }
    changed.push_back(&x);
  }
  while (a != held.end()) gone.push_back(**a++);
  for (T* x : changed) upsert(std::move(*x));
  for (const T& x : gone) remove(x);
}

void Incremental::Impl::syncFrom(Snapshot s) {
  auto groups = split(s);
  bool all = false;
  auto replace_if_changed = [](auto& held, auto& incoming) {
    if (held == incoming) return false;
    held = std::move(incoming);
    return true;
  };
  all |= replace_if_changed(shared.nodes, s.nodes);
  all |= replace_if_changed(shared.namespaces, s.namespaces);
  all |= replace_if_changed(shared.pvs, s.pvs);
  all |= replace_if_changed(shared.velero_schedules, s.velero_schedules);
  if (shared.velero_seen != s.velero_seen) {
    shared.velero_seen = s.velero_seen;
    all = true;
  }
  if (shared.silent_nodes != s.silent_nodes) {
    shared.silent_nodes = std::move(s.silent_nodes);
    all = true;
  }
  if (replace_if_changed(shared.velero_backups, s.velero_backups)) cluster_dirty = true;
  // The etcd prober's observation feeds cluster-scoped checks only.
  if (shared.etcd != s.etcd) {
    shared.etcd = std::move(s.etcd);
    cluster_dirty = true;
  }
  // Node leases only feed the liveness findings of silent nodes (cluster partition).
  if (replace_if_changed(shared.node_leases, s.node_leases)) cluster_dirty = true;
  // Probe results and flapping pods feed cluster-scoped checks only.
  if (shared.node_probes != s.node_probes) {
    shared.node_probes = std::move(s.node_probes);
    cluster_dirty = true;
  }
  if (shared.readiness_flapping != s.readiness_flapping) {
    shared.readiness_flapping = std::move(s.readiness_flapping);
    cluster_dirty = true;
  }
  if (shared.now_unix != s.now_unix) {
    shared.now_unix = s.now_unix;
    cluster_dirty = true;
  }
  if (shared.partial != s.partial || shared.input_warnings != s.input_warnings) cached.reset();
  shared.partial = s.partial;
  shared.input_warnings = std::move(s.input_warnings);

  std::set<std::string> names;
  for (const auto& [name, ns] : spaces) names.insert(name);
  for (const auto& [name, g] : groups) names.insert(name);
  for (const std::string& name : names) {
    Snapshot none;
    auto git = groups.find(name);
    Snapshot& in = git != groups.end() ? git->second : none;
    auto sit = spaces.find(name);
    Space* ns = sit != spaces.end() ? &sit->second : nullptr;
    syncKind(
        ns, in.pods, &Snapshot::pods, [&](const Pod& p) { upsertPod(p); },
        [&](const Pod& p) { removePod(p.namespace_, p.name); });
    ns = &space(name);
    syncKind(
        ns, in.workloads, &Snapshot::workloads,
        [&](Workload w) { upsertObject(std::move(w), &Snapshot::workloads); },
        [&](const Workload& w) {
          removeObject<Workload>(w.namespace_, itemKey(w), &Snapshot::workloads, keyOf(w));
        });
    syncNamed(ns, in.pdbs, &Snapshot::pdbs);
    syncNamed(ns, in.hpas, &Snapshot::hpas);
    syncNamed(ns, in.services, &Snapshot::services);
    syncNamed(ns, in.pvcs, &Snapshot::pvcs);
  }
  if (all) markAll();
}

template <typename T>
void Incremental::Impl::syncNamed(Space* ns, std::vector<T>& incoming,
                                  std::vector<T> Snapshot::*field) {
  syncKind(
      ns, incoming, field, [&](T x) { upsertObject(std::move(x), field); },
      [&](const T& x) { removeObject<T>(x.namespace_, itemKey(x), field, keyOf(x)); });
}

Incremental::Incremental(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Incremental::~Incremental() = default;

void Incremental::reset(Snapshot snapshot) {
  impl_->resetFrom(std::move(snapshot));
}

void Incremental::sync(Snapshot snapshot) {
  impl_->syncFrom(std::move(snapshot));
}

void Incremental::upsertPod(const Pod& pod) {
  impl_->upsertPod(pod);
}

void Incremental::removePod(std::string_view namespace_, std::string_view name) {
  impl_->removePod(namespace_, name);
}

void Incremental::upsertWorkload(Workload workload) {
  impl_->upsertObject(std::move(workload), &Snapshot::workloads);
}

void Incremental::removeWorkload(std::string_view kind, std::string_view namespace_,
                                 std::string_view name) {
  std::string k(kind), n(name);
  impl_->removeObject<Workload>(namespace_, "w/" + k + "/" + n, &Snapshot::workloads,
                                std::tie(k, n));
}

#define RAMPART_NAMESPACED(Type, Field, Upsert, Remove, Prefix)                         \
  void Incremental::Upsert(Type obj) {                                                  \
    impl_->upsertObject(std::move(obj), &Snapshot::Field);                              \
  }                                                                                     \
  void Incremental::Remove(std::string_view namespace_, std::string_view name) {        \
    std::string n(name);                                                                \
    impl_->removeObject<Type>(namespace_, (Prefix) + n, &Snapshot::Field, std::tie(n)); \
  }

RAMPART_NAMESPACED(PodDisruptionBudget, pdbs, upsertPdb, removePdb, "b/")
RAMPART_NAMESPACED(HorizontalPodAutoscaler, hpas, upsertHpa, removeHpa, "h/")
RAMPART_NAMESPACED(Service, services, upsertService, removeService, "s/")
RAMPART_NAMESPACED(PersistentVolumeClaim, pvcs, upsertPvc, removePvc, "c/")
#undef RAMPART_NAMESPACED

void Incremental::setNow(int64_t now_unix) {
  if (impl_->shared.now_unix == now_unix) return;
  impl_->shared.now_unix = now_unix;
  impl_->cluster_dirty = true;
}

void Incremental::setSilentNodes(std::set<std::string> silent) {
  if (impl_->shared.silent_nodes == silent) return;
  impl_->shared.silent_nodes = std::move(silent);
  impl_->markAll();
}

}  // namespace rampart::engine
