// Decoding of cluster dumps and API lists of every kind the resilience engine
// reads (nodes, pods, workload controllers, PDBs, HPAs, Services, Namespaces,
// PersistentVolume(Claim)s, Velero Schedules and Backups) into the model.
// Pure: bytes in, values out; never throws.
//
// Unlike the single-kind decoders of k8s_json.h, one bad item does not fail
// the document: it is skipped with a warning, so that a dump with one odd
// object still yields everything else.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "rampart/error.h"
#include "rampart/model.h"

namespace rampart::k8s {

// Everything read from a dump or from the API, in input order.
struct Objects {
  std::vector<Node> nodes;
  std::vector<Pod> pods;
  // Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob.
  std::vector<Workload> workloads;
  std::vector<PodDisruptionBudget> pdbs;
  std::vector<HorizontalPodAutoscaler> hpas;
  std::vector<Service> services;
  std::vector<NamespaceInfo> namespaces;
  std::vector<PersistentVolumeClaim> pvcs;
  std::vector<PersistentVolume> pvs;
  std::vector<VeleroSchedule> velero_schedules;
  std::vector<VeleroBackup> velero_backups;
  std::vector<NodeLease> node_leases;  // Leases of any namespace (kube-node-lease when listed live)
  bool velero_seen = false;            // the input carried a Velero kind (even an empty typed list)
  // One line per item skipped or document problem, e.g.
  // "items[3] (Pod default/web-1): spec.containers[0].name: expected string",
  // and one line per kind the engine does not use:
  // "3 items of kind ConfigMap skipped: not used by the engine".
  std::vector<std::string> warnings;
  size_t skipped = 0;    // items not decoded (unknown kind or bad item)
  bool partial = false;  // something in the input was lost (bad item, truncated document)
};

// Appends the objects of one JSON document to `out`. The document is
//  - a `v1 List` (what `kubectl get a,b,c -A -o json` prints): mixed kinds,
//    each item carries kind/apiVersion;
//  - a typed list (`DeploymentList`, `PodList`, ... as the API server returns
//    them): items without kind take it from the list kind;
//  - a single object.
// Objects are recognized by kind whatever their apiVersion, except the Velero
// kinds (Schedule, Backup), which need a velero.io/ apiVersion. Field meanings
// and defaults are those documented in rampart/model.h; the tolerance rules
// are those of k8s_json.h (docs/json-choice.md).
//
// Item-level problems (a field of the wrong type, an item without kind, an
// item that is not an object) become a warning naming the item and the field;
// the item is skipped, `skipped` counted and `partial` set. Items of kinds the
// engine does not use are skipped with one warning per kind (partial stays
// false). A document that breaks off in the middle (truncated) keeps the
// items decoded before the break, adds a warning with the byte offset, sets
// `partial` and returns success; so does trailing content after the document.
//
// Errors (kParse; `out` is then left as it was): not JSON, not an object at
// the top level, an object with neither kind nor items, a kind or items field
// of the wrong type, a single object that breaks off, a document over 4 GiB
// (simdjson's limit).
//
// Memory: the document is copied once into a padded buffer (on transparent
// huge pages when it is over 8 MiB and the kernel gives them on request); the
// parser's index takes up to ~4 bytes per input byte of address space (fewer
// pages are touched). Both are released on return. Strings without escapes
// are read from the document in place.
Result<void> decodeObjects(std::string_view json, Objects& out);

// The same, parsing the caller's string in place instead of a copy (a dump
// of 300 MB costs no second 300 MB) when its capacity has
// 1 + simdjson::SIMDJSON_PADDING (65) bytes to spare: it is padded with zeroes
// and released on return. Without that room it is copied as above and
// released before parsing. Either way `json` is moved from.
Result<void> decodeObjects(std::string&& json, Objects& out);

}  // namespace rampart::k8s
