// Pod-level checks: readiness, crash loops, OOM kills, restarts, pods without
// a controller (pod.*). docs/checks.md, "HA/DR checks".
#include <algorithm>
#include <set>

#include "engine_hadr.h"
#include "engine_index.h"
#include "engine_policy.h"

namespace rampart::engine {
namespace {

Finding podFinding(const Index& index, std::string check, Severity severity, const Pod& pod) {
  Finding f = index.finding(std::move(check), severity, {"Pod", pod.namespace_, pod.name});
  f.workload = index.workloadOf(pod);
  f.pods.push_back(Index::podKey(pod));
  f.node = pod.node_name;
  if (const Node* n = index.node(pod.node_name)) f.zone = n->zone;
  return f;
}

// "container app of ns/p is" / "containers a, b of ns/p are"
std::string containersOf(const std::vector<std::string>& names, const Pod& pod,
                         std::string_view verb_one, std::string_view verb_many) {
  bool one = names.size() == 1;
  return std::string(one ? "container " : "containers ") + joinNames(names) + " of " +
         Index::podKey(pod) + " " + std::string(one ? verb_one : verb_many);
}

std::string kubectlPod(const std::string& verb, const Pod& pod) {
  return "kubectl -n " + pod.namespace_ + " " + verb + " " + pod.name;
}

void notReady(const Index& index, const Pod& pod, std::vector<Finding>& out) {
  if (pod.phase != PodPhase::kPending && pod.phase != PodPhase::kRunning) return;
  if (index.countsReady(pod)) return;
  // On a NotReady or silent node the pod is part of that node's finding.
  if (const NodeInfo* n = index.nodeInfo(pod.node_name); n != nullptr && !n->ready) return;
  if (index.snapshot.silent_nodes.contains(pod.node_name)) return;
  std::vector<std::string> not_ready;
  int32_t regular = 0, ready = 0;
  for (const ContainerStatus& c : pod.containers) {
    if (c.init) continue;
    ++regular;
    if (c.ready) {
      ++ready;
    } else {
      not_ready.push_back(c.name);
    }
  }
  std::string phase(podPhaseName(pod.phase));
  Finding f = podFinding(index, "pod.not-ready", Severity::kHigh, pod);
  f.details["phase"] = phase;
  f.details["containers_not_ready"] = not_ready;
  std::string state =
      phase + ", " + std::to_string(ready) + "/" + std::to_string(regular) + " containers ready";
  if (pod.node_name.empty()) state = phase + ", not scheduled to a node";
  if (not_ready.empty() || pod.node_name.empty()) {
    f.message = "pod " + Index::podKey(pod) + " is not ready (" + state + ")";
  } else {
    f.message = containersOf(not_ready, pod, "is", "are") + " not ready (" + state + ")";
  }
  f.remediation = "See why: `" + kubectlPod("describe pod", pod) +
                  "` (events, probe failures, scheduling) and `" + kubectlPod("logs", pod) +
                  (not_ready.empty() ? "" : " -c " + not_ready.front()) + "`.";
  out.push_back(std::move(f));
}

void crashLoop(const Index& index, const Pod& pod, std::vector<Finding>& out) {
  std::vector<std::string> names;
  int32_t restarts = 0;
  for (const ContainerStatus& c : pod.containers) {
    if (c.state != ContainerState::kWaiting || c.state_reason != "CrashLoopBackOff") continue;
    names.push_back(c.name);
    restarts = std::max(restarts, c.restart_count);
  }
  if (names.empty()) return;
  Finding f = podFinding(index, "pod.crashloop", Severity::kHigh, pod);
  f.details["containers"] = names;
  f.details["restarts"] = restarts;
  f.message = containersOf(names, pod, "is", "are") + " in CrashLoopBackOff (" +
              std::to_string(restarts) + " restarts)";
  f.remediation = "Read why it exits: `" + kubectlPod("logs", pod) + " -c " + names.front() +
                  " --previous`; fix the command, configuration or dependency it fails on.";
  out.push_back(std::move(f));
}

void oomKilled(const Index& index, const Pod& pod, std::vector<Finding>& out) {
  std::vector<std::string> names;
  nlohmann::ordered_json exit_code;  // null: the model lacks the current state's exit code
  for (const ContainerStatus& c : pod.containers) {
    bool last = c.last_termination_reason == "OOMKilled";
    bool now = c.state == ContainerState::kTerminated && c.state_reason == "OOMKilled";
    if (!last && !now) continue;
    if (names.empty() && last) exit_code = c.last_termination_exit_code;
    names.push_back(c.name);
  }
  if (names.empty()) return;
  Finding f = podFinding(index, "pod.oomkilled", Severity::kMedium, pod);
  f.details["containers"] = names;
  f.details["exit_code"] = exit_code;
  f.message = containersOf(names, pod, "was", "were") + " OOMKilled (" +
              std::string(podPhaseName(pod.phase)) +
              "): the kernel killed it for exceeding its memory limit";
  f.remediation = "Raise resources.limits.memory (and requests.memory) of " + names.front() +
                  " in the pod template, or reduce its memory use; `kubectl top pod -n " +
                  pod.namespace_ + "` shows current use.";
  out.push_back(std::move(f));
}

void restarts(const Index& index, const Pod& pod, std::vector<Finding>& out) {
  std::vector<std::string> names;
  int32_t most = 0;
  for (const ContainerStatus& c : pod.containers) {
    if (c.restart_count < index.options.restart_threshold) continue;
    names.push_back(c.name);
    most = std::max(most, c.restart_count);
  }
  if (names.empty()) return;
  Finding f = podFinding(index, "pod.restarts", Severity::kLow, pod);
  f.details["containers"] = names;
  f.details["restarts"] = most;
  f.details["threshold"] = index.options.restart_threshold;
  f.message = containersOf(names, pod, "has", "have") + " restarted " + std::to_string(most) +
              " times (threshold " + std::to_string(index.options.restart_threshold) + ")";
  f.remediation = "Check the previous run's logs (`" + kubectlPod("logs", pod) + " -c " +
                  names.front() +
                  " --previous`) and the last termination reason in `kubectl describe pod`.";
  out.push_back(std::move(f));
}

bool isControlPlanePod(const Index& index, const Pod& pod) {
  for (const auto& [component, pods] : index.control_plane) {
    if (std::find(pods.begin(), pods.end(), &pod) != pods.end()) return true;
  }
  return false;
}

void bare(const Index& index, const Pod& pod, std::vector<Finding>& out) {
  std::optional<ObjectRef> ref = index.workloadOf(pod);
  if (!ref || ref->kind != "Pod") return;
  // A control-plane pod listed without its Node owner (the kubelet's view of
  // a static pod) is a static pod too.
  if (isControlPlanePod(index, pod)) return;
  Finding f = podFinding(index, "pod.bare", Severity::kMedium, pod);
  f.message = Index::podKey(pod) +
              " has no controller: it will not be recreated if its node fails or it is "
              "evicted";
  f.remediation =
      "Run it from a Deployment or StatefulSet (a Job for one-off work) so that a "
      "controller recreates it elsewhere.";
  out.push_back(std::move(f));
}

}  // namespace

void checkPods(const Index& index, std::vector<Finding>& out) {
  for (const Pod* p : index.active_pods) {
    notReady(index, *p, out);
    crashLoop(index, *p, out);
    oomKilled(index, *p, out);
    restarts(index, *p, out);
    bare(index, *p, out);
  }
  // A Failed pod stays until its Job is cleaned up; when a container was
  // OOMKilled that is why it failed (a Job pod: restartPolicy Never).
  std::vector<const Pod*> failed;
  for (const Pod& p : index.snapshot.pods) {
    if (p.phase == PodPhase::kFailed && !p.terminating) failed.push_back(&p);
  }
  std::sort(failed.begin(), failed.end(), [](const Pod* a, const Pod* b) {
    return std::tie(a->namespace_, a->name) < std::tie(b->namespace_, b->name);
  });
  for (const Pod* p : failed) oomKilled(index, *p, out);
}

}  // namespace rampart::engine
