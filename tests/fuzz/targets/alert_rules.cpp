// The alert rules YAML (--alert-rules, alert_rules.h) as the aggregator
// parses it.
#include "alerts/alert_rules.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rampart;
  (void)aggregator::parseAlertRules(fuzz::bytes(data, size), "fuzz.yaml");
  return 0;
}
