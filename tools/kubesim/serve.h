// `kubesim serve`: load a scenario, build the cluster and serve it over the
// Kubernetes API until SIGTERM/SIGINT (docs/kubesim.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace rampart::kubesim {

struct ServeFlags {
  std::string scenario;
  std::optional<uint64_t> seed;
  std::string epoch;  // "", "now" or RFC 3339
  std::string listen = "127.0.0.1:0";
  std::string ready_file;
  size_t history = 1000;
  size_t threads = 512;
  int bookmark_ms = 10000;
  int lease_renew_ms = 10000;  // 0: node Leases are never renewed
  bool verbose = false;
};

// The process exit code: 0 after a signal, 1 when the port cannot be bound or
// the ready file written, 2 for a bad scenario or flag.
int serve(const ServeFlags& flags);

}  // namespace rampart::kubesim
