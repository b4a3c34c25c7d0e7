// Internal to buildInitialObjects: the initial objects besides nodes,
// controllers, pods and PDBs. Each appends to `out` and draws identifiers
// from `ids` in a fixed order; `created` is the creation time of the last
// object made so far (Unix seconds).
#pragma once

#include <string>

#include "scenario/objects.h"

namespace rampart::kubesim {

// TEMPLATE-STATEFULSET-ORDINAL, as the StatefulSet controller names claims.
std::string claimName(const std::string& claim_template, const std::string& statefulset,
                      int ordinal);

// The scenario's Services and default/kubernetes (unless the scenario has one).
void addServices(const Scenario& s, int64_t created, IdGenerator& ids, InitialObjects& out);
// A claim per StatefulSet pod and volumeClaimTemplate; a scheduled pod's claim
// is Bound to a dynamically provisioned PersistentVolume whose node affinity
// pins the zone of the pod's node (WaitForFirstConsumer binding).
void addClaims(const Scenario& s, IdGenerator& ids, InitialObjects& out);
void addHpas(const Scenario& s, int64_t created, IdGenerator& ids, InitialObjects& out);
// Schedules and backups; timestamps count back from the settled state
// (epoch + 10 minutes).
void addVelero(const Scenario& s, IdGenerator& ids, InitialObjects& out);

}  // namespace rampart::kubesim
