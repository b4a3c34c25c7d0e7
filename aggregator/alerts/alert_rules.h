// Alert rules: which findings become Alertmanager alerts, with which labels
// and annotations. Pure: rules are parsed from text and evaluated on a report;
// no I/O except loadAlertRules reading its file. docs/alerts.md is the
// contract (rules format, labels, template fields, fingerprints).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rampart/engine.h"
#include "rampart/error.h"

namespace rampart::aggregator {

using AlertLabels = std::map<std::string, std::string>;

// The fields a template may name: `{{ .message }}` etc. (docs/alerts.md).
using TemplateFields = std::map<std::string, std::string, std::less<>>;

// A text with `{{ .field }}` placeholders, parsed once. Substitution only:
// nothing in a template or a value is ever evaluated.
class AlertTemplate {
 public:
  // Fails on an unclosed `{{`, anything but `.field` inside the braces, or a
  // field that is not one of templateFieldNames().
  static Result<AlertTemplate> parse(std::string_view text);
  // Missing fields render as "".
  std::string render(const TemplateFields& fields) const;

 private:
  struct Part {
    bool field = false;
    std::string text;  // literal text, or the field's name
  };
  std::vector<Part> parts_;
};

const std::vector<std::string>& templateFieldNames();

struct AlertRule {
  std::string name;                      // the rule's `name`, or "rules[N]"
  int line = 0;                          // 1-based line of the rule in its file
  std::vector<std::string> checks{"*"};  // globs on the check id
  engine::Severity min_severity = engine::Severity::kInfo;
  std::vector<std::pair<std::string, std::string>> match_labels;  // base label -> glob
  std::string alertname;
  std::optional<std::string> severity;  // overrides the finding's severity label
  std::vector<std::pair<std::string, AlertTemplate>> labels;
  std::vector<std::pair<std::string, AlertTemplate>> annotations;
};

struct AlertRules {
  std::vector<AlertRule> rules;  // first match wins
};

// Parses the YAML rules. Errors read "SOURCE:LINE: what" (unknown keys,
// wrong types, bad severities, label names or templates are errors).
Result<AlertRules> parseAlertRules(std::string_view yaml, const std::string& source);

// The shipped defaults: aggregator/config/alert-rules.yaml, embedded at build
// time.
std::string_view defaultAlertRulesYaml();

// `path` empty: the shipped defaults.
Result<AlertRules> loadAlertRules(const std::filesystem::path& path);

// An alert the rules want firing now.
struct DesiredAlert {
  std::string fingerprint;  // alertFingerprint(labels)
  std::string finding_key;  // rampart/finding_key.h
  AlertLabels labels;
  AlertLabels annotations;
};

// The labels every alert of `finding` carries (docs/alerts.md): cluster,
// check, severity, subject, namespace, workload, node, zone (empty ones
// omitted) and failure_domain.
AlertLabels baseAlertLabels(const engine::Finding& finding, const std::string& cluster);

// The alerts `report` calls for, sorted by fingerprint. Each finding takes the
// first rule that matches it (or none). Two findings giving the same label set
// make one alert (the first in report order supplies the annotations).
std::vector<DesiredAlert> desiredAlerts(const AlertRules& rules, const engine::Report& report,
                                        const std::string& cluster);

// Alertmanager's fingerprint of a label set (Prometheus' model.LabelSet
// fingerprint: FNV-1a 64 over the sorted names and values, each followed by
// 0xff), as 16 lower-case hex digits: the `fingerprint` Alertmanager shows.
std::string alertFingerprint(const AlertLabels& labels);

}  // namespace rampart::aggregator
