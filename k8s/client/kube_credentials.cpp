#include "rampart/kube_credentials.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>

#include "rampart/files.h"
#include "rampart/text.h"

namespace rampart {
namespace {

// Relative paths in a kubeconfig are relative to the kubeconfig's directory.
std::filesystem::path resolveRelative(const std::filesystem::path& base, const std::string& p) {
  std::filesystem::path path(p);
  return path.is_absolute() ? path : base.parent_path() / path;
}

YAML::Node findNamed(const YAML::Node& list, const std::string& name) {
  if (!list || !list.IsSequence()) return YAML::Node();
  for (const auto& item : list) {
    if (item["name"] && item["name"].as<std::string>() == name) return item;
  }
  return YAML::Node();
}

std::string str(const YAML::Node& n) {
  return n && n.IsScalar() ? n.as<std::string>() : "";
}

}  // namespace

Result<KubeCredentials> loadKubeconfig(const std::filesystem::path& path,
                                       const std::string& context) {
  auto text = readFile(path);
  if (!text) return std::unexpected(text.error());
  try {
    YAML::Node root = YAML::Load(*text);
    std::string ctx_name = context.empty() ? str(root["current-context"]) : context;
    YAML::Node ctx = findNamed(root["contexts"], ctx_name);
    YAML::Node cluster, user;
    if (ctx) {
      cluster = findNamed(root["clusters"], str(ctx["context"]["cluster"]))["cluster"];
      user = findNamed(root["users"], str(ctx["context"]["user"]))["user"];
    } else if (context.empty() && root["clusters"] && root["clusters"].size() == 1) {
      cluster = root["clusters"][0]["cluster"];
      if (root["users"] && root["users"].size() == 1) user = root["users"][0]["user"];
    }
    if (!cluster) {
      return fail(ErrorCode::kConfig,
                  path.string() + ": context '" + ctx_name + "' or its cluster not found");
    }
    KubeCredentials c;
    c.server = std::string(trim(str(cluster["server"])));
    if (c.server.empty())
      return fail(ErrorCode::kConfig, path.string() + ": cluster has no server");
    while (!c.server.empty() && c.server.back() == '/') c.server.pop_back();
    c.insecure_skip_tls_verify = str(cluster["insecure-skip-tls-verify"]) == "true";
    if (auto d = str(cluster["certificate-authority-data"]); !d.empty()) {
      auto pem = base64Decode(d);
      if (!pem)
        return fail(ErrorCode::kConfig,
                    path.string() + ": certificate-authority-data: " + pem.error().message);
      c.ca_pem = *pem;
    } else if (auto f = str(cluster["certificate-authority"]); !f.empty()) {
      c.ca_file = resolveRelative(path, f);
    }
    if (user) {
      c.token = str(user["token"]);
      if (auto f = str(user["tokenFile"]); !f.empty()) c.token_file = resolveRelative(path, f);
      if (auto d = str(user["client-certificate-data"]); !d.empty()) {
        auto pem = base64Decode(d);
        if (!pem)
          return fail(ErrorCode::kConfig,
                      path.string() + ": client-certificate-data: " + pem.error().message);
        c.client_cert_pem = *pem;
      } else if (auto f = str(user["client-certificate"]); !f.empty()) {
        c.client_cert_file = resolveRelative(path, f);
      }
      if (auto d = str(user["client-key-data"]); !d.empty()) {
        auto pem = base64Decode(d);
        if (!pem)
          return fail(ErrorCode::kConfig,
                      path.string() + ": client-key-data: " + pem.error().message);
        c.client_key_pem = *pem;
      } else if (auto f = str(user["client-key"]); !f.empty()) {
        c.client_key_file = resolveRelative(path, f);
      }
      if (user["exec"] || user["auth-provider"]) {
        return fail(ErrorCode::kConfig, path.string() +
                                            ": exec / auth-provider credentials are not supported; "
                                            "use a token, tokenFile or client certificate");
      }
    }
    return c;
  } catch (const YAML::Exception& e) {
    return fail(ErrorCode::kParse, path.string() + ": " + e.what());
  }
}

Result<KubeCredentials> inClusterCredentials(const std::filesystem::path& sa_dir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || port == nullptr || *host == '\0') {
    return fail(ErrorCode::kConfig,
                "not in a cluster: KUBERNETES_SERVICE_HOST/PORT unset (use --kubeconfig)");
  }
  KubeCredentials c;
  std::string h(host);
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6
  c.server = "https://" + h + ":" + port;
  c.token_file = sa_dir / "token";
  if (!std::filesystem::exists(c.token_file)) {
    return fail(ErrorCode::kConfig, "service account token missing: " + c.token_file.string());
  }
  c.ca_file = sa_dir / "ca.crt";
  return c;
}

Result<std::string> bearerToken(const KubeCredentials& creds) {
  if (creds.token_file.empty()) return creds.token;
  auto text = readFile(creds.token_file);
  if (!text) return std::unexpected(text.error());
  return std::string(trim(*text));
}

}  // namespace rampart
