#include "app.h"

#include <malloc.h>

#include <cstdlib>

#include "agent.h"
#include "health_server.h"
#include "rampart/curve.h"
#include "rampart/signals.h"
#include "rampart/text.h"

namespace rampart::agent {

void AgentWaker::attach(Agent* agent) {
  std::lock_guard lock(mu_);
  agent_ = agent;
}

void AgentWaker::detach() {
  attach(nullptr);
}

void AgentWaker::wake() {
  std::lock_guard lock(mu_);
  if (agent_ != nullptr) agent_->notify();
}

void addAppOptions(CLI::App& app, AppOptions& o) {
  if (const char* env_node = std::getenv("NODE_NAME"); env_node != nullptr) o.node = env_node;
  app.add_option("--node", o.node, "node name (default: $NODE_NAME)");
  app.add_option("--kubeconfig", o.kubeconfig, "kubeconfig file (default: in-cluster credentials)");
  app.add_option("--context", o.kube_context, "kubeconfig context (default: current-context)");
  app.add_option("--aggregator", o.aggregator_endpoints,
                 "aggregator ingest endpoint, tcp://HOST:PORT (repeatable)")
      ->required();
  app.add_option("--aggregator-public-key", o.aggregator_key,
                 "the aggregator's CURVE public key (Z85) or a key file")
      ->required();
  app.add_option("--curve-key", o.key_file, "this agent's CURVE key pair file (rampartctl keygen)")
      ->required();
  app.add_option("--host-root", o.host_root,
                 "where the host's / is mounted (like node_exporter's --path.rootfs)");
  app.add_option("--mount", o.mounts, "mount point to report disk and inode use of (repeatable)");
  app.add_option("--interval-ms", o.interval_ms, "heartbeat and sampling interval")
      ->check(CLI::Range(10, 600000));
  app.add_option("--full-every", o.full_every, "send a full report every N intervals")
      ->check(CLI::Range(1u, 100000u));
  app.add_option("--exit-after-intervals", o.exit_after, "exit after N intervals (benchmarks)");
  app.add_option("--kubelet-healthz-url", o.kubelet_url,
                 "the kubelet health endpoint probed every interval (empty: not probed)");
  app.add_option("--apiserver-probe-path", o.apiserver_path,
                 "API server path probed from the node with the agent's credentials (empty: not "
                 "probed)");
  app.add_option("--probe-config", o.probe_config, "YAML file of operator HTTP and TCP probes");
  app.add_option("--probe", o.probe_flags,
                 "operator probe NAME=http(s)://... or NAME=tcp://HOST:PORT (repeatable)");
  app.add_option("--probe-interval-ms", o.probe_interval_ms,
                 "how often the probes run (default: --interval-ms)")
      ->check(CLI::Range(0, 600000));
  app.add_option("--health-listen", o.health_listen,
                 "serve /healthz and /readyz for the kubelet's probes on HOST:PORT (off when "
                 "empty)");
  app.add_option("--log-format", o.log_format, "text or json");
  app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error");
}

namespace {

// tcp://HOST:PORT, the only transport the aggregator listens on; anything else
// would make ZeroMQ throw at connect.
Result<void> checkEndpoint(const std::string& endpoint) {
  constexpr std::string_view kScheme = "tcp://";
  auto address = endpoint.starts_with(kScheme)
                     ? splitHostPort(std::string_view(endpoint).substr(kScheme.size()))
                     : fail(ErrorCode::kConfig, "no tcp:// scheme");
  if (!address || address->host.empty() || address->port == 0) {
    return fail(ErrorCode::kConfig, "--aggregator " + endpoint +
                                        ": expected tcp://HOST:PORT (e.g. tcp://rampart:7400)");
  }
  return {};
}

// What the health endpoint reports, read from the running parts.
HealthInputs healthInputs(const Agent& agent, const PodWatcher& watcher, int64_t started_ms,
                          int interval_ms) {
  HealthInputs in;
  in.now_ms = steadyMillisNow();
  in.started_ms = started_ms;
  in.interval_ms = interval_ms;
  const AgentStats st = agent.stats();
  in.intervals = st.intervals;
  in.last_interval_ms = st.last_interval_steady_ms;
  in.pods_synced = watcher.stats().synced;
  in.links = st.links.size();
  for (const auto& l : st.links) in.links_connected += l.needs_full ? 0 : 1;
  return in;
}

}  // namespace

int runAgent(AppOptions o) {
  // Every line of an agent is about its node: the JSON lines say which.
  auto log = makeLogger("agent", o.log_format, o.log_level, nullptr, {{"node", o.node}});
  if (!log) {
    std::fprintf(stderr, "rampart-agent: %s\n", log.error().message.c_str());
    return 2;
  }
  auto die = [&](const std::string& what) {
    (*log)->critical("{}", what);
    return 2;
  };
  if (o.node.empty()) return die("no node name: set NODE_NAME or --node");
  for (const std::string& endpoint : o.aggregator_endpoints) {
    if (auto ok = checkEndpoint(endpoint); !ok) return die(ok.error().message);
  }
  auto creds =
      o.kubeconfig.empty() ? inClusterCredentials() : loadKubeconfig(o.kubeconfig, o.kube_context);
  if (!creds) return die(creds.error().message);
  auto keys = readKeyFile(o.key_file, true);
  if (!keys) return die(keys.error().message);
  auto server_key = resolvePublicKey(o.aggregator_key);
  if (!server_key) return die("--aggregator-public-key: " + server_key.error().message);
  auto probe_specs =
      loadProbes(o.kubelet_url, *creds, o.apiserver_path, o.probe_config, o.probe_flags);
  if (!probe_specs) return die(probe_specs.error().message);

  // The agent runs on every node: one malloc arena for its few threads keeps
  // per-thread arenas from holding on to memory (measured in docs/benchmarks.md).
  mallopt(M_ARENA_MAX, 1);
  std::atomic<bool> stop{false};
  AgentWaker waker;
  ShutdownSignals signals([&](int sig) {
    (*log)->info("signal {} received, stopping", sig);
    stop = true;
    waker.wake();
  });

  zmq::context_t context(1);
  HostHealthCollector health(o.host_root, o.mounts);
  AgentConfig config;
  config.node_name = o.node;
  config.aggregator_endpoints = o.aggregator_endpoints;
  config.aggregator_public_key = *server_key;
  config.keys = *keys;
  config.interval = std::chrono::milliseconds(o.interval_ms);
  config.full_every = o.full_every;
  config.exit_after_intervals = o.exit_after;

  PodWatcherOptions watch_opts;
  watch_opts.node_name = o.node;
  PodWatcher watcher(*creds, watch_opts, *log, [&] { waker.wake(); });
  auto agent = std::make_unique<Agent>(config, context, health, watcher, *log);
  ProbeRunner probes(
      *probe_specs, std::make_unique<NetProbeExecutor>(*creds),
      std::chrono::milliseconds(o.probe_interval_ms > 0 ? o.probe_interval_ms : o.interval_ms),
      *log, [&] { waker.wake(); });
  agent->setProbes(&probes);
  waker.attach(agent.get());
  (*log)->info(
      "rampart-agent {} on node {}: API server {}, {} aggregator endpoint(s), interval {} ms",
      RAMPART_VERSION, o.node, creds->server, o.aggregator_endpoints.size(), o.interval_ms);
  watcher.start();
  probes.start();
  std::unique_ptr<HealthServer> health_server;
  if (!o.health_listen.empty()) {
    const int64_t started = steadyMillisNow();
    auto hs = HealthServer::start(
        o.health_listen,
        [&, started] { return healthInputs(*agent, watcher, started, o.interval_ms); }, *log);
    if (!hs) {
      probes.stop();
      watcher.stop();
      return die(hs.error().message);
    }
    health_server = std::move(*hs);
  }
  agent->run(stop);
  if (health_server) health_server->stop();
  probes.stop();
  watcher.stop();
  waker.detach();
  const AgentStats st = agent->stats();
  (*log)->info("stopped after {} intervals: {} full reports, {} deltas, {} heartbeats",
               st.intervals, st.full_reports, st.deltas, st.heartbeats);
  agent.reset();
  context.shutdown();
  return 0;
}

}  // namespace rampart::agent
