#include "rampart/engine_input.h"

namespace rampart::engine {

Snapshot snapshotOf(k8s::Objects objects, int64_t now_unix) {
  Snapshot s;
  s.now_unix = now_unix;
  s.nodes = std::move(objects.nodes);
  s.pods = std::move(objects.pods);
  s.workloads = std::move(objects.workloads);
  s.pdbs = std::move(objects.pdbs);
  s.hpas = std::move(objects.hpas);
  s.services = std::move(objects.services);
  s.namespaces = std::move(objects.namespaces);
  s.pvcs = std::move(objects.pvcs);
  s.pvs = std::move(objects.pvs);
  s.velero_schedules = std::move(objects.velero_schedules);
  s.velero_backups = std::move(objects.velero_backups);
  s.node_leases = std::move(objects.node_leases);
  s.velero_seen = objects.velero_seen;
  s.partial = objects.partial;
  s.input_warnings = std::move(objects.warnings);
  return s;
}

}  // namespace rampart::engine
