// The kubelet's node Lease (coordination.k8s.io/v1, namespace kube-node-lease)
// in the API server's JSON shape, and its renewal. Pure functions: times are
// passed in as Unix microseconds.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "scenario/scenario.h"

namespace rampart::kubesim {

inline constexpr std::string_view kNodeLeaseNamespace = "kube-node-lease";
inline constexpr int kNodeLeaseDurationSeconds = 40;  // the kubelet's default

// RFC 3339 UTC with microseconds, as metav1.MicroTime serializes:
// "2026-11-25T01:02:03.456789Z".
std::string formatMicroTime(int64_t unix_micros);

// The Lease the kubelet of `node` creates: named after the node, holder the
// node, 40 s duration, renewTime `renew_micros`, owned by the Node (apiVersion,
// kind, name, uid; no controller flag). Its uid derives from the node's uid and
// `salt` without drawing from the scenario's generator, so adding Leases moves
// no other object's uid; creationTimestamp is the node's.
Json makeNodeLease(const Json& node, int64_t renew_micros, uint64_t salt = 0);

// The lease with spec.renewTime set to `renew_micros` (a kubelet's renewal).
void renewNodeLease(Json& lease, int64_t renew_micros);

}  // namespace rampart::kubesim
