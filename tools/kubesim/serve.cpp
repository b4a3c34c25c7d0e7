#include "serve.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <thread>

#include "api/api_server.h"
#include "cluster/cluster.h"
#include "cluster/ids.h"
#include "cluster/lease_renewer.h"
#include "fault_client.h"
#include "scenario/scenario.h"

namespace rampart::kubesim {

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

}  // namespace rampart::kubesim
