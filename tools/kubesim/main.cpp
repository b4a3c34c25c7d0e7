// kubesim: a simulated Kubernetes API server (serve) and its fault client
// (fault). Wiring only; everything else lives in kubesim_lib.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "fault_client.h"
#include "serve.h"

namespace {

using namespace rampart::kubesim;

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

// NOLINTNEXTLINE(bugprone-exception-escape): an exception escaping is a bug; abort shows it.
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
