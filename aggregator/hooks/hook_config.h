// Remediation hook configuration (docs/hooks.md is the contract): which
// findings a hook matches, the argv it runs, and its limits. Pure: parsing
// takes the YAML text, matching takes a finding.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "rampart/engine.h"
#include "rampart/error.h"

namespace rampart::aggregator {

// Each list holds exact values or shell-style globs (fnmatch: `*`, `?`,
// `[...]`); an empty list matches everything.
struct HookMatch {
  std::vector<std::string> checks;
  engine::Severity min_severity = engine::Severity::kInfo;
  std::vector<std::string> namespaces;  // the workload's namespace, else the subject's
  std::vector<std::string> nodes;
  std::vector<std::string> zones;
  std::vector<std::string> workload_kinds;
  std::vector<std::string> workload_names;
  std::vector<std::string> subject_kinds;
  // Alertmanager alerts only (hook_alert.h): label name -> patterns on the
  // alert's label (a missing label is ""). A hook with any matches no finding.
  std::map<std::string, std::vector<std::string>> alert_labels;
};

struct HookSpec {
  std::string name;
  HookMatch match;
  // argv[0] is an absolute path once loaded (a bare name is looked up in PATH,
  // a relative path is taken from the config file's directory).
  std::vector<std::string> command;
  std::chrono::milliseconds timeout{60000};
  // SIGTERM to the process group at the timeout, SIGKILL this much later.
  std::chrono::milliseconds kill_grace{5000};
  // No second run for the same finding key sooner than this after the last start.
  std::chrono::milliseconds cooldown{15 * 60 * 1000};
  int max_concurrent = 1;
  int max_runs_per_hour = 10;
  bool dry_run = false;
};

struct HooksConfig {
  std::vector<HookSpec> hooks;  // in file order; names unique
};

// Parses the YAML document `text` (read from `path`, used for messages and to
// resolve relative commands). kConfig with "FILE: hooks[N] (NAME): problem" on
// any unknown key, missing or malformed field, duplicate name, or a command
// that is not an executable file. When `check_commands` is false the command
// is kept as written (tests of the parser).
Result<HooksConfig> parseHooksConfig(std::string_view text, const std::filesystem::path& path,
                                     bool check_commands = true);
// Reads and parses the file.
Result<HooksConfig> loadHooksConfig(const std::filesystem::path& path);

// "90s", "15m", "1h", "500ms", "1h30m", or a plain number of seconds.
Result<std::chrono::milliseconds> parseDuration(std::string_view text);

// Whether `finding` passes every condition of `match`.
bool hookMatches(const HookMatch& match, const engine::Finding& finding);

}  // namespace rampart::aggregator
