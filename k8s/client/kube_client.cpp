#include "rampart/kube_client.h"

#include <cstdlib>

#include "rampart/http_client.h"
#include "rampart/k8s_json.h"
#include "rampart/text.h"

namespace rampart {
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

}  // namespace

net::TlsOptions tlsOptionsOf(const KubeCredentials& c) {
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

// The server URL and TLS context are checked once; a bad one fails every
// request with the same configuration error.
struct KubeClient::Impl {
  Result<http::ServerUrl> server = fail(ErrorCode::kConfig, "");
  Result<std::unique_ptr<net::TlsContext>> tls = nullptr;
};

KubeClient::KubeClient(KubeCredentials creds, std::string user_agent)
    : creds_(std::move(creds)), user_agent_(std::move(user_agent)), impl_(new Impl) {
  impl_->server = http::parseServerUrl(creds_.server);
  if (impl_->server && impl_->server->tls)
    impl_->tls = net::TlsContext::create(tlsOptionsOf(creds_));
}

KubeClient::~KubeClient() = default;

Result<http::Response> KubeClient::exchange(const std::string& path,
                                            std::chrono::milliseconds timeout,
                                            const std::atomic<bool>* stop,
                                            const http::BodySink* on_payload) {
  if (!impl_->server) return std::unexpected(impl_->server.error());
  if (!impl_->tls) return std::unexpected(impl_->tls.error());
  http::ExchangeOptions options;
  options.deadline = Clock::now() + timeout;
  options.connect_timeout = kConnectTimeout;
  options.stop = stop;
  options.max_head = kMaxHead;
  options.max_body = kMaxBody;
  options.sink = on_payload;
  http::Request request;
  request.path = path;
  request.user_agent = user_agent_;
  auto token = bearerToken(creds_);
  if (!token) return std::unexpected(token.error());
  request.bearer_token = std::move(*token);
  auto response = http::exchange(*impl_->server, impl_->tls->get(), request, options);
  if (!response)
    return std::unexpected(
        Error{response.error().code, creds_.server + path + ": " + response.error().message, 0});
  return response;
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
  http::LineSplitter lines(kMaxLine);
  bool too_long = false;
  http::BodySink on_payload = [&](std::string_view data) {
    switch (lines.feed(data, on_line)) {
      case http::LineSplitter::Feed::kMore:
        return true;
      case http::LineSplitter::Feed::kTooLong:
        too_long = true;
        return false;
      case http::LineSplitter::Feed::kStopped:
        return false;
    }
    return false;
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
