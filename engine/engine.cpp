// evaluate(): builds the index, runs the check families, the what-if and the
// score, and puts the report in its documented order. The check families are
// listed here, in the order they run (docs/checks.md documents each id).
#include <algorithm>
#include <tuple>

#include "engine_etcd.h"
#include "engine_index.h"
#include "engine_probes.h"

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

// The check families, in the order evaluate() runs them, with the ids each
// one gives (docs/checks.md). The incremental engine runs the same two lists:
// the first per group of one namespace's objects, the second for the cluster
// (docs/incremental.md, "Partitions").

void checkNamespaceScoped(const Index& index, std::vector<Finding>& out) {
  checkPlacement(index, out);     // placement.*
  if (index.cancelled()) return;  // (the caller sees it too and discards `out`)
  checkWorkloads(index, out);     // workload.*, probe.*-missing, pdb.*, hpa.*, pod.*
                                  // (but pod.readiness-flapping)
  if (index.cancelled()) return;
  backupsNamespaceScoped(index, out);  // backup.uncovered-volumes, volume.zone-pinned
}

void checkClusterScoped(const Index& index, std::vector<Finding>& out) {
  checkInfrastructure(index, out);     // node.* (liveness included; not the probes'),
                                       // cluster.*, controlplane.*, etcd.* of the etcd pods
  checkEtcdObserved(index, out);       // etcd.* of the prober, controlplane.apiserver-unhealthy
  backupsClusterScoped(index, out);    // backup.not-observed, backup.stale
  checkNodeProbes(index, out);         // node.kubelet-unhealthy, node.apiserver-unreachable,
                                       // probe.node-check-failed
  checkReadinessFlapping(index, out);  // pod.readiness-flapping
}

Report evaluate(const Snapshot& snapshot, const Options& options) {
  // Without a stop source nothing can cancel it.
  return *evaluate(snapshot, options, std::stop_token());
}

Cancellable<Report> evaluate(const Snapshot& snapshot, const Options& options,
                             std::stop_token cancel) {
  Index index(snapshot, options);
  index.cancel = std::move(cancel);
  Report report;
  report.now_unix = snapshot.now_unix;
  snapshotWarnings(index, report);

  std::vector<Finding> findings;
  checkNamespaceScoped(index, findings);
  if (index.cancelled()) return std::unexpected(Cancelled{});
  checkClusterScoped(index, findings);
  if (index.cancelled()) return std::unexpected(Cancelled{});
  report.whatif = computeWhatIf(index);
  if (index.cancelled()) return std::unexpected(Cancelled{});
  checkWhatIf(index, report.whatif, findings);  // whatif.node-loss, whatif.zone-loss

  std::erase_if(findings, [&](const Finding& f) { return !index.enabled(f.check); });
  for (Finding& f : findings) std::sort(f.pods.begin(), f.pods.end());

  report.score = score(index, findings);
  orderFindings(findings);
  report.findings = std::move(findings);
  if (index.cancelled()) return std::unexpected(Cancelled{});
  return report;
}

}  // namespace rampart::engine
