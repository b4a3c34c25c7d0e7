// The Kubernetes JSON decoder, written once over a small JSON "backend"
// interface so that the same field logic runs on simdjson On-Demand (the
// production backend, k8s_json_ondemand.h) and, in tools/bench/json_bench.cpp,
// on simdjson DOM and nlohmann-json for the library comparison
// (docs/json-choice.md).
//
// A backend `J` provides:
//   using Value;                       // a JSON value handle, passed as Value&
//   static JsonKind kind(Value&);      // peeks, does not consume
//   static const char* getString(Value&, std::string_view&);  // nullptr = ok
//   static const char* getInt(Value&, int64_t&);
//   static const char* getBool(Value&, bool&);
//   template <class F> static const char* fields(Value&, F&& f);    // f(key, Value&) -> bool
//   template <class F> static const char* elements(Value&, F&& f);  // f(Value&) -> bool
// `fields`/`elements` return kAbort when a callback returned false, another
// message for a library error. Every value is visited at most once and in
// document order, which is what On-Demand requires.
//
// Tolerance rules (documented in docs/json-choice.md): `null` anywhere means
// "absent" (Go decodes null into the zero value); unknown fields and the
// types of fields Rampart does not read are ignored; a field Rampart reads
// with the wrong JSON type is an error naming the field.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rampart/k8s_json.h"
#include "rampart/model.h"
#include "rampart/time.h"

namespace rampart::k8s::detail {

enum class JsonKind { kNull, kObject, kArray, kString, kNumber, kBool, kError };

// Returned by a backend's fields()/elements() when a callback failed and has
// already recorded its error. Compared by address, so it points into one
// inline variable: a string literal may have a different address in every
// translation unit (it does under AddressSanitizer), and which unit's copy of
// an inline function the linker keeps is not specified.
inline constexpr char kAbortText[] = "aborted";
inline constexpr const char* kAbort = kAbortText;

template <class J>
class Decoder {
 public:
  using V = typename J::Value;

  // "what" of the first error, and the field path built while unwinding.
  std::string error;
  std::string path;

  std::string describe() const {
    if (path.empty()) return error;
    return path + ": " + error;
  }

  // ---- primitives -------------------------------------------------------

  bool fail(const char* what) {
    error = what;
    return false;
  }
  bool lib(const char* e) {
    if (e == nullptr) return true;
    if (e != kAbort) error = e;
    return false;
  }
  void prefixKey(std::string_view key) {
    if (path.empty() || path.front() == '[') {
      path.insert(0, key);
    } else {
      path.insert(0, 1, '.');
      path.insert(0, key);
    }
  }
  void prefixIndex(size_t i) {
    if (!path.empty() && path.front() != '[') path.insert(0, 1, '.');
    path.insert(0, "[" + std::to_string(i) + "]");
  }

  template <class F>
  bool obj(V& v, F&& f) {
    JsonKind k = J::kind(v);
    if (k == JsonKind::kNull) return true;
    if (k != JsonKind::kObject && k != JsonKind::kError) return fail("expected object");
    return lib(J::fields(v, [&](std::string_view key, V& fv) {
      if (f(key, fv)) return true;
      prefixKey(key);
      return false;
    }));
  }

  template <class F>
  bool arr(V& v, F&& f) {
    JsonKind k = J::kind(v);
    if (k == JsonKind::kNull) return true;
    if (k != JsonKind::kArray && k != JsonKind::kError) return fail("expected array");
    size_t i = 0;
    return lib(J::elements(v, [&](V& ev) {
      if (f(ev)) {
        ++i;
        return true;
      }
      prefixIndex(i);
      return false;
    }));
  }

  bool sv(V& v, std::string_view& out) {
    if (J::kind(v) == JsonKind::kNull) {
      out = {};
      return true;
    }
    const char* e = J::getString(v, out);
    return e == nullptr ? true : fail(e);
  }
  bool str(V& v, std::string& out) {
    std::string_view s;
    if (!sv(v, s)) return false;
    out.assign(s.data(), s.size());
    return true;
  }
  bool i64(V& v, int64_t& out) {
    if (J::kind(v) == JsonKind::kNull) return true;
    const char* e = J::getInt(v, out);
    return e == nullptr ? true : fail(e);
  }
  bool i32(V& v, int32_t& out) {
    if (J::kind(v) == JsonKind::kNull) return true;  // absent: keeps a default such as replicas 1
    int64_t x = 0;
    if (!i64(v, x)) return false;
    if (x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max()) {
      return fail("integer out of int32 range");
    }
    out = static_cast<int32_t>(x);
    return true;
  }
  bool boolean(V& v, bool& out) {
    if (J::kind(v) == JsonKind::kNull) return true;
    const char* e = J::getBool(v, out);
    return e == nullptr ? true : fail(e);
  }
  bool strList(V& v, std::vector<std::string>& out) {
    return arr(v, [&](V& ev) { return str(ev, out.emplace_back()); });
  }
  bool strMap(V& v, Labels& out) {
    return obj(v, [&](std::string_view key, V& fv) {
      std::string_view val;
      if (!sv(fv, val)) return false;
      out.insert_or_assign(std::string(key), std::string(val));
      return true;
    });
  }
  // True when a value is present (not null) and was consumed.
  bool present(V& v) { return J::kind(v) != JsonKind::kNull; }

  // ---- selectors and placement -------------------------------------------

  template <class Req>
  bool requirement(V& v, Req& r) {
    return obj(v, [&](std::string_view k, V& f) {
      if (k == "key") return str(f, r.key);
      if (k == "operator") return str(f, r.op);
      if (k == "values") return strList(f, r.values);
      return true;
    });
  }
  template <class Req>
  bool requirements(V& v, std::vector<Req>& out) {
    return arr(v, [&](V& ev) { return requirement(ev, out.emplace_back()); });
  }

  bool labelSelector(V& v, std::optional<LabelSelector>& out) {
    if (!present(v)) return true;
    LabelSelector& s = out.emplace();
    return obj(v, [&](std::string_view k, V& f) {
      if (k == "matchLabels") return strMap(f, s.match_labels);
      if (k == "matchExpressions") return requirements(f, s.match_expressions);
      return true;
    });
  }

  bool nodeSelectorTerm(V& v, NodeSelectorTerm& t) {
    return obj(v, [&](std::string_view k, V& f) {
      if (k == "matchExpressions") return requirements(f, t.match_expressions);
      if (k == "matchFields") return requirements(f, t.match_fields);
      return true;
    });
  }

  bool nodeAffinity(V& v, std::optional<NodeAffinity>& out) {
    if (!present(v)) return true;
    NodeAffinity& a = out.emplace();
    return obj(v, [&](std::string_view k, V& f) {
      if (k == "requiredDuringSchedulingIgnoredDuringExecution") {
        return obj(f, [&](std::string_view k2, V& f2) {
          if (k2 != "nodeSelectorTerms") return true;
          return arr(f2, [&](V& t) { return nodeSelectorTerm(t, a.required.emplace_back()); });
        });
      }
      if (k == "preferredDuringSchedulingIgnoredDuringExecution") {
        return arr(f, [&](V& ev) {
          PreferredSchedulingTerm& p = a.preferred.emplace_back();
          return obj(ev, [&](std::string_view k2, V& f2) {
            if (k2 == "weight") return i32(f2, p.weight);
            if (k2 == "preference") return nodeSelectorTerm(f2, p.preference);
            return true;
          });
        });
      }
      return true;
    });
  }

  bool podAffinityTerm(V& v, PodAffinityTerm& t) {
    return obj(v, [&](std::string_view k, V& f) {
      if (k == "labelSelector") return labelSelector(f, t.label_selector);
      if (k == "namespaces") return strList(f, t.namespaces);
      if (k == "namespaceSelector") return labelSelector(f, t.namespace_selector);
      if (k == "topologyKey") return str(f, t.topology_key);
      if (k == "matchLabelKeys") return strList(f, t.match_label_keys);
      if (k == "mismatchLabelKeys") return strList(f, t.mismatch_label_keys);
      return true;
    });
  }

  bool podAffinityRules(V& v, std::optional<PodAffinityRules>& out) {
    if (!present(v)) return true;
    PodAffinityRules& r = out.emplace();
    return obj(v, [&](std::string_view k, V& f) {
      if (k == "requiredDuringSchedulingIgnoredDuringExecution") {
        return arr(f, [&](V& ev) { return podAffinityTerm(ev, r.required.emplace_back()); });
      }
      if (k == "preferredDuringSchedulingIgnoredDuringExecution") {
        return arr(f, [&](V& ev) {
          WeightedPodAffinityTerm& w = r.preferred.emplace_back();
          return obj(ev, [&](std::string_view k2, V& f2) {
            if (k2 == "weight") return i32(f2, w.weight);
            if (k2 == "podAffinityTerm") return podAffinityTerm(f2, w.term);
            return true;
          });
        });
      }
      return true;
    });
  }

  bool affinity(V& v, PlacementSpec& p) {
    return obj(v, [&](std::string_view k, V& f) {
      if (k == "nodeAffinity") return nodeAffinity(f, p.node_affinity);
      if (k == "podAffinity") return podAffinityRules(f, p.pod_affinity);
      if (k == "podAntiAffinity") return podAffinityRules(f, p.pod_anti_affinity);
      return true;
    });
  }

  bool spreadConstraint(V& v, TopologySpreadConstraint& c) {
    return obj(v, [&](std::string_view k, V& f) {
      if (k == "maxSkew") return i32(f, c.max_skew);
      if (k == "topologyKey") return str(f, c.topology_key);
      if (k == "whenUnsatisfiable") return str(f, c.when_unsatisfiable);
      if (k == "labelSelector") return labelSelector(f, c.label_selector);
      if (k == "minDomains") {
        if (!present(f)) return true;
        return i32(f, c.min_domains.emplace());
      }
      if (k == "nodeAffinityPolicy") return str(f, c.node_affinity_policy);
      if (k == "nodeTaintsPolicy") return str(f, c.node_taints_policy);
      if (k == "matchLabelKeys") return strList(f, c.match_label_keys);
      return true;
    });
  }

  bool toleration(V& v, Toleration& t) {
    return obj(v, [&](std::string_view k, V& f) {
      if (k == "key") return str(f, t.key);
      if (k == "operator") return str(f, t.op);
      if (k == "value") return str(f, t.value);
      if (k == "effect") return str(f, t.effect);
      if (k == "tolerationSeconds") {
        if (!present(f)) return true;
        return i64(f, t.toleration_seconds.emplace());
      }
      return true;
    });
  }

  // ---- pods ---------------------------------------------------------------

  bool ownerRef(V& v, OwnerRef& o) {
    return obj(v, [&](std::string_view k, V& f) {
      if (k == "kind") return str(f, o.kind);
      if (k == "name") return str(f, o.name);
      if (k == "uid") return str(f, o.uid);
      if (k == "controller") return boolean(f, o.controller);
      return true;
    });
  }

  bool timestamp(V& v, int64_t& out) {
    std::string_view s;
    if (!sv(v, s)) return false;
    if (s.empty()) return true;
    std::optional<int64_t> t = parseRfc3339Seconds(s);
    if (!t) return fail("invalid RFC 3339 timestamp");
    out = *t;
    return true;
  }

  bool podMetadata(V& v, Pod& p) {
    return obj(v, [&](std::string_view k, V& f) {
      if (k == "name") return str(f, p.name);
      if (k == "namespace") return str(f, p.namespace_);
      if (k == "uid") return str(f, p.uid);
      if (k == "resourceVersion") return str(f, p.resource_version);
      if (k == "labels") return strMap(f, p.labels);
      if (k == "creationTimestamp") return timestamp(f, p.created_unix);
      if (k == "deletionTimestamp") {
        p.terminating = present(f);
        return true;
      }
      if (k == "ownerReferences") {
        return arr(f, [&](V& ev) { return ownerRef(ev, p.owners.emplace_back()); });
      }
      return true;
    });
  }

  bool specContainers(V& v, std::vector<ContainerStatus>& out, bool init) {
    return arr(v, [&](V& ev) {
      ContainerStatus& c = out.emplace_back();
      c.init = init;
      return obj(ev, [&](std::string_view k, V& f) {
        if (k == "name") return str(f, c.name);
        if (k == "readinessProbe") c.probes.readiness = present(f);
        if (k == "livenessProbe") c.probes.liveness = present(f);
        if (k == "startupProbe") c.probes.startup = present(f);
        return true;
      });
    });
  }

  bool volumes(V& v, std::vector<std::string>& pvcs) {
    return arr(v, [&](V& ev) {
      return obj(ev, [&](std::string_view k, V& f) {
        if (k != "persistentVolumeClaim") return true;
        return obj(f, [&](std::string_view k2, V& f2) {
          if (k2 != "claimName") return true;
          std::string_view name;
          if (!sv(f2, name)) return false;
          if (!name.empty()) pvcs.emplace_back(name);
          return true;
        });
      });
    });
  }

  // The fields of a pod spec that a pod template shares with the pod it
  // makes: placement and persistentVolumeClaim volumes. Sets `handled` when
  // `k` is one of them.
  bool schedulingField(std::string_view k, V& f, PlacementSpec& p, std::vector<std::string>& pvcs,
                       bool& handled) {
    handled = true;
    if (k == "nodeSelector") return strMap(f, p.node_selector);
    if (k == "affinity") return affinity(f, p);
    if (k == "topologySpreadConstraints") {
      return arr(f, [&](V& ev) { return spreadConstraint(ev, p.topology_spread.emplace_back()); });
    }
    if (k == "tolerations") {
      return arr(f, [&](V& ev) { return toleration(ev, p.tolerations.emplace_back()); });
    }
    if (k == "volumes") return volumes(f, pvcs);
    handled = false;
    return true;
  }

  bool podSpec(V& v, Pod& p) {
    return obj(v, [&](std::string_view k, V& f) {
      if (k == "nodeName") return str(f, p.node_name);
      if (k == "containers") return specContainers(f, spec_main_, false);
      if (k == "initContainers") return specContainers(f, spec_init_, true);
      bool handled = false;
      return schedulingField(k, f, p.placement, p.pvc_names, handled);
    });
  }

  // state / lastState: {"waiting":{reason}} | {"running":{}} | {"terminated":{reason,exitCode}}
  bool containerState(V& v, ContainerState* state, std::string& reason, int32_t* exit_code) {
    return obj(v, [&](std::string_view k, V& f) {
      ContainerState s;
      if (k == "waiting") {
        s = ContainerState::kWaiting;
      } else if (k == "running") {
        s = ContainerState::kRunning;
      } else if (k == "terminated") {
        s = ContainerState::kTerminated;
      } else {
        return true;
      }
      if (!present(f)) return true;
      if (state == nullptr && s != ContainerState::kTerminated) return true;
      if (state != nullptr) *state = s;
      return obj(f, [&](std::string_view k2, V& f2) {
        if (k2 == "reason") return str(f2, reason);
        if (k2 == "exitCode" && exit_code != nullptr) return i32(f2, *exit_code);
        return true;
      });
    });
  }

  bool containerStatuses(V& v, bool init) {
    return arr(v, [&](V& ev) {
      ContainerStatus& c = statuses_.emplace_back();
      c.init = init;
      return obj(ev, [&](std::string_view k, V& f) {
        if (k == "name") return str(f, c.name);
        if (k == "ready") return boolean(f, c.ready);
        if (k == "restartCount") return i32(f, c.restart_count);
        if (k == "state") return containerState(f, &c.state, c.state_reason, nullptr);
        if (k == "lastState") {
          return containerState(f, nullptr, c.last_termination_reason,
                                &c.last_termination_exit_code);
        }
        return true;
      });
    });
  }

  bool podStatus(V& v, Pod& p) {
    return obj(v, [&](std::string_view k, V& f) {
      if (k == "phase") {
        std::string_view s;
        if (!sv(f, s)) return false;
        p.phase = s == "Pending"     ? PodPhase::kPending
                  : s == "Running"   ? PodPhase::kRunning
                  : s == "Succeeded" ? PodPhase::kSucceeded
                  : s == "Failed"    ? PodPhase::kFailed
                                     : PodPhase::kUnknown;
        return true;
      }
      if (k == "conditions") {
        return arr(f, [&](V& ev) {
          std::string_view type, status;
          if (!obj(ev, [&](std::string_view k2, V& f2) {
                if (k2 == "type") return sv(f2, type);
                if (k2 == "status") return sv(f2, status);
                return true;
              })) {
            return false;
          }
          if (type == "Ready") p.ready = status == "True";
          return true;
        });
      }
      if (k == "containerStatuses") return containerStatuses(f, false);
      if (k == "initContainerStatuses") return containerStatuses(f, true);
      return true;
    });
  }

  // Joins the spec's containers (init first) with their statuses by name.
  void finishPod(Pod& p) {
    p.containers.clear();
    p.containers.reserve(spec_init_.size() + spec_main_.size());
    for (auto& c : spec_init_) p.containers.push_back(std::move(c));
    for (auto& c : spec_main_) p.containers.push_back(std::move(c));
    for (ContainerStatus& s : statuses_) {
      auto it = std::find_if(p.containers.begin(), p.containers.end(),
                             [&](const auto& c) { return c.init == s.init && c.name == s.name; });
      if (it == p.containers.end()) {
        // A status without a spec entry (a spec-less object): keep it.
        p.containers.push_back(std::move(s));
        continue;
      }
      ContainerProbes probes = it->probes;
      *it = std::move(s);
      it->probes = probes;
    }
    spec_init_.clear();
    spec_main_.clear();
    statuses_.clear();

    // The controller reference first, then the rest in document order.
    std::stable_partition(p.owners.begin(), p.owners.end(),
                          [](const OwnerRef& o) { return o.controller; });
    if (!p.owners.empty() && p.owners[0].controller && p.owners[0].kind == "ReplicaSet") {
      auto hash = p.labels.find("pod-template-hash");
      const std::string& rs = p.owners[0].name;
      if (hash != p.labels.end() && !hash->second.empty() && rs.size() > hash->second.size() + 1 &&
          rs.ends_with(hash->second) && rs[rs.size() - hash->second.size() - 1] == '-') {
        OwnerRef d;
        d.kind = "Deployment";
        d.name = rs.substr(0, rs.size() - hash->second.size() - 1);
        d.controller = true;
        d.inferred = true;
        p.owners.push_back(std::move(d));
      }
    }
  }

  // A pod decoded field by field (for callers that iterate the object
  // themselves): beginPod(), podField() for each top-level field, finishPod().
  void beginPod() {
    spec_init_.clear();
    spec_main_.clear();
    statuses_.clear();
  }
  bool podField(std::string_view key, V& f, Pod& p) {
    if (key == "metadata") return podMetadata(f, p);
    if (key == "spec") return podSpec(f, p);
    if (key == "status") return podStatus(f, p);
    return true;
  }

  bool pod(V& v, Pod& p) {
    beginPod();
    JsonKind k = J::kind(v);
    if (k == JsonKind::kNull) return fail("expected object, got null");
    if (!obj(v, [&](std::string_view key, V& f) { return podField(key, f, p); })) return false;
    finishPod(p);
    return true;
  }

  // ---- nodes --------------------------------------------------------------

  bool nodeField(std::string_view key, V& f, Node& n) {
    if (key == "metadata") {
      return obj(f, [&](std::string_view k2, V& f2) {
        if (k2 == "name") return str(f2, n.name);
        if (k2 == "uid") return str(f2, n.uid);
        if (k2 == "resourceVersion") return str(f2, n.resource_version);
        if (k2 == "labels") return strMap(f2, n.labels);
        return true;
      });
    }
    if (key == "spec") {
      return obj(f, [&](std::string_view k2, V& f2) {
        if (k2 == "unschedulable") return boolean(f2, n.unschedulable);
        if (k2 == "taints") {
          return arr(f2, [&](V& ev) {
            Taint& t = n.taints.emplace_back();
            return obj(ev, [&](std::string_view k3, V& f3) {
              if (k3 == "key") return str(f3, t.key);
              if (k3 == "value") return str(f3, t.value);
              if (k3 == "effect") return str(f3, t.effect);
              return true;
            });
          });
        }
        return true;
      });
    }
    if (key == "status") {
      return obj(f, [&](std::string_view k2, V& f2) {
        if (k2 == "conditions") {
          return arr(f2, [&](V& ev) {
            NodeCondition& c = n.conditions.emplace_back();
            return obj(ev, [&](std::string_view k3, V& f3) {
              if (k3 == "type") return str(f3, c.type);
              if (k3 == "status") return str(f3, c.status);
              if (k3 == "reason") return str(f3, c.reason);
              return true;
            });
          });
        }
        if (k2 == "nodeInfo") {
          return obj(f2, [&](std::string_view k3, V& f3) {
            if (k3 == "kubeletVersion") return str(f3, n.kubelet_version);
            return true;
          });
        }
        return true;
      });
    }
    return true;
  }

  bool node(V& v, Node& n) {
    JsonKind k = J::kind(v);
    if (k == JsonKind::kNull) return fail("expected object, got null");
    if (!obj(v, [&](std::string_view key, V& f) { return nodeField(key, f, n); })) return false;
    finishNode(n);
    return true;
  }

  static void finishNode(Node& n) {
    auto label = [&](const char* a, const char* b) -> std::string {
      auto it = n.labels.find(a);
      if (it != n.labels.end() && !it->second.empty()) return it->second;
      it = n.labels.find(b);
      return it != n.labels.end() ? it->second : std::string();
    };
    n.zone = label("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone");
    n.region = label("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region");
    n.control_plane = n.labels.contains("node-role.kubernetes.io/control-plane") ||
                      n.labels.contains("node-role.kubernetes.io/master");
  }

  // ---- lists, status, watch events ---------------------------------------

  template <class T, class Item>
  bool list(V& v, std::string& resource_version, std::vector<T>& items, Item&& item) {
    if (J::kind(v) == JsonKind::kNull) return fail("expected object, got null");
    return obj(v, [&](std::string_view k, V& f) {
      if (k == "metadata") {
        return obj(f, [&](std::string_view k2, V& f2) {
          if (k2 == "resourceVersion") return str(f2, resource_version);
          return true;
        });
      }
      if (k == "items") return arr(f, [&](V& ev) { return item(ev, items.emplace_back()); });
      return true;
    });
  }

  bool podList(V& v, PodList& out) {
    return list(v, out.resource_version, out.items, [&](V& ev, Pod& p) { return pod(ev, p); });
  }
  bool nodeList(V& v, NodeList& out) {
    return list(v, out.resource_version, out.items, [&](V& ev, Node& n) { return node(ev, n); });
  }

  bool status(V& v, Status& s) {
    if (J::kind(v) == JsonKind::kNull) return fail("expected object, got null");
    return obj(v, [&](std::string_view k, V& f) {
      if (k == "code") {
        int64_t c = 0;
        if (!i64(f, c)) return false;
        s.code = static_cast<int>(std::clamp<int64_t>(c, -1, 999));
        return true;
      }
      if (k == "reason") return str(f, s.reason);
      if (k == "message") return str(f, s.message);
      return true;
    });
  }

  // Decodes {"type":..., "object":...}. `object_first` is set (and the event
  // left incomplete) when "object" precedes "type": the caller then decodes
  // the object separately once the type is known.
  // `known_type` (from a first pass that hit object_first) lets the object be
  // decoded wherever it sits.
  template <class T, class ObjFn>
  bool watchEvent(V& v, WatchEvent<T>& ev, ObjFn&& decode_object, bool& object_first,
                  std::optional<WatchEventType> known_type = std::nullopt) {
    bool saw_type = known_type.has_value();
    if (known_type) ev.type = *known_type;
    object_first = false;
    bool saw_object = false;
    if (J::kind(v) == JsonKind::kNull) return fail("expected object, got null");
    if (!obj(v, [&](std::string_view k, V& f) {
          if (k == "type") {
            std::string_view t;
            if (!sv(f, t)) return false;
            if (t == "ADDED") {
              ev.type = WatchEventType::kAdded;
            } else if (t == "MODIFIED") {
              ev.type = WatchEventType::kModified;
            } else if (t == "DELETED") {
              ev.type = WatchEventType::kDeleted;
            } else if (t == "BOOKMARK") {
              ev.type = WatchEventType::kBookmark;
            } else if (t == "ERROR") {
              ev.type = WatchEventType::kError;
            } else {
              return fail("unknown watch event type");
            }
            saw_type = true;
            return true;
          }
          if (k == "object") {
            saw_object = true;
            if (!saw_type) {
              object_first = true;
              return true;
            }
            if (ev.type == WatchEventType::kError) return status(f, ev.status);
            return decode_object(f, ev.object);
          }
          return true;
        })) {
      return false;
    }
    if (!saw_type) return fail("watch event without type");
    if (!saw_object) return fail("watch event without object");
    if (!object_first) finishEvent(ev);
    return true;
  }

  template <class T>
  static void finishEvent(WatchEvent<T>& ev) {
    if (ev.type == WatchEventType::kError) return;
    ev.resource_version = ev.object.resource_version;
    if (ev.type == WatchEventType::kBookmark) {
      ev.object = T{};
      ev.object.resource_version = ev.resource_version;
    }
  }

 private:
  // Scratch reused across the pods of one list (allocation-light decoding).
  std::vector<ContainerStatus> spec_init_;
  std::vector<ContainerStatus> spec_main_;
  std::vector<ContainerStatus> statuses_;
};

}  // namespace rampart::k8s::detail
