// Label and field selectors, as the API server accepts them in the
// `labelSelector` / `fieldSelector` query parameters, and metav1.LabelSelector
// objects (matchLabels / matchExpressions) as used by PDBs and workloads.
// Pure functions; parse errors are kParse with the server's wording.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rampart/error.h"

namespace rampart::kubesim {

using Json = nlohmann::ordered_json;

enum class SelectorOp { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist };

struct LabelRequirement {
  std::string key;
  SelectorOp op = SelectorOp::kEquals;
  std::vector<std::string> values;
};

// `a=b,c!=d,e in (x,y),f notin (z),g,!h`. An empty string selects everything.
class LabelQuery {
 public:
  static Result<LabelQuery> parse(std::string_view text);
  bool matches(const Json& labels) const;  // labels: a JSON object or null
  bool empty() const { return requirements_.empty(); }
  const std::vector<LabelRequirement>& requirements() const { return requirements_; }

 private:
  std::vector<LabelRequirement> requirements_;
};

struct FieldRequirement {
  std::string field;
  bool equals = true;  // false: !=
  std::string value;
};

// `spec.nodeName=n1,metadata.namespace!=kube-system`. `supported` lists the
// field paths the resource allows; any other is an error, as on a real server.
class FieldQuery {
 public:
  static Result<FieldQuery> parse(std::string_view text, const std::vector<std::string>& supported);
  bool matches(const Json& object) const;
  bool empty() const { return requirements_.empty(); }

 private:
  std::vector<FieldRequirement> requirements_;
};

// The value of a selectable field of an object ("" when absent).
std::string fieldValue(const Json& object, std::string_view field);

// metav1.LabelSelector semantics: null selects nothing, {} selects everything.
bool matchesLabelSelector(const Json& selector, const Json& labels);

}  // namespace rampart::kubesim
