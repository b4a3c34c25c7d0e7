// Bad command lines stop the real binaries with exit code 2 and one line that
// names the culprit: never an uncaught exception, a core dump or a hang.
#include <doctest/doctest.h>

#include "test_paths.h"
#include "test_support.h"

using namespace rampart::testing;

namespace {

size_t lines(const std::string& text) {
  size_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

}  // namespace

TEST_CASE("rampart-agent: a bad --aggregator endpoint is one line and exit code 2") {
  for (const char* endpoint : {"aggregator:7400", "tcp://", "tcp://host", "tcp://host:0",
                               "tcp://:7400", "tcp://host:http", "ipc:///tmp/x", "tcp://[::1"}) {
    CAPTURE(endpoint);
    auto r =
        runCommand({kAgentBin, "--node", "n1", "--aggregator", endpoint, "--aggregator-public-key",
                    "/nonexistent.pub", "--curve-key", "/nonexistent.key", "--log-format", "json"});
    CHECK(r.exit_code == 2);
    CHECK(lines(r.output) == 1);
    CHECK(r.output.find(std::string("--aggregator ") + endpoint) != std::string::npos);
    CHECK(r.output.find("expected tcp://HOST:PORT") != std::string::npos);
    CHECK(r.output.find("terminate") == std::string::npos);
  }
}

TEST_CASE("rampart-aggregator: a bad --http address is one line and exit code 2") {
  for (const char* address : {"7401", "host:", "host:99999", "[::1"}) {
    CAPTURE(address);
    auto r = runCommand({kAggregatorBin, "--http", address, "--curve-key", "/nonexistent.key",
                         "--allowed-agent-keys", "/nonexistent"});
    CHECK(r.exit_code == 2);
    CHECK(lines(r.output) == 1);
    CHECK(r.output.find("--http must be HOST:PORT") != std::string::npos);
  }
}
