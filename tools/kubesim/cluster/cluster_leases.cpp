// The kubelets' side of the Cluster: node Leases renewed while a node is
// Ready, as a live kubelet renews its Lease every 10 s.
#include <vector>

#include "cluster/cluster.h"
#include "cluster/node_leases.h"
#include "scenario/objects.h"

namespace rampart::kubesim {

bool Cluster::renewLeaseLocked(const std::string& node) {
  const Store& nodes = stores_[static_cast<size_t>(Resource::kNodes)];
  auto n = nodes.find(node);
  if (n == nodes.end()) return false;
  Store& leases = stores_[static_cast<size_t>(Resource::kLeases)];
  auto it = leases.find(keyOf(std::string(kNodeLeaseNamespace), node));
  if (it == leases.end()) {
    // The kubelet recreates a deleted Lease; a fresh uid, as a new object has.
    commit(Resource::kLeases, makeNodeLease(n->second, options_.clock_micros(), rv_), "ADDED");
    return true;
  }
  Json copy = it->second;
  renewNodeLease(copy, options_.clock_micros());
  commit(Resource::kLeases, std::move(copy), "MODIFIED");
  return true;
}

size_t Cluster::renewLeases() {
  size_t renewed = 0;
  {
    std::lock_guard lock(mu_);
    if (shutdown_) return 0;
    std::vector<const std::string*> ready;
    for (const auto& [name, node] : stores_[static_cast<size_t>(Resource::kNodes)]) {
      if (kubesim::nodeReady(node)) ready.push_back(&name);
    }
    // The whole round is retained on top of the history, so that watchers
    // (lease watchers included) do not expire on every round of a large cluster.
    history_slack_ = ready.size();
    for (const std::string* name : ready) {
      if (renewLeaseLocked(*name)) ++renewed;
    }
  }
  if (renewed > 0) cv_.notify_all();
  return renewed;
}

}  // namespace rampart::kubesim
