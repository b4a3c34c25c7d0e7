// The audit report as JSON: the public contract documented in
// docs/audit-json.md (schema "rampart.audit/v1"). rampartctl prints it and the
// aggregator serves it; both go through this one function.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "rampart/engine.h"

namespace rampart::engine {

inline constexpr const char* kAuditSchema = "rampart.audit/v1";

// Points as JSON numbers: hundredths to a decimal (1250 -> 12.5).
double pointsValue(Centi centi);

nlohmann::ordered_json refToJson(const ObjectRef& ref);
nlohmann::ordered_json findingToJson(const Finding& f);
nlohmann::ordered_json reportToJson(const Report& report);

// reportToJson(report).dump(indent, ' ', false, error_handler), byte for byte,
// written straight into one string instead of through a JSON tree (a report
// of 25,000 findings renders several times faster, with a fraction of the
// allocations). Throws what dump() throws (nlohmann::json::type_error 316 for
// invalid UTF-8 under the strict handler).
std::string dumpReport(const Report& report, int indent = -1,
                       nlohmann::ordered_json::error_handler_t error_handler =
                           nlohmann::ordered_json::error_handler_t::strict);

// RFC 3339 UTC ("2026-11-25T16:54:01Z") of Unix seconds.
std::string formatTimestamp(int64_t unix_seconds);

}  // namespace rampart::engine
