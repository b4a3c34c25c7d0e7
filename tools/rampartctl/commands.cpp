#include "commands.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "rampart/curve.h"
#include "rampart/kube_client.h"

namespace rampart::ctl {
namespace {

using nlohmann::json;

Result<json> fetch(const std::string& server, const std::string& path) {
  KubeCredentials creds;
  creds.server = server;
  while (!creds.server.empty() && creds.server.back() == '/') creds.server.pop_back();
  KubeClient client(creds, "rampartctl/" RAMPART_VERSION);
  auto body = client.get(path, std::chrono::seconds(5));
  if (!body) return std::unexpected(body.error());
  auto j = json::parse(*body, nullptr, false);
  if (j.is_discarded()) return fail(ErrorCode::kParse, server + path + ": response is not JSON");
  return j;
}

// Fetches a document; prints it as JSON when asked (or reports the error) and
// returns nullopt when the command is done with `rc`.
std::optional<json> fetchForCommand(const std::string& server, const std::string& path,
                                    bool as_json, std::ostream& out, std::ostream& err, int& rc) {
  auto j = fetch(server, path);
  if (!j) {
    err << "rampartctl: " << j.error().describe() << "\n";
    rc = 1;
    return std::nullopt;
  }
  rc = 0;
  if (as_json) {
    out << j->dump(2) << "\n";
    return std::nullopt;
  }
  return std::move(*j);
}

std::string pad(const std::string& s, size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

std::string humanBytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  return fixed(bytes, u == 0 ? 0 : 1) + units[u];
}

int keygen(const std::string& prefix, std::ostream& out, std::ostream& err) {
  auto keys = generateCurveKeyPair();
  if (!keys) {
    err << "rampartctl keygen: " << keys.error().message << "\n";
    return 1;
  }
  if (auto r = writeKeyFile(prefix + ".key", *keys, true); !r) {
    err << "rampartctl keygen: " << r.error().message << "\n";
    return 1;
  }
  if (auto r = writeKeyFile(prefix + ".pub", *keys, false); !r) {
    err << "rampartctl keygen: " << r.error().message << "\n";
    return 1;
  }
  out << "wrote " << prefix << ".key (secret, mode 0600) and " << prefix << ".pub\n"
      << "public key: " << keys->public_key << "\n";
  return 0;
}

std::string renderNodesTable(std::string_view nodes_json, Result<void>* error) {
  auto j = json::parse(nodes_json, nullptr, false);
  if (j.is_discarded() || !j.contains("nodes") || !j["nodes"].is_array()) {
    if (error != nullptr) *error = fail(ErrorCode::kParse, "not a nodes document");
    return "";
  }
  std::ostringstream os;
  os << pad("ZONE", 12) << pad("NODE", 16) << pad("AGENT", 13) << pad("LAST", 7) << pad("PODS", 6)
     << pad("READY", 7) << pad("CPU", 6) << pad("MEM AVAIL", 18) << "LOAD1\n";
  size_t total_pods = 0, total_ready = 0, connected = 0;
  for (const auto& n : j["nodes"]) {
    const auto& agent = n.value("agent", json::object());
    const auto& health = n.value("health", json::object());
    bool is_connected = agent.value("connected", false);
    connected += is_connected ? 1 : 0;
    std::string state =
        is_connected ? (agent.value("synced", false) ? "reporting" : "syncing") : "SILENT";
    std::string age =
        agent.contains("lastMessageAgeSeconds") && agent["lastMessageAgeSeconds"].is_number()
            ? fixed(agent["lastMessageAgeSeconds"].get<double>(), 1) + "s"
            : "-";
    size_t pods = n.value("pods", size_t{0}), ready = n.value("podsReady", size_t{0});
    total_pods += pods;
    total_ready += ready;
    std::string name = n.value("name", "");
    if (n.value("controlPlane", false)) name += "*";
    os << pad(n.value("zone", "-").empty() ? "-" : n.value("zone", "-"), 12) << pad(name, 16)
       << pad(state, 13) << pad(age, 7) << pad(std::to_string(pods), 6)
       << pad(std::to_string(ready) + "/" + std::to_string(pods), 7)
       << pad(fixed(health.value("cpuUsageRatio", 0.0) * 100, 0) + "%", 6)
       << pad(humanBytes(health.value("memoryAvailableBytes", 0.0)) + "/" +
                  humanBytes(health.value("memoryTotalBytes", 0.0)),
              18)
       << fixed(health.value("load1", 0.0), 2) << "\n";
  }
  os << j["nodes"].size() << " nodes (" << connected << " reporting), " << total_pods << " pods ("
     << total_ready << " ready); * = control plane\n";
  return os.str();
}

int nodes(const std::string& server, bool as_json, std::ostream& out, std::ostream& err) {
  int rc = 0;
  auto j = fetchForCommand(server, "/api/v1/nodes", as_json, out, err, rc);
  if (!j) return rc;
  Result<void> parse_error;
  std::string table = renderNodesTable(j->dump(), &parse_error);
  if (!parse_error) {
    err << "rampartctl: " << parse_error.error().message << "\n";
    return 1;
  }
  out << table;
  return 0;
}

int pods(const std::string& server, const std::string& node, bool as_json, std::ostream& out,
         std::ostream& err) {
  std::string path = "/api/v1/pods";
  if (!node.empty()) path += "?node=" + urlEncode(node);
  int rc = 0;
  auto j = fetchForCommand(server, path, as_json, out, err, rc);
  if (!j) return rc;
  out << pad("NAMESPACE", 14) << pad("NAME", 40) << pad("NODE", 16) << pad("PHASE", 10)
      << pad("READY", 6) << pad("RESTARTS", 9) << "OWNER\n";
  for (const auto& p : j->value("pods", json::array())) {
    int restarts = 0;
    for (const auto& c : p.value("containers", json::array())) {
      restarts += c.value("restartCount", 0);
    }
    std::string owner = "-";
    if (const auto& owners = p.value("owners", json::array()); !owners.empty()) {
      owner = owners.back().value("kind", "") + "/" + owners.back().value("name", "");
    }
    out << pad(p.value("namespace", ""), 14) << pad(p.value("name", ""), 40)
        << pad(p.value("node", ""), 16) << pad(p.value("phase", ""), 10)
        << pad(p.value("ready", false) ? "yes" : "NO", 6) << pad(std::to_string(restarts), 9)
        << owner << "\n";
  }
  return 0;
}

int wait(const std::string& server, const std::string& condition, std::chrono::milliseconds timeout,
         std::ostream& out, std::ostream& err) {
  auto eq = condition.find('=');
  if (eq == std::string::npos) {
    err << "rampartctl wait: condition must be KIND=VALUE\n";
    return 2;
  }
  std::string kind = condition.substr(0, eq), value = condition.substr(eq + 1);
  std::string ns, name;
  if (kind == "pod-not-ready" || kind == "pod-gone") {
    auto slash = value.find('/');
    if (slash == std::string::npos) {
      err << "rampartctl wait: " << kind << " needs NAMESPACE/NAME\n";
      return 2;
    }
    ns = value.substr(0, slash);
    name = value.substr(slash + 1);
  } else if (kind != "nodes" && kind != "node-disconnected") {
    err << "rampartctl wait: unknown condition " << kind
        << " (nodes, node-disconnected, pod-not-ready, pod-gone)\n";
    return 2;
  }
  auto holds = [&]() -> bool {
    if (kind == "nodes" || kind == "node-disconnected") {
      auto j = fetch(server, "/api/v1/nodes");
      if (!j) return false;
      size_t good = 0;
      for (const auto& n : j->value("nodes", json::array())) {
        const auto& agent = n.value("agent", json::object());
        bool connected = agent.value("connected", false);
        if (kind == "node-disconnected" && n.value("name", "") == value) return !connected;
        if (connected && agent.value("synced", false)) ++good;
      }
      return kind == "nodes" && good >= static_cast<size_t>(std::stoul(value));
    }
    auto j = fetch(server, "/api/v1/pods?namespace=" + urlEncode(ns));
    if (!j) return false;
    for (const auto& p : j->value("pods", json::array())) {
      if (p.value("name", "") == name) return kind == "pod-not-ready" && !p.value("ready", true);
    }
    return kind == "pod-gone";
  };
  auto start = std::chrono::steady_clock::now();
  while (true) {
    bool ok = false;
    try {
      ok = holds();
    } catch (const std::exception&) {
      ok = false;  // a bad number in nodes=N is reported below
    }
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    if (ok) {
      out << elapsed.count() << "\n";
      return 0;
    }
    if (elapsed >= timeout) {
      err << "rampartctl wait: " << condition << " did not hold within " << timeout.count()
          << " ms\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
}

}  // namespace rampart::ctl
