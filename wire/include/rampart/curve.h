// CURVE key material and the ZAP authenticator that admits only allowed
// agent public keys.
//
// Key files are text, one `key=value` per line (`#` comments allowed):
//   public=<40-char Z85>
//   secret=<40-char Z85>     (only in a key pair file, mode 0600)
// An allowlist is a file with one Z85 public key per line (optionally
// followed by whitespace and a name), or a directory of such files / key files.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "rampart/error.h"

namespace rampart {

struct CurveKeyPair {
  std::string public_key;  // Z85, 40 chars
  std::string secret_key;  // Z85, 40 chars; empty for a public-only key
};

Result<CurveKeyPair> generateCurveKeyPair();
bool isZ85Key(std::string_view key);

// Writes `public=` / `secret=` lines; the secret file is created 0600.
Result<void> writeKeyFile(const std::filesystem::path& path, const CurveKeyPair& keys,
                          bool include_secret);
// Reads a key file; `require_secret` fails when no secret line is present.
Result<CurveKeyPair> readKeyFile(const std::filesystem::path& path, bool require_secret);
// Accepts either a Z85 key literally or a path to a key file.
Result<std::string> resolvePublicKey(const std::string& key_or_path);

// Z85 public key -> name (the name is the key itself when none was given).
using KeyAllowlist = std::map<std::string, std::string>;
Result<KeyAllowlist> readAllowlist(const std::filesystem::path& path);

// Serves ZAP (RFC 27) on inproc://zeromq.zap.01 of `context` from its own
// thread. CURVE clients whose public key is in the allowlist are admitted with
// their key's name as User-Id; everything else is refused. Construct before the
// server socket binds; destroy before the context is closed.
class ZapAuthenticator {
 public:
  using DeniedCallback = std::function<void(const std::string& address, const std::string& key)>;

  ZapAuthenticator(zmq::context_t& context, KeyAllowlist allowlist, DeniedCallback on_denied);
  ~ZapAuthenticator();
  ZapAuthenticator(const ZapAuthenticator&) = delete;
  ZapAuthenticator& operator=(const ZapAuthenticator&) = delete;

  uint64_t allowed() const { return allowed_.load(); }
  uint64_t denied() const { return denied_.load(); }

 private:
  void run();

  zmq::socket_t socket_;
  KeyAllowlist allowlist_;
  DeniedCallback on_denied_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> allowed_{0};
  std::atomic<uint64_t> denied_{0};
  std::thread thread_;
};

}  // namespace rampart
