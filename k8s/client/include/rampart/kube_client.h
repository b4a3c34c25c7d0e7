// A small Kubernetes API client: credentials from a kubeconfig or from the
// in-cluster service account, GET, and streaming watch. HTTP/1.1 over plain
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

namespace rampart {

struct KubeCredentials {
  std::string server;  // https://host:port or http://host:port
  std::string token;
  std::filesystem::path token_file;  // re-read before each request (bound tokens rotate)
  std::string ca_pem;                // PEM bytes; empty = system trust store
  std::filesystem::path ca_file;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::filesystem::path client_cert_file;
  std::filesystem::path client_key_file;
  bool insecure_skip_tls_verify = false;
};

// Reads a kubeconfig (YAML). `context` empty = current-context.
Result<KubeCredentials> loadKubeconfig(const std::filesystem::path& path,
                                       const std::string& context = "");
// In-cluster: KUBERNETES_SERVICE_HOST/PORT plus the service account's token and
// CA under `sa_dir` (default /var/run/secrets/kubernetes.io/serviceaccount).
Result<KubeCredentials> inClusterCredentials(
    const std::filesystem::path& sa_dir = "/var/run/secrets/kubernetes.io/serviceaccount");

Result<std::string> base64Decode(std::string_view in);

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
  struct Exchange;
  Result<Exchange> exchange(const std::string& path, std::chrono::milliseconds timeout,
                            const std::atomic<bool>* stop,
                            const std::function<bool(std::string_view)>* on_payload);

  KubeCredentials creds_;
  std::string user_agent_;
  std::unique_ptr<Impl> impl_;
};

// Percent-encodes a query parameter value.
std::string urlEncode(std::string_view value);

}  // namespace rampart
