// A deterministic generator of large, realistic cluster dumps in the shape
// `kubectl get nodes,pods,services,deployments,replicasets,statefulsets,
// daemonsets,poddisruptionbudgets,horizontalpodautoscalers -A -o json` prints
// (a `v1 List`), for the engine benchmark and the scale tests.
//
// The cluster has control-plane nodes with static pods, worker nodes over
// zones, two DaemonSets, Deployments (with their ReplicaSets) and
// StatefulSets of mixed sizes, some with anti-affinity or topology spread,
// PDBs, HPAs and Services, and a sprinkling of the problems Rampart finds
// (single replicas, concentrated replicas, missing probes, restarts).
#pragma once

#include <cstdint>
#include <string>

namespace rampart::bench {

struct ClusterShape {
  int32_t nodes = 100;  // worker nodes (control-plane nodes come on top)
  int32_t pods = 3000;  // approximate total, DaemonSet pods included
  int32_t zones = 3;
  int32_t control_plane = 3;
  uint32_t seed = 1;
};

struct GeneratedCluster {
  std::string json;
  int32_t nodes = 0;
  int32_t pods = 0;
  int32_t workloads = 0;
};

GeneratedCluster generateCluster(const ClusterShape& shape);

}  // namespace rampart::bench
