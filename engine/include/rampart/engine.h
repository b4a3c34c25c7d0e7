// The resilience engine: a pure function from a cluster snapshot to findings,
// scores and failure-domain what-if results. No I/O; the time is passed in.
// The same code runs in rampartctl audit (on a kubectl dump), in the
// aggregator (on its live model) and, for the placement checks, in the agent.
//
// Determinism: the same snapshot and options give the same report, byte for
// byte once rendered. Every container in the report is sorted by a documented
// key; nothing depends on pointer values or hash order.
//
// Public contracts (docs/checks.md, docs/scoring.md, docs/audit-json.md):
// check ids, severities, detail keys and the JSON rendering.
#pragma once

#include <compare>
#include <cstdint>
#include <expected>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rampart/model.h"
#include "rampart/probes.h"

namespace rampart::engine {

// Ordered from least to most severe; the JSON names are lower case.
enum class Severity : uint8_t { kInfo = 0, kLow = 1, kMedium = 2, kHigh = 3, kCritical = 4 };
std::string_view severityName(Severity s);

// A Kubernetes object named by kind, namespace and name (namespace empty for
// cluster-scoped objects and for the cluster itself, kind "Cluster").
struct ObjectRef {
  std::string kind;
  std::string namespace_;
  std::string name;
  auto operator<=>(const ObjectRef&) const = default;
  bool operator==(const ObjectRef&) const = default;
  std::string str() const;  // "Deployment shop/web", "Node n1", "Cluster"
};

// One etcd member as the aggregator's prober saw it (docs/etcd.md).
struct EtcdMemberState {
  std::string id;        // hex, as etcdctl prints it; empty when never learned
  std::string name;      // from the member list; empty when unknown
  std::string endpoint;  // the client URL probed
  bool healthy = false;  // answered and is not unhealthy on its own (counts for quorum)
  bool is_leader = false;
  std::string error;  // why not healthy: the probe's error, or /health's answer
  bool operator==(const EtcdMemberState&) const = default;
};

// What the etcd / API-server prober last saw (aggregator --etcd-endpoint,
// --apiserver-endpoint). Republished only when something other than
// observed_at_unix changes, so that an unchanged cluster is not re-evaluated.
struct EtcdObservation {
  std::vector<EtcdMemberState> members;  // the member list's members, by name then id
  bool has_leader = false;
  std::string leader_id;       // hex; empty without a leader
  int32_t leader_changes = 0;  // leader changes seen within leader_window_seconds
  int64_t leader_window_seconds = 600;
  // Snapshot age: configured (--etcd-snapshot-dir / --etcd-snapshot-marker),
  // the newest snapshot's mtime when one was found, else why not.
  bool snapshot_configured = false;
  std::optional<int64_t> snapshot_unix;
  std::string snapshot_error;
  // API-server instances (--apiserver-endpoint): expected 0 = not probed.
  int32_t apiserver_expected = 0;
  int32_t apiserver_healthy = 0;
  std::vector<std::string> apiserver_errors;  // "URL: error", one per unhealthy instance
  int64_t observed_at_unix = 0;
  bool operator==(const EtcdObservation&) const = default;
};

// Everything the engine looks at. Vectors may be in any order; the engine
// sorts what it reports.
struct Snapshot {
  int64_t now_unix = 0;
  std::vector<Node> nodes;
  std::vector<Pod> pods;
  std::vector<Workload> workloads;
  std::vector<PodDisruptionBudget> pdbs;
  std::vector<HorizontalPodAutoscaler> hpas;
  std::vector<Service> services;
  std::vector<NamespaceInfo> namespaces;
  std::vector<PersistentVolumeClaim> pvcs;
  std::vector<PersistentVolume> pvs;
  std::vector<VeleroSchedule> velero_schedules;
  std::vector<VeleroBackup> velero_backups;
  // The input carried Velero objects (even an empty list): backup checks run.
  bool velero_seen = false;
  // Nodes whose agent went silent (the aggregator's liveness, docs/checks.md,
  // "Liveness"): their pods stop counting as ready at once.
  std::set<std::string> silent_nodes;
  // Node heartbeat Leases (kube-node-lease; others are ignored): with
  // silent_nodes they tell a node that is down (lease expired) from an agent
  // that failed or is cut off from the aggregator (lease still renewed).
  std::vector<NodeLease> node_leases;
  // The etcd / API-server prober's latest observation (aggregator only):
  // etcd.member-down, etcd.no-leader, ... (engine/checks/engine_etcd.cpp).
  std::optional<EtcdObservation> etcd;
  // Node-local probe results as each node's agent last reported them
  // (docs/agent.md, "Probes"), by node name (aggregator only; nodes whose
  // agent is silent are left out): node.kubelet-unhealthy,
  // node.apiserver-unreachable, probe.node-check-failed
  // (engine/checks/engine_probes.cpp).
  std::map<std::string, std::vector<ProbeResult>> node_probes;
  // Pods whose readiness flaps, by pod uid, as the aggregator's tracker
  // latched them (aggregator only): pod.readiness-flapping.
  std::map<std::string, PodReadinessFlapping> readiness_flapping;
  // The input lost something (a bad item, a truncated file): the report says so.
  bool partial = false;
  std::vector<std::string> input_warnings;
};

struct Options {
  // pod.restarts fires at or above this many restarts of one container.
  int32_t restart_threshold = 5;
  // backup.stale fires when a schedule's newest Completed backup is older.
  int64_t backup_max_age_seconds = int64_t{26} * 3600;
  // Runbook links are runbook_base + check id with '.' replaced by '-' + ".md".
  std::string runbook_base = "https://github.com/rampart-k8s/rampart/blob/main/docs/runbooks/";
  // Only the checks whose id starts with one of these prefixes (empty: all).
  std::vector<std::string> only_checks;
  // etcd.leader-flapping fires above this many leader changes in the prober's window.
  int32_t etcd_leader_changes_max = 3;
  // etcd.snapshot-stale fires when the newest etcd snapshot is older.
  int64_t etcd_snapshot_max_age_seconds = int64_t{24} * 3600;
  // probe.node-check-failed fires once an operator probe failed this many
  // times in a row (and node.kubelet-unhealthy / node.apiserver-unreachable
  // for the built-in probes).
  uint32_t probe_failure_threshold = 1;
};

// Points are kept in hundredths so that sums are exact: 1250 is 12.5 points.
using Centi = int64_t;

struct Finding {
  std::string check;  // stable id, e.g. "placement.anti-affinity"
  Severity severity = Severity::kInfo;
  bool hard = false;  // a required rule is broken (see docs/checks.md)
  ObjectRef subject;
  std::optional<ObjectRef> workload;  // the workload the finding counts against
  std::vector<std::string> pods;      // "ns/name", sorted
  std::string node;
  std::string zone;
  nlohmann::ordered_json details = nlohmann::ordered_json::object();
  std::string message;  // the fact, in numbers
  std::string remediation;
  std::string runbook;
  Centi points = 0;          // lost by its workload's score (or the cluster's)
  Centi cluster_points = 0;  // its share of the points the cluster score lost
};

struct WorkloadScore {
  ObjectRef ref;
  Centi score = 10000;
  double weight = 1;  // blast radius weight in the namespace and cluster means
  int32_t replicas = 0;
  int32_t ready = 0;
};

struct NamespaceScore {
  std::string name;
  Centi score = 10000;
};

struct Scores {
  Centi cluster = 10000;
  std::vector<NamespaceScore> namespaces;  // by name
  std::vector<WorkloadScore> workloads;    // by score, then ref
};

// One failure domain: what losing it (every pod on its nodes, at once, with
// nothing rescheduled) would do.
struct DomainImpact {
  std::string name;
  std::vector<std::string> nodes;      // the domain's nodes, sorted
  std::vector<ObjectRef> outage;       // workloads losing every ready replica
  std::vector<ObjectRef> below_pdb;    // PDBs whose healthy count would drop below desired
  std::vector<ObjectRef> quorum_lost;  // etcd ("Etcd kube-system/etcd") and quorum StatefulSets
};

struct WhatIf {
  std::vector<DomainImpact> nodes;
  std::vector<DomainImpact> zones;
  std::vector<DomainImpact> regions;
};

struct Report {
  Scores score;
  std::vector<Finding> findings;  // by cluster_points desc, then check, subject
  WhatIf whatif;
  bool partial = false;
  std::vector<std::string> warnings;
  int64_t now_unix = 0;
};

// Runs every check, the what-if and the score.
Report evaluate(const Snapshot& snapshot, const Options& options);

// What an evaluation cancelled through its stop_token gives instead of a
// report (the aggregator stopping mid-evaluation): nothing of a cancelled
// evaluation may be published, recorded or acted on.
struct Cancelled {};
template <typename T>
using Cancellable = std::expected<T, Cancelled>;

// evaluate(), checking `cancel` in its long loops (every check family, the
// what-if, the score): Cancelled as soon as it is seen requested, even when
// the report happened to be complete.
Cancellable<Report> evaluate(const Snapshot& snapshot, const Options& options,
                             std::stop_token cancel);

// The placement checks for the pods on one node, as an agent runs them on its
// own node (docs/agent.md): anti-affinity, node-affinity, taint,
// topology-spread and colocated-replica findings for `node`
// (checks/engine_placement.h says exactly which). Points unset.
std::vector<Finding> checkPlacementOnNode(const Snapshot& snapshot, const std::string& node,
                                          const Options& options);

// The well-known topology label of a node's name, "kubernetes.io/hostname".
std::string hostnameKey();

}  // namespace rampart::engine
