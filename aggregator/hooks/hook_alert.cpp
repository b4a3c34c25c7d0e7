#include "hooks/hook_alert.h"

#include <cctype>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "rampart/text.h"
#include "rampart/time.h"

#include "alerts/alert_rules.h"

namespace rampart::aggregator {
namespace {

using nlohmann::json;

constexpr int kMaxDepth = 32;
constexpr size_t kMaxTimestamp = 64;

// The deepest nesting of arrays and objects, outside strings; stops counting
// past `limit`. The parser is never handed a document deeper than that.
int nestingDepth(std::string_view body, int limit) {
  int depth = 0, max = 0;
  bool in_string = false, escape = false;
  for (char c : body) {
    if (in_string) {
      if (escape) {
        escape = false;
      } else if (c == '\\') {
        escape = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max) max = depth;
      if (max > limit) return max;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max;
}

Result<std::string> stringField(const json& obj, const char* name, bool required,
                                const std::string& where) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) {
    if (required) return fail(ErrorCode::kParse, where + name + ": missing");
    return std::string();
  }
  if (!it->is_string()) return fail(ErrorCode::kParse, where + name + ": expected a string");
  return it->get<std::string>();
}

Result<std::map<std::string, std::string>> stringMap(const json& obj, const char* name,
                                                     const std::string& where) {
  std::map<std::string, std::string> out;
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_object()) return fail(ErrorCode::kParse, where + name + ": expected an object");
  for (auto kv = it->begin(); kv != it->end(); ++kv) {
    if (!kv->is_string()) {
      return fail(ErrorCode::kParse, where + name + ": values must be strings");
    }
    if (kv.key().empty()) return fail(ErrorCode::kParse, where + name + ": empty name");
    out[kv.key()] = kv->get<std::string>();
  }
  return out;
}

bool isHex(std::string_view s) {
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string label(const std::map<std::string, std::string>& m, const std::string& name) {
  auto it = m.find(name);
  return it == m.end() ? std::string() : it->second;
}

bool anyGlob(const std::vector<std::string>& patterns, const std::string& value) {
  if (patterns.empty()) return true;
  for (const auto& p : patterns) {
    if (globMatch(p, value)) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> canonicalTime(std::string_view s) {
  auto t = parseRfc3339(s);
  if (!t || t->fraction_digits > 9) return std::nullopt;
  std::string out = formatRfc3339(t->unix_seconds);  // "...:SSZ"
  out.pop_back();
  if (t->nanos != 0) {
    char fraction[16];
    std::snprintf(fraction, sizeof fraction, ".%09u", static_cast<unsigned>(t->nanos));
    std::string f(fraction);
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "Z";
}

std::string HookAlert::alertname() const {
  return label(labels, "alertname");
}

Result<WebhookPayload> parseWebhookPayload(std::string_view body) {
  if (nestingDepth(body, kMaxDepth) > kMaxDepth) {
    return fail(ErrorCode::kParse, "JSON nested deeper than " + std::to_string(kMaxDepth));
  }
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) return fail(ErrorCode::kParse, "invalid JSON");
  if (!doc.is_object()) return fail(ErrorCode::kParse, "expected a JSON object");
  WebhookPayload p;
  auto version = stringField(doc, "version", true, "");
  if (!version) return std::unexpected(version.error());
  if (*version != "4") {
    return fail(ErrorCode::kParse, "unsupported version (Rampart reads version \"4\")");
  }
  p.version = *version;
  for (auto [field, name] : {std::pair{&p.group_key, "groupKey"},
                             {&p.status, "status"},
                             {&p.receiver, "receiver"},
                             {&p.external_url, "externalURL"}}) {
    auto v = stringField(doc, name, false, "");
    if (!v) return std::unexpected(v.error());
    *field = std::move(*v);
  }
  auto alerts = doc.find("alerts");
  if (alerts == doc.end() || !alerts->is_array()) {
    return fail(ErrorCode::kParse, "alerts: expected an array");
  }
  for (size_t i = 0; i < alerts->size(); ++i) {
    const json& a = (*alerts)[i];
    const std::string where = "alerts[" + std::to_string(i) + "].";
    if (!a.is_object()) return fail(ErrorCode::kParse, where + ": expected an object");
    HookAlert alert;
    auto status = stringField(a, "status", true, where);
    if (!status) return std::unexpected(status.error());
    if (*status != "firing" && *status != "resolved") {
      return fail(ErrorCode::kParse, where + "status: expected firing or resolved");
    }
    alert.status = *status;
    auto labels = stringMap(a, "labels", where);
    if (!labels) return std::unexpected(labels.error());
    alert.labels = std::move(*labels);
    auto annotations = stringMap(a, "annotations", where);
    if (!annotations) return std::unexpected(annotations.error());
    alert.annotations = std::move(*annotations);
    auto starts = stringField(a, "startsAt", true, where);
    if (!starts) return std::unexpected(starts.error());
    auto canonical = starts->size() <= kMaxTimestamp ? canonicalTime(*starts) : std::nullopt;
    if (!canonical) return fail(ErrorCode::kParse, where + "startsAt: expected an RFC 3339 time");
    alert.starts_at = *canonical;
    for (auto [field, name] : {std::pair{&alert.ends_at, "endsAt"},
                               {&alert.generator_url, "generatorURL"},
                               {&alert.fingerprint, "fingerprint"}}) {
      auto v = stringField(a, name, false, where);
      if (!v) return std::unexpected(v.error());
      *field = std::move(*v);
    }
    if (alert.ends_at.size() > kMaxTimestamp) {
      return fail(ErrorCode::kParse, where + "endsAt: expected an RFC 3339 time");
    }
    if (alert.fingerprint.empty()) {
      alert.fingerprint = alertFingerprint(alert.labels);
    } else if (alert.fingerprint.size() > 32 || !isHex(alert.fingerprint)) {
      return fail(ErrorCode::kParse, where + "fingerprint: expected hex digits");
    }
    if (alert.labels.empty()) return fail(ErrorCode::kParse, where + "labels: empty");
    alert.external_url = p.external_url;
    alert.key = "alert|" + alert.fingerprint;
    alert.finding = alertFinding(alert);
    p.alerts.push_back(std::move(alert));
  }
  return p;
}

engine::Severity alertSeverity(std::string_view s) {
  using engine::Severity;
  if (s == "critical" || s == "page") return Severity::kCritical;
  if (s == "high" || s == "error") return Severity::kHigh;
  if (s == "medium" || s == "warning") return Severity::kMedium;
  if (s == "low") return Severity::kLow;
  return Severity::kInfo;
}

engine::Finding alertFinding(const HookAlert& a) {
  engine::Finding f;
  const std::string alertname = a.alertname();
  const std::string check = label(a.labels, "check");
  f.check = check.empty() ? "alert:" + alertname : check;
  f.severity = alertSeverity(label(a.labels, "severity"));
  const std::string ns = label(a.labels, "namespace");
  f.node = label(a.labels, "node");
  f.zone = label(a.labels, "zone");
  // "Kind ns/name", "Kind name" or "Cluster", as the aggregator's alerts say.
  const std::string subject = label(a.labels, "subject");
  const auto space = subject.find(' ');
  if (subject == "Cluster") {
    f.subject = {"Cluster", "", ""};
  } else if (space != std::string::npos && space > 0 && space + 1 < subject.size()) {
    const std::string rest = subject.substr(space + 1);
    const auto slash = rest.find('/');
    if (slash == std::string::npos) {
      f.subject = {subject.substr(0, space), "", rest};
    } else {
      f.subject = {subject.substr(0, space), rest.substr(0, slash), rest.substr(slash + 1)};
    }
  } else if (const std::string pod = label(a.labels, "pod"); !pod.empty()) {
    f.subject = {"Pod", ns, pod};
  } else if (!f.node.empty()) {
    f.subject = {"Node", "", f.node};
  } else {
    f.subject = {"Alert", ns, alertname};
  }
  if (const std::string workload = label(a.labels, "workload"); !workload.empty()) {
    f.workload = engine::ObjectRef{label(a.labels, "workload_kind"), ns, workload};
  }
  f.message = label(a.annotations, "summary");
  if (f.message.empty()) f.message = label(a.annotations, "description");
  if (f.message.empty()) f.message = alertname;
  f.runbook = label(a.annotations, "runbook_url");
  return f;
}

bool hookMatchesAlert(const HookMatch& m, const HookAlert& a) {
  if (!m.checks.empty()) {
    const std::string by_name = "alert:" + a.alertname();
    const std::string check = label(a.labels, "check");
    bool any = false;
    for (const auto& p : m.checks) {
      if (globMatch(p, by_name) || (!check.empty() && globMatch(p, check))) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  for (const auto& [name, patterns] : m.alert_labels) {
    if (!anyGlob(patterns, label(a.labels, name))) return false;
  }
  HookMatch rest = m;
  rest.checks.clear();
  rest.alert_labels.clear();
  return hookMatches(rest, a.finding);
}

bool isOwnAlert(const HookAlert& a, std::string_view cluster, std::string_view external_url) {
  if (!external_url.empty() && a.generator_url.starts_with(external_url)) return true;
  auto check = a.labels.find("check");
  auto c = a.labels.find("cluster");
  return check != a.labels.end() && !check->second.empty() && c != a.labels.end() &&
         c->second == cluster;
}

}  // namespace rampart::aggregator
