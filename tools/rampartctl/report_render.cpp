// Text, Markdown, explanation-tree and what-if renderings of an engine report.
// The JSON rendering is the public contract (engine/engine_json.cpp); these
// are for people and may change.
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "audit.h"
#include "rampart/engine_json.h"

namespace rampart::ctl {
namespace {

using engine::Centi;
using engine::DomainImpact;
using engine::Finding;
using engine::ObjectRef;
using engine::Report;
using engine::Severity;

std::string pts(Centi c) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(c) / 100.0);
  std::string s = buf;
  // 72.50 -> 72.5, 72.00 -> 72: what a person expects to read.
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

struct Style {
  bool on = false;
  std::string wrap(const std::string& s, const char* code) const {
    return on ? std::string("\033[") + code + "m" + s + "\033[0m" : s;
  }
  std::string severity(Severity s, const std::string& text) const {
    switch (s) {
      case Severity::kCritical:
        return wrap(text, "1;31");
      case Severity::kHigh:
        return wrap(text, "31");
      case Severity::kMedium:
        return wrap(text, "33");
      case Severity::kLow:
        return wrap(text, "36");
      case Severity::kInfo:
        return wrap(text, "2");
    }
    return text;
  }
  std::string score(Centi c) const {
    const char* code = c >= 9000 ? "1;32" : c >= 7000 ? "1;33" : "1;31";
    return wrap(pts(c), code);
  }
  std::string bold(const std::string& s) const { return wrap(s, "1"); }
  std::string dim(const std::string& s) const { return wrap(s, "2"); }
};

std::string upper(std::string_view s) {
  std::string u(s);
  for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return u;
}

std::string padRight(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}
std::string padLeft(const std::string& s, size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

std::string refName(const ObjectRef& r) {
  if (r.kind == "Cluster") return "cluster";
  return r.namespace_.empty() ? r.name : r.namespace_ + "/" + r.name;
}

// "yes" or "no — 2 of 7 nodes would take down 3 workload(s)".
std::string survives(const std::vector<DomainImpact>& domains, const std::string& level) {
  if (domains.empty()) return "unknown (no " + level + " in the input)";
  size_t fatal = 0;
  std::set<ObjectRef> down;
  std::string worst;
  size_t worst_n = 0;
  for (const DomainImpact& d : domains) {
    size_t n = d.outage.size() + d.quorum_lost.size();
    if (n == 0) continue;
    ++fatal;
    down.insert(d.outage.begin(), d.outage.end());
    down.insert(d.quorum_lost.begin(), d.quorum_lost.end());
    if (n > worst_n) {
      worst_n = n;
      worst = d.name;
    }
  }
  if (fatal == 0) return "yes";
  return "no — " + std::to_string(fatal) + " of " + std::to_string(domains.size()) + " " + level +
         "s would take down " + std::to_string(down.size()) + " workload(s); worst: " + worst;
}

struct Counts {
  size_t pods = 0;
  size_t nodes = 0;
  size_t zones = 0;
};

Counts countsOf(const engine::Snapshot& s) {
  Counts c;
  c.nodes = s.nodes.size();
  std::set<std::string> zones;
  for (const Node& n : s.nodes) {
    if (!n.zone.empty()) zones.insert(n.zone);
  }
  c.zones = zones.size();
  for (const Pod& p : s.pods) {
    if (p.phase != PodPhase::kSucceeded && p.phase != PodPhase::kFailed && !p.terminating) {
      ++c.pods;
    }
  }
  return c;
}

// Findings grouped by the workload they count against, in report order.
std::map<ObjectRef, std::vector<const Finding*>> byWorkload(const Report& r) {
  std::map<ObjectRef, std::vector<const Finding*>> m;
  for (const Finding& f : r.findings) {
    if (f.workload) m[*f.workload].push_back(&f);
  }
  return m;
}

bool countsAgainstWorkload(const Report& r, const Finding& f) {
  if (!f.workload) return false;
  return std::any_of(r.score.workloads.begin(), r.score.workloads.end(),
                     [&](const engine::WorkloadScore& w) { return w.ref == *f.workload; });
}

}  // namespace

std::string renderText(const Report& r, const engine::Snapshot& snapshot, size_t top, bool color) {
  Style st{color};
  Counts c = countsOf(snapshot);
  std::ostringstream o;
  o << st.bold("Rampart audit") << "  " << formatRfc3339(r.now_unix) << "\n";
  o << "Cluster score " << st.score(r.score.cluster) << " / 100  (" << c.nodes << " nodes in "
    << c.zones << " zone(s), " << c.pods << " pods, " << r.score.workloads.size() << " workloads, "
    << r.findings.size() << " findings)\n";
  o << "Survives any single node loss: " << survives(r.whatif.nodes, "node") << "\n";
  o << "Survives any single zone loss: " << survives(r.whatif.zones, "zone") << "\n";
  if (r.partial) {
    o << st.wrap("PARTIAL RESULT: the input was incomplete (" + std::to_string(r.warnings.size()) +
                     " warning(s) on stderr)",
                 "1;33")
      << "\n";
  }

  o << "\n" << st.bold("Top risks") << "\n";
  size_t shown = 0;
  for (const Finding& f : r.findings) {
    if (shown == top || f.cluster_points == 0) break;
    ++shown;
    o << padLeft(std::to_string(shown) + ".", 4) << " "
      << st.severity(f.severity, padRight(upper(engine::severityName(f.severity)), 8)) << " "
      << padLeft("-" + pts(f.cluster_points), 6) << "  " << f.check << "  " << f.subject.str()
      << "\n";
    o << "      " << f.message << "\n";
    o << "      " << st.dim("fix: " + f.remediation) << "\n";
  }
  if (shown == 0) o << "  none: no finding costs the cluster points\n";

  o << "\n" << st.bold("Workloads, lowest score first") << "\n";
  auto grouped = byWorkload(r);
  size_t perfect = 0;
  for (const engine::WorkloadScore& w : r.score.workloads) {
    if (w.score == 10000) {
      ++perfect;
      continue;
    }
    o << "  " << padLeft(st.score(w.score), color ? 0 : 6) << "  " << w.ref.str() << "  ("
      << w.ready << "/" << w.replicas << " ready)\n";
    for (const Finding* f : grouped[w.ref]) {
      o << "          " << padLeft("-" + pts(f->points), 6) << " "
        << st.severity(f->severity, padRight(std::string(engine::severityName(f->severity)), 8))
        << " " << f->check << ": " << f->message << "\n";
    }
  }
  if (perfect > 0) o << "  " << perfect << " workload(s) score 100\n";

  bool header = false;
  for (const Finding& f : r.findings) {
    if (countsAgainstWorkload(r, f)) continue;
    if (!header) {
      o << "\n" << st.bold("Cluster-level findings") << "\n";
      header = true;
    }
    o << "  " << padLeft("-" + pts(f.cluster_points), 6) << " "
      << st.severity(f.severity, padRight(std::string(engine::severityName(f.severity)), 8)) << " "
      << f.check << "  " << f.subject.str() << ": " << f.message << "\n";
  }

  if (!r.score.namespaces.empty()) {
    o << "\n" << st.bold("Namespaces") << "\n";
    for (const engine::NamespaceScore& ns : r.score.namespaces) {
      o << "  " << padRight(ns.name, 24) << " " << st.score(ns.score) << "\n";
    }
  }
  return o.str();
}

std::string renderMarkdown(const Report& r, const engine::Snapshot& snapshot, size_t top) {
  Counts c = countsOf(snapshot);
  auto cell = [](const std::string& s) {
    std::string out;
    for (char ch : s) {
      if (ch == '|') {
        out += "\\|";
      } else if (ch == '\n') {
        out += ' ';
      } else {
        out += ch;
      }
    }
    return out;
  };
  std::ostringstream o;
  o << "# Rampart audit\n\n";
  o << "**Cluster score: " << pts(r.score.cluster) << " / 100** — " << c.nodes << " nodes in "
    << c.zones << " zone(s), " << c.pods << " pods, " << r.score.workloads.size() << " workloads, "
    << r.findings.size() << " findings, " << formatRfc3339(r.now_unix) << ".\n\n";
  o << "- Survives any single node loss: " << survives(r.whatif.nodes, "node") << "\n";
  o << "- Survives any single zone loss: " << survives(r.whatif.zones, "zone") << "\n";
  if (r.partial) o << "- **Partial result**: the input was incomplete.\n";
  for (const std::string& w : r.warnings) o << "  - warning: " << cell(w) << "\n";

  o << "\n## Top risks\n\n| # | severity | points | check | subject | fact | remediation |\n"
    << "|---|---|---|---|---|---|---|\n";
  size_t shown = 0;
  for (const Finding& f : r.findings) {
    if (shown == top || f.cluster_points == 0) break;
    ++shown;
    o << "| " << shown << " | " << engine::severityName(f.severity) << " | -"
      << pts(f.cluster_points) << " | [`" << f.check << "`](" << f.runbook << ") | "
      << cell(f.subject.str()) << " | " << cell(f.message) << " | " << cell(f.remediation)
      << " |\n";
  }

  o << "\n## Workloads\n\n| score | workload | ready | findings |\n|---|---|---|---|\n";
  auto grouped = byWorkload(r);
  for (const engine::WorkloadScore& w : r.score.workloads) {
    std::string checks;
    for (const Finding* f : grouped[w.ref]) {
      if (!checks.empty()) checks += ", ";
      checks += "`" + f->check + "`";
    }
    o << "| " << pts(w.score) << " | " << cell(w.ref.str()) << " | " << w.ready << "/" << w.replicas
      << " | " << checks << " |\n";
  }

  o << "\n## Namespaces\n\n| namespace | score |\n|---|---|\n";
  for (const engine::NamespaceScore& ns : r.score.namespaces) {
    o << "| " << cell(ns.name) << " | " << pts(ns.score) << " |\n";
  }

  o << "\n## All findings\n\n| severity | hard | points | check | subject | fact |\n"
    << "|---|---|---|---|---|---|\n";
  for (const Finding& f : r.findings) {
    o << "| " << engine::severityName(f.severity) << " | " << (f.hard ? "yes" : "no") << " | -"
      << pts(f.points) << " | `" << f.check << "` | " << cell(f.subject.str()) << " | "
      << cell(f.message) << " |\n";
  }
  return o.str();
}

std::string renderExplain(const Report& r, const std::string& workload, bool color) {
  Style st{color};
  std::ostringstream o;
  auto grouped = byWorkload(r);
  double total_weight = 0;
  for (const engine::WorkloadScore& w : r.score.workloads) total_weight += w.weight;

  auto matches = [&](const ObjectRef& ref) {
    if (workload.empty()) return true;
    return workload == ref.namespace_ + "/" + ref.name ||
           workload == ref.kind + "/" + ref.namespace_ + "/" + ref.name;
  };

  if (workload.empty()) {
    o << st.bold("cluster " + pts(r.score.cluster)) << " = 100 - " << pts(10000 - r.score.cluster)
      << "\n";
    Centi cluster_level = 0;
    for (const Finding& f : r.findings) {
      if (!countsAgainstWorkload(r, f)) cluster_level += f.cluster_points;
    }
    o << "├─ " << pts(cluster_level) << "  cluster-level findings\n";
    for (const Finding& f : r.findings) {
      if (countsAgainstWorkload(r, f) || f.cluster_points == 0) continue;
      o << "│  ├─ " << pts(f.cluster_points) << "  "
        << st.severity(f.severity, std::string(engine::severityName(f.severity))) << " " << f.check
        << " " << f.subject.str() << ": " << f.message << "\n";
    }
    Centi from_workloads = (10000 - r.score.cluster) - cluster_level;
    char weight[32];
    std::snprintf(weight, sizeof weight, "%.2f", total_weight);
    o << "└─ " << pts(from_workloads)
      << "  workloads: weighted mean of their lost points (weight 1+log2(replicas), total "
      << weight << ")\n";
  }
  bool any = false;
  for (const engine::WorkloadScore& w : r.score.workloads) {
    if (!matches(w.ref)) continue;
    if (workload.empty() && w.score == 10000) continue;
    any = true;
    Centi share = 0;
    for (const Finding* f : grouped[w.ref]) share += f->cluster_points;
    char weight[32];
    std::snprintf(weight, sizeof weight, "%.2f", w.weight);
    std::string indent = workload.empty() ? "   " : "";
    o << indent << "├─ " << (workload.empty() ? pts(share) + "  " : "") << w.ref.str() << ": score "
      << st.score(w.score) << " = 100 - " << pts(10000 - w.score) << " (weight " << weight << ", "
      << w.ready << "/" << w.replicas << " ready)\n";
    for (const Finding* f : grouped[w.ref]) {
      o << indent << "│  ├─ " << pts(f->points) << "  "
        << st.severity(f->severity, std::string(engine::severityName(f->severity))) << " "
        << f->check << (f->subject == w.ref ? "" : " " + f->subject.str()) << ": " << f->message
        << (workload.empty() ? "" : "  [cluster " + pts(f->cluster_points) + "]") << "\n";
    }
  }
  if (!workload.empty() && !any) return "";
  return o.str();
}

std::string renderWhatIf(const Report& r, const engine::Snapshot& snapshot,
                         const std::string& level, const std::string& name, bool color) {
  Style st{color};
  std::ostringstream o;
  std::map<ObjectRef, const engine::WorkloadScore*> scores;
  for (const engine::WorkloadScore& w : r.score.workloads) scores[w.ref] = &w;
  (void)snapshot;

  auto table = [&](const std::vector<DomainImpact>& domains, const std::string& title) {
    if (domains.empty()) return;
    o << st.bold(padRight(upper(title), 24)) << " OUTAGE  BELOW-PDB  QUORUM-LOST\n";
    for (const DomainImpact& d : domains) {
      o << padRight(d.name, 24) << " " << padLeft(std::to_string(d.outage.size()), 6) << "  "
        << padLeft(std::to_string(d.below_pdb.size()), 9) << "  "
        << padLeft(std::to_string(d.quorum_lost.size()), 11) << "\n";
    }
    o << "\n";
  };
  if (level.empty()) {
    table(r.whatif.nodes, "node");
    table(r.whatif.zones, "zone");
    table(r.whatif.regions, "region");
    o << "Details: rampartctl whatif --node NAME | --zone NAME | --region NAME\n";
    return o.str();
  }
  const auto& domains = level == "node"   ? r.whatif.nodes
                        : level == "zone" ? r.whatif.zones
                                          : r.whatif.regions;
  for (const DomainImpact& d : domains) {
    if (d.name != name) continue;
    o << st.bold("Losing " + level + " " + d.name) << " at once";
    if (level != "node") {
      o << " (" << d.nodes.size() << " node(s):";
      for (const std::string& n : d.nodes) o << " " << n;
      o << ")";
    }
    o << ", nothing rescheduled:\n";
    o << "  Outage, every ready replica lost (" << d.outage.size() << ")\n";
    for (const ObjectRef& ref : d.outage) {
      auto it = scores.find(ref);
      o << "    " << st.severity(Severity::kCritical, ref.str());
      if (it != scores.end()) {
        o << "  all " << it->second->ready << " ready of " << it->second->replicas
          << " replicas are there";
      }
      o << "\n";
    }
    o << "  Below PodDisruptionBudget (" << d.below_pdb.size() << ")\n";
    for (const ObjectRef& ref : d.below_pdb) o << "    " << refName(ref) << "\n";
    o << "  Quorum lost (" << d.quorum_lost.size() << ")\n";
    for (const ObjectRef& ref : d.quorum_lost) {
      o << "    " << st.severity(Severity::kCritical, ref.str()) << "\n";
    }
    if (d.outage.empty() && d.below_pdb.empty() && d.quorum_lost.empty()) {
      o << "  The cluster survives the loss of " << level << " " << d.name << ".\n";
    }
  }
  return o.str();
}

}  // namespace rampart::ctl
