// Reads every kind the resilience engine uses from a live API server (what
// `rampartctl audit --kubeconfig` audits and the aggregator evaluates), page
// by page, into k8s::Objects.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "rampart/error.h"
#include "rampart/k8s_objects.h"
#include "rampart/kube_client.h"

namespace rampart::k8s {

// One list the reader makes. `optional` lists (Velero's CRDs) may be absent
// from the server without a warning.
struct LiveList {
  std::string path;  // e.g. /apis/apps/v1/deployments
  std::string what;  // e.g. "Deployments", for warnings
  bool optional = false;
};

// The lists readCluster makes, in order: core/v1 nodes, pods, services,
// namespaces, persistentvolumeclaims, persistentvolumes; apps/v1
// deployments, replicasets, statefulsets, daemonsets; policy/v1
// poddisruptionbudgets; autoscaling/v2 horizontalpodautoscalers; velero.io/v1
// backups, schedules.
const std::vector<LiveList>& liveLists();

// metadata.resourceVersion and metadata.continue of a list page, read without
// building the document (the API server writes metadata before items, so
// parsing stops right after it).
struct ListMeta {
  std::string resource_version;
  std::string continue_token;
};
ListMeta listMeta(std::string_view body);

struct ReadOptions {
  size_t page_size = 500;  // `limit`; every page's `continue` token is followed
  std::chrono::milliseconds request_timeout{30000};
};

// Lists every kind the engine reads and decodes them with decodeObjects.
// A kind the server does not serve (404) is skipped: silently for Velero's
// (no Velero installed: velero_seen stays false), with a warning otherwise;
// autoscaling/v2 HPAs fall back to autoscaling/v1 before that. Any other
// failure (an HTTP error, including 410 for a continue token that expired
// between pages, a page that is not JSON) returns the error, naming the path. Item-level decode
// problems are warnings in the result, as for a dump. Uses `client` from the calling thread only.
Result<Objects> readCluster(KubeClient& client, const ReadOptions& options = {});

}  // namespace rampart::k8s
