// A finding's identity across evaluations: the same check on the same subject
// (and node, for checks raised once per node of a subject) is the same finding
// while its numbers change. The key ties the findings history, alert
// fingerprints and hook runs together; it is stored in SQLite, so its format is
// frozen (docs/storage.md).
#pragma once

#include <string>

#include "rampart/engine.h"
#include "rampart/log.h"

namespace rampart::engine {

// "check|Kind|namespace|name|node", e.g.
// "placement.colocated-replicas|Deployment|shop|web|n1" or "node.down|Node||n3|n3".
std::string findingKey(const Finding& finding);

// The structured log fields of a finding (docs/logging.md): finding (the key),
// check, severity, namespace, workload ("Kind/name"), node, zone; empty ones
// left out.
LogFields findingLogFields(const Finding& finding);
// The same from a key alone (finding, check, namespace, node; the subject as
// workload when it is not a Node or Pod).
LogFields findingKeyLogFields(std::string_view key);

}  // namespace rampart::engine
