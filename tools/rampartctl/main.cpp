// rampartctl: the operator's command line. Options parsing only; the commands
// live in cli.cpp (which flag means what), commands.cpp, audit.cpp (offline)
// and live.cpp (against the aggregator's API). docs/cli.md describes them.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli.h"

// NOLINTNEXTLINE(bugprone-exception-escape): an exception escaping is a bug; abort shows it.
int main(int argc, char** argv) {
  CLI::App app{"rampartctl: Rampart's command line"};
  rampart::ctl::Cli cli(app);
  CLI11_PARSE(app, argc, argv);
  return cli.run(std::cin, std::cout, std::cerr);
}
