// rampartctl: the operator's command line. Options parsing only; the commands
// live in commands.cpp, audit.cpp (offline) and live.cpp (against the
// aggregator's API). docs/cli.md describes every command.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "audit.h"
#include "commands.h"
#include "live.h"

namespace {

// The input options audit, whatif and explain share.
void addInputOptions(CLI::App* cmd, rampart::ctl::AuditInput& input, int64_t& now) {
  cmd->add_option("-f,--filename", input.files,
                  "kubectl -o json dump: a file, a directory of *.json, or - for stdin "
                  "(repeatable)");
  cmd->add_option("--kubeconfig", input.kubeconfig, "read the cluster live from this kubeconfig");
  cmd->add_flag("--in-cluster", input.in_cluster,
                "read the cluster live with the pod's service account");
  cmd->add_option("--now", now, "evaluate as of this Unix time (default: now)");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rampartctl: Rampart's command line"};
  app.require_subcommand(1);
  std::string server = rampart::ctl::defaultServer();  // $RAMPART_SERVER or 127.0.0.1:7401
  const std::string server_help = "aggregator HTTP URL (default: $RAMPART_SERVER, else " +
                                  std::string(rampart::ctl::kDefaultServer) + ")";
  bool json = false;
  std::string output = "text";  // -o of the live commands

  auto* keygen = app.add_subcommand("keygen", "make a CURVE key pair: PREFIX.key and PREFIX.pub");
  std::string prefix;
  keygen->add_option("--out", prefix, "file name prefix")->required();

  auto* nodes = app.add_subcommand("nodes", "nodes as the aggregator sees them");
  nodes->add_option("--server", server, server_help);
  nodes->add_flag("--json", json, "print the API's JSON");
  nodes->add_option("-o,--output", output, "text | json (json: the API's JSON)");

  auto* pods = app.add_subcommand("pods", "pods as the aggregator sees them");
  std::string node;
  pods->add_option("--server", server, server_help);
  pods->add_option("--node", node, "only this node's pods");
  pods->add_flag("--json", json, "print the API's JSON");
  pods->add_option("-o,--output", output, "text | json (json: the API's JSON)");

  auto* wait = app.add_subcommand("wait", "wait for a condition; prints elapsed milliseconds");
  std::string condition;
  int timeout_ms = 30000;
  wait->add_option("--server", server, server_help);
  wait->add_option("--for", condition,
                   "nodes=N | node-disconnected=NODE | pod-not-ready=NS/NAME | pod-gone=NS/NAME")
      ->required();
  wait->add_option("--timeout-ms", timeout_ms, "give up after this long");

  // Live views of a running aggregator (live.h, docs/cli.md).
  auto* status = app.add_subcommand("status",
                                    "one screen: score, failure-domain survival, agents, "
                                    "findings by severity, worst workloads (live)");
  status->add_option("--server", server, server_help);
  status->add_option("-o,--output", output, "text | json (json: GET /api/v1/score)");

  rampart::ctl::FindingsQuery findings_query;
  auto* findings = app.add_subcommand("findings", "the live report's findings, filtered");
  findings->add_option("--server", server, server_help);
  findings->add_option("-o,--output", output, "text | json (json: GET /api/v1/findings)");
  findings->add_option("--check", findings_query.check, "check id prefix, e.g. node. or workload.");
  findings->add_option("-n,--namespace", findings_query.namespace_,
                       "the subject's or the workload's namespace");
  findings->add_option("--node", findings_query.node, "findings about this node");
  findings->add_option("--severity", findings_query.severity,
                       "at least this severity: info, low, medium, high, critical");

  rampart::ctl::TopOptions top_opts;
  double interval_seconds = 2;
  auto* top = app.add_subcommand("top", "a compact live view that refreshes (Ctrl-C to quit)");
  top->add_option("--server", server, server_help);
  top->add_option("-o,--output", output, "text | json (json: one line per frame)");
  top->add_option("--interval", interval_seconds, "seconds between frames")
      ->check(CLI::Range(0.2, 3600.0));
  top->add_flag("--once", top_opts.once, "print one frame and exit");
  top->add_option("--rows", top_opts.rows, "worst workloads and findings shown")
      ->check(CLI::Range(size_t{1}, size_t{1000}));

  rampart::ctl::AuditOptions audit_opts;
  int64_t now = 0;
  bool no_color = false;
  double backup_max_age_hours = 26;
  auto* audit = app.add_subcommand("audit", "score a cluster's resilience and list its risks");
  addInputOptions(audit, audit_opts.input, now);
  audit->add_option("--format,-o,--output", audit_opts.format, "text | json | markdown");
  audit->add_option("--fail-below", audit_opts.fail_below,
                    "exit 2 when the cluster score is below this");
  audit->add_option("--top", audit_opts.top, "risks in the summary");
  audit->add_option("--check", audit_opts.engine.only_checks,
                    "only checks whose id starts with this (repeatable)");
  audit->add_option("--restart-threshold", audit_opts.engine.restart_threshold,
                    "pod.restarts fires at this many restarts");
  audit->add_option("--backup-max-age-hours", backup_max_age_hours,
                    "backup.stale fires when the newest completed backup is older");
  audit->add_flag("--no-color", no_color, "no ANSI colours even on a terminal");

  rampart::ctl::WhatIfOptions whatif_opts;
  auto* whatif = app.add_subcommand(
      "whatif",
      "what losing a node, a zone or a region would do: offline with -f/--kubeconfig/"
      "--in-cluster, else live from the aggregator");
  addInputOptions(whatif, whatif_opts.input, now);
  auto* whatif_server = whatif->add_option("--server", server, server_help);
  whatif->add_option("--node", whatif_opts.node, "lose this node");
  whatif->add_option("--zone", whatif_opts.zone, "lose this zone");
  whatif->add_option("--region", whatif_opts.region, "lose this region");
  whatif->add_option("--format,-o,--output", whatif_opts.format, "text | json");
  whatif->add_flag("--no-color", no_color, "no ANSI colours even on a terminal");

  rampart::ctl::ExplainOptions explain_opts;
  auto* explain = app.add_subcommand(
      "explain",
      "the score as a tree of the findings it lost: offline with -f/--kubeconfig/--in-cluster, "
      "else live from the aggregator");
  addInputOptions(explain, explain_opts.input, now);
  auto* explain_server = explain->add_option("--server", server, server_help);
  explain->add_option("workload,--workload", explain_opts.workload, "NS/NAME or KIND/NS/NAME");
  std::string explain_output = "text";
  explain->add_option("-o,--output", explain_output, "text | json");
  explain->add_flag("--no-color", no_color, "no ANSI colours even on a terminal");

  CLI11_PARSE(app, argc, argv);
  const bool color = !no_color && isatty(STDOUT_FILENO) == 1;
  if (now != 0) {
    audit_opts.input.now_unix = whatif_opts.input.now_unix = explain_opts.input.now_unix = now;
  }
  int rc = 0;
  if (*keygen) rc = rampart::ctl::keygen(prefix, std::cout, std::cerr);
  if ((*nodes || *pods) && output != "text" && output != "json") {
    std::cerr << "rampartctl: -o must be text or json\n";
    return 1;
  }
  json = json || output == "json";
  if (*nodes) rc = rampart::ctl::nodes(server, json, std::cout, std::cerr);
  if (*pods) rc = rampart::ctl::pods(server, node, json, std::cout, std::cerr);
  rampart::ctl::LiveOptions live{server, output, color};
  if (*status) rc = rampart::ctl::status(live, std::cout, std::cerr);
  if (*findings) rc = rampart::ctl::findings(live, findings_query, std::cout, std::cerr);
  if (*top) {
    top_opts.interval = std::chrono::milliseconds(static_cast<int64_t>(interval_seconds * 1000));
    top_opts.clear = isatty(STDOUT_FILENO) == 1 && output == "text" && !top_opts.once;
    rc = rampart::ctl::top(live, top_opts, std::cout, std::cerr);
  }
  if (*wait) {
    rc = rampart::ctl::wait(server, condition, std::chrono::milliseconds(timeout_ms), std::cout,
                            std::cerr);
  }
  if (*audit) {
    audit_opts.color = color;
    audit_opts.engine.backup_max_age_seconds = static_cast<int64_t>(backup_max_age_hours * 3600);
    rc = rampart::ctl::audit(audit_opts, std::cin, std::cout, std::cerr);
  }
  // whatif and explain read a cluster when given one (-f, --kubeconfig,
  // --in-cluster), else ask the aggregator (docs/cli.md).
  auto offline = [](const rampart::ctl::AuditInput& in) {
    return !in.files.empty() || !in.kubeconfig.empty() || in.in_cluster;
  };
  if (*whatif && offline(whatif_opts.input)) {
    if (whatif_server->count() > 0) {
      std::cerr << "rampartctl whatif: --server is for the live mode; drop it, or drop "
                   "-f/--kubeconfig/--in-cluster\n";
      return 1;
    }
    whatif_opts.color = color;
    rc = rampart::ctl::whatif(whatif_opts, std::cin, std::cout, std::cerr);
  } else if (*whatif) {
    int chosen =
        !whatif_opts.node.empty() + !whatif_opts.zone.empty() + !whatif_opts.region.empty();
    if (chosen > 1) {
      std::cerr << "rampartctl: give at most one of --node, --zone, --region\n";
      return 1;
    }
    std::string level = !whatif_opts.node.empty()     ? "node"
                        : !whatif_opts.zone.empty()   ? "zone"
                        : !whatif_opts.region.empty() ? "region"
                                                      : "";
    rc = rampart::ctl::whatifLive({server, whatif_opts.format, color}, level,
                                  whatif_opts.node + whatif_opts.zone + whatif_opts.region,
                                  std::cout, std::cerr);
  }
  if (*explain && offline(explain_opts.input)) {
    if (explain_server->count() > 0) {
      std::cerr << "rampartctl explain: --server is for the live mode; drop it, or drop "
                   "-f/--kubeconfig/--in-cluster\n";
      return 1;
    }
    explain_opts.color = color;
    explain_opts.format = explain_output;
    rc = rampart::ctl::explain(explain_opts, std::cin, std::cout, std::cerr);
  } else if (*explain) {
    rc = rampart::ctl::explainLive({server, explain_output, color}, explain_opts.workload,
                                   std::cout, std::cerr);
  }
  return rc;
}
