// Construction of Kubernetes objects in the API server's JSON shape (as in
// tests/data/k8s/), and the status computations a controller would do:
// pod conditions from container readiness, ReplicaSet / Deployment /
// StatefulSet / DaemonSet counts, PodDisruptionBudget health. Pure functions:
// timestamps are passed in as Unix seconds.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cluster/ids.h"
#include "scenario/scenario.h"

namespace rampart::kubesim {

// The initial objects of a scenario, in a deterministic order; statuses of
// controllers and PDBs are filled in by the store afterwards.
struct InitialObjects {
  std::vector<Json> namespaces;
  std::vector<Json> nodes;
  std::vector<Json> deployments;
  std::vector<Json> replicasets;
  std::vector<Json> statefulsets;
  std::vector<Json> daemonsets;
  std::vector<Json> pods;
  std::vector<Json> pdbs;
  std::vector<Json> services;
  std::vector<Json> pvcs;
  std::vector<Json> pvs;
  std::vector<Json> hpas;
  std::vector<Json> velero_schedules;
  std::vector<Json> velero_backups;
  std::map<std::string, int> next_pod_ip;  // node name -> last octet for its next pod
};

InitialObjects buildInitialObjects(const Scenario& scenario, IdGenerator& ids);

struct PodOwner {
  std::string kind;  // ReplicaSet, StatefulSet, DaemonSet, Node (a static pod's mirror), or "" for
                     // a bare pod
  std::string name;
  std::string uid;
};

struct PodParams {
  std::string ns;
  std::string name;
  std::string generate_name;  // "" for bare pods
  Json labels = Json::object();
  Json pod_spec = Json::object();
  std::string node;  // "" leaves the pod Pending (unschedulable)
  std::string host_ip;
  std::string pod_ip;
  PodOwner owner;
  Json annotations = Json::object();
  int64_t created = 0;
};

std::string podIpFor(const Json& node, int octet);
std::string hostIpOf(const Json& node);

// A Running pod with every container ready (or Pending when no node).
Json makePod(const PodParams& params, IdGenerator& ids);

// Recomputes the pod's ContainersReady / Ready conditions from its container
// statuses and whether its node is ready. Returns true when anything changed.
bool refreshPodConditions(Json& pod, bool node_ready, int64_t now);

bool podReady(const Json& pod);
bool podTerminating(const Json& pod);
int podRestarts(const Json& pod);

// Node condition changes for a node going silent (node-down) or coming back.
void markNodeDown(Json& node, int64_t now);
void markNodeUp(Json& node, int64_t now);
bool nodeReady(const Json& node);

// Controller statuses from the pods they own (non-terminating pods only).
Json replicaSetStatus(const Json& rs, const std::vector<const Json*>& pods);
Json deploymentStatus(const Json& deployment, const std::vector<const Json*>& pods,
                      const Json& previous_status, int64_t now);
Json statefulSetStatus(const Json& sts, const std::vector<const Json*>& pods);
Json daemonSetStatus(const Json& ds, const std::vector<const Json*>& pods, int desired);

// HorizontalPodAutoscaler status for a target at `current_replicas`; keeps
// the previous status' currentMetrics (utilization is the scenario's).
Json hpaStatus(const Json& hpa, int current_replicas, const Json& previous_status, int64_t now);

// `expected` is the scale of the pods' controllers (or the pod count).
Json pdbStatus(const Json& pdb, const std::vector<const Json*>& pods, int expected,
               const Json& previous_status, int64_t now);

}  // namespace rampart::kubesim
