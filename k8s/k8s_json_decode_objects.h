// Field logic for every kind the resilience engine reads from a dump
// (rampart/k8s_objects.h): workloads, PDBs, HPAs, Services, Namespaces,
// PersistentVolume(Claim)s and Velero objects, next to the Pod and Node
// logic it reuses from Decoder (k8s_json_decode.h). Backend-generic like
// Decoder, with the same tolerance rules: null is absent, unknown fields are
// ignored, a field read with the wrong JSON type is an error naming its path.
//
// One object is decoded field by field so that a caller that owns the field
// loop (the document root, which may be the object itself) can drive it:
// begin(), field() for each top-level field, end(); abandon() after a failed
// field(). object() does all of that for a value.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "k8s_json_decode.h"
#include "rampart/k8s_objects.h"

namespace rampart::k8s::detail {

// What an object decodes into; kUnknown is skipped.
enum class ObjectKind : uint8_t {
  kUnknown,
  kNode,
  kPod,
  kWorkload,
  kPdb,
  kHpa,
  kService,
  kNamespace,
  kPvc,
  kPv,
  kVeleroSchedule,
  kVeleroBackup,
  kLease,  // coordination.k8s.io Lease (node heartbeats)
};

// Matches on kind; the Velero kinds also need a velero.io/ apiVersion.
inline ObjectKind classifyKind(std::string_view kind, std::string_view api_version) {
  if (kind == "Pod") return ObjectKind::kPod;
  if (kind == "Node") return ObjectKind::kNode;
  if (kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" ||
      kind == "ReplicaSet" || kind == "ReplicationController" || kind == "Job" ||
      kind == "CronJob") {
    return ObjectKind::kWorkload;
  }
  if (kind == "PodDisruptionBudget") return ObjectKind::kPdb;
  if (kind == "HorizontalPodAutoscaler") return ObjectKind::kHpa;
  if (kind == "Service") return ObjectKind::kService;
  if (kind == "Namespace") return ObjectKind::kNamespace;
  if (kind == "PersistentVolumeClaim") return ObjectKind::kPvc;
  if (kind == "PersistentVolume") return ObjectKind::kPv;
  if (kind == "Lease" && api_version.starts_with("coordination.k8s.io/")) return ObjectKind::kLease;
  if (api_version.starts_with("velero.io/")) {
    if (kind == "Schedule") return ObjectKind::kVeleroSchedule;
    if (kind == "Backup") return ObjectKind::kVeleroBackup;
  }
  return ObjectKind::kUnknown;
}

inline bool isVelero(ObjectKind k) {
  return k == ObjectKind::kVeleroSchedule || k == ObjectKind::kVeleroBackup;
}

// "50%" -> 50. Digits then '%', nothing else (what PDB validation accepts).
inline bool parsePercent(std::string_view s, int32_t& out) {
  if (s.size() < 2 || s.size() > 11 || s.back() != '%') return false;
  int64_t v = 0;
  for (char c : s.substr(0, s.size() - 1)) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v > std::numeric_limits<int32_t>::max()) return false;
  out = static_cast<int32_t>(v);
  return true;
}

template <class J>
class ObjectDecoder : public Decoder<J> {
  using Base = Decoder<J>;

 public:
  using V = typename J::Value;

  enum class Outcome {
    kDecoded,
    kUnknownKind,  // skipped whole; kindName()/apiVersion() say what it was
    kNoKind,       // a field that needs the kind came first, or there is none
    kFailed,       // describe() says why; the partial value was removed
  };

  // Starts an object whose kind and apiVersion default to the given ones (a
  // typed list's item kind; empty otherwise). Clears the last error.
  void begin(std::string_view default_kind, std::string_view default_api_version) {
    this->error.clear();
    this->path.clear();
    kind_.assign(default_kind);
    api_version_.assign(default_api_version);
    type_ = ObjectKind::kUnknown;
    started_ = false;
    no_kind_ = false;
  }

  // One top-level field. False when it failed (describe(); the caller
  // prefixes the key if it owns the loop) or when the kind is not known yet
  // (noKind()); call abandon() then.
  bool field(std::string_view key, V& f, Objects& out) {
    if (!started_) {
      // null is absent: a typed list's default stays.
      if (key == "kind") return !this->present(f) || this->str(f, kind_);
      if (key == "apiVersion") return !this->present(f) || this->str(f, api_version_);
      if (key != "metadata" && key != "spec" && key != "status") return true;
      if (!start(out)) return false;
    }
    switch (type_) {
      case ObjectKind::kUnknown:
        return true;
      case ObjectKind::kNode:
        return this->nodeField(key, f, out.nodes.back());
      case ObjectKind::kPod:
        return this->podField(key, f, out.pods.back());
      case ObjectKind::kWorkload:
        return workloadField(key, f, out.workloads.back());
      case ObjectKind::kPdb:
        return pdbField(key, f, out.pdbs.back());
      case ObjectKind::kHpa:
        return hpaField(key, f, out.hpas.back());
      case ObjectKind::kService:
        return serviceField(key, f, out.services.back());
      case ObjectKind::kNamespace:
        return namespaceField(key, f, out.namespaces.back());
      case ObjectKind::kPvc:
        return pvcField(key, f, out.pvcs.back());
      case ObjectKind::kPv:
        return pvField(key, f, out.pvs.back());
      case ObjectKind::kVeleroSchedule:
        return scheduleField(key, f, out.velero_schedules.back());
      case ObjectKind::kVeleroBackup:
        return backupField(key, f, out.velero_backups.back());
      case ObjectKind::kLease:
        return leaseField(key, f, out.node_leases.back());
    }
    return true;
  }

  // After the last field.
  Outcome end(Objects& out) {
    if (!started_ && !start(out)) return Outcome::kNoKind;
    switch (type_) {
      case ObjectKind::kUnknown:
        return Outcome::kUnknownKind;
      case ObjectKind::kNode:
        Base::finishNode(out.nodes.back());
        break;
      case ObjectKind::kPod:
        this->finishPod(out.pods.back());
        break;
      case ObjectKind::kWorkload: {
        auto& owners = out.workloads.back().owners;
        std::stable_partition(owners.begin(), owners.end(),
                              [](const OwnerRef& o) { return o.controller; });
        break;
      }
      case ObjectKind::kService:
        if (out.services.back().type.empty()) out.services.back().type = "ClusterIP";
        break;
      default:
        break;
    }
    return Outcome::kDecoded;
  }

  // Removes what a failed object left in `out`.
  void abandon(Objects& out) {
    if (!started_) return;
    switch (type_) {
      case ObjectKind::kUnknown:
        break;
      case ObjectKind::kNode:
        out.nodes.pop_back();
        break;
      case ObjectKind::kPod:
        out.pods.pop_back();
        break;
      case ObjectKind::kWorkload:
        out.workloads.pop_back();
        break;
      case ObjectKind::kPdb:
        out.pdbs.pop_back();
        break;
      case ObjectKind::kHpa:
        out.hpas.pop_back();
        break;
      case ObjectKind::kService:
        out.services.pop_back();
        break;
      case ObjectKind::kNamespace:
        out.namespaces.pop_back();
        break;
      case ObjectKind::kPvc:
        out.pvcs.pop_back();
        break;
      case ObjectKind::kPv:
        out.pvs.pop_back();
        break;
      case ObjectKind::kVeleroSchedule:
        out.velero_schedules.pop_back();
        break;
      case ObjectKind::kVeleroBackup:
        out.velero_backups.pop_back();
        break;
      case ObjectKind::kLease:
        out.node_leases.pop_back();
        break;
    }
    started_ = false;
  }

  // Decodes a whole object value.
  Outcome object(V& v, std::string_view default_kind, std::string_view default_api_version,
                 Objects& out) {
    begin(default_kind, default_api_version);
    if (J::kind(v) == JsonKind::kNull) {
      this->fail("expected object, got null");
      return Outcome::kFailed;
    }
    if (!this->obj(v, [&](std::string_view key, V& f) { return field(key, f, out); })) {
      if (no_kind_) {
        abandon(out);
        return Outcome::kNoKind;
      }
      what_ = identity(out);
      abandon(out);
      return Outcome::kFailed;
    }
    Outcome o = end(out);
    what_ = identity(out);
    return o;
  }

  // Where the object begun next starts, in a document of `total` bytes. With
  // it, start() reserves room for the rest of a kind in one step instead of
  // doubling (each doubling moves every element and touches fresh memory):
  // kubectl prints the items of one kind together, so the bytes the kind took
  // so far tell how many more of it the rest of the document can hold.
  void at(size_t offset, size_t total) {
    offset_ = offset;
    total_ = total;
  }

  bool noKind() const { return no_kind_; }
  ObjectKind type() const { return type_; }
  const std::string& kindName() const { return kind_; }
  const std::string& apiVersion() const { return api_version_; }

  // "Pod default/web-1" for the object begun last, as far as it was read.
  // object() keeps it in described() before removing a failed value.
  std::string identity(const Objects& out) const {
    std::string s = kind_.empty() ? std::string("object without kind") : kind_;
    if (!started_) return s;
    auto name = [&](const std::string& ns, const std::string& n) {
      if (ns.empty() && n.empty()) return;
      s += ' ';
      if (!ns.empty()) s += ns + "/";
      s += n;
    };
    static const std::string kNone;
    switch (type_) {
      case ObjectKind::kUnknown:
        if (!api_version_.empty()) s += " " + api_version_;
        break;
      case ObjectKind::kNode:
        name(kNone, out.nodes.back().name);
        break;
      case ObjectKind::kPod:
        name(out.pods.back().namespace_, out.pods.back().name);
        break;
      case ObjectKind::kWorkload:
        name(out.workloads.back().namespace_, out.workloads.back().name);
        break;
      case ObjectKind::kPdb:
        name(out.pdbs.back().namespace_, out.pdbs.back().name);
        break;
      case ObjectKind::kHpa:
        name(out.hpas.back().namespace_, out.hpas.back().name);
        break;
      case ObjectKind::kService:
        name(out.services.back().namespace_, out.services.back().name);
        break;
      case ObjectKind::kNamespace:
        name(kNone, out.namespaces.back().name);
        break;
      case ObjectKind::kPvc:
        name(out.pvcs.back().namespace_, out.pvcs.back().name);
        break;
      case ObjectKind::kPv:
        name(kNone, out.pvs.back().name);
        break;
      case ObjectKind::kVeleroSchedule:
        name(out.velero_schedules.back().namespace_, out.velero_schedules.back().name);
        break;
      case ObjectKind::kVeleroBackup:
        name(out.velero_backups.back().namespace_, out.velero_backups.back().name);
        break;
      case ObjectKind::kLease:
        name(out.node_leases.back().namespace_, out.node_leases.back().name);
        break;
    }
    return s;
  }
  // identity() of the last object() call, taken before a failed value was removed.
  const std::string& described() const { return what_; }

 private:
  bool start(Objects& out) {
    if (kind_.empty()) {
      no_kind_ = true;
      return false;
    }
    started_ = true;
    type_ = classifyKind(kind_, api_version_);
    switch (type_) {
      case ObjectKind::kUnknown:
        break;
      case ObjectKind::kNode:
        room(out.nodes).emplace_back();
        break;
      case ObjectKind::kPod:
        room(out.pods).emplace_back();
        this->beginPod();
        break;
      case ObjectKind::kWorkload: {
        Workload& w = room(out.workloads).emplace_back();
        w.kind = kind_;
        // A DaemonSet has no spec.replicas: until its status says how many
        // nodes it targets, it targets none.
        if (kind_ == "DaemonSet") w.replicas = 0;
        break;
      }
      case ObjectKind::kPdb:
        room(out.pdbs).emplace_back();
        break;
      case ObjectKind::kHpa:
        room(out.hpas).emplace_back();
        break;
      case ObjectKind::kService:
        room(out.services).emplace_back();
        break;
      case ObjectKind::kNamespace:
        room(out.namespaces).emplace_back();
        break;
      case ObjectKind::kPvc:
        room(out.pvcs).emplace_back();
        break;
      case ObjectKind::kPv:
        room(out.pvs).emplace_back();
        break;
      case ObjectKind::kVeleroSchedule:
        room(out.velero_schedules).emplace_back();
        break;
      case ObjectKind::kVeleroBackup:
        room(out.velero_backups).emplace_back();
        break;
      case ObjectKind::kLease:
        room(out.node_leases).emplace_back();
        break;
    }
    return true;
  }

  // `v` about to take one more object of type_ (see at()).
  template <class T>
  std::vector<T>& room(std::vector<T>& v) {
    const auto k = static_cast<size_t>(type_);
    if (seen_[k]++ == 0) first_at_[k] = offset_;
    if (v.size() < v.capacity() || offset_ >= total_) return v;
    // Too few to project from: the usual doubling.
    const size_t n = seen_[k] - 1;
    if (n < 32 || offset_ <= first_at_[k]) return v;
    const size_t per_item = (offset_ - first_at_[k]) / n;
    const size_t more = (total_ - offset_) / std::max<size_t>(per_item, 1) + 1;
    if (more > v.size()) v.reserve(v.size() + more + more / 16);
    return v;
  }

  // ---- shared pieces ------------------------------------------------------

  // metadata.namespace / metadata.name, and `more(key, value)` for the rest.
  template <class More>
  bool meta(V& v, std::string* ns, std::string& name, More&& more) {
    return this->obj(v, [&](std::string_view k, V& f) {
      if (k == "name") return this->str(f, name);
      if (k == "namespace" && ns != nullptr) return this->str(f, *ns);
      return more(k, f);
    });
  }
  bool meta(V& v, std::string* ns, std::string& name) {
    return meta(v, ns, name, [](std::string_view, V&) { return true; });
  }

  // The value of one key of a string map (labels, annotations).
  bool mapValue(V& v, std::string_view key, std::string& out) {
    return this->obj(v, [&](std::string_view k, V& f) {
      if (k != key) return true;
      return this->str(f, out);
    });
  }

  // The entries of a string map whose key starts with `prefix`.
  bool prefixedMap(V& v, std::string_view prefix, Labels& out) {
    return this->obj(v, [&](std::string_view k, V& f) {
      if (!k.starts_with(prefix)) return true;
      std::string_view val;
      if (!this->sv(f, val)) return false;
      out.insert_or_assign(std::string(k), std::string(val));
      return true;
    });
  }

  // intstr.IntOrString: 2 or "50%".
  bool intOrPercent(V& v, std::optional<IntOrPercent>& out) {
    JsonKind k = J::kind(v);
    if (k == JsonKind::kNull) return true;
    IntOrPercent& x = out.emplace();
    if (k == JsonKind::kString) {
      std::string_view s;
      if (!this->sv(v, s)) return false;
      if (!parsePercent(s, x.value)) return this->fail("expected a percentage such as \"50%\"");
      x.percent = true;
      return true;
    }
    if (k != JsonKind::kNumber && k != JsonKind::kError) {
      return this->fail("expected integer or percentage string");
    }
    return this->i32(v, x.value);
  }

  // ---- workloads ------------------------------------------------------------

  // spec.template (a PodTemplateSpec): its labels and scheduling fields.
  bool podTemplate(V& v, Workload& w) {
    return this->obj(v, [&](std::string_view k, V& f) {
      if (k == "metadata") {
        return this->obj(f, [&](std::string_view k2, V& f2) {
          if (k2 == "labels") return this->strMap(f2, w.template_labels);
          return true;
        });
      }
      if (k == "spec") {
        return this->obj(f, [&](std::string_view k2, V& f2) {
          bool handled = false;
          return this->schedulingField(k2, f2, w.template_placement, w.template_pvc_names, handled);
        });
      }
      return true;
    });
  }

  bool workloadSpec(V& v, Workload& w) {
    const std::string& kind = w.kind;
    return this->obj(v, [&](std::string_view k, V& f) {
      if (k == "selector") {
        if (kind == "CronJob") return true;
        if (kind != "ReplicationController") return this->labelSelector(f, w.selector);
        // A ReplicationController's selector is a plain map.
        if (!this->present(f)) return true;
        return this->strMap(f, w.selector.emplace().match_labels);
      }
      if (k == "replicas") {
        if (kind == "DaemonSet" || kind == "Job" || kind == "CronJob") return true;
        return this->i32(f, w.replicas);
      }
      if (k == "parallelism" && kind == "Job") return this->i32(f, w.replicas);
      if (k == "template" && kind != "CronJob") return podTemplate(f, w);
      if (k == "volumeClaimTemplates" && kind == "StatefulSet") {
        return this->arr(f, [&](V& ev) {
          return this->obj(ev, [&](std::string_view k2, V& f2) {
            if (k2 != "metadata") return true;
            return this->obj(f2, [&](std::string_view k3, V& f3) {
              if (k3 != "name") return true;
              return this->str(f3, w.volume_claim_templates.emplace_back());
            });
          });
        });
      }
      if (k == "jobTemplate" && kind == "CronJob") {
        return this->obj(f, [&](std::string_view k2, V& f2) {
          if (k2 != "spec") return true;
          return this->obj(f2, [&](std::string_view k3, V& f3) {
            if (k3 == "parallelism") return this->i32(f3, w.replicas);
            if (k3 == "template") return podTemplate(f3, w);
            return true;
          });
        });
      }
      return true;
    });
  }

  bool workloadStatus(V& v, Workload& w) {
    const bool daemon_set = w.kind == "DaemonSet";
    const bool job = w.kind == "Job";
    return this->obj(v, [&](std::string_view k, V& f) {
      if (daemon_set) {
        if (k == "desiredNumberScheduled") return this->i32(f, w.replicas);
        if (k == "numberReady") return this->i32(f, w.ready_replicas);
        if (k == "numberAvailable") return this->i32(f, w.available_replicas);
        return true;
      }
      if (job) {
        if (k == "ready") return this->i32(f, w.ready_replicas);
        return true;
      }
      if (k == "readyReplicas") return this->i32(f, w.ready_replicas);
      if (k == "availableReplicas") return this->i32(f, w.available_replicas);
      return true;
    });
  }

  bool workloadField(std::string_view key, V& f, Workload& w) {
    if (key == "metadata") {
      return meta(f, &w.namespace_, w.name, [&](std::string_view k, V& f2) {
        if (k == "uid") return this->str(f2, w.uid);
        if (k == "labels") return this->strMap(f2, w.labels);
        if (k == "annotations") return prefixedMap(f2, "rampart.io/", w.annotations);
        if (k == "ownerReferences") {
          return this->arr(f2, [&](V& ev) { return this->ownerRef(ev, w.owners.emplace_back()); });
        }
        return true;
      });
    }
    if (key == "spec") return workloadSpec(f, w);
    if (key == "status") return workloadStatus(f, w);
    return true;
  }

  // ---- policy, autoscaling, services, namespaces, storage -----------------

  bool pdbField(std::string_view key, V& f, PodDisruptionBudget& p) {
    if (key == "metadata") return meta(f, &p.namespace_, p.name);
    if (key == "spec") {
      return this->obj(f, [&](std::string_view k, V& f2) {
        if (k == "selector") return this->labelSelector(f2, p.selector);
        if (k == "minAvailable") return intOrPercent(f2, p.min_available);
        if (k == "maxUnavailable") return intOrPercent(f2, p.max_unavailable);
        return true;
      });
    }
    if (key == "status") {
      if (!this->present(f)) return true;
      p.has_status = true;
      return this->obj(f, [&](std::string_view k, V& f2) {
        if (k == "currentHealthy") return this->i32(f2, p.current_healthy);
        if (k == "desiredHealthy") return this->i32(f2, p.desired_healthy);
        if (k == "disruptionsAllowed") return this->i32(f2, p.disruptions_allowed);
        if (k == "expectedPods") return this->i32(f2, p.expected_pods);
        return true;
      });
    }
    return true;
  }

  bool hpaField(std::string_view key, V& f, HorizontalPodAutoscaler& h) {
    if (key == "metadata") return meta(f, &h.namespace_, h.name);
    if (key != "spec") return true;
    return this->obj(f, [&](std::string_view k, V& f2) {
      if (k == "scaleTargetRef") {
        return this->obj(f2, [&](std::string_view k2, V& f3) {
          if (k2 == "kind") return this->str(f3, h.target_kind);
          if (k2 == "name") return this->str(f3, h.target_name);
          return true;
        });
      }
      if (k == "minReplicas") return this->i32(f2, h.min_replicas);
      if (k == "maxReplicas") return this->i32(f2, h.max_replicas);
      return true;
    });
  }

  bool serviceField(std::string_view key, V& f, Service& s) {
    if (key == "metadata") return meta(f, &s.namespace_, s.name);
    if (key != "spec") return true;
    return this->obj(f, [&](std::string_view k, V& f2) {
      if (k == "type") return this->str(f2, s.type);
      if (k == "selector") return this->strMap(f2, s.selector);
      return true;
    });
  }

  bool namespaceField(std::string_view key, V& f, NamespaceInfo& n) {
    if (key != "metadata") return true;
    return meta(f, nullptr, n.name, [&](std::string_view k, V& f2) {
      if (k == "labels") return this->strMap(f2, n.labels);
      return true;
    });
  }

  bool pvcField(std::string_view key, V& f, PersistentVolumeClaim& c) {
    if (key == "metadata") {
      return meta(f, &c.namespace_, c.name, [&](std::string_view k, V& f2) {
        if (k == "annotations") {
          return mapValue(f2, "volume.kubernetes.io/selected-node", c.selected_node);
        }
        return true;
      });
    }
    if (key == "spec") {
      return this->obj(f, [&](std::string_view k, V& f2) {
        if (k == "volumeName") return this->str(f2, c.volume_name);
        if (k == "storageClassName") return this->str(f2, c.storage_class);
        return true;
      });
    }
    if (key == "status") {
      return this->obj(f, [&](std::string_view k, V& f2) {
        if (k == "phase") return this->str(f2, c.phase);
        return true;
      });
    }
    return true;
  }

  bool pvField(std::string_view key, V& f, PersistentVolume& p) {
    if (key == "metadata") {
      return meta(f, nullptr, p.name, [&](std::string_view k, V& f2) {
        if (k == "labels") return this->strMap(f2, p.labels);
        return true;
      });
    }
    if (key != "spec") return true;
    return this->obj(f, [&](std::string_view k, V& f2) {
      if (k == "claimRef") {
        return this->obj(f2, [&](std::string_view k2, V& f3) {
          if (k2 == "namespace") return this->str(f3, p.claim_namespace);
          if (k2 == "name") return this->str(f3, p.claim_name);
          return true;
        });
      }
      if (k == "storageClassName") return this->str(f2, p.storage_class);
      if (k == "nodeAffinity") {
        return this->obj(f2, [&](std::string_view k2, V& f3) {
          if (k2 != "required") return true;
          return this->obj(f3, [&](std::string_view k3, V& f4) {
            if (k3 != "nodeSelectorTerms") return true;
            return this->arr(f4, [&](V& t) {
              return this->nodeSelectorTerm(t, p.node_affinity.emplace_back());
            });
          });
        });
      }
      return true;
    });
  }

  // ---- Velero ---------------------------------------------------------------

  // includedNamespaces / excludedNamespaces / labelSelector of a backup spec
  // (a Backup's spec, a Schedule's spec.template). Sets `handled`.
  template <class T>
  bool backupScope(std::string_view k, V& f, T& out, bool& handled) {
    handled = true;
    if (k == "includedNamespaces") return this->strList(f, out.included_namespaces);
    if (k == "excludedNamespaces") return this->strList(f, out.excluded_namespaces);
    if (k == "labelSelector") return this->labelSelector(f, out.label_selector);
    handled = false;
    return true;
  }

  bool scheduleField(std::string_view key, V& f, VeleroSchedule& s) {
    if (key == "metadata") return meta(f, &s.namespace_, s.name);
    if (key == "spec") {
      return this->obj(f, [&](std::string_view k, V& f2) {
        if (k == "schedule") return this->str(f2, s.cron);
        if (k == "paused") return this->boolean(f2, s.paused);
        if (k == "template") {
          return this->obj(f2, [&](std::string_view k2, V& f3) {
            bool handled = false;
            return backupScope(k2, f3, s, handled);
          });
        }
        return true;
      });
    }
    if (key == "status") {
      return this->obj(f, [&](std::string_view k, V& f2) {
        if (k == "lastBackup") return this->timestamp(f2, s.last_backup_unix);
        if (k == "phase") return this->str(f2, s.phase);
        return true;
      });
    }
    return true;
  }

  bool backupField(std::string_view key, V& f, VeleroBackup& b) {
    if (key == "metadata") {
      return meta(f, &b.namespace_, b.name, [&](std::string_view k, V& f2) {
        if (k == "labels") return mapValue(f2, "velero.io/schedule-name", b.schedule_name);
        return true;
      });
    }
    if (key == "spec") {
      return this->obj(f, [&](std::string_view k, V& f2) {
        bool handled = false;
        return backupScope(k, f2, b, handled);
      });
    }
    if (key == "status") {
      return this->obj(f, [&](std::string_view k, V& f2) {
        if (k == "phase") return this->str(f2, b.phase);
        if (k == "startTimestamp") return this->timestamp(f2, b.start_unix);
        if (k == "completionTimestamp") return this->timestamp(f2, b.completion_unix);
        if (k == "expiration") return this->timestamp(f2, b.expiration_unix);
        return true;
      });
    }
    return true;
  }

  // ---- Lease ----------------------------------------------------------------

  bool leaseField(std::string_view key, V& f, NodeLease& l) {
    if (key == "metadata") return meta(f, &l.namespace_, l.name);
    if (key == "spec") {
      return this->obj(f, [&](std::string_view k, V& f2) {
        if (k == "holderIdentity") return this->str(f2, l.holder);
        if (k == "leaseDurationSeconds") return this->i32(f2, l.duration_seconds);
        if (k == "renewTime") return this->timestamp(f2, l.renew_unix);
        return true;
      });
    }
    return true;
  }

  static constexpr size_t kKinds = static_cast<size_t>(ObjectKind::kLease) + 1;

  std::string kind_;
  std::string api_version_;
  std::string what_;
  size_t offset_ = 0;  // at()
  size_t total_ = 0;
  size_t seen_[kKinds] = {};      // objects begun, by type
  size_t first_at_[kKinds] = {};  // offset of the first
  ObjectKind type_ = ObjectKind::kUnknown;
  bool started_ = false;
  bool no_kind_ = false;
};

// How decodeObjects() decodes list items (docs/json-choice.md, "Dumps of many
// kinds"). Both give the same Objects for any input.
enum class ItemRecovery {
  // Straight from the document's iterator; after the first failed item, the
  // document is parsed again and the rest decoded as with kSpans.
  kDirectThenSpans,
  // Each item's bytes cut out with raw_json() and parsed on their own.
  kSpans,
};

// rampart::k8s::decodeObjects() with a choice of recovery (k8s_json_objects.cpp).
Result<void> decodeObjects(std::string_view json, Objects& out, ItemRecovery mode);
Result<void> decodeObjects(std::string&& json, Objects& out, ItemRecovery mode);

}  // namespace rampart::k8s::detail
