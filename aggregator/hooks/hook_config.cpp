#include "hooks/hook_config.h"

#include <fmt/format.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "rampart/files.h"
#include "rampart/text.h"

namespace rampart::aggregator {
namespace {

std::optional<engine::Severity> parseSeverity(std::string_view text) {
  for (auto s : {engine::Severity::kInfo, engine::Severity::kLow, engine::Severity::kMedium,
                 engine::Severity::kHigh, engine::Severity::kCritical}) {
    if (engine::severityName(s) == text) return s;
  }
  return std::nullopt;
}

bool isExecutableFile(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

// Where argv[0] is: kept absolute, a relative path with a slash is taken from
// the config file's directory, a bare name is looked up in PATH.
Result<std::string> resolveCommand(const std::string& name, const std::filesystem::path& config) {
  std::filesystem::path p(name);
  if (p.is_absolute()) {
    if (!isExecutableFile(p)) return fail(ErrorCode::kConfig, name + " is not an executable file");
    return name;
  }
  if (name.find('/') != std::string::npos) {
    auto full = std::filesystem::absolute(config).parent_path() / p;
    full = full.lexically_normal();
    if (!isExecutableFile(full)) {
      return fail(ErrorCode::kConfig, full.string() + " is not an executable file");
    }
    return full.string();
  }
  const char* path_env = std::getenv("PATH");
  std::stringstream dirs(path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    auto full = std::filesystem::path(dir) / name;
    if (isExecutableFile(full)) return full.string();
  }
  return fail(ErrorCode::kConfig, "'" + name + "' not found in PATH");
}

// A string or a list of strings.
Result<std::vector<std::string>> stringList(const YAML::Node& node, const std::string& what) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    out.push_back(node.as<std::string>());
  } else if (node.IsSequence()) {
    for (const auto& item : node) {
      if (!item.IsScalar()) return fail(ErrorCode::kConfig, what + ": expected strings");
      out.push_back(item.as<std::string>());
    }
  } else if (!node.IsNull()) {
    return fail(ErrorCode::kConfig, what + ": expected a string or a list of strings");
  }
  for (const auto& s : out) {
    if (s.empty()) return fail(ErrorCode::kConfig, what + ": empty pattern");
  }
  return out;
}

Result<int> positiveInt(const YAML::Node& node, const std::string& what, int max) {
  int64_t v = 0;
  if (!node.IsScalar() || !YAML::convert<int64_t>::decode(node, v) || v < 1 || v > max) {
    return fail(ErrorCode::kConfig,
                what + ": expected an integer from 1 to " + std::to_string(max));
  }
  return static_cast<int>(v);
}

Result<std::chrono::milliseconds> durationOf(const YAML::Node& node, const std::string& what,
                                             bool allow_zero) {
  if (!node.IsScalar()) return fail(ErrorCode::kConfig, what + ": expected a duration");
  auto d = parseDuration(node.as<std::string>());
  if (!d) return fail(ErrorCode::kConfig, what + ": " + d.error().message);
  if (!allow_zero && d->count() == 0) return fail(ErrorCode::kConfig, what + ": must be > 0");
  return *d;
}

bool validName(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

// A Prometheus label name: [A-Za-z_][A-Za-z0-9_]*.
bool validLabelName(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

Result<HookMatch> parseMatch(const YAML::Node& node, const std::string& where) {
  HookMatch m;
  if (node.IsNull()) return m;
  if (!node.IsMap()) return fail(ErrorCode::kConfig, where + ".match: expected a mapping");
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const std::string what = fmt::format("{}.match.{}", where, key);
    if (key == "checks") {
      auto l = stringList(kv.second, what);
      if (!l) return std::unexpected(l.error());
      m.checks = std::move(*l);
    } else if (key == "min_severity") {
      auto s = kv.second.IsScalar() ? parseSeverity(kv.second.as<std::string>()) : std::nullopt;
      if (!s) {
        return fail(ErrorCode::kConfig, what + ": expected info, low, medium, high or critical");
      }
      m.min_severity = *s;
    } else if (key == "labels") {
      if (!kv.second.IsMap()) return fail(ErrorCode::kConfig, what + ": expected a mapping");
      for (const auto& lv : kv.second) {
        const std::string label = lv.first.as<std::string>();
        auto l = stringList(lv.second, fmt::format("{}.{}", what, label));
        if (!l) return std::unexpected(l.error());
        if (label == "namespace") {
          m.namespaces = std::move(*l);
        } else if (label == "node") {
          m.nodes = std::move(*l);
        } else if (label == "zone") {
          m.zones = std::move(*l);
        } else if (label == "workload_kind") {
          m.workload_kinds = std::move(*l);
        } else if (label == "workload") {
          m.workload_names = std::move(*l);
        } else if (label == "subject_kind") {
          m.subject_kinds = std::move(*l);
        } else {
          return fail(ErrorCode::kConfig,
                      fmt::format("{}: unknown label '{}' (namespace, node, zone, workload_kind, "
                                  "workload, subject_kind)",
                                  what, label));
        }
      }
    } else if (key == "alert_labels") {
      if (!kv.second.IsMap()) return fail(ErrorCode::kConfig, what + ": expected a mapping");
      for (const auto& lv : kv.second) {
        const std::string label = lv.first.as<std::string>();
        if (!validLabelName(label)) {
          return fail(ErrorCode::kConfig, fmt::format("{}: '{}' is not a label name", what, label));
        }
        auto l = stringList(lv.second, fmt::format("{}.{}", what, label));
        if (!l) return std::unexpected(l.error());
        m.alert_labels[label] = std::move(*l);
      }
    } else {
      return fail(
          ErrorCode::kConfig,
          fmt::format("{}.match: unknown key '{}' (checks, min_severity, labels, alert_labels)",
                      where, key));
    }
  }
  return m;
}

Result<HookSpec> parseHook(const YAML::Node& node, size_t index, const std::filesystem::path& path,
                           bool check_commands) {
  std::string where = "hooks[" + std::to_string(index) + "]";
  if (!node.IsMap()) return fail(ErrorCode::kConfig, where + ": expected a mapping");
  HookSpec h;
  if (node["name"] && node["name"].IsScalar()) h.name = node["name"].as<std::string>();
  if (!validName(h.name)) {
    return fail(ErrorCode::kConfig,
                where + ": 'name' is required: 1-63 letters, digits, '-', '_' or '.'");
  }
  where += " (" + h.name + ")";
  bool have_command = false;
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const std::string what = fmt::format("{}.{}", where, key);
    const YAML::Node& v = kv.second;
    if (key == "name") continue;
    if (key == "match") {
      auto m = parseMatch(v, where);
      if (!m) return std::unexpected(m.error());
      h.match = std::move(*m);
    } else if (key == "command") {
      if (!v.IsSequence() || v.size() == 0) {
        return fail(ErrorCode::kConfig,
                    what + ": expected a non-empty list (argv; a hook never runs a shell string)");
      }
      for (const auto& a : v) {
        if (!a.IsScalar()) return fail(ErrorCode::kConfig, what + ": expected strings");
        h.command.push_back(a.as<std::string>());
      }
      if (h.command[0].empty()) return fail(ErrorCode::kConfig, what + ": empty program");
      have_command = true;
    } else if (key == "timeout" || key == "kill_grace" || key == "cooldown") {
      auto d = durationOf(v, what, key == "cooldown");
      if (!d) return std::unexpected(d.error());
      (key == "timeout" ? h.timeout : key == "kill_grace" ? h.kill_grace : h.cooldown) = *d;
    } else if (key == "max_concurrent") {
      auto n = positiveInt(v, what, 1000);
      if (!n) return std::unexpected(n.error());
      h.max_concurrent = *n;
    } else if (key == "max_runs_per_hour") {
      auto n = positiveInt(v, what, 100000);
      if (!n) return std::unexpected(n.error());
      h.max_runs_per_hour = *n;
    } else if (key == "dry_run") {
      bool b = false;
      if (!v.IsScalar() || !YAML::convert<bool>::decode(v, b)) {
        return fail(ErrorCode::kConfig, what + ": expected true or false");
      }
      h.dry_run = b;
    } else {
      return fail(ErrorCode::kConfig,
                  fmt::format("{}: unknown key '{}' (name, match, command, timeout, kill_grace, "
                              "cooldown, max_concurrent, max_runs_per_hour, dry_run)",
                              where, key));
    }
  }
  if (!have_command) return fail(ErrorCode::kConfig, where + ": 'command' is required");
  if (check_commands) {
    auto resolved = resolveCommand(h.command[0], path);
    if (!resolved) return fail(ErrorCode::kConfig, where + ".command: " + resolved.error().message);
    h.command[0] = *resolved;
  }
  return h;
}

}  // namespace

Result<std::chrono::milliseconds> parseDuration(std::string_view text) {
  if (text.empty()) return fail(ErrorCode::kConfig, "empty duration");
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    if (text.size() > 9) return fail(ErrorCode::kConfig, "duration too large");
    return std::chrono::milliseconds(std::stoll(std::string(text)) * 1000);
  }
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == start || i - start > 9) {
      return fail(ErrorCode::kConfig, "invalid duration '" + std::string(text) + "'");
    }
    const int64_t n = std::stoll(std::string(text.substr(start, i - start)));
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    int64_t ms = 0;
    if (unit == "ms") {
      ms = 1;
    } else if (unit == "s") {
      ms = 1000;
    } else if (unit == "m") {
      ms = int64_t{60} * 1000;
    } else if (unit == "h") {
      ms = int64_t{3600} * 1000;
    } else if (unit == "d") {
      ms = int64_t{24} * 3600 * 1000;
    } else {
      return fail(ErrorCode::kConfig, "invalid duration '" + std::string(text) +
                                          "' (units ms, s, m, h, d; e.g. 90s, 1h30m)");
    }
    total += n * ms;
    if (total > int64_t{365} * 24 * 3600 * 1000) {
      return fail(ErrorCode::kConfig, "duration too large");
    }
  }
  return std::chrono::milliseconds(total);
}

Result<HooksConfig> parseHooksConfig(std::string_view text, const std::filesystem::path& path,
                                     bool check_commands) {
  const std::string file = path.string();
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return fail(ErrorCode::kConfig, file + ": invalid YAML: " + e.what());
  }
  HooksConfig config;
  try {
    if (!root.IsMap()) return fail(ErrorCode::kConfig, file + ": expected a mapping with 'hooks'");
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>();
      if (key != "hooks")
        return fail(ErrorCode::kConfig, fmt::format("{}: unknown key '{}'", file, key));
    }
    const YAML::Node hooks = root["hooks"];
    if (!hooks.IsSequence()) return fail(ErrorCode::kConfig, file + ": 'hooks' must be a list");
    std::set<std::string> names;
    for (size_t i = 0; i < hooks.size(); ++i) {
      auto h = parseHook(hooks[i], i, path, check_commands);
      if (!h) return fail(ErrorCode::kConfig, file + ": " + h.error().message);
      if (!names.insert(h->name).second) {
        return fail(ErrorCode::kConfig,
                    file + ": hooks[" + std::to_string(i) + "]: duplicate name '" + h->name + "'");
      }
      config.hooks.push_back(std::move(*h));
    }
  } catch (const YAML::Exception& e) {
    return fail(ErrorCode::kConfig, file + ": " + e.what());
  }
  return config;
}

Result<HooksConfig> loadHooksConfig(const std::filesystem::path& path) {
  auto text = readFile(path);
  if (!text) return fail(ErrorCode::kConfig, "cannot read hooks config " + path.string());
  return parseHooksConfig(*text, path);
}

bool hookMatches(const HookMatch& m, const engine::Finding& f) {
  if (f.severity < m.min_severity) return false;
  if (!m.alert_labels.empty()) return false;  // conditions only alerts can meet
  auto any = [](const std::vector<std::string>& patterns, const std::string& value) {
    if (patterns.empty()) return true;
    for (const auto& p : patterns) {
      if (globMatch(p, value)) return true;
    }
    return false;
  };
  const std::string& ns = f.workload ? f.workload->namespace_ : f.subject.namespace_;
  return any(m.checks, f.check) && any(m.namespaces, ns) && any(m.nodes, f.node) &&
         any(m.zones, f.zone) && any(m.workload_kinds, f.workload ? f.workload->kind : "") &&
         any(m.workload_names, f.workload ? f.workload->name : "") &&
         any(m.subject_kinds, f.subject.kind);
}

}  // namespace rampart::aggregator
