// CTest runbooks (docs/runbooks/, docs/runbooks/README.md): every check id the
// engine can emit has a page, every runbook_url Rampart produces or ships
// points to an existing page, and the pages agree with the code: the shipped
// alert rules, the example hooks, docs/checks.md and each other's links.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "alerts/alert_rules.h"
#include "audit.h"
#include "engine_index.h"
#include "test_paths.h"

namespace fs = std::filesystem;
using namespace rampart;

namespace {

const fs::path kSource = rampart::testing::kSourceDir;
const fs::path kRunbooks = kSource / "docs" / "runbooks";

std::string readText(const fs::path& p) {
  std::ifstream f(p);
  REQUIRE_MESSAGE(f.good(), "cannot read " << p.string());
  return {std::istreambuf_iterator<char>(f), {}};
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The check ids the engine emits, read from its sources: every finding is made
// by Index::finding(check, ...) from a string literal "family.name-words" in
// engine/ and engine/checks/ engine*.{cpp,h} (directly, through podFinding / workloadFinding /
// nodeFinding / levelFinding, or a variable assigned such literals, as in
// engine_liveness.cpp). No other literal of that shape exists there: a new one
// is taken for a new check id and needs its runbook page.
const std::set<std::string>& engineCheckIds() {
  static const std::set<std::string> kIds = [] {
    std::set<std::string> out;
    const std::regex literal(R"re("([a-z]+\.[a-z0-9]+(?:-[a-z0-9]+)*)")re");
    for (const char* dir : {"engine", "engine/checks"}) {
      for (const auto& entry : fs::directory_iterator(kSource / dir)) {
        const std::string name = entry.path().filename().string();
        if (!name.starts_with("engine") ||
            (entry.path().extension() != ".cpp" && entry.path().extension() != ".h")) {
          continue;
        }
        const std::string text = readText(entry.path());
        for (std::sregex_iterator it(text.begin(), text.end(), literal), end; it != end; ++it) {
          out.insert((*it)[1].str());
        }
      }
    }
    return out;
  }();
  return kIds;
}

std::string defaultRunbookBase() {
  return engine::Options{}.runbook_base;
}

// The runbook URL the engine gives a finding of `check` (Index::finding).
std::string runbookUrlOf(const std::string& check, engine::Severity severity) {
  static const engine::Snapshot kSnapshot;
  static const engine::Options kOptions;
  static const engine::Index kIndex(kSnapshot, kOptions);
  return kIndex.finding(check, severity, {"Cluster", "", ""}).runbook;
}

// The file a runbook URL under the default base names, or empty.
fs::path pageOf(const std::string& url) {
  const std::string base = defaultRunbookBase();
  if (!url.starts_with(base)) return {};
  return kRunbooks / url.substr(base.size());
}

std::string pageFileOf(const std::string& check) {
  std::string name = check;
  for (char& c : name)
    if (c == '.') c = '-';
  return name + ".md";
}

// "- Key: value" lines of a page's header.
std::string headerField(const std::string& page, const std::string& key) {
  for (const auto& l : lines(page)) {
    if (!l.starts_with("- " + key + ":")) continue;
    const auto value = l.find_first_not_of(' ', key.size() + 3);
    return value == std::string::npos ? std::string() : l.substr(value);
  }
  return {};
}

std::string section(const std::string& page, const std::string& heading) {
  auto at = page.find("\n## " + heading + "\n");
  if (at == std::string::npos) return {};
  at += heading.size() + 5;
  auto end = page.find("\n## ", at);
  return page.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

std::set<std::string> tokens(const std::string& text, const std::regex& re) {
  std::set<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) {
    out.insert((*it)[it->size() > 1 ? 1 : 0].str());
  }
  return out;
}

const std::regex kAlertName(R"(\bRampart[A-Z][A-Za-z]+\b)");

std::set<std::string> prometheusAlertNames() {
  const std::string text = readText(kSource / "manifests/prometheus/rampart-rules.yaml");
  return tokens(text, std::regex(R"(- alert: (Rampart[A-Za-z]+))"));
}

}  // namespace

TEST_CASE("the engine's check ids are the ones docs/checks.md documents") {
  const auto& ids = engineCheckIds();
  REQUIRE(ids.size() >= 45);  // the extraction works at all
  const std::string checks_md = readText(kSource / "docs/checks.md");
  std::set<std::string> documented;
  const std::regex row(R"(^\| `([a-z]+\.[a-z0-9]+(?:-[a-z0-9]+)*)` )");
  for (const auto& l : lines(checks_md)) {
    std::smatch m;
    if (std::regex_search(l, m, row)) documented.insert(m[1].str());
  }
  for (const auto& id : ids) CHECK_MESSAGE(documented.contains(id), id << " not in docs/checks.md");
  for (const auto& id : documented)
    CHECK_MESSAGE(ids.contains(id), id << " is in docs/checks.md but the engine has no such check");
}

TEST_CASE("every check id has a runbook page, and its runbook URL resolves to it") {
  const std::string base = defaultRunbookBase();
  CHECK(base.ends_with("/docs/runbooks/"));
  const std::string index = readText(kRunbooks / "README.md");
  for (const auto& id : engineCheckIds()) {
    CAPTURE(id);
    const std::string url = runbookUrlOf(id, engine::Severity::kHigh);
    const fs::path page = pageOf(url);
    REQUIRE_MESSAGE(!page.empty(), url << " is not under " << base);
    CHECK_MESSAGE(page.filename() == pageFileOf(id), url);
    REQUIRE_MESSAGE(fs::is_regular_file(page), "missing runbook " << page.string());
    CHECK_MESSAGE(index.find("](" + pageFileOf(id) + ")") != std::string::npos,
                  "docs/runbooks/README.md does not link " << pageFileOf(id));
    const std::string text = readText(page);
    CHECK_MESSAGE(text.starts_with("# `" + id + "`\n"), page.string() << ": title");
    for (const char* h : {"Meaning", "Why it matters", "Confirm", "Fix", "Hook"}) {
      CHECK_MESSAGE(!section(text, h).empty(), page.string() << ": no section ## " << h);
    }
    CHECK_MESSAGE(section(text, "Confirm").find("kubectl") != std::string::npos,
                  page.string() << ": Confirm has no kubectl command");
    CHECK_MESSAGE(!headerField(text, "Severity").empty(), page.string() << ": no Severity");
    CHECK_MESSAGE(!headerField(text, "Default alert").empty(), page.string()
                                                                   << ": no Default alert");
  }
}

TEST_CASE("the findings of the demo cluster all have a check id known here and a runbook page") {
  ctl::AuditOptions o;
  o.input.files = {(kSource / "tests/data/dumps/demo-kubectl.json").string(),
                   (kSource / "tests/data/dumps/demo-velero.json").string()};
  o.input.now_unix = 1767384600;
  o.format = "json";
  std::istringstream in;
  std::ostringstream out, err;
  ctl::audit(o, in, out, err);
  const auto report = nlohmann::json::parse(out.str());
  REQUIRE(report["findings"].size() > 10);
  std::set<std::string> seen;
  for (const auto& f : report["findings"]) {
    const std::string check = f["check"];
    seen.insert(check);
    CHECK_MESSAGE(engineCheckIds().contains(check), check << " was not found in the sources");
    CHECK_MESSAGE(fs::is_regular_file(pageOf(f["runbook"])), f["runbook"]);
  }
  CHECK(seen.size() >= 10);
}

TEST_CASE(
    "the shipped alert rules: every alert's runbook_url is its check's page, as each page says") {
  auto rules = aggregator::parseAlertRules(aggregator::defaultAlertRulesYaml(), "alert-rules.yaml");
  REQUIRE_MESSAGE(rules.has_value(), (rules ? "" : rules.error().message));
  const auto prometheus = prometheusAlertNames();
  const std::regex severity_word(R"(\b(info|low|medium|high|critical)\b)");
  const std::map<std::string, engine::Severity> severities = {
      {"info", engine::Severity::kInfo},
      {"low", engine::Severity::kLow},
      {"medium", engine::Severity::kMedium},
      {"high", engine::Severity::kHigh},
      {"critical", engine::Severity::kCritical}};
  std::set<std::string> fired;
  for (const auto& id : engineCheckIds()) {
    CAPTURE(id);
    const fs::path page = kRunbooks / pageFileOf(id);
    if (!fs::is_regular_file(page)) continue;  // reported above
    const std::string text = readText(page);
    const auto page_severities = tokens(headerField(text, "Severity"), severity_word);
    CHECK_MESSAGE(!page_severities.empty(), page.string() << ": no severity word");
    std::set<std::string> expected;
    for (const auto& word : page_severities) {
      engine::Report report;
      engine::Finding f = [&] {
        static const engine::Snapshot kSnapshot;
        static const engine::Options kOptions;
        static const engine::Index kIndex(kSnapshot, kOptions);
        return kIndex.finding(id, severities.at(word), {"Node", "", "worker-a1"});
      }();
      f.node = "worker-a1";
      f.message = "m";
      report.findings.push_back(f);
      for (const auto& alert : aggregator::desiredAlerts(*rules, report, "test")) {
        expected.insert(alert.labels.at("alertname"));
        REQUIRE_MESSAGE(alert.annotations.contains("runbook_url"), alert.labels.at("alertname")
                                                                       << " has no runbook_url");
        CHECK(alert.annotations.at("runbook_url") == f.runbook);
        CHECK_MESSAGE(fs::is_regular_file(pageOf(alert.annotations.at("runbook_url"))),
                      alert.annotations.at("runbook_url"));
      }
    }
    fired.insert(expected.begin(), expected.end());
    const std::string said = headerField(text, "Default alert");
    const auto named = tokens(said, kAlertName);
    for (const auto& a : expected)
      CHECK_MESSAGE(named.contains(a), page.string() << ": Default alert omits " << a);
    if (expected.empty()) {
      CHECK_MESSAGE(said.starts_with("none"), page.string() << ": Default alert should say none");
    } else {
      for (const auto& a : named) {
        CHECK_MESSAGE((expected.contains(a) || prometheus.contains(a)),
                      page.string() << ": Default alert names " << a
                                    << ", which the shipped rules do not give this check");
      }
    }
  }
  // Every shipped alertname is reachable and indexed.
  const std::string index = readText(kRunbooks / "README.md");
  for (const auto& rule : rules->rules) {
    // A rule no check reaches at the severities the engine uses is dead
    // configuration (RampartProbeFailing: probe.* at high or above, while
    // every probe.* check is medium or low): reported, not failed.
    WARN_MESSAGE(fired.contains(rule.alertname), rule.alertname << " fires for no check");
    CHECK_MESSAGE(index.find("`" + rule.alertname + "`") != std::string::npos,
                  rule.alertname << " is not in docs/runbooks/README.md");
  }
}

TEST_CASE("every runbook_url in the shipped rule files points to an existing page") {
  const std::string base = defaultRunbookBase();
  const std::string by_check = "{{ reReplaceAll \"\\\\.\" \"-\" $labels.check }}.md";
  const std::string index = readText(kRunbooks / "README.md");
  std::vector<fs::path> files = {kSource / "aggregator/config/alert-rules.yaml"};
  for (const auto& e : fs::recursive_directory_iterator(kSource / "manifests")) {
    if (e.path().extension() == ".yaml" || e.path().extension() == ".yml")
      files.push_back(e.path());
  }
  size_t urls = 0;
  for (const auto& file : files) {
    for (const auto& l : lines(readText(file))) {
      auto at = l.find("runbook_url:");
      if (at == std::string::npos || l.find('#') < at) continue;
      std::string url = l.substr(at + 12);
      url.erase(0, url.find_first_not_of(" \t"));
      if (url.size() >= 2 && (url.front() == '\'' || url.front() == '"')) {
        url = url.substr(1, url.size() - 2);
      }
      CAPTURE(file.string());
      CAPTURE(url);
      ++urls;
      if (url == "{{ .runbook }}") continue;  // the finding's own page (above)
      REQUIRE_MESSAGE(url.starts_with(base), "not under the runbook base " << base);
      if (url == base + by_check) continue;  // the check's page, checked above
      const fs::path page = pageOf(url);
      CHECK_MESSAGE(fs::is_regular_file(page), "missing page " << page.string());
      CHECK_MESSAGE(index.find("](" + url.substr(base.size()) + ")") != std::string::npos,
                    "docs/runbooks/README.md does not link it");
    }
  }
  CHECK(urls > 20);
  for (const auto& name : prometheusAlertNames()) {
    CHECK_MESSAGE(index.find("`" + name + "`") != std::string::npos,
                  name << " is not in docs/runbooks/README.md");
  }
}

TEST_CASE("runbook pages: relative links resolve, hooks exist and are listed where they apply") {
  const std::regex link(R"(\]\(([^)#:]+\.md)(#[^)]*)?\))");
  const std::regex hook_ref(R"(tools/hooks/([a-z0-9-]+\.sh))");
  std::map<std::string, std::string> pages;  // file name (relative) -> text
  for (const auto& e : fs::recursive_directory_iterator(kRunbooks)) {
    if (e.path().extension() != ".md") continue;
    const std::string text = readText(e.path());
    pages[fs::relative(e.path(), kRunbooks).string()] = text;
    for (const auto& target : tokens(text, link)) {
      CHECK_MESSAGE(fs::is_regular_file(e.path().parent_path() / target),
                    e.path().string() << " links to missing " << target);
    }
    for (const auto& script : tokens(text, hook_ref)) {
      CHECK_MESSAGE(fs::is_regular_file(kSource / "tools/hooks" / script),
                    e.path().string() << " names missing hook " << script);
    }
  }
  // Each example hook says which checks it is for ("Match it to a or b."):
  // those pages name it in their Hook section.
  const std::regex match_line(R"(Match it to ([^.]*(?:\.[a-z][^.]*)*)\.)");
  const std::regex id(R"(([a-z]+\.[a-z0-9]+(?:-[a-z0-9]+)*))");
  size_t hooks = 0;
  for (const auto& e : fs::directory_iterator(kSource / "tools/hooks")) {
    if (e.path().extension() != ".sh") continue;
    std::string header;
    for (const auto& l : lines(readText(e.path()))) {
      if (!l.starts_with("#")) break;
      header += l.substr(l.size() > 1 ? 2 : 1) + " ";
    }
    std::smatch m;
    if (!std::regex_search(header, m, match_line)) continue;
    ++hooks;
    const std::string script = e.path().filename().string();
    for (const auto& check : tokens(m[1].str(), id)) {
      CAPTURE(script);
      CAPTURE(check);
      auto page = pages.find(pageFileOf(check));
      REQUIRE_MESSAGE(page != pages.end(), "no page for " << check);
      CHECK_MESSAGE(
          section(page->second, "Hook").find("tools/hooks/" + script) != std::string::npos,
          page->first << ": its Hook section does not name " << script);
    }
  }
  CHECK(hooks >= 5);
}
