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
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rampart/model.h"

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
  // Nodes whose agent went silent (the aggregator's liveness, issue 4): their
  // pods stop counting as ready at once.
  std::set<std::string> silent_nodes;
  // The input lost something (a bad item, a truncated file): the report says so.
  bool partial = false;
  std::vector<std::string> input_warnings;
};

struct Options {
  // pod.restarts fires at or above this many restarts of one container.
  int32_t restart_threshold = 5;
  // backup.stale fires when a schedule's newest Completed backup is older.
  int64_t backup_max_age_seconds = 26 * 3600;
  // Runbook links are runbook_base + check id with '.' replaced by '-' + ".md".
  std::string runbook_base = "https://github.com/rampart-k8s/rampart/blob/main/docs/runbooks/";
  // Only the checks whose id starts with one of these prefixes (empty: all).
  std::vector<std::string> only_checks;
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

}  // namespace rampart::engine
