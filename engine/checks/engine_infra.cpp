// Infrastructure checks: nodes, zones, the control plane and etcd (node.*,
// cluster.*, controlplane.*, etcd.*). docs/checks.md, "HA/DR checks".
#include <map>
#include <set>

#include "engine_hadr.h"
#include "engine_index.h"
#include "engine_policy.h"

namespace rampart::engine {
namespace {

const NodeCondition* condition(const Node& n, std::string_view type) {
  for (const NodeCondition& c : n.conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

Finding nodeFinding(const Index& index, std::string check, Severity severity, const NodeInfo& n) {
  Finding f = index.finding(std::move(check), severity, {"Node", "", n.node->name});
  f.node = n.node->name;
  f.zone = n.node->zone;
  return f;
}

void nodeChecks(const Index& index, std::vector<Finding>& out) {
  for (const auto& [name, info] : index.nodes) {
    const Node& node = *info.node;
    const size_t pods = index.activePodsOn(info);
    const NodeCondition* ready = condition(node, "Ready");
    bool condition_bad =
        ready != nullptr && (ready->status == "False" || ready->status == "Unknown");
    if (info.silent) {
      // The agent's silence joined with the API server's view (liveness).
      out.push_back(nodeLivenessFinding(index, info, pods));
    } else if (condition_bad) {
      Finding f = nodeFinding(index, "node.not-ready", Severity::kHigh, info);
      const std::string& status = ready->status;
      const std::string& reason = ready->reason;
      f.details["status"] = status;
      f.details["reason"] = reason;
      f.details["pods"] = pods;
      f.message = "node ";
      f.message += name;
      f.message += " is NotReady (Ready=";
      f.message += status;
      if (!reason.empty()) {
        f.message += ", ";
        f.message += reason;
      }
      f.message += "), ";
      f.message += std::to_string(pods);
      f.message += " active pod(s) on it";
      f.remediation = "Check the node (`kubectl describe node ";
      f.remediation += name;
      f.remediation += "`, the kubelet and the machine); if it is gone, `kubectl drain ";
      f.remediation += name;
      f.remediation += " --ignore-daemonsets --delete-emptydir-data` so its pods move elsewhere.";
      out.push_back(std::move(f));
    }

    std::vector<std::string> pressure;
    for (const char* type : {"MemoryPressure", "DiskPressure", "PIDPressure"}) {
      const NodeCondition* c = condition(node, type);
      if (c != nullptr && c->status == "True") pressure.emplace_back(type);
    }
    if (!pressure.empty()) {
      Finding f = nodeFinding(index, "node.pressure", Severity::kMedium, info);
      f.details["conditions"] = pressure;
      f.message = "node ";
      f.message += name;
      f.message += " reports ";
      f.message += joinNames(pressure);
      f.message += ": the kubelet may evict pods and refuses new ones";
      f.remediation = "Free or add the resource on ";
      f.remediation += name;
      f.remediation += " (`kubectl describe node ";
      f.remediation += name;
      f.remediation +=
          "` shows the condition; `kubectl top pods -A --sort-by=memory` the "
          "heaviest pods), or set requests and limits that fit the node.";
      out.push_back(std::move(f));
    }

    if (node.unschedulable) {
      Finding f = nodeFinding(index, "node.cordoned", Severity::kLow, info);
      f.details["pods"] = pods;
      f.message = "node ";
      f.message += name;
      f.message += " is cordoned (spec.unschedulable) with ";
      f.message += std::to_string(pods);
      f.message +=
          " active pod(s) on it: the cluster has less room to "
          "reschedule";
      f.remediation = "Finish the maintenance and `kubectl uncordon ";
      f.remediation += name;
      f.remediation += "`, or drain and remove the node.";
      out.push_back(std::move(f));
    }
  }
}

void clusterZones(const Index& index, std::vector<Finding>& out) {
  if (index.nodes.empty() || index.zones.size() >= 2) return;
  int32_t unlabeled = 0;
  for (const auto& [name, info] : index.nodes) {
    if (info.node->zone.empty()) ++unlabeled;
  }
  Finding f = index.finding("cluster.single-zone", Severity::kHigh, {"Cluster", "", ""});
  f.details["zones"] = index.zones;
  f.details["unlabeled_nodes"] = unlabeled;
  if (index.zones.empty()) {
    f.message = "none of the " + std::to_string(index.nodes.size()) +
                " nodes carries a zone label (" + zoneKey() +
                "): Rampart cannot see any zone redundancy";
  } else {
    f.message = "all " + std::to_string(index.nodes.size() - unlabeled) +
                " zone-labelled nodes are in zone " + index.zones.front() +
                (unlabeled > 0 ? " (" + std::to_string(unlabeled) + " unlabelled)" : "") +
                ": losing that zone loses the cluster";
  }
  f.remediation =
      "Add nodes in a second and third zone (node groups or machine sets per "
      "zone), and make sure nodes carry " +
      zoneKey() + ".";
  out.push_back(std::move(f));
}

const char* const kComponents[] = {"kube-apiserver", "kube-controller-manager", "kube-scheduler"};

// The zones of a set of pods' nodes; `known` false when one has none.
std::map<std::string, int32_t> zonesOf(const Index& index, const std::vector<const Pod*>& pods,
                                       bool& known) {
  std::map<std::string, int32_t> per;
  known = true;
  for (const Pod* p : pods) {
    const Node* n = index.node(p->node_name);
    if (n == nullptr || n->zone.empty()) {
      known = false;
      continue;
    }
    ++per[n->zone];
  }
  return per;
}

std::vector<std::string> podKeys(const std::vector<const Pod*>& pods) {
  std::vector<std::string> out;
  out.reserve(pods.size());
  for (const Pod* p : pods) out.push_back(Index::podKey(*p));
  return out;
}

void controlPlane(const Index& index, std::vector<Finding>& out) {
  bool cp_nodes = false;
  for (const auto& [name, info] : index.nodes) cp_nodes = cp_nodes || info.node->control_plane;
  if (index.control_plane.empty() && !cp_nodes) {
    if (index.nodes.empty()) return;
    Finding f = index.finding("controlplane.not-visible", Severity::kInfo, {"Cluster", "", ""});
    f.message =
        "no control-plane pods or nodes are visible: the control plane is managed by "
        "the provider (EKS, GKE, AKS, ...); its redundancy is the provider's and is not "
        "scored";
    f.remediation =
        "Nothing to do in the cluster; check the provider's control-plane SLA "
        "(e.g. a regional rather than zonal control plane).";
    out.push_back(std::move(f));
    return;
  }

  for (const char* component : kComponents) {
    auto it = index.control_plane.find(component);
    if (it == index.control_plane.end() || it->second.empty()) continue;
    const std::vector<const Pod*>& pods = it->second;
    ObjectRef subject{"ControlPlane", "", component};
    if (pods.size() < 2) {
      Finding f = index.finding("controlplane.single-instance", Severity::kHigh, subject);
      f.pods = podKeys(pods);
      f.node = pods.front()->node_name;
      f.details["instances"] = pods.size();
      f.message = std::string(component) + " runs as a single instance (on node " +
                  pods.front()->node_name + "): losing that node stops the control plane";
      f.remediation =
          "Run 3 control-plane nodes (kubeadm: `kubeadm join --control-plane`), "
          "ideally one per zone, behind a load-balanced API endpoint.";
      out.push_back(std::move(f));
      continue;
    }
    bool known = false;
    std::map<std::string, int32_t> per = zonesOf(index, pods, known);
    if (!known || per.size() != 1 || index.zones.size() < 2) continue;
    const std::string& zone = per.begin()->first;
    Finding f = index.finding("controlplane.single-zone", Severity::kMedium, subject);
    f.pods = podKeys(pods);
    f.zone = zone;
    f.details["zone"] = zone;
    f.details["instances"] = pods.size();
    f.details["zones_available"] = index.zones.size();
    f.message = "all " + std::to_string(pods.size()) + " instances of " + component +
                " are in zone " + zone + " while the cluster has " +
                std::to_string(index.zones.size()) + " zones";
    f.remediation =
        "Move control-plane nodes so that each zone holds one (replace one "
        "control-plane node at a time to keep quorum).";
    out.push_back(std::move(f));
  }
}

void etcd(const Index& index, std::vector<Finding>& out) {
  auto it = index.control_plane.find("etcd");
  if (it == index.control_plane.end() || it->second.empty()) return;
  const std::vector<const Pod*>& pods = it->second;
  const int32_t members = static_cast<int32_t>(pods.size());
  const int32_t quorum = members / 2 + 1;
  const int32_t tolerated = members - quorum;
  const ObjectRef subject{"Etcd", "kube-system", "etcd"};

  if (members < 3 || members % 2 == 0) {
    Finding f = index.finding("etcd.member-count",
                              members == 1 ? Severity::kCritical : Severity::kHigh, subject);
    f.pods = podKeys(pods);
    f.details["members"] = members;
    f.details["quorum"] = quorum;
    f.details["tolerated_failures"] = tolerated;
    f.message = "etcd has " + std::to_string(members) + " member(s): quorum is " +
                std::to_string(quorum) + ", so it tolerates " + std::to_string(tolerated) +
                " member failure(s)";
    if (members % 2 == 0 && members > 2) {
      f.message += ", the same as " + std::to_string(members - 1) + " members";
    }
    f.remediation =
        "Run an odd number of etcd members, 3 or 5 (`etcdctl member add`, or "
        "kubeadm control-plane joins), one per zone where possible.";
    out.push_back(std::move(f));
  }

  if (members < 3) return;
  bool known = false;
  std::map<std::string, int32_t> per = zonesOf(index, pods, known);
  for (const auto& [zone, count] : per) {
    if (count < quorum) continue;
    Finding f = index.finding("etcd.zone-spread", Severity::kHigh, subject);
    f.pods = podKeys(pods);
    f.zone = zone;
    f.details["zone"] = zone;
    f.details["members_in_zone"] = count;
    f.details["members"] = members;
    f.details["quorum"] = quorum;
    f.message = std::to_string(count) + " of " + std::to_string(members) +
                " etcd members are in zone " + zone + " (quorum " + std::to_string(quorum) +
                "): losing that zone loses etcd quorum and the API";
    f.remediation =
        "Spread etcd members so that no zone holds a quorum: 3 members over 3 "
        "zones, or 5 over 3 zones (2+2+1).";
    out.push_back(std::move(f));
    break;  // at most one zone can hold a quorum
  }
}

}  // namespace

void checkInfrastructure(const Index& index, std::vector<Finding>& out) {
  nodeChecks(index, out);
  clusterZones(index, out);
  controlPlane(index, out);
  etcd(index, out);
}

}  // namespace rampart::engine
