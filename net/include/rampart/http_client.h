// One HTTP/1.1 exchange over a net::Stream: the request/response loop of every
// client in the project (the Kubernetes API client, the etcd prober, the
// agent's HTTP probes, rampartctl). One request per connection
// (Connection: close); the wire format itself is http_wire.h.
//
// The answer: interim 1xx heads are skipped; the body is delimited by
// Content-Length, chunked transfer coding or the server closing the
// connection; 204, 304 and answers to HEAD have none. Every read honours the
// deadline and the stop flag; the head and a buffered body are bounded.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "rampart/error.h"
#include "rampart/http_wire.h"
#include "rampart/net_stream.h"

namespace rampart::http {

// Receives the body of a 2xx answer as it arrives (de-chunked); returning
// false stops reading, and the exchange ends successfully with
// Response::sink_stopped set.
using BodySink = std::function<bool(std::string_view)>;

struct ExchangeOptions {
  net::Clock::time_point deadline;                  // for the whole exchange
  std::chrono::milliseconds connect_timeout{5000};  // at most; the deadline still applies
  const std::atomic<bool>* stop = nullptr;          // kTimeout as soon as it becomes true
  size_t max_head = 64u << 10;                      // kProtocol past this
  size_t max_body = 64u << 20;     // a buffered body (not one given to a sink); kProtocol past this
  bool head_only = false;          // return after the final head: status only, no body read
  const BodySink* sink = nullptr;  // 2xx bodies go here instead of Response::body
};

struct Response {
  int status = 0;
  std::string body;  // the buffered body (for a sink: the body of a non-2xx answer)
  bool sink_stopped = false;
};

// Reads the answer to a request already written to `stream`. `head_request`:
// the request was HEAD (no body follows). Errors: kTimeout (deadline, stop),
// kNetwork (the connection broke or closed early), kProtocol (bad or
// oversized head, bad chunking, body over max_body).
Result<Response> readResponse(net::Stream& stream, bool head_request,
                              const ExchangeOptions& options);

// Connects to `server` (TLS through `tls` when it is https: non-null then),
// sends `request` (formatRequest's bytes) and reads the answer. Error
// messages do not name the URL: the caller knows what it asked.
Result<Response> exchange(const ServerUrl& server, const net::TlsContext* tls,
                          const Request& request, const ExchangeOptions& options);

}  // namespace rampart::http
