#include "rampart/engine_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <string_view>
#include <vector>

namespace rampart::engine {

double pointsValue(Centi centi) {
  return static_cast<double>(centi) / 100.0;
}

nlohmann::ordered_json refToJson(const ObjectRef& ref) {
  nlohmann::ordered_json j;
  j["kind"] = ref.kind;
  j["namespace"] = ref.namespace_;
  j["name"] = ref.name;
  return j;
}

namespace {

nlohmann::ordered_json nullIfEmpty(const std::string& s) {
  return s.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s);
}

nlohmann::ordered_json refsToJson(const std::vector<ObjectRef>& refs) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const ObjectRef& r : refs) a.push_back(refToJson(r));
  return a;
}

nlohmann::ordered_json domainsToJson(const std::vector<DomainImpact>& domains) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const DomainImpact& d : domains) a.push_back(domainImpactToJson(d));
  return a;
}

}  // namespace

nlohmann::ordered_json domainImpactToJson(const DomainImpact& d) {
  nlohmann::ordered_json j;
  j["name"] = d.name;
  j["nodes"] = d.nodes;
  j["outage"] = refsToJson(d.outage);
  j["below_pdb"] = refsToJson(d.below_pdb);
  j["quorum_lost"] = refsToJson(d.quorum_lost);
  return j;
}

nlohmann::ordered_json workloadScoreToJson(const WorkloadScore& w) {
  nlohmann::ordered_json o = refToJson(w.ref);
  o["score"] = pointsValue(w.score);
  o["replicas"] = w.replicas;
  o["ready"] = w.ready;
  o["weight"] = std::round(w.weight * 1000.0) / 1000.0;
  return o;
}

nlohmann::ordered_json findingToJson(const Finding& f) {
  nlohmann::ordered_json j;
  j["check"] = f.check;
  j["severity"] = std::string(severityName(f.severity));
  j["hard"] = f.hard;
  j["subject"] = refToJson(f.subject);
  j["workload"] = f.workload ? refToJson(*f.workload) : nlohmann::ordered_json(nullptr);
  j["pods"] = f.pods;
  j["node"] = nullIfEmpty(f.node);
  j["zone"] = nullIfEmpty(f.zone);
  j["details"] = f.details;
  j["message"] = f.message;
  j["remediation"] = f.remediation;
  j["runbook"] = f.runbook;
  j["points"] = pointsValue(f.points);
  j["cluster_points"] = pointsValue(f.cluster_points);
  return j;
}

nlohmann::ordered_json workloadExplanationToJson(const Report& report, const WorkloadScore& w) {
  nlohmann::ordered_json j;
  j["workload"] = workloadScoreToJson(w);
  j["lost"] = pointsValue(10000 - w.score);
  nlohmann::ordered_json findings = nlohmann::ordered_json::array();
  Centi cluster_points = 0;
  for (const Finding& f : report.findings) {
    if (!f.workload || *f.workload != w.ref) continue;
    cluster_points += f.cluster_points;
    findings.push_back(findingToJson(f));
  }
  j["cluster_points"] = pointsValue(cluster_points);
  j["findings"] = std::move(findings);
  auto taken_down_by = [&](const std::vector<DomainImpact>& domains) {
    nlohmann::ordered_json a = nlohmann::ordered_json::array();
    for (const DomainImpact& d : domains) {
      if (std::find(d.outage.begin(), d.outage.end(), w.ref) != d.outage.end() ||
          std::find(d.quorum_lost.begin(), d.quorum_lost.end(), w.ref) != d.quorum_lost.end()) {
        a.push_back(d.name);
      }
    }
    return a;
  };
  nlohmann::ordered_json lost_with;
  lost_with["nodes"] = taken_down_by(report.whatif.nodes);
  lost_with["zones"] = taken_down_by(report.whatif.zones);
  lost_with["regions"] = taken_down_by(report.whatif.regions);
  j["lost_with"] = std::move(lost_with);
  return j;
}

nlohmann::ordered_json reportToJson(const Report& report) {
  nlohmann::ordered_json j;
  j["schema"] = kAuditSchema;
  j["generated_at"] = formatRfc3339(report.now_unix);
  j["partial"] = report.partial;
  j["warnings"] = report.warnings;

  nlohmann::ordered_json score;
  score["cluster"] = pointsValue(report.score.cluster);
  nlohmann::ordered_json namespaces = nlohmann::ordered_json::object();
  for (const NamespaceScore& ns : report.score.namespaces) {
    namespaces[ns.name] = pointsValue(ns.score);
  }
  score["namespaces"] = std::move(namespaces);
  nlohmann::ordered_json workloads = nlohmann::ordered_json::array();
  for (const WorkloadScore& w : report.score.workloads) workloads.push_back(workloadScoreToJson(w));
  score["workloads"] = std::move(workloads);
  j["score"] = std::move(score);

  nlohmann::ordered_json findings = nlohmann::ordered_json::array();
  for (const Finding& f : report.findings) findings.push_back(findingToJson(f));
  j["findings"] = std::move(findings);

  nlohmann::ordered_json whatif;
  whatif["nodes"] = domainsToJson(report.whatif.nodes);
  whatif["zones"] = domainsToJson(report.whatif.zones);
  whatif["regions"] = domainsToJson(report.whatif.regions);
  j["whatif"] = std::move(whatif);
  return j;
}

namespace {

using Json = nlohmann::ordered_json;

// Writes JSON as nlohmann's serializer lays it out (compact, or pretty with
// `indent` spaces), so that writing a document piece by piece gives the bytes
// dump() gives for the same document built as a tree. Scalars that need care
// (doubles, strings that need escaping or UTF-8 checks, a finding's details)
// go through nlohmann's own serializer.
class Writer {
 public:
  Writer(std::string& out, int indent, Json::error_handler_t error_handler)
      : out_(out),
        pretty_(indent >= 0),
        indent_(pretty_ ? static_cast<unsigned>(indent) : 0),
        serializer_(nlohmann::detail::output_adapter<char, std::string>(out), ' ', error_handler) {}

  void beginObject() { open('{'); }
  void endObject() { close('}'); }
  void beginArray() { open('['); }
  void endArray() { close(']'); }

  void key(std::string_view k) {
    element();
    quoted(k);
    out_ += pretty_ ? ": " : ":";
    after_key_ = true;
  }

  void string(std::string_view s) {
    value();
    quoted(s);
  }
  void stringOrNull(const std::string& s) {
    if (s.empty()) {
      null();
    } else {
      string(s);
    }
  }
  void null() {
    value();
    out_ += "null";
  }
  void boolean(bool b) {
    value();
    out_ += b ? "true" : "false";
  }
  template <class Int>
  void integer(Int i) {
    value();
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, i);
    out_.append(buf, r.ptr);
  }
  void number(double d) {
    value();
    serializer_.dump(Json(d), pretty_, false, indent_, depth());
  }
  void json(const Json& j) {
    value();
    serializer_.dump(j, pretty_, false, indent_, depth());
  }

  void strings(const std::vector<std::string>& v) {
    beginArray();
    for (const std::string& s : v) string(s);
    endArray();
  }

 private:
  struct Level {
    size_t count = 0;
  };

  // Printable ASCII without '"' or '\\': written as it is under every
  // setting, no escaping and no UTF-8 check needed.
  static bool plain(std::string_view s) {
    for (char c : s) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u >= 0x80 || c == '"' || c == '\\') return false;
    }
    return true;
  }

  void quoted(std::string_view s) {
    if (plain(s)) {
      out_ += '"';
      out_ += s;
      out_ += '"';
    } else {
      serializer_.dump(Json(s), pretty_, false, indent_, depth());
    }
  }

  unsigned depth() const { return static_cast<unsigned>(levels_.size()) * indent_; }

  // Before an array element or an object key.
  void element() {
    if (levels_.empty()) return;
    if (levels_.back().count++ > 0) out_ += ',';
    if (pretty_) {
      out_ += '\n';
      out_.append(depth(), ' ');
    }
  }
  void value() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    element();
  }
  void open(char c) {
    value();
    out_ += c;
    levels_.push_back({});
  }
  void close(char c) {
    const bool empty = levels_.back().count == 0;
    levels_.pop_back();
    if (pretty_ && !empty) {
      out_ += '\n';
      out_.append(depth(), ' ');
    }
    out_ += c;
  }

  std::string& out_;
  bool pretty_;
  unsigned indent_;
  nlohmann::detail::serializer<Json> serializer_;
  std::vector<Level> levels_;
  bool after_key_ = false;
};

void writeRef(Writer& w, const ObjectRef& ref) {
  w.key("kind");
  w.string(ref.kind);
  w.key("namespace");
  w.string(ref.namespace_);
  w.key("name");
  w.string(ref.name);
}

void writeRefs(Writer& w, const std::vector<ObjectRef>& refs) {
  w.beginArray();
  for (const ObjectRef& r : refs) {
    w.beginObject();
    writeRef(w, r);
    w.endObject();
  }
  w.endArray();
}

void writeDomains(Writer& w, const std::vector<DomainImpact>& domains) {
  w.beginArray();
  for (const DomainImpact& d : domains) {
    w.beginObject();
    w.key("name");
    w.string(d.name);
    w.key("nodes");
    w.strings(d.nodes);
    w.key("outage");
    writeRefs(w, d.outage);
    w.key("below_pdb");
    writeRefs(w, d.below_pdb);
    w.key("quorum_lost");
    writeRefs(w, d.quorum_lost);
    w.endObject();
  }
  w.endArray();
}

void writeFinding(Writer& w, const Finding& f) {
  w.beginObject();
  w.key("check");
  w.string(f.check);
  w.key("severity");
  w.string(severityName(f.severity));
  w.key("hard");
  w.boolean(f.hard);
  w.key("subject");
  w.beginObject();
  writeRef(w, f.subject);
  w.endObject();
  w.key("workload");
  if (f.workload) {
    w.beginObject();
    writeRef(w, *f.workload);
    w.endObject();
  } else {
    w.null();
  }
  w.key("pods");
  w.strings(f.pods);
  w.key("node");
  w.stringOrNull(f.node);
  w.key("zone");
  w.stringOrNull(f.zone);
  w.key("details");
  w.json(f.details);
  w.key("message");
  w.string(f.message);
  w.key("remediation");
  w.string(f.remediation);
  w.key("runbook");
  w.string(f.runbook);
  w.key("points");
  w.number(pointsValue(f.points));
  w.key("cluster_points");
  w.number(pointsValue(f.cluster_points));
  w.endObject();
}

}  // namespace

std::string dumpReport(const Report& report, int indent, Json::error_handler_t error_handler) {
  // The tree keeps one entry per key, in first-seen order: namespaces that
  // are not strictly sorted (never so from the engine) are left to it.
  for (size_t i = 1; i < report.score.namespaces.size(); ++i) {
    if (!(report.score.namespaces[i - 1].name < report.score.namespaces[i].name)) {
      return reportToJson(report).dump(indent, ' ', false, error_handler);
    }
  }

  std::string out;
  // ~700 bytes per finding compact, about twice that indented.
  out.reserve(4096 + report.findings.size() * (indent >= 0 ? 1400 : 700));
  Writer w(out, indent, error_handler);
  w.beginObject();
  w.key("schema");
  w.string(kAuditSchema);
  w.key("generated_at");
  w.string(formatRfc3339(report.now_unix));
  w.key("partial");
  w.boolean(report.partial);
  w.key("warnings");
  w.strings(report.warnings);

  w.key("score");
  w.beginObject();
  w.key("cluster");
  w.number(pointsValue(report.score.cluster));
  w.key("namespaces");
  w.beginObject();
  for (const NamespaceScore& ns : report.score.namespaces) {
    w.key(ns.name);
    w.number(pointsValue(ns.score));
  }
  w.endObject();
  w.key("workloads");
  w.beginArray();
  for (const WorkloadScore& ws : report.score.workloads) {
    w.beginObject();
    writeRef(w, ws.ref);
    w.key("score");
    w.number(pointsValue(ws.score));
    w.key("replicas");
    w.integer(ws.replicas);
    w.key("ready");
    w.integer(ws.ready);
    w.key("weight");
    w.number(std::round(ws.weight * 1000.0) / 1000.0);
    w.endObject();
  }
  w.endArray();
  w.endObject();

  w.key("findings");
  w.beginArray();
  for (const Finding& f : report.findings) writeFinding(w, f);
  w.endArray();

  w.key("whatif");
  w.beginObject();
  w.key("nodes");
  writeDomains(w, report.whatif.nodes);
  w.key("zones");
  writeDomains(w, report.whatif.zones);
  w.key("regions");
  writeDomains(w, report.whatif.regions);
  w.endObject();
  w.endObject();
  return out;
}

}  // namespace rampart::engine
