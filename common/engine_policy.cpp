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

std::vector<const Pod*> pdbPods(const Index& index, const PodDisruptionBudget& pdb) {
  std::vector<const Pod*> out;
  if (!pdb.selector) return out;
  auto ns = index.pods_by_namespace.find(pdb.namespace_);
  if (ns == index.pods_by_namespace.end()) return out;
  for (const Pod* p : ns->second) {
    if (selectorMatches(*pdb.selector, p->labels)) out.push_back(p);
  }
  return out;
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
      selects = std::any_of(workload.pods.begin(), workload.pods.end(), [&](const Pod* p) {
        return selectorMatches(*pdb.selector, p->labels);
      });
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
