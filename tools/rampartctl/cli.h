// rampartctl's command line (docs/cli.md): every subcommand with its flags,
// and what runs when it is the one chosen. main.cpp parses; Cli::run runs.
#pragma once

#include <CLI/CLI.hpp>
#include <istream>
#include <ostream>
#include <string>

#include "audit.h"
#include "live.h"

namespace rampart::ctl {

class Cli {
 public:
  // Declares every subcommand and flag on `app` (one subcommand required).
  explicit Cli(CLI::App& app);
  // After `app` has parsed the command line: runs the chosen subcommand and
  // returns the process exit code.
  int run(std::istream& in, std::ostream& out, std::ostream& err);

 private:
  void addAggregatorCommands(CLI::App& app);
  void addClusterCommands(CLI::App& app);
  int runWhatIf(bool color, std::istream& in, std::ostream& out, std::ostream& err);
  int runExplain(bool color, std::istream& in, std::ostream& out, std::ostream& err);

  // Shared by several subcommands.
  std::string server_ = defaultServer();  // $RAMPART_SERVER or 127.0.0.1:7401
  std::string output_ = "text";           // -o of the live commands
  bool json_ = false;
  int64_t now_ = 0;
  bool no_color_ = false;
  // One subcommand's each.
  std::string key_prefix_, node_, condition_;
  int timeout_ms_ = 30000;
  FindingsQuery findings_query_;
  TopOptions top_;
  double interval_seconds_ = 2;
  AuditOptions audit_;
  double backup_max_age_hours_ = 26;
  WhatIfOptions whatif_;
  ExplainOptions explain_;
  std::string explain_output_ = "text";

  CLI::App *keygen_cmd_, *nodes_cmd_, *pods_cmd_, *wait_cmd_, *status_cmd_, *findings_cmd_,
      *top_cmd_, *audit_cmd_, *whatif_cmd_, *explain_cmd_;
  CLI::Option *whatif_server_, *explain_server_;
};

}  // namespace rampart::ctl
