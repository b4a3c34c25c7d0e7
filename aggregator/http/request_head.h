// The request head of the aggregator's HTTP server, pure (no I/O): where the
// head ends, whether it is within the limits, and what the server needs to
// route and frame the request before any handler runs (docs/security.md,
// "HTTP"). The handlers themselves see cpp-httplib's parse of the same bytes.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "rampart/error.h"

namespace rampart::aggregator {

struct RequestHeadLimits {
  size_t max_bytes = size_t{16} * 1024;  // request line and headers, blank line included
  size_t max_headers = 64;
};

struct RequestHead {
  std::string method;
  std::string path;  // the target up to '?'
  size_t headers = 0;
  std::optional<size_t> content_length;
  bool chunked = false;     // Transfer-Encoding: chunked
  bool keep_alive = false;  // HTTP/1.1 without "Connection: close", or 1.0 with keep-alive
  size_t size = 0;          // bytes of the head, blank line included
};

// Scans the bytes received so far. nullopt while the head is incomplete and
// within max_bytes; kLimit (reason "head_too_large" or "too_many_headers")
// as soon as it cannot fit; kParse (reason "bad_request") for a request line
// or header that is not HTTP/1.x. Lines end in CRLF or a bare LF.
Result<std::optional<RequestHead>> parseRequestHead(std::string_view buffer,
                                                    const RequestHeadLimits& limits);

}  // namespace rampart::aggregator
