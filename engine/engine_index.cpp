#include "engine_index.h"

#include <algorithm>
#include <set>

#include "engine_placement_ctx.h"

namespace rampart::engine {

std::string zoneKey() {
  return "topology.kubernetes.io/zone";
}
std::string regionKey() {
  return "topology.kubernetes.io/region";
}
std::string hostnameKey() {
  return "kubernetes.io/hostname";
}

std::string_view severityName(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "info";
    case Severity::kLow:
      return "low";
    case Severity::kMedium:
      return "medium";
    case Severity::kHigh:
      return "high";
    case Severity::kCritical:
      return "critical";
  }
  return "info";
}

std::string ObjectRef::str() const {
  if (kind == "Cluster") return "Cluster";
  std::string s = kind;
  s += ' ';
  if (!namespace_.empty()) {
    s += namespace_;
    s += '/';
  }
  s += name;
  return s;
}

bool isReplicatedKind(std::string_view kind) {
  // DaemonSets run one pod per node by design, Jobs run to completion, bare
  // and static pods have no replicas: the HA checks do not apply to them.
  return kind != "DaemonSet" && kind != "Job" && kind != "CronJob" && kind != "Pod" &&
         kind != "Node";
}

bool podCounts(const Pod& p) {
  return p.phase != PodPhase::kSucceeded && p.phase != PodPhase::kFailed && !p.terminating;
}

namespace {

bool nodeReadyCondition(const Node& n) {
  for (const NodeCondition& c : n.conditions) {
    if (c.type == "Ready") return c.status == "True";
  }
  // A node without a Ready condition (a fresh object, or a dump without
  // status) is taken as ready: nothing says otherwise.
  return true;
}

bool podLess(const Pod* a, const Pod* b) {
  if (a->namespace_ != b->namespace_) return a->namespace_ < b->namespace_;
  return a->name < b->name;
}

const char* const kControlPlaneComponents[] = {"kube-apiserver", "kube-controller-manager",
                                               "kube-scheduler", "etcd"};

}  // namespace

std::optional<std::string> controlPlaneComponent(const Pod& p) {
  if (p.namespace_ != "kube-system") return std::nullopt;
  auto it = p.labels.find("component");
  for (const char* c : kControlPlaneComponents) {
    if (it != p.labels.end() && it->second == c) return std::string(c);
  }
  auto tier = p.labels.find("tier");
  if (tier != p.labels.end() && tier->second == "control-plane") {
    for (const char* c : kControlPlaneComponents) {
      std::string prefix = std::string(c) + "-";
      if (p.name.starts_with(prefix)) return std::string(c);
    }
  }
  return std::nullopt;
}

namespace {

void fillNodes(const std::vector<Node>& from, const std::set<std::string>& silent,
               std::map<std::string, NodeInfo>& nodes, std::vector<std::string>& zones,
               std::vector<std::string>& regions) {
  std::set<std::string> zone_set, region_set;
  for (const Node& n : from) {
    NodeInfo& info = nodes[n.name];
    info.node = &n;
    info.silent = silent.contains(n.name);
    info.ready = nodeReadyCondition(n) && !info.silent;
    if (!n.zone.empty()) zone_set.insert(n.zone);
    if (!n.region.empty()) region_set.insert(n.region);
  }
  zones.assign(zone_set.begin(), zone_set.end());
  regions.assign(region_set.begin(), region_set.end());
}

}  // namespace

NodeTables::NodeTables(const std::vector<Node>& from, const std::set<std::string>& silent,
                       const std::vector<NamespaceInfo>& ns_objects) {
  fillNodes(from, silent, nodes, zones, regions);
  for (const NamespaceInfo& ns : ns_objects) namespaces[ns.name] = &ns;
  placement = std::make_unique<placement::NodeCache>(nodes);
}

NodeTables::~NodeTables() = default;

Index::Index(const Snapshot& snap, const Options& opts) : Index(snap, opts, nullptr) {}

Index::Index(const Snapshot& snap, const Options& opts, const NodeTables* shared)
    : snapshot(snap),
      options(opts),
      node_tables(shared),
      nodes(shared != nullptr ? shared->nodes : own_nodes_) {
  if (shared != nullptr) {
    namespaces_ = &shared->namespaces;
    zones = shared->zones;
    regions = shared->regions;
  } else {
    for (const NamespaceInfo& ns : snap.namespaces) own_namespaces_[ns.name] = &ns;
    namespaces_ = &own_namespaces_;
    fillNodes(snap.nodes, snap.silent_nodes, own_nodes_, zones, regions);
  }
  for (const Workload& w : snap.workloads) {
    objects_by_kind_name_[{w.kind, w.namespace_ + "/" + w.name}] = &w;
  }

  for (const Pod& p : snap.pods) {
    if (podCounts(p)) active_pods.push_back(&p);
  }
  std::sort(active_pods.begin(), active_pods.end(), podLess);

  for (const PodDisruptionBudget& pdb : snap.pdbs)
    pdbs_by_namespace[pdb.namespace_].push_back(&pdb);
  for (const Service& svc : snap.services) services_by_namespace[svc.namespace_].push_back(&svc);
  for (const Pod* p : active_pods) {
    pods_by_namespace[p->namespace_].push_back(p);
    if (!p->node_name.empty()) {
      if (shared != nullptr) {
        if (!shared->nodes.contains(p->node_name)) pods_on_unknown_nodes.push_back(p);
      } else if (auto it = own_nodes_.find(p->node_name); it != own_nodes_.end()) {
        it->second.pods.push_back(p);
      } else {
        pods_on_unknown_nodes.push_back(p);
      }
    }
    if (auto component = controlPlaneComponent(*p)) control_plane[*component].push_back(p);
    std::optional<ObjectRef> ref = workloadOf(*p);
    if (!ref) continue;
    WorkloadInfo& w = workloads[*ref];
    w.ref = *ref;
    w.pods.push_back(p);
    if (countsReady(*p)) ++w.ready;
  }

  // Controllers of the snapshot without pods still matter (a Deployment of 3
  // with none running). ReplicaSets owned by a Deployment and Jobs owned by a
  // CronJob are folded into their owner.
  for (const Workload& obj : snap.workloads) {
    bool owned = (obj.kind == "ReplicaSet" || obj.kind == "Job") &&
                 std::any_of(obj.owners.begin(), obj.owners.end(),
                             [](const OwnerRef& o) { return o.controller; });
    if (owned) continue;
    ObjectRef ref{obj.kind, obj.namespace_, obj.name};
    WorkloadInfo& w = workloads[ref];
    w.ref = ref;
    w.object = &obj;
  }
  for (auto& [ref, w] : workloads) {
    w.desired = w.object != nullptr ? w.object->replicas : static_cast<int32_t>(w.pods.size());
  }
}

const Workload* Index::object(std::string_view kind, std::string_view ns,
                              std::string_view name) const {
  std::string key(ns);
  key += '/';
  key += name;
  auto it = objects_by_kind_name_.find({std::string(kind), key});
  return it == objects_by_kind_name_.end() ? nullptr : it->second;
}

std::optional<ObjectRef> Index::workloadOf(const Pod& pod) const {
  // The decoder puts the controller reference first; an owner without
  // controller=true does not manage the pod's lifecycle: the pod is bare.
  if (pod.owners.empty() || !pod.owners.front().controller) {
    return ObjectRef{"Pod", pod.namespace_, pod.name};
  }
  const OwnerRef& owner = pod.owners.front();
  if (owner.kind == "Node") return std::nullopt;  // a static pod's mirror
  if (owner.kind == "ReplicaSet" || owner.kind == "Job") {
    const std::string_view parent_kind = owner.kind == "ReplicaSet" ? "Deployment" : "CronJob";
    if (const Workload* obj = object(owner.kind, pod.namespace_, owner.name)) {
      for (const OwnerRef& o : obj->owners) {
        if (o.controller) return ObjectRef{o.kind, pod.namespace_, o.name};
      }
      return ObjectRef{owner.kind, pod.namespace_, owner.name};
    }
    // Not in the snapshot: trust the chain the decoder inferred (a Deployment
    // from the ReplicaSet name and pod-template-hash).
    if (pod.owners.size() > 1 && pod.owners[1].kind == parent_kind) {
      return ObjectRef{pod.owners[1].kind, pod.namespace_, pod.owners[1].name};
    }
  }
  return ObjectRef{owner.kind, pod.namespace_, owner.name};
}

const WorkloadInfo* Index::workloadInfo(const Pod& pod) const {
  std::optional<ObjectRef> ref = workloadOf(pod);
  if (!ref) return nullptr;
  auto it = workloads.find(*ref);
  return it == workloads.end() ? nullptr : &it->second;
}

const Node* Index::node(std::string_view name) const {
  const NodeInfo* info = nodeInfo(name);
  return info == nullptr ? nullptr : info->node;
}

const NodeInfo* Index::nodeInfo(std::string_view name) const {
  auto it = nodes.find(std::string(name));
  return it == nodes.end() ? nullptr : &it->second;
}

bool Index::countsReady(const Pod& pod) const {
  if (!podCounts(pod) || pod.phase != PodPhase::kRunning || !pod.ready) return false;
  const NodeInfo* info = nodeInfo(pod.node_name);
  if (info == nullptr) return !snapshot.silent_nodes.contains(pod.node_name);
  return info->ready;
}

Labels Index::namespaceLabels(std::string_view ns) const {
  auto it = namespaces_->find(std::string(ns));
  Labels labels;
  if (it != namespaces_->end()) labels = it->second->labels;
  labels.emplace("kubernetes.io/metadata.name", std::string(ns));
  return labels;
}

std::optional<std::string> Index::domainOf(const Node& node, const std::string& key) {
  auto it = node.labels.find(key);
  if (it != node.labels.end()) return it->second;
  // The decoder fills zone/region from the deprecated beta labels too.
  if (key == zoneKey() && !node.zone.empty()) return node.zone;
  if (key == regionKey() && !node.region.empty()) return node.region;
  if (key == hostnameKey()) return node.name;
  return std::nullopt;
}

std::string Index::podKey(const Pod& pod) {
  return pod.namespace_ + "/" + pod.name;
}

Finding Index::finding(std::string check, Severity severity, ObjectRef subject) const {
  Finding f;
  f.runbook = options.runbook_base;
  for (char c : check) f.runbook += c == '.' ? '-' : c;
  f.runbook += ".md";
  f.check = std::move(check);
  f.severity = severity;
  f.subject = std::move(subject);
  return f;
}

size_t Index::activePodsOn(const NodeInfo& node) const {
  if (active_pod_counts != nullptr) {
    auto it = active_pod_counts->find(node.node->name);
    return it == active_pod_counts->end() ? 0 : static_cast<size_t>(it->second);
  }
  return node.pods.size();
}

bool Index::enabled(std::string_view check) const {
  if (options.only_checks.empty()) return true;
  return std::any_of(options.only_checks.begin(), options.only_checks.end(),
                     [&](const std::string& p) { return check.starts_with(p); });
}

}  // namespace rampart::engine
