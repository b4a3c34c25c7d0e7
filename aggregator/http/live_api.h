// The live views of the aggregator's JSON API (docs/api.md): /api/v1/score,
// /api/v1/findings (filters), /api/v1/whatif and /api/v1/workloads/NS/NAME.
// Pure functions of the latest report (and, for a workload's pods, the agents'
// model), rendered with the audit report's own serialisers
// (rampart/engine_json.h); HttpApi serves them. rampartctl status, findings,
// whatif, explain and top are their clients.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "rampart/engine.h"
#include "rampart/error.h"
#include "state/cluster_state.h"

namespace rampart::aggregator {

using QueryParams = std::map<std::string, std::string>;

// An API answer: the HTTP status and the JSON body (errors are
// {"error": "..."}, 400 for bad parameters, 404 for unknown objects).
struct ApiReply {
  int status = 200;
  std::string body;
};

// The agents as the model knows them, for /api/v1/score.
struct AgentCounts {
  size_t known = 0;      // nodes with an agent record
  size_t connected = 0;  // agentConnected()
  size_t synced = 0;     // connected and a full report applied
};
AgentCounts countAgents(const ClusterState& state, int64_t now_ms, int missed_heartbeats);

// /api/v1/findings filters; an empty string matches everything.
struct FindingsFilter {
  std::string check;       // check id prefix
  std::string namespace_;  // the subject's or the workload's namespace
  std::string node;        // the finding's node
  engine::Severity min_severity = engine::Severity::kInfo;
};
// Parses check, namespace, node and severity (a minimum: info, low, medium,
// high, critical); an unknown parameter or severity is an error naming it.
Result<FindingsFilter> parseFindingsFilter(const QueryParams& params);
bool matches(const engine::Finding& f, const FindingsFilter& filter);
// {"findings": [...]}, each finding as in the report, in report order.
std::string findingsJson(const engine::Report& report, const FindingsFilter& filter);

// GET /api/v1/findings with its query parameters.
ApiReply findingsReply(const engine::Report& report, const QueryParams& params);
// GET /api/v1/score?top=N: the cluster and namespace scores, whether any
// single node / zone / region loss takes a workload down, findings by
// severity, the N worst workloads (default 5), the agents.
ApiReply scoreReply(const engine::Report& report, const AgentCounts& agents,
                    const QueryParams& params);
// GET /api/v1/whatif[?node=X|zone=Z|region=R]: every failure domain, or one.
ApiReply whatifReply(const engine::Report& report, const QueryParams& params);
// GET /api/v1/workloads/NS/NAME[?kind=K]: one workload's score, the findings
// that cost it points, its pods as the agents report them and the failure
// domains whose loss takes it down.
ApiReply workloadReply(const engine::Report& report, const ClusterState& state,
                       const std::string& namespace_, const std::string& name,
                       const QueryParams& params);

// {"error": message}, with invalid UTF-8 replaced.
std::string errorJson(const std::string& message);

}  // namespace rampart::aggregator
