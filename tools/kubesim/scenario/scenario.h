// The scenario file: a cluster described in YAML (zones, nodes, namespaces,
// workloads, bare and static pods, PodDisruptionBudgets, Services,
// HorizontalPodAutoscalers, Velero schedules and backups). See docs/kubesim.md for the
// format. Parsing is pure: text in, a validated Scenario or a kParse/kConfig
// error naming the entry and (when known) the line.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rampart/error.h"

namespace rampart::kubesim {

using Json = nlohmann::ordered_json;

struct ZoneSpec {
  std::string name;
  std::string region;
};

struct NodeSpec {
  std::string name;
  std::string zone;  // a ZoneSpec name
  bool control_plane = false;
  bool unschedulable = false;
  Json labels = Json::object();    // extra labels (well-known ones are added)
  Json taints = Json::array();     // core/v1 Taint objects
  Json capacity = Json::object();  // overrides of cpu/memory/pods
  std::string kubelet_version;     // empty: the scenario default
};

enum class WorkloadKind { kDeployment, kStatefulSet, kDaemonSet };
std::string_view workloadKindName(WorkloadKind kind);

struct WorkloadSpec {
  WorkloadKind kind = WorkloadKind::kDeployment;
  std::string ns;
  std::string name;
  int replicas = 1;                       // ignored for DaemonSets
  Json labels = Json::object();           // pod labels; also the selector's matchLabels
  Json pod_spec = Json::object();         // core/v1 PodSpec (containers always set)
  std::vector<std::string> pinned_nodes;  // empty: scheduled; else one node per replica
  Json annotations = Json::object();      // the controller's metadata.annotations
  // StatefulSet only: core/v1 PersistentVolumeClaim templates in the API's
  // shape (kind, apiVersion, metadata.name, spec with defaults, status Pending).
  Json volume_claim_templates = Json::array();
};

struct BarePodSpec {
  std::string ns;
  std::string name;
  Json labels = Json::object();
  Json pod_spec = Json::object();
  std::string node;  // empty: scheduled
  // A static pod's mirror: owned by its Node, config annotations, hostNetwork,
  // system-node-critical. Requires `node`.
  bool is_static = false;
  Json annotations = Json::object();
};

// NOLINTNEXTLINE(bugprone-exception-escape): nlohmann::json moves do not throw.
struct PdbSpec {
  std::string ns;
  std::string name;
  Json min_available;    // null, an integer or a "NN%" string
  Json max_unavailable;  // null, an integer or a "NN%" string
  Json selector;         // metav1.LabelSelector
};

struct ServiceSpec {
  std::string ns;
  std::string name;
  std::string type = "ClusterIP";  // ClusterIP | NodePort | LoadBalancer
  Json labels = Json::object();
  Json selector;               // a label map, or null: endpoints managed by hand
  Json ports = Json::array();  // core/v1 ServicePort (protocol and targetPort defaulted)
  std::string cluster_ip;      // "" allocates one; "None" is a headless Service
};

struct HpaSpec {
  std::string ns;
  std::string name;
  std::string target_kind;  // Deployment | StatefulSet
  std::string target_name;
  int min_replicas = 1;
  int max_replicas = 1;
  int cpu_utilization = 80;          // target averageUtilization, percent
  int current_cpu_utilization = -1;  // -1: 60% of the target
};

// One velero.io/v1 Backup, placed in time relative to the settled state
// (epoch + 10 minutes).
struct VeleroBackupSpec {
  std::string name;            // "" for a schedule's backup: SCHEDULE-YYYYMMDDhhmmss
  std::string schedule;        // "" for a backup made by hand
  Json spec = Json::object();  // velero BackupSpec fields; a schedule's template
  int64_t ago_seconds = 0;     // startTimestamp = settled time - ago
  int64_t duration_seconds = 60;
  std::string phase = "Completed";
  int errors = 0;
  int warnings = 0;
};

struct VeleroScheduleSpec {
  std::string name;
  std::string cron;  // spec.schedule
  bool paused = false;
  Json backup_template = Json::object();  // spec.template (velero BackupSpec)
};

struct VeleroSpec {
  bool installed = false;  // the scenario has `velero:`; else its API group is not served
  std::string ns = "velero";
  std::vector<VeleroScheduleSpec> schedules;
  std::vector<VeleroBackupSpec> backups;  // every schedule's and the manual ones
};

struct Scenario {
  std::string cluster = "kubesim";
  uint64_t seed = 1;
  int64_t epoch = 1767384000;  // 2026-01-02T20:00:00Z
  std::string kubelet_version = "v1.31.4";
  std::vector<ZoneSpec> zones;
  std::vector<NodeSpec> nodes;
  std::vector<std::string> namespaces;           // always includes default, kube-system, ...
  std::map<std::string, Json> namespace_labels;  // extra labels by namespace
  std::vector<WorkloadSpec> workloads;
  std::vector<BarePodSpec> pods;
  std::vector<PdbSpec> pdbs;
  std::vector<ServiceSpec> services;  // default/kubernetes is always added
  std::vector<HpaSpec> hpas;
  VeleroSpec velero;
};

Result<Scenario> parseScenario(std::string_view yaml_text);
Result<Scenario> loadScenarioFile(const std::filesystem::path& path);

// Converts YAML text to JSON with YAML 1.2 core-schema typing (quoted scalars
// stay strings). Exposed for tests.
Result<Json> yamlToJson(std::string_view yaml_text);

// "90s", "15m", "6h", "3d" (also combined: "1d12h") -> seconds; nullopt when malformed.
std::optional<int64_t> parseAgo(std::string_view text);

}  // namespace rampart::kubesim
