// The agent process (docs/agent.md): its options, and the run that wires the
// pod watcher, host health, probes, the health endpoint and the report loop
// together until a signal. main.cpp parses the command line into AppOptions
// and calls runAgent.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace rampart::agent {

class Agent;

struct AppOptions {
  std::string node;  // default $NODE_NAME
  std::string kubeconfig, kube_context;
  std::vector<std::string> aggregator_endpoints;  // tcp://HOST:PORT
  std::string aggregator_key, key_file;
  std::string host_root = "/";
  std::vector<std::string> mounts{"/"};
  int interval_ms = 1000;
  uint32_t full_every = 30;
  uint64_t exit_after = 0;
  std::string kubelet_url = "http://127.0.0.1:10248/healthz";
  std::string apiserver_path = "/readyz";
  std::string probe_config;
  std::vector<std::string> probe_flags;
  int probe_interval_ms = 0;  // 0: interval_ms
  std::string health_listen;  // docs/agent.md, "Health endpoint"; off when empty
  std::string log_format = "text", log_level = "info";
};

// Declares every flag on `app`, writing into `options`.
void addAppOptions(CLI::App& app, AppOptions& options);

// Runs the agent until SIGTERM/SIGINT (or --exit-after-intervals). The
// process exit code: 0 after a clean stop, 2 when the options or the
// environment do not allow a start (one log line says why).
int runAgent(AppOptions options);

// Wakes the running agent from other threads (the signal handler, the pod
// watcher, the probe runner): each holds this one object instead of a pointer,
// a mutex and a lambda of its own. Before attach and after detach, wake() does
// nothing.
class AgentWaker {
 public:
  void attach(Agent* agent);
  void detach();
  void wake();

 private:
  std::mutex mu_;
  Agent* agent_ = nullptr;
};

}  // namespace rampart::agent
