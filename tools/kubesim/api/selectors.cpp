#include "api/selectors.h"

#include <algorithm>

#include "rampart/text.h"

namespace rampart::kubesim {
namespace {

// Splits on commas that are not inside parentheses.
std::vector<std::string_view> splitTerms(std::string_view text) {
  std::vector<std::string_view> out;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '(') ++depth;
    if (text[i] == ')') --depth;
    if (text[i] == ',' && depth == 0) {
      out.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(text.substr(start));
  return out;
}

bool validKey(std::string_view key) {
  if (key.empty() || key.size() > 317) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == '/';
  });
}

bool validValue(std::string_view value) {
  return value.size() <= 63 && std::all_of(value.begin(), value.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
         });
}

std::unexpected<Error> parseError(std::string_view term, std::string_view why) {
  return fail(ErrorCode::kParse,
              "unable to parse requirement: " + std::string(why) + ": '" + std::string(term) + "'",
              400);
}

std::optional<std::string> labelOf(const Json& labels, const std::string& key) {
  if (!labels.is_object()) return std::nullopt;
  auto it = labels.find(key);
  if (it == labels.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

bool requirementMatches(const LabelRequirement& r, const Json& labels) {
  auto value = labelOf(labels, r.key);
  auto in = [&] {
    return value && std::find(r.values.begin(), r.values.end(), *value) != r.values.end();
  };
  switch (r.op) {
    case SelectorOp::kEquals:
    case SelectorOp::kIn:
      return in();
    case SelectorOp::kNotEquals:
    case SelectorOp::kNotIn:
      return !in();
    case SelectorOp::kExists:
      return value.has_value();
    case SelectorOp::kDoesNotExist:
      return !value.has_value();
  }
  return false;
}

}  // namespace

Result<LabelQuery> LabelQuery::parse(std::string_view text) {
  LabelQuery q;
  if (trim(text).empty()) return q;
  for (auto raw : splitTerms(text)) {
    auto term = trim(raw);
    if (term.empty()) return parseError(text, "empty requirement");
    LabelRequirement r;
    if (term.front() == '!') {
      r.key = std::string(trim(term.substr(1)));
      r.op = SelectorOp::kDoesNotExist;
    } else if (auto paren = term.find('('); paren != std::string_view::npos) {
      if (term.back() != ')') return parseError(term, "expected ')'");
      auto head = trim(term.substr(0, paren));
      auto space = head.rfind(' ');
      if (space == std::string_view::npos) return parseError(term, "expected 'in' or 'notin'");
      auto op = head.substr(space + 1);
      r.key = std::string(trim(head.substr(0, space)));
      if (op == "in") {
        r.op = SelectorOp::kIn;
      } else if (op == "notin") {
        r.op = SelectorOp::kNotIn;
      } else {
        return parseError(term, "expected 'in' or 'notin'");
      }
      auto inner = term.substr(paren + 1, term.size() - paren - 2);
      for (auto v : splitTerms(inner)) {
        auto value = trim(v);
        if (!validValue(value)) return parseError(term, "invalid label value");
        if (!value.empty()) r.values.emplace_back(value);
      }
      if (r.values.empty())
        return parseError(term, "for 'in', 'notin' operators, values set can't be empty");
    } else if (auto ne = term.find("!="); ne != std::string_view::npos) {
      r.key = std::string(trim(term.substr(0, ne)));
      r.op = SelectorOp::kNotEquals;
      r.values.emplace_back(trim(term.substr(ne + 2)));
    } else if (auto eq2 = term.find("=="); eq2 != std::string_view::npos) {
      r.key = std::string(trim(term.substr(0, eq2)));
      r.values.emplace_back(trim(term.substr(eq2 + 2)));
    } else if (auto eq = term.find('='); eq != std::string_view::npos) {
      r.key = std::string(trim(term.substr(0, eq)));
      r.values.emplace_back(trim(term.substr(eq + 1)));
    } else {
      r.key = std::string(term);
      r.op = SelectorOp::kExists;
    }
    if (!validKey(r.key)) return parseError(term, "invalid label key");
    for (const auto& v : r.values) {
      if (!validValue(v)) return parseError(term, "invalid label value");
    }
    q.requirements_.push_back(std::move(r));
  }
  return q;
}

bool LabelQuery::matches(const Json& labels) const {
  return std::all_of(requirements_.begin(), requirements_.end(),
                     [&](const LabelRequirement& r) { return requirementMatches(r, labels); });
}

Result<FieldQuery> FieldQuery::parse(std::string_view text,
                                     const std::vector<std::string>& supported) {
  FieldQuery q;
  if (trim(text).empty()) return q;
  for (auto raw : splitTerms(text)) {
    auto term = trim(raw);
    FieldRequirement r;
    size_t op_len = 0;
    size_t pos = std::string_view::npos;
    const size_t not_equal = term.find("!=");
    const size_t double_equal = term.find("==");
    const size_t single_equal = term.find('=');
    if (not_equal != std::string_view::npos) {
      pos = not_equal;
      r.equals = false;
      op_len = 2;
    } else if (double_equal != std::string_view::npos) {
      pos = double_equal;
      op_len = 2;
    } else if (single_equal != std::string_view::npos) {
      pos = single_equal;
      op_len = 1;
    } else {
      return fail(ErrorCode::kParse,
                  "invalid field selector: '" + std::string(term) + "': expected an operator", 400);
    }
    r.field = std::string(trim(term.substr(0, pos)));
    r.value = std::string(trim(term.substr(pos + op_len)));
    if (std::find(supported.begin(), supported.end(), r.field) == supported.end()) {
      return fail(ErrorCode::kParse, "field label not supported: " + r.field, 400);
    }
    q.requirements_.push_back(std::move(r));
  }
  return q;
}

bool FieldQuery::matches(const Json& object) const {
  return std::all_of(requirements_.begin(), requirements_.end(), [&](const FieldRequirement& r) {
    return (fieldValue(object, r.field) == r.value) == r.equals;
  });
}

std::string fieldValue(const Json& object, std::string_view field) {
  const Json* cur = &object;
  size_t start = 0;
  while (start <= field.size()) {
    size_t dot = field.find('.', start);
    std::string part(field.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (!cur->is_object()) return "";
    auto it = cur->find(part);
    if (it == cur->end()) return "";
    cur = &*it;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (cur->is_string()) return cur->get<std::string>();
  if (cur->is_boolean()) return cur->get<bool>() ? "true" : "false";
  if (cur->is_number()) return cur->dump();
  return "";
}

bool matchesLabelSelector(const Json& selector, const Json& labels) {
  if (!selector.is_object()) return false;
  if (auto it = selector.find("matchLabels"); it != selector.end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) {
      auto have = labelOf(labels, k);
      if (!have || !v.is_string() || *have != v.get<std::string>()) return false;
    }
  }
  if (auto it = selector.find("matchExpressions"); it != selector.end() && it->is_array()) {
    for (const auto& expr : *it) {
      LabelRequirement r;
      r.key = expr.value("key", "");
      const std::string op = expr.value("operator", "");
      if (op == "In") {
        r.op = SelectorOp::kIn;
      } else if (op == "NotIn") {
        r.op = SelectorOp::kNotIn;
      } else if (op == "Exists") {
        r.op = SelectorOp::kExists;
      } else if (op == "DoesNotExist") {
        r.op = SelectorOp::kDoesNotExist;
      } else {
        return false;
      }
      if (auto values = expr.find("values"); values != expr.end() && values->is_array()) {
        for (const auto& v : *values) {
          if (v.is_string()) r.values.push_back(v.get<std::string>());
        }
      }
      if (!requirementMatches(r, labels)) return false;
    }
  }
  return true;
}

}  // namespace rampart::kubesim
