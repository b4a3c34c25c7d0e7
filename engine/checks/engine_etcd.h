// Internal to the engine: the live etcd and API-server checks on
// Snapshot::etcd, the aggregator prober's observation (docs/etcd.md).
#pragma once

#include <vector>

#include "engine_index.h"

namespace rampart::engine {

// etcd.member-down, etcd.no-leader, etcd.quorum-at-risk, etcd.even-members,
// etcd.leader-flapping, etcd.snapshot-stale, controlplane.apiserver-unhealthy
// (engine_etcd.cpp). Nothing without an observation. Points unset.
void checkEtcdObserved(const Index& index, std::vector<Finding>& out);

}  // namespace rampart::engine
