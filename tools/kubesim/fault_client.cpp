#include "fault_client.h"

#include <fmt/format.h>
#include <httplib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "rampart/text.h"

namespace rampart::kubesim {
namespace {

std::unexpected<Error> usage(const std::string& why) {
  return fail(ErrorCode::kConfig, why + "\n" + faultUsage());
}

Result<int> toInt(const std::string& flag, const std::string& text) {
  try {
    size_t used = 0;
    int v = std::stoi(text, &used);
    if (used != text.size() || v < 0) throw std::invalid_argument(text);
    return v;
  } catch (const std::exception&) {
    return usage(flag + " needs a non-negative integer, got '" + text + "'");
  }
}

}  // namespace

std::string faultUsage() {
  return "faults:\n"
         "  node-down NODE | node-up NODE\n"
         "  container-not-ready NS/POD [--container C]\n"
         "  container-ready NS/POD [--container C]\n"
         "  container-restart NS/POD [--container C] [--reason OOMKilled]\n"
         "  delete-pod NS/POD\n"
         "  add-pod NS/NAME --node NODE [--label k=v ...] [--owner-kind K --owner-name N]\n"
         "  scale RESOURCE NS/NAME --replicas N\n"
         "  delete-object RESOURCE [NS/]NAME\n"
         "  put-object --file OBJECT.json\n"
         "  api-error [--status 500] [--count N] [--path PREFIX]\n"
         "  api-garbage [--count N] [--path PREFIX]";
}

Result<Json> faultFromArgs(const std::vector<std::string>& args) {
  if (args.empty()) return usage("missing fault type");
  const std::string& type = args[0];
  Json fault{{"type", type}};
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> flags;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) == 0) {
      std::string name = a.substr(2);
      std::string value;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return usage("--" + name + " needs a value");
      }
      flags[name].push_back(value);
    } else {
      positional.push_back(a);
    }
  }
  auto allow = [&](const std::vector<std::string_view>& allowed, size_t npos) -> Result<void> {
    for (const auto& [name, values] : flags) {
      bool ok = false;
      for (auto a : allowed) ok = ok || a == name;
      if (!ok) return usage(fmt::format("'{}' does not take --{}", type, name));
      if (name != "label" && values.size() > 1) return usage("--" + name + " given twice");
    }
    if (positional.size() != npos) {
      return usage("'" + type + "' takes " + std::to_string(npos) + " argument(s)");
    }
    return {};
  };
  auto flag = [&](const std::string& name) {
    auto it = flags.find(name);
    return it == flags.end() ? std::string() : it->second.front();
  };
  if (type == "node-down" || type == "node-up") {
    if (auto ok = allow({}, 1); !ok) return std::unexpected(ok.error());
    fault["node"] = positional[0];
  } else if (type == "container-not-ready" || type == "container-ready" ||
             type == "container-restart" || type == "delete-pod") {
    std::vector<std::string_view> allowed = {"container"};
    if (type == "container-restart") allowed = {"container", "reason"};
    if (type == "delete-pod") allowed = {};
    if (auto ok = allow(allowed, 1); !ok) return std::unexpected(ok.error());
    fault["pod"] = positional[0];
    if (!flag("container").empty()) fault["container"] = flag("container");
    if (!flag("reason").empty()) fault["reason"] = flag("reason");
  } else if (type == "add-pod") {
    if (auto ok = allow({"node", "label", "owner-kind", "owner-name"}, 1); !ok) {
      return std::unexpected(ok.error());
    }
    if (flag("node").empty()) return usage("add-pod needs --node NODE");
    fault["pod"] = positional[0];
    fault["node"] = flag("node");
    if (flags.count("label")) {
      Json labels = Json::object();
      for (const auto& kv : flags["label"]) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0)
          return usage("--label needs key=value, got '" + kv + "'");
        labels[kv.substr(0, eq)] = kv.substr(eq + 1);
      }
      fault["labels"] = labels;
    }
    if (!flag("owner-kind").empty()) fault["ownerKind"] = flag("owner-kind");
    if (!flag("owner-name").empty()) fault["ownerName"] = flag("owner-name");
  } else if (type == "scale" || type == "delete-object") {
    std::vector<std::string_view> allowed;
    if (type == "scale") allowed = {"replicas"};
    if (auto ok = allow(allowed, 2); !ok) return std::unexpected(ok.error());
    fault["resource"] = positional[0];
    const std::string& ref = positional[1];
    if (auto slash = ref.find('/'); slash != std::string::npos) {
      fault["namespace"] = ref.substr(0, slash);
      fault["name"] = ref.substr(slash + 1);
    } else {
      fault["name"] = ref;
    }
    if (type == "scale") {
      if (flag("replicas").empty()) return usage("scale needs --replicas N");
      auto replicas = toInt("--replicas", flag("replicas"));
      if (!replicas) return std::unexpected(replicas.error());
      fault["replicas"] = *replicas;
    }
  } else if (type == "put-object") {
    if (auto ok = allow({"file"}, 0); !ok) return std::unexpected(ok.error());
    if (flag("file").empty()) return usage("put-object needs --file OBJECT.json");
    std::ifstream in(flag("file"));
    if (!in) return usage("cannot read " + flag("file"));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Json object = Json::parse(text, nullptr, false);
    if (object.is_discarded() || !object.is_object()) {
      return usage(flag("file") + " is not a JSON object");
    }
    fault["object"] = object;
  } else if (type == "api-error") {
    if (auto ok = allow({"status", "count", "path"}, 0); !ok) return std::unexpected(ok.error());
    auto status = toInt("--status", flag("status").empty() ? "500" : flag("status"));
    if (!status) return std::unexpected(status.error());
    auto count = toInt("--count", flag("count").empty() ? "1" : flag("count"));
    if (!count) return std::unexpected(count.error());
    fault["status"] = *status;
    fault["count"] = *count;
    if (!flag("path").empty()) fault["path"] = flag("path");
  } else if (type == "api-garbage") {
    if (auto ok = allow({"count", "path"}, 0); !ok) return std::unexpected(ok.error());
    auto count = toInt("--count", flag("count").empty() ? "1" : flag("count"));
    if (!count) return std::unexpected(count.error());
    fault["count"] = *count;
    if (!flag("path").empty()) fault["path"] = flag("path");
  } else {
    return usage("unknown fault '" + type + "'");
  }
  return fault;
}

Result<Json> postFault(const std::string& server_url, const Json& fault) {
  httplib::Client client(server_url);
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  auto res = client.Post("/_kubesim/faults", fault.dump(), "application/json");
  if (!res) {
    return fail(ErrorCode::kNetwork,
                "cannot reach " + server_url + ": " + httplib::to_string(res.error()));
  }
  Json body = Json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (res->status != 200) {
    std::string message = body.is_object() ? body.value("error", res->body) : res->body;
    return fail(ErrorCode::kHttp, message, res->status);
  }
  if (body.is_discarded()) return fail(ErrorCode::kParse, "server answered invalid JSON");
  return body;
}

Result<std::pair<std::string, int>> parseListenAddress(const std::string& text) {
  auto address = splitHostPort(text);
  if (!address || address->host.empty()) {
    return fail(ErrorCode::kConfig, "--listen wants HOST:PORT, got '" + text + "'");
  }
  return std::make_pair(address->host, int{address->port});
}

}  // namespace rampart::kubesim
