#include "rampart/kube_client.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "rampart/http_wire.h"
#include "rampart/k8s_json.h"
#include "rampart/net_stream.h"

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

using net::Clock;

constexpr size_t kMaxBody = 64u << 20;
constexpr size_t kMaxLine = 16u << 20;  // a line this long is not a watch event
constexpr size_t kMaxHead = 64u << 10;
constexpr std::chrono::milliseconds kConnectTimeout{5000};

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

net::TlsOptions tlsOptions(const KubeCredentials& c) {
  net::TlsOptions o;
  o.ca_pem = c.ca_pem;
  o.ca_file = c.ca_file;
  o.client_cert_pem = c.client_cert_pem;
  o.client_key_pem = c.client_key_pem;
  o.client_cert_file = c.client_cert_file;
  o.client_key_file = c.client_key_file;
  o.insecure_skip_verify = c.insecure_skip_tls_verify;
  return o;
}

}  // namespace

// The server URL and TLS context are checked once; a bad one fails every
// request with the same configuration error.
struct KubeClient::Impl {
  Result<http::ServerUrl> server = fail(ErrorCode::kConfig, "");
  Result<std::unique_ptr<net::TlsContext>> tls = nullptr;
};

struct KubeClient::Exchange {
  int status = 0;
  std::string body;  // the whole body, or for a stream the body of a non-2xx answer
  bool sink_stopped = false;
};

KubeClient::KubeClient(KubeCredentials creds, std::string user_agent)
    : creds_(std::move(creds)), user_agent_(std::move(user_agent)), impl_(new Impl) {
  impl_->server = http::parseServerUrl(creds_.server);
  if (impl_->server && impl_->server->tls) impl_->tls = net::TlsContext::create(tlsOptions(creds_));
}

KubeClient::~KubeClient() = default;

Result<KubeClient::Exchange> KubeClient::exchange(
    const std::string& path, std::chrono::milliseconds timeout, const std::atomic<bool>* stop,
    const std::function<bool(std::string_view)>* on_payload) {
  if (!impl_->server) return std::unexpected(impl_->server.error());
  if (!impl_->tls) return std::unexpected(impl_->tls.error());
  const http::ServerUrl& server = *impl_->server;
  auto deadline = Clock::now() + timeout;
  std::string token = creds_.token;
  if (!creds_.token_file.empty()) {
    auto t = readText(creds_.token_file);
    if (!t) return std::unexpected(t.error());
    token = trimRight(*t);
  }
  auto where = [&](const Error& e) {
    return std::unexpected(Error{e.code, creds_.server + path + ": " + e.message, 0});
  };
  auto stream = net::Stream::connect(server.host, server.port, impl_->tls->get(), deadline,
                                     kConnectTimeout, stop);
  if (!stream) return where(stream.error());
  if (auto w = (*stream)->writeAll(http::formatGetRequest(server, path, user_agent_, token),
                                   deadline, stop);
      !w)
    return where(w.error());

  Exchange ex;
  std::string buf;
  char chunk[16384];
  auto readMore = [&]() -> Result<size_t> {
    auto n = (*stream)->readSome(chunk, sizeof chunk, deadline, stop);
    if (n) buf.append(chunk, *n);
    return n;
  };

  // Head (skipping interim 1xx answers).
  http::ResponseHead head;
  for (;;) {
    size_t end = buf.find("\r\n\r\n");
    size_t sep = 4;
    if (end == std::string::npos) {
      end = buf.find("\n\n");
      sep = 2;
    }
    if (end != std::string::npos) {
      auto parsed = http::parseResponseHead(std::string_view(buf).substr(0, end));
      if (!parsed) return where(parsed.error());
      buf.erase(0, end + sep);
      if (parsed->status >= 100 && parsed->status < 200) continue;
      head = *parsed;
      break;
    }
    if (buf.size() > kMaxHead) return where(Error{ErrorCode::kProtocol, "response head too long"});
    auto n = readMore();
    if (!n) return where(n.error());
    if (*n == 0) return where(Error{ErrorCode::kNetwork, "connection closed before a response"});
  }
  ex.status = head.status;
  bool streaming = on_payload != nullptr && head.status >= 200 && head.status < 300;

  auto deliver = [&](std::string_view data) -> Result<void> {
    if (data.empty()) return {};
    if (streaming) {
      if (!(*on_payload)(data)) ex.sink_stopped = true;
      return {};
    }
    if (ex.body.size() + data.size() > kMaxBody)
      return fail(ErrorCode::kProtocol, "response body larger than 64 MiB");
    ex.body.append(data);
    return {};
  };

  bool no_body = head.status == 204 || head.status == 304;
  if (no_body) return ex;
  http::ChunkedDecoder chunked;
  std::string decoded;
  std::optional<size_t> remaining = head.content_length;
  for (;;) {
    if (head.chunked) {
      decoded.clear();
      if (auto r = chunked.feed(buf, decoded); !r) return where(r.error());
      buf.clear();
      if (auto r = deliver(decoded); !r) return where(r.error());
      if (chunked.done() || ex.sink_stopped) return ex;
    } else if (remaining) {
      size_t take = std::min(*remaining, buf.size());
      if (auto r = deliver(std::string_view(buf).substr(0, take)); !r) return where(r.error());
      buf.clear();
      *remaining -= take;
      if (*remaining == 0 || ex.sink_stopped) return ex;
    } else {
      if (auto r = deliver(buf); !r) return where(r.error());
      buf.clear();
      if (ex.sink_stopped) return ex;
    }
    auto n = readMore();
    if (!n) return where(n.error());
    if (*n == 0) {
      if (!head.chunked && !remaining) return ex;  // delimited by close
      return where(Error{ErrorCode::kNetwork, "connection closed in the middle of the body"});
    }
  }
}

Result<std::string> KubeClient::get(const std::string& path, std::chrono::milliseconds timeout) {
  auto ex = exchange(path, timeout, nullptr, nullptr);
  if (!ex) return std::unexpected(ex.error());
  if (ex->status < 200 || ex->status >= 300)
    return std::unexpected(httpError(ex->status, ex->body, path));
  return std::move(ex->body);
}

Result<void> KubeClient::watch(const std::string& path,
                               const std::function<bool(std::string_view)>& on_line,
                               std::chrono::milliseconds timeout, const std::atomic<bool>& stop) {
  std::string line;
  bool too_long = false;
  std::function<bool(std::string_view)> on_payload = [&](std::string_view data) {
    while (!data.empty()) {
      auto nl = data.find('\n');
      if (nl == std::string_view::npos) {
        line.append(data);
        if (line.size() > kMaxLine) {
          too_long = true;
          return false;
        }
        return true;
      }
      line.append(data.substr(0, nl));
      data.remove_prefix(nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty() && !on_line(line)) return false;
      line.clear();
    }
    return true;
  };
  auto ex = exchange(path, timeout, &stop, &on_payload);
  if (stop.load()) return {};
  if (!ex) {
    if (ex.error().code == ErrorCode::kTimeout) return {};  // our own deadline: rewatch
    return std::unexpected(ex.error());
  }
  if (ex->status < 200 || ex->status >= 300)
    return std::unexpected(httpError(ex->status, ex->body, path));
  if (too_long)
    return fail(ErrorCode::kProtocol, creds_.server + path + ": watch line longer than 16 MiB");
  return {};
}

}  // namespace rampart
