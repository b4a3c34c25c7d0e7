// An HTTP/1.1 response as the client reads it (http_client.cpp's order):
// heads up to the blank line (interim 1xx ones skipped) through
// parseResponseHead, then a chunked body through ChunkedDecoder, fed in small
// pieces as from a network and, again, at once: both must give the same bytes
// and the same verdict.
#include <string>

#include "fuzz_input.h"
#include "rampart/http_wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rampart;
  std::string_view rest = fuzz::bytes(data, size);
  http::ResponseHead head;
  for (;;) {
    auto end = http::findHeadEnd(rest);
    if (!end) {
      (void)http::parseResponseHead(rest);  // what a truncated head holds
      return 0;
    }
    auto parsed = http::parseResponseHead(rest.substr(0, end->first));
    if (!parsed) return 0;
    if (parsed->status < 100 || parsed->status > 999) fuzz::violated("status out of range");
    rest.remove_prefix(end->first + end->second);
    if (parsed->status >= 200) {
      head = *parsed;
      break;
    }
  }
  if (head.chunked && head.content_length) fuzz::violated("chunked with a Content-Length");

  http::ChunkedDecoder pieces;
  std::string from_pieces;
  bool pieces_ok = true;
  std::string_view body = rest;
  for (size_t i = 0; !body.empty() && !pieces.done(); ++i) {
    const size_t n = std::min(body.size(), fuzz::pieceLength(i));
    if (!pieces.feed(body.substr(0, n), from_pieces)) {
      pieces_ok = false;
      break;
    }
    body.remove_prefix(n);
  }
  http::ChunkedDecoder whole;
  std::string from_whole;
  const bool whole_ok = whole.feed(rest, from_whole).has_value();
  if (pieces_ok != whole_ok) fuzz::violated("ChunkedDecoder: pieces and whole disagree on errors");
  if (whole_ok && (from_pieces != from_whole || pieces.done() != whole.done()))
    fuzz::violated("ChunkedDecoder: pieces and whole decode different bodies");
  if (from_whole.size() > rest.size()) fuzz::violated("ChunkedDecoder: more out than in");
  return 0;
}
