// rampartctl: the operator's command line. Options parsing only; the commands
// live in commands.cpp.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "audit.h"
#include "commands.h"

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
  std::string server = "http://127.0.0.1:7401";
  bool json = false;

  auto* keygen = app.add_subcommand("keygen", "make a CURVE key pair: PREFIX.key and PREFIX.pub");
  std::string prefix;
  keygen->add_option("--out", prefix, "file name prefix")->required();

  auto* nodes = app.add_subcommand("nodes", "nodes as the aggregator sees them");
  nodes->add_option("--server", server, "aggregator HTTP URL");
  nodes->add_flag("--json", json, "print the API's JSON");

  auto* pods = app.add_subcommand("pods", "pods as the aggregator sees them");
  std::string node;
  pods->add_option("--server", server, "aggregator HTTP URL");
  pods->add_option("--node", node, "only this node's pods");
  pods->add_flag("--json", json, "print the API's JSON");

  auto* wait = app.add_subcommand("wait", "wait for a condition; prints elapsed milliseconds");
  std::string condition;
  int timeout_ms = 30000;
  wait->add_option("--server", server, "aggregator HTTP URL");
  wait->add_option("--for", condition,
                   "nodes=N | node-disconnected=NODE | pod-not-ready=NS/NAME | pod-gone=NS/NAME")
      ->required();
  wait->add_option("--timeout-ms", timeout_ms, "give up after this long");

  rampart::ctl::AuditOptions audit_opts;
  int64_t now = 0;
  bool no_color = false;
  double backup_max_age_hours = 26;
  auto* audit = app.add_subcommand("audit", "score a cluster's resilience and list its risks");
  addInputOptions(audit, audit_opts.input, now);
  audit->add_option("--format", audit_opts.format, "text | json | markdown");
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
  auto* whatif = app.add_subcommand("whatif", "what losing a node, a zone or a region would do");
  addInputOptions(whatif, whatif_opts.input, now);
  whatif->add_option("--node", whatif_opts.node, "lose this node");
  whatif->add_option("--zone", whatif_opts.zone, "lose this zone");
  whatif->add_option("--region", whatif_opts.region, "lose this region");
  whatif->add_option("--format", whatif_opts.format, "text | json");
  whatif->add_flag("--no-color", no_color, "no ANSI colours even on a terminal");

  rampart::ctl::ExplainOptions explain_opts;
  auto* explain = app.add_subcommand("explain", "the score as a tree of the findings it lost");
  addInputOptions(explain, explain_opts.input, now);
  explain->add_option("--workload", explain_opts.workload, "NS/NAME or KIND/NS/NAME");
  explain->add_flag("--no-color", no_color, "no ANSI colours even on a terminal");

  CLI11_PARSE(app, argc, argv);
  const bool color = !no_color && isatty(STDOUT_FILENO) == 1;
  if (now != 0) {
    audit_opts.input.now_unix = whatif_opts.input.now_unix = explain_opts.input.now_unix = now;
  }
  int rc = 0;
  if (*keygen) rc = rampart::ctl::keygen(prefix, std::cout, std::cerr);
  if (*nodes) rc = rampart::ctl::nodes(server, json, std::cout, std::cerr);
  if (*pods) rc = rampart::ctl::pods(server, node, json, std::cout, std::cerr);
  if (*wait) {
    rc = rampart::ctl::wait(server, condition, std::chrono::milliseconds(timeout_ms), std::cout,
                            std::cerr);
  }
  if (*audit) {
    audit_opts.color = color;
    audit_opts.engine.backup_max_age_seconds = static_cast<int64_t>(backup_max_age_hours * 3600);
    rc = rampart::ctl::audit(audit_opts, std::cin, std::cout, std::cerr);
  }
  if (*whatif) {
    whatif_opts.color = color;
    rc = rampart::ctl::whatif(whatif_opts, std::cin, std::cout, std::cerr);
  }
  if (*explain) {
    explain_opts.color = color;
    rc = rampart::ctl::explain(explain_opts, std::cin, std::cout, std::cerr);
  }
  return rc;
}
