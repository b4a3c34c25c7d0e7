// rampartctl audit / whatif / explain: load a cluster (kubectl dump files or
// a live API server), run the engine, render the report.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "rampart/engine.h"
#include "rampart/error.h"
#include "rampart/k8s_objects.h"

namespace rampart::ctl {

// Exit codes of the audit commands (documented in docs/audit.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;       // no usable input, bad options
inline constexpr int kExitBelowScore = 2;  // --fail-below: the cluster score is lower

struct AuditInput {
  // Files, directories (every *.json inside, sorted by name) or "-" (stdin).
  std::vector<std::string> files;
  std::string kubeconfig;           // read live from this kubeconfig's API server
  bool in_cluster = false;          // read live with the pod's service account
  std::optional<int64_t> now_unix;  // default: the current time
};

struct AuditOptions {
  AuditInput input;
  std::string format = "text";  // text | json | markdown
  std::optional<double> fail_below;
  bool color = false;  // ANSI colours (main sets it on a TTY unless --no-color)
  size_t top = 10;     // text/markdown: risks listed in the summary
  engine::Options engine;
};

// Loads every input into one set of objects. Per-file problems become
// warnings (partial); an input that yields nothing usable is an error.
Result<k8s::Objects> loadObjects(const AuditInput& input, std::istream& stdin_stream);

int audit(const AuditOptions& options, std::istream& in, std::ostream& out, std::ostream& err);

struct WhatIfOptions {
  AuditInput input;
  std::string node, zone, region;  // at most one; none: the table of all domains
  std::string format = "text";     // text | json
  bool color = false;
};
int whatif(const WhatIfOptions& options, std::istream& in, std::ostream& out, std::ostream& err);

struct ExplainOptions {
  AuditInput input;
  std::string workload;         // "ns/name" or "Kind/ns/name": only that workload's branch
  std::string format = "text";  // text | json (the workload's explanation, or the report)
  bool color = false;
  engine::Options engine;
};
int explain(const ExplainOptions& options, std::istream& in, std::ostream& out, std::ostream& err);

// Renderers, exposed for tests.
std::string renderText(const engine::Report& report, const engine::Snapshot& snapshot, size_t top,
                       bool color);
std::string renderMarkdown(const engine::Report& report, const engine::Snapshot& snapshot,
                           size_t top);
std::string renderExplain(const engine::Report& report, const std::string& workload, bool color);
std::string renderWhatIf(const engine::Report& report, const engine::Snapshot& snapshot,
                         const std::string& level, const std::string& name, bool color);

}  // namespace rampart::ctl
