// The scenario file: a cluster described in YAML (zones, nodes, namespaces,
// workloads, bare pods, PodDisruptionBudgets). See docs/kubesim.md for the
// format. Parsing is pure: text in, a validated Scenario or a kParse/kConfig
// error naming the entry and (when known) the line.
#pragma once

#include <cstdint>
#include <filesystem>
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
};

struct BarePodSpec {
  std::string ns;
  std::string name;
  Json labels = Json::object();
  Json pod_spec = Json::object();
  std::string node;  // empty: scheduled
};

struct PdbSpec {
  std::string ns;
  std::string name;
  Json min_available;    // null, an integer or a "NN%" string
  Json max_unavailable;  // null, an integer or a "NN%" string
  Json selector;         // metav1.LabelSelector
};

struct Scenario {
  std::string cluster = "kubesim";
  uint64_t seed = 1;
  int64_t epoch = 1767384000;  // 2026-01-02T20:00:00Z
  std::string kubelet_version = "v1.31.4";
  std::vector<ZoneSpec> zones;
  std::vector<NodeSpec> nodes;
  std::vector<std::string> namespaces;  // always includes default, kube-system, ...
  std::vector<WorkloadSpec> workloads;
  std::vector<BarePodSpec> pods;
  std::vector<PdbSpec> pdbs;
};

Result<Scenario> parseScenario(std::string_view yaml_text);
Result<Scenario> loadScenarioFile(const std::filesystem::path& path);

// Converts YAML text to JSON with YAML 1.2 core-schema typing (quoted scalars
// stay strings). Exposed for tests.
Result<Json> yamlToJson(std::string_view yaml_text);

}  // namespace rampart::kubesim
