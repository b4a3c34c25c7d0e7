// The score (docs/scoring.md). Every lost point is owed to a finding: points
// are computed as exact fractions, then apportioned in hundredths with the
// largest-remainder method so that the integers add up exactly.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <tuple>

#include "engine_index.h"
#include "engine_score.h"

namespace rampart::engine {

double severityPoints(Severity s) {
  switch (s) {
    case Severity::kCritical:
      return 40;
    case Severity::kHigh:
      return 20;
    case Severity::kMedium:
      return 8;
    case Severity::kLow:
      return 3;
    case Severity::kInfo:
      return 0;
  }
  return 0;
}

double workloadWeight(int32_t replicas) {
  return 1.0 + std::log2(static_cast<double>(std::max(1, replicas)));
}

std::vector<Centi> apportion(const std::vector<double>& parts, Centi total) {
  std::vector<Centi> out(parts.size(), 0);
  double sum = std::accumulate(parts.begin(), parts.end(), 0.0);
  if (parts.empty() || sum <= 0 || total <= 0) return out;
  std::vector<std::pair<double, size_t>> remainders;
  remainders.reserve(parts.size());
  Centi given = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    double exact = parts[i] / sum * static_cast<double>(total);
    out[i] = static_cast<Centi>(std::floor(exact));
    given += out[i];
    remainders.push_back({exact - std::floor(exact), i});
  }
  // Largest remainder first; ties to the earlier part, so the result depends
  // only on the order of `parts`.
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t k = 0; given < total && k < remainders.size(); ++k, ++given) {
    ++out[remainders[k].second];
  }
  return out;
}

namespace {

Centi toCenti(double points) {
  return static_cast<Centi>(std::llround(points * 100.0));
}

// Lost points of a scope whose findings cost `costs`: each finding takes its
// cost (capped at 100) as a percentage of what is left, so many findings
// approach 0 without reaching it and an improvement always shows.
Centi lostOf(const std::vector<double>& costs) {
  double kept = 1.0;
  for (double c : costs) kept *= 1.0 - std::clamp(c, 0.0, 100.0) / 100.0;
  return std::clamp<Centi>(toCenti(100.0 * (1.0 - kept)), 0, 10000);
}

// A pod-level finding costs its workload a share of the base: one pod of ten
// not ready is a tenth of the damage of the whole workload being down.
double findingShare(const Finding& f, const ObjectRef& ref, const WorkloadFacts& w) {
  if (f.subject.kind != "Pod" || f.subject == ref) return 1.0;
  int32_t n = std::max<int32_t>({w.desired, w.pods, 1});
  return 1.0 / n;
}

// A node is one of N: a node-level finding weighs min(1, 3/N) of its base.
double nodeShare(size_t n) {
  return n <= 3 ? 1.0 : 3.0 / static_cast<double>(n);
}

}  // namespace

std::map<ObjectRef, WorkloadFacts> workloadFacts(const Index& index) {
  std::map<ObjectRef, WorkloadFacts> out;
  for (const auto& [ref, w] : index.workloads) {
    out.emplace_hint(out.end(), ref,
                     WorkloadFacts{w.desired, static_cast<int32_t>(w.pods.size()), w.ready});
  }
  return out;
}

Scores score(const Index& index, std::vector<Finding>& findings) {
  return score(workloadFacts(index), index.nodes.size(), findings);
}

Scores score(const std::map<ObjectRef, WorkloadFacts>& workloads, size_t nodes,
             std::vector<Finding>& findings) {
  // A canonical order first, so that apportioning ties never depends on the
  // order the checks ran in.
  std::sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    return std::tie(a.check, a.subject, a.pods, a.node, a.message) <
           std::tie(b.check, b.subject, b.pods, b.node, b.message);
  });

  // Group findings by the workload they count against.
  std::map<ObjectRef, std::vector<size_t>> by_workload;
  std::vector<size_t> cluster_level;
  for (size_t i = 0; i < findings.size(); ++i) {
    const Finding& f = findings[i];
    if (f.workload && workloads.contains(*f.workload)) {
      by_workload[*f.workload].push_back(i);
    } else {
      cluster_level.push_back(i);
    }
  }

  Scores scores;
  // Workload scores; `raw[i]` is finding i's exact cost to its workload.
  std::vector<double> raw(findings.size(), 0.0);
  std::map<ObjectRef, Centi> lost_by_workload;
  for (const auto& [ref, idx] : by_workload) {
    const WorkloadFacts& w = workloads.at(ref);
    std::vector<double> parts;
    for (size_t i : idx) {
      raw[i] = severityPoints(findings[i].severity) * findingShare(findings[i], ref, w);
      parts.push_back(raw[i]);
    }
    Centi lost = lostOf(parts);
    std::vector<Centi> pts = apportion(parts, lost);
    for (size_t k = 0; k < idx.size(); ++k) findings[idx[k]].points = pts[k];
    lost_by_workload[ref] = lost;
  }

  double total_weight = 0;
  std::map<std::string, double> ns_weight;
  for (const auto& [ref, w] : workloads) {
    WorkloadScore ws;
    ws.ref = ref;
    ws.replicas = w.desired;
    ws.ready = w.ready;
    ws.weight = workloadWeight(w.desired);
    auto it = lost_by_workload.find(ref);
    ws.score = 10000 - (it == lost_by_workload.end() ? 0 : it->second);
    total_weight += ws.weight;
    ns_weight[ref.namespace_] += ws.weight;
    scores.workloads.push_back(ws);
  }

  // Namespace scores: the blast-radius-weighted mean of their workloads.
  std::map<std::string, double> ns_lost;
  for (const WorkloadScore& ws : scores.workloads) {
    ns_lost[ws.ref.namespace_] += ws.weight * static_cast<double>(10000 - ws.score) / 100.0;
  }
  for (const auto& [ns, weight] : ns_weight) {
    scores.namespaces.push_back({ns, 10000 - lostOf({ns_lost[ns] / weight})});
  }

  // The cluster: cluster-level findings at their base, composed with the
  // weighted mean of the workloads' lost points; every finding gets a share
  // of the lost points in proportion to its contribution.
  std::vector<double> contributions(findings.size(), 0.0);
  std::vector<double> costs;
  double node_share = nodeShare(nodes);
  for (size_t i : cluster_level) {
    // A probe failing on a node (subject "NodeProbe") is node-level too.
    const std::string& kind = findings[i].subject.kind;
    double share = kind == "Node" || kind == "NodeProbe" ? node_share : 1.0;
    contributions[i] = severityPoints(findings[i].severity) * share;
    findings[i].points = toCenti(contributions[i]);
    costs.push_back(contributions[i]);
  }
  double workload_mean = 0;
  if (total_weight > 0) {
    for (const auto& [ref, idx] : by_workload) {
      double weight = workloadWeight(workloads.at(ref).desired);
      for (size_t i : idx) {
        contributions[i] = static_cast<double>(findings[i].points) / 100.0 * weight / total_weight;
        workload_mean += contributions[i];
      }
    }
  }
  costs.push_back(workload_mean);
  Centi cluster_lost = lostOf(costs);
  std::vector<Centi> shares = apportion(contributions, cluster_lost);
  for (size_t i = 0; i < findings.size(); ++i) findings[i].cluster_points = shares[i];
  scores.cluster = 10000 - cluster_lost;

  std::sort(scores.workloads.begin(), scores.workloads.end(),
            [](const WorkloadScore& a, const WorkloadScore& b) {
              return std::tie(a.score, a.ref) < std::tie(b.score, b.ref);
            });
  return scores;
}

}  // namespace rampart::engine
