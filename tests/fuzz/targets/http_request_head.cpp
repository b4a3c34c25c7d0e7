// The aggregator's HTTP request head parser (request_head.h), as its server
// feeds it: the bytes so far, growing. Never throws; a complete head lies
// within the bytes and the limit; growing a buffer never turns a refusal or
// a complete head into "incomplete".
#include "fuzz_input.h"
#include "http/request_head.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rampart;
  const std::string_view in = fuzz::bytes(data, size);
  const aggregator::RequestHeadLimits limits{4096, 16};
  bool decided = false;
  for (size_t n = 1; n <= in.size(); n += 1 + n / 8) {
    auto head = aggregator::parseRequestHead(in.substr(0, n), limits);
    if (!head || *head) {
      decided = true;
      if (head && ((*head)->size > n || (*head)->size > limits.max_bytes)) {
        fuzz::violated("a head longer than its bytes or the limit");
      }
    } else if (decided) {
      fuzz::violated("more bytes made a decided head incomplete");
    }
  }
  return 0;
}
