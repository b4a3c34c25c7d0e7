// Credentials for a Kubernetes API server: from a kubeconfig file or from the
// pod's in-cluster service account. No I/O but reading those files.
#pragma once

#include <filesystem>
#include <string>

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

// The bearer token to send: `token`, or the token file's content (trimmed),
// read again on every call (bound service account tokens rotate).
Result<std::string> bearerToken(const KubeCredentials& creds);

}  // namespace rampart
