#include "alertmanager_process.h"

#include <doctest/doctest.h>

#include <fstream>

namespace rampart::testing {

std::unique_ptr<Process> startAlertmanager(const std::filesystem::path& dir, int port,
                                           const std::string& config) {
  if (!config.empty()) std::ofstream(dir / "alertmanager.yml") << config;
  int run = 1;
  while (std::filesystem::exists(dir / ("am-data-" + std::to_string(run)))) ++run;
  const auto storage = dir / ("am-data-" + std::to_string(run));
  std::filesystem::create_directories(storage);
  auto process = std::make_unique<Process>(
      std::vector<std::string>{kAlertmanagerBin, "--config.file",
                               (dir / "alertmanager.yml").string(), "--storage.path",
                               storage.string(), "--web.listen-address",
                               "127.0.0.1:" + std::to_string(port), "--cluster.listen-address="},
      dir / ("alertmanager-" + std::to_string(run) + ".log"));
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  // Ready only while our own process runs: one that died (its port taken)
  // must not pass for another test's Alertmanager answering on that port.
  REQUIRE_MESSAGE(
      waitUntil([&] { return !process->running() || httpGet(url + "/-/ready", 1s).status == 200; },
                30s),
      process->log());
  REQUIRE_MESSAGE(process->running(), process->log());
  return process;
}

}  // namespace rampart::testing
