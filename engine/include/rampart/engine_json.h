// The audit report as JSON: the public contract documented in
// docs/audit-json.md (schema "rampart.audit/v1"). rampartctl prints it and the
// aggregator serves it; both go through this one function.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "rampart/engine.h"
#include "rampart/time.h"

namespace rampart::engine {

inline constexpr const char* kAuditSchema = "rampart.audit/v1";

// Points as JSON numbers: hundredths to a decimal (1250 -> 12.5).
double pointsValue(Centi centi);

nlohmann::ordered_json refToJson(const ObjectRef& ref);
nlohmann::ordered_json findingToJson(const Finding& f);
// The pieces of reportToJson, for documents made of parts of a report (the
// aggregator's /api/v1/score, /whatif, /workloads): a workload score
// {"kind","namespace","name","score","replicas","ready","weight"} and a
// failure domain {"name","nodes","outage","below_pdb","quorum_lost"}.
nlohmann::ordered_json workloadScoreToJson(const WorkloadScore& w);
nlohmann::ordered_json domainImpactToJson(const DomainImpact& d);
// One workload's score explained (rampartctl explain -o json, the
// aggregator's /api/v1/workloads/NS/NAME): {"workload": its score, "lost":
// 100 - score, "cluster_points": its findings' share of the cluster's lost
// points, "findings": the findings counted against it (report order),
// "lost_with": {"nodes","zones","regions"}: the domains whose loss alone takes
// it down (an outage or a lost quorum)}.
nlohmann::ordered_json workloadExplanationToJson(const Report& report, const WorkloadScore& w);
nlohmann::ordered_json reportToJson(const Report& report);

// reportToJson(report).dump(indent, ' ', false, error_handler), byte for byte,
// written straight into one string instead of through a JSON tree (a report
// of 25,000 findings renders several times faster, with a fraction of the
// allocations). Throws what dump() throws (nlohmann::json::type_error 316 for
// invalid UTF-8 under the strict handler).
std::string dumpReport(const Report& report, int indent = -1,
                       nlohmann::ordered_json::error_handler_t error_handler =
                           nlohmann::ordered_json::error_handler_t::strict);

// Timestamps in the JSON are rampart/time.h's formatRfc3339 (UTC, seconds).

}  // namespace rampart::engine
