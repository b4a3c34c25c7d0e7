// evaluate(): builds the index, runs the check families, the what-if and the
// score, and puts the report in its documented order.
#include <algorithm>
#include <tuple>

#include "engine_index.h"

namespace rampart::engine {

std::string unknownNodesWarning(size_t pods, const std::set<std::string>& missing_nodes) {
  if (pods == 0 || missing_nodes.empty()) return "";
  return std::to_string(pods) + " pod(s) on " + std::to_string(missing_nodes.size()) +
         " node(s) absent from the input (first: " + *missing_nodes.begin() +
         "): their placement and node-loss impact are not evaluated";
}

void orderFindings(std::vector<Finding>& findings) {
  // Top risks first; ties broken by every identifying field so that the
  // order never depends on the order checks ran in.
  std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    return std::tie(b.cluster_points, b.points, b.severity, a.check, a.subject, a.pods, a.node,
                    a.message) < std::tie(a.cluster_points, a.points, a.severity, b.check,
                                          b.subject, b.pods, b.node, b.message);
  });
}

namespace {

// Warnings about the snapshot itself: they flag partial results.
void snapshotWarnings(const Index& index, Report& report) {
  report.warnings = index.snapshot.input_warnings;
  std::set<std::string> missing;
  for (const Pod* p : index.pods_on_unknown_nodes) missing.insert(p->node_name);
  std::string w = unknownNodesWarning(index.pods_on_unknown_nodes.size(), missing);
  if (!w.empty()) {
    report.warnings.push_back(std::move(w));
    report.partial = true;
  }
  if (index.snapshot.partial) report.partial = true;
}

}  // namespace

Report evaluate(const Snapshot& snapshot, const Options& options) {
  Index index(snapshot, options);
  Report report;
  report.now_unix = snapshot.now_unix;
  snapshotWarnings(index, report);

  std::vector<Finding> findings;
  checkNamespaceScoped(index, findings);
  checkClusterScoped(index, findings);
  report.whatif = computeWhatIf(index);
  checkWhatIf(index, report.whatif, findings);

  std::erase_if(findings, [&](const Finding& f) { return !index.enabled(f.check); });
  for (Finding& f : findings) std::sort(f.pods.begin(), f.pods.end());

  report.score = score(index, findings);
  orderFindings(findings);
  report.findings = std::move(findings);
  return report;
}

}  // namespace rampart::engine
