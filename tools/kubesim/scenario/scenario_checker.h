// Internal to the scenario parser: validation helpers that name the offending
// entry, so that a bad scenario is fixed from the message alone, and the
// parsers of the scenario's non-workload sections (scenario_resources.cpp).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "scenario/scenario.h"

namespace rampart::kubesim::detail {

struct Checker {
  std::string where;

  std::unexpected<Error> bad(const std::string& what) const {
    return fail(ErrorCode::kConfig, "scenario: " + where + ": " + what);
  }

  Result<void> onlyKeys(const Json& obj, std::initializer_list<std::string_view> allowed) const {
    if (!obj.is_object()) return bad("expected a mapping");
    for (const auto& [key, value] : obj.items()) {
      bool ok = false;
      for (auto a : allowed) ok = ok || a == key;
      if (!ok) return bad("unknown key '" + key + "'");
    }
    return {};
  }

  Result<std::string> str(const Json& obj, const char* key, bool required = true) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
      if (required) return bad(std::string("missing '") + key + "'");
      return std::string();
    }
    if (!it->is_string()) return bad(std::string("'") + key + "' must be a string");
    return it->get<std::string>();
  }

  Result<Json> stringMap(const Json& obj, const char* key) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return Json::object();
    if (!it->is_object()) return bad(std::string("'") + key + "' must be a mapping");
    Json out = Json::object();
    for (const auto& [k, v] : it->items()) {
      if (v.is_string()) {
        out[k] = v;
      } else if (v.is_number_integer() || v.is_boolean()) {
        out[k] = v.dump();  // label values are strings; accept unquoted numbers
      } else {
        return bad(std::string("'") + key + "." + k + "' must be a string");
      }
    }
    return out;
  }

  Result<bool> boolean(const Json& obj, const char* key) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return false;
    if (!it->is_boolean()) return bad(std::string("'") + key + "' must be true or false");
    return it->get<bool>();
  }

  // A non-negative integer no larger than `max`; `fallback` when absent.
  Result<int> integer(const Json& obj, const char* key, int fallback, int max = 1000000) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return fallback;
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > max) {
      return bad(std::string("'") + key + "' must be an integer within 0.." + std::to_string(max));
    }
    return it->get<int>();
  }
};

// A DNS-1123 subdomain: lower-case alphanumerics, '-' and '.'.
bool validName(const std::string& name);

// The sections after workloads, pods and PDBs. `root` is the whole document;
// namespaces and workloads in `s` are already parsed.
Result<void> parseServices(const Json& root, Scenario& s);
Result<void> parseHpas(const Json& root, Scenario& s);
Result<void> parseVelero(const Json& root, Scenario& s);

}  // namespace rampart::kubesim::detail
