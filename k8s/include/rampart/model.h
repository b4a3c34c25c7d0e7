// The cluster model shared by the agent, the aggregator, rampartctl and the
// wire codec: plain value types, no I/O. Field meanings follow the Kubernetes
// API objects they are decoded from (core/v1 Pod and Node).
//
// Maps are std::map so that iteration order, encodings and reports are
// deterministic.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rampart {

using Labels = std::map<std::string, std::string>;

// metav1.LabelSelectorRequirement; op is In, NotIn, Exists or DoesNotExist.
struct LabelSelectorRequirement {
  std::string key;
  std::string op;
  std::vector<std::string> values;
  bool operator==(const LabelSelectorRequirement&) const = default;
};

// metav1.LabelSelector. An absent selector (std::nullopt where it is optional)
// differs from an empty one: empty matches everything, absent matches nothing.
struct LabelSelector {
  Labels match_labels;
  std::vector<LabelSelectorRequirement> match_expressions;
  bool operator==(const LabelSelector&) const = default;
};

// core/v1 NodeSelectorRequirement; op is In, NotIn, Exists, DoesNotExist, Gt or Lt.
struct NodeSelectorRequirement {
  std::string key;
  std::string op;
  std::vector<std::string> values;
  bool operator==(const NodeSelectorRequirement&) const = default;
};

struct NodeSelectorTerm {
  std::vector<NodeSelectorRequirement> match_expressions;
  std::vector<NodeSelectorRequirement> match_fields;
  bool operator==(const NodeSelectorTerm&) const = default;
};

struct PreferredSchedulingTerm {
  int32_t weight = 0;
  NodeSelectorTerm preference;
  bool operator==(const PreferredSchedulingTerm&) const = default;
};

struct NodeAffinity {
  // requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms (ORed).
  std::vector<NodeSelectorTerm> required;
  std::vector<PreferredSchedulingTerm> preferred;
  bool operator==(const NodeAffinity&) const = default;
};

struct PodAffinityTerm {
  std::optional<LabelSelector> label_selector;
  std::vector<std::string> namespaces;
  std::optional<LabelSelector> namespace_selector;
  std::string topology_key;
  std::vector<std::string> match_label_keys;
  std::vector<std::string> mismatch_label_keys;
  bool operator==(const PodAffinityTerm&) const = default;
};

struct WeightedPodAffinityTerm {
  int32_t weight = 0;
  PodAffinityTerm term;
  bool operator==(const WeightedPodAffinityTerm&) const = default;
};

// Used for both podAffinity and podAntiAffinity.
struct PodAffinityRules {
  std::vector<PodAffinityTerm> required;
  std::vector<WeightedPodAffinityTerm> preferred;
  bool operator==(const PodAffinityRules&) const = default;
};

struct TopologySpreadConstraint {
  int32_t max_skew = 1;
  std::string topology_key;
  std::string when_unsatisfiable;  // DoNotSchedule | ScheduleAnyway
  std::optional<LabelSelector> label_selector;
  std::optional<int32_t> min_domains;
  std::string node_affinity_policy;  // Honor | Ignore | "" (default Honor)
  std::string node_taints_policy;    // Honor | Ignore | "" (default Ignore)
  std::vector<std::string> match_label_keys;
  bool operator==(const TopologySpreadConstraint&) const = default;
};

struct Toleration {
  std::string key;
  std::string op;  // Equal | Exists | "" (Equal)
  std::string value;
  std::string effect;  // NoSchedule | PreferNoSchedule | NoExecute | "" (all)
  std::optional<int64_t> toleration_seconds;
  bool operator==(const Toleration&) const = default;
};

struct Taint {
  std::string key;
  std::string value;
  std::string effect;
  bool operator==(const Taint&) const = default;
};

// The scheduling rules a pod declares.
struct PlacementSpec {
  Labels node_selector;
  std::optional<NodeAffinity> node_affinity;
  std::optional<PodAffinityRules> pod_affinity;
  std::optional<PodAffinityRules> pod_anti_affinity;
  std::vector<TopologySpreadConstraint> topology_spread;
  std::vector<Toleration> tolerations;
  bool operator==(const PlacementSpec&) const = default;
};

// One link of a pod's owner chain, from the pod's controller upwards.
struct OwnerRef {
  std::string kind;
  std::string name;
  std::string uid;  // empty when inferred
  bool controller = false;
  // True when the link was derived rather than read (a Deployment inferred from
  // a ReplicaSet's name and the pod-template-hash label).
  bool inferred = false;
  bool operator==(const OwnerRef&) const = default;
};

struct ContainerProbes {
  bool readiness = false;
  bool liveness = false;
  bool startup = false;
  bool operator==(const ContainerProbes&) const = default;
};

enum class ContainerState : uint8_t { kUnknown = 0, kWaiting = 1, kRunning = 2, kTerminated = 3 };

struct ContainerStatus {
  std::string name;
  bool ready = false;
  bool init = false;  // an init container
  int32_t restart_count = 0;
  ContainerState state = ContainerState::kUnknown;
  std::string state_reason;             // e.g. CrashLoopBackOff, Completed
  std::string last_termination_reason;  // lastState.terminated.reason, e.g. OOMKilled
  int32_t last_termination_exit_code = 0;
  ContainerProbes probes;  // from the pod spec's container of the same name
  bool operator==(const ContainerStatus&) const = default;
};

enum class PodPhase : uint8_t {
  kUnknown = 0,
  kPending = 1,
  kRunning = 2,
  kSucceeded = 3,
  kFailed = 4
};

// The API's spelling of a phase ("Running"); kUnknown is "Unknown".
inline std::string_view podPhaseName(PodPhase phase) {
  switch (phase) {
    case PodPhase::kPending:
      return "Pending";
    case PodPhase::kRunning:
      return "Running";
    case PodPhase::kSucceeded:
      return "Succeeded";
    case PodPhase::kFailed:
      return "Failed";
    case PodPhase::kUnknown:
      break;
  }
  return "Unknown";
}

struct Pod {
  std::string uid;
  std::string namespace_;
  std::string name;
  std::string node_name;
  Labels labels;
  std::vector<OwnerRef> owners;  // [0] is the pod's controller, then upwards
  PodPhase phase = PodPhase::kUnknown;
  bool ready = false;        // the Ready condition is True
  bool terminating = false;  // metadata.deletionTimestamp is set
  int64_t created_unix = 0;  // metadata.creationTimestamp, seconds
  std::string resource_version;
  std::vector<ContainerStatus> containers;  // spec order; init containers first
  PlacementSpec placement;
  std::vector<std::string> pvc_names;  // persistentVolumeClaim volumes
  bool operator==(const Pod&) const = default;
};

// True when `incoming` equals `known` except perhaps for resourceVersion: an
// update that only moved resourceVersion (annotations, managedFields, status
// fields Rampart does not carry) is no news. Borrows `incoming` to avoid
// copying a pod; it is unchanged on return.
inline bool sameExceptResourceVersion(const Pod& known, Pod& incoming) {
  if (known.resource_version == incoming.resource_version) return known == incoming;
  std::string version = std::move(incoming.resource_version);
  incoming.resource_version = known.resource_version;
  bool same = known == incoming;
  incoming.resource_version = std::move(version);
  return same;
}

struct NodeCondition {
  std::string type;    // Ready, MemoryPressure, DiskPressure, PIDPressure, ...
  std::string status;  // True | False | Unknown
  std::string reason;
  bool operator==(const NodeCondition&) const = default;
};

struct Node {
  std::string name;
  std::string uid;
  std::string zone;    // topology.kubernetes.io/zone (or the deprecated beta label)
  std::string region;  // topology.kubernetes.io/region
  Labels labels;
  std::vector<Taint> taints;
  bool control_plane = false;  // node-role.kubernetes.io/control-plane or master
  bool unschedulable = false;  // spec.unschedulable (cordoned)
  std::vector<NodeCondition> conditions;
  std::string kubelet_version;
  std::string resource_version;
  bool operator==(const Node&) const = default;
};

struct Filesystem {
  std::string mount_point;
  uint64_t size_bytes = 0;
  uint64_t avail_bytes = 0;
  uint64_t files = 0;
  uint64_t files_free = 0;
  bool operator==(const Filesystem&) const = default;
};

// Pressure stall information, /proc/pressure/{cpu,memory,io}: avg10 in percent.
struct Pressure {
  double cpu_some_avg10 = 0;
  double memory_some_avg10 = 0;
  double memory_full_avg10 = 0;
  double io_some_avg10 = 0;
  double io_full_avg10 = 0;
  bool operator==(const Pressure&) const = default;
};

struct HostHealth {
  double cpu_usage_ratio = 0;  // 0..1 over the last interval, all CPUs
  uint32_t cpu_count = 0;
  double load1 = 0, load5 = 0, load15 = 0;
  uint64_t memory_total_bytes = 0;
  uint64_t memory_available_bytes = 0;
  std::optional<Pressure> pressure;  // absent when the kernel has no PSI
  std::vector<Filesystem> filesystems;
  double uptime_seconds = 0;
  std::string boot_id;
  bool operator==(const HostHealth&) const = default;
};

// ---- Controllers and policy objects (apps/v1, policy/v1, autoscaling/v2,
// core/v1 Service, Namespace, PersistentVolume(Claim), Velero) ----------------

// intstr.IntOrString as PDBs use it: 2 or "50%".
struct IntOrPercent {
  int32_t value = 0;
  bool percent = false;
  bool operator==(const IntOrPercent&) const = default;
};

// A pod controller: Deployment, StatefulSet, DaemonSet, ReplicaSet,
// ReplicationController, Job or CronJob (kind as the API spells it).
struct Workload {
  std::string kind;
  std::string namespace_;
  std::string name;
  std::string uid;
  Labels labels;
  // Only the annotations whose key starts with "rampart.io/" (the documented
  // knobs, e.g. rampart.io/quorum), to keep the snapshot small.
  Labels annotations;
  std::optional<LabelSelector> selector;  // spec.selector
  // spec.replicas (default 1 when omitted); for a DaemonSet
  // status.desiredNumberScheduled.
  int32_t replicas = 1;
  int32_t ready_replicas = 0;      // status.readyReplicas / numberReady
  int32_t available_replicas = 0;  // status.availableReplicas / numberAvailable
  std::vector<OwnerRef> owners;    // metadata.ownerReferences, controller first
  Labels template_labels;          // spec.template.metadata.labels
  PlacementSpec template_placement;
  std::vector<std::string> volume_claim_templates;  // StatefulSet: template names
  std::vector<std::string> template_pvc_names;      // persistentVolumeClaim volumes of the template
  bool operator==(const Workload&) const = default;
};

// policy/v1 PodDisruptionBudget.
struct PodDisruptionBudget {
  std::string namespace_;
  std::string name;
  std::optional<LabelSelector> selector;  // absent selects nothing; empty selects all
  std::optional<IntOrPercent> min_available;
  std::optional<IntOrPercent> max_unavailable;
  bool has_status = false;  // status.observedGeneration seen
  int32_t current_healthy = 0;
  int32_t desired_healthy = 0;
  int32_t disruptions_allowed = 0;
  int32_t expected_pods = 0;
  bool operator==(const PodDisruptionBudget&) const = default;
};

// autoscaling/v2 (or v1) HorizontalPodAutoscaler.
struct HorizontalPodAutoscaler {
  std::string namespace_;
  std::string name;
  std::string target_kind;  // spec.scaleTargetRef.kind
  std::string target_name;
  int32_t min_replicas = 1;  // default 1 when omitted
  int32_t max_replicas = 0;
  bool operator==(const HorizontalPodAutoscaler&) const = default;
};

// core/v1 Service; an empty selector means endpoints are managed by hand.
struct Service {
  std::string namespace_;
  std::string name;
  std::string type;  // ClusterIP, NodePort, LoadBalancer, ExternalName
  Labels selector;
  bool operator==(const Service&) const = default;
};

// core/v1 Namespace, for namespaceSelector of pod affinity terms.
struct NamespaceInfo {
  std::string name;
  Labels labels;
  bool operator==(const NamespaceInfo&) const = default;
};

struct PersistentVolumeClaim {
  std::string namespace_;
  std::string name;
  std::string volume_name;    // spec.volumeName (bound PV)
  std::string storage_class;  // spec.storageClassName
  std::string selected_node;  // annotation volume.kubernetes.io/selected-node
  std::string phase;          // status.phase: Pending, Bound, Lost
  bool operator==(const PersistentVolumeClaim&) const = default;
};

struct PersistentVolume {
  std::string name;
  std::string claim_namespace;  // spec.claimRef
  std::string claim_name;
  std::string storage_class;
  Labels labels;                                // topology.kubernetes.io/zone on older zonal PVs
  std::vector<NodeSelectorTerm> node_affinity;  // spec.nodeAffinity.required.nodeSelectorTerms
  bool operator==(const PersistentVolume&) const = default;
};

// velero.io/v1 Schedule.
struct VeleroSchedule {
  std::string namespace_;
  std::string name;
  std::string cron;  // spec.schedule
  bool paused = false;
  std::vector<std::string> included_namespaces;  // spec.template; empty or "*" = all
  std::vector<std::string> excluded_namespaces;
  std::optional<LabelSelector> label_selector;
  int64_t last_backup_unix = 0;  // status.lastBackup, 0 when never
  std::string phase;             // status.phase: New, Enabled, FailedValidation
  bool operator==(const VeleroSchedule&) const = default;
};

// velero.io/v1 Backup.
struct VeleroBackup {
  std::string namespace_;
  std::string name;
  std::string schedule_name;  // label velero.io/schedule-name
  std::string phase;          // Completed, PartiallyFailed, Failed, InProgress, ...
  int64_t start_unix = 0;
  int64_t completion_unix = 0;
  int64_t expiration_unix = 0;
  std::vector<std::string> included_namespaces;
  std::vector<std::string> excluded_namespaces;
  std::optional<LabelSelector> label_selector;
  bool operator==(const VeleroBackup&) const = default;
};

// A node's heartbeat Lease (coordination.k8s.io/v1, namespace kube-node-lease,
// named after the node), renewed by its kubelet every 10 s by default. The
// node lifecycle controller marks a node Unknown when its lease is older than
// the grace period (40 s, 50 s before 1.24).
struct NodeLease {
  std::string namespace_;
  std::string name;              // the node's name
  std::string holder;            // spec.holderIdentity
  int32_t duration_seconds = 0;  // spec.leaseDurationSeconds; 0: unset
  int64_t renew_unix = 0;        // spec.renewTime, whole seconds; 0: never renewed
  bool operator==(const NodeLease&) const = default;
};

}  // namespace rampart
