// Alertmanager's webhook payload as the aggregator parses it
// (parseWebhookPayload, hook_alert.h): never throws, whatever the body; the
// times it keeps are canonical (canonicalTime of one is itself).
#include "fuzz_input.h"
#include "hooks/hook_alert.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rampart;
  const std::string_view body = fuzz::bytes(data, size);
  if (body.size() > aggregator::kWebhookMaxBody) return 0;  // refused before parsing (413)
  auto payload = aggregator::parseWebhookPayload(body);
  if (payload) {
    for (const auto& alert : payload->alerts) {
      (void)alert.alertname();
      auto again = aggregator::canonicalTime(alert.starts_at);
      if (again && *again != alert.starts_at)
        fuzz::violated("startsAt kept in a non-canonical form");
    }
  }
  (void)aggregator::canonicalTime(body.substr(0, 64));
  return 0;
}
