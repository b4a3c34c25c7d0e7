// rampart-aggregator: receives agent reports, keeps the cluster model, runs the
// resilience engine on it, serves /metrics and the JSON API. Options parsing
// only: the run is app.cpp.
#include <CLI/CLI.hpp>

#include "app.h"

// NOLINTNEXTLINE(bugprone-exception-escape): an exception escaping is a bug; abort shows it.
int main(int argc, char** argv) {
  CLI::App app{"rampart-aggregator: the Rampart cluster model, metrics and API"};
  rampart::aggregator::AppOptions options;
  rampart::aggregator::addAppOptions(app, options);
  CLI11_PARSE(app, argc, argv);
  return rampart::aggregator::runAggregator(std::move(options));
}
