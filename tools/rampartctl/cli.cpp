#include "cli.h"

#include <unistd.h>

#include "commands.h"

namespace rampart::ctl {
namespace {

// The input options audit, whatif and explain share.
void addInputOptions(CLI::App* cmd, AuditInput& input, int64_t& now) {
  cmd->add_option("-f,--filename", input.files,
                  "kubectl -o json dump: a file, a directory of *.json, or - for stdin "
                  "(repeatable)");
  cmd->add_option("--kubeconfig", input.kubeconfig, "read the cluster live from this kubeconfig");
  cmd->add_flag("--in-cluster", input.in_cluster,
                "read the cluster live with the pod's service account");
  cmd->add_option("--now", now, "evaluate as of this Unix time (default: now)");
}

// whatif and explain read a cluster when given one, else ask the aggregator.
bool offline(const AuditInput& in) {
  return !in.files.empty() || !in.kubeconfig.empty() || in.in_cluster;
}

}  // namespace

Cli::Cli(CLI::App& app) {
  app.require_subcommand(1);
  keygen_cmd_ = app.add_subcommand("keygen", "make a CURVE key pair: PREFIX.key and PREFIX.pub");
  keygen_cmd_->add_option("--out", key_prefix_, "file name prefix")->required();
  addAggregatorCommands(app);
  addClusterCommands(app);
}

// The commands that read a running aggregator's API (live.h, docs/cli.md).
void Cli::addAggregatorCommands(CLI::App& app) {
  const std::string server_help =
      "aggregator HTTP URL (default: $RAMPART_SERVER, else " + std::string(kDefaultServer) + ")";
  nodes_cmd_ = app.add_subcommand("nodes", "nodes as the aggregator sees them");
  pods_cmd_ = app.add_subcommand("pods", "pods as the aggregator sees them");
  for (CLI::App* cmd : {nodes_cmd_, pods_cmd_}) {
    cmd->add_option("--server", server_, server_help);
    cmd->add_flag("--json", json_, "print the API's JSON");
    cmd->add_option("-o,--output", output_, "text | json (json: the API's JSON)");
  }
  pods_cmd_->add_option("--node", node_, "only this node's pods");

  wait_cmd_ = app.add_subcommand("wait", "wait for a condition; prints elapsed milliseconds");
  wait_cmd_->add_option("--server", server_, server_help);
  wait_cmd_
      ->add_option("--for", condition_,
                   "nodes=N | node-disconnected=NODE | pod-not-ready=NS/NAME | pod-gone=NS/NAME")
      ->required();
  wait_cmd_->add_option("--timeout-ms", timeout_ms_, "give up after this long");

  status_cmd_ = app.add_subcommand("status",
                                   "one screen: score, failure-domain survival, agents, "
                                   "findings by severity, worst workloads (live)");
  status_cmd_->add_option("--server", server_, server_help);
  status_cmd_->add_option("-o,--output", output_, "text | json (json: GET /api/v1/score)");

  findings_cmd_ = app.add_subcommand("findings", "the live report's findings, filtered");
  findings_cmd_->add_option("--server", server_, server_help);
  findings_cmd_->add_option("-o,--output", output_, "text | json (json: GET /api/v1/findings)");
  findings_cmd_->add_option("--check", findings_query_.check,
                            "check id prefix, e.g. node. or workload.");
  findings_cmd_->add_option("-n,--namespace", findings_query_.namespace_,
                            "the subject's or the workload's namespace");
  findings_cmd_->add_option("--node", findings_query_.node, "findings about this node");
  findings_cmd_->add_option("--severity", findings_query_.severity,
                            "at least this severity: info, low, medium, high, critical");

  top_cmd_ = app.add_subcommand("top", "a compact live view that refreshes (Ctrl-C to quit)");
  top_cmd_->add_option("--server", server_, server_help);
  top_cmd_->add_option("-o,--output", output_, "text | json (json: one line per frame)");
  top_cmd_->add_option("--interval", interval_seconds_, "seconds between frames")
      ->check(CLI::Range(0.2, 3600.0));
  top_cmd_->add_flag("--once", top_.once, "print one frame and exit");
  top_cmd_->add_option("--rows", top_.rows, "worst workloads and findings shown")
      ->check(CLI::Range(size_t{1}, size_t{1000}));

  // whatif and explain are offline with -f/--kubeconfig/--in-cluster, else live.
  whatif_cmd_ = app.add_subcommand(
      "whatif",
      "what losing a node, a zone or a region would do: offline with -f/--kubeconfig/"
      "--in-cluster, else live from the aggregator");
  whatif_server_ = whatif_cmd_->add_option("--server", server_, server_help);
  explain_cmd_ = app.add_subcommand(
      "explain",
      "the score as a tree of the findings it lost: offline with -f/--kubeconfig/--in-cluster, "
      "else live from the aggregator");
  explain_server_ = explain_cmd_->add_option("--server", server_, server_help);
}

// The commands that evaluate a cluster themselves (audit.h): audit, and the
// offline flags of whatif and explain.
void Cli::addClusterCommands(CLI::App& app) {
  audit_cmd_ = app.add_subcommand("audit", "score a cluster's resilience and list its risks");
  addInputOptions(audit_cmd_, audit_.input, now_);
  audit_cmd_->add_option("--format,-o,--output", audit_.format, "text | json | markdown");
  audit_cmd_->add_option("--fail-below", audit_.fail_below,
                         "exit 2 when the cluster score is below this");
  audit_cmd_->add_option("--top", audit_.top, "risks in the summary");
  audit_cmd_->add_option("--check", audit_.engine.only_checks,
                         "only checks whose id starts with this (repeatable)");
  audit_cmd_->add_option("--restart-threshold", audit_.engine.restart_threshold,
                         "pod.restarts fires at this many restarts");
  audit_cmd_->add_option("--backup-max-age-hours", backup_max_age_hours_,
                         "backup.stale fires when the newest completed backup is older");

  addInputOptions(whatif_cmd_, whatif_.input, now_);
  whatif_cmd_->add_option("--node", whatif_.node, "lose this node");
  whatif_cmd_->add_option("--zone", whatif_.zone, "lose this zone");
  whatif_cmd_->add_option("--region", whatif_.region, "lose this region");
  whatif_cmd_->add_option("--format,-o,--output", whatif_.format, "text | json");

  addInputOptions(explain_cmd_, explain_.input, now_);
  explain_cmd_->add_option("workload,--workload", explain_.workload, "NS/NAME or KIND/NS/NAME");
  explain_cmd_->add_option("-o,--output", explain_output_, "text | json");

  for (CLI::App* cmd : {audit_cmd_, whatif_cmd_, explain_cmd_})
    cmd->add_flag("--no-color", no_color_, "no ANSI colours even on a terminal");
}

int Cli::run(std::istream& in, std::ostream& out, std::ostream& err) {
  const bool color = !no_color_ && isatty(STDOUT_FILENO) == 1;
  if (now_ != 0) audit_.input.now_unix = whatif_.input.now_unix = explain_.input.now_unix = now_;
  if (*keygen_cmd_) return keygen(key_prefix_, out, err);
  if ((*nodes_cmd_ || *pods_cmd_) && output_ != "text" && output_ != "json") {
    err << "rampartctl: -o must be text or json\n";
    return 1;
  }
  const bool json = json_ || output_ == "json";
  if (*nodes_cmd_) return nodes(server_, json, out, err);
  if (*pods_cmd_) return pods(server_, node_, json, out, err);
  const LiveOptions live{server_, output_, color};
  if (*status_cmd_) return status(live, out, err);
  if (*findings_cmd_) return findings(live, findings_query_, out, err);
  if (*top_cmd_) {
    top_.interval = std::chrono::milliseconds(static_cast<int64_t>(interval_seconds_ * 1000));
    top_.clear = isatty(STDOUT_FILENO) == 1 && output_ == "text" && !top_.once;
    return top(live, top_, out, err);
  }
  if (*wait_cmd_)
    return wait(server_, condition_, std::chrono::milliseconds(timeout_ms_), out, err);
  if (*audit_cmd_) {
    audit_.color = color;
    audit_.engine.backup_max_age_seconds = static_cast<int64_t>(backup_max_age_hours_ * 3600);
    return audit(audit_, in, out, err);
  }
  if (*whatif_cmd_) return runWhatIf(color, in, out, err);
  if (*explain_cmd_) return runExplain(color, in, out, err);
  return 0;
}

int Cli::runWhatIf(bool color, std::istream& in, std::ostream& out, std::ostream& err) {
  if (offline(whatif_.input)) {
    if (whatif_server_->count() > 0) {
      err << "rampartctl whatif: --server is for the live mode; drop it, or drop "
             "-f/--kubeconfig/--in-cluster\n";
      return 1;
    }
    whatif_.color = color;
    return whatif(whatif_, in, out, err);
  }
  const int chosen = !whatif_.node.empty() + !whatif_.zone.empty() + !whatif_.region.empty();
  if (chosen > 1) {
    err << "rampartctl: give at most one of --node, --zone, --region\n";
    return 1;
  }
  const std::string level = !whatif_.node.empty()     ? "node"
                            : !whatif_.zone.empty()   ? "zone"
                            : !whatif_.region.empty() ? "region"
                                                      : "";
  return whatifLive({server_, whatif_.format, color}, level,
                    whatif_.node + whatif_.zone + whatif_.region, out, err);
}

int Cli::runExplain(bool color, std::istream& in, std::ostream& out, std::ostream& err) {
  if (offline(explain_.input)) {
    if (explain_server_->count() > 0) {
      err << "rampartctl explain: --server is for the live mode; drop it, or drop "
             "-f/--kubeconfig/--in-cluster\n";
      return 1;
    }
    explain_.color = color;
    explain_.format = explain_output_;
    return explain(explain_, in, out, err);
  }
  return explainLive({server_, explain_output_, color}, explain_.workload, out, err);
}

}  // namespace rampart::ctl
