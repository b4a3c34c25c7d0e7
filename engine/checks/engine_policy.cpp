#include "engine_policy.h"

#include <algorithm>
#include <set>

#include "rampart/selectors.h"

namespace rampart::engine {
namespace {

// intstr.GetScaledValueFromIntOrPercent(v, total, roundUp=true), which the
// controller uses for both fields.
int32_t scaled(const IntOrPercent& v, int32_t total) {
  if (!v.percent) return v.value;
  int64_t product = static_cast<int64_t>(v.value) * total;
  return static_cast<int32_t>((product + 99) / 100);
}

}  // namespace

namespace {

// The active pods of `ns` with label key=value, in namespace/name order.
const std::vector<const Pod*>& podsWithLabel(const Index& index, const std::string& ns,
                                             const std::string& key, const std::string& value) {
  static const std::vector<const Pod*> kNone;
  auto it = index.pods_by_label_cache.find(ns);
  if (it == index.pods_by_label_cache.end()) {
    it = index.pods_by_label_cache.emplace(ns, decltype(it->second){}).first;
    if (auto pods = index.pods_by_namespace.find(ns); pods != index.pods_by_namespace.end()) {
      for (const Pod* p : pods->second) {
        for (const auto& [k, v] : p->labels) it->second[{k, v}].push_back(p);
      }
    }
  }
  auto hit = it->second.find({key, value});
  return hit == it->second.end() ? kNone : hit->second;
}

}  // namespace

namespace {

std::vector<const Pod*> selectPods(const Index& index, const PodDisruptionBudget& pdb) {
  std::vector<const Pod*> out;
  if (!pdb.selector) return out;
  // A matchLabels pair narrows the candidates to the pods with that label.
  const std::vector<const Pod*>* candidates = nullptr;
  if (!pdb.selector->match_labels.empty()) {
    const auto& [key, value] = *pdb.selector->match_labels.begin();
    candidates = &podsWithLabel(index, pdb.namespace_, key, value);
  } else if (auto ns = index.pods_by_namespace.find(pdb.namespace_);
             ns != index.pods_by_namespace.end()) {
    candidates = &ns->second;
  }
  if (candidates == nullptr) return out;
  for (const Pod* p : *candidates) {
    if (selectorMatches(*pdb.selector, p->labels)) out.push_back(p);
  }
  return out;
}

// The snapshot's own PDBs are cached by address; any other PDB (a test's,
// a what-if's) is computed afresh.
bool ofSnapshot(const Index& index, const PodDisruptionBudget& pdb) {
  const auto& v = index.snapshot.pdbs;
  return !v.empty() && &pdb >= v.data() && &pdb < v.data() + v.size();
}

}  // namespace

std::vector<const Pod*> pdbPods(const Index& index, const PodDisruptionBudget& pdb) {
  if (!ofSnapshot(index, pdb)) return selectPods(index, pdb);
  auto cached = index.pdb_pods_cache.find(&pdb);
  if (cached == index.pdb_pods_cache.end()) {
    cached = index.pdb_pods_cache.emplace(&pdb, selectPods(index, pdb)).first;
  }
  return cached->second;
}

int32_t pdbExpectedPods(const Index& index, const PodDisruptionBudget& pdb) {
  std::set<ObjectRef> counted;
  int32_t expected = 0;
  for (const Pod* p : pdbPods(index, pdb)) {
    const WorkloadInfo* w = index.workloadInfo(*p);
    if (w == nullptr) {
      ++expected;
      continue;
    }
    if (counted.insert(w->ref).second) expected += w->desired;
  }
  if (pdb.has_status && pdb.expected_pods > expected) expected = pdb.expected_pods;
  return expected;
}

int32_t pdbDesiredHealthy(const PodDisruptionBudget& pdb, int32_t expected) {
  if (pdb.max_unavailable) {
    return std::max<int32_t>(0, expected - scaled(*pdb.max_unavailable, expected));
  }
  if (pdb.min_available) return scaled(*pdb.min_available, expected);
  return expected;
}

int32_t pdbDisruptionsAllowed(const PodDisruptionBudget& pdb, int32_t expected, int32_t healthy) {
  if (expected <= 0) return 0;
  return std::max<int32_t>(0, healthy - pdbDesiredHealthy(pdb, expected));
}

std::vector<const PodDisruptionBudget*> pdbsFor(const Index& index, const WorkloadInfo& workload) {
  std::vector<const PodDisruptionBudget*> out;
  auto ns = index.pdbs_by_namespace.find(workload.ref.namespace_);
  if (ns == index.pdbs_by_namespace.end()) return out;
  for (const PodDisruptionBudget* pdb_ptr : ns->second) {
    const PodDisruptionBudget& pdb = *pdb_ptr;
    if (!pdb.selector) continue;
    bool selects = false;
    if (!workload.pods.empty()) {
      // Both lists hold active pods in namespace/name order.
      const std::vector<const Pod*> selected = pdbPods(index, pdb);
      auto a = workload.pods.begin();
      auto b = selected.begin();
      while (!selects && a != workload.pods.end() && b != selected.end()) {
        if (*a == *b) {
          selects = true;
        } else if ((*a)->name < (*b)->name) {
          ++a;
        } else {
          ++b;
        }
      }
    } else if (workload.object != nullptr) {
      selects = selectorMatches(*pdb.selector, workload.object->template_labels);
    }
    if (selects) out.push_back(&pdb);
  }
  std::sort(out.begin(), out.end(), [](const PodDisruptionBudget* a, const PodDisruptionBudget* b) {
    return a->name < b->name;
  });
  return out;
}

std::string intOrPercentText(const IntOrPercent& v) {
  return std::to_string(v.value) + (v.percent ? "%" : "");
}

nlohmann::ordered_json intOrPercentJson(const IntOrPercent& v) {
  if (v.percent) return intOrPercentText(v);
  return v.value;
}

bool serviceSelects(const Service& service, const Pod& pod) {
  if (service.namespace_ != pod.namespace_ || service.selector.empty()) return false;
  for (const auto& [key, value] : service.selector) {
    auto it = pod.labels.find(key);
    if (it == pod.labels.end() || it->second != value) return false;
  }
  return true;
}

std::string refName(const ObjectRef& ref) {
  return ref.namespace_.empty() ? ref.name : ref.namespace_ + "/" + ref.name;
}

}  // namespace rampart::engine
