// A client byte stream over TCP, optionally TLS (OpenSSL), with deadlines
// and a stop flag on every blocking step. No HTTP here (see http_wire.h).
//
// Thread-safety: a Stream is used by one thread at a time. A TlsContext is
// immutable once made and may be shared by Streams on several threads.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "rampart/error.h"

struct ssl_ctx_st;
struct ssl_st;

namespace rampart::net {

using Clock = std::chrono::steady_clock;

struct TlsOptions {
  std::string ca_pem;  // PEM bytes (one or more certificates); both empty = system trust store
  std::filesystem::path ca_file;
  std::string client_cert_pem;  // leaf first, then any intermediates
  std::string client_key_pem;
  std::filesystem::path client_cert_file;
  std::filesystem::path client_key_file;
  bool insecure_skip_verify = false;  // no chain or host name check
};

// An SSL_CTX configured from TlsOptions: TLS 1.2+, peer verification against
// the CA (unless insecure), and the client certificate if any.
class TlsContext {
 public:
  // kConfig when a PEM or file cannot be loaded or the key does not match.
  static Result<std::unique_ptr<TlsContext>> create(const TlsOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  bool verifies() const { return verify_; }
  ssl_ctx_st* native() const { return ctx_; }

 private:
  TlsContext(ssl_ctx_st* ctx, bool verify) : ctx_(ctx), verify_(verify) {}
  ssl_ctx_st* ctx_;
  bool verify_;
};

class Stream {
 public:
  // Resolves `host` and connects to the first address that answers before
  // min(deadline, now + connect_timeout). With `tls`, performs the handshake
  // with SNI (for names) and checks the certificate against `host` (DNS or
  // IP SAN). kNetwork on failure, kTimeout at the deadline or when `stop`
  // becomes true (`stop` may be null).
  static Result<std::unique_ptr<Stream>> connect(const std::string& host, const std::string& port,
                                                 const TlsContext* tls, Clock::time_point deadline,
                                                 std::chrono::milliseconds connect_timeout,
                                                 const std::atomic<bool>* stop);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  Result<void> writeAll(std::string_view data, Clock::time_point deadline,
                        const std::atomic<bool>* stop);
  // Reads what is available (at most `n` bytes, waiting for at least one);
  // 0 = the peer closed the stream.
  Result<size_t> readSome(char* buf, size_t n, Clock::time_point deadline,
                          const std::atomic<bool>* stop);

 private:
  Stream(int fd, ssl_st* ssl) : fd_(fd), ssl_(ssl) {}
  Result<void> handshake(Clock::time_point deadline, const std::atomic<bool>* stop);

  int fd_;
  ssl_st* ssl_;  // null for plain TCP
};

// Options for a listening socket that must own its port, for
// httplib::Server::set_socket_options: SO_REUSEADDR (a restart binds while old
// connections sit in TIME_WAIT) and never SO_REUSEPORT, which cpp-httplib sets
// by default and with which a second process of the same user binds the same
// port without an error and takes a share of its connections.
void exclusiveListenOptions(int fd);

// A listening TCP socket on a numeric HOST ("" = every IPv4 address) and
// PORT (0 = ephemeral), with exclusiveListenOptions and close-on-exec;
// non-blocking when asked. kConfig naming HOST:PORT when it cannot listen.
struct Listener {
  int fd = -1;
  uint16_t port = 0;  // the bound port
};
Result<Listener> listenTcp(const std::string& host, uint16_t port, int backlog, bool nonblocking);

}  // namespace rampart::net
