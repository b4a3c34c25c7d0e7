// rampart-agent: one per node (DaemonSet). Reports host health and the node's
// pods to the aggregator(s). Options parsing only: the run is app.cpp.
#include <CLI/CLI.hpp>

#include "app.h"

// NOLINTNEXTLINE(bugprone-exception-escape): an exception escaping is a bug; abort shows it.
int main(int argc, char** argv) {
  CLI::App app{"rampart-agent: reports this node's health and pods to the Rampart aggregator"};
  rampart::agent::AppOptions options;
  rampart::agent::addAppOptions(app, options);
  CLI11_PARSE(app, argc, argv);
  return rampart::agent::runAgent(std::move(options));
}
