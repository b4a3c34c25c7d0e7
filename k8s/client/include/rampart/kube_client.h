// A small Kubernetes API client: GET and streaming watch with the credentials
// of kube_credentials.h. HTTP/1.1 over plain
// TCP or OpenSSL (no libcurl: the agent runs on every node and its resident
// memory counts), one connection per request.
//
// Thread-safety: a KubeClient may be used by one thread at a time; make one
// per thread.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "rampart/error.h"
#include "rampart/kube_credentials.h"
#include "rampart/net_stream.h"
#include "rampart/text.h"  // urlEncode, for the paths callers build

namespace rampart {

namespace http {
struct Response;
}

// The TLS settings of `creds` (CA, client certificate, insecure flag).
net::TlsOptions tlsOptionsOf(const KubeCredentials& creds);

class KubeClient {
 public:
  explicit KubeClient(KubeCredentials creds, std::string user_agent = "rampart");
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  // GET `path` (with query; appended to the server URL's path); 2xx bodies are returned, anything
  // else is an Error with http_status set (410 -> kGone) and the server's message.
  Result<std::string> get(const std::string& path, std::chrono::milliseconds timeout);

  // Streams a watch: calls `on_line` for every newline-terminated line; the
  // callback returns false to stop. Returns when the server ends the stream
  // (success), on error, on `timeout` (success: rewatch), or when `stop`
  // becomes true (success; noticed within 250 ms).
  Result<void> watch(const std::string& path, const std::function<bool(std::string_view)>& on_line,
                     std::chrono::milliseconds timeout, const std::atomic<bool>& stop);

  const std::string& server() const { return creds_.server; }

 private:
  struct Impl;
  Result<http::Response> exchange(const std::string& path, std::chrono::milliseconds timeout,
                                  const std::atomic<bool>* stop,
                                  const std::function<bool(std::string_view)>* on_payload);

  KubeCredentials creds_;
  std::string user_agent_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rampart
