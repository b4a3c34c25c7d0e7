// wire::decode, the aggregator's decoder of every frame an agent sends: with
// the default limits and with tight ones (so the limit paths run too). A
// frame that decodes must encode and decode again to the same message (the
// same bytes once encoded: a NaN compares unequal to itself, its bits do not).
#include "fuzz_input.h"
#include "rampart/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rampart;
  const std::string_view frame = fuzz::bytes(data, size);
  auto decoded = wire::decode(frame);
  wire::DecodeLimits tight;
  tight.max_pods = 3;
  tight.max_findings = 3;
  tight.max_probes = 3;
  tight.max_list_items = 3;
  tight.max_text_bytes = 16;
  (void)wire::decode(frame, tight);
  if (decoded) {
    const std::string again = wire::encode(decoded->message);
    auto redecoded = wire::decode(again);
    if (!redecoded) fuzz::violated("a decoded frame, encoded again, does not decode");
    if (wire::encode(redecoded->message) != again)
      fuzz::violated("a decoded frame, encoded again, decodes to another message");
    (void)wire::messageKindName(redecoded->message);
  }
  return 0;
}
