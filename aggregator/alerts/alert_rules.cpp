#include "alerts/alert_rules.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "rampart/files.h"
#include "rampart/finding_key.h"
#include "rampart/text.h"

namespace rampart::aggregator {
namespace {

// Base labels a rule's extra labels may not replace: they are the contract
// Alertmanager routes and groups by.
constexpr std::array<std::string_view, 10> kReservedLabels = {
    "alertname", "cluster",  "check", "severity", "subject",
    "namespace", "workload", "node",  "zone",     "failure_domain"};

bool validLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::optional<engine::Severity> parseSeverity(std::string_view s) {
  for (auto sev : {engine::Severity::kInfo, engine::Severity::kLow, engine::Severity::kMedium,
                   engine::Severity::kHigh, engine::Severity::kCritical}) {
    if (engine::severityName(sev) == s) return sev;
  }
  return std::nullopt;
}

// Errors carry the file and the 1-based line of the node at fault.
class RulesParser {
 public:
  explicit RulesParser(std::string source) : source_(std::move(source)) {}

  Result<AlertRules> parse(std::string_view yaml) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(yaml));
    } catch (const YAML::ParserException& e) {
      return fail(ErrorCode::kConfig,
                  source_ + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
    }
    AlertRules out;
    if (!root || root.IsNull()) return out;  // an empty file: no rules, no alerts
    if (!root.IsMap()) return error(root, "the top level must be a mapping with `rules`");
    if (auto r = onlyKeys(root, {"rules"}, "top level"); !r) return std::unexpected(r.error());
    YAML::Node rules = root["rules"];
    if (!rules || rules.IsNull()) return out;
    if (!rules.IsSequence()) return error(rules, "`rules` must be a list");
    for (size_t i = 0; i < rules.size(); ++i) {
      auto rule = parseRule(rules[i], "rules[" + std::to_string(i) + "]");
      if (!rule) return std::unexpected(rule.error());
      out.rules.push_back(std::move(*rule));
    }
    return out;
  }

 private:
  std::unexpected<Error> error(const YAML::Node& at, const std::string& what) const {
    int line = at.Mark().line >= 0 ? at.Mark().line + 1 : 0;
    return fail(ErrorCode::kConfig, source_ + ":" + std::to_string(line) + ": " + what);
  }

  Result<void> onlyKeys(const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                        const std::string& where) const {
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it->first.IsScalar()) return error(it->first, where + ": keys must be strings");
      std::string key = it->first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        return error(it->first,
                     fmt::format("{}: unknown key `{}` (allowed: {})", where, key, list));
      }
    }
    return {};
  }

  Result<std::string> scalar(const YAML::Node& n, const std::string& where) const {
    if (!n.IsScalar()) return error(n, where + " must be a string");
    return n.Scalar();
  }

  // A string or a list of strings.
  Result<std::vector<std::string>> strings(const YAML::Node& n, const std::string& where) const {
    std::vector<std::string> out;
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
    } else if (n.IsSequence()) {
      for (const auto& item : n) {
        auto s = scalar(item, where + " items");
        if (!s) return std::unexpected(s.error());
        out.push_back(*s);
      }
    } else {
      return error(n, where + " must be a string or a list of strings");
    }
    if (out.empty()) return error(n, where + " must not be empty");
    return out;
  }

  Result<std::vector<std::pair<std::string, AlertTemplate>>> templates(const YAML::Node& n,
                                                                       const std::string& where,
                                                                       bool label_names) const {
    std::vector<std::pair<std::string, AlertTemplate>> out;
    if (n.IsNull()) return out;
    if (!n.IsMap()) return error(n, where + " must be a mapping");
    for (auto it = n.begin(); it != n.end(); ++it) {
      auto key = scalar(it->first, where + " keys");
      if (!key) return std::unexpected(key.error());
      if (!validLabelName(*key)) {
        return error(it->first, where + ": `" + *key + "` is not a valid label name");
      }
      if (label_names && std::find(kReservedLabels.begin(), kReservedLabels.end(), *key) !=
                             kReservedLabels.end()) {
        return error(it->first, where + ": `" + *key +
                                    "` is set by Rampart (use alertname/severity fields for "
                                    "those two)");
      }
      auto text = scalar(it->second, where + "." + *key);
      if (!text) return std::unexpected(text.error());
      auto t = AlertTemplate::parse(*text);
      if (!t) return error(it->second, where + "." + *key + ": " + t.error().message);
      out.emplace_back(*key, std::move(*t));
    }
    return out;
  }

  Result<AlertRule> parseRule(const YAML::Node& n, const std::string& where) const {
    if (!n.IsMap()) return error(n, where + " must be a mapping");
    if (auto r =
            onlyKeys(n, {"name", "match", "alertname", "severity", "labels", "annotations"}, where);
        !r) {
      return std::unexpected(r.error());
    }
    AlertRule rule;
    rule.line = n.Mark().line + 1;
    rule.name = where;
    if (n["name"]) {
      auto s = scalar(n["name"], where + ".name");
      if (!s) return std::unexpected(s.error());
      rule.name = *s;
    }
    if (!n["alertname"]) return error(n, where + ": `alertname` is required");
    auto alertname = scalar(n["alertname"], where + ".alertname");
    if (!alertname) return std::unexpected(alertname.error());
    if (alertname->empty()) return error(n["alertname"], where + ".alertname must not be empty");
    rule.alertname = *alertname;
    if (n["severity"]) {
      auto s = scalar(n["severity"], where + ".severity");
      if (!s) return std::unexpected(s.error());
      if (s->empty()) return error(n["severity"], where + ".severity must not be empty");
      rule.severity = *s;
    }
    if (YAML::Node m = n["match"]; m && !m.IsNull()) {
      if (!m.IsMap()) return error(m, where + ".match must be a mapping");
      if (auto r = onlyKeys(m, {"checks", "minSeverity", "labels"}, where + ".match"); !r) {
        return std::unexpected(r.error());
      }
      if (m["checks"]) {
        auto c = strings(m["checks"], where + ".match.checks");
        if (!c) return std::unexpected(c.error());
        rule.checks = std::move(*c);
      }
      if (m["minSeverity"]) {
        auto s = scalar(m["minSeverity"], where + ".match.minSeverity");
        if (!s) return std::unexpected(s.error());
        auto sev = parseSeverity(*s);
        if (!sev) {
          return error(m["minSeverity"], where + ".match.minSeverity: unknown severity `" + *s +
                                             "` (info, low, medium, high, critical)");
        }
        rule.min_severity = *sev;
      }
      if (YAML::Node l = m["labels"]; l && !l.IsNull()) {
        if (!l.IsMap()) return error(l, where + ".match.labels must be a mapping");
        for (auto it = l.begin(); it != l.end(); ++it) {
          auto k = scalar(it->first, where + ".match.labels keys");
          if (!k) return std::unexpected(k.error());
          auto v = scalar(it->second, where + ".match.labels." + *k);
          if (!v) return std::unexpected(v.error());
          rule.match_labels.emplace_back(*k, *v);
        }
      }
    }
    if (n["labels"]) {
      auto l = templates(n["labels"], where + ".labels", true);
      if (!l) return std::unexpected(l.error());
      rule.labels = std::move(*l);
    }
    if (n["annotations"]) {
      auto a = templates(n["annotations"], where + ".annotations", false);
      if (!a) return std::unexpected(a.error());
      rule.annotations = std::move(*a);
    }
    return rule;
  }

  std::string source_;
};

// Prometheus' FNV-1a 64 (prometheus/common model/fnv.go).
constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

uint64_t fnvAdd(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

uint64_t fnvAddByte(uint64_t h, unsigned char b) {
  h ^= b;
  h *= kFnvPrime;
  return h;
}

// A workload or domain name from the finding's details (some checks name
// their node or zone there rather than in the finding's fields).
std::string detailString(const engine::Finding& f, const char* key) {
  auto it = f.details.find(key);
  if (it != f.details.end() && it->is_string()) return it->get<std::string>();
  return "";
}

}  // namespace

const std::vector<std::string>& templateFieldNames() {
  static const std::vector<std::string> kNames = {
      "alertname",   "check",   "cluster",  "failure_domain", "message",  "namespace", "node",
      "remediation", "runbook", "severity", "subject",        "workload", "zone"};
  return kNames;
}

Result<AlertTemplate> AlertTemplate::parse(std::string_view text) {
  AlertTemplate t;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      t.parts_.push_back({false, std::string(text.substr(pos))});
      break;
    }
    if (open > pos) t.parts_.push_back({false, std::string(text.substr(pos, open - pos))});
    size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return fail(ErrorCode::kConfig,
                  "template: `{{` at offset " + std::to_string(open) + " is not closed by `}}`");
    }
    std::string inner(trim(text.substr(open + 2, close - open - 2)));
    if (inner.size() < 2 || inner[0] != '.') {
      return fail(ErrorCode::kConfig,
                  "template: `{{ " + inner + " }}`: only `{{ .field }}` is supported");
    }
    std::string name = inner.substr(1);
    const auto& names = templateFieldNames();
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      return fail(ErrorCode::kConfig,
                  fmt::format("template: unknown field `.{}` (fields: {})", name, list));
    }
    t.parts_.push_back({true, std::move(name)});
    pos = close + 2;
  }
  return t;
}

std::string AlertTemplate::render(const TemplateFields& fields) const {
  std::string out;
  for (const auto& p : parts_) {
    if (!p.field) {
      out += p.text;
    } else if (auto it = fields.find(p.text); it != fields.end()) {
      out += it->second;
    }
  }
  return out;
}

Result<AlertRules> parseAlertRules(std::string_view yaml, const std::string& source) {
  return RulesParser(source).parse(yaml);
}

Result<AlertRules> loadAlertRules(const std::filesystem::path& path) {
  if (path.empty()) return parseAlertRules(defaultAlertRulesYaml(), "built-in alert-rules.yaml");
  auto text = readFile(path);
  if (!text) return fail(ErrorCode::kConfig, "cannot read alert rules " + path.string());
  return parseAlertRules(*text, path.string());
}

AlertLabels baseAlertLabels(const engine::Finding& f, const std::string& cluster) {
  AlertLabels l;
  auto put = [&](const char* name, std::string value) {
    if (!value.empty()) l[name] = std::move(value);
  };
  put("cluster", cluster);
  put("check", f.check);
  put("severity", std::string(engine::severityName(f.severity)));
  put("subject", f.subject.str());
  put("namespace", f.workload ? f.workload->namespace_ : f.subject.namespace_);
  put("workload", f.workload ? f.workload->name : "");
  std::string node = !f.node.empty() ? f.node : detailString(f, "node");
  std::string zone = !f.zone.empty() ? f.zone : detailString(f, "zone");
  if (node.empty() && f.subject.kind == "Node") node = f.subject.name;
  put("node", node);
  put("zone", zone);
  l["failure_domain"] = !zone.empty() ? zone : !node.empty() ? node : "cluster";
  return l;
}

std::vector<DesiredAlert> desiredAlerts(const AlertRules& rules, const engine::Report& report,
                                        const std::string& cluster) {
  std::map<std::string, DesiredAlert> by_fp;
  for (const auto& f : report.findings) {
    AlertLabels base;
    bool base_done = false;
    const AlertRule* rule = nullptr;
    for (const auto& r : rules.rules) {
      if (f.severity < r.min_severity) continue;
      if (std::none_of(r.checks.begin(), r.checks.end(),
                       [&](const std::string& g) { return globMatch(g, f.check); })) {
        continue;
      }
      if (!r.match_labels.empty()) {
        if (!base_done) {
          base = baseAlertLabels(f, cluster);
          base_done = true;
        }
        bool ok = true;
        for (const auto& [name, glob] : r.match_labels) {
          auto it = base.find(name);
          if (!globMatch(glob, it == base.end() ? "" : it->second)) {
            ok = false;
            break;
          }
        }
        if (!ok) continue;
      }
      rule = &r;
      break;
    }
    if (rule == nullptr) continue;
    if (!base_done) base = baseAlertLabels(f, cluster);
    TemplateFields fields;
    for (const auto& [k, v] : base) fields.emplace(k, v);
    fields["alertname"] = rule->alertname;
    fields["message"] = f.message;
    fields["remediation"] = f.remediation;
    fields["runbook"] = f.runbook;
    if (rule->severity) {
      base["severity"] = *rule->severity;
      fields["severity"] = *rule->severity;
    }
    DesiredAlert a;
    a.labels = std::move(base);
    a.labels["alertname"] = rule->alertname;
    for (const auto& [name, t] : rule->labels) {
      std::string v = t.render(fields);
      if (!v.empty()) a.labels[name] = std::move(v);
    }
    for (const auto& [name, t] : rule->annotations) {
      std::string v = t.render(fields);
      if (!v.empty()) a.annotations[name] = std::move(v);
    }
    a.fingerprint = alertFingerprint(a.labels);
    a.finding_key = engine::findingKey(f);
    by_fp.try_emplace(a.fingerprint, std::move(a));
  }
  std::vector<DesiredAlert> out;
  out.reserve(by_fp.size());
  for (auto& [fp, a] : by_fp) out.push_back(std::move(a));
  return out;
}

std::string alertFingerprint(const AlertLabels& labels) {
  uint64_t h = kFnvOffset;
  for (const auto& [name, value] : labels) {  // std::map: sorted by name, as Go's sort.Strings
    h = fnvAdd(h, name);
    h = fnvAddByte(h, 0xff);
    h = fnvAdd(h, value);
    h = fnvAddByte(h, 0xff);
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace rampart::aggregator
