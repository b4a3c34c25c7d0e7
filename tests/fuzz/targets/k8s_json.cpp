// The Kubernetes JSON decoders of the agent (k8s_json.h): pods, nodes, their
// lists and watch events, and metav1.Status. Each gets the same bytes.
#include "rampart/k8s_json.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rampart;
  const std::string_view json = fuzz::bytes(data, size);
  (void)k8s::decodePod(json);
  (void)k8s::decodePodList(json);
  (void)k8s::decodePodWatchEvent(json);
  (void)k8s::decodeNode(json);
  (void)k8s::decodeNodeList(json);
  (void)k8s::decodeNodeWatchEvent(json);
  (void)k8s::decodeStatus(json);
  return 0;
}
