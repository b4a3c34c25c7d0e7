// Small builders for engine snapshots in tests. Shared by every
// tests/unit/engine/*_test.cpp: extend with care, keep the defaults stable
// (a ready node, a Running and Ready pod).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "rampart/engine.h"
#include "rampart/model.h"

namespace rampart::engine::testutil {

// A Ready node; `zone` (when not empty) sets Node::zone and the
// topology.kubernetes.io/zone label, the name sets kubernetes.io/hostname.
inline Node makeNode(std::string name, std::string zone = "", Labels labels = {}) {
  Node n;
  n.name = std::move(name);
  n.labels = std::move(labels);
  n.labels.emplace("kubernetes.io/hostname", n.name);
  if (!zone.empty()) {
    n.zone = zone;
    n.labels.emplace("topology.kubernetes.io/zone", zone);
  }
  n.conditions.push_back({"Ready", "True", ""});
  return n;
}

// A Running, Ready pod. With an owner kind, the owner is its controller; a
// ReplicaSet owner named "<deploy>-<hash>" also gets the inferred Deployment
// link ("<deploy>") as the decoder would add it.
inline Pod makePod(std::string ns, std::string name, std::string node, Labels labels = {},
                   const std::string& owner_kind = "", const std::string& owner_name = "") {
  Pod p;
  p.namespace_ = std::move(ns);
  p.name = std::move(name);
  p.uid = p.namespace_ + "/" + p.name;
  p.node_name = std::move(node);
  p.labels = std::move(labels);
  p.phase = PodPhase::kRunning;
  p.ready = true;
  if (!owner_kind.empty()) {
    p.owners.push_back({owner_kind, owner_name, "", true, false});
    if (owner_kind == "ReplicaSet") {
      auto dash = owner_name.rfind('-');
      if (dash != std::string::npos && dash > 0) {
        p.owners.push_back({"Deployment", owner_name.substr(0, dash), "", true, true});
      }
    }
  }
  return p;
}

// A workload object (Deployment, StatefulSet, ...) with `replicas`.
inline Workload makeWorkload(std::string kind, std::string ns, std::string name, int32_t replicas) {
  Workload w;
  w.kind = std::move(kind);
  w.namespace_ = std::move(ns);
  w.name = std::move(name);
  w.replicas = replicas;
  return w;
}

inline LabelSelector matchLabels(Labels labels) {
  LabelSelector s;
  s.match_labels = std::move(labels);
  return s;
}

inline LabelSelector matchExpression(std::string key, std::string op,
                                     std::vector<std::string> values = {}) {
  LabelSelector s;
  s.match_expressions.push_back({std::move(key), std::move(op), std::move(values)});
  return s;
}

// The check ids that fired, each once, sorted.
inline std::set<std::string> ids(const std::vector<Finding>& fs) {
  std::set<std::string> out;
  for (const Finding& f : fs) out.insert(f.check);
  return out;
}

// The findings of one check, in the order they were produced.
inline std::vector<Finding> findingsOf(const std::vector<Finding>& all, const std::string& check) {
  std::vector<Finding> out;
  for (const Finding& f : all) {
    if (f.check == check) out.push_back(f);
  }
  return out;
}

// A regular container status; probes as given (all present by default).
inline ContainerStatus makeContainer(std::string name, bool ready = true, bool readiness = true,
                                     bool liveness = true) {
  ContainerStatus c;
  c.name = std::move(name);
  c.ready = ready;
  c.state = ready ? ContainerState::kRunning : ContainerState::kWaiting;
  c.probes.readiness = readiness;
  c.probes.liveness = liveness;
  return c;
}

// A PodDisruptionBudget without minAvailable/maxUnavailable (set them after).
inline PodDisruptionBudget makePdb(std::string ns, std::string name,
                                   std::optional<LabelSelector> selector) {
  PodDisruptionBudget pdb;
  pdb.namespace_ = std::move(ns);
  pdb.name = std::move(name);
  pdb.selector = std::move(selector);
  return pdb;
}

inline Service makeService(std::string ns, std::string name, Labels selector) {
  Service s;
  s.namespace_ = std::move(ns);
  s.name = std::move(name);
  s.type = "ClusterIP";
  s.selector = std::move(selector);
  return s;
}

inline HorizontalPodAutoscaler makeHpa(std::string ns, std::string name, std::string target_kind,
                                       std::string target_name, int32_t min_replicas,
                                       int32_t max_replicas) {
  HorizontalPodAutoscaler h;
  h.namespace_ = std::move(ns);
  h.name = std::move(name);
  h.target_kind = std::move(target_kind);
  h.target_name = std::move(target_name);
  h.min_replicas = min_replicas;
  h.max_replicas = max_replicas;
  return h;
}

}  // namespace rampart::engine::testutil
