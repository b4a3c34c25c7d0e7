// The aggregator's HTTP server: cpp-httplib's routing and handlers behind a
// front of our own that a slow or greedy peer cannot starve (docs/security.md,
// "HTTP").
//
// One thread accepts connections and reads request heads for all of them
// (poll, non-blocking): a client that sends its head slowly holds a poll slot,
// not a thread, and loses it at the head deadline. Only a complete head is
// handed to a worker, and probes and scrapes (/healthz, /readyz, /metrics)
// have workers of their own, so heavy API queries cannot delay them either.
// Connections are capped in total and per peer address; at a cap the peer's
// (or anyone's) oldest connection still waiting for a head makes room, so a
// flood of idle sockets cannot lock out a new client. Each refusal is counted
// by reason through `on_refused`.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "http/request_head.h"
#include "rampart/error.h"

namespace rampart::aggregator {

struct HttpServerOptions {
  std::string host = "0.0.0.0";
  int port = 0;  // 0 = ephemeral
  RequestHeadLimits head;
  // From accept (or, on a kept-alive connection, from the first byte of the
  // next request) to the head's blank line.
  std::chrono::milliseconds head_timeout{10'000};
  // A request body must arrive, and the response leave, without a pause this
  // long; the whole exchange within io_total_timeout.
  std::chrono::milliseconds io_timeout{10'000};
  std::chrono::milliseconds io_total_timeout{60'000};
  std::chrono::milliseconds keep_alive_timeout{5'000};
  size_t max_connections = 512;
  size_t max_connections_per_peer = 32;
  size_t api_threads = 4;
  size_t probe_threads = 2;
  size_t queue_per_pool = 64;  // complete heads waiting for a worker
  std::vector<std::string> probe_paths = {"/healthz", "/readyz", "/metrics"};
};

// Reasons passed to on_refused (rampart_http_requests_refused_total):
// head_timeout, head_too_large, too_many_headers, bad_request,
// max_connections, max_connections_per_peer, busy, io_timeout.
using RefusedCounter = std::function<void(std::string_view reason)>;

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, RefusedCounter on_refused);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Register handlers here before start().
  httplib::Server& routes();

  // Binds, listens and starts the threads; returns the bound port.
  Result<int> start();
  // Stops accepting, ends every connection and joins the threads. A handler
  // running now finishes first; its response is not waited on.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace rampart::aggregator
