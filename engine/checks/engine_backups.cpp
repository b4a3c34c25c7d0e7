// Backup and volume checks: Velero schedules and the data they leave
// uncovered, and zonal volumes under workloads that claim zone redundancy
// (backup.*, volume.*). docs/checks.md, "HA/DR checks".
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "engine_hadr.h"
#include "engine_index.h"
#include "engine_policy.h"
#include "rampart/engine_json.h"
#include "rampart/selectors.h"
#include "rampart/text.h"

namespace rampart::engine {
namespace {

const char* const kBetaZoneKey = "failure-domain.beta.kubernetes.io/zone";

bool isZoneKey(const std::string& key) {
  return key == zoneKey() || key == kBetaZoneKey;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// "30h05m"
std::string hoursMinutes(int64_t seconds) {
  int64_t minutes = seconds / 60;
  std::string m = std::to_string(minutes % 60);
  if (m.size() < 2) m = "0" + m;
  return std::to_string(minutes / 60) + "h" + m + "m";
}

void notObserved(const Index& index, std::vector<Finding>& out) {
  Finding f = index.finding("backup.not-observed", Severity::kInfo, {"Cluster", "", ""});
  f.message = "the input holds no Velero Schedules or Backups: backups are not evaluated";
  f.remediation =
      "Install Velero with Schedules for the namespaces that hold data, and include "
      "them in the input (`kubectl get schedules.velero.io,backups.velero.io -A -o "
      "json`).";
  out.push_back(std::move(f));
}

void staleSchedules(const Index& index, std::vector<Finding>& out) {
  const int64_t max_age = index.options.backup_max_age_seconds;
  for (const VeleroSchedule* s : sortedByName(index.snapshot.velero_schedules)) {
    if (s->paused) continue;
    const VeleroBackup* newest = nullptr;
    const VeleroBackup* completed = nullptr;
    for (const VeleroBackup& b : index.snapshot.velero_backups) {
      if (b.namespace_ != s->namespace_ || b.schedule_name != s->name) continue;
      if (newest == nullptr ||
          std::tie(b.start_unix, b.completion_unix, b.name) >
              std::tie(newest->start_unix, newest->completion_unix, newest->name)) {
        newest = &b;
      }
      if (b.phase == "Completed" &&
          (completed == nullptr || std::tie(b.completion_unix, b.name) >
                                       std::tie(completed->completion_unix, completed->name))) {
        completed = &b;
      }
    }
    std::optional<int64_t> age;
    if (completed != nullptr) age = index.snapshot.now_unix - completed->completion_unix;
    if (age && *age <= max_age) continue;

    Finding f =
        index.finding("backup.stale", Severity::kHigh, {"Schedule", s->namespace_, s->name});
    const std::string name = s->namespace_ + "/" + s->name;
    f.details["last_completed"] =
        completed != nullptr ? nlohmann::ordered_json(formatRfc3339(completed->completion_unix))
                             : nlohmann::ordered_json();
    f.details["age_seconds"] = age ? nlohmann::ordered_json(*age) : nlohmann::ordered_json();
    f.details["newest_phase"] =
        newest != nullptr ? nlohmann::ordered_json(newest->phase) : nlohmann::ordered_json();
    f.details["max_age_seconds"] = max_age;
    if (age) {
      f.message = "the newest Completed backup of Velero schedule " + name + " (" +
                  completed->name + ") finished " + hoursMinutes(*age) + " ago, over the " +
                  hoursMinutes(max_age) + " limit";
    } else {
      f.message = "Velero schedule " + name + " has no Completed backup (" +
                  (newest != nullptr ? "newest " + newest->name + ": " + newest->phase
                                     : std::string("no backups at all")) +
                  ")";
    }
    f.remediation = "See why backups do not complete: `velero schedule describe " + s->name +
                    " -n " + s->namespace_ +
                    "`, `velero backup describe <newest> --details` and `velero backup logs "
                    "<newest>`; then fix storage location, credentials or hooks.";
    out.push_back(std::move(f));
  }
}

// The label sets a schedule's selector must match: the workload's pods, or
// its template's labels when it has none.
std::vector<const Labels*> labelSets(const WorkloadInfo& w) {
  std::vector<const Labels*> out;
  out.reserve(w.pods.size() + 1);
  for (const Pod* p : w.pods) out.push_back(&p->labels);
  if (out.empty() && w.object != nullptr) out.push_back(&w.object->template_labels);
  return out;
}

bool covers(const VeleroSchedule& s, const std::string& ns, const std::vector<const Labels*>& ls) {
  if (s.paused) return false;
  bool included = s.included_namespaces.empty() || contains(s.included_namespaces, "*") ||
                  contains(s.included_namespaces, ns);
  if (!included || contains(s.excluded_namespaces, ns) || contains(s.excluded_namespaces, "*")) {
    return false;
  }
  if (!s.label_selector) return true;
  return !ls.empty() && std::all_of(ls.begin(), ls.end(), [&](const Labels* l) {
    return selectorMatches(*s.label_selector, *l);
  });
}

// The claims of a workload's pods, else of its template.
std::vector<std::string> volumesOf(const WorkloadInfo& w) {
  std::set<std::string> names;
  for (const Pod* p : w.pods) names.insert(p->pvc_names.begin(), p->pvc_names.end());
  if (names.empty() && w.object != nullptr) {
    names.insert(w.object->volume_claim_templates.begin(), w.object->volume_claim_templates.end());
    names.insert(w.object->template_pvc_names.begin(), w.object->template_pvc_names.end());
  }
  return {names.begin(), names.end()};
}

void uncoveredVolumes(const Index& index, std::vector<Finding>& out) {
  for (const auto& [ref, w] : index.workloads) {
    // Scaled to zero or not, the volumes keep their data: no desired filter.
    std::vector<std::string> volumes = volumesOf(w);
    if (volumes.empty()) continue;
    std::vector<const Labels*> ls = labelSets(w);
    bool covered =
        std::any_of(index.snapshot.velero_schedules.begin(), index.snapshot.velero_schedules.end(),
                    [&](const VeleroSchedule& s) { return covers(s, ref.namespace_, ls); });
    if (covered) continue;
    Finding f = index.finding("backup.uncovered-volumes", Severity::kHigh, ref);
    f.workload = ref;
    for (const Pod* p : w.pods) f.pods.push_back(Index::podKey(*p));
    f.details["volumes"] = volumes;
    f.details["namespace"] = ref.namespace_;
    f.message = refName(ref) + " keeps data in " + std::to_string(volumes.size()) + " volume(s) (" +
                joinNames(volumes) + ") that no enabled Velero schedule backs up (namespace " +
                ref.namespace_ + " not included, or its pods' labels not selected)";
    f.remediation = "Cover namespace " + ref.namespace_ +
                    " with an enabled Velero Schedule whose labelSelector (if any) matches the "
                    "pods, e.g. `velero schedule create " +
                    ref.namespace_ + "-daily --schedule='0 2 * * *' --include-namespaces " +
                    ref.namespace_ + "`.";
    out.push_back(std::move(f));
  }
}

// The one zone a PV is pinned to: every node-affinity term requires a zone In
// exactly one value, the same; else (no zone term at all) its zone label.
std::optional<std::string> pvZone(const PersistentVolume& pv) {
  std::set<std::string> zones;
  bool unzoned_term = false;
  for (const NodeSelectorTerm& term : pv.node_affinity) {
    const NodeSelectorRequirement* zone_req = nullptr;
    for (const NodeSelectorRequirement& r : term.match_expressions) {
      if (isZoneKey(r.key) && r.op == "In") zone_req = &r;
    }
    if (zone_req == nullptr) {
      unzoned_term = true;
    } else if (zone_req->values.size() != 1) {
      return std::nullopt;  // regional or multi-zone storage
    } else {
      zones.insert(zone_req->values.front());
    }
  }
  if (!zones.empty()) {
    if (unzoned_term || zones.size() != 1) return std::nullopt;
    return *zones.begin();
  }
  for (const char* key : {"topology.kubernetes.io/zone", kBetaZoneKey}) {
    auto it = pv.labels.find(key);
    // "a__b" is how the GCE provisioner labels a regional disk.
    if (it != pv.labels.end() && !it->second.empty() &&
        it->second.find("__") == std::string::npos) {
      return it->second;
    }
  }
  return std::nullopt;
}

// What makes a workload claim zone redundancy, "" when nothing does.
std::string zoneClaim(const WorkloadInfo& w) {
  if (w.object != nullptr) {
    auto a = w.object->annotations.find("rampart.io/zone-redundant");
    if (a != w.object->annotations.end() && a->second == "true") return "annotation";
  }
  std::vector<const PlacementSpec*> specs;
  if (w.object != nullptr) specs.push_back(&w.object->template_placement);
  for (const Pod* p : w.pods) specs.push_back(&p->placement);
  for (const PlacementSpec* s : specs) {
    for (const TopologySpreadConstraint& c : s->topology_spread) {
      if (isZoneKey(c.topology_key)) return "topology-spread";
    }
    if (s->pod_anti_affinity) {
      for (const PodAffinityTerm& t : s->pod_anti_affinity->required) {
        if (isZoneKey(t.topology_key)) return "anti-affinity";
      }
      for (const WeightedPodAffinityTerm& t : s->pod_anti_affinity->preferred) {
        if (isZoneKey(t.term.topology_key)) return "anti-affinity";
      }
    }
  }
  return "";
}

void zonePinned(const Index& index, std::vector<Finding>& out) {
  std::map<std::pair<std::string, std::string>, const PersistentVolumeClaim*> pvcs;
  for (const PersistentVolumeClaim& c : index.snapshot.pvcs) pvcs[{c.namespace_, c.name}] = &c;
  std::map<std::string, const PersistentVolume*> pvs;
  for (const PersistentVolume& v : index.snapshot.pvs) pvs[v.name] = &v;

  for (const auto& [ref, w] : index.workloads) {
    std::set<std::string> claims;
    for (const Pod* p : w.pods) claims.insert(p->pvc_names.begin(), p->pvc_names.end());
    if (claims.empty()) continue;
    std::string claim = zoneClaim(w);
    if (claim.empty()) continue;
    std::set<std::string> zones;
    bool resolved = true;
    for (const std::string& name : claims) {
      auto c = pvcs.find({ref.namespace_, name});
      if (c == pvcs.end() || c->second->volume_name.empty()) {
        resolved = false;
        break;
      }
      auto v = pvs.find(c->second->volume_name);
      std::optional<std::string> zone;
      if (v != pvs.end()) zone = pvZone(*v->second);
      if (!zone) {
        resolved = false;
        break;
      }
      zones.insert(*zone);
    }
    if (!resolved || zones.size() != 1) continue;
    const std::string& zone = *zones.begin();
    std::vector<std::string> volumes(claims.begin(), claims.end());
    Finding f = index.finding("volume.zone-pinned", Severity::kHigh, ref);
    f.workload = ref;
    for (const Pod* p : w.pods) f.pods.push_back(Index::podKey(*p));
    f.zone = zone;
    f.details["zone"] = zone;
    f.details["volumes"] = volumes;
    f.details["claimed_by"] = claim;
    f.message = concat(refName(ref), " asks for zone redundancy (", claim, ") but all ",
                       std::to_string(volumes.size()), " of its volume(s) are pinned to zone ",
                       zone, ": its pods can only run there, and losing ", zone, " takes it down");
    f.remediation =
        "Give each replica a volume in its own zone: a StorageClass with "
        "volumeBindingMode: WaitForFirstConsumer (recreate the PVCs, restoring data "
        "from backup), or regional/replicated storage.";
    out.push_back(std::move(f));
  }
}

}  // namespace

// Schedules and whether Velero is there at all: cluster-scoped.
void backupsClusterScoped(const Index& index, std::vector<Finding>& out) {
  if (index.snapshot.velero_seen) {
    staleSchedules(index, out);
  } else {
    notObserved(index, out);
  }
}

// Each workload's volumes: namespace-scoped.
void backupsNamespaceScoped(const Index& index, std::vector<Finding>& out) {
  if (index.snapshot.velero_seen) uncoveredVolumes(index, out);
  // Zonal volumes are a DR risk with or without Velero.
  zonePinned(index, out);
}

void checkBackups(const Index& index, std::vector<Finding>& out) {
  backupsClusterScoped(index, out);
  backupsNamespaceScoped(index, out);
}

}  // namespace rampart::engine
