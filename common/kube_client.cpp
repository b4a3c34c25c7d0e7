#include "rampart/kube_client.h"

#include <curl/curl.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "rampart/k8s_json.h"

namespace rampart {
namespace {

Result<std::string> readText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kIo, "cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trimRight(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

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

Result<std::string> base64Decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r' || c == ' ') continue;
    int v = value(c);
    if (v < 0) return fail(ErrorCode::kParse, "invalid base64 character");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

Result<KubeCredentials> loadKubeconfig(const std::filesystem::path& path,
                                       const std::string& context) {
  auto text = readText(path);
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
    c.server = trimRight(str(cluster["server"]));
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

std::string urlEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

namespace {

struct Transfer {
  std::string body;  // non-streaming body, or the error body of a watch
  std::string line;  // partial line of a watch
  const std::function<bool(std::string_view)>* on_line = nullptr;
  const std::atomic<bool>* stop = nullptr;
  long status = 0;
  bool callback_stopped = false;
  CURL* curl = nullptr;
};

size_t onData(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  if (t->status == 0) curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
  if (t->on_line == nullptr || t->status < 200 || t->status >= 300) {
    if (t->body.size() < (64u << 20)) t->body.append(data, len);
    return len;
  }
  std::string_view chunk(data, len);
  while (!chunk.empty()) {
    auto nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      t->line.append(chunk);
      if (t->line.size() > (16u << 20)) return 0;  // a line this long is not a watch event
      break;
    }
    t->line.append(chunk.substr(0, nl));
    chunk.remove_prefix(nl + 1);
    if (!t->line.empty() && !(*t->on_line)(t->line)) {
      t->callback_stopped = true;
      return 0;
    }
    t->line.clear();
  }
  return len;
}

int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return (t->stop != nullptr && t->stop->load()) ? 1 : 0;
}

Error httpError(long status, const std::string& body, const std::string& path) {
  std::string message = path + ": HTTP " + std::to_string(status);
  auto st = k8s::decodeStatus(body);
  if (st && !st->message.empty()) {
    message += ": " + st->message;
  } else if (!body.empty()) {
    message += ": " + body.substr(0, 200);
  }
  return Error{status == 410 ? ErrorCode::kGone : ErrorCode::kHttp, message,
               static_cast<int>(status)};
}

}  // namespace

KubeClient::KubeClient(KubeCredentials creds, std::string user_agent)
    : creds_(std::move(creds)), user_agent_(std::move(user_agent)), curl_(curl_easy_init()) {}

KubeClient::~KubeClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

Result<void*> KubeClient::prepare(const std::string& path, std::chrono::milliseconds timeout) {
  CURL* c = static_cast<CURL*>(curl_);
  if (c == nullptr) return fail(ErrorCode::kNetwork, "curl_easy_init failed");
  curl_easy_reset(c);
  std::string url = creds_.server + path;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_USERAGENT, user_agent_.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  // gzip when the server offers it
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  if (creds_.insecure_skip_tls_verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!creds_.ca_pem.empty()) {
    curl_blob blob{creds_.ca_pem.data(), creds_.ca_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
  } else if (!creds_.ca_file.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, creds_.ca_file.c_str());
  }
  if (!creds_.client_cert_pem.empty()) {
    curl_blob blob{creds_.client_cert_pem.data(), creds_.client_cert_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &blob);
    curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
  } else if (!creds_.client_cert_file.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, creds_.client_cert_file.c_str());
  }
  if (!creds_.client_key_pem.empty()) {
    curl_blob blob{creds_.client_key_pem.data(), creds_.client_key_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &blob);
    curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
  } else if (!creds_.client_key_file.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLKEY, creds_.client_key_file.c_str());
  }
  std::string token = creds_.token;
  if (!creds_.token_file.empty()) {
    auto t = readText(creds_.token_file);
    if (!t) return std::unexpected(t.error());
    token = trimRight(*t);
  }
  if (!token.empty()) {
    curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, token.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
  }
  return static_cast<void*>(c);
}

Result<std::string> KubeClient::get(const std::string& path, std::chrono::milliseconds timeout) {
  auto prepared = prepare(path, timeout);
  if (!prepared) return std::unexpected(prepared.error());
  CURL* c = static_cast<CURL*>(*prepared);
  Transfer t;
  t.curl = c;
  curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, onData);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.status);
  if (rc != CURLE_OK) {
    return fail(rc == CURLE_OPERATION_TIMEDOUT ? ErrorCode::kTimeout : ErrorCode::kNetwork,
                creds_.server + path + ": " + curl_easy_strerror(rc));
  }
  if (t.status < 200 || t.status >= 300) return std::unexpected(httpError(t.status, t.body, path));
  return std::move(t.body);
}

Result<void> KubeClient::watch(const std::string& path,
                               const std::function<bool(std::string_view)>& on_line,
                               std::chrono::milliseconds timeout, const std::atomic<bool>& stop) {
  auto prepared = prepare(path, timeout);
  if (!prepared) return std::unexpected(prepared.error());
  CURL* c = static_cast<CURL*>(*prepared);
  Transfer t;
  t.curl = c;
  t.on_line = &on_line;
  t.stop = &stop;
  curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, onData);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, onProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.status);
  if (t.status != 0 && (t.status < 200 || t.status >= 300)) {
    return std::unexpected(httpError(t.status, t.body, path));
  }
  if (t.callback_stopped || stop.load()) return {};
  if (rc == CURLE_OPERATION_TIMEDOUT) return {};  // our own deadline: rewatch
  if (rc != CURLE_OK) {
    return fail(ErrorCode::kNetwork, creds_.server + path + ": " + curl_easy_strerror(rc));
  }
  return {};
}

}  // namespace rampart
