// Workload-level HA checks (replicas, readiness, spread over nodes and zones,
// probes); the PDB/HPA and pod-level checks are called from here too.
// docs/checks.md, "HA/DR checks".
#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "engine_hadr.h"
#include "engine_index.h"
#include "engine_policy.h"

namespace rampart::engine {

std::string kubectlResource(const std::string& kind) {
  std::string s;
  for (char c : kind) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string joinNames(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) {
    if (!s.empty()) s += ", ";
    s += n;
  }
  return s;
}

namespace {

bool runsToCompletion(const ObjectRef& ref) {
  return ref.kind == "Job" || ref.kind == "CronJob";
}

// `kubectl -n shop <verb> deployment/web`
std::string kubectlOn(const std::string& verb, const ObjectRef& ref) {
  return "kubectl -n " + ref.namespace_ + " " + verb + " " + kubectlResource(ref.kind) + "/" +
         ref.name;
}

Finding workloadFinding(const Index& index, std::string check, Severity severity,
                        const WorkloadInfo& w) {
  Finding f = index.finding(std::move(check), severity, w.ref);
  f.workload = w.ref;
  return f;
}

std::vector<const Pod*> readyPods(const Index& index, const WorkloadInfo& w) {
  std::vector<const Pod*> out;
  for (const Pod* p : w.pods) {
    if (index.countsReady(*p)) out.push_back(p);
  }
  return out;
}

void singleReplica(const Index& index, const WorkloadInfo& w, std::vector<Finding>& out) {
  if (!w.replicated() || w.desired != 1) return;
  Finding f = workloadFinding(index, "workload.single-replica", Severity::kHigh, w);
  for (const Pod* p : w.pods) f.pods.push_back(Index::podKey(*p));
  f.details["replicas"] = w.desired;
  f.details["ready"] = w.ready;
  f.message = refName(w.ref) + " runs 1 replica: any node loss, drain or rollout takes it down";
  f.remediation = "Run at least 2 replicas (`" + kubectlOn("scale", w.ref) +
                  " --replicas=2`, or spec.replicas in the manifest) and add a "
                  "PodDisruptionBudget with maxUnavailable: 1.";
  out.push_back(std::move(f));
}

void unavailable(const Index& index, const WorkloadInfo& w, std::vector<Finding>& out) {
  if (runsToCompletion(w.ref) || w.ready > 0) return;
  Finding f = workloadFinding(index, "workload.unavailable", Severity::kCritical, w);
  for (const Pod* p : w.pods) f.pods.push_back(Index::podKey(*p));
  f.details["replicas"] = w.desired;
  f.details["ready"] = 0;
  f.details["pods"] = w.pods.size();
  f.message = refName(w.ref) + " has 0/" + std::to_string(w.desired) + " replicas ready (" +
              std::to_string(w.pods.size()) + " pod(s) exist): it is down";
  f.remediation = "Find why no pod is ready: `" + kubectlOn("describe", w.ref) +
                  "` and the events and logs of its pods (image, crash, scheduling, a failed "
                  "node).";
  out.push_back(std::move(f));
}

void onOneNode(const Index& index, const WorkloadInfo& w, const std::vector<const Pod*>& ready,
               std::vector<Finding>& out) {
  if (!w.replicated() || ready.size() < 2) return;
  const std::string& node = ready.front()->node_name;
  if (node.empty()) return;
  for (const Pod* p : ready) {
    if (p->node_name != node) return;
  }
  Finding f = workloadFinding(index, "workload.replicas-on-one-node", Severity::kCritical, w);
  for (const Pod* p : ready) f.pods.push_back(Index::podKey(*p));
  f.node = node;
  f.details["node"] = node;
  f.details["ready"] = ready.size();
  f.details["replicas"] = w.desired;
  f.message = std::to_string(ready.size()) + "/" + std::to_string(w.desired) +
              " ready replicas of " + refName(w.ref) + " on node " + node;
  f.remediation = "Spread the replicas over nodes: add a topologySpreadConstraint on " +
                  hostnameKey() +
                  " (maxSkew: 1) or a pod anti-affinity on that key to the pod template, then "
                  "`" +
                  kubectlOn("rollout restart", w.ref) + "`.";
  out.push_back(std::move(f));
}

void inOneZone(const Index& index, const WorkloadInfo& w, const std::vector<const Pod*>& ready,
               std::vector<Finding>& out) {
  if (!w.replicated() || index.zones.size() < 2 || ready.size() < 2) return;
  std::set<std::string> nodes, zones;
  for (const Pod* p : ready) {
    const Node* n = index.node(p->node_name);
    // A ready pod whose zone is unknown might be elsewhere: no claim.
    if (n == nullptr || n->zone.empty()) return;
    nodes.insert(n->name);
    zones.insert(n->zone);
  }
  if (nodes.size() < 2 || zones.size() != 1) return;
  const std::string& zone = *zones.begin();
  Finding f = workloadFinding(index, "workload.replicas-in-one-zone", Severity::kHigh, w);
  for (const Pod* p : ready) f.pods.push_back(Index::podKey(*p));
  f.zone = zone;
  f.details["zone"] = zone;
  f.details["ready"] = ready.size();
  f.details["replicas"] = w.desired;
  f.details["zones_available"] = index.zones.size();
  f.message = std::to_string(ready.size()) + "/" + std::to_string(w.desired) +
              " ready replicas of " + refName(w.ref) + " in zone " + zone + " (on " +
              std::to_string(nodes.size()) + " nodes) while the cluster has " +
              std::to_string(index.zones.size()) + " zones";
  f.remediation = "Add a topologySpreadConstraint on " + zoneKey() +
                  " (maxSkew: 1) to the pod template so that a zone outage leaves replicas "
                  "running, then `" +
                  kubectlOn("rollout restart", w.ref) + "`.";
  out.push_back(std::move(f));
}

// Regular containers of the pods lacking a probe; the pods that lack it.
struct MissingProbe {
  std::set<std::string> containers;
  std::vector<std::string> pods;
};

template <class Has>
MissingProbe missingProbe(const WorkloadInfo& w, Has has) {
  MissingProbe m;
  for (const Pod* p : w.pods) {
    bool lacks = false;
    for (const ContainerStatus& c : p->containers) {
      if (c.init || has(c.probes)) continue;
      m.containers.insert(c.name);
      lacks = true;
    }
    if (lacks) m.pods.push_back(Index::podKey(*p));
  }
  return m;
}

std::string containersPhrase(const std::set<std::string>& containers, std::string_view of) {
  std::vector<std::string> names(containers.begin(), containers.end());
  return (names.size() == 1 ? "container " : "containers ") + joinNames(names) + " of " +
         std::string(of) + (names.size() == 1 ? " has" : " have");
}

void readinessProbe(const Index& index, const WorkloadInfo& w, std::vector<Finding>& out) {
  if (runsToCompletion(w.ref)) return;
  std::vector<std::string> services;
  auto ns = index.services_by_namespace.find(w.ref.namespace_);
  if (ns == index.services_by_namespace.end()) return;
  for (const Service* svc : ns->second) {
    const Service& s = *svc;
    if (std::any_of(w.pods.begin(), w.pods.end(),
                    [&](const Pod* p) { return serviceSelects(s, *p); })) {
      services.push_back(s.name);
    }
  }
  if (services.empty()) return;
  std::sort(services.begin(), services.end());
  services.erase(std::unique(services.begin(), services.end()), services.end());
  MissingProbe m = missingProbe(w, [](const ContainerProbes& p) { return p.readiness; });
  if (m.containers.empty()) return;
  Finding f = workloadFinding(index, "probe.readiness-missing", Severity::kMedium, w);
  f.pods = m.pods;
  f.details["containers"] = std::vector<std::string>(m.containers.begin(), m.containers.end());
  f.details["services"] = services;
  f.message = containersPhrase(m.containers, refName(w.ref)) +
              " no readiness probe while Service(s) " + joinNames(services) +
              " route to its pods: a pod that is starting or broken still gets requests";
  f.remediation =
      "Add a readinessProbe (httpGet, tcpSocket, grpc or exec) to each listed "
      "container of the pod template, checking that the container can serve.";
  out.push_back(std::move(f));
}

void livenessProbe(const Index& index, const WorkloadInfo& w, std::vector<Finding>& out) {
  if (runsToCompletion(w.ref)) return;
  MissingProbe m = missingProbe(w, [](const ContainerProbes& p) { return p.liveness; });
  if (m.containers.empty()) return;
  Finding f = workloadFinding(index, "probe.liveness-missing", Severity::kLow, w);
  f.pods = m.pods;
  f.details["containers"] = std::vector<std::string>(m.containers.begin(), m.containers.end());
  f.message = containersPhrase(m.containers, refName(w.ref)) +
              " no liveness probe: a hung process is never restarted";
  f.remediation =
      "Add a livenessProbe to each listed container of the pod template (a cheap "
      "check of the process itself, with a failureThreshold that tolerates slow "
      "moments).";
  out.push_back(std::move(f));
}

}  // namespace

void checkWorkloads(const Index& index, std::vector<Finding>& out) {
  for (const auto& [ref, w] : index.workloads) {
    if (index.cancelled()) return;
    // Scaled to zero on purpose (or a DaemonSet that targets no node).
    if (w.desired == 0) continue;
    std::vector<const Pod*> ready = readyPods(index, w);
    singleReplica(index, w, out);
    unavailable(index, w, out);
    onOneNode(index, w, ready, out);
    inOneZone(index, w, ready, out);
    readinessProbe(index, w, out);
    livenessProbe(index, w, out);
  }
  if (index.cancelled()) return;
  checkDisruptionPolicies(index, out);
  if (index.cancelled()) return;
  checkPods(index, out);
}

}  // namespace rampart::engine
