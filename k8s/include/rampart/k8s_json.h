// Decoding of Kubernetes API JSON (core/v1 Pod, Node, their lists, watch
// events and metav1.Status) into the model. Pure: bytes in, values out.
//
// Tolerates what real servers send: `"items": null` (kubelet with no pods),
// items without their own kind/apiVersion, unknown fields, omitted zero values.
// Returns kParse with a message naming the field for malformed input; never
// throws.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "rampart/error.h"
#include "rampart/model.h"

namespace rampart::k8s {

struct PodList {
  std::string resource_version;  // metadata.resourceVersion ("" from the kubelet)
  std::vector<Pod> items;
};

struct NodeList {
  std::string resource_version;
  std::vector<Node> items;
};

// metav1.Status, as sent in error bodies and in watch ERROR events.
struct Status {
  int code = 0;
  std::string reason;  // e.g. Expired, Gone, NotFound
  std::string message;
};

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };

template <typename T>
struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  T object;                      // valid for kAdded, kModified, kDeleted
  std::string resource_version;  // the object's (or the bookmark's) resourceVersion
  Status status;                 // valid for kError
};

Result<Pod> decodePod(std::string_view json);
Result<PodList> decodePodList(std::string_view json);
Result<WatchEvent<Pod>> decodePodWatchEvent(std::string_view line);

Result<Node> decodeNode(std::string_view json);
Result<NodeList> decodeNodeList(std::string_view json);
Result<WatchEvent<Node>> decodeNodeWatchEvent(std::string_view line);

Result<Status> decodeStatus(std::string_view json);

}  // namespace rampart::k8s
