// rampart-agent: one per node (DaemonSet). Reports host health and the node's
// pods to the aggregator(s). Options parsing and wiring only.
#include <malloc.h>

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "agent.h"
#include "health_server.h"
#include "rampart/curve.h"
#include "rampart/signals.h"

int main(int argc, char** argv) {
  using namespace rampart;
  CLI::App app{"rampart-agent: reports this node's health and pods to the Rampart aggregator"};
  const char* env_node = std::getenv("NODE_NAME");
  std::string node = env_node != nullptr ? env_node : "";
  std::string kubeconfig, kube_context, aggregator_key, key_file;
  std::vector<std::string> endpoints;
  std::string host_root = "/";
  std::vector<std::string> mounts{"/"};
  int interval_ms = 1000;
  uint32_t full_every = 30;
  uint64_t exit_after = 0;
  std::string log_format = "text", log_level = "info";
  std::string kubelet_url = "http://127.0.0.1:10248/healthz", apiserver_path = "/readyz";
  std::string probe_config;
  std::vector<std::string> probe_flags;
  int probe_interval_ms = 0;
  app.add_option("--node", node, "node name (default: $NODE_NAME)");
  app.add_option("--kubeconfig", kubeconfig, "kubeconfig file (default: in-cluster credentials)");
  app.add_option("--context", kube_context, "kubeconfig context (default: current-context)");
  app.add_option("--aggregator", endpoints,
                 "aggregator ingest endpoint, tcp://HOST:PORT (repeatable)")
      ->required();
  app.add_option("--aggregator-public-key", aggregator_key,
                 "the aggregator's CURVE public key (Z85) or a key file")
      ->required();
  app.add_option("--curve-key", key_file, "this agent's CURVE key pair file (rampartctl keygen)")
      ->required();
  app.add_option("--host-root", host_root,
                 "where the host's / is mounted (like node_exporter's --path.rootfs)");
  app.add_option("--mount", mounts, "mount point to report disk and inode use of (repeatable)");
  app.add_option("--interval-ms", interval_ms, "heartbeat and sampling interval")
      ->check(CLI::Range(10, 600000));
  app.add_option("--full-every", full_every, "send a full report every N intervals")
      ->check(CLI::Range(1u, 100000u));
  app.add_option("--exit-after-intervals", exit_after, "exit after N intervals (benchmarks)");
  app.add_option("--kubelet-healthz-url", kubelet_url,
                 "the kubelet health endpoint probed every interval (empty: not probed)");
  app.add_option("--apiserver-probe-path", apiserver_path,
                 "API server path probed from the node with the agent's credentials (empty: not "
                 "probed)");
  app.add_option("--probe-config", probe_config, "YAML file of operator HTTP and TCP probes");
  app.add_option("--probe", probe_flags,
                 "operator probe NAME=http(s)://... or NAME=tcp://HOST:PORT (repeatable)");
  app.add_option("--probe-interval-ms", probe_interval_ms,
                 "how often the probes run (default: --interval-ms)")
      ->check(CLI::Range(0, 600000));
  std::string health_listen;  // docs/agent.md, "Health endpoint"
  app.add_option("--health-listen", health_listen,
                 "serve /healthz and /readyz for the kubelet's probes on HOST:PORT (off when "
                 "empty)");
  app.add_option("--log-format", log_format, "text or json");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error");
  CLI11_PARSE(app, argc, argv);

  // Every line of an agent is about its node: the JSON lines say which.
  auto log = makeLogger("agent", log_format, log_level, nullptr, {{"node", node}});
  if (!log) {
    std::fprintf(stderr, "rampart-agent: %s\n", log.error().message.c_str());
    return 2;
  }
  auto die = [&](const std::string& what) {
    (*log)->critical("{}", what);
    return 2;
  };
  if (node.empty()) return die("no node name: set NODE_NAME or --node");
  auto creds =
      kubeconfig.empty() ? inClusterCredentials() : loadKubeconfig(kubeconfig, kube_context);
  if (!creds) return die(creds.error().message);
  auto keys = readKeyFile(key_file, true);
  if (!keys) return die(keys.error().message);
  auto server_key = resolvePublicKey(aggregator_key);
  if (!server_key) return die("--aggregator-public-key: " + server_key.error().message);

  // The agent runs on every node: one malloc arena for its few threads keeps
  // per-thread arenas from holding on to memory (measured in docs/benchmarks.md).
  mallopt(M_ARENA_MAX, 1);
  std::atomic<bool> stop{false};
  agent::Agent* running = nullptr;
  std::mutex running_mu;
  ShutdownSignals signals([&](int sig) {
    (*log)->info("signal {} received, stopping", sig);
    stop = true;
    std::lock_guard lock(running_mu);
    if (running != nullptr) running->notify();
  });

  auto probe_specs =
      agent::loadProbes(kubelet_url, *creds, apiserver_path, probe_config, probe_flags);
  if (!probe_specs) return die(probe_specs.error().message);

  zmq::context_t context(1);
  agent::HostHealthCollector health(host_root, mounts);
  agent::AgentConfig config;
  config.node_name = node;
  config.aggregator_endpoints = endpoints;
  config.aggregator_public_key = *server_key;
  config.keys = *keys;
  config.interval = std::chrono::milliseconds(interval_ms);
  config.full_every = full_every;
  config.exit_after_intervals = exit_after;

  agent::PodWatcherOptions watch_opts;
  watch_opts.node_name = node;
  std::unique_ptr<agent::Agent> the_agent;
  agent::PodWatcher watcher(*creds, watch_opts, *log, [&] {
    std::lock_guard lock(running_mu);
    if (running != nullptr) running->notify();
  });
  the_agent = std::make_unique<agent::Agent>(config, context, health, watcher, *log);
  agent::ProbeRunner probes(
      *probe_specs, std::make_unique<agent::NetProbeExecutor>(*creds),
      std::chrono::milliseconds(probe_interval_ms > 0 ? probe_interval_ms : interval_ms), *log,
      [&] {
        std::lock_guard lock(running_mu);
        if (running != nullptr) running->notify();
      });
  the_agent->setProbes(&probes);
  {
    std::lock_guard lock(running_mu);
    running = the_agent.get();
  }
  (*log)->info(
      "rampart-agent {} on node {}: API server {}, {} aggregator endpoint(s), interval {} ms",
      RAMPART_VERSION, node, creds->server, endpoints.size(), interval_ms);
  watcher.start();
  probes.start();
  std::unique_ptr<agent::HealthServer> health_server;
  if (!health_listen.empty()) {
    const int64_t started = agent::steadyMillisNow();
    auto hs = agent::HealthServer::start(
        health_listen,
        [&, started] {
          agent::HealthInputs in;
          in.now_ms = agent::steadyMillisNow();
          in.started_ms = started;
          in.interval_ms = interval_ms;
          auto st = the_agent->stats();
          in.intervals = st.intervals;
          in.last_interval_ms = st.last_interval_steady_ms;
          in.pods_synced = watcher.stats().synced;
          in.links = st.links.size();
          for (const auto& l : st.links) in.links_connected += l.needs_full ? 0 : 1;
          return in;
        },
        *log);
    if (!hs) {
      probes.stop();
      watcher.stop();
      return die(hs.error().message);
    }
    health_server = std::move(*hs);
  }
  the_agent->run(stop);
  if (health_server) health_server->stop();
  probes.stop();
  watcher.stop();
  {
    std::lock_guard lock(running_mu);
    running = nullptr;
  }
  auto st = the_agent->stats();
  (*log)->info("stopped after {} intervals: {} full reports, {} deltas, {} heartbeats",
               st.intervals, st.full_reports, st.deltas, st.heartbeats);
  the_agent.reset();
  context.shutdown();
  return 0;
}
