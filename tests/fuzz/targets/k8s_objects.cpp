// k8s::decodeObjects, the decoder of lists and dumps behind the informer and
// rampartctl (k8s_objects.h): from a view (copied into a padded buffer) and
// in place (the caller's string padded). Both must agree.
#include <string>

#include "fuzz_input.h"
#include "rampart/k8s_objects.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rampart;
  const std::string_view json = fuzz::bytes(data, size);
  k8s::Objects from_view;
  auto a = k8s::decodeObjects(json, from_view);
  std::string owned;
  owned.reserve(size + 128);  // room for in-place parsing
  owned.assign(json);
  k8s::Objects in_place;
  auto b = k8s::decodeObjects(std::move(owned), in_place);
  if (a.has_value() != b.has_value()) fuzz::violated("decodeObjects: view and in-place disagree");
  if (a && (from_view.pods.size() != in_place.pods.size() ||
            from_view.nodes.size() != in_place.nodes.size() ||
            from_view.skipped != in_place.skipped || from_view.partial != in_place.partial)) {
    fuzz::violated("decodeObjects: view and in-place decode different objects");
  }
  return 0;
}
