// The hooks file (--hooks, hook_config.h) as the aggregator parses it, its
// commands not checked against the file system; and its duration syntax.
#include "hooks/hook_config.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rampart;
  const std::string_view text = fuzz::bytes(data, size);
  (void)aggregator::parseHooksConfig(text, "/fuzz/hooks.yaml", /*check_commands=*/false);
  (void)aggregator::parseDuration(text.substr(0, 32));
  return 0;
}
