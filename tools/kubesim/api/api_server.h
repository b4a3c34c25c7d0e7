// The HTTP face of the simulated cluster: a Kubernetes API subset (discovery,
// list, get, watch, pod delete, Tables for kubectl) plus the fault endpoints
// under /_kubesim/. Built on cpp-httplib; one thread per connection from a
// pool large enough for hundreds of concurrent watches.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "cluster/cluster.h"
#include "rampart/error.h"

namespace httplib {
class Server;
}

namespace rampart::kubesim {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;          // 0: an ephemeral port
  size_t threads = 512;  // connections served at once (each watch holds one)
  std::chrono::milliseconds bookmark_interval{10000};  // with allowWatchBookmarks
  int default_watch_timeout_seconds = 1800;
  std::shared_ptr<spdlog::logger> logger;  // null: no logging
};

class ApiServer {
 public:
  ApiServer(Cluster& cluster, ServerOptions options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds the listening socket; returns the port.
  Result<int> bind();
  // Serves until stop(); call after bind(), typically on its own thread.
  void run();
  // Ends every watch and stops serving; safe from any thread.
  void stop();
  int port() const { return port_; }
  bool running() const;

 private:
  void installRoutes();

  Cluster& cluster_;
  ServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
};

}  // namespace rampart::kubesim
