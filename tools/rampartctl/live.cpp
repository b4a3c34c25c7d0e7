#include "live.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "audit.h"
#include "commands.h"
#include "rampart/http_client.h"
#include "rampart/text.h"

namespace rampart::ctl {
namespace {

using engine::Centi;
using engine::Severity;
using nlohmann::json;

constexpr std::chrono::seconds kRequestTimeout{5};

std::string trimSlashes(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

// 72.50 -> "72.5", 72.00 -> "72" (as the offline renderers print points).
std::string pts(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
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
  std::string bold(const std::string& s) const { return wrap(s, "1"); }
  std::string dim(const std::string& s) const { return wrap(s, "2"); }
  std::string score(double v) const {
    return wrap(pts(v), v >= 90 ? "1;32" : v >= 70 ? "1;33" : "1;31");
  }
  std::string severity(const std::string& name, const std::string& text) const {
    if (name == "critical") return wrap(text, "1;31");
    if (name == "high") return wrap(text, "31");
    if (name == "medium") return wrap(text, "33");
    if (name == "low") return wrap(text, "36");
    return wrap(text, "2");
  }
};

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string padRight(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

std::string padLeft(const std::string& s, size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

// A string field, "" when absent or null (numbers and the like throw).
std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->get<std::string>();
}

double num(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return 0;
  return it->get<double>();
}

std::string refText(const json& ref) {
  if (!ref.is_object()) return "-";
  const std::string kind = str(ref, "kind"), ns = str(ref, "namespace"), name = str(ref, "name");
  if (kind == "Cluster") return "Cluster";
  return kind + " " + (ns.empty() ? name : ns + "/" + name);
}

Severity severityOf(const std::string& name) {
  for (Severity s :
       {Severity::kInfo, Severity::kLow, Severity::kMedium, Severity::kHigh, Severity::kCritical}) {
    if (engine::severityName(s) == name) return s;
  }
  return Severity::kInfo;
}

Centi centi(const json& j, const char* key) {
  return static_cast<Centi>(std::llround(num(j, key) * 100.0));
}

// Strict: a ref that is not {"kind","namespace","name"} of strings throws.
engine::ObjectRef refOf(const json& j) {
  return {j.at("kind").get<std::string>(), j.at("namespace").get<std::string>(),
          j.at("name").get<std::string>()};
}

engine::WorkloadScore workloadScoreOf(const json& j) {
  engine::WorkloadScore w;
  w.ref = refOf(j);
  w.score = centi(j, "score");
  w.weight = num(j, "weight");
  w.replicas = j.value("replicas", 0);
  w.ready = j.value("ready", 0);
  return w;
}

engine::Finding findingOf(const json& j) {
  engine::Finding f;
  f.check = str(j, "check");
  f.severity = severityOf(str(j, "severity"));
  f.hard = j.value("hard", false);
  f.subject = refOf(j.at("subject"));
  if (auto it = j.find("workload"); it != j.end() && it->is_object()) f.workload = refOf(*it);
  if (auto it = j.find("pods"); it != j.end() && it->is_array()) {
    for (const auto& p : *it) f.pods.push_back(p.get<std::string>());
  }
  f.node = str(j, "node");
  f.zone = str(j, "zone");
  if (auto it = j.find("details"); it != j.end() && it->is_object()) {
    f.details = nlohmann::ordered_json::parse(it->dump());
  }
  f.message = str(j, "message");
  f.remediation = str(j, "remediation");
  f.runbook = str(j, "runbook");
  f.points = centi(j, "points");
  f.cluster_points = centi(j, "cluster_points");
  return f;
}

engine::DomainImpact domainOf(const json& j) {
  engine::DomainImpact d;
  d.name = j.at("name").get<std::string>();
  for (const auto& n : j.at("nodes")) d.nodes.push_back(n.get<std::string>());
  for (const auto& r : j.at("outage")) d.outage.push_back(refOf(r));
  for (const auto& r : j.at("below_pdb")) d.below_pdb.push_back(refOf(r));
  for (const auto& r : j.at("quorum_lost")) d.quorum_lost.push_back(refOf(r));
  return d;
}

// "yes (3 nodes)", "no — 1 of 3 zones would take down 2 workload(s); worst:
// zone-a", "unknown (no zone in the report)": the offline audit's wording.
std::string survivesText(const json& loss, const std::string& level, const Style& st) {
  if (!loss.is_object() || loss.value("survives", json()).is_null()) {
    return "unknown (no " + level + " in the report)";
  }
  const size_t domains = loss.value("domains", size_t{0});
  if (loss["survives"].get<bool>()) {
    return st.wrap("yes", "32") + " (" + std::to_string(domains) + " " + level + "s)";
  }
  return st.wrap("no", "1;31") + " — " + std::to_string(loss.value("fatal", size_t{0})) + " of " +
         std::to_string(domains) + " " + level + "s would take down " +
         std::to_string(loss.value("workloads_down", size_t{0})) +
         " workload(s); worst: " + str(loss, "worst");
}

std::string findingsBySeverity(const json& counts) {
  std::string out;
  for (const char* s : {"critical", "high", "medium", "low", "info"}) {
    if (!out.empty()) out += ", ";
    out += std::to_string(counts.value(s, size_t{0})) + " " + s;
  }
  return out;
}

std::string workloadLine(const json& w, const Style& st) {
  return padLeft(st.score(num(w, "score")), st.on ? 0 : 6) + "  " + refText(w) + "  (" +
         std::to_string(w.value("ready", 0)) + "/" + std::to_string(w.value("replicas", 0)) +
         " ready)";
}

std::string reportHeader(const json& doc) {
  std::string s = "report " + str(doc, "generated_at");
  if (doc.value("partial", false)) s += ", PARTIAL";
  return s;
}

// A JSON object, or an error naming the URL. (ordered_json keeps the API's
// key order for -o json.)
template <class J>
Result<J> parseObject(const std::string& url, const std::string& body) {
  auto j = J::parse(body, nullptr, false);
  if (j.is_discarded()) return fail(ErrorCode::kParse, url + ": the answer is not JSON");
  if (!j.is_object()) return fail(ErrorCode::kParse, url + ": the answer is not a JSON object");
  return j;
}

// Runs `render` on a fetched document, turning a document of the wrong shape
// into a clear error (exit 2) instead of an exception.
template <class Render>
int renderOr(const std::string& url, std::ostream& err, Render&& render) {
  try {
    render();
    return kLiveOk;
  } catch (const json::exception& e) {
    err << "rampartctl: " << url << ": unexpected answer: " << e.what() << "\n";
    return kLiveServer;
  }
}

// Fetches and prints the document as JSON (-o json), or hands it to `text`.
template <class Text>
int fetchAndRender(const LiveOptions& o, const std::string& path, std::ostream& out,
                   std::ostream& err, Text&& text) {
  const std::string url = trimSlashes(o.server) + path;
  auto body = fetchBody(o.server, path);
  if (o.output == "json" && body) {
    // As the API answered it, keys in its order, indented.
    auto doc = parseObject<nlohmann::ordered_json>(url, *body);
    if (doc) {
      out << doc->dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
      return kLiveOk;
    }
    body = std::unexpected(doc.error());
  }
  auto doc = body ? parseObject<json>(url, *body) : Result<json>(std::unexpected(body.error()));
  if (!doc) {
    err << "rampartctl: " << doc.error().message << "\n";
    return kLiveServer;
  }
  return renderOr(trimSlashes(o.server) + path, err, [&] { out << text(*doc); });
}

bool badOutput(const LiveOptions& o, std::ostream& err) {
  if (o.output == "text" || o.output == "json") return false;
  err << "rampartctl: -o must be text or json\n";
  return true;
}

}  // namespace

std::string defaultServer() {
  const char* env = std::getenv("RAMPART_SERVER");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string(kDefaultServer);
}

Result<std::string> fetchBody(const std::string& server, const std::string& path) {
  const std::string base = trimSlashes(server);
  const std::string url = base + path;
  auto parsed = http::parseServerUrl(base);
  if (!parsed || (!base.starts_with("http://") && !base.starts_with("https://"))) {
    return fail(ErrorCode::kConfig, "--server " + server + " is not an http:// or https:// URL");
  }
  std::unique_ptr<net::TlsContext> tls;
  if (parsed->tls) {
    auto context = net::TlsContext::create({});  // the system's trust store
    if (!context) return std::unexpected(context.error());
    tls = std::move(*context);
  }
  http::Request request;
  request.path = path;
  request.user_agent = "rampartctl/" RAMPART_VERSION;
  http::ExchangeOptions options;
  options.deadline = net::Clock::now() + kRequestTimeout;
  auto response = http::exchange(*parsed, tls.get(), request, options);
  if (!response) {
    return fail(response.error().code,
                "cannot reach the aggregator at " + url + ": " + response.error().message);
  }
  if (response->status < 200 || response->status >= 300) {
    // The API's {"error": "..."}.
    std::string why;
    auto j = json::parse(response->body, nullptr, false);
    if (j.is_object() && j.contains("error") && j["error"].is_string()) why = j["error"];
    return fail(
        ErrorCode::kHttp,
        url + ": HTTP " + std::to_string(response->status) + (why.empty() ? "" : ": " + why),
        response->status);
  }
  return std::move(response->body);
}

Result<json> fetchJson(const std::string& server, const std::string& path) {
  auto body = fetchBody(server, path);
  if (!body) return std::unexpected(body.error());
  return parseObject<json>(trimSlashes(server) + path, *body);
}

engine::Report reportFromJson(const json& audit) {
  engine::Report r;
  r.partial = audit.value("partial", false);
  for (const auto& w : audit.value("warnings", json::array()))
    r.warnings.push_back(w.get<std::string>());
  if (auto it = audit.find("score"); it != audit.end() && it->is_object()) {
    r.score.cluster = centi(*it, "cluster");
    const json namespaces = it->value("namespaces", json::object());
    for (const auto& [name, v] : namespaces.items()) {
      r.score.namespaces.push_back({name, static_cast<Centi>(std::llround(v.get<double>() * 100))});
    }
    for (const auto& w : it->value("workloads", json::array())) {
      r.score.workloads.push_back(workloadScoreOf(w));
    }
  }
  for (const auto& f : audit.value("findings", json::array())) r.findings.push_back(findingOf(f));
  if (auto it = audit.find("whatif"); it != audit.end() && it->is_object()) {
    for (const auto& d : it->value("nodes", json::array())) r.whatif.nodes.push_back(domainOf(d));
    for (const auto& d : it->value("zones", json::array())) r.whatif.zones.push_back(domainOf(d));
    for (const auto& d : it->value("regions", json::array())) {
      r.whatif.regions.push_back(domainOf(d));
    }
  }
  return r;
}

std::string renderStatus(const json& score, const std::string& server, bool color) {
  Style st{color};
  std::ostringstream o;
  o << st.bold("Rampart status") << "  " << trimSlashes(server) << "  " << reportHeader(score)
    << "\n";
  o << "Cluster score " << st.score(num(score, "cluster")) << " / 100\n";
  o << "Survives any single node loss: "
    << survivesText(score.value("node_loss", json()), "node", st) << "\n";
  o << "Survives any single zone loss: "
    << survivesText(score.value("zone_loss", json()), "zone", st) << "\n";
  const json& agents = score.at("agents");
  o << "Agents: " << agents.value("connected", size_t{0}) << " connected of "
    << agents.value("known", size_t{0}) << " known (" << agents.value("synced", size_t{0})
    << " synced)\n";
  const json& findings = score.at("findings");
  o << "Findings: " << findings.value("total", size_t{0}) << " (" << findingsBySeverity(findings)
    << ")\n";
  const json& workloads = score.at("workloads");
  o << "Workloads: " << workloads.value("total", size_t{0}) << ", "
    << workloads.value("below_100", size_t{0}) << " below 100\n";
  const json& worst = workloads.value("worst", json::array());
  if (!worst.empty()) {
    o << "\n" << st.bold("Worst workloads") << "\n";
    for (const auto& w : worst) o << "  " << workloadLine(w, st) << "\n";
  }
  const json& namespaces = score.value("namespaces", json::object());
  if (!namespaces.empty()) {
    o << "\n" << st.bold("Namespaces") << "\n";
    for (const auto& [name, v] : namespaces.items()) {
      o << "  " << padRight(name, 24) << " " << st.score(v.get<double>()) << "\n";
    }
  }
  for (const auto& w : score.value("warnings", json::array())) {
    o << st.wrap("warning: " + w.get<std::string>(), "33") << "\n";
  }
  return o.str();
}

std::string renderFindings(const json& doc, bool color) {
  Style st{color};
  std::ostringstream o;
  const json& findings = doc.at("findings");
  for (const auto& f : findings) {
    const std::string sev = str(f, "severity");
    o << st.severity(sev, padRight(upper(sev), 8)) << " "
      << padLeft("-" + pts(num(f, "cluster_points")), 7) << "  " << str(f, "check") << "  "
      << refText(f.at("subject"));
    std::string where;
    if (!str(f, "node").empty()) where += "node " + str(f, "node");
    if (!str(f, "zone").empty()) where += (where.empty() ? "" : ", ") + ("zone " + str(f, "zone"));
    if (!where.empty()) o << "  (" << where << ")";
    o << "\n";
    o << "                  " << str(f, "message") << "\n";
  }
  o << findings.size() << " finding(s); points: the share of the cluster score each costs\n";
  return o.str();
}

std::string renderLiveWhatIf(const json& doc, bool color) {
  engine::Report r;
  const std::string level = str(doc, "level");
  const std::string name = str(doc, "name");
  if (level.empty()) {
    json audit;
    audit["whatif"] = {
        {"nodes", doc.at("nodes")}, {"zones", doc.at("zones")}, {"regions", doc.at("regions")}};
    r = reportFromJson(audit);
  } else {
    engine::DomainImpact d = domainOf(doc);
    if (level == "node") {
      r.whatif.nodes.push_back(d);
    } else if (level == "zone") {
      r.whatif.zones.push_back(d);
    } else {
      r.whatif.regions.push_back(d);
    }
    for (const auto& w : doc.value("workloads", json::array())) {
      r.score.workloads.push_back(workloadScoreOf(w));
    }
  }
  std::string text = renderWhatIf(r, engine::Snapshot{}, level, name, color);
  return "Live what-if, " + reportHeader(doc) + "\n" + text;
}

std::string renderWorkload(const json& doc, bool color) {
  Style st{color};
  engine::Report r;
  engine::WorkloadScore w = workloadScoreOf(doc.at("workload"));
  r.score.workloads.push_back(w);
  for (const auto& f : doc.value("findings", json::array())) r.findings.push_back(findingOf(f));
  std::ostringstream o;
  o << renderExplain(r, w.ref.kind + "/" + w.ref.namespace_ + "/" + w.ref.name, color);
  const json& pods = doc.value("pods", json::array());
  const json& placement = doc.value("placement", json::object());
  o << "\n"
    << st.bold("Pods") << " (as the agents report them): " << pods.size() << " on "
    << placement.value("nodes", json::object()).size() << " node(s) in "
    << placement.value("zones", json::object()).size() << " zone(s)\n";
  for (const auto& p : pods) {
    o << "  " << padRight(str(p, "name"), 40) << " " << padRight(str(p, "node"), 16) << " "
      << padRight(str(p, "zone").empty() ? "-" : str(p, "zone"), 14) << " "
      << padRight(str(p, "phase"), 10) << " " << (p.value("ready", false) ? "ready" : "NOT READY")
      << (p.value("terminating", false) ? " terminating" : "") << "\n";
  }
  const json& lost_with = doc.value("lost_with", json::object());
  std::string lost;
  for (const char* level : {"nodes", "zones", "regions"}) {
    const json& names = lost_with.value(level, json::array());
    if (names.empty()) continue;
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n.get<std::string>();
    std::string singular(level);
    singular.pop_back();
    if (!lost.empty()) lost += "; ";
    lost += singular;
    lost += ' ';
    lost += list;
  }
  if (lost.empty()) {
    o << "No single node, zone or region loss takes it down.\n";
  } else {
    o << st.wrap("Taken down by the loss of: " + lost, "1;31") << "\n";
  }
  return o.str();
}

std::string renderTopFrame(const json& score, const json& nodes, const json& findings,
                           const std::string& server, size_t rows, bool color) {
  Style st{color};
  std::ostringstream o;
  auto loss = [&](const char* key) {
    const json& l = score.value(key, json());
    if (!l.is_object() || l.value("survives", json()).is_null()) return std::string("-");
    if (l["survives"].get<bool>()) return st.wrap("ok", "32");
    return st.wrap("FAILS", "1;31") + " (" + str(l, "worst") + ")";
  };
  const json& agents = score.at("agents");
  o << st.bold("rampart top") << "  " << trimSlashes(server) << "  " << reportHeader(score) << "\n";
  o << "score " << st.score(num(score, "cluster")) << "   node loss " << loss("node_loss")
    << "   zone loss " << loss("zone_loss") << "   agents " << agents.value("connected", size_t{0})
    << "/" << agents.value("known", size_t{0}) << "   findings "
    << findingsBySeverity(score.at("findings")) << "\n\n";
  o << renderNodesTable(nodes.dump());
  o << "\n" << st.bold("Worst workloads") << "\n";
  const json& worst = score.at("workloads").value("worst", json::array());
  if (worst.empty()) o << "  none below 100\n";
  for (const auto& w : worst) o << "  " << workloadLine(w, st) << "\n";
  o << "\n" << st.bold("Top findings") << "\n";
  size_t shown = 0;
  for (const auto& f : findings.at("findings")) {
    if (shown == rows) break;
    ++shown;
    const std::string sev = str(f, "severity");
    std::string message = str(f, "message");
    if (message.size() > 100) {
      size_t cut = 97;  // not inside a UTF-8 sequence
      while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
      message = message.substr(0, cut) + "...";
    }
    o << "  " << st.severity(sev, padRight(upper(sev), 8)) << " "
      << padLeft("-" + pts(num(f, "cluster_points")), 7) << "  " << str(f, "check") << "  "
      << refText(f.at("subject")) << ": " << message << "\n";
  }
  if (shown == 0) o << "  none\n";
  return o.str();
}

int status(const LiveOptions& o, std::ostream& out, std::ostream& err) {
  if (badOutput(o, err)) return kLiveUsage;
  return fetchAndRender(o, "/api/v1/score", out, err,
                        [&](const json& doc) { return renderStatus(doc, o.server, o.color); });
}

int findings(const LiveOptions& o, const FindingsQuery& q, std::ostream& out, std::ostream& err) {
  if (badOutput(o, err)) return kLiveUsage;
  std::string query;
  auto add = [&](const char* key, const std::string& value) {
    if (value.empty()) return;
    query += (query.empty() ? "?" : "&") + std::string(key) + "=" + urlEncode(value);
  };
  add("check", q.check);
  add("namespace", q.namespace_);
  add("node", q.node);
  add("severity", q.severity);
  return fetchAndRender(o, "/api/v1/findings" + query, out, err,
                        [&](const json& doc) { return renderFindings(doc, o.color); });
}

int whatifLive(const LiveOptions& o, const std::string& level, const std::string& name,
               std::ostream& out, std::ostream& err) {
  if (badOutput(o, err)) return kLiveUsage;
  std::string path = "/api/v1/whatif";
  if (!level.empty()) path += "?" + level + "=" + urlEncode(name);
  return fetchAndRender(o, path, out, err,
                        [&](const json& doc) { return renderLiveWhatIf(doc, o.color); });
}

int explainLive(const LiveOptions& o, const std::string& workload, std::ostream& out,
                std::ostream& err) {
  if (badOutput(o, err)) return kLiveUsage;
  if (workload.empty()) {
    return fetchAndRender(o, "/api/v1/audit", out, err, [&](const json& doc) {
      return renderExplain(reportFromJson(doc), "", o.color);
    });
  }
  std::vector<std::string> parts;
  std::string::size_type start = 0;
  while (true) {
    auto slash = workload.find('/', start);
    parts.push_back(workload.substr(start, slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  bool empty_part = false;
  for (const auto& p : parts) empty_part = empty_part || p.empty();
  if ((parts.size() != 2 && parts.size() != 3) || empty_part) {
    err << "rampartctl explain: name the workload as NAMESPACE/NAME or KIND/NAMESPACE/NAME\n";
    return kLiveUsage;
  }
  const bool kind = parts.size() == 3;
  std::string path =
      "/api/v1/workloads/" + urlEncode(parts[kind ? 1 : 0]) + "/" + urlEncode(parts[kind ? 2 : 1]);
  if (kind) path += "?kind=" + urlEncode(parts[0]);
  return fetchAndRender(o, path, out, err,
                        [&](const json& doc) { return renderWorkload(doc, o.color); });
}

int top(const LiveOptions& o, const TopOptions& t, std::ostream& out, std::ostream& err) {
  if (badOutput(o, err)) return kLiveUsage;
  const std::string score_path = "/api/v1/score?top=" + std::to_string(t.rows);
  size_t frame = 0;
  while (true) {
    const auto started = std::chrono::steady_clock::now();
    // The three documents of a frame, fetched in turn; the first failure is
    // the frame's problem.
    std::string problem;
    std::vector<std::pair<std::string, std::string>> bodies;  // url, body
    for (const std::string& path :
         {score_path, std::string("/api/v1/nodes"), std::string("/api/v1/findings")}) {
      auto body = fetchBody(o.server, path);
      if (!body) {
        problem = body.error().message;
        break;
      }
      bodies.emplace_back(trimSlashes(o.server) + path, std::move(*body));
    }
    std::string text;
    if (problem.empty()) {
      try {
        if (o.output == "json") {
          // One line per frame: the score, the nodes and the top findings,
          // in the API's key order.
          using OJ = nlohmann::ordered_json;
          std::vector<OJ> docs;
          for (const auto& [url, body] : bodies) {
            auto d = parseObject<OJ>(url, body);
            if (!d) throw std::runtime_error(d.error().message);
            docs.push_back(std::move(*d));
          }
          OJ f = OJ::array();
          for (const auto& x : docs[2].at("findings")) {
            if (f.size() == t.rows) break;
            f.push_back(x);
          }
          OJ doc = OJ::object();
          doc["score"] = std::move(docs[0]);
          doc["nodes"] = docs[1].at("nodes");
          doc["findings"] = std::move(f);
          text = doc.dump(-1, ' ', false, OJ::error_handler_t::replace) + "\n";
        } else {
          std::vector<json> docs;
          for (const auto& [url, body] : bodies) {
            auto d = parseObject<json>(url, body);
            if (!d) throw std::runtime_error(d.error().message);
            docs.push_back(std::move(*d));
          }
          text = renderTopFrame(docs[0], docs[1], docs[2], o.server, t.rows, o.color);
        }
      } catch (const json::exception& e) {
        problem = trimSlashes(o.server) + ": unexpected answer: " + e.what();
      } catch (const std::runtime_error& e) {
        problem = e.what();
      }
    }
    if (!problem.empty() && t.once) {
      err << "rampartctl: " << problem << "\n";
      return kLiveServer;
    }
    if (!problem.empty()) text = "rampartctl top: " + problem + " (retrying)\n";
    if (t.clear) out << "\033[H\033[2J";
    out << text;
    if (!t.clear && !t.once && o.output != "json") out << "\n";
    out.flush();
    ++frame;
    if (t.once || (t.frames && frame >= *t.frames)) return kLiveOk;
    std::this_thread::sleep_until(started + t.interval);
  }
}

}  // namespace rampart::ctl
