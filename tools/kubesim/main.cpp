// kubesim: a simulated Kubernetes API server (serve) and its fault client
// (fault). Wiring only; everything else lives in kubesim_lib.
#include <csignal>
#include <cstdio>
#include <ctime>
#include <thread>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "api/api_server.h"
#include "cluster/cluster.h"
#include "cluster/ids.h"
#include "cluster/lease_renewer.h"
#include "fault_client.h"
#include "scenario/scenario.h"

namespace {

using namespace rampart;
using namespace rampart::kubesim;

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

int serve(const ServeFlags& flags) {
  auto logger = std::make_shared<spdlog::logger>(
      "kubesim", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  logger->set_level(flags.verbose ? spdlog::level::debug : spdlog::level::info);

  auto scenario = loadScenarioFile(flags.scenario);
  if (!scenario) {
    std::fprintf(stderr, "kubesim: %s\n", scenario.error().message.c_str());
    return 2;
  }
  if (flags.seed) scenario->seed = *flags.seed;
  if (flags.epoch == "now") {
    // Settled (epoch + 10 minutes) at start: ages and backup times read as
    // the scenario describes them against the wall clock.
    scenario->epoch = static_cast<int64_t>(std::time(nullptr)) - 600;
  } else if (!flags.epoch.empty()) {
    auto t = parseRfc3339Seconds(flags.epoch);
    if (!t) {
      std::fprintf(stderr, "kubesim: --epoch must be 'now' or an RFC 3339 UTC time\n");
      return 2;
    }
    scenario->epoch = *t;
  }
  auto listen = parseListenAddress(flags.listen);
  if (!listen) {
    std::fprintf(stderr, "kubesim: %s\n", listen.error().message.c_str());
    return 2;
  }

  // Signals are taken by sigwait below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto cluster = Cluster::create(*scenario, ClusterOptions{flags.history, {}});
  ServerOptions options;
  options.host = listen->first;
  options.port = listen->second;
  options.threads = flags.threads;
  options.bookmark_interval = std::chrono::milliseconds(flags.bookmark_ms);
  options.logger = logger;
  ApiServer server(*cluster, options);
  auto port = server.bind();
  if (!port) {
    std::fprintf(stderr, "kubesim: %s\n", port.error().message.c_str());
    return 1;
  }
  std::thread serving([&server] { server.run(); });
  while (!server.running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::unique_ptr<LeaseRenewer> renewer;
  if (flags.lease_renew_ms > 0) {
    renewer = std::make_unique<LeaseRenewer>(
        *cluster, std::chrono::milliseconds(flags.lease_renew_ms), logger);
  }

  const std::string url = "http://" + listen->first + ":" + std::to_string(*port);
  logger->info("cluster '{}' (seed {}) serving at {}, resourceVersion {}", scenario->cluster,
               scenario->seed, url, cluster->resourceVersion());
  if (!flags.ready_file.empty()) {
    if (auto ok = writeFileAtomically(flags.ready_file, "url=" + url + "\n"); !ok) {
      logger->error("{}", ok.error().message);
      server.stop();
      serving.join();
      return 1;
    }
  }
  int sig = 0;
  sigwait(&signals, &sig);
  logger->info("signal {} received, shutting down", sig);
  renewer.reset();
  server.stop();
  serving.join();
  return 0;
}

int fault(const std::string& server_url, const std::vector<std::string>& args) {
  auto body = faultFromArgs(args);
  if (!body) {
    std::fprintf(stderr, "kubesim fault: %s\n", body.error().message.c_str());
    return 2;
  }
  auto answer = postFault(server_url, *body);
  if (!answer) {
    std::fprintf(stderr, "kubesim fault: %s\n", answer.error().message.c_str());
    return 1;
  }
  std::printf("%s\n", answer->dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kubesim: a simulated Kubernetes API server with fault injection"};
  app.require_subcommand(1);

  ServeFlags flags;
  auto* serve_cmd = app.add_subcommand("serve", "serve a scenario over the Kubernetes API");
  serve_cmd->add_option("--scenario", flags.scenario, "scenario YAML file")->required();
  serve_cmd->add_option("--seed", flags.seed, "override the scenario's seed");
  serve_cmd->add_option("--epoch", flags.epoch,
                        "override the scenario's epoch: RFC 3339, or 'now' (settled at start)");
  serve_cmd->add_option("--listen", flags.listen, "HOST:PORT (port 0: ephemeral)");
  serve_cmd->add_option("--ready-file", flags.ready_file, "write url=... here once serving");
  serve_cmd->add_option("--history", flags.history, "watch events retained (older: 410)");
  serve_cmd->add_option("--threads", flags.threads, "concurrent connections (watches)");
  serve_cmd->add_option("--bookmark-ms", flags.bookmark_ms, "watch bookmark interval");
  serve_cmd
      ->add_option("--lease-renew-ms", flags.lease_renew_ms,
                   "node Lease renewal interval of Ready nodes (0: never)")
      ->check(CLI::NonNegativeNumber);
  serve_cmd->add_flag("-v,--verbose", flags.verbose, "log every request");

  std::string server_url;
  auto* fault_cmd = app.add_subcommand("fault", "inject a fault into a running kubesim");
  fault_cmd->add_option("--server", server_url, "kubesim URL, http://HOST:PORT")->required();
  fault_cmd->prefix_command();
  fault_cmd->footer(faultUsage());

  CLI11_PARSE(app, argc, argv);
  if (*serve_cmd) return serve(flags);
  return fault(server_url, fault_cmd->remaining());
}
